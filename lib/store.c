/* The store's domain layer: validation, sealing values with the active DEK,
 * the keyring and its seal/unseal/rekey/rotation, stages and pruning, token
 * checks and the audit chain. Storage is a backend (store_backend.h). */
#include "store.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonx.h"
#include "seal.h"
#include "store_backend.h"

#define TX_RETRIES 16           /* optimistic backends: attempts per transaction */
#define AUDIT_VERIFY_CHUNK 1024 /* entries read per step of store_audit_verify */
#define AUDIT_HEAD_CONTEXT "vaultd/audit-head/v1"

struct store {
	const struct store_backend *ops;
	struct be *be;
	uint8_t store_id[VAULT_STORE_ID_BYTES];
	/* Readers: every operation that uses keys. Writer: seal, unseal, rekey,
	 * DEK rotation. Lock order: keys, then the backend's own locks. */
	pthread_rwlock_t keys;
	struct keyring *kr;       /* NULL while sealed */
	struct secbuf *kek;       /* kept while unsealed to wrap new DEKs */
	struct secbuf *audit_key; /* KEYRING_SUBKEY_AUDIT */
	struct secbuf *token_key; /* KEYRING_SUBKEY_TOKEN */
	_Atomic uint64_t revision;
};

/* ---- small helpers ---- */

const char *store_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case STORE_E_NOTFOUND:
		return "not found";
	case STORE_E_DESTROYED:
		return "the version was destroyed";
	case STORE_E_CONFLICT:
		return "check-and-set failed: the current version changed; read it and retry";
	case STORE_E_SEALED:
		return "the store is sealed; unseal it with its key file or passphrase";
	case STORE_E_BADKEY:
		return "wrong key file or passphrase (or a tampered wrapped key)";
	case STORE_E_NEWER:
		return "the store was made by a newer vaultd; upgrade vaultd to open it";
	case STORE_E_CORRUPT:
		return "not a vaultd store, or the store is damaged; restore it from a backup";
	case STORE_E_EXISTS:
		return "already exists";
	case STORE_E_TOOBIG:
		return "value too large (the limit is 512 KiB)";
	case STORE_E_INVAL:
		return "invalid name or argument";
	case STORE_E_EXPIRED:
		return "token expired or used up";
	case STORE_E_REVOKED:
		return "token revoked";
	case STORE_E_IO:
		return "I/O error in the store";
	case -ENOMEM:
		return "out of memory";
	case -ENOSPC:
		return "no space left for the store";
	case -EBUSY:
		return "the store is busy (locked by another process); retry";
	case -EACCES:
		return "permission denied on the store file";
	case -EROFS:
		return "the store file is read-only";
	default:
		return "store error";
	}
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* A bounded string that fits its field (NULL reads as ""). */
static int text_ok(const char *s, size_t cap, const char **ret)
{
	if (!s)
		s = "";
	if (strnlen(s, cap) >= cap)
		return STORE_E_INVAL;
	*ret = s;
	return 0;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Token accessors: 1..AUDIT_ACCESSOR_MAX-1 characters of [A-Za-z0-9._-]. */
static bool accessor_ok(const char *a)
{
	if (!a || !*a || strnlen(a, AUDIT_ACCESSOR_MAX) >= AUDIT_ACCESSOR_MAX)
		return false;
	for (const char *p = a; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* A list prefix uses only name characters (the backend relies on it). */
static bool prefix_ok(const char *p)
{
	if (strnlen(p, VAULT_MAX_NAME_LEN + 1) > VAULT_MAX_NAME_LEN)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static void revision_seen(struct store *s, uint64_t rev)
{
	uint64_t cur = atomic_load(&s->revision);
	/* Commits are serialised but their callers race to publish: keep max. */
	while (cur < rev && !atomic_compare_exchange_weak(&s->revision, &cur, rev))
		;
}

/* ---- record helpers ---- */

void secret_meta_clear(struct secret_meta *m)
{
	if (!m)
		return;
	free(m->description);
	free(m->labels_json);
	m->description = NULL;
	m->labels_json = NULL;
}

void secret_meta_list_free(struct secret_meta_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		secret_meta_clear(&l->items[i]);
	free(l->items);
	free(l);
}

void secret_value_clear(struct secret_value *v)
{
	if (!v)
		return;
	secbuf_free(v->value);
	v->value = NULL;
}

void secret_version_list_free(struct secret_version_list *l)
{
	if (!l)
		return;
	free(l->items);
	free(l);
}

void store_token_clear(struct store_token *t)
{
	if (!t)
		return;
	free(t->policies_json);
	t->policies_json = NULL;
}

void store_token_list_free(struct store_token_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		store_token_clear(&l->items[i]);
	free(l->items);
	free(l);
}

void be_version_clear(struct be_version *v)
{
	if (!v)
		return;
	free(v->blob); /* ciphertext: nothing to wipe */
	v->blob = NULL;
	v->bloblen = 0;
}

/* ---- transactions and locks ---- */

typedef int (*tx_body)(struct store *s, struct be_tx *tx, void *ctx);

/* Runs body in a transaction and commits it; an optimistic backend's
 * conflict (-EAGAIN) runs the body again on fresh data. */
static int run_tx(struct store *s, bool write, tx_body body, void *ctx)
{
	for (int i = 0; i < TX_RETRIES; i++) {
		struct be_tx *tx;
		int r = s->ops->begin(s->be, write, &tx);
		if (r < 0)
			return r;
		r = body(s, tx, ctx);
		if (r < 0) {
			s->ops->abort(tx);
			return r;
		}
		r = s->ops->commit(tx);
		if (r != -EAGAIN)
			return r;
	}
	return -EBUSY;
}

/* Takes the key lock for an operation that needs the store unsealed. */
static int keys_acquire(struct store *s)
{
	pthread_rwlock_rdlock(&s->keys);
	if (!s->kr) {
		pthread_rwlock_unlock(&s->keys);
		return STORE_E_SEALED;
	}
	return 0;
}

static void keys_release(struct store *s)
{
	pthread_rwlock_unlock(&s->keys);
}

/* Every change to a secret bumps the store revision in the same
 * transaction; *ret_rev is the new value. */
static int bump_revision(struct store *s, struct be_tx *tx, uint64_t *ret_rev)
{
	struct be_header h;
	int r = s->ops->header_get(tx, &h);
	if (r < 0)
		return r;
	h.revision++;
	r = s->ops->header_put(tx, &h);
	if (r < 0)
		return r;
	*ret_rev = h.revision;
	return 0;
}

/* ---- sealing values ---- */

/* Seals pt for (name, v->version) under the active DEK into v->blob. */
static int seal_into(struct store *s, const char *name, struct be_version *v, const uint8_t *pt,
                     size_t len)
{
	uint32_t key_id = keyring_active_id(s->kr);
	const struct secbuf *dek = keyring_get(s->kr, key_id);
	if (!dek)
		return STORE_E_CORRUPT;
	size_t bloblen = len + SEAL_OVERHEAD;
	uint8_t *blob = malloc(bloblen);
	if (!blob)
		return -ENOMEM;
	int r = seal_value(dek, s->store_id, name, v->version, key_id, pt, len, blob, bloblen);
	if (r < 0) {
		free(blob);
		return r == -EFBIG ? STORE_E_TOOBIG : r;
	}
	be_version_clear(v);
	v->key_id = key_id;
	v->blob = blob;
	v->bloblen = bloblen;
	v->destroyed = false;
	return 0;
}

/* Opens a version's blob. A blob that does not open under its own
 * coordinates was changed or moved in the file: the store is damaged. */
static int open_version(struct store *s, const char *name, const struct be_version *v,
                        struct secbuf **ret)
{
	const struct secbuf *dek = keyring_get(s->kr, v->key_id);
	if (!dek || v->key_id == KEYRING_MAC_KEY_ID)
		return STORE_E_CORRUPT;
	int r = seal_open(dek, s->store_id, name, v->version, v->key_id, v->blob, v->bloblen, ret);
	return r == -EBADMSG ? STORE_E_CORRUPT : r;
}

/* ---- lifecycle ---- */

static struct store *store_alloc(const struct store_backend *ops, struct be *be)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* seal must not starve behind a stream of readers */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->keys, &attr);
	pthread_rwlockattr_destroy(&attr);
	s->ops = ops;
	s->be = be;
	return s;
}

static void keys_wipe(struct store *s)
{
	keyring_free(s->kr);
	secbuf_free(s->kek);
	secbuf_free(s->audit_key);
	secbuf_free(s->token_key);
	s->kr = NULL;
	s->kek = NULL;
	s->audit_key = NULL;
	s->token_key = NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	keys_wipe(s);
	s->ops->close(s->be);
	pthread_rwlock_destroy(&s->keys);
	free(s);
}

/* Keyed MAC over the audit head, so a log whose tail was cut cannot be
 * passed off as complete by rewriting the head to an earlier entry. */
static void audit_head_tag(const struct secbuf *key, uint64_t seq,
                           const uint8_t hash[AUDIT_HASH_BYTES], uint8_t out[AUDIT_HASH_BYTES])
{
	crypto_generichash_state st;
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(seq >> (56 - 8 * i));
	crypto_generichash_init(&st, key->data, key->len, AUDIT_HASH_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)AUDIT_HEAD_CONTEXT,
	                          sizeof(AUDIT_HEAD_CONTEXT) - 1);
	crypto_generichash_update(&st, be, sizeof(be));
	crypto_generichash_update(&st, hash, AUDIT_HASH_BYTES);
	crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

/* Holds a fresh keyring (and its KEK) between building and installing it. */
struct keyset {
	struct keyring *kr;
	struct secbuf *kek, *audit_key, *token_key;
};

static void keyset_free(struct keyset *k)
{
	keyring_free(k->kr);
	secbuf_free(k->kek);
	secbuf_free(k->audit_key);
	secbuf_free(k->token_key);
	memset(k, 0, sizeof(*k));
}

/* Derives the purpose keys and copies the KEK once the keyring is built. */
static int keyset_finish(struct keyset *k, const struct secbuf *kek)
{
	int r = keyring_subkey(k->kr, KEYRING_SUBKEY_AUDIT, &k->audit_key);
	if (r == 0)
		r = keyring_subkey(k->kr, KEYRING_SUBKEY_TOKEN, &k->token_key);
	if (r == 0) {
		k->kek = secbuf_dup(kek->data, kek->len);
		r = k->kek ? secbuf_readonly(k->kek) : -ENOMEM;
	}
	return r;
}

static void keyset_install(struct store *s, struct keyset *k)
{
	keys_wipe(s);
	s->kr = k->kr;
	s->kek = k->kek;
	s->audit_key = k->audit_key;
	s->token_key = k->token_key;
	memset(k, 0, sizeof(*k));
}

/* A new random key, wrapped under kek into *wrapped. */
static int new_key(const struct secbuf *kek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
                   uint32_t key_id, struct secbuf **ret, struct be_key *wrapped)
{
	struct secbuf *k = secbuf_new(VAULT_KEY_BYTES);
	if (!k)
		return -ENOMEM;
	randombytes_buf(k->data, k->len);
	wrapped->key_id = key_id;
	wrapped->wrapped_len = sizeof(wrapped->wrapped);
	int r = key_wrap(kek, store_id, key_id, k, wrapped->wrapped);
	if (r < 0) {
		secbuf_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

struct create_ctx {
	struct be_header h;
	struct be_key keys[2]; /* MAC master key, DEK 1 */
};

static int create_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct create_ctx *c = ctx;
	int r = s->ops->header_put(tx, &c->h);
	for (size_t i = 0; r == 0 && i < 2; i++)
		r = s->ops->key_put(tx, &c->keys[i]);
	return r;
}

static int kek_args_ok(enum kek_kind kind, const struct kdf_params *kdf, const struct secbuf *kek)
{
	if (kind != KEK_KEYFILE && kind != KEK_PASSPHRASE)
		return STORE_E_INVAL;
	if (kind == KEK_PASSPHRASE && !kdf)
		return STORE_E_INVAL;
	if (!kek || kek->len != VAULT_KEY_BYTES)
		return STORE_E_INVAL;
	return 0;
}

/* Builds the keys of a new store into k and c (header and wrapped keys). */
static int create_keys(enum kek_kind kind, const struct kdf_params *kdf, const struct secbuf *kek,
                       struct keyset *k, struct create_ctx *c)
{
	randombytes_buf(c->h.store_id, sizeof(c->h.store_id));
	c->h.kek_kind = kind;
	if (kind == KEK_PASSPHRASE)
		c->h.kdf = *kdf;
	k->kr = keyring_new();
	if (!k->kr)
		return -ENOMEM;
	for (uint32_t id = KEYRING_MAC_KEY_ID; id <= 1; id++) {
		struct secbuf *key;
		int r = new_key(kek, c->h.store_id, id, &key, &c->keys[id]);
		if (r == 0)
			r = keyring_add(k->kr, id, key);
		if (r < 0)
			return r;
	}
	int r = keyset_finish(k, kek);
	if (r < 0)
		return r;
	audit_head_tag(k->audit_key, 0, c->h.audit_hash, c->h.audit_tag);
	return 0;
}

int store_create(const char *path, enum kek_kind kind, const struct kdf_params *kdf,
                 const struct secbuf *kek, struct store **ret)
{
	if (!path || !ret)
		return STORE_E_INVAL;
	int r = kek_args_ok(kind, kdf, kek);
	if (r < 0)
		return r;
	const struct store_backend *ops = &store_backend_sqlite;
	struct keyset k = {0};
	struct create_ctx c = {0};
	r = create_keys(kind, kdf, kek, &k, &c);
	struct be *be = NULL;
	if (r == 0)
		r = ops->create(path, &be);
	struct store *s = NULL;
	if (r == 0) {
		s = store_alloc(ops, be);
		r = s ? run_tx(s, true, create_body, &c) : -ENOMEM;
	}
	if (r < 0) {
		keyset_free(&k);
		if (be) {
			/* a half-made store must not be mistaken for one later */
			if (s)
				store_close(s);
			else
				ops->close(be);
			ops->remove(path);
		}
		return r;
	}
	memcpy(s->store_id, c.h.store_id, sizeof(s->store_id));
	keyset_install(s, &k);
	*ret = s;
	return 0;
}

static int header_body(struct store *s, struct be_tx *tx, void *ctx)
{
	return s->ops->header_get(tx, ctx);
}

int store_open(const char *path, struct store **ret)
{
	if (!path || !ret)
		return STORE_E_INVAL;
	const struct store_backend *ops = &store_backend_sqlite;
	struct be *be;
	int r = ops->open(path, &be);
	if (r < 0)
		return r;
	struct store *s = store_alloc(ops, be);
	if (!s) {
		ops->close(be);
		return -ENOMEM;
	}
	struct be_header h;
	r = run_tx(s, false, header_body, &h);
	if (r < 0) {
		store_close(s);
		return r;
	}
	memcpy(s->store_id, h.store_id, sizeof(s->store_id));
	atomic_store(&s->revision, h.revision);
	*ret = s;
	return 0;
}

int store_info(struct store *s, struct store_info *ret)
{
	if (!s || !ret)
		return STORE_E_INVAL;
	struct be_header h;
	int r = run_tx(s, false, header_body, &h);
	if (r < 0)
		return r;
	struct store_info i = {0};
	memcpy(i.store_id, h.store_id, sizeof(i.store_id));
	i.kek_kind = h.kek_kind;
	i.kdf = h.kdf;
	i.schema_version = s->ops->schema_version(s->be);
	i.backend = s->ops->name;
	*ret = i;
	return 0;
}

struct keys_ctx {
	struct be_header h;
	struct be_key *keys;
	size_t n;
};

static int keys_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct keys_ctx *c = ctx;
	int r = s->ops->header_get(tx, &c->h);
	if (r == 0)
		r = s->ops->key_list(tx, &c->keys, &c->n);
	return r;
}

/* Unwraps every stored key; any failure (wrong KEK, a tampered or swapped
 * wrapped key) is BADKEY. A store without its MAC key or a DEK is damaged. */
static int unwrap_all(const struct keys_ctx *c, const struct secbuf *kek, struct keyset *k)
{
	k->kr = keyring_new();
	if (!k->kr)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		struct secbuf *key;
		int r = key_unwrap(kek, c->h.store_id, c->keys[i].key_id, c->keys[i].wrapped,
		                   c->keys[i].wrapped_len, &key);
		if (r == -EKEYREJECTED)
			return STORE_E_BADKEY;
		if (r == 0)
			r = keyring_add(k->kr, c->keys[i].key_id, key);
		if (r < 0)
			return r;
	}
	if (!keyring_get(k->kr, KEYRING_MAC_KEY_ID) || keyring_active_id(k->kr) == 0)
		return STORE_E_CORRUPT;
	return keyset_finish(k, kek);
}

int store_unseal(struct store *s, const struct secbuf *kek)
{
	if (!s || !kek)
		return STORE_E_INVAL;
	if (kek->len != VAULT_KEY_BYTES)
		return STORE_E_BADKEY;
	struct keys_ctx c = {0};
	struct keyset k = {0};
	pthread_rwlock_wrlock(&s->keys);
	int r = run_tx(s, false, keys_body, &c);
	if (r == 0)
		r = unwrap_all(&c, kek, &k);
	if (r == 0)
		keyset_install(s, &k); /* also when already unsealed: same keys */
	pthread_rwlock_unlock(&s->keys);
	keyset_free(&k);
	free(c.keys);
	return r;
}

void store_seal(struct store *s)
{
	if (!s)
		return;
	pthread_rwlock_wrlock(&s->keys);
	keys_wipe(s);
	pthread_rwlock_unlock(&s->keys);
}

bool store_is_sealed(struct store *s)
{
	if (!s)
		return true;
	pthread_rwlock_rdlock(&s->keys);
	bool sealed = s->kr == NULL;
	pthread_rwlock_unlock(&s->keys);
	return sealed;
}

/* ---- rekey, DEK rotation, reseal ---- */

struct rekey_ctx {
	enum kek_kind kind;
	const struct kdf_params *kdf;
	struct be_key *keys;
	size_t n;
};

static int rekey_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct rekey_ctx *c = ctx;
	struct be_header h;
	int r = s->ops->header_get(tx, &h);
	if (r < 0)
		return r;
	h.kek_kind = c->kind;
	memset(&h.kdf, 0, sizeof(h.kdf));
	if (c->kind == KEK_PASSPHRASE)
		h.kdf = *c->kdf;
	r = s->ops->header_put(tx, &h);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		r = s->ops->key_put(tx, &c->keys[i]);
	return r;
}

int store_rekey(struct store *s, enum kek_kind kind, const struct kdf_params *kdf,
                const struct secbuf *new_kek)
{
	if (!s)
		return STORE_E_INVAL;
	int r = kek_args_ok(kind, kdf, new_kek);
	if (r < 0)
		return r;
	struct secbuf *kek_copy = secbuf_dup(new_kek->data, new_kek->len);
	if (!kek_copy || secbuf_readonly(kek_copy) < 0) {
		secbuf_free(kek_copy);
		return -ENOMEM;
	}
	pthread_rwlock_wrlock(&s->keys);
	struct rekey_ctx c = {.kind = kind, .kdf = kdf};
	if (!s->kr)
		r = STORE_E_SEALED;
	if (r == 0) {
		c.n = keyring_count(s->kr);
		c.keys = calloc(c.n, sizeof(*c.keys));
		if (!c.keys)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < c.n; i++) {
		uint32_t id = keyring_id_at(s->kr, i);
		c.keys[i].key_id = id;
		c.keys[i].wrapped_len = sizeof(c.keys[i].wrapped);
		r = key_wrap(new_kek, s->store_id, id, keyring_get(s->kr, id), c.keys[i].wrapped);
	}
	if (r == 0)
		r = run_tx(s, true, rekey_body, &c);
	if (r == 0) {
		secbuf_free(s->kek);
		s->kek = kek_copy;
		kek_copy = NULL;
	}
	pthread_rwlock_unlock(&s->keys);
	secbuf_free(kek_copy);
	free(c.keys);
	return r;
}

static int key_put_body(struct store *s, struct be_tx *tx, void *ctx)
{
	return s->ops->key_put(tx, ctx);
}

int store_dek_rotate(struct store *s, uint32_t *ret_key_id)
{
	if (!s)
		return STORE_E_INVAL;
	pthread_rwlock_wrlock(&s->keys);
	int r = s->kr ? 0 : STORE_E_SEALED;
	uint32_t id = 0;
	struct secbuf *dek = NULL;
	struct be_key wrapped;
	if (r == 0) {
		id = keyring_active_id(s->kr) + 1;
		r = id == 0 ? -EOVERFLOW : new_key(s->kek, s->store_id, id, &dek, &wrapped);
	}
	if (r == 0)
		r = run_tx(s, true, key_put_body, &wrapped);
	if (r == 0) {
		r = keyring_add(s->kr, id, dek);
		dek = NULL; /* owned by the keyring now, even on failure */
	}
	pthread_rwlock_unlock(&s->keys);
	secbuf_free(dek);
	if (r == 0 && ret_key_id)
		*ret_key_id = id;
	return r;
}

struct reseal_ctx {
	size_t batch;
	uint64_t remaining;
};

/* Plaintext exists only in a secbuf between open and seal; the row is
 * rewritten in place (secure_delete overwrites the old blob). */
static int reseal_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct reseal_ctx *c = ctx;
	struct be_version_ref *refs = NULL;
	size_t n = 0;
	uint64_t total;
	uint32_t active = keyring_active_id(s->kr);
	int r = s->ops->version_stale(tx, active, c->batch, &refs, &n, &total);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct secbuf *pt = NULL;
		r = open_version(s, refs[i].name, &refs[i].v, &pt);
		if (r == 0)
			r = seal_into(s, refs[i].name, &refs[i].v, pt->data, pt->len);
		secbuf_free(pt);
		if (r == 0)
			r = s->ops->version_put(tx, refs[i].name, &refs[i].v);
	}
	for (size_t i = 0; i < n; i++)
		be_version_clear(&refs[i].v);
	free(refs);
	if (r == 0)
		c->remaining = total - n;
	return r;
}

int store_reseal_step(struct store *s, size_t batch, size_t *ret_remaining)
{
	if (!s)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct reseal_ctx c = {.batch = batch};
	r = run_tx(s, true, reseal_body, &c);
	keys_release(s);
	if (r == 0 && ret_remaining)
		*ret_remaining = c.remaining > SIZE_MAX ? SIZE_MAX : (size_t)c.remaining;
	return r;
}

/* ---- secrets: writes ---- */

static int meta_update_ok(const struct secret_meta_update *u)
{
	if (!u)
		return 0;
	if (u->description &&
	    strnlen(u->description, STORE_DESCRIPTION_MAX + 1) > STORE_DESCRIPTION_MAX)
		return STORE_E_INVAL;
	if (u->labels_json) {
		json_t *o;
		size_t len = strnlen(u->labels_json, STORE_LABELS_MAX + 1);
		if (len > STORE_LABELS_MAX ||
		    jsonx_parse_object(u->labels_json, len, STORE_LABELS_MAX, &o, NULL, 0) < 0)
			return STORE_E_INVAL;
		json_decref(o);
	}
	if (u->rotation_period < -1)
		return STORE_E_INVAL;
	if (u->max_versions != -1 &&
	    (u->max_versions < 1 || u->max_versions > STORE_MAX_VERSIONS_LIMIT))
		return STORE_E_INVAL;
	return 0;
}

static int replace_str(char **dst, const char *src)
{
	char *p = strdup(src);
	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

static int meta_apply(struct secret_meta *m, const struct secret_meta_update *u)
{
	int r = 0;
	if (u->description)
		r = replace_str(&m->description, u->description);
	if (r == 0 && u->labels_json)
		r = replace_str(&m->labels_json, u->labels_json);
	if (u->rotation_period >= 0)
		m->rotation_period = u->rotation_period;
	if (u->max_versions >= 1)
		m->max_versions = (uint32_t)u->max_versions;
	return r;
}

static int secret_init(struct be_secret *sec, const char *name, const char *actor, int64_t now)
{
	memset(sec, 0, sizeof(*sec));
	copy_text(sec->meta.name, sizeof(sec->meta.name), name);
	copy_text(sec->meta.created_by, sizeof(sec->meta.created_by), actor);
	sec->meta.created = now;
	sec->meta.max_versions = STORE_DEFAULT_MAX_VERSIONS;
	sec->meta.description = strdup("");
	sec->meta.labels_json = strdup("{}");
	if (!sec->meta.description || !sec->meta.labels_json) {
		secret_meta_clear(&sec->meta);
		return -ENOMEM;
	}
	return 0;
}

/* Drops the oldest versions beyond max_versions; current and previous are
 * never dropped, even if that keeps more than max_versions. */
static int prune(struct store *s, struct be_tx *tx, const struct secret_meta *m, uint64_t count)
{
	if (count <= m->max_versions)
		return 0;
	struct be_version *vs;
	size_t n;
	int r = s->ops->version_list(tx, m->name, &vs, &n);
	if (r < 0)
		return r;
	uint64_t excess = n > m->max_versions ? n - m->max_versions : 0;
	for (size_t i = 0; r == 0 && excess > 0 && i < n; i++) {
		uint64_t v = vs[i].version;
		if (v == m->current_version || v == m->previous_version)
			continue;
		r = s->ops->version_delete(tx, m->name, v);
		excess--;
	}
	free(vs);
	return r;
}

struct put_args {
	const char *name;
	const uint8_t *value;
	size_t len;
	int64_t cas;
	const struct secret_meta_update *meta;
	const char *actor;
};

static int cas_check(const struct be_secret *sec, bool exists, int64_t cas)
{
	bool live = exists && !sec->meta.deleted;
	if (cas == 0 && live)
		return STORE_E_CONFLICT;
	if (cas > 0 && (!live || sec->meta.current_version != (uint64_t)cas))
		return STORE_E_CONFLICT;
	return 0;
}

/* One new version inside tx: it becomes current, the old current previous. */
static int put_one(struct store *s, struct be_tx *tx, const struct put_args *a, uint64_t rev,
                   int64_t now, uint64_t *ret_version)
{
	struct be_secret sec = {0};
	int r = s->ops->secret_get(tx, a->name, &sec);
	bool exists = r == 0;
	if (r == STORE_E_NOTFOUND)
		r = secret_init(&sec, a->name, a->actor, now);
	if (r == 0)
		r = cas_check(&sec, exists, a->cas);
	if (r == 0 && a->meta)
		r = meta_apply(&sec.meta, a->meta);
	struct be_version v = {.version = sec.latest_version + 1, .created = now};
	copy_text(v.created_by, sizeof(v.created_by), a->actor);
	if (r == 0)
		r = seal_into(s, a->name, &v, a->value, a->len);
	if (r == 0) {
		struct secret_meta *m = &sec.meta;
		m->previous_version = m->current_version;
		m->current_version = v.version;
		m->revision = rev;
		m->updated = now;
		copy_text(m->updated_by, sizeof(m->updated_by), a->actor);
		m->deleted = false;
		sec.latest_version = v.version;
		r = s->ops->secret_put(tx, &sec);
	}
	if (r == 0)
		r = s->ops->version_put(tx, a->name, &v);
	if (r == 0)
		r = prune(s, tx, &sec.meta, sec.meta.versions + 1);
	if (r == 0 && ret_version)
		*ret_version = v.version;
	be_version_clear(&v);
	secret_meta_clear(&sec.meta);
	return r;
}

static int put_args_ok(const struct put_args *a)
{
	if (!name_is_valid_str(a->name) || (!a->value && a->len > 0) || a->cas < -1)
		return STORE_E_INVAL;
	if (a->len > VAULT_MAX_VALUE_BYTES)
		return STORE_E_TOOBIG;
	return meta_update_ok(a->meta);
}

struct put_ctx {
	const struct put_args *items;
	size_t n;
	uint64_t version; /* of the last item */
	uint64_t revision;
};

static int put_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct put_ctx *c = ctx;
	int64_t now = now_s();
	int r = bump_revision(s, tx, &c->revision);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		r = put_one(s, tx, &c->items[i], c->revision, now, &c->version);
	return r;
}

static int run_put(struct store *s, const struct put_args *items, size_t n, uint64_t *ret_version)
{
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct put_ctx c = {.items = items, .n = n};
	r = run_tx(s, true, put_body, &c);
	keys_release(s);
	if (r < 0)
		return r;
	revision_seen(s, c.revision);
	if (ret_version)
		*ret_version = c.version;
	return 0;
}

int store_put(struct store *s, const char *name, const uint8_t *value, size_t len, int64_t cas,
              const struct secret_meta_update *meta, const char *actor, uint64_t *ret_version)
{
	struct put_args a = {.name = name, .value = value, .len = len, .cas = cas, .meta = meta};
	if (!s || text_ok(actor, STORE_ACTOR_MAX, &a.actor) < 0)
		return STORE_E_INVAL;
	int r = put_args_ok(&a);
	return r < 0 ? r : run_put(s, &a, 1, ret_version);
}

int store_put_batch(struct store *s, const struct store_put_item *items, size_t n,
                    const char *actor)
{
	if (!s || (!items && n > 0) || text_ok(actor, STORE_ACTOR_MAX, &actor) < 0)
		return STORE_E_INVAL;
	if (n == 0)
		return 0;
	struct put_args *a = calloc(n, sizeof(*a));
	if (!a)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		a[i] = (struct put_args){.name = items[i].name,
		                         .value = items[i].value,
		                         .len = items[i].len,
		                         .cas = -1,
		                         .actor = actor};
		r = put_args_ok(&a[i]);
	}
	if (r == 0)
		r = run_put(s, a, n, NULL);
	free(a);
	return r;
}

struct rollback_ctx {
	const char *name;
	uint64_t version;
	const char *actor;
	uint64_t new_version;
	uint64_t revision;
};

static int rollback_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct rollback_ctx *c = ctx;
	struct be_secret sec;
	int r = s->ops->secret_get(tx, c->name, &sec);
	if (r < 0)
		return r;
	bool deleted = sec.meta.deleted;
	secret_meta_clear(&sec.meta);
	if (deleted)
		return STORE_E_NOTFOUND;
	struct be_version v;
	r = s->ops->version_get(tx, c->name, c->version, &v);
	if (r < 0)
		return r;
	struct secbuf *pt = NULL;
	r = v.destroyed ? STORE_E_DESTROYED : open_version(s, c->name, &v, &pt);
	be_version_clear(&v);
	if (r == 0)
		r = bump_revision(s, tx, &c->revision);
	if (r == 0) {
		struct put_args a = {.name = c->name,
		                     .value = pt->data,
		                     .len = pt->len,
		                     .cas = -1,
		                     .actor = c->actor};
		r = put_one(s, tx, &a, c->revision, now_s(), &c->new_version);
	}
	secbuf_free(pt);
	return r;
}

int store_rollback(struct store *s, const char *name, uint64_t version, const char *actor,
                   uint64_t *ret_version)
{
	struct rollback_ctx c = {.name = name, .version = version};
	if (!s || !name_is_valid_str(name) || version == 0 ||
	    text_ok(actor, STORE_ACTOR_MAX, &c.actor) < 0)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	r = run_tx(s, true, rollback_body, &c);
	keys_release(s);
	if (r < 0)
		return r;
	revision_seen(s, c.revision);
	if (ret_version)
		*ret_version = c.new_version;
	return 0;
}

enum flag_op { OP_DELETE, OP_UNDELETE };

struct flag_ctx {
	const char *name;
	const char *actor;
	enum flag_op op;
	uint64_t revision; /* 0 when nothing changed */
};

static int flag_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct flag_ctx *c = ctx;
	struct be_secret sec;
	int r = s->ops->secret_get(tx, c->name, &sec);
	if (r < 0)
		return r;
	bool want = c->op == OP_DELETE;
	if (want && sec.meta.deleted)
		r = STORE_E_NOTFOUND;
	else if (sec.meta.deleted != want) {
		r = bump_revision(s, tx, &c->revision);
		sec.meta.deleted = want;
		sec.meta.revision = c->revision;
		sec.meta.updated = now_s();
		copy_text(sec.meta.updated_by, sizeof(sec.meta.updated_by), c->actor);
		if (r == 0)
			r = s->ops->secret_put(tx, &sec);
	}
	secret_meta_clear(&sec.meta);
	return r;
}

static int run_flag(struct store *s, const char *name, const char *actor, enum flag_op op)
{
	struct flag_ctx c = {.name = name, .op = op};
	if (!s || !name_is_valid_str(name) || text_ok(actor, STORE_ACTOR_MAX, &c.actor) < 0)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	r = run_tx(s, true, flag_body, &c);
	keys_release(s);
	if (r == 0)
		revision_seen(s, c.revision);
	return r;
}

int store_delete(struct store *s, const char *name, const char *actor)
{
	return run_flag(s, name, actor, OP_DELETE);
}

int store_undelete(struct store *s, const char *name, const char *actor)
{
	return run_flag(s, name, actor, OP_UNDELETE);
}

struct destroy_ctx {
	const char *name;
	uint64_t version; /* 0 = all */
	const char *actor;
	uint64_t revision; /* 0 when nothing changed */
};

/* Wipes the matching versions' blobs; *ret_changed counts the wiped ones and
 * *ret_left the versions that still hold a value. */
static int wipe_versions(struct store *s, struct be_tx *tx, const struct destroy_ctx *c,
                         size_t *ret_changed, size_t *ret_left)
{
	struct be_version *vs;
	size_t n, changed = 0, left = 0;
	int r = s->ops->version_list(tx, c->name, &vs, &n);
	if (r < 0)
		return r;
	bool found = c->version == 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		bool match = c->version == 0 || vs[i].version == c->version;
		found |= match;
		if (match && !vs[i].destroyed) {
			vs[i].destroyed = true;
			r = s->ops->version_put(tx, c->name, &vs[i]);
			changed++;
		}
		left += !vs[i].destroyed;
	}
	free(vs);
	if (r == 0 && !found)
		r = STORE_E_NOTFOUND;
	if (r < 0)
		return r;
	*ret_changed = changed;
	*ret_left = left;
	return 0;
}

static int destroy_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct destroy_ctx *c = ctx;
	struct be_secret sec;
	int r = s->ops->secret_get(tx, c->name, &sec);
	if (r < 0)
		return r;
	size_t changed = 0, left = 0;
	r = wipe_versions(s, tx, c, &changed, &left);
	if (r == 0 && changed > 0) {
		r = bump_revision(s, tx, &c->revision);
		if (left == 0)
			sec.meta.current_version = sec.meta.previous_version = 0;
		sec.meta.revision = c->revision;
		sec.meta.updated = now_s();
		copy_text(sec.meta.updated_by, sizeof(sec.meta.updated_by), c->actor);
		if (r == 0)
			r = s->ops->secret_put(tx, &sec);
	}
	secret_meta_clear(&sec.meta);
	return r;
}

int store_destroy(struct store *s, const char *name, uint64_t version, const char *actor)
{
	struct destroy_ctx c = {.name = name, .version = version};
	if (!s || !name_is_valid_str(name) || text_ok(actor, STORE_ACTOR_MAX, &c.actor) < 0)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	r = run_tx(s, true, destroy_body, &c);
	keys_release(s);
	if (r < 0)
		return r;
	revision_seen(s, c.revision);
	/* The rows no longer hold the blob; older page images may (WAL). */
	return s->ops->purge_residue(s->be);
}

uint64_t store_revision(struct store *s)
{
	return s ? atomic_load(&s->revision) : 0;
}

/* ---- secrets: reads ---- */

struct get_ctx {
	const char *name;
	enum secret_stage stage;
	uint64_t version;
	struct be_version v;
};

static int get_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct get_ctx *c = ctx;
	int r = s->ops->value_get(tx, c->name, c->stage, c->version, &c->v);
	if (r == STORE_E_NOTFOUND && c->stage == STAGE_CURRENT) {
		/* current is 0 once every version was destroyed */
		struct be_secret sec;
		if (s->ops->secret_get(tx, c->name, &sec) == 0) {
			if (!sec.meta.deleted && sec.latest_version > 0)
				r = STORE_E_DESTROYED;
			secret_meta_clear(&sec.meta);
		}
	}
	if (r == 0 && c->v.destroyed) {
		be_version_clear(&c->v);
		r = STORE_E_DESTROYED;
	}
	return r;
}

int store_get(struct store *s, const char *name, enum secret_stage stage, uint64_t version,
              struct secret_value *ret)
{
	if (!s || !ret || !name_is_valid_str(name) ||
	    (stage != STAGE_CURRENT && stage != STAGE_PREVIOUS && stage != STAGE_VERSION) ||
	    (stage == STAGE_VERSION && version == 0))
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct get_ctx c = {.name = name, .stage = stage, .version = version};
	r = run_tx(s, false, get_body, &c);
	struct secbuf *pt = NULL;
	if (r == 0)
		r = open_version(s, name, &c.v, &pt);
	keys_release(s);
	if (r == 0)
		*ret = (struct secret_value){
		    .version = c.v.version, .created = c.v.created, .value = pt};
	be_version_clear(&c.v);
	return r;
}

struct many_ctx {
	const char *const *names;
	size_t n;
	struct be_version *cur, *prev; /* prev NULL when not wanted */
	bool *missing;
	size_t nmissing;
};

static void many_free(struct many_ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		be_version_clear(&c->cur[i]);
		if (c->prev)
			be_version_clear(&c->prev[i]);
	}
}

static int many_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct many_ctx *c = ctx;
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		r = s->ops->value_get(tx, c->names[i], STAGE_CURRENT, 0, &c->cur[i]);
		if (r == STORE_E_NOTFOUND || (r == 0 && c->cur[i].destroyed)) {
			be_version_clear(&c->cur[i]);
			memset(&c->cur[i], 0, sizeof(c->cur[i]));
			c->missing[i] = true;
			c->nmissing++;
			r = 0;
			continue;
		}
		if (r == 0 && c->prev) {
			r = s->ops->value_get(tx, c->names[i], STAGE_PREVIOUS, 0, &c->prev[i]);
			if (r == STORE_E_NOTFOUND || (r == 0 && c->prev[i].destroyed)) {
				be_version_clear(&c->prev[i]);
				memset(&c->prev[i], 0, sizeof(c->prev[i])); /* version 0: none */
				r = 0;
			}
		}
	}
	return r;
}

/* Opens a record into out; version 0 (no previous) gives an empty value. */
static int many_open(struct store *s, const char *name, const struct be_version *v,
                     struct secret_value *out)
{
	struct secbuf *pt = NULL;
	if (v->version > 0) {
		int r = open_version(s, name, v, &pt);
		if (r < 0)
			return r;
	}
	*out = (struct secret_value){.version = v->version, .created = v->created, .value = pt};
	return 0;
}

static int many_open_all(struct store *s, struct many_ctx *c, struct secret_value *ret_cur,
                         struct secret_value *ret_prev)
{
	size_t i;
	int r = 0;
	for (i = 0; r == 0 && i < c->n; i++) {
		r = many_open(s, c->names[i], &c->cur[i], &ret_cur[i]);
		if (r == 0 && ret_prev) {
			r = many_open(s, c->names[i], &c->prev[i], &ret_prev[i]);
			if (r < 0)
				secret_value_clear(&ret_cur[i]);
		}
	}
	if (r < 0)
		for (size_t j = 0; j + 1 < i; j++) {
			secret_value_clear(&ret_cur[j]);
			if (ret_prev)
				secret_value_clear(&ret_prev[j]);
		}
	return r;
}

int store_get_many(struct store *s, const char *const *names, size_t n,
                   struct secret_value *ret_cur, struct secret_value *ret_prev, bool *missing)
{
	if (!s || (n > 0 && (!names || !ret_cur)))
		return STORE_E_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!name_is_valid_str(names[i]))
			return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct many_ctx c = {.names = names, .n = n};
	c.cur = calloc(n ? n : 1, sizeof(*c.cur));
	c.prev = ret_prev ? calloc(n ? n : 1, sizeof(*c.prev)) : NULL;
	c.missing = calloc(n ? n : 1, sizeof(*c.missing));
	if (!c.cur || !c.missing || (ret_prev && !c.prev))
		r = -ENOMEM;
	if (r == 0)
		r = run_tx(s, false, many_body, &c);
	if (r == 0 && c.nmissing > 0) {
		if (missing)
			memcpy(missing, c.missing, n * sizeof(*missing));
		r = STORE_E_NOTFOUND;
	}
	if (r == 0)
		r = many_open_all(s, &c, ret_cur, ret_prev);
	keys_release(s);
	if (c.cur)
		many_free(&c);
	free(c.cur);
	free(c.prev);
	free(c.missing);
	return r;
}

struct meta_ctx {
	const char *name;
	struct be_secret sec;
};

static int meta_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct meta_ctx *c = ctx;
	return s->ops->secret_get(tx, c->name, &c->sec);
}

int store_meta_get(struct store *s, const char *name, struct secret_meta *ret)
{
	if (!s || !ret || !name_is_valid_str(name))
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct meta_ctx c = {.name = name};
	r = run_tx(s, false, meta_body, &c);
	keys_release(s);
	if (r == 0)
		*ret = c.sec.meta;
	return r;
}

struct list_ctx {
	const char *prefix;
	bool include_deleted;
	struct secret_meta_list *l;
};

static int list_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct list_ctx *c = ctx;
	return s->ops->secret_list(tx, c->prefix, c->include_deleted, &c->l);
}

int store_list(struct store *s, const char *prefix, bool include_deleted,
               struct secret_meta_list **ret)
{
	if (!prefix)
		prefix = "";
	if (!s || !ret || !prefix_ok(prefix))
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct list_ctx c = {.prefix = prefix, .include_deleted = include_deleted};
	r = run_tx(s, false, list_body, &c);
	keys_release(s);
	if (r == 0)
		*ret = c.l;
	return r;
}

struct history_ctx {
	const char *name;
	struct be_secret sec;
	struct be_version *vs;
	size_t n;
};

static int history_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct history_ctx *c = ctx;
	int r = s->ops->secret_get(tx, c->name, &c->sec);
	if (r < 0)
		return r;
	r = s->ops->version_list(tx, c->name, &c->vs, &c->n);
	if (r < 0)
		secret_meta_clear(&c->sec.meta);
	return r;
}

int store_history(struct store *s, const char *name, struct secret_version_list **ret)
{
	if (!s || !ret || !name_is_valid_str(name))
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct history_ctx c = {.name = name};
	r = run_tx(s, false, history_body, &c);
	keys_release(s);
	if (r < 0)
		return r;
	struct secret_version_list *l = calloc(1, sizeof(*l));
	if (l)
		l->items = calloc(c.n ? c.n : 1, sizeof(*l->items));
	if (!l || !l->items) {
		free(l);
		r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < c.n; i++) {
		struct secret_version *o = &l->items[i];
		const struct be_version *v = &c.vs[i];
		o->version = v->version;
		o->created = v->created;
		copy_text(o->created_by, sizeof(o->created_by), v->created_by);
		o->key_id = v->key_id;
		o->destroyed = v->destroyed;
		o->stage = v->version == c.sec.meta.current_version    ? "current"
		           : v->version == c.sec.meta.previous_version ? "previous"
		                                                       : NULL;
	}
	secret_meta_clear(&c.sec.meta);
	free(c.vs);
	if (r < 0)
		return r;
	l->n = c.n;
	*ret = l;
	return 0;
}

static int count_body(struct store *s, struct be_tx *tx, void *ctx)
{
	return s->ops->secret_count(tx, ctx);
}

int store_count(struct store *s, uint64_t *ret)
{
	if (!s || !ret)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	uint64_t n;
	r = run_tx(s, false, count_body, &n);
	keys_release(s);
	if (r == 0)
		*ret = n;
	return r;
}

/* ---- tokens ---- */

int store_token_hash(struct store *s, const char *token, size_t len, uint8_t out[TOKEN_HASH_BYTES])
{
	if (!s || !token || !out || len == 0 || len > STORE_TOKEN_MAX)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	crypto_generichash(out, TOKEN_HASH_BYTES, (const uint8_t *)token, len, s->token_key->data,
	                   s->token_key->len);
	keys_release(s);
	return 0;
}

static int token_ok(const struct store_token *t)
{
	if (!t || !accessor_ok(t->accessor) || !t->policies_json ||
	    strnlen(t->policies_json, STORE_POLICY_MAX + 1) > STORE_POLICY_MAX ||
	    t->uses_left < -1 || t->expires < 0 ||
	    strnlen(t->created_by, STORE_ACTOR_MAX) >= STORE_ACTOR_MAX)
		return STORE_E_INVAL;
	return 0;
}

static int token_put_body(struct store *s, struct be_tx *tx, void *ctx)
{
	return s->ops->token_put(tx, ctx);
}

int store_token_put(struct store *s, const struct store_token *t)
{
	if (!s || token_ok(t) < 0)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	r = run_tx(s, true, token_put_body, (void *)t);
	keys_release(s);
	return r;
}

struct token_ctx {
	const uint8_t *hash;
	const char *accessor;
	int64_t now;
	struct store_token t;
	bool loaded;
};

static void token_ctx_reset(struct token_ctx *c)
{
	if (c->loaded)
		store_token_clear(&c->t);
	c->loaded = false;
}

/* The index lookup by hash is not constant time, but the hash is keyed:
 * its timing tells nothing about a token. The stored hash is still compared
 * in constant time before anything is decided. */
static int token_check(struct token_ctx *c)
{
	if (sodium_memcmp(c->t.hash, c->hash, TOKEN_HASH_BYTES) != 0)
		return STORE_E_NOTFOUND;
	if (c->t.revoked)
		return STORE_E_REVOKED;
	if ((c->t.expires != 0 && c->now >= c->t.expires) || c->t.uses_left == 0)
		return STORE_E_EXPIRED;
	return 0;
}

static int token_find_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct token_ctx *c = ctx;
	token_ctx_reset(c);
	int r = s->ops->token_find(tx, c->hash, &c->t);
	c->loaded = r == 0;
	return r < 0 ? r : token_check(c);
}

static int token_use_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct token_ctx *c = ctx;
	int r = token_find_body(s, tx, c); /* again, under the write lock */
	if (r == 0 && c->t.uses_left > 0) {
		c->t.uses_left--;
		r = s->ops->token_update(tx, &c->t);
	}
	return r;
}

int store_token_consume(struct store *s, const uint8_t hash[TOKEN_HASH_BYTES], int64_t now,
                        struct store_token *ret)
{
	if (!s || !hash || !ret)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct token_ctx c = {.hash = hash, .now = now};
	/* Unlimited tokens are only read: the common path stays a cheap read. */
	r = run_tx(s, false, token_find_body, &c);
	if (r == 0 && c.t.uses_left > 0)
		r = run_tx(s, true, token_use_body, &c);
	keys_release(s);
	if (r == 0) {
		*ret = c.t;
		c.loaded = false;
	}
	token_ctx_reset(&c);
	return r;
}

static int token_get_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct token_ctx *c = ctx;
	token_ctx_reset(c);
	int r = s->ops->token_get(tx, c->accessor, &c->t);
	c->loaded = r == 0;
	return r;
}

int store_token_get(struct store *s, const char *accessor, struct store_token *ret)
{
	if (!s || !ret || !accessor_ok(accessor))
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct token_ctx c = {.accessor = accessor};
	r = run_tx(s, false, token_get_body, &c);
	keys_release(s);
	if (r == 0) {
		*ret = c.t;
		c.loaded = false;
	}
	token_ctx_reset(&c);
	return r;
}

static int token_list_body(struct store *s, struct be_tx *tx, void *ctx)
{
	return s->ops->token_list(tx, ctx);
}

int store_token_list(struct store *s, struct store_token_list **ret)
{
	if (!s || !ret)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct store_token_list *l = NULL;
	r = run_tx(s, false, token_list_body, &l);
	keys_release(s);
	if (r == 0)
		*ret = l;
	return r;
}

static int token_revoke_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct token_ctx *c = ctx;
	int r = token_get_body(s, tx, c);
	if (r == 0 && !c->t.revoked) {
		c->t.revoked = true;
		r = s->ops->token_update(tx, &c->t);
	}
	return r;
}

int store_token_revoke(struct store *s, const char *accessor)
{
	if (!s || !accessor_ok(accessor))
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct token_ctx c = {.accessor = accessor};
	r = run_tx(s, true, token_revoke_body, &c);
	keys_release(s);
	token_ctx_reset(&c);
	return r;
}

/* ---- policies ---- */

struct policy_ctx {
	const char *name;
	const char *json;
	char *out;
	char **names;
	size_t n;
};

static int policy_put_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct policy_ctx *c = ctx;
	return s->ops->policy_put(tx, c->name, c->json);
}

static int policy_get_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct policy_ctx *c = ctx;
	return s->ops->policy_get(tx, c->name, &c->out);
}

static int policy_list_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct policy_ctx *c = ctx;
	return s->ops->policy_list(tx, &c->names, &c->n);
}

static int policy_delete_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct policy_ctx *c = ctx;
	return s->ops->policy_delete(tx, c->name);
}

/* Runs a policy operation under the key lock (policies need an unsealed
 * store like everything else). */
static int run_policy(struct store *s, bool write, tx_body body, struct policy_ctx *c)
{
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	r = run_tx(s, write, body, c);
	keys_release(s);
	return r;
}

int store_policy_put(struct store *s, const char *name, const char *json)
{
	if (!s || !name_is_valid_str(name) || !json ||
	    strnlen(json, STORE_POLICY_MAX + 1) > STORE_POLICY_MAX)
		return STORE_E_INVAL;
	struct policy_ctx c = {.name = name, .json = json};
	return run_policy(s, true, policy_put_body, &c);
}

int store_policy_get(struct store *s, const char *name, char **ret_json)
{
	if (!s || !ret_json || !name_is_valid_str(name))
		return STORE_E_INVAL;
	struct policy_ctx c = {.name = name};
	int r = run_policy(s, false, policy_get_body, &c);
	if (r == 0)
		*ret_json = c.out;
	return r;
}

int store_policy_list(struct store *s, char ***ret_names, size_t *ret_n)
{
	if (!s || !ret_names || !ret_n)
		return STORE_E_INVAL;
	struct policy_ctx c = {0};
	int r = run_policy(s, false, policy_list_body, &c);
	if (r == 0) {
		*ret_names = c.names;
		*ret_n = c.n;
	}
	return r;
}

int store_policy_delete(struct store *s, const char *name)
{
	if (!s || !name_is_valid_str(name))
		return STORE_E_INVAL;
	struct policy_ctx c = {.name = name};
	return run_policy(s, true, policy_delete_body, &c);
}

/* ---- audit ---- */

static bool audit_entry_ok(const struct audit_entry *e)
{
	return memchr(e->accessor, '\0', sizeof(e->accessor)) &&
	       memchr(e->action, '\0', sizeof(e->action)) &&
	       memchr(e->name, '\0', sizeof(e->name)) && memchr(e->result, '\0', sizeof(e->result));
}

struct audit_ctx {
	struct audit_entry *e; /* a copy: the caller's entries change only on success */
	size_t n;
};

static int audit_append_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct audit_ctx *c = ctx;
	struct be_header h;
	int r = s->ops->header_get(tx, &h);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n; i++) {
		struct audit_entry *e = &c->e[i];
		e->seq = h.audit_seq + 1 + i;
		memcpy(e->prev_hash, i == 0 ? h.audit_hash : c->e[i - 1].hash, AUDIT_HASH_BYTES);
		audit_chain_hash(s->audit_key, e, e->hash);
	}
	r = s->ops->audit_insert(tx, c->e, c->n);
	if (r < 0)
		return r;
	h.audit_seq = c->e[c->n - 1].seq;
	memcpy(h.audit_hash, c->e[c->n - 1].hash, AUDIT_HASH_BYTES);
	audit_head_tag(s->audit_key, h.audit_seq, h.audit_hash, h.audit_tag);
	return s->ops->header_put(tx, &h);
}

int store_audit_append(struct store *s, struct audit_entry *e, size_t n)
{
	if (!s || (!e && n > 0))
		return STORE_E_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!audit_entry_ok(&e[i]))
			return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	if (n == 0) {
		keys_release(s);
		return 0;
	}
	struct audit_ctx c = {.e = malloc(n * sizeof(*e)), .n = n};
	if (!c.e)
		r = -ENOMEM;
	if (r == 0) {
		memcpy(c.e, e, n * sizeof(*e));
		r = run_tx(s, true, audit_append_body, &c);
	}
	keys_release(s);
	if (r == 0)
		memcpy(e, c.e, n * sizeof(*e));
	free(c.e);
	return r;
}

struct audit_read_ctx {
	uint64_t since;
	size_t limit;
	struct audit_entry *e;
	size_t n;
};

static int audit_read_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct audit_read_ctx *c = ctx;
	return s->ops->audit_read(tx, c->since, c->limit, &c->e, &c->n);
}

int store_audit_read(struct store *s, uint64_t since, size_t limit, struct audit_entry **ret,
                     size_t *ret_n)
{
	if (!s || !ret || !ret_n)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct audit_read_ctx c = {.since = since, .limit = limit};
	r = run_tx(s, false, audit_read_body, &c);
	keys_release(s);
	if (r == 0) {
		*ret = c.e;
		*ret_n = c.n;
	}
	return r;
}

struct verify_ctx {
	uint64_t checked;
	uint64_t first_bad; /* 0 while intact */
};

/* Where the rows end must be where the MAC'd head says the chain ends. */
static void verify_head(struct store *s, const struct be_header *h, uint64_t last,
                        const uint8_t last_hash[AUDIT_HASH_BYTES], struct verify_ctx *c)
{
	uint8_t tag[AUDIT_HASH_BYTES];
	audit_head_tag(s->audit_key, h->audit_seq, h->audit_hash, tag);
	bool tag_ok = sodium_memcmp(tag, h->audit_tag, AUDIT_HASH_BYTES) == 0;
	if (h->audit_seq < last)
		c->first_bad = h->audit_seq + 1; /* rows past the recorded end */
	else if (!tag_ok || h->audit_seq > last)
		c->first_bad = last + 1; /* the tail is gone (or the head was forged) */
	else if (sodium_memcmp(h->audit_hash, last_hash, AUDIT_HASH_BYTES) != 0)
		c->first_bad = last; /* the last row is not the one the head saw */
}

static int audit_verify_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct verify_ctx *c = ctx;
	struct be_header h;
	int r = s->ops->header_get(tx, &h);
	if (r < 0)
		return r;
	uint8_t prev[AUDIT_HASH_BYTES] = {0};
	uint64_t last = 0;
	c->checked = 0;
	c->first_bad = 0;
	for (;;) {
		struct audit_entry *e;
		size_t n;
		r = s->ops->audit_read(tx, last, AUDIT_VERIFY_CHUNK, &e, &n);
		if (r < 0)
			return r;
		uint64_t bad = 0;
		if (n > 0 && audit_chain_verify(s->audit_key, last + 1, prev, e, n, &bad) < 0)
			c->first_bad = bad;
		if (n > 0 && c->first_bad == 0) {
			last = e[n - 1].seq;
			memcpy(prev, e[n - 1].hash, AUDIT_HASH_BYTES);
			c->checked += n;
		}
		free(e);
		if (c->first_bad != 0) {
			c->checked = c->first_bad - 1;
			return 0;
		}
		if (n < AUDIT_VERIFY_CHUNK)
			break;
	}
	verify_head(s, &h, last, prev, c);
	if (c->first_bad != 0 && c->checked >= c->first_bad)
		c->checked = c->first_bad - 1;
	return 0;
}

int store_audit_verify(struct store *s, uint64_t *ret_checked, uint64_t *ret_first_bad)
{
	if (!s)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct verify_ctx c = {0};
	r = run_tx(s, false, audit_verify_body, &c);
	keys_release(s);
	if (r < 0)
		return r;
	if (ret_checked)
		*ret_checked = c.checked;
	if (c.first_bad == 0)
		return 0;
	if (ret_first_bad)
		*ret_first_bad = c.first_bad;
	return -EBADMSG;
}

/* ---- backup ---- */

int store_backup(struct store *s, const char *dest_path)
{
	if (!s || !dest_path)
		return STORE_E_INVAL;
	return s->ops->backup(s->be, dest_path);
}
