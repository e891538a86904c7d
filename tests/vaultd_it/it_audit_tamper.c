/* Audit tamper: with vaultd stopped, change, delete or reorder one audit row
 * with the sqlite3 CLI (table `audit`, schema/001_init.sql); after a restart
 * GET /v1/audit/verify names the first bad sequence number (lib and curl).
 * Fail closed: with no audit row writable, no read answers and no change is made. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define BAD_SEQ 5

static struct vd g; /* the pristine store, stopped after the fixture ran */
static long long g_rows;

static void up(void)
{
	vd_up(&g, "tamper");
	char v[96], n[32];
	for (int i = 0; i < 6; i++) {
		canary(v, sizeof(v), "tamper");
		snprintf(n, sizeof(n), "tamper-%d", i);
		if (vd_put(&g, VIA_LIB, NULL, n, v, NULL) != 1)
			exit(2);
		free(vd_get(&g, VIA_LIB, NULL, n, NULL, NULL));
	}
	struct vresp r;
	vd_call(&g, VIA_LIB, "GET", "/v1/audit?since=0&limit=100000", NULL, NULL, &r);
	g_rows = (long long)json_array_size(jget(r.json, "entries"));
	vresp_clear(&r);
	vd_stop(&g);
}

static void down(void) {}

static void copy_file(const char *from, const char *to)
{
	size_t n = 0;
	char *s = slurp(from, &n);
	if (!s)
		return; /* e.g. no -wal file */
	int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0 && write_all(fd, s, n) == 0 && close(fd) == 0, "copy %s", to);
	free(s);
}

/* A copy of the pristine store (and its key) in a fresh directory. */
static void clone_store(struct vd *v, const char *tag)
{
	vd_prepare(v, tag);
	copy_file(g.key, v->key);
	copy_file(g.store, v->store);
	char a[VD_PATH_MAX + 8], b[VD_PATH_MAX + 8];
	snprintf(a, sizeof(a), "%s-wal", g.store);
	snprintf(b, sizeof(b), "%s-wal", v->store);
	copy_file(a, b);
}

static void sql(const struct vd *v, const char *stmt)
{
	char *out = NULL;
	const char *argv[] = {bin_path("SQLITE3_BIN", "/usr/bin/sqlite3"), "-bail", v->store, stmt, NULL};
	int rc = run_cmd(argv, NULL, &out);
	ck_assert_msg(rc == 0, "sqlite3 %s: exit %d: %s", stmt, rc, out);
	free(out);
}

static long long sql_int(const struct vd *v, const char *stmt)
{
	char *out = NULL;
	const char *argv[] = {bin_path("SQLITE3_BIN", "/usr/bin/sqlite3"), v->store, stmt, NULL};
	int rc = run_cmd(argv, NULL, &out);
	ck_assert_msg(rc == 0, "sqlite3 %s: exit %d: %s", stmt, rc, out);
	long long x = atoll(out);
	free(out);
	return x;
}

static void expect_verify(const struct vd *v, bool ok, long long first_bad)
{
	for (int via = VIA_LIB; via <= VIA_CURL; via++) {
		struct vresp r;
		vd_call(v, (enum via)via, "GET", "/v1/audit/verify", NULL, NULL, &r);
		EXPECT_STATUS(&r, 200);
		bool got = !ok;
		ck_assert_msg(jbool(r.json, "ok", &got) && got == ok, "%s: ok should be %s: %s", r.what,
		              ok ? "true" : "false", r.body);
		if (!ok)
			EXPECT_JINT(&r, "first_bad", first_bad);
		ck_assert_msg(jint(r.json, "checked") >= (ok ? g_rows : 0), "%s: checked", r.what);
		vresp_clear(&r);
	}
}

static void tamper_and_verify(const char *tag, const char *stmt, long long first_bad)
{
	struct vd v;
	clone_store(&v, tag);
	ck_assert_msg(sql_int(&v, "SELECT count(*) FROM audit") >= BAD_SEQ + 2,
	              "the pristine store has audit rows to tamper with");
	if (stmt)
		sql(&v, stmt);
	vd_start(&v);
	expect_verify(&v, stmt == NULL, first_bad);
	vd_stop(&v);
}

START_TEST(test_untouched_chain_verifies)
{
	tamper_and_verify("tamper-none", NULL, 0);
}
END_TEST

START_TEST(test_changed_row_is_the_first_bad)
{
	tamper_and_verify("tamper-change", "UPDATE audit SET action = 'secret.other' WHERE seq = 5;", BAD_SEQ);
}
END_TEST

START_TEST(test_changed_time_of_a_later_row_is_the_first_bad)
{
	tamper_and_verify("tamper-time", "UPDATE audit SET time_ms = time_ms + 1 WHERE seq = 7;", 7);
}
END_TEST

START_TEST(test_deleted_row_is_the_first_bad)
{
	tamper_and_verify("tamper-delete", "DELETE FROM audit WHERE seq = 5;", BAD_SEQ);
}
END_TEST

START_TEST(test_swapped_rows_are_caught_at_the_first)
{
	tamper_and_verify("tamper-swap",
	                  "BEGIN; UPDATE audit SET seq = 1000000 WHERE seq = 5;"
	                  " UPDATE audit SET seq = 5 WHERE seq = 6;"
	                  " UPDATE audit SET seq = 6 WHERE seq = 1000000; COMMIT;",
	                  BAD_SEQ);
}
END_TEST

/* Reads from fd until want shows up (or timeout_ms passes). */
static bool read_until(int fd, const char *want, int timeout_ms)
{
	char buf[4096];
	size_t n = 0;
	double until = now_ms() + timeout_ms;
	while (now_ms() < until && n < sizeof(buf) - 1) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, 100) <= 0)
			continue;
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (k <= 0)
			return false;
		n += (size_t)k;
		buf[n] = 0;
		if (strstr(buf, want))
			return true;
	}
	return false;
}

/* Fail closed: while another process holds the store's write lock, no audit
 * entry can be written, so a read must fail and return no value. */
START_TEST(test_unwritable_audit_fails_the_read_and_returns_no_value)
{
	struct vd v;
	vd_up(&v, "audit-locked");
	char val[96];
	canary(val, sizeof(val), "locked");
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "locked.one", val, NULL), 1);
	const char *argv[] = {bin_path("SQLITE3_BIN", "/usr/bin/sqlite3"), v.store, NULL};
	int in = -1, out = -1;
	pid_t lock = run_bg(argv, &in, &out);
	static const char take[] = "BEGIN IMMEDIATE;\nSELECT 'locked-now';\n";
	ck_assert_int_eq(write_all(in, take, sizeof(take) - 1), 0);
	ck_assert_msg(read_until(out, "locked-now", 10000), "sqlite3 took the write lock");
	for (int via = VIA_LIB; via <= VIA_CURL; via++) {
		struct vreq q = {.method = "GET", .path = "/v1/secrets/locked.one", .timeout_ms = 60000};
		struct vresp r;
		vd_do(&v, (enum via)via, &q, &r);
		EXPECT_ERROR(&r, 500, "audit_failed");
		ck_assert_msg(!jget(r.json, "value") && !strstr(r.body, VD_CANARY) &&
		                  !strstr(r.body, VD_CANARY_B64),
		              "%s: no value without an audit entry", r.what);
		vresp_clear(&r);
	}
	close(in); /* sqlite3 exits and rolls back: the lock is gone */
	close(out);
	wait_pid(lock);
	char *got = vd_get(&v, VIA_LIB, NULL, "locked.one", NULL, NULL);
	ck_assert_msg(got && strcmp(got, val) == 0, "reads work again once the audit can be written");
	free(got);
	struct vresp r;
	vd_call(&v, VIA_LIB, "GET", "/metrics", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	/* The sample line of the audit-failure counter (any name with audit_fail). */
	long long fails = -1;
	for (const char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *e = strchr(p, '\n'), *sp = strchr(p, ' ');
		const char *hit = strstr(p, "audit_fail");
		if (*p != '#' && hit && sp && (!e || (hit < e && sp < e)))
			fails = atoll(sp + 1);
	}
	ck_assert_msg(fails >= 2, "metrics count the 2 audit failures, got %lld", fails);
	vresp_clear(&r);
	vd_call(&v, VIA_LIB, "GET", "/v1/audit/verify", NULL, NULL, &r);
	bool ok = false;
	ck_assert_msg(jbool(r.json, "ok", &ok) && ok, "chain intact after failed appends: %s", r.body);
	vresp_clear(&r);
	vd_stop(&v);
}
END_TEST

/* A GET of the versions list as "v1:live,v2:live": what a change would alter. */
static char *versions_of(const struct vd *v, const char *name)
{
	struct vresp r;
	char *path = xfmt("/v1/secrets/%s/versions", name);
	vd_call(v, VIA_LIB, "GET", path, NULL, NULL, &r);
	free(path);
	EXPECT_STATUS(&r, 200);
	char out[256] = "";
	json_t *vs = jget(r.json, "versions");
	for (size_t i = 0; i < json_array_size(vs); i++) {
		json_t *e = json_array_get(vs, i);
		bool gone = false;
		jbool(e, "destroyed", &gone);
		size_t n = strlen(out);
		snprintf(out + n, sizeof(out) - n, "%sv%lld:%s", i ? "," : "", jint(e, "version"),
		         gone ? "destroyed" : "live");
	}
	vresp_clear(&r);
	return strdup(out);
}

/* The body of an admin GET (a policy, the token list), to compare later. */
static char *body_of(const struct vd *v, const char *path)
{
	struct vresp r;
	vd_call(v, VIA_LIB, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	char *b = strdup(r.body);
	vresp_clear(&r);
	return b;
}

/* A change and its own audit entry are one transaction: when no audit row
 * can be written (a trigger refuses them all), no kind of change is made
 * either, and every answer is 500 audit_failed, with no token in it. */
START_TEST(test_change_whose_audit_fails_is_not_made)
{
	struct vd v;
	vd_up(&v, "audit-refused");
	char v1[96], v2[96];
	canary(v1, sizeof(v1), "refused-1");
	canary(v2, sizeof(v2), "refused-2");
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "kept.one", v1, NULL), 1);
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "kept.one", v2, NULL), 2);
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "gone.one", v1, NULL), 1);
	struct vresp r;
	vd_call(&v, VIA_LIB, "DELETE", "/v1/secrets/gone.one", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	vd_call(&v, VIA_LIB, "PUT", "/v1/policies/kept-policy", NULL,
	        "{\"rules\":[{\"names\":\"kept.*\",\"capabilities\":[\"read\"]}]}", &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	vd_call(&v, VIA_LIB, "POST", "/v1/tokens", NULL, "{\"policies\":[\"kept-policy\"]}", &r);
	EXPECT_STATUS(&r, 201);
	char *token = strdup(jstr(r.json, "token"));
	char *revoke = xfmt("/v1/tokens/%s", jstr(r.json, "accessor"));
	vresp_clear(&r);
	char *versions = versions_of(&v, "kept.one");
	char *policy = body_of(&v, "/v1/policies/kept-policy");
	char *tokens = body_of(&v, "/v1/tokens");
	ck_assert_str_eq(versions, "v1:live,v2:live");

	sql(&v, "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit "
	        "BEGIN SELECT RAISE(FAIL, 'refused by the test'); END;");
	char *put = xfmt("{\"value\":\"%s\"}", VD_CANARY_B64);
	const char *changes[][3] = {
	    {"DELETE", "/v1/secrets/kept.one", NULL},
	    {"DELETE", "/v1/secrets/kept.one?destroy=1", NULL},
	    {"DELETE", "/v1/secrets/kept.one?destroy=1&version=1", NULL},
	    {"POST", "/v1/secrets/kept.one/rollback", "{\"version\":1}"},
	    {"PUT", "/v1/secrets/kept.one", put},
	    {"POST", "/v1/secrets/kept.one/rotate", "{\"generate\":{\"length\":24}}"},
	    {"POST", "/v1/secrets/kept.one/rotate", put},
	    {"POST", "/v1/secrets/gone.one/undelete", NULL},
	    {"POST", "/v1/tokens", "{\"policies\":[\"kept-policy\"]}"},
	    {"DELETE", revoke, NULL},
	    {"PUT", "/v1/policies/kept-policy",
	     "{\"rules\":[{\"names\":\"*\",\"capabilities\":[\"read\",\"write\"]}]}"},
	    {"DELETE", "/v1/policies/kept-policy", NULL},
	    {"POST", "/v1/sys/rotate", NULL},
	};
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		vd_call(&v, i % 2 ? VIA_CURL : VIA_LIB, changes[i][0], changes[i][1], NULL, changes[i][2],
		        &r);
		EXPECT_ERROR(&r, 500, "audit_failed");
		ck_assert_msg(!jget(r.json, "token"), "%s %s: no token without an audit entry",
		              changes[i][0], changes[i][1]);
		vresp_clear(&r);
	}
	sql(&v, "DROP TRIGGER refuse_audit;");
	char *status_body = body_of(&v, "/v1/sys/status");
	ck_assert_msg(strstr(status_body, "\"key_id\":1"), "the data key did not rotate: %s",
	              status_body);
	free(status_body);

	char *now = versions_of(&v, "kept.one");
	ck_assert_msg(strcmp(now, versions) == 0, "kept.one's versions: %s, were %s", now, versions);
	free(now);
	char *got = vd_get(&v, VIA_LIB, NULL, "kept.one", NULL, NULL);
	ck_assert_msg(got && strcmp(got, v2) == 0, "kept.one still reads its version 2");
	free(got);
	int status = 0;
	free(vd_get(&v, VIA_LIB, NULL, "gone.one", &status, NULL));
	ck_assert_int_eq(status, 404);
	now = body_of(&v, "/v1/policies/kept-policy");
	ck_assert_msg(strcmp(now, policy) == 0, "the policy is unchanged: %s", now);
	free(now);
	now = body_of(&v, "/v1/tokens");
	ck_assert_msg(strcmp(now, tokens) == 0, "no token created or revoked: %s", now);
	free(now);
	got = vd_get(&v, VIA_LIB, token, "kept.one", &status, NULL);
	ck_assert_msg(status == 200 && got && strcmp(got, v2) == 0, "the token still works: %d",
	              status);
	free(got);
	vd_call(&v, VIA_LIB, "GET", "/v1/audit/verify", NULL, NULL, &r);
	bool ok = false;
	ck_assert_msg(jbool(r.json, "ok", &ok) && ok, "chain intact: %s", r.body);
	vresp_clear(&r);
	sodium_memzero(token, strlen(token));
	free(token);
	free(revoke);
	free(put);
	free(versions);
	free(policy);
	free(tokens);
	vd_stop(&v);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd audit tamper");
	TCase *tc = tcase_create("tamper");
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_untouched_chain_verifies);
	tcase_add_test(tc, test_changed_row_is_the_first_bad);
	tcase_add_test(tc, test_changed_time_of_a_later_row_is_the_first_bad);
	tcase_add_test(tc, test_deleted_row_is_the_first_bad);
	tcase_add_test(tc, test_swapped_rows_are_caught_at_the_first);
	suite_add_tcase(s, tc);
	TCase *fc = tcase_create("fail closed");
	tcase_set_timeout(fc, 120);
	tcase_add_test(fc, test_unwritable_audit_fails_the_read_and_returns_no_value);
	tcase_add_test(fc, test_change_whose_audit_fails_is_not_made);
	suite_add_tcase(s, fc);
	return vd_run_suite(s);
}
