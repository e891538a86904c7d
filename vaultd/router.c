/* The route table and its matcher: split the raw path into segments, match
 * literal segments as sent, decode and validate the one {name} segment. */
#include "router.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

enum param { P_NONE, P_NAME, P_ACCESSOR };

struct route_def {
	enum route_id id;
	const char *method;
	const char *pattern;
	const char *action;
	enum param param;
};

/* Order matters only for the Allow list of a 405. */
static const struct route_def routes[] = {
    {R_HEALTH, "GET", "/v1/health", "sys.health", P_NONE},
    {R_METRICS, "GET", "/metrics", "sys.metrics", P_NONE},
    {R_SYS_STATUS, "GET", "/v1/sys/status", "sys.status", P_NONE},
    {R_SYS_UNSEAL, "POST", "/v1/sys/unseal", "sys.unseal", P_NONE},
    {R_SYS_SEAL, "POST", "/v1/sys/seal", "sys.seal", P_NONE},
    {R_SYS_BACKUP, "GET", "/v1/sys/backup", "sys.backup", P_NONE},
    {R_SYS_ROTATE, "POST", "/v1/sys/rotate", "sys.rotate", P_NONE},
    {R_SYS_REKEY, "POST", "/v1/sys/rekey", "sys.rekey", P_NONE},
    {R_SECRETS_LIST, "GET", "/v1/secrets", "secret.list", P_NONE},
    {R_SECRET_GET, "GET", "/v1/secrets/{name}", "secret.read", P_NAME},
    {R_SECRET_PUT, "PUT", "/v1/secrets/{name}", "secret.write", P_NAME},
    {R_SECRET_DELETE, "DELETE", "/v1/secrets/{name}", "secret.delete", P_NAME},
    {R_SECRET_ROTATE, "POST", "/v1/secrets/{name}/rotate", "secret.rotate", P_NAME},
    {R_SECRET_VERSIONS, "GET", "/v1/secrets/{name}/versions", "secret.versions", P_NAME},
    {R_SECRET_ROLLBACK, "POST", "/v1/secrets/{name}/rollback", "secret.rollback", P_NAME},
    {R_SECRET_UNDELETE, "POST", "/v1/secrets/{name}/undelete", "secret.undelete", P_NAME},
    {R_BUNDLE, "POST", "/v1/bundle", "bundle.read", P_NONE},
    {R_WATCH, "GET", "/v1/watch", "watch", P_NONE},
    {R_TOKENS_LIST, "GET", "/v1/tokens", "token.list", P_NONE},
    {R_TOKEN_CREATE, "POST", "/v1/tokens", "token.create", P_NONE},
    {R_TOKEN_GET, "GET", "/v1/tokens/{accessor}", "token.read", P_ACCESSOR},
    {R_TOKEN_REVOKE, "DELETE", "/v1/tokens/{accessor}", "token.revoke", P_ACCESSOR},
    {R_POLICIES_LIST, "GET", "/v1/policies", "policy.list", P_NONE},
    {R_POLICY_PUT, "PUT", "/v1/policies/{name}", "policy.write", P_NAME},
    {R_POLICY_GET, "GET", "/v1/policies/{name}", "policy.read", P_NAME},
    {R_POLICY_DELETE, "DELETE", "/v1/policies/{name}", "policy.delete", P_NAME},
    {R_AUDIT_READ, "GET", "/v1/audit", "audit.read", P_NONE},
    {R_AUDIT_VERIFY, "GET", "/v1/audit/verify", "audit.verify", P_NONE},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static const struct route_def *def_of(enum route_id id)
{
	for (size_t i = 0; i < N_ROUTES; i++)
		if (routes[i].id == id)
			return &routes[i];
	return NULL;
}

const char *route_pattern(enum route_id id)
{
	const struct route_def *d = def_of(id);
	return d ? d->pattern : "unmatched";
}

const char *route_method(enum route_id id)
{
	const struct route_def *d = def_of(id);
	return d ? d->method : "-";
}

const char *route_action(enum route_id id)
{
	const struct route_def *d = def_of(id);
	return d ? d->action : "request.rejected";
}

bool route_is_public(enum route_id id)
{
	return id == R_HEALTH || id == R_METRICS || id == R_SYS_STATUS;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int url_decode(const char *in, size_t inlen, char *out, size_t outcap, size_t *ret_len)
{
	size_t o = 0;
	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];
		if (c == '%') {
			if (i + 2 >= inlen)
				return -EINVAL;
			int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= outcap)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	if (outcap == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	*ret_len = o;
	return 0;
}

bool accessor_is_valid(const char *s, size_t len)
{
	if (len == 0 || len > ACCESSOR_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '-')))
			return false;
	}
	return true;
}

struct seg {
	const char *p;
	size_t len;
};

/* Splits "/a/b/c" into segments; "" after a trailing slash counts as one.
 * Returns the count, or -1 for a path that is not absolute or too deep. */
static int split(const char *path, struct seg *segs)
{
	if (path[0] != '/')
		return -1;
	int n = 0;
	const char *p = path + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (n == ROUTE_MAX_SEGMENTS)
			return -1;
		segs[n++] = (struct seg){p, len};
		if (!slash)
			return n;
		p = slash + 1;
	}
}

/* Does the pattern's shape match the segments? Literal segments compare as
 * sent; a {...} segment matches any one segment (validated later). */
static bool shape_matches(const char *pattern, const struct seg *segs, int n, int *ret_param_idx)
{
	struct seg ps[ROUTE_MAX_SEGMENTS];
	int pn = split(pattern, ps);
	if (pn != n)
		return false;
	*ret_param_idx = -1;
	for (int i = 0; i < n; i++) {
		if (ps[i].p[0] == '{') {
			*ret_param_idx = i;
			continue;
		}
		if (ps[i].len != segs[i].len || memcmp(ps[i].p, segs[i].p, segs[i].len) != 0)
			return false;
	}
	return true;
}

/* Appends a method to the Allow list of a 405 (each method once). */
static void add_allow(struct route *r, const char *method)
{
	if (strstr(r->allow, method))
		return;
	size_t len = strlen(r->allow), sep = len ? 2 : 0, m = strlen(method);
	if (len + sep + m >= sizeof(r->allow))
		return;
	memcpy(r->allow + len, ", ", sep);
	memcpy(r->allow + len + sep, method, m + 1);
}

static int set_error(struct route *r, int status, const char *code)
{
	r->id = R_NONE;
	r->status = status;
	r->code = code;
	return status;
}

/* Decodes and validates the parameter segment into r->name. */
static int take_param(struct route *r, const struct seg *s, enum param kind)
{
	char buf[VAULT_MAX_NAME_LEN + 1];
	size_t len = 0;
	if (url_decode(s->p, s->len, buf, sizeof(buf), &len) < 0) {
		sodium_memzero(buf, sizeof(buf));
		return set_error(r, 400, "bad_name");
	}
	bool ok = kind == P_ACCESSOR ? accessor_is_valid(buf, len) : name_is_valid(buf, len);
	/* A token where a name belongs is refused and never copied, so no log
	 * or audit entry keeps it; but a DELETE may remove one that a vaultd
	 * before this check stored (its entries then say "(a token)"). */
	if (ok && kind != P_ACCESSOR && name_is_token(buf, len)) {
		if (r->deleting) {
			r->name_is_token = true;
		} else {
			r->token_in_path = true;
			ok = false;
		}
	}
	/* A token where its accessor belongs (revoking "by token", with or
	 * without its vd_ prefix, in any case): refused, and never copied into
	 * the route, so no log or audit entry keeps it. Accessors vaultd makes
	 * are 32 characters; a token's body is 43. */
	if (ok && kind == P_ACCESSOR &&
	    (len > ACCESSOR_ISSUED_LEN || (len >= 3 && strncasecmp(buf, "vd_", 3) == 0))) {
		r->token_in_path = true;
		ok = false;
	}
	if (!ok) {
		sodium_memzero(buf, sizeof(buf));
		return set_error(r, 400, "bad_name");
	}
	memcpy(r->name, buf, len + 1);
	r->has_name = true;
	return 0;
}

/* Under /v1/secrets/, /v1/tokens/ and /v1/policies/ the third segment is a
 * name even when the rest of the path is unknown: a hostile name ("..")
 * is reported as bad_name rather than as an unknown route. */
static int check_collection_name(struct route *r, const struct seg *segs, int n)
{
	if (n < 3 || segs[0].len != 2 || memcmp(segs[0].p, "v1", 2) != 0)
		return 0;
	enum param kind = P_NONE;
	if (segs[1].len == 7 && memcmp(segs[1].p, "secrets", 7) == 0)
		kind = P_NAME;
	else if (segs[1].len == 8 && memcmp(segs[1].p, "policies", 8) == 0)
		kind = P_NAME;
	else if (segs[1].len == 6 && memcmp(segs[1].p, "tokens", 6) == 0)
		kind = P_ACCESSOR;
	if (kind == P_NONE)
		return 0;
	return take_param(r, &segs[2], kind);
}

/* A path too long to route whose name segment is longer than any name,
 * even percent-encoded: the same bad_name as a shorter one gets. */
static bool overlong_name(const char *path)
{
	static const char *const prefixes[] = {"/v1/secrets/", "/v1/policies/", "/v1/tokens/"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(path, prefixes[i], n) == 0)
			return strcspn(path + n, "/") > 3 * VAULT_MAX_NAME_LEN;
	}
	return false;
}

int router_parse(const char *method, const char *path, struct route *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->deleting = method && strcmp(method, "DELETE") == 0;
	struct seg segs[ROUTE_MAX_SEGMENTS];
	bool too_long = path && strlen(path) > ROUTE_MAX_PATH;
	if (too_long && overlong_name(path))
		return set_error(ret, 400, "bad_name");
	int n = (path && !too_long) ? split(path, segs) : -1;
	if (n < 0)
		return set_error(ret, 404, "not_found");

	const struct route_def *hit = NULL, *same_path = NULL;
	int param_idx = -1;
	for (size_t i = 0; i < N_ROUTES; i++) {
		int pi;
		if (!shape_matches(routes[i].pattern, segs, n, &pi))
			continue;
		if (!same_path)
			same_path = &routes[i];
		add_allow(ret, routes[i].method);
		if (method && strcmp(method, routes[i].method) == 0) {
			hit = &routes[i];
			param_idx = pi;
			break;
		}
	}
	if (!hit) {
		if (same_path) {
			set_error(ret, 405, "method_not_allowed");
			ret->near = same_path->id;
			return 405;
		}
		if (check_collection_name(ret, segs, n) != 0)
			return ret->status;
		memset(ret, 0, sizeof(*ret));
		return set_error(ret, 404, "not_found");
	}
	if (hit->param != P_NONE && take_param(ret, &segs[param_idx], hit->param) != 0) {
		ret->near = hit->id;
		return ret->status;
	}
	ret->id = hit->id;
	ret->status = 0;
	return 0;
}
