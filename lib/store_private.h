/* What lib/store*.c share and nothing else may use: struct store, the
 * transaction runner, the key lock, value sealing and the audit head MAC.
 * The public contract is store.h; storage is the backend (store_backend.h). */
#ifndef VAULT_STORE_PRIVATE_H
#define VAULT_STORE_PRIVATE_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "store_backend.h"

struct group_op;
/* Writers waiting to share a transaction, and whether one of them is
 * running the current one (the leader). */
struct store_group {
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct group_op *head, *tail;
	size_t queued;    /* ops in head..tail */
	uint64_t batches; /* transactions the group ran */
	bool leader;
};

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
	struct store_group group;  /* store_group.c */
	struct store_cache *cache; /* store_cache.c; NULL works (no caching) */
};

#define STORE_TX_RETRIES 16 /* optimistic backends: attempts per transaction */

typedef int (*tx_body)(struct store *s, struct be_tx *tx, void *ctx);

/* store_cache.c: current versions as stored (ciphertext), for reads between
 * writes. A reader takes store_cache_gen before its transaction begins and
 * hands it to store_cache_put with what it read. Every write transaction but
 * an audit append is bracketed by store_cache_write_begin (before it begins)
 * and store_cache_write_end (after its commit, before it returns): entries
 * are served and kept only while no write is under way, and a write makes
 * them all stale, so an acknowledged write is never read around and no
 * reader sees a version older than one it saw before. */
struct store_cache;
struct store_cache *store_cache_new(void);
void store_cache_free(struct store_cache *c);
uint64_t store_cache_gen(const struct store_cache *c); /* 0: a write is under way */
void store_cache_write_begin(struct store_cache *c);
void store_cache_write_end(struct store_cache *c);
/* A copy of name's current version (blob malloc'd) if it is fresh, and the
 * generation it belongs to: entries of one generation come from one state
 * of the store (no write began between their reads and this lookup). */
bool store_cache_get(struct store_cache *c, const char *name, struct be_version *ret,
                     uint64_t *ret_gen);
void store_cache_put(struct store_cache *c, const char *name, const struct be_version *v,
                     uint64_t gen);
/* Answers (a read, a whole bundle) served from the cache: callers count. */
void store_cache_count_hit(struct store_cache *c);
uint64_t store_cache_hits(const struct store_cache *c);
/* Wipes and frees name's entry (a destroy: its ciphertext must go). */
void store_cache_evict(struct store_cache *c, const char *name);

/* store.c */
/* Runs body in a transaction and commits it; an optimistic backend's
 * conflict (-EAGAIN) runs the body again on fresh data. */
int store_run_tx(struct store *s, bool write, tx_body body, void *ctx);
/* A write transaction that only appends to the audit log: it leaves the
 * read cache alone. Unsynced, it commits without waiting for the disk (see
 * begin_unsynced in store_backend.h); store_sync makes it durable. */
int store_run_audit_tx(struct store *s, bool synced, tx_body body, void *ctx);
/* Seals pt for (name, v->version) under the active DEK into v->blob. Needs
 * the key lock. */
int store_seal_into(struct store *s, const char *name, struct be_version *v, const uint8_t *pt,
                    size_t len);
/* Opens a version's blob into a new secbuf; STORE_E_CORRUPT if it does not
 * open under its own coordinates. Needs the key lock. */
int store_open_version(struct store *s, const char *name, const struct be_version *v,
                       struct secbuf **ret);

/* store_group.c */
void store_group_init(struct store_group *g);
void store_group_destroy(struct store_group *g);
/* Runs body in a write transaction with the keys held, like
 * store_run_keyed_tx, but shares that transaction (and its fsync) with the
 * bodies other threads submit meanwhile. Each body runs in its own
 * savepoint: its failure undoes only its own changes and is its result. */
int store_run_grouped(struct store *s, tx_body body, void *ctx);
/* For tests: writers waiting for the next batch; batches run so far. */
size_t store_group_queued(struct store *s);
uint64_t store_group_batches(struct store *s);

/* store_audit.c */
/* BLAKE2b-256 keyed with the audit subkey over AUDIT_HEAD_CONTEXT ||
 * u64be(seq) || hash: the MAC of the audit head kept in the header. */
void store_audit_head_tag(const struct secbuf *key, uint64_t seq,
                          const uint8_t hash[AUDIT_HASH_BYTES], uint8_t out[AUDIT_HASH_BYTES]);

/* Appends e[0..n) to the chain inside tx (a write transaction, keys held):
 * fills seq, prev_hash and hash, and moves the MAC'd head. n >= 1. */
int store_audit_append_tx(struct store *s, struct be_tx *tx, struct audit_entry *e, size_t n);
/* Every text field of e is NUL-terminated within its array. */
bool store_audit_entry_ok(const struct audit_entry *e);
/* store_run_keyed_tx for a write that chains *audit (unless NULL) in the
 * same transaction once body succeeds: the change and its record commit
 * together or neither does. On success *audit holds its seq, prev_hash and
 * hash; on error it is unchanged. */
int store_run_audited_tx(struct store *s, tx_body body, void *ctx, struct audit_entry *audit);

/* Takes the key lock for an operation that needs the store unsealed. */
static inline int keys_acquire(struct store *s)
{
	pthread_rwlock_rdlock(&s->keys);
	if (!s->kr) {
		pthread_rwlock_unlock(&s->keys);
		return STORE_E_SEALED;
	}
	return 0;
}

static inline void keys_release(struct store *s)
{
	pthread_rwlock_unlock(&s->keys);
}

/* store_seal's work, for a caller that holds s->keys for writing. */
void store_seal_locked(struct store *s);

/* The shape of most operations: one transaction with the keys held, so a
 * concurrent seal waits for it instead of wiping keys under it. */
static inline int store_run_keyed_tx(struct store *s, bool write, tx_body body, void *ctx)
{
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	r = store_run_tx(s, write, body, ctx);
	keys_release(s);
	return r;
}

static inline int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* A bounded string that fits its field (NULL reads as ""). */
static inline int text_ok(const char *s, size_t cap, const char **ret)
{
	if (!s)
		s = "";
	if (strnlen(s, cap) >= cap)
		return STORE_E_INVAL;
	*ret = s;
	return 0;
}

static inline void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

#endif
