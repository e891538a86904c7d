/* The audit record and its keyed hash chain: each entry's hash covers the
 * previous hash and the entry's canonical bytes (layout: docs/security.md). */
#ifndef VAULT_AUDIT_CHAIN_H
#define VAULT_AUDIT_CHAIN_H
#include <stddef.h>
#include <stdint.h>
#include "names.h"
#include "secbuf.h"

#define AUDIT_HASH_BYTES 32
#define AUDIT_ACCESSOR_MAX 48
#define AUDIT_ACTION_MAX 32
#define AUDIT_RESULT_MAX 24

/* Never a value, never a token: only who, what, which name and the outcome. */
struct audit_entry {
	uint64_t seq;                        /* 1, 2, ...; set by store_audit_append */
	int64_t time_ms;                     /* unix time in ms */
	int64_t uid, gid, pid;               /* peer credentials, -1 unknown */
	char accessor[AUDIT_ACCESSOR_MAX];   /* token accessor, "" for peer-cred admins */
	char action[AUDIT_ACTION_MAX];       /* e.g. "secret.read", "token.create" */
	char name[VAULT_MAX_NAME_LEN + 1];   /* secret/policy name or "" */
	char result[AUDIT_RESULT_MAX];       /* "ok", "denied", "not_found", ... */
	int status;                          /* HTTP status sent */
	uint8_t prev_hash[AUDIT_HASH_BYTES]; /* hash of seq-1 (zeros for seq 1) */
	uint8_t hash[AUDIT_HASH_BYTES];
};

/* The time an entry carries: the wall clock in unix milliseconds (vaultd's
 * requests and vaultctl's offline changes alike). */
int64_t audit_time_ms(void);

/* The entry of a change this process made itself (vaultd's re-seal,
 * vaultctl's offline key changes): its own uid, gid and pid, no token, no
 * HTTP status, result "ok". */
void audit_entry_self(struct audit_entry *e, const char *action);

/* hash = BLAKE2b-256 keyed with the audit key over
 * "vaultd/audit/v1" || prev_hash || canonical(e). Uses e->prev_hash. */
void audit_chain_hash(const struct secbuf *key, const struct audit_entry *e,
                      uint8_t out[AUDIT_HASH_BYTES]);

/* Checks n entries that must be consecutive from first_seq, whose first
 * prev_hash must equal expect_prev. Returns 0 when intact, else -EBADMSG with
 * *ret_first_bad = the first sequence number that is changed, missing or out
 * of order. */
__attribute__((warn_unused_result))
int audit_chain_verify(const struct secbuf *key, uint64_t first_seq,
                       const uint8_t expect_prev[AUDIT_HASH_BYTES],
                       const struct audit_entry *e, size_t n, uint64_t *ret_first_bad);

#endif
