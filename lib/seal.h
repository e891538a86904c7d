/* The value envelope: XChaCha20-Poly1305 with a fresh random nonce and AD that
 * binds store id, name, version and key id. Byte layout: docs/security.md. */
#ifndef VAULT_SEAL_H
#define VAULT_SEAL_H
#include <stddef.h>
#include <stdint.h>
#include "secbuf.h"

#define VAULT_KEY_BYTES 32       /* DEK, KEK, MAC keys */
#define VAULT_STORE_ID_BYTES 16
#define VAULT_MAX_VALUE_BYTES (512u * 1024u)
#define SEAL_BLOB_VERSION 0x01   /* first byte of every sealed value */
#define SEAL_NONCE_BYTES 24
#define SEAL_TAG_BYTES 16
#define SEAL_OVERHEAD (1 + SEAL_NONCE_BYTES + SEAL_TAG_BYTES)
#define SEAL_AD_CONTEXT "vaultd/value/v1"

/* Seals pt (ptlen <= VAULT_MAX_VALUE_BYTES) into out, which must hold
 * ptlen + SEAL_OVERHEAD bytes: version byte || nonce || ciphertext || tag.
 * 0, -EINVAL (bad name/sizes), -EFBIG (value too large). */
int seal_value(const struct secbuf *dek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
               const char *name, uint64_t version, uint32_t key_id,
               const uint8_t *pt, size_t ptlen, uint8_t *out, size_t outcap);

/* Opens a blob made by seal_value with exactly the same store id, name,
 * version and key id. On success *ret_pt is a new secbuf (caller frees);
 * on failure *ret_pt is untouched and -EBADMSG (forged, moved, truncated or
 * unknown version byte) or -EINVAL is returned. */
__attribute__((warn_unused_result))
int seal_open(const struct secbuf *dek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
              const char *name, uint64_t version, uint32_t key_id,
              const uint8_t *blob, size_t bloblen, struct secbuf **ret_pt);

/* The envelope itself, for other fixed-AD uses (key wrapping in keyring.c):
 * out (ptlen + SEAL_OVERHEAD bytes) = version byte || nonce || ct || tag under
 * key (VAULT_KEY_BYTES) and ad. 0 or -EINVAL. */
int seal_blob(const struct secbuf *key, const uint8_t *ad, size_t adlen, const uint8_t *pt,
              size_t ptlen, uint8_t *out);
/* Opens such a blob into pt_out (bloblen - SEAL_OVERHEAD bytes; wiped by
 * libsodium on failure). 0, -EBADMSG (forged, truncated, unknown version). */
__attribute__((warn_unused_result))
int seal_blob_open(const struct secbuf *key, const uint8_t *ad, size_t adlen,
                   const uint8_t *blob, size_t bloblen, uint8_t *pt_out);

#endif
