/* The store's core: lifecycle (create, open, close, info), the keyring
 * and its seal/unseal/rekey/DEK rotation/reseal, the transaction runner,
 * sealing values with the active DEK, and backups. Secrets, tokens,
 * policies and the audit log are in store_*.c; storage is a backend. */
#include "store.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "seal.h"
#include "store_private.h"

/* ---- errors ---- */

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

void be_version_clear(struct be_version *v)
{
	if (!v)
		return;
	free(v->blob); /* ciphertext: nothing to wipe */
	v->blob = NULL;
	v->bloblen = 0;
}

/* ---- transactions ---- */

/* Runs body in a transaction and commits it; an optimistic backend's
 * conflict (-EAGAIN) runs the body again on fresh data. */
static int run_tx(struct store *s, bool write, bool unsynced, tx_body body, void *ctx)
{
	for (int i = 0; i < STORE_TX_RETRIES; i++) {
		struct be_tx *tx;
		int r = unsynced ? s->ops->begin_unsynced(s->be, &tx)
		                 : s->ops->begin(s->be, write, &tx);
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

/* A write that may change anything but the audit log is bracketed for the
 * read cache, whatever its outcome (a failed commit may still have landed). */
int store_run_tx(struct store *s, bool write, tx_body body, void *ctx)
{
	if (!write)
		return run_tx(s, false, false, body, ctx);
	store_cache_write_begin(s->cache);
	int r = run_tx(s, true, false, body, ctx);
	store_cache_write_end(s->cache);
	return r;
}

int store_run_audit_tx(struct store *s, bool synced, tx_body body, void *ctx)
{
	return run_tx(s, true, !synced, body, ctx);
}

int store_sync(struct store *s)
{
	return s ? s->ops->sync(s->be) : STORE_E_INVAL;
}

int store_purge_residue(struct store *s)
{
	return s ? s->ops->purge_residue(s->be, false) : STORE_E_INVAL;
}

/* ---- sealing values ---- */

/* Seals pt for (name, v->version) under the active DEK into v->blob. */
int store_seal_into(struct store *s, const char *name, struct be_version *v, const uint8_t *pt,
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
int store_open_version(struct store *s, const char *name, const struct be_version *v,
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
	store_group_init(&s->group);
	s->cache = store_cache_new(); /* without it reads only go to the store */
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
	store_group_destroy(&s->group);
	store_cache_free(s->cache);
	free(s);
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
	store_audit_head_tag(k->audit_key, 0, c->h.audit_hash, c->h.audit_tag);
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
		r = s ? store_run_tx(s, true, create_body, &c) : -ENOMEM;
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
	r = store_run_tx(s, false, header_body, &h);
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
	int r = store_run_tx(s, false, header_body, &h);
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
	int r = store_run_tx(s, false, keys_body, &c);
	if (r == 0)
		r = unwrap_all(&c, kek, &k);
	if (r == 0)
		keyset_install(s, &k); /* also when already unsealed: same keys */
	pthread_rwlock_unlock(&s->keys);
	keyset_free(&k);
	free(c.keys);
	return r;
}

void store_seal_locked(struct store *s)
{
	keys_wipe(s);
	/* Nothing is read while sealed anyway; this drops every entry. */
	store_cache_write_begin(s->cache);
	store_cache_write_end(s->cache);
}

void store_seal(struct store *s)
{
	if (!s)
		return;
	pthread_rwlock_wrlock(&s->keys);
	store_seal_locked(s);
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
	struct audit_entry *audit; /* chained in the same transaction, or NULL */
};

/* The keys table holds exactly the keys of this handle's keyring, each
 * wrapped under its KEK: what this handle knows is what the file has.
 * Another handle's rotation, or a key this one committed but could not
 * load, would otherwise be overwritten or left under the old KEK (and the
 * store lost); another handle's rekey keeps the ids but not the KEK.
 * STORE_E_CONFLICT: reopen and try again. */
static int keys_match(struct store *s, struct be_tx *tx)
{
	struct be_key *have = NULL;
	size_t nh = 0;
	int r = s->ops->key_list(tx, &have, &nh);
	if (r < 0)
		return r;
	/* Ids are distinct on both sides: as many, each known, is the same set. */
	bool same = nh == keyring_count(s->kr);
	for (size_t i = 0; same && i < nh; i++) {
		struct secbuf *key = NULL;
		const struct secbuf *mine = keyring_get(s->kr, have[i].key_id);
		same = mine &&
		       key_unwrap(s->kek, s->store_id, have[i].key_id, have[i].wrapped,
		                  have[i].wrapped_len, &key) == 0 &&
		       secbuf_equal(key, mine);
		secbuf_free(key);
	}
	sodium_memzero(have, nh * sizeof(*have));
	free(have);
	return same ? 0 : STORE_E_CONFLICT;
}

static int rekey_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct rekey_ctx *c = ctx;
	int r = keys_match(s, tx);
	if (r < 0)
		return r;
	struct be_header h;
	r = s->ops->header_get(tx, &h);
	if (r < 0)
		return r;
	h.kek_kind = c->kind;
	memset(&h.kdf, 0, sizeof(h.kdf));
	if (c->kind == KEK_PASSPHRASE)
		h.kdf = *c->kdf;
	r = s->ops->header_put(tx, &h);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		r = s->ops->key_put(tx, &c->keys[i]);
	if (r == 0 && c->audit)
		r = store_audit_append_tx(s, tx, c->audit, 1);
	return r;
}

/* The rekey's transaction; the purge of the old wrapped keys is the caller's. */
static int rekey_commit(struct store *s, enum kek_kind kind, const struct kdf_params *kdf,
                        const struct secbuf *new_kek, struct audit_entry *audit)
{
	if (!s || (audit && !store_audit_entry_ok(audit)))
		return STORE_E_INVAL;
	int r = kek_args_ok(kind, kdf, new_kek);
	if (r < 0)
		return r;
	struct secbuf *kek_copy = secbuf_dup(new_kek->data, new_kek->len);
	if (!kek_copy || secbuf_readonly(kek_copy) < 0) {
		secbuf_free(kek_copy);
		return -ENOMEM;
	}
	struct audit_entry copy; /* the caller's entry changes only on success */
	if (audit)
		copy = *audit;
	pthread_rwlock_wrlock(&s->keys);
	struct rekey_ctx c = {.kind = kind, .kdf = kdf, .audit = audit ? &copy : NULL};
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
		r = store_run_tx(s, true, rekey_body, &c);
	if (r == 0) {
		secbuf_free(s->kek);
		s->kek = kek_copy;
		kek_copy = NULL;
		if (audit)
			*audit = copy;
	}
	pthread_rwlock_unlock(&s->keys);
	secbuf_free(kek_copy);
	free(c.keys);
	return r;
}

/* The keys wrapped under the old KEK are still in older page images (the
 * WAL, the file's pages until a checkpoint): the old KEK and the files would
 * still give every data key. Rekey answers a leaked KEK, so they go at once,
 * as a destroyed value's do. */
int store_rekey(struct store *s, enum kek_kind kind, const struct kdf_params *kdf,
                const struct secbuf *new_kek)
{
	int r = rekey_commit(s, kind, kdf, new_kek, NULL);
	return r < 0 ? r : s->ops->purge_residue(s->be, true);
}

int store_rekey_audited(struct store *s, enum kek_kind kind, const struct kdf_params *kdf,
                        const struct secbuf *new_kek, struct audit_entry *audit)
{
	int r = rekey_commit(s, kind, kdf, new_kek, audit);
	if (r == 0)
		(void)s->ops->purge_residue(s->be, true); /* on failure, later commits retry */
	return r;
}

struct key_put_ctx {
	struct be_key *wrapped;
	struct audit_entry *audit; /* chained in the same transaction, or NULL */
};

static int key_put_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct key_put_ctx *c = ctx;
	int r = keys_match(s, tx);
	if (r == 0)
		r = s->ops->key_put(tx, c->wrapped);
	if (r == 0 && c->audit)
		r = store_audit_append_tx(s, tx, c->audit, 1);
	return r;
}

int store_dek_rotate(struct store *s, uint32_t *ret_key_id)
{
	return store_dek_rotate_audited(s, NULL, ret_key_id);
}

int store_dek_rotate_audited(struct store *s, struct audit_entry *audit, uint32_t *ret_key_id)
{
	if (!s || (audit && !store_audit_entry_ok(audit)))
		return STORE_E_INVAL;
	struct audit_entry copy; /* the caller's entry changes only on success */
	if (audit)
		copy = *audit;
	pthread_rwlock_wrlock(&s->keys);
	int r = s->kr ? 0 : STORE_E_SEALED;
	uint32_t id = 0;
	struct secbuf *dek = NULL;
	struct be_key wrapped;
	if (r == 0) {
		id = keyring_active_id(s->kr) + 1;
		r = id == 0 ? -EOVERFLOW : new_key(s->kek, s->store_id, id, &dek, &wrapped);
	}
	struct key_put_ctx c = {.wrapped = &wrapped, .audit = audit ? &copy : NULL};
	if (r == 0)
		r = store_run_tx(s, true, key_put_body, &c);
	if (r == 0) {
		r = keyring_add(s->kr, id, dek);
		dek = NULL; /* owned by the keyring now, even on failure */
	}
	if (r == 0 && audit)
		*audit = copy;
	pthread_rwlock_unlock(&s->keys);
	secbuf_free(dek);
	if (r == 0 && ret_key_id)
		*ret_key_id = id;
	return r;
}

struct reseal_ctx {
	size_t batch;
	uint64_t remaining;
	struct audit_entry *done; /* chained with the step that finishes */
	bool chained;
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
		r = store_open_version(s, refs[i].name, &refs[i].v, &pt);
		if (r == 0)
			r = store_seal_into(s, refs[i].name, &refs[i].v, pt->data, pt->len);
		secbuf_free(pt);
		if (r == 0)
			r = s->ops->version_put(tx, refs[i].name, &refs[i].v);
	}
	for (size_t i = 0; i < n; i++)
		be_version_clear(&refs[i].v);
	free(refs);
	if (r == 0)
		c->remaining = total - n;
	c->chained = false; /* a retried transaction starts over */
	if (r == 0 && n > 0 && c->remaining == 0 && c->done) {
		r = store_audit_append_tx(s, tx, c->done, 1);
		c->chained = r == 0;
	}
	return r;
}

struct key_status_ctx {
	uint32_t active;
	uint64_t pending;
};

static int key_status_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct key_status_ctx *c = ctx;
	struct be_version_ref *refs = NULL;
	size_t n = 0;
	c->active = keyring_active_id(s->kr);
	/* A limit of 0 counts them and fetches none. */
	int r = s->ops->version_stale(tx, c->active, 0, &refs, &n, &c->pending);
	free(refs);
	return r;
}

int store_key_status(struct store *s, uint32_t *ret_active, uint64_t *ret_pending)
{
	if (!s)
		return STORE_E_INVAL;
	struct key_status_ctx c = {0};
	int r = store_run_keyed_tx(s, false, key_status_body, &c);
	if (r == 0 && ret_active)
		*ret_active = c.active;
	if (r == 0 && ret_pending)
		*ret_pending = c.pending;
	return r;
}

int store_reseal_step(struct store *s, size_t batch, size_t *ret_remaining)
{
	return store_reseal_step_audited(s, batch, ret_remaining, NULL);
}

int store_reseal_step_audited(struct store *s, size_t batch, size_t *ret_remaining,
                              struct audit_entry *done)
{
	if (!s || (done && !store_audit_entry_ok(done)))
		return STORE_E_INVAL;
	struct audit_entry copy; /* the caller's entry changes only once chained */
	if (done)
		copy = *done;
	struct reseal_ctx c = {.batch = batch, .done = done ? &copy : NULL};
	int r = store_run_keyed_tx(s, true, reseal_body, &c);
	if (r == 0 && ret_remaining)
		*ret_remaining = c.remaining > SIZE_MAX ? SIZE_MAX : (size_t)c.remaining;
	if (done)
		done->seq = 0;
	if (r == 0 && c.chained)
		*done = copy;
	return r;
}

/* ---- backup ---- */

int store_backup(struct store *s, const char *dest_path)
{
	if (!s || !dest_path)
		return STORE_E_INVAL;
	return s->ops->backup(s->be, dest_path);
}
