/* The internal record interface between the store's domain layer (store.c)
 * and a storage backend (store_sqlite.c now, etcd later). Records are already
 * sealed: a backend only ever sees ciphertext, wrapped keys and hashes. */
#ifndef VAULT_STORE_BACKEND_H
#define VAULT_STORE_BACKEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "audit_chain.h"
#include "keyring.h"
#include "store.h"

/* How a backend must behave:
 * - Every function returns 0 or a STORE_E_* / negative errno value and writes
 *   its outputs only on success. Records that do not exist are
 *   STORE_E_NOTFOUND; a damaged store is STORE_E_CORRUPT.
 * - All record access happens inside a transaction. A read transaction sees
 *   one consistent snapshot and never waits for a writer. A write
 *   transaction is serialisable and durable once commit returns 0 (it
 *   survives kill -9 and power loss). A backend that validates optimistically
 *   (etcd: compare mod revisions at commit) returns -EAGAIN from commit on a
 *   conflict and the domain layer runs the whole transaction again, so a
 *   transaction body must not have side effects outside the transaction.
 * - The backend is shared by many threads; a transaction belongs to the
 *   thread that began it until commit or abort.
 * - The backend never sees plaintext or an unwrapped key. */

struct be;    /* one open store */
struct be_tx; /* one transaction on it */

/* The single store-wide record. */
struct be_header {
	uint8_t store_id[VAULT_STORE_ID_BYTES];
	enum kek_kind kek_kind;
	struct kdf_params kdf;                /* zeros for key-file stores */
	uint64_t revision;                    /* bumped by every secret change */
	uint64_t audit_seq;                   /* last appended audit entry, 0 = none */
	uint8_t audit_hash[AUDIT_HASH_BYTES]; /* its hash (zeros when none) */
	uint8_t audit_tag[AUDIT_HASH_BYTES];  /* MAC over (audit_seq, audit_hash) */
};

struct be_key {
	uint32_t key_id;
	uint8_t wrapped[WRAPPED_KEY_BYTES];
	/* WRAPPED_KEY_BYTES; a reader sets 0 when the stored blob has another
	 * length, so unwrapping rejects it like any other tampering */
	size_t wrapped_len;
};

/* A secret's record. meta.versions is computed by the backend on reads and
 * ignored on writes; latest_version is the highest version ever assigned. */
struct be_secret {
	struct secret_meta meta;
	uint64_t latest_version;
};

/* One version. blob is malloc'd ciphertext (owned by the record; free with
 * be_version_clear); NULL once destroyed, and in lists, which carry no blobs. */
struct be_version {
	uint64_t version;
	int64_t created;
	char created_by[STORE_ACTOR_MAX];
	uint32_t key_id;
	bool destroyed;
	uint8_t *blob;
	size_t bloblen;
};
void be_version_clear(struct be_version *v);

/* A version with its secret's name (for reseal). */
struct be_version_ref {
	char name[VAULT_MAX_NAME_LEN + 1];
	struct be_version v;
};

struct store_backend {
	const char *name; /* "sqlite" */

	/* Creates a new, empty store at path (STORE_E_EXISTS if something is
	 * there), schema applied; the caller writes the header next. */
	int (*create)(const char *path, struct be **ret);
	/* Opens an existing store and applies pending migrations in one
	 * transaction. STORE_E_NEWER for a newer schema, STORE_E_CORRUPT for
	 * anything that is not an intact store. Nothing is written when it
	 * fails. */
	int (*open)(const char *path, struct be **ret);
	void (*close)(struct be *b); /* NULL ok */
	/* Removes what create left at path (after a failed create). */
	void (*remove)(const char *path);
	int (*schema_version)(struct be *b);
	/* A consistent snapshot of everything into a new file (mode 0600). */
	int (*backup)(struct be *b, const char *dest_path);
	/* Removes copies of overwritten or deleted bytes that the backend keeps
	 * outside its live data (SQLite: moves the WAL into the database and
	 * truncates it), so that a destroy really leaves the files. wait: for
	 * readers that hold older copies; else try once (nothing to do: no
	 * write). A failure is retried by the backend after later commits. */
	int (*purge_residue)(struct be *b, bool wait);

	int (*begin)(struct be *b, bool write, struct be_tx **ret);
	int (*commit)(struct be_tx *tx); /* ends the tx even when it fails */
	void (*abort)(struct be_tx *tx);
	/* Inside a write transaction: mark a point, then either keep what was
	 * done since (keep) or undo it; either way the mark is gone. An error
	 * means the transaction itself is lost and must be aborted. */
	int (*savepoint)(struct be_tx *tx);
	/* A write transaction whose commit is atomic and survives the process
	 * dying, but reaches stable storage only with the next durable commit
	 * or sync(): for records whose loss to a power cut is tolerable. */
	int (*begin_unsynced)(struct be *b, struct be_tx **ret);
	int (*sync)(struct be *b);
	int (*savepoint_end)(struct be_tx *tx, bool keep);

	int (*header_get)(struct be_tx *tx, struct be_header *ret);
	int (*header_put)(struct be_tx *tx, const struct be_header *h);

	/* *ret malloc'd, ordered by key id. */
	int (*key_list)(struct be_tx *tx, struct be_key **ret, size_t *ret_n);
	int (*key_put)(struct be_tx *tx, const struct be_key *k); /* insert or replace */

	/* Secrets, soft-deleted ones included (meta.deleted says so). */
	int (*secret_get)(struct be_tx *tx, const char *name, struct be_secret *ret);
	int (*secret_put)(struct be_tx *tx, const struct be_secret *sec); /* insert or update */
	int (*secret_list)(struct be_tx *tx, const char *prefix, bool include_deleted,
	                   struct secret_meta_list **ret);
	int (*secret_count)(struct be_tx *tx, uint64_t *ret); /* live ones */

	/* The version a stage of a live secret points at (STAGE_VERSION: that
	 * version, if the secret is live), blob included: the read hot path,
	 * one lookup. NOTFOUND when the secret is absent or soft-deleted or the
	 * stage points nowhere. */
	int (*value_get)(struct be_tx *tx, const char *name, enum secret_stage stage,
	                 uint64_t version, struct be_version *ret);
	int (*version_get)(struct be_tx *tx, const char *name, uint64_t version,
	                   struct be_version *ret);
	/* Insert or replace; the secret record must exist. */
	int (*version_put)(struct be_tx *tx, const char *name, const struct be_version *v);
	int (*version_delete)(struct be_tx *tx, const char *name, uint64_t version);
	/* All versions of a secret, ascending, without blobs. *ret malloc'd. */
	int (*version_list)(struct be_tx *tx, const char *name, struct be_version **ret,
	                    size_t *ret_n);
	/* Up to limit versions with a blob sealed under a key other than key_id
	 * (blobs included), and how many such versions exist in all. */
	int (*version_stale)(struct be_tx *tx, uint32_t key_id, size_t limit,
	                     struct be_version_ref **ret, size_t *ret_n, uint64_t *ret_total);

	int (*token_put)(struct be_tx *tx, const struct store_token *t); /* EXISTS on a dup */
	int (*token_get)(struct be_tx *tx, const char *accessor, struct store_token *ret);
	int (*token_find)(struct be_tx *tx, const uint8_t hash[TOKEN_HASH_BYTES],
	                  struct store_token *ret);
	/* Writes uses_left and revoked of the token with t->accessor. */
	int (*token_update)(struct be_tx *tx, const struct store_token *t);
	int (*token_list)(struct be_tx *tx, struct store_token_list **ret);

	int (*policy_put)(struct be_tx *tx, const char *name, const char *json);
	int (*policy_get)(struct be_tx *tx, const char *name, char **ret_json);
	int (*policy_list)(struct be_tx *tx, char ***ret_names, size_t *ret_n);
	int (*policy_delete)(struct be_tx *tx, const char *name);

	/* Entries carry their seq, prev_hash and hash already. */
	int (*audit_insert)(struct be_tx *tx, const struct audit_entry *e, size_t n);
	/* Up to limit entries with seq > since, ascending; *ret malloc'd. */
	int (*audit_read)(struct be_tx *tx, uint64_t since, size_t limit, struct audit_entry **ret,
	                  size_t *ret_n);
};

extern const struct store_backend store_backend_sqlite;

#endif
