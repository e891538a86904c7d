/* The store at the domain level: secrets with versions and stages, tokens,
 * policies and the audit chain. Backends (SQLite now, etcd later) sit behind
 * it; nothing here is SQL. Every function is safe to call from many threads. */
#ifndef VAULT_STORE_H
#define VAULT_STORE_H
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "audit_chain.h"
#include "keyring.h"
#include "names.h"
#include "secbuf.h"

/* Errors (negative errno values, so callers can also pass -errno through). */
#define STORE_E_NOTFOUND   (-ENOENT)          /* no such secret/version/token/policy, or soft-deleted */
#define STORE_E_DESTROYED  (-ENODATA)         /* the version existed but was destroyed */
#define STORE_E_CONFLICT   (-ECANCELED)       /* check-and-set did not match */
#define STORE_E_SEALED     (-ENOKEY)          /* keys not loaded */
#define STORE_E_BADKEY     (-EKEYREJECTED)    /* wrong key file / passphrase, or tampered wrapped key */
#define STORE_E_NEWER      (-EPROTONOSUPPORT) /* made by a newer schema */
#define STORE_E_CORRUPT    (-EUCLEAN)         /* not a store, truncated, integrity failure */
#define STORE_E_EXISTS     (-EEXIST)          /* store_create on an existing path */
#define STORE_E_TOOBIG     (-EFBIG)           /* value > VAULT_MAX_VALUE_BYTES */
#define STORE_E_INVAL      (-EINVAL)          /* bad name or argument */
#define STORE_E_EXPIRED    (-EKEYEXPIRED)     /* token expired or out of uses */
#define STORE_E_REVOKED    (-EKEYREVOKED)     /* token revoked */
#define STORE_E_IO         (-EIO)

/* One sentence for an error above, naming the fix where there is one. */
const char *store_strerror(int err);

#define STORE_DEFAULT_MAX_VERSIONS 10
#define STORE_MAX_VERSIONS_LIMIT 1000     /* max_versions is 1..this */
#define STORE_ACTOR_MAX 64                /* including the NUL */
#define STORE_DESCRIPTION_MAX 1024        /* bytes of a secret's description */
#define STORE_LABELS_MAX 4096             /* bytes of a secret's labels JSON */
#define STORE_POLICY_MAX (64u * 1024u)    /* bytes of a policy document */
#define STORE_TOKEN_MAX 256               /* bytes of a token store_token_hash takes */

/* Every function below needs an unsealed store (STORE_E_SEALED otherwise)
 * except store_open/create/close/info/unseal/seal/is_sealed, store_revision
 * and store_backup (a backup holds only sealed data). */
struct store;

struct store_info {
	uint8_t store_id[VAULT_STORE_ID_BYTES];
	enum kek_kind kek_kind;
	struct kdf_params kdf;   /* meaningful when kek_kind == KEK_PASSPHRASE */
	int schema_version;
	const char *backend;     /* "sqlite" */
};

/* Creates a new store at path (refuses an existing file: STORE_E_EXISTS) with
 * a fresh store id, MAC key and DEK 1 wrapped by kek. kdf is stored when kind
 * is KEK_PASSPHRASE. Returns it unsealed in *ret; close with store_close. */
int store_create(const char *path, enum kek_kind kind, const struct kdf_params *kdf,
                 const struct secbuf *kek, struct store **ret);
/* Opens (and migrates) an existing store; it starts sealed. */
int store_open(const char *path, struct store **ret);
void store_close(struct store *s);           /* wipes keys; NULL ok */
int store_info(struct store *s, struct store_info *ret);
int store_unseal(struct store *s, const struct secbuf *kek);  /* BADKEY on wrong key */
void store_seal(struct store *s);            /* wipes keys */
bool store_is_sealed(struct store *s);

/* KEK rekey: rewraps every key under new_kek; values untouched. Then the
 * keys wrapped under the old KEK are truncated out of the WAL and old
 * pages: an error from that comes back although the rekey has committed
 * (new_kek is in effect; run store_purge_residue again). */
int store_rekey(struct store *s, enum kek_kind kind, const struct kdf_params *kdf,
                const struct secbuf *new_kek);
/* New DEK for new writes; *ret_key_id is its id. Both this and store_rekey
 * return STORE_E_CONFLICT, changing nothing, when the file's keys are not
 * this handle's (another handle rotated or rekeyed): reopen and retry. */
int store_dek_rotate(struct store *s, uint32_t *ret_key_id);
/* Both, chaining *audit (when non-NULL) in the change's own transaction:
 * the new keys and their audit entry commit together or not at all. On
 * success *audit holds its seq and hash. store_rekey_audited returns 0 once
 * the rekey committed: should purging the old wrapped keys fail then, the
 * backend retries it after later commits (as for store_purge_residue). */
int store_rekey_audited(struct store *s, enum kek_kind kind, const struct kdf_params *kdf,
                        const struct secbuf *new_kek, struct audit_entry *audit);
int store_dek_rotate_audited(struct store *s, struct audit_entry *audit, uint32_t *ret_key_id);
/* The active DEK's id and how many versions are still sealed under an older
 * one (what store_reseal_step has left). STORE_E_SEALED when sealed. */
int store_key_status(struct store *s, uint32_t *ret_active, uint64_t *ret_pending);
/* Re-seals up to batch versions still under an older DEK with the active one
 * (never writing plaintext). *ret_remaining: how many are left. */
int store_reseal_step(struct store *s, size_t batch, size_t *ret_remaining);
/* The same; the step that re-seals the last such version also chains *done
 * (when non-NULL) in its transaction: the record that the rotation is
 * complete. done->seq is 0 unless it was chained. */
int store_reseal_step_audited(struct store *s, size_t batch, size_t *ret_remaining,
                              struct audit_entry *done);

/* ---- secrets ---- */
struct secret_meta {
	char name[VAULT_MAX_NAME_LEN + 1];
	uint64_t current_version;    /* 0 when every version is destroyed */
	uint64_t previous_version;   /* 0 when there is none */
	uint64_t versions;           /* versions kept (not pruned) */
	uint64_t revision;           /* store revision of the last change */
	int64_t created, updated;    /* unix seconds */
	char created_by[STORE_ACTOR_MAX], updated_by[STORE_ACTOR_MAX];
	char *description;           /* owned; "" when unset */
	char *labels_json;           /* owned; JSON object text, "{}" when unset */
	int64_t rotation_period;     /* seconds, 0 = none */
	uint32_t max_versions;
	bool deleted;                /* soft-deleted */
};
void secret_meta_clear(struct secret_meta *m);  /* frees owned strings */

struct secret_meta_list { struct secret_meta *items; size_t n; };
void secret_meta_list_free(struct secret_meta_list *l);  /* frees items and l; NULL ok */

/* What a write may change besides the value; NULL / -1 leave a field as is. */
struct secret_meta_update {
	const char *description;
	const char *labels_json;     /* must be a JSON object */
	int64_t rotation_period;     /* -1 = unchanged */
	int64_t max_versions;        /* -1 = unchanged; 1..1000 */
};
#define SECRET_META_UPDATE_NONE { NULL, NULL, -1, -1 }

enum secret_stage { STAGE_CURRENT = 0, STAGE_PREVIOUS = 1, STAGE_VERSION = 2 };

struct secret_value {
	uint64_t version;
	int64_t created;
	struct secbuf *value;        /* owned; secret_value_clear frees */
};
void secret_value_clear(struct secret_value *v);

struct secret_version {
	uint64_t version;
	int64_t created;
	char created_by[STORE_ACTOR_MAX];
	uint32_t key_id;
	bool destroyed;
	const char *stage;           /* "current", "previous" or NULL (static string) */
};
struct secret_version_list { struct secret_version *items; size_t n; };
void secret_version_list_free(struct secret_version_list *l);

/* Durable (acknowledged = survives kill -9) new version: becomes current, the
 * old current becomes previous. cas: -1 none, 0 = no current version yet (a
 * soft-deleted secret, or one with every version destroyed, counts as
 * absent), N = current version must be N (else
 * STORE_E_CONFLICT). Version numbers are never reused. Writing a
 * soft-deleted secret revives it. Prunes beyond max_versions, never touching
 * current or previous. actor is an audit-style string ("uid=0", "tok=...").*/
int store_put(struct store *s, const char *name, const uint8_t *value, size_t len,
              int64_t cas, const struct secret_meta_update *meta, const char *actor,
              uint64_t *ret_version);
/* store_put, with the request's own audit entry appended to the chain in the
 * same transaction (seq, prev_hash and hash filled in on success): the
 * change and its record are durable together, for one fsync. On error
 * neither happened and *audit is unchanged. */
int store_put_audited(struct store *s, const char *name, const uint8_t *value, size_t len,
                      int64_t cas, const struct secret_meta_update *meta, const char *actor,
                      struct audit_entry *audit, uint64_t *ret_version);
/* Several new versions (one per item, as store_put without cas or meta) in
 * one durable transaction: one fsync for all, all or nothing. For imports
 * and bulk loads. */
struct store_put_item {
	const char *name;
	const uint8_t *value;
	size_t len;
};
int store_put_batch(struct store *s, const struct store_put_item *items, size_t n,
                    const char *actor);
/* stage STAGE_VERSION uses version; the others ignore it. A stage whose
 * version was destroyed is STORE_E_DESTROYED; a soft-deleted secret is
 * STORE_E_NOTFOUND. */
int store_get(struct store *s, const char *name, enum secret_stage stage, uint64_t version,
              struct secret_value *ret);
/* Several secrets from one consistent snapshot. ret_cur[i] (and ret_prev[i]
 * when ret_prev is non-NULL; version 0 when there is no previous) are filled
 * for every name. If any name is missing, returns STORE_E_NOTFOUND, fills
 * missing[i] = true for those, and leaves no values allocated. */
int store_get_many(struct store *s, const char *const *names, size_t n,
                   struct secret_value *ret_cur, struct secret_value *ret_prev, bool *missing);
/* Metadata also of a soft-deleted secret (ret->deleted says so). */
int store_meta_get(struct store *s, const char *name, struct secret_meta *ret);
/* Names starting with prefix ("" or NULL = all), sorted; soft-deleted ones
 * only when include_deleted. Never values. */
int store_list(struct store *s, const char *prefix, bool include_deleted,
               struct secret_meta_list **ret);
int store_history(struct store *s, const char *name, struct secret_version_list **ret);
/* Every change below has an *_audited form which, like store_put_audited,
 * appends the request's own audit entry (unless NULL) in the change's
 * transaction: both are committed or neither, and on success the entry's
 * seq, prev_hash and hash are filled in. vaultd uses those forms, so that a
 * change is never on disk without its record. */

/* New version carrying version's value (re-sealed under the new version). */
int store_rollback(struct store *s, const char *name, uint64_t version, const char *actor,
                   uint64_t *ret_version);
int store_rollback_audited(struct store *s, const char *name, uint64_t version,
                           const char *actor, struct audit_entry *audit, uint64_t *ret_version);
/* Soft delete: reads see NOTFOUND until undelete or a new put. NOTFOUND if
 * absent or already deleted; undelete of a live secret is a no-op. */
int store_delete(struct store *s, const char *name, const char *actor);
int store_delete_audited(struct store *s, const char *name, const char *actor,
                         struct audit_entry *audit);
int store_undelete(struct store *s, const char *name, const char *actor);
int store_undelete_audited(struct store *s, const char *name, const char *actor,
                           struct audit_entry *audit);
/* Wipes the ciphertext of one version (version > 0) or of all (version 0);
 * with SQLite secure_delete the bytes are overwritten in the file, and the WAL
 * is checkpointed and truncated so no older copy stays behind (an error from
 * that step is returned; later commits retry it, as does the next open
 * after a crash, and calling again completes it). The version rows stay
 * (history shows them destroyed); stages keep pointing at them, except that
 * current and previous become 0 once every version is destroyed. Destroying
 * a destroyed version is a no-op; a soft-deleted secret can be destroyed. */
int store_destroy(struct store *s, const char *name, uint64_t version, const char *actor);
/* An error from the checkpoint step comes after the destroy (and its audit
 * entry, whose seq is then set) was committed. */
int store_destroy_audited(struct store *s, const char *name, uint64_t version,
                          const char *actor, struct audit_entry *audit);
/* Monotonic counter bumped by every change to any secret (for watch). */
uint64_t store_revision(struct store *s);
/* Reads answered from the read cache (lib/store_cache.c) so far. */
uint64_t store_cache_hit_count(struct store *s);
/* Number of live (not soft-deleted) secrets. */
int store_count(struct store *s, uint64_t *ret);

/* ---- tokens (only a keyed hash of the token is stored) ---- */
#define TOKEN_HASH_BYTES 32
struct store_token {
	char accessor[AUDIT_ACCESSOR_MAX];
	uint8_t hash[TOKEN_HASH_BYTES];
	char *policies_json;         /* owned JSON array of policy names */
	int64_t created, expires;    /* unix seconds; expires 0 = never */
	int64_t uses_left;           /* -1 = unlimited */
	bool revoked;
	char created_by[STORE_ACTOR_MAX];
};
void store_token_clear(struct store_token *t);
struct store_token_list { struct store_token *items; size_t n; };
void store_token_list_free(struct store_token_list *l);

/* Keyed BLAKE2b of a token with the store's token subkey. Needs unsealed. */
int store_token_hash(struct store *s, const char *token, size_t len, uint8_t out[TOKEN_HASH_BYTES]);
int store_token_put(struct store *s, const struct store_token *t);
int store_token_put_audited(struct store *s, const struct store_token *t,
                            struct audit_entry *audit);
/* Finds the token by hash (compared in constant time), refuses a revoked
 * (STORE_E_REVOKED) or expired / used-up (STORE_E_EXPIRED) one, and
 * atomically consumes one use when it has a use count. Fills *ret; on
 * STORE_E_REVOKED and STORE_E_EXPIRED only ret->accessor (nothing to
 * clear), so that the refusal's audit entry names the token. */
int store_token_consume(struct store *s, const uint8_t hash[TOKEN_HASH_BYTES], int64_t now,
                        struct store_token *ret);
int store_token_get(struct store *s, const char *accessor, struct store_token *ret);
int store_token_list(struct store *s, struct store_token_list **ret);
int store_token_revoke(struct store *s, const char *accessor);
int store_token_revoke_audited(struct store *s, const char *accessor, struct audit_entry *audit);

/* ---- policies (documents are JSON text; parsing lives in policy.h) ---- */
int store_policy_put(struct store *s, const char *name, const char *json);
int store_policy_put_audited(struct store *s, const char *name, const char *json,
                             struct audit_entry *audit);
int store_policy_get(struct store *s, const char *name, char **ret_json);  /* free() */
int store_policy_list(struct store *s, char ***ret_names, size_t *ret_n);  /* free each + array */
int store_policy_delete(struct store *s, const char *name);
int store_policy_delete_audited(struct store *s, const char *name, struct audit_entry *audit);

/* ---- audit ---- */
/* Appends n entries in one durable transaction (one fsync for all: group
 * commit), assigning seq, prev_hash and hash. Needs unsealed. */
int store_audit_append(struct store *s, struct audit_entry *e, size_t n);
/* store_audit_append committed without waiting for the disk: the entries
 * survive the process dying at once, and a power cut only until the next
 * durable commit or store_sync(); a cut can drop the newest of them, never
 * leave a gap in the chain. For entries of requests that changed nothing. */
int store_audit_append_unsynced(struct store *s, struct audit_entry *e, size_t n);
/* store_audit_append (durable), then store_seal, with no write of any other
 * thread in between: an entry recording a seal is the last one before it.
 * Nothing is sealed when the entries cannot be committed. */
int store_audit_append_seal(struct store *s, struct audit_entry *e, size_t n);
/* Makes every transaction committed so far durable (fsync). */
int store_sync(struct store *s);
/* Removes what a process that died may have left outside the live data (a
 * WAL with page images a destroy wiped but had not purged yet), without
 * waiting: on failure (a reader of another process holds on) later commits
 * retry it. For the store's owner (vaultd) once it has opened the store;
 * not for a reader beside it (it would write to a store in use). */
int store_purge_residue(struct store *s);
/* Up to limit entries with seq > since, in order. *ret is malloc'd. */
int store_audit_read(struct store *s, uint64_t since, size_t limit,
                     struct audit_entry **ret, size_t *ret_n);
/* The last limit entries, in order: those after the chain head's seq -
 * limit, read in the same transaction as the head. *ret is malloc'd. */
int store_audit_read_last(struct store *s, size_t limit, struct audit_entry **ret, size_t *ret_n);
/* Verifies the whole chain. 0 intact; -EBADMSG with *ret_first_bad.
 * *ret_checked: entries that verified before the first bad one.
 * The store also keeps the chain head (last seq and hash) under a MAC with
 * the audit key ("vaultd/audit-head/v1" || u64be(seq) || hash), so a deleted
 * last entry (or a cut tail with the head rewritten) is reported as the
 * first missing seq. Limits: whoever can write the file can put back an
 * older copy of the whole store (log and head together), which nothing
 * inside the file can reveal; and entries never appended (a crash before
 * store_audit_append returned) are not there to verify. */
int store_audit_verify(struct store *s, uint64_t *ret_checked, uint64_t *ret_first_bad);

/* ---- backup ---- */
/* Consistent online snapshot of the whole store (values stay sealed) into a
 * new file at dest_path (mode 0600). */
int store_backup(struct store *s, const char *dest_path);

#endif
