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

/* Reads a 32-byte key file. -EPERM if it is group/world accessible (the
 * caller's message should say "chmod 600 PATH"), -EINVAL if not a regular file
 * of exactly 32 bytes, -errno on I/O (symlinks are followed; mode and size
 * are checked on the opened file).
 * *ret is a read-only secbuf, caller frees. */
int kek_from_keyfile(const char *path, struct secbuf **ret);
/* Creates path with 32 random bytes, mode 0600, O_EXCL|O_NOFOLLOW, fsync'd
 * (file and directory); removed again on failure. 0 or -errno (-EEXIST). */
int kek_generate_keyfile(const char *path);
/* Fresh params: random salt, INTERACTIVE cost when interactive else MODERATE. */
void kdf_params_new(struct kdf_params *p, bool interactive);
/* Argon2id (crypto_pwhash, 32-byte output). -EINVAL if opslimit/memlimit are
 * outside libsodium's argon2id bounds, -ENOMEM if the memlimit cannot be met.
 * *ret is a read-only secbuf, caller frees. */
int kek_from_passphrase(const struct secbuf *pass, const struct kdf_params *p, struct secbuf **ret);

/* Wraps/unwraps one key under the KEK; AD = WRAP_AD_CONTEXT || store id ||
 * key id (u32 big-endian). Both keys are VAULT_KEY_BYTES (-EINVAL otherwise).
 * unwrap: -EKEYREJECTED on a wrong KEK, another store id / key id, a wrong
 * length or tampering; *ret is a read-only secbuf, caller frees. */
int key_wrap(const struct secbuf *kek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
             uint32_t key_id, const struct secbuf *key, uint8_t out[WRAPPED_KEY_BYTES]);
__attribute__((warn_unused_result))
int key_unwrap(const struct secbuf *kek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
               uint32_t key_id, const uint8_t *in, size_t inlen, struct secbuf **ret);

/* Unwrapped keys by id; key memory is read-only from keyring_add until
 * keyring_free (never toggled, so concurrent readers need no lock). Not
 * locked: keyring_add and keyring_free must be serialised against readers by
 * the owner (the store). */
struct keyring;
struct keyring *keyring_new(void);                      /* NULL on ENOMEM */
void keyring_free(struct keyring *kr);                  /* wipes; NULL ok */
/* Takes ownership of key (even on failure) and makes it read-only.
 * -EEXIST if key_id is present, -EINVAL unless key is VAULT_KEY_BYTES. */
int keyring_add(struct keyring *kr, uint32_t key_id, struct secbuf *key);
/* Borrowed pointer valid until keyring_free; NULL if unknown. */
const struct secbuf *keyring_get(const struct keyring *kr, uint32_t key_id);
/* Highest DEK id (>= 1), the one new writes use; 0 if none. */
uint32_t keyring_active_id(const struct keyring *kr);
/* Iteration (for rekey): the ids held, in insertion order. id_at returns 0
 * when i >= count. */
size_t keyring_count(const struct keyring *kr);
uint32_t keyring_id_at(const struct keyring *kr, size_t i);

/* Purpose keys derived from the MAC master key (key id 0) with crypto_kdf:
 * subkey = crypto_kdf_derive_from_key(32, id, KEYRING_KDF_CONTEXT, master). */
#define KEYRING_KDF_CONTEXT "vaultd__"  /* exactly crypto_kdf_CONTEXTBYTES (8) */
#define KEYRING_SUBKEY_AUDIT 1u         /* keys the audit hash chain */
#define KEYRING_SUBKEY_TOKEN 2u         /* keys token hashes */
/* *ret is a new read-only 32-byte secbuf (caller frees); -ENOKEY without key 0. */
int keyring_subkey(const struct keyring *kr, uint64_t subkey_id, struct secbuf **ret);

#endif
