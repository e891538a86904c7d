/* Routing: method + raw (still percent-encoded) path -> route id and the
 * decoded, validated name in it. Pure code, unit-tested in tests/vaultd_unit. */
#ifndef VAULTD_ROUTER_H
#define VAULTD_ROUTER_H
#include <stdbool.h>
#include <stddef.h>
#include "names.h"

enum route_id {
	R_NONE = 0, /* no route: 404, or a path error */
	R_HEALTH,
	R_METRICS,
	R_SYS_STATUS,
	R_SYS_UNSEAL,
	R_SYS_SEAL,
	R_SYS_BACKUP,
	R_SYS_ROTATE,
	R_SYS_REKEY,
	R_SECRETS_LIST,
	R_SECRET_GET,
	R_SECRET_PUT,
	R_SECRET_DELETE,
	R_SECRET_ROTATE,
	R_SECRET_VERSIONS,
	R_SECRET_ROLLBACK,
	R_SECRET_UNDELETE,
	R_BUNDLE,
	R_WATCH,
	R_TOKENS_LIST,
	R_TOKEN_CREATE,
	R_TOKEN_GET,
	R_TOKEN_REVOKE,
	R_POLICIES_LIST,
	R_POLICY_PUT,
	R_POLICY_GET,
	R_POLICY_DELETE,
	R_AUDIT_READ,
	R_AUDIT_VERIFY,
	R_COUNT
};

#define ROUTE_MAX_SEGMENTS 8
#define ROUTE_MAX_PATH 4096
#define ACCESSOR_MAX_LEN 47 /* AUDIT_ACCESSOR_MAX - 1 */
#define ACCESSOR_ISSUED_LEN 32 /* what vaultd makes: 16 random bytes in hex */

struct route {
	enum route_id id;   /* R_NONE when status != 0 */
	int status;         /* 0 = routed; else 400, 404 or 405 */
	const char *code;   /* error code for status: bad_name, not_found, method_not_allowed */
	char allow[40];     /* for 405: the methods the path takes ("GET, PUT, DELETE") */
	enum route_id near; /* for 405: a route of the same path (metrics label) */
	/* The {name} / {accessor} segment, percent-decoded and validated. */
	char name[VAULT_MAX_NAME_LEN + 1];
	bool has_name;
	bool token_in_path; /* a bad_name that is a token (vd_...), not a name or accessor */
	bool deleting;      /* the method is DELETE: a stored token-shaped name may go */
	bool name_is_token; /* name has a token's shape (DELETE only): audit "(a token)" */
};

/* Routes method + path (the path part of the URL, query removed, as sent:
 * percent-encoded). Always fills *ret; returns ret->status (0 when routed).
 * A {name} segment that does not decode to a valid name (bad escape, %00,
 * "..", 200 bytes, empty) is 400 bad_name; an unknown path 404; a known path
 * with another method 405. */
int router_parse(const char *method, const char *path, struct route *ret);

/* The pattern ("/v1/secrets/{name}") and method of a route, for metrics and
 * logs; "unmatched" and "-" for R_NONE. */
const char *route_pattern(enum route_id id);
const char *route_method(enum route_id id);
/* The audit action ("secret.read"); "request.rejected" for R_NONE. */
const char *route_action(enum route_id id);
/* Whether the route answers without credentials (health, status, metrics). */
bool route_is_public(enum route_id id);

/* Percent-decodes in[0..inlen) into out (outcap bytes, NUL-terminated);
 * '+' stays '+'. *ret_len is the decoded length, which can exceed strlen(out)
 * when %00 appeared (callers validate with the length). -EINVAL on a bad
 * escape, -ENAMETOOLONG when out is too small. */
int url_decode(const char *in, size_t inlen, char *out, size_t outcap, size_t *ret_len);

/* Token accessors: [A-Za-z0-9][A-Za-z0-9_-]{0,46}. */
bool accessor_is_valid(const char *s, size_t len);

#endif
