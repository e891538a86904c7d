/* Key material: KEKs from a key file or an Argon2id passphrase, DEK wrapping
 * under the KEK (the seal envelope with AD "vaultd/dek/v1" || store id ||
 * key id), and the in-memory keyring of unwrapped keys by id. */
#include "keyring.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(KDF_SALT_BYTES == crypto_pwhash_argon2id_SALTBYTES, "salt size");
_Static_assert(VAULT_KEY_BYTES == crypto_kdf_KEYBYTES, "kdf master key size");
_Static_assert(sizeof(KEYRING_KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context size");
_Static_assert(WRAPPED_KEY_BYTES == VAULT_KEY_BYTES + SEAL_OVERHEAD, "wrapped key size");

/* "vaultd/dek/v1" || store_id || u32be(key_id) */
#define WRAP_AD_BYTES (sizeof(WRAP_AD_CONTEXT) - 1 + VAULT_STORE_ID_BYTES + 4)

/* ---- KEK sources ---- */

static int read_exact(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EINVAL; /* shorter than it claimed: not a key file */
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Mode and size are checked on the open descriptor (fstat), so a file
 * swapped between a check and the read cannot slip through. */
static int keyfile_check(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_mode & 077)
		return -EPERM;
	if (st.st_size != KEYFILE_BYTES)
		return -EINVAL;
	return 0;
}

int kek_from_keyfile(const char *path, struct secbuf **ret)
{
	if (!path || !ret)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO planted at path must be refused, not wait for a
	 * writer; it has no effect on the regular file we expect. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct secbuf *k = NULL;
	int r = keyfile_check(fd);
	if (r == 0) {
		k = secbuf_new(KEYFILE_BYTES);
		r = k ? read_exact(fd, k->data, KEYFILE_BYTES) : -ENOMEM;
	}
	if (r == 0) {
		/* A file that grew after fstat is not a 32-byte key file either. */
		uint8_t extra;
		ssize_t n;
		do
			n = read(fd, &extra, 1);
		while (n < 0 && errno == EINTR);
		r = n == 0 ? 0 : n < 0 ? -errno : -EINVAL;
	}
	if (r == 0)
		r = secbuf_readonly(k);
	close(fd);
	if (r < 0) {
		secbuf_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

int kek_generate_keyfile(const char *path)
{
	if (!path)
		return -EINVAL;
	/* O_EXCL|O_NOFOLLOW: never overwrite a key, never write through a
	 * planted symlink. 0600 from birth: no window with a wider mode. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	int r = 0;
	struct secbuf *k = secbuf_new(KEYFILE_BYTES);
	if (!k)
		r = -ENOMEM;
	if (r == 0) {
		randombytes_buf(k->data, KEYFILE_BYTES);
		r = write_all(fd, k->data, KEYFILE_BYTES);
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	secbuf_free(k);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = fsutil_fsync_parent(path);
	if (r < 0)
		unlink(path);
	return r;
}

void kdf_params_new(struct kdf_params *p, bool interactive)
{
	p->opslimit = interactive ? crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
	                          : crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
	p->memlimit = interactive ? crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE
	                          : crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
	randombytes_buf(p->salt, sizeof(p->salt));
}

int kek_from_passphrase(const struct secbuf *pass, const struct kdf_params *p, struct secbuf **ret)
{
	if (!pass || !p || !ret)
		return -EINVAL;
	/* Parameters come from the store file: refuse values libsodium would
	 * reject, and anything below its minimums, rather than guess. */
	if (p->opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
	    p->opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
	    p->memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
	    p->memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX || p->memlimit > SIZE_MAX ||
	    pass->len > crypto_pwhash_argon2id_PASSWD_MAX)
		return -EINVAL;
	struct secbuf *k = secbuf_new(VAULT_KEY_BYTES);
	if (!k)
		return -ENOMEM;
	if (crypto_pwhash(k->data, k->len, (const char *)pass->data, pass->len, p->salt,
	                  p->opslimit, (size_t)p->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		secbuf_free(k);
		return -ENOMEM;
	}
	int r = secbuf_readonly(k);
	if (r < 0) {
		secbuf_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

/* ---- wrapping ---- */

static void wrap_ad(uint8_t ad[WRAP_AD_BYTES], const uint8_t store_id[VAULT_STORE_ID_BYTES],
                    uint32_t key_id)
{
	size_t ctx = sizeof(WRAP_AD_CONTEXT) - 1;
	memcpy(ad, WRAP_AD_CONTEXT, ctx);
	memcpy(ad + ctx, store_id, VAULT_STORE_ID_BYTES);
	uint8_t *p = ad + ctx + VAULT_STORE_ID_BYTES;
	p[0] = (uint8_t)(key_id >> 24);
	p[1] = (uint8_t)(key_id >> 16);
	p[2] = (uint8_t)(key_id >> 8);
	p[3] = (uint8_t)key_id;
}

int key_wrap(const struct secbuf *kek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
             uint32_t key_id, const struct secbuf *key, uint8_t out[WRAPPED_KEY_BYTES])
{
	if (!kek || kek->len != VAULT_KEY_BYTES || !store_id || !key ||
	    key->len != VAULT_KEY_BYTES || !out)
		return -EINVAL;
	uint8_t ad[WRAP_AD_BYTES];
	wrap_ad(ad, store_id, key_id);
	return seal_blob(kek, ad, sizeof(ad), key->data, key->len, out);
}

int key_unwrap(const struct secbuf *kek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
               uint32_t key_id, const uint8_t *in, size_t inlen, struct secbuf **ret)
{
	if (!kek || kek->len != VAULT_KEY_BYTES || !store_id || !ret)
		return -EINVAL;
	/* Any wrong length is tampering, like a wrong tag. */
	if (!in || inlen != WRAPPED_KEY_BYTES)
		return -EKEYREJECTED;
	uint8_t ad[WRAP_AD_BYTES];
	wrap_ad(ad, store_id, key_id);
	struct secbuf *k = secbuf_new(VAULT_KEY_BYTES);
	if (!k)
		return -ENOMEM;
	int r = seal_blob_open(kek, ad, sizeof(ad), in, inlen, k->data);
	if (r == -EBADMSG)
		r = -EKEYREJECTED;
	if (r == 0)
		r = secbuf_readonly(k);
	if (r < 0) {
		secbuf_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

/* ---- the keyring ---- */

struct keyring_slot {
	uint32_t id;
	struct secbuf *key; /* read-only: written once when added */
};

struct keyring {
	struct keyring_slot *slots;
	size_t n, cap;
};

struct keyring *keyring_new(void)
{
	return calloc(1, sizeof(struct keyring));
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	for (size_t i = 0; i < kr->n; i++)
		secbuf_free(kr->slots[i].key);
	free(kr->slots);
	free(kr);
}

int keyring_add(struct keyring *kr, uint32_t key_id, struct secbuf *key)
{
	int r = 0;
	if (!kr || !key || key->len != VAULT_KEY_BYTES)
		r = -EINVAL;
	else if (keyring_get(kr, key_id))
		r = -EEXIST;
	else if (kr->n == kr->cap) {
		size_t cap = kr->cap ? kr->cap * 2 : 4;
		struct keyring_slot *s = reallocarray(kr->slots, cap, sizeof(*s));
		if (!s)
			r = -ENOMEM;
		else {
			kr->slots = s;
			kr->cap = cap;
		}
	}
	if (r == 0)
		r = secbuf_readonly(key);
	if (r < 0) {
		secbuf_free(key); /* ownership was taken either way */
		return r;
	}
	kr->slots[kr->n++] = (struct keyring_slot){.id = key_id, .key = key};
	return 0;
}

const struct secbuf *keyring_get(const struct keyring *kr, uint32_t key_id)
{
	if (!kr)
		return NULL;
	for (size_t i = 0; i < kr->n; i++)
		if (kr->slots[i].id == key_id)
			return kr->slots[i].key;
	return NULL;
}

uint32_t keyring_active_id(const struct keyring *kr)
{
	uint32_t best = 0;
	for (size_t i = 0; kr && i < kr->n; i++)
		if (kr->slots[i].id != KEYRING_MAC_KEY_ID && kr->slots[i].id > best)
			best = kr->slots[i].id;
	return best;
}

size_t keyring_count(const struct keyring *kr)
{
	return kr ? kr->n : 0;
}

uint32_t keyring_id_at(const struct keyring *kr, size_t i)
{
	return kr && i < kr->n ? kr->slots[i].id : 0;
}

int keyring_subkey(const struct keyring *kr, uint64_t subkey_id, struct secbuf **ret)
{
	if (!ret)
		return -EINVAL;
	const struct secbuf *master = keyring_get(kr, KEYRING_MAC_KEY_ID);
	if (!master)
		return -ENOKEY;
	struct secbuf *k = secbuf_new(VAULT_KEY_BYTES);
	if (!k)
		return -ENOMEM;
	/* crypto_kdf (BLAKE2b keyed with the master key, personalised with the
	 * context, salted with the subkey id): one master key, independent keys
	 * per purpose, so a token hash can never be mistaken for a chain link. */
	int r = crypto_kdf_derive_from_key(k->data, k->len, subkey_id, KEYRING_KDF_CONTEXT,
	                                   master->data) == 0
	            ? 0
	            : -EINVAL;
	if (r == 0)
		r = secbuf_readonly(k);
	if (r < 0) {
		secbuf_free(k);
		return r;
	}
	*ret = k;
	return 0;
}
