/* Bad input against a real vaultd, through the lib client and curl: bodies
 * over the limit, broken JSON, wrong types, hostile names, unknown routes and
 * methods, garbage and slow clients. Each gets its status and error code, the
 * daemon stays up, and nothing stored changes (snapshot before and after). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"

static struct vd g;

#define VIA ((enum via)_i)
#define MIB (1024u * 1024u)

static void up(void)
{
	vd_up(&g, "badinput");
	char v[96];
	canary(v, sizeof(v), "bi1");
	if (vd_put(&g, VIA_LIB, NULL, "bi.one", v, NULL) != 1)
		exit(2);
	canary(v, sizeof(v), "bi1b");
	if (vd_put(&g, VIA_LIB, NULL, "bi.one", v, NULL) != 2)
		exit(2);
	canary(v, sizeof(v), "bi2");
	if (vd_put(&g, VIA_LIB, NULL, "bi.two", v, NULL) != 1)
		exit(2);
	struct vresp r;
	vd_call(&g, VIA_LIB, "PUT", "/v1/policies/bi", NULL,
	        "{\"rules\":[{\"names\":\"bi.*\",\"capabilities\":[\"read\"]}]}", &r);
	vresp_clear(&r);
}

static void down(void) { vd_stop(&g); }

/* Everything observable about the store: list (with deleted), each secret's
 * versions and every readable version's value, policies, tokens, revision. */
static char *snapshot(void)
{
	struct vresp r;
	vd_call(&g, VIA_LIB, "GET", "/v1/secrets?deleted=1", NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	char *snap = xfmt("rev=%lld\n%s\n", vd_revision(&g), r.body);
	json_t *ss = jget(r.json, "secrets");
	for (size_t i = 0; i < json_array_size(ss); i++) {
		const char *n = jstr(json_array_get(ss, i), "name");
		char *p = xfmt("/v1/secrets/%s/versions", n);
		struct vresp rv;
		vd_call(&g, VIA_LIB, "GET", p, NULL, NULL, &rv);
		char *t = xfmt("%s%s\n", snap, rv.body);
		free(snap);
		snap = t;
		json_t *vs = jget(rv.json, "versions");
		for (size_t k = 0; k < json_array_size(vs); k++) {
			char *q = xfmt("%s?version=%lld", n, jint(json_array_get(vs, k), "version"));
			int st = 0;
			char *val = vd_get(&g, VIA_LIB, NULL, q, &st, NULL);
			t = xfmt("%s%s=%d:%s\n", snap, q, st, val ? val : "");
			free(snap);
			snap = t;
			free(val);
			free(q);
		}
		vresp_clear(&rv);
		free(p);
	}
	vresp_clear(&r);
	const char *more[] = {"/v1/policies", "/v1/policies/bi", "/v1/tokens"};
	for (size_t i = 0; i < 3; i++) {
		vd_call(&g, VIA_LIB, "GET", more[i], NULL, NULL, &r);
		char *t = xfmt("%s%d %s\n", snap, r.status, r.body);
		free(snap);
		snap = t;
		vresp_clear(&r);
	}
	return snap;
}

static void expect_unchanged(const char *before)
{
	char *after = snapshot();
	ck_assert_msg(strcmp(before, after) == 0, "stored state changed:\nbefore:\n%.1500s\nafter:\n%.1500s",
	              before, after);
	free(after);
	ck_assert_msg(vd_alive(&g), "vaultd is still running");
	struct vresp r;
	vd_call(&g, VIA_LIB, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
}

struct bad {
	const char *m, *p, *b;
	int status, alt;     /* alt: a second acceptable status, 0 none */
	const char *codes;   /* acceptable error codes, '|'-separated */
};

static bool code_in(const char *code, const char *codes)
{
	size_t l = code ? strlen(code) : 0;
	for (const char *p = codes; code && *p;) {
		const char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == l && strncmp(p, code, n) == 0)
			return true;
		p = e ? e + 1 : p + n;
	}
	return false;
}

static void expect_bad(enum via via, const struct bad *b, size_t body_len)
{
	struct vreq q = {.method = b->m, .path = b->p, .body = b->b, .body_len = body_len};
	struct vresp r;
	vd_do(&g, via, &q, &r);
	ck_assert_msg(r.status == b->status || (b->alt && r.status == b->alt),
	              "%s: expected HTTP %d%s, got %d (err %d) body=%.300s", r.what, b->status,
	              b->alt ? " or the alternative" : "", r.status, r.err, r.body);
	const char *code = jstr(r.json, "error/code");
	ck_assert_msg(code_in(code, b->codes), "%s: expected error code %s, got %s (body %.300s)",
	              r.what, b->codes, code ? code : "(none)", r.body);
	ck_assert_msg(jstr(r.json, "error/message") != NULL, "%s: error.message", r.what);
	ck_assert_msg(!strstr(r.body, VD_CANARY) && !jget(r.json, "value"), "%s: no value", r.what);
	vresp_clear(&r);
}

static void expect_all_bad(enum via via, const struct bad *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_bad(via, &b[i], 0);
}

#define TYPES "bad_request|bad_value|bad_json"

START_TEST(test_bodies_over_the_limit_are_413)
{
	char *before = snapshot();
	/* A well-formed JSON body one byte over 1 MiB. */
	size_t n = MIB + 1;
	char *big = malloc(n + 1);
	memset(big, 'A', n);
	memcpy(big, "{\"value\":\"", 10);
	memcpy(big + n - 2, "\"}", 2);
	big[n] = 0;
	struct bad b = {"PUT", "/v1/secrets/bi.one", big, 413, 0, "too_large"};
	expect_bad(VIA, &b, n);
	struct bad b2 = {"POST", "/v1/bundle", big, 413, 0, "too_large"};
	expect_bad(VIA, &b2, n);
	struct bad b3 = {"POST", "/v1/secrets/bi.one/rotate", big, 413, 0, "too_large"};
	expect_bad(VIA, &b3, n);
	/* Under 1 MiB of body but a value over 512 KiB decoded. */
	size_t vlen = 512 * 1024 + 3;
	char *raw = malloc(vlen);
	memset(raw, 'v', vlen);
	char *enc = b64(raw, vlen);
	char *body = xfmt("{\"value\":\"%s\"}", enc);
	ck_assert_msg(strlen(body) < MIB, "test body under 1 MiB");
	struct bad b4 = {"PUT", "/v1/secrets/bi.one", body, 413, 0, "too_large"};
	expect_bad(VIA, &b4, 0);
	expect_unchanged(before);
	free(before);
	/* Exactly 512 KiB is allowed (the limit is inclusive): on a new name. */
	free(enc);
	free(body);
	enc = b64(raw, 512 * 1024);
	body = xfmt("{\"value\":\"%s\"}", enc);
	char *path = xfmt("/v1/secrets/bi.max-%s", via_name(VIA));
	struct vresp r;
	vd_call(&g, VIA, "PUT", path, NULL, body, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	char *del = xfmt("%s?destroy=1", path);
	vd_call(&g, VIA, "DELETE", del, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	free(del);
	free(path);
	free(enc);
	free(body);
	free(raw);
	free(big);
}
END_TEST

START_TEST(test_broken_json_is_400_bad_json)
{
	char *before = snapshot();
	static const struct bad b[] = {
		{"PUT", "/v1/secrets/bi.one", "{\"value\":", 400, 0, "bad_json"},
		{"PUT", "/v1/secrets/bi.one", "not json at all", 400, 0, "bad_json"},
		{"PUT", "/v1/secrets/bi.one", "{\"value\":\"eA==\",\"value\":\"eQ==\"}", 400, 0, "bad_json"},
		{"PUT", "/v1/secrets/bi.one", "{\"value\":\"eA==\"} trailing", 400, 0, "bad_json"},
		{"PUT", "/v1/secrets/bi.one", "[\"eA==\"]", 400, 0, "bad_json|bad_request"},
		{"PUT", "/v1/secrets/bi.one", "\"eA==\"", 400, 0, "bad_json|bad_request"},
		{"PUT", "/v1/secrets/bi.one", "{\"value\":\"eA==\x01\"}", 400, 0, "bad_json|bad_value"},
		{"POST", "/v1/bundle", "{\"names\":[\"bi.one\"", 400, 0, "bad_json"},
		{"POST", "/v1/tokens", "{\"policies\":[\"bi\"],}", 400, 0, "bad_json"},
		{"PUT", "/v1/policies/bi", "{\"rules\":[{]}", 400, 0, "bad_json"},
		{"POST", "/v1/secrets/bi.one/rotate", "{{", 400, 0, "bad_json"},
		{"POST", "/v1/secrets/bi.one/rollback", "{\"version\":1", 400, 0, "bad_json"},
	};
	expect_all_bad(VIA, b, sizeof(b) / sizeof(b[0]));
	/* A PUT with no body at all. */
	struct bad empty = {"PUT", "/v1/secrets/bi.one", NULL, 400, 0, TYPES};
	expect_bad(VIA, &empty, 0);
	expect_unchanged(before);
	free(before);
}
END_TEST

/* Endpoints that take no input refuse a body other than {} instead of
 * ignoring it (a garbage body once sealed the store): checked before the
 * handler runs, so nothing is sealed, deleted or revoked. */
START_TEST(test_bodies_on_endpoints_that_take_none_are_400)
{
	char v[96];
	canary(v, sizeof(v), "bi3");
	ck_assert_int_gt(vd_put(&g, VIA, NULL, "bi.three", v, NULL), 0);
	struct vresp r;
	/* {} is "no fields", as JSON clients send for an empty input. */
	vd_call(&g, VIA, "DELETE", "/v1/secrets/bi.three?destroy=1", NULL, "{}", &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	char *before = snapshot();
	static const char *none[][2] = {
	    {"POST", "/v1/sys/seal"},         {"POST", "/v1/sys/rotate"},
	    {"DELETE", "/v1/secrets/bi.one"}, {"POST", "/v1/secrets/bi.one/undelete"},
	    {"DELETE", "/v1/policies/bi"},    {"DELETE", "/v1/tokens/no-such-accessor"},
	    {"GET", "/v1/secrets/bi.one"},    {"GET", "/v1/health"},
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		struct bad garbage = {none[i][0], none[i][1], "garbage", 400, 0, "bad_json"};
		expect_bad(VIA, &garbage, strlen(garbage.b));
		const char *field = "{\"bogus\":1}";
		struct bad fields = {none[i][0], none[i][1], field, 400, 0, "bad_request"};
		expect_bad(VIA, &fields, strlen(fields.b));
	}
	expect_unchanged(before); /* also: still unsealed */
	free(before);
}
END_TEST

/* Bytes of path, and of path + suffix, hold needle? */
static bool file_has(const char *path, const char *suffix, const char *needle)
{
	char p[VD_PATH_MAX + 8];
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	size_t n = 0;
	char *b = slurp(p, &n);
	bool has = b && memmem(b, n, needle, strlen(needle));
	free(b);
	return has;
}

/* Revoking "by token", or a token pasted where a secret or policy name
 * belongs: refused, and the token is kept nowhere (store, WAL, the
 * --audit-log copy, vaultd's log) nor echoed; it still works afterwards. */
START_TEST(test_a_token_in_a_url_is_refused_and_recorded_nowhere)
{
	struct vresp r;
	vd_call(&g, VIA_LIB, "POST", "/v1/tokens", NULL, "{\"policies\":[\"bi\"]}", &r);
	EXPECT_STATUS(&r, 201);
	char *token = strdup(jstr(r.json, "token"));
	vresp_clear(&r);
	char *paths[] = {xfmt("/v1/tokens/%s", token), xfmt("/v1/tokens/%s", token),
	                 xfmt("/v1/secrets/%s", token), xfmt("/v1/secrets/%s/versions", token),
	                 xfmt("/v1/policies/%s", token)};
	static const char *methods[] = {"DELETE", "GET", "GET", "GET", "PUT"};
	for (size_t i = 0; i < 5; i++) {
		vd_call(&g, VIA, methods[i], paths[i], NULL, i == 4 ? "{\"rules\":[]}" : NULL, &r);
		EXPECT_ERROR(&r, 400, "bad_name");
		ck_assert_msg(strstr(jstr(r.json, "error/message"), "a token never goes into a URL"),
		              "%s: %s", r.what, r.body);
		vresp_clear(&r);
		free(paths[i]);
	}
	char *body = xfmt("{\"names\":[\"bi.one\",\"%s\"]}", token);
	vd_call(&g, VIA, "POST", "/v1/bundle", NULL, body, &r);
	EXPECT_ERROR(&r, 400, "bad_name");
	ck_assert_msg(!strstr(r.body, token + 3), "%s: the answer echoes the token", r.what);
	vresp_clear(&r);
	free(body);
	/* Nor into a policy's glob, nor a list's prefix. */
	body = xfmt("{\"rules\":[{\"names\":\"%s\",\"capabilities\":[\"read\"]}]}", token);
	vd_call(&g, VIA, "PUT", "/v1/policies/bi-tok", NULL, body, &r);
	EXPECT_STATUS(&r, 400);
	ck_assert_msg(strstr(r.body, "is a token") && !strstr(r.body, token + 3), "%s: %s", r.what,
	              r.body);
	vresp_clear(&r);
	free(body);
	vd_call(&g, VIA, "GET", "/v1/policies/bi-tok", NULL, NULL, &r);
	EXPECT_STATUS(&r, 404);
	vresp_clear(&r);
	char *list = xfmt("/v1/secrets?prefix=%s", token);
	vd_call(&g, VIA, "GET", list, NULL, NULL, &r);
	EXPECT_ERROR(&r, 400, "bad_request");
	ck_assert_msg(!strstr(r.body, token + 3), "%s: the answer echoes the token", r.what);
	vresp_clear(&r);
	free(list);
	struct vreq q = {.method = "GET", .path = "/v1/secrets/bi.one", .token = token};
	vd_do(&g, VIA, &q, &r);
	EXPECT_STATUS(&r, 200); /* not revoked */
	vresp_clear(&r);
	const char *files[][2] = {{g.store, ""}, {g.store, "-wal"}, {g.audit_log, ""}, {g.log, ""}};
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(!file_has(files[i][0], files[i][1], token + 3),
		              "the token is in %s%s", files[i][0], files[i][1]);
	sodium_memzero(token, strlen(token));
	free(token);
}
END_TEST

START_TEST(test_wrong_types_are_400)
{
	char *before = snapshot();
	static const struct bad b[] = {
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":123}", 400, 0, TYPES},
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":null}", 400, 0, TYPES},
	    {"PUT", "/v1/secrets/bi.one", "{}", 400, 0, TYPES},
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":\"!!not base64!!\"}", 400, 0, "bad_value"},
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":\"eA=\"}", 400, 0, "bad_value"},
	    /* 4 bytes of UTF-8 that libsodium alone would decode as "aG//" */
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":\"aG\\u00e9\"}", 400, 0, "bad_value"},
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":\"eA==\",\"cas\":\"2\"}", 400, 0, TYPES},
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":\"eA==\",\"cas\":-5}", 400, 0, TYPES},
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":\"eA==\",\"metadata\":\"x\"}", 400, 0, TYPES},
	    {"PUT", "/v1/secrets/bi.one",
	     "{\"value\":\"eA==\",\"metadata\":{\"max_versions\":\"3\"}}", 400, 0, TYPES},
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":\"eA==\",\"metadata\":{\"max_versions\":0}}",
	     400, 0, TYPES},
	    {"PUT", "/v1/secrets/bi.one",
	     "{\"value\":\"eA==\",\"metadata\":{\"max_versions\":1000000}}", 400, 0, TYPES},
	    {"PUT", "/v1/secrets/bi.one", "{\"value\":\"eA==\",\"metadata\":{\"labels\":[1]}}", 400,
	     0, TYPES},
	    {"POST", "/v1/secrets/bi.one/rotate",
	     "{\"generate\":{\"length\":\"32\",\"charset\":\"hex\"}}", 400, 0, TYPES},
	    {"POST", "/v1/secrets/bi.one/rotate",
	     "{\"generate\":{\"length\":0,\"charset\":\"hex\"}}", 400, 0, TYPES},
	    {"POST", "/v1/secrets/bi.one/rotate",
	     "{\"generate\":{\"length\":-1,\"charset\":\"hex\"}}", 400, 0, TYPES},
	    {"POST", "/v1/secrets/bi.one/rotate",
	     "{\"generate\":{\"length\":100000000,\"charset\":\"hex\"}}", 400, 413,
	     TYPES "|too_large"},
	    {"POST", "/v1/secrets/bi.one/rotate",
	     "{\"generate\":{\"length\":16,\"charset\":\"klingon\"}}", 400, 0, TYPES},
	    {"POST", "/v1/secrets/bi.one/rotate", "{}", 400, 0, TYPES},
	    {"POST", "/v1/secrets/bi.one/rollback", "{\"version\":\"1\"}", 400, 0, TYPES},
	    {"POST", "/v1/secrets/bi.one/rollback", "{\"version\":-1}", 400, 0, TYPES},
	    {"POST", "/v1/secrets/bi.one/rollback", "{}", 400, 0, TYPES},
	    {"POST", "/v1/bundle", "{\"names\":\"bi.one\"}", 400, 0, TYPES},
	    {"POST", "/v1/bundle", "{\"names\":[1]}", 400, 0, TYPES},
	    {"POST", "/v1/bundle", "{\"names\":[\"bi.one\"],\"previous\":\"yes\"}", 400, 0, TYPES},
	    {"POST", "/v1/tokens", "{\"policies\":\"bi\"}", 400, 0, TYPES},
	    {"POST", "/v1/tokens", "{\"policies\":[\"bi\"],\"ttl\":\"60\"}", 400, 0, TYPES},
	    {"POST", "/v1/tokens", "{\"policies\":[\"bi\"],\"ttl\":-60}", 400, 0, TYPES},
	    {"POST", "/v1/tokens", "{\"policies\":[\"bi\"],\"uses\":\"x\"}", 400, 0, TYPES},
	    {"PUT", "/v1/policies/bi", "{\"rules\":\"all\"}", 400, 0, TYPES},
	    {"PUT", "/v1/policies/bi",
	     "{\"rules\":[{\"names\":\"bi.*\",\"capabilities\":[\"fly\"]}]}", 400, 0, TYPES},
	    {"PUT", "/v1/policies/bi", "{\"rules\":[{\"names\":\"bi.*\",\"capabilities\":[]}]}",
	     400, 0, TYPES},
	    {"PUT", "/v1/policies/bi", "{\"rules\":[{\"names\":5,\"capabilities\":[\"read\"]}]}",
	     400, 0, TYPES},
	};
	expect_all_bad(VIA, b, sizeof(b) / sizeof(b[0]));
	static const struct bad q[] = {
		{"GET", "/v1/secrets/bi.one?version=abc", NULL, 400, 0, TYPES},
		{"GET", "/v1/secrets/bi.one?version=-1", NULL, 400, 0, TYPES},
		{"GET", "/v1/secrets/bi.one?version=99999999999999999999999", NULL, 400, 0, TYPES},
		{"GET", "/v1/secrets/bi.one?stage=bogus", NULL, 400, 0, TYPES},
		{"GET", "/v1/watch?names=bi.one&since=abc", NULL, 400, 0, TYPES},
		{"GET", "/v1/watch?names=bi.one&since=0&timeout=abc", NULL, 400, 0, TYPES},
		{"GET", "/v1/audit?since=abc", NULL, 400, 0, TYPES},
		{"DELETE", "/v1/secrets/bi.one?destroy=1&version=abc", NULL, 400, 0, TYPES},
	};
	expect_all_bad(VIA, q, sizeof(q) / sizeof(q[0]));
	expect_unchanged(before);
	free(before);
}
END_TEST

START_TEST(test_hostile_names_are_400_bad_name)
{
	char *before = snapshot();
	char n129[140], n200[210], p[400];
	memset(n129, 'a', 129);
	n129[129] = 0;
	memset(n200, 'b', 200);
	n200[200] = 0;
	const char *names[] = {"..%2Fx", "a%2Fb", "%2E%2E", "a..b", "..", "%00", "a%00b", "bi.one%00",
	                       ".hidden", "-dash", "a%20b", "a%0Ab", "%C3%A9t%C3%A9", n129, n200};
	const char *methods[] = {"GET", "PUT", "DELETE"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t m = 0; m < 3; m++) {
			snprintf(p, sizeof(p), "/v1/secrets/%s", names[i]);
			struct bad b = {methods[m], p, m == 1 ? "{\"value\":\"eA==\"}" : NULL, 400, 0, "bad_name"};
			expect_bad(VIA, &b, 0);
		}
		snprintf(p, sizeof(p), "/v1/secrets/%s/versions", names[i]);
		struct bad bv = {"GET", p, NULL, 400, 0, "bad_name"};
		expect_bad(VIA, &bv, 0);
		snprintf(p, sizeof(p), "/v1/secrets/%s/rotate", names[i]);
		struct bad br = {"POST", p, "{\"value\":\"eA==\"}", 400, 0, "bad_name"};
		expect_bad(VIA, &br, 0);
	}
	/* Not one path segment: either a bad name or no such route. */
	static const struct bad raw[] = {
		{"GET", "/v1/secrets/../x", NULL, 400, 404, "bad_name|not_found"},
		{"PUT", "/v1/secrets/../x", "{\"value\":\"eA==\"}", 400, 404, "bad_name|not_found|method_not_allowed"},
		{"GET", "/v1/secrets/a/b", NULL, 404, 400, "not_found|bad_name"},
		{"PUT", "/v1/secrets/a/b", "{\"value\":\"eA==\"}", 404, 400, "not_found|bad_name|method_not_allowed"},
		{"PUT", "/v1/secrets/", "{\"value\":\"eA==\"}", 400, 404, "bad_name|not_found|method_not_allowed"},
		{"GET", "/v1/secrets//versions", NULL, 400, 404, "bad_name|not_found"},
	};
	expect_all_bad(VIA, raw, sizeof(raw) / sizeof(raw[0]));
	/* Names inside bodies and queries go through the same validator. */
	static const struct bad inbody[] = {
		{"POST", "/v1/bundle", "{\"names\":[\"../x\"]}", 400, 0, "bad_name"},
		{"POST", "/v1/bundle", "{\"names\":[\"bi.one\",\"a/b\"]}", 400, 0, "bad_name"},
		{"POST", "/v1/bundle", "{\"names\":[\"\"]}", 400, 0, "bad_name"},
		{"POST", "/v1/bundle", "{\"names\":[\"a\\u0000b\"]}", 400, 0, "bad_name|bad_json"},
		{"GET", "/v1/watch?names=..%2Fx", NULL, 400, 0, "bad_name"},
		{"GET", "/v1/watch?names=bi.one,a%00b", NULL, 400, 0, "bad_name"},
		{"PUT", "/v1/policies/..%2Fx", "{\"rules\":[{\"names\":\"*\",\"capabilities\":[\"read\"]}]}", 400, 0, "bad_name|bad_request"},
	};
	expect_all_bad(VIA, inbody, sizeof(inbody) / sizeof(inbody[0]));
	expect_unchanged(before);
	free(before);
}
END_TEST

START_TEST(test_name_of_128_chars_is_the_longest_allowed)
{
	char n128[140], p[200];
	memset(n128, 'c', 128);
	n128[0] = (char)('0' + _i);
	n128[128] = 0;
	char v[96];
	canary(v, sizeof(v), "n128");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, n128, v, NULL), 1);
	char *got = vd_get(&g, VIA, NULL, n128, NULL, NULL);
	ck_assert_msg(got && strcmp(got, v) == 0, "128-char name reads back");
	free(got);
	snprintf(p, sizeof(p), "/v1/secrets/%s?destroy=1", n128);
	struct vresp r;
	vd_call(&g, VIA, "DELETE", p, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
}
END_TEST

START_TEST(test_unknown_routes_404_and_wrong_methods_405)
{
	char *before = snapshot();
	static const struct bad b[] = {
		{"GET", "/v1/nope", NULL, 404, 0, "not_found"},
		{"GET", "/nope", NULL, 404, 0, "not_found"},
		{"GET", "/", NULL, 404, 0, "not_found"},
		{"GET", "/v2/secrets", NULL, 404, 0, "not_found"},
		{"GET", "/v1/secrets/bi.one/frobnicate", NULL, 404, 0, "not_found"},
		{"GET", "/v1/sys/nope", NULL, 404, 0, "not_found"},
		{"PATCH", "/v1/secrets/bi.one", "{\"value\":\"eA==\"}", 405, 0, "method_not_allowed"},
		{"POST", "/v1/secrets/bi.one", "{\"value\":\"eA==\"}", 405, 0, "method_not_allowed"},
		{"DELETE", "/v1/health", NULL, 405, 0, "method_not_allowed"},
		{"POST", "/v1/secrets", "{}", 405, 0, "method_not_allowed"},
		{"DELETE", "/v1/secrets", NULL, 405, 0, "method_not_allowed"},
		{"PUT", "/v1/bundle", "{\"names\":[]}", 405, 0, "method_not_allowed"},
		{"GET", "/v1/bundle", NULL, 405, 0, "method_not_allowed"},
		{"GET", "/v1/sys/unseal", NULL, 405, 0, "method_not_allowed"},
		{"GET", "/v1/sys/seal", NULL, 405, 0, "method_not_allowed"},
		{"POST", "/v1/sys/backup", NULL, 405, 0, "method_not_allowed"},
		{"DELETE", "/metrics", NULL, 405, 0, "method_not_allowed"},
		{"POST", "/v1/secrets/bi.one/versions", "{}", 405, 0, "method_not_allowed"},
		{"GET", "/v1/secrets/bi.one/rotate", NULL, 405, 0, "method_not_allowed"},
		{"GET", "/v1/secrets/bi.one/rollback", NULL, 405, 0, "method_not_allowed"},
		{"PUT", "/v1/secrets/bi.one/undelete", "{}", 405, 0, "method_not_allowed"},
		{"PUT", "/v1/tokens", "{}", 405, 0, "method_not_allowed"},
		{"POST", "/v1/policies/bi", "{}", 405, 0, "method_not_allowed"},
		{"POST", "/v1/audit", "{}", 405, 0, "method_not_allowed"},
		{"DELETE", "/v1/watch?names=bi.one", NULL, 405, 0, "method_not_allowed"},
		{"GET", "/v1/secrets/bi.none", NULL, 404, 0, "not_found"},
		{"GET", "/v1/policies/none", NULL, 404, 0, "not_found"},
	};
	expect_all_bad(VIA, b, sizeof(b) / sizeof(b[0]));
	expect_unchanged(before);
	free(before);
}
END_TEST

/* Raw garbage on the socket and clients that never finish: others are served. */
START_TEST(test_garbage_and_slow_clients_do_not_block_others)
{
	char *before = snapshot();
	static const char *garbage[] = {
		"GARBAGE\r\n\r\n",
		"GET /v1/health HTTP/9.9\r\n\r\n",
		"PUT /v1/secrets/bi.one HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
		"PUT /v1/secrets/bi.one HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"PUT /v1/secrets/bi.one HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		int fd = vd_connect(&g);
		ck_assert_msg(fd >= 0, "connect");
		ck_assert_int_eq(write_all(fd, garbage[i], strlen(garbage[i])), 0);
		int st = raw_read_status(fd, 3000);
		/* An error status, or the daemon hangs up: both fine, it must not crash. */
		ck_assert_msg(st < 0 || st >= 400, "garbage %zu: status %d", i, st);
		close(fd);
	}
	/* 30 slow clients: half a request line each, then silence. */
	int slow[30];
	for (int i = 0; i < 30; i++) {
		slow[i] = vd_connect(&g);
		ck_assert_msg(slow[i] >= 0, "connect slow client %d", i);
		const char *half = i % 2 ? "GET /v1/secrets/bi.one HTTP/1.1\r\nHost: x\r\n" : "PUT /v1/secr";
		ck_assert_int_eq(write_all(slow[i], half, strlen(half)), 0);
	}
	for (int k = 0; k < 5; k++) {
		struct vresp r;
		vd_call(&g, VIA, "GET", "/v1/secrets/bi.one", NULL, NULL, &r);
		EXPECT_STATUS(&r, 200);
		ck_assert_msg(r.ms < 1000, "%s took %.0f ms with slow clients connected", r.what, r.ms);
		vresp_clear(&r);
	}
	for (int i = 0; i < 30; i++)
		close(slow[i]);
	expect_unchanged(before);
	free(before);
}
END_TEST

/* libmicrohttpd keeps a request's headers in the connection's memory pool
 * (VAULTD_CONN_MEMORY, 16 KiB): headers of 8 KiB are served; over 12 KiB
 * vaultd answers 431 itself while the pool still has room for an answer
 * (a 14 KiB one is below libmicrohttpd's own limit), and far bigger ones
 * get libmicrohttpd's 431; the daemon goes on serving. */
static int status_with_header(size_t pad, const char *body)
{
	char *p = malloc(pad + 1);
	memset(p, 'p', pad);
	p[pad] = 0;
	char *req = body ? xfmt("PUT /v1/secrets/bi.one HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n"
	                        "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	                        p, strlen(body), body)
	                 : xfmt("GET /v1/secrets/bi.one HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n"
	                        "Connection: close\r\n\r\n",
	                        p);
	int fd = vd_connect(&g);
	ck_assert_msg(fd >= 0, "connect");
	ck_assert_int_eq(write_all(fd, req, strlen(req)), 0);
	int st = raw_read_status(fd, 3000);
	close(fd);
	free(req);
	free(p);
	return st;
}

START_TEST(test_headers_of_8_kib_are_served_and_bigger_ones_get_431)
{
	ck_assert_int_eq(status_with_header(8 * 1024, NULL), 200);
	ck_assert_int_eq(status_with_header(14 * 1024, NULL), 431);
	ck_assert_int_eq(status_with_header(64 * 1024, NULL), 431);
	/* With a body sent along: read (and wiped), then the same 431. */
	ck_assert_int_eq(status_with_header(14 * 1024, "{\"value\":\"eA==\"}"), 431);
	struct vresp r;
	vd_call(&g, VIA, "GET", "/v1/secrets/bi.one", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd bad input");
	TCase *tc = tcase_create("bad input");
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 90);
	const TTest *tests[] = {
	    test_bodies_over_the_limit_are_413,
	    test_broken_json_is_400_bad_json,
	    test_bodies_on_endpoints_that_take_none_are_400,
	    test_a_token_in_a_url_is_refused_and_recorded_nowhere,
	    test_wrong_types_are_400,
	    test_hostile_names_are_400_bad_name,
	    test_name_of_128_chars_is_the_longest_allowed,
	    test_unknown_routes_404_and_wrong_methods_405,
	    test_garbage_and_slow_clients_do_not_block_others,
	    test_headers_of_8_kib_are_served_and_bigger_ones_get_431,
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_loop_test(tc, tests[i], VIA_LIB, VIA_CURL + 1);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
