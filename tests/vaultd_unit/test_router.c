/* vaultd/router.c: every documented route, 404 and 405 (with Allow), and
 * hostile names in the path, which must be 400 bad_name and never reach a
 * handler as some other name (an encoded NUL must not cut the name short). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "router.h"
#include "check_support.h"

struct route_case {
	const char *method, *path;
	enum route_id id;
	const char *name; /* expected decoded name, or NULL */
};

static const struct route_case ok_routes[] = {
    {"GET", "/v1/health", R_HEALTH, NULL},
    {"GET", "/metrics", R_METRICS, NULL},
    {"GET", "/v1/sys/status", R_SYS_STATUS, NULL},
    {"POST", "/v1/sys/unseal", R_SYS_UNSEAL, NULL},
    {"POST", "/v1/sys/seal", R_SYS_SEAL, NULL},
    {"GET", "/v1/sys/backup", R_SYS_BACKUP, NULL},
    {"POST", "/v1/sys/rotate", R_SYS_ROTATE, NULL},
    {"POST", "/v1/sys/rekey", R_SYS_REKEY, NULL},
    {"GET", "/v1/secrets", R_SECRETS_LIST, NULL},
    {"GET", "/v1/secrets/db", R_SECRET_GET, "db"},
    {"PUT", "/v1/secrets/db", R_SECRET_PUT, "db"},
    {"DELETE", "/v1/secrets/db", R_SECRET_DELETE, "db"},
    {"POST", "/v1/secrets/db/rotate", R_SECRET_ROTATE, "db"},
    {"GET", "/v1/secrets/db/versions", R_SECRET_VERSIONS, "db"},
    {"POST", "/v1/secrets/db/rollback", R_SECRET_ROLLBACK, "db"},
    {"POST", "/v1/secrets/db/undelete", R_SECRET_UNDELETE, "db"},
    {"POST", "/v1/bundle", R_BUNDLE, NULL},
    {"GET", "/v1/watch", R_WATCH, NULL},
    {"GET", "/v1/tokens", R_TOKENS_LIST, NULL},
    {"POST", "/v1/tokens", R_TOKEN_CREATE, NULL},
    {"GET", "/v1/tokens/0123abcd", R_TOKEN_GET, "0123abcd"},
    {"DELETE", "/v1/tokens/0123abcd", R_TOKEN_REVOKE, "0123abcd"},
    {"GET", "/v1/policies", R_POLICIES_LIST, NULL},
    {"PUT", "/v1/policies/app", R_POLICY_PUT, "app"},
    {"GET", "/v1/policies/app", R_POLICY_GET, "app"},
    {"DELETE", "/v1/policies/app", R_POLICY_DELETE, "app"},
    {"GET", "/v1/audit", R_AUDIT_READ, NULL},
    {"GET", "/v1/audit/verify", R_AUDIT_VERIFY, NULL},
    /* Percent-encoding is decoded before validation. */
    {"GET", "/v1/secrets/%64b", R_SECRET_GET, "db"},
    {"GET", "/v1/secrets/pg.pass-word_2", R_SECRET_GET, "pg.pass-word_2"},
};

START_TEST(test_every_documented_route_is_found)
{
	const struct route_case *c = &ok_routes[_i];
	struct route r;
	int st = router_parse(c->method, c->path, &r);
	ck_assert_msg(st == 0, "%s %s: expected a route, got status %d", c->method, c->path, st);
	ck_assert_int_eq(r.id, c->id);
	ck_assert_int_eq(r.has_name, c->name != NULL);
	if (c->name)
		ck_assert_str_eq(r.name, c->name);
	ck_assert_str_ne(route_action(r.id), "request.rejected");
}
END_TEST

static const char *const unknown[] = {
    "/",
    "/v1",
    "/v1/",
    "/v1/nope",
    "/nope",
    "/v2/secrets",
    "/v1/secrets/db/frobnicate",
    "/v1/sys/nope",
    "/v1/health/",
    "/v1/secrets/a/b",
    "/metrics/x",
    "relative/path",
    "",
    "/v1/audit/verify/x",
    "/a/b/c/d/e/f/g/h/i/j",
};

START_TEST(test_unknown_paths_are_404)
{
	struct route r;
	int st = router_parse("GET", unknown[_i], &r);
	ck_assert_msg(st == 404, "GET \"%s\": expected 404, got %d", unknown[_i], st);
	ck_assert_str_eq(r.code, "not_found");
	ck_assert_int_eq(r.id, R_NONE);
	ck_assert(!r.has_name);
}
END_TEST

START_TEST(test_wrong_method_is_405_with_allow)
{
	struct route r;
	ck_assert_int_eq(router_parse("POST", "/v1/secrets/db", &r), 405);
	ck_assert_str_eq(r.code, "method_not_allowed");
	ck_assert_str_eq(r.allow, "GET, PUT, DELETE");
	ck_assert_int_eq(r.near, R_SECRET_GET);

	ck_assert_int_eq(router_parse("DELETE", "/v1/health", &r), 405);
	ck_assert_str_eq(r.allow, "GET");
	ck_assert_int_eq(router_parse("GET", "/v1/bundle", &r), 405);
	ck_assert_str_eq(r.allow, "POST");
	ck_assert_int_eq(router_parse("PATCH", "/v1/tokens", &r), 405);
	ck_assert_str_eq(r.allow, "GET, POST");
	ck_assert_int_eq(router_parse("HEAD", "/metrics", &r), 405);
}
END_TEST

static const char *const hostile[] = {
    "..%2Fx",
    "a%2Fb",
    "%2E%2E",
    "a..b",
    "..",
    "%00",
    "a%00b",
    "db%00",
    "db%00.evil",
    ".hidden",
    "-dash",
    "a%20b",
    "a%0Ab",
    "%C3%A9t%C3%A9",
    "%",
    "%2",
    "%zz",
    "a%2",
    "", /* empty */
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 129 */
};

START_TEST(test_hostile_names_are_400_bad_name_on_every_route)
{
	static const char *const shapes[][3] = {
	    {"GET", "/v1/secrets/", ""},         {"PUT", "/v1/secrets/", ""},
	    {"DELETE", "/v1/secrets/", ""},      {"GET", "/v1/secrets/", "/versions"},
	    {"POST", "/v1/secrets/", "/rotate"}, {"PUT", "/v1/policies/", ""},
	    {"GET", "/v1/tokens/", ""},
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s%s%s", shapes[i][1], hostile[_i], shapes[i][2]);
		struct route r;
		int st = router_parse(shapes[i][0], path, &r);
		ck_assert_msg(st == 400, "%s %s: expected 400, got %d", shapes[i][0], path, st);
		ck_assert_str_eq(r.code, "bad_name");
		ck_assert_int_eq(r.id, R_NONE);
		ck_assert_msg(!r.has_name, "%s %s: no name may be handed on", shapes[i][0], path);
	}
}
END_TEST

/* A name too long for any path vaultd routes is still a bad name, not an
 * unknown route; a long path elsewhere is still 404. */
START_TEST(test_a_name_of_5000_characters_is_a_bad_name)
{
	char path[5100];
	static const char *const heads[] = {"/v1/secrets/", "/v1/policies/", "/v1/tokens/"};
	for (size_t i = 0; i < 3; i++) {
		int n = snprintf(path, sizeof(path), "%s", heads[i]);
		memset(path + n, 'a', 5000);
		path[n + 5000] = '\0';
		struct route r;
		ck_assert_int_eq(router_parse("GET", path, &r), 400);
		ck_assert_str_eq(r.code, "bad_name");
	}
	memset(path, 'a', 5000);
	memcpy(path, "/v1/secrets/x/", 14);
	path[5000] = '\0';
	struct route r;
	ck_assert_int_eq(router_parse("GET", path, &r), 404);
}
END_TEST

START_TEST(test_dot_dot_segments_are_bad_names_not_traversal)
{
	struct route r;
	ck_assert_int_eq(router_parse("GET", "/v1/secrets/../x", &r), 400);
	ck_assert_str_eq(r.code, "bad_name");
	ck_assert_int_eq(router_parse("GET", "/v1/secrets/../../v1/health", &r), 400);
	ck_assert_int_eq(router_parse("GET", "/v1/secrets//versions", &r), 400);
}
END_TEST

START_TEST(test_name_of_128_bytes_is_the_longest)
{
	char name[VAULT_MAX_NAME_LEN + 1], path[200];
	memset(name, 'n', VAULT_MAX_NAME_LEN);
	name[VAULT_MAX_NAME_LEN] = '\0';
	snprintf(path, sizeof(path), "/v1/secrets/%s", name);
	struct route r;
	ck_assert_int_eq(router_parse("GET", path, &r), 0);
	ck_assert_str_eq(r.name, name);
}
END_TEST

START_TEST(test_url_decode_reports_embedded_nul_by_length)
{
	char out[16];
	size_t len = 0;
	ck_assert_int_eq(url_decode("a%00b", 5, out, sizeof(out), &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(strlen(out), 1); /* a C string would stop here: callers use len */
	ck_assert_int_eq(url_decode("a%2Fb+c", 7, out, sizeof(out), &len), 0);
	ck_assert_str_eq(out, "a/b+c");
	ck_assert_int_eq(url_decode("%4", 2, out, sizeof(out), &len), -EINVAL);
	ck_assert_int_eq(url_decode("%g0", 3, out, sizeof(out), &len), -EINVAL);
	ck_assert_int_eq(url_decode("abcdefghijklmnop", 16, out, sizeof(out), &len), -ENAMETOOLONG);
	ck_assert_int_eq(url_decode("", 0, out, sizeof(out), &len), 0);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_accessors_are_a_small_alphabet)
{
	ck_assert(accessor_is_valid("0123456789abcdef0123456789abcdef", 32));
	ck_assert(accessor_is_valid("a-b_C", 5));
	ck_assert(!accessor_is_valid("-ab", 3));
	ck_assert(!accessor_is_valid("", 0));
	ck_assert(!accessor_is_valid("a.b", 3));
	ck_assert(!accessor_is_valid("a/b", 3));
	ck_assert(!accessor_is_valid("a\0b", 3));
	char big[ACCESSOR_MAX_LEN + 2];
	memset(big, 'a', sizeof(big));
	ck_assert(accessor_is_valid(big, ACCESSOR_MAX_LEN));
	ck_assert(!accessor_is_valid(big, ACCESSOR_MAX_LEN + 1));
}
END_TEST

/* A token where the accessor belongs is refused, and the route keeps no
 * copy of it (the audit entry and the log take their name from there). */
START_TEST(test_a_token_in_a_tokens_path_is_refused_and_not_kept)
{
	static const char tok[] = "vd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd";
	/* with its prefix, in upper case, and its 43-character body alone */
	const char *forms[] = {tok, "VD_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd", tok + 3};
	const char *methods[] = {"GET", "DELETE", "DELETE"};
	for (size_t i = 0; i < 3; i++) {
		char path[128];
		snprintf(path, sizeof(path), "/v1/tokens/%s", forms[i]);
		struct route r;
		ck_assert_int_eq(router_parse(methods[i], path, &r), 400);
		ck_assert_str_eq(r.code, "bad_name");
		ck_assert(r.token_in_path);
		ck_assert(!r.has_name);
		ck_assert_ptr_null(memmem(&r, sizeof(r), tok + 3, 16));
	}
	struct route r;
	ck_assert_int_eq(router_parse("DELETE", "/v1/tokens/0123456789abcdef0123456789abcdef", &r),
	                 0);
	ck_assert(!r.token_in_path);
	/* where a secret or policy name belongs too */
	static const char tok46[] = "vd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
	const char *heads[] = {"/v1/secrets/", "/v1/secrets/", "/v1/policies/"};
	const char *tails[] = {"", "/versions", ""};
	for (size_t i = 0; i < 3; i++) {
		char path[128];
		snprintf(path, sizeof(path), "%s%s%s", heads[i], tok46, tails[i]);
		ck_assert_int_eq(router_parse("GET", path, &r), 400);
		ck_assert(r.token_in_path);
		ck_assert(!r.has_name);
		ck_assert_ptr_null(memmem(&r, sizeof(r), tok46 + 3, 16));
	}
	/* ... except to DELETE one a vaultd before this check stored: routed,
	 * and flagged so that its audit entry says "(a token)" */
	char path[128];
	snprintf(path, sizeof(path), "/v1/secrets/%s", tok46);
	ck_assert_int_eq(router_parse("DELETE", path, &r), 0);
	ck_assert(r.name_is_token && r.has_name && !r.token_in_path);
	ck_assert_int_eq(router_parse("GET", "/v1/secrets/vd_config", &r), 0);
	ck_assert(!r.name_is_token);
}
END_TEST

START_TEST(test_public_routes_are_only_health_status_metrics)
{
	for (int id = R_NONE; id < R_COUNT; id++) {
		bool want = id == R_HEALTH || id == R_SYS_STATUS || id == R_METRICS;
		ck_assert_msg(route_is_public((enum route_id)id) == want, "route %s",
		              route_pattern(id));
	}
	ck_assert_str_eq(route_pattern(R_NONE), "unmatched");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("router");
	tcase_add_loop_test(tc, test_every_documented_route_is_found, 0,
	                    (int)(sizeof(ok_routes) / sizeof(ok_routes[0])));
	tcase_add_loop_test(tc, test_unknown_paths_are_404, 0,
	                    (int)(sizeof(unknown) / sizeof(unknown[0])));
	tcase_add_test(tc, test_wrong_method_is_405_with_allow);
	tcase_add_loop_test(tc, test_hostile_names_are_400_bad_name_on_every_route, 0,
	                    (int)(sizeof(hostile) / sizeof(hostile[0])));
	tcase_add_test(tc, test_dot_dot_segments_are_bad_names_not_traversal);
	tcase_add_test(tc, test_a_name_of_5000_characters_is_a_bad_name);
	tcase_add_test(tc, test_name_of_128_bytes_is_the_longest);
	tcase_add_test(tc, test_url_decode_reports_embedded_nul_by_length);
	tcase_add_test(tc, test_accessors_are_a_small_alphabet);
	tcase_add_test(tc, test_a_token_in_a_tokens_path_is_refused_and_not_kept);
	tcase_add_test(tc, test_public_routes_are_only_health_status_metrics);
	suite_add_tcase(s, tc);
	return check_support_run(s);
}
