/* KEK sources (key file, Argon2id passphrase), DEK wrapping and the keyring
 * of DEKs by key id. Wrapped-key layout: docs/security.md. */
#ifndef VAULT_KEYRING_H
#define VAULT_KEYRING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "seal.h"
#include "secbuf.h"

#define KEYFILE_BYTES 32
#define KDF_SALT_BYTES 16
#define WRAP_AD_CONTEXT "vaultd/dek/v1"
#define WRAPPED_KEY_BYTES (1 + SEAL_NONCE_BYTES + VAULT_KEY_BYTES + SEAL_TAG_BYTES)
/* Key id 0 is the store's MAC master key (audit chain, token hashes);
 * DEKs for values use ids 1, 2, ... */
#define KEYRING_MAC_KEY_ID 0u

enum kek_kind { KEK_KEYFILE = 1, KEK_PASSPHRASE = 2 };

struct kdf_params {         /* stored with the store so cost can be raised */
	uint64_t opslimit;
	uint64_t memlimit;
	uint8_t salt[KDF_SALT_BYTES];
};

/* Reads a 32-byte key file. -EPERM if it is group/world accessible (message:
 * "chmod 600"), -EINVAL if not exactly 32 bytes, -errno on I/O.
 * *ret is a read-only secbuf, caller frees. */
int kek_from_keyfile(const char *path, struct secbuf **ret);
/* Creates path with 32 random bytes, mode 0600, O_EXCL. 0 or -errno. */
int kek_generate_keyfile(const char *path);
/* Fresh params: random salt, INTERACTIVE cost when interactive else MODERATE. */
void kdf_params_new(struct kdf_params *p, bool interactive);
/* Argon2id (crypto_pwhash). -ENOMEM if the memlimit cannot be met. */
int kek_from_passphrase(const struct secbuf *pass, const struct kdf_params *p, struct secbuf **ret);

/* Wraps/unwraps one key under the KEK; AD = WRAP_AD_CONTEXT || store id ||
 * key id (u32 big-endian). unwrap: -EKEYREJECTED on a wrong KEK or tampering. */
int key_wrap(const struct secbuf *kek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
             uint32_t key_id, const struct secbuf *key, uint8_t out[WRAPPED_KEY_BYTES]);
__attribute__((warn_unused_result))
int key_unwrap(const struct secbuf *kek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
               uint32_t key_id, const uint8_t *in, size_t inlen, struct secbuf **ret);

/* Unwrapped keys by id; all key memory read-only when idle. */
struct keyring;
struct keyring *keyring_new(void);                      /* NULL on ENOMEM */
void keyring_free(struct keyring *kr);                  /* wipes; NULL ok */
/* Takes ownership of key (even on failure). */
int keyring_add(struct keyring *kr, uint32_t key_id, struct secbuf *key);
/* Borrowed pointer valid until keyring_free; NULL if unknown. */
const struct secbuf *keyring_get(const struct keyring *kr, uint32_t key_id);
/* Highest DEK id (>= 1), the one new writes use; 0 if none. */
uint32_t keyring_active_id(const struct keyring *kr);

#endif
