/* Talking to vaultd: one POST /v1/bundle for every secret (waiting with
 * backoff while the daemon is not up or sealed), GET /v1/watch for changes.
 * Every failure maps to one cause, and so to one exit status. */
#ifndef INJECT_FETCH_H
#define INJECT_FETCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "secbuf.h"

#define FETCH_MAX_VALUE (512u * 1024u) /* docs/api.md: a value is at most 512 KiB */
#define FETCH_TIMEOUT_MS 10000         /* one bundle request */
#define FETCH_BACKOFF_FIRST_MS 20
#define FETCH_BACKOFF_MAX_MS 1000

enum fetch_status {
	FETCH_OK = 0,
	FETCH_UNREACHABLE, /* no socket, refused, timed out */
	FETCH_SEALED,      /* 503 */
	FETCH_DENIED,      /* 401, 403, or no permission on the socket */
	FETCH_NOT_FOUND,   /* 404 */
	FETCH_PROTOCOL,    /* any other answer, or one we cannot parse */
	FETCH_NOMEM,
	FETCH_STOPPED, /* a stop signal came while waiting (stop.h) */
};

struct fetch_target {
	const char *socket;
	const struct secbuf *token; /* NULL: peer credentials */
};

struct bundle_entry {
	char name[VAULT_MAX_NAME_LEN + 1];
	uint64_t version;
	const struct secbuf *value;    /* points at view[0] */
	uint64_t previous_version;     /* 0: none */
	const struct secbuf *previous; /* NULL: none (or not asked), else view[1] */
	struct secbuf view[2];         /* slices of the bundle's arena, not owned */
};

/* All values of a bundle live in one guarded arena: one sodium_malloc for
 * the lot instead of one per value (each costs a handful of system calls,
 * which is most of inject's own start-up time). */
struct bundle {
	uint64_t revision;
	size_t n;
	struct bundle_entry *entries; /* same order as the names asked for */
	struct secbuf *arena;
};

/* An empty bundle of n entries with an arena of bytes bytes; entries get
 * their values with bundle_take(). NULL on ENOMEM. */
struct bundle *bundle_new(size_t n, size_t bytes);
/* The same with a given arena (owned by the bundle from now on, freed with
 * it even on failure): every byte of it is wiped first. */
struct bundle *bundle_new_in(size_t n, struct secbuf *arena);
/* The next len bytes of b's arena (its slot for a value), or NULL when the
 * arena is full. *off is the caller's cursor. */
unsigned char *bundle_take(struct bundle *b, size_t *off, size_t len);

/* Work that needs no answer, run once a request is sent, while vaultd
 * prepares the answer (httpc's on_sent); undo (may be NULL) runs after a
 * try that did not succeed, before any wait for the next, so that what fn
 * made does not sit there through a long --wait. */
struct fetch_meanwhile {
	void (*fn)(void *ctx);
	void (*undo)(void *ctx);
	void *ctx;
};

/* POST /v1/bundle for names (all from one snapshot), retried with backoff
 * while vaultd is unreachable or sealed until wait_ms has passed (0: one
 * try). meanwhile may be NULL. On failure err holds one line naming the
 * cause and the fix. */
enum fetch_status fetch_bundle(const struct fetch_target *t,
                               const char (*names)[VAULT_MAX_NAME_LEN + 1], size_t n, bool previous,
                               int wait_ms, const struct fetch_meanwhile *meanwhile,
                               struct bundle **ret, char *err, size_t errcap);
void bundle_free(struct bundle *b);
const struct bundle_entry *bundle_find(const struct bundle *b, const char *name);

/* GET /v1/watch?names=...&since=since&timeout=timeout_s, giving up after
 * client_ms. FETCH_OK with *ret_changed true and *ret_revision when a name
 * changed, false on 204 (nothing changed) or a client-side timeout. */
enum fetch_status fetch_watch(const struct fetch_target *t,
                              const char (*names)[VAULT_MAX_NAME_LEN + 1], size_t n, uint64_t since,
                              int timeout_s, int client_ms, bool *ret_changed,
                              uint64_t *ret_revision, char *err, size_t errcap);

/* Reads the token: from path (trailing whitespace removed) or, when path is
 * NULL, from the INJECT_TOKEN value given (NULL: unset). *ret is NULL when
 * there is none. -ENOENT/-EACCES.. reading the file, -EINVAL empty (a file
 * or a variable set to ""), -EFBIG too large,
 * -EILSEQ a blank or control byte inside (no header could carry it). */
#define FETCH_MAX_TOKEN_BYTES 4096
int fetch_load_token(const char *path, const char *env_value, struct secbuf **ret);

#endif
