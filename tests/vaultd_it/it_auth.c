/* Who may do what: a client running as nobody (not an admin) against a real
 * vaultd, through the lib client and curl: 401 without a valid token, 403
 * without the capability, deny beats allow, expiry, use counts, revocation,
 * and every denial in the audit. Needs root (to become nobody). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct vd g;
static char g_val_one[96];

#define VIA ((enum via)_i)

static void admin_ok(const char *method, const char *path, const char *body)
{
	struct vresp r;
	vd_call(&g, VIA_LIB, method, path, NULL, body, &r);
	if (r.status != 200 && r.status != 201) {
		fprintf(stderr, "auth setup: %s -> %d %s\n", r.what, r.status, r.body);
		exit(2);
	}
	vresp_clear(&r);
}

static void up(void)
{
	/* The socket is 0660 root:nogroup so that nobody can connect at all. */
	static const char *const flags[] = {"--socket-group", "nogroup", NULL};
	vd_up_with(&g, "auth", flags);
	char v[96];
	canary(g_val_one, sizeof(g_val_one), "auth-one");
	const char *names[] = {"app.two", "app.root", "other.x"};
	if (vd_put(&g, VIA_LIB, NULL, "app.one", g_val_one, NULL) != 1)
		exit(2);
	for (size_t i = 0; i < 3; i++) {
		canary(v, sizeof(v), names[i]);
		if (vd_put(&g, VIA_LIB, NULL, names[i], v, NULL) != 1)
			exit(2);
	}
	admin_ok("PUT", "/v1/policies/reader",
	         "{\"rules\":[{\"names\":\"app.*\",\"capabilities\":[\"read\",\"list\"]},"
	         "{\"names\":\"app.root\",\"capabilities\":[\"read\"],\"deny\":true}]}");
	admin_ok("PUT", "/v1/policies/allowroot",
	         "{\"rules\":[{\"names\":\"app.root\",\"capabilities\":[\"read\"]}]}");
	admin_ok("PUT", "/v1/policies/adm",
	         "{\"rules\":[{\"names\":\"*\",\"capabilities\":[\"admin\"]}]}");
	admin_ok("PUT", "/v1/policies/writer",
	         "{\"rules\":[{\"names\":\"app.*\",\"capabilities\":[\"write\",\"read\"]}]}");
}

static void down(void) { vd_stop(&g); }

struct tok {
	char *token, *accessor;
};

/* POST /v1/tokens as admin with policies (a JSON array) and extra members. */
static struct tok mk_token(const char *policies, const char *extra)
{
	char *body = xfmt("{\"policies\":%s%s}", policies, extra ? extra : "");
	struct vresp r;
	vd_call(&g, VIA_LIB, "POST", "/v1/tokens", NULL, body, &r);
	free(body);
	EXPECT_STATUS(&r, 201);
	struct tok t = {strdup(jstr(r.json, "token")), strdup(jstr(r.json, "accessor"))};
	vresp_clear(&r);
	return t;
}

static void tok_free(struct tok *t)
{
	sodium_memzero(t->token, strlen(t->token));
	free(t->token);
	free(t->accessor);
}

/* A request as nobody: status, and error code on failures. */
static int as_nobody(enum via via, const char *method, const char *path, const char *token,
                     const char *body, struct vresp *r)
{
	struct vreq q = {.method = method, .path = path, .token = token, .body = body, .as_nobody = true};
	vd_do(&g, via, &q, r);
	return r->status;
}

static void expect_as_nobody(enum via via, const char *method, const char *path,
                             const char *token, const char *body, int status, const char *code)
{
	struct vresp r;
	as_nobody(via, method, path, token, body, &r);
	if (code) {
		EXPECT_ERROR(&r, status, code);
	} else {
		EXPECT_STATUS(&r, status);
	}
	ck_assert_msg(!strstr(r.body, VD_CANARY) && (status == 200 || !jget(r.json, "value")),
	              "%s: a denied request carries no value", r.what);
	vresp_clear(&r);
}

/* The highest audit seq so far. */
static long long audit_head(void)
{
	struct vresp r;
	vd_call(&g, VIA_LIB, "GET", "/v1/audit?since=0&limit=1000000", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	json_t *es = jget(r.json, "entries");
	long long head = json_array_size(es) ? jint(json_array_get(es, json_array_size(es) - 1), "seq") : 0;
	vresp_clear(&r);
	return head;
}

struct denial {
	int status;
	const char *name;     /* "" when the request names no secret */
	const char *accessor; /* NULL: no token accessor expected */
};

/* Each denial must have its own audit entry after seq `after`, made by
 * nobody, not "ok", with the status sent, the name and the accessor. */
static void expect_audited(long long after, const struct denial *d, size_t n)
{
	struct vresp r;
	vd_call(&g, VIA_LIB, "GET", "/v1/audit?since=0&limit=1000000", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	json_t *es = jget(r.json, "entries");
	size_t ne = json_array_size(es);
	bool *used = calloc(ne + 1, 1);
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; k < ne && !found; k++) {
			json_t *e = json_array_get(es, k);
			const char *res = jstr(e, "result"), *nm = jstr(e, "name"), *acc = jstr(e, "accessor");
			if (used[k] || jint(e, "seq") <= after || jint(e, "status") != d[i].status ||
			    jint(e, "uid") != VD_NOBODY || !res || strcmp(res, "ok") == 0)
				continue;
			if (*d[i].name && (!nm || strcmp(nm, d[i].name) != 0))
				continue;
			if (d[i].accessor && (!acc || strcmp(acc, d[i].accessor) != 0))
				continue;
			found = used[k] = true;
		}
		ck_assert_msg(found, "denial %zu (status %d, name \"%s\") has no audit entry after seq %lld",
		              i, d[i].status, d[i].name, after);
	}
	free(used);
	vresp_clear(&r);
}

START_TEST(test_no_token_is_401_but_health_status_metrics_are_open)
{
	static const struct {
		const char *m, *p, *b;
	} deny[] = {
		{"GET", "/v1/secrets/app.one", NULL},
		{"GET", "/v1/secrets", NULL},
		{"PUT", "/v1/secrets/app.one", "{\"value\":\"eA==\"}"},
		{"GET", "/v1/secrets/app.one/versions", NULL},
		{"POST", "/v1/bundle", "{\"names\":[\"app.one\"]}"},
		{"GET", "/v1/watch?names=app.one", NULL},
		{"POST", "/v1/tokens", "{\"policies\":[\"reader\"]}"},
		{"GET", "/v1/policies", NULL},
		{"GET", "/v1/audit", NULL},
		{"POST", "/v1/sys/seal", NULL},
		{"GET", "/v1/sys/backup", NULL},
	};
	long long head = audit_head();
	for (size_t i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
		expect_as_nobody(VIA, deny[i].m, deny[i].p, NULL, deny[i].b, 401, "unauthenticated");
	expect_as_nobody(VIA, "GET", "/v1/health", NULL, NULL, 200, NULL);
	expect_as_nobody(VIA, "GET", "/v1/sys/status", NULL, NULL, 200, NULL);
	expect_as_nobody(VIA, "GET", "/metrics", NULL, NULL, 200, NULL);
	/* A token-shaped string that was never issued. */
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", "vd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	                 NULL, 401, "unauthenticated");
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", "not-even-a-token", NULL, 401,
	                 "unauthenticated");
	struct denial d[] = {{401, "app.one", NULL}, {401, "", NULL}, {401, "app.one", NULL}};
	expect_audited(head, d, 3);
}
END_TEST

START_TEST(test_token_lacking_capability_is_403)
{
	struct tok t = mk_token("[\"reader\"]", NULL);
	struct vresp r;
	as_nobody(VIA, "GET", "/v1/secrets/app.one", t.token, NULL, &r);
	EXPECT_STATUS(&r, 200);
	char *v = resp_value(&r);
	ck_assert_msg(v && strcmp(v, g_val_one) == 0, "%s: a reader token reads", r.what);
	free(v);
	vresp_clear(&r);

	expect_as_nobody(VIA, "PUT", "/v1/secrets/app.one", t.token, "{\"value\":\"eA==\"}", 403, "denied");
	expect_as_nobody(VIA, "DELETE", "/v1/secrets/app.one", t.token, NULL, 403, "denied");
	expect_as_nobody(VIA, "POST", "/v1/secrets/app.one/rotate", t.token,
	                 "{\"generate\":{\"length\":16,\"charset\":\"hex\"}}", 403, "denied");
	expect_as_nobody(VIA, "POST", "/v1/secrets/app.one/rollback", t.token, "{\"version\":1}", 403,
	                 "denied");
	expect_as_nobody(VIA, "GET", "/v1/secrets/other.x", t.token, NULL, 403, "denied");
	expect_as_nobody(VIA, "POST", "/v1/tokens", t.token, "{\"policies\":[\"writer\"]}", 403, "denied");
	expect_as_nobody(VIA, "GET", "/v1/audit", t.token, NULL, 403, "denied");
	expect_as_nobody(VIA, "POST", "/v1/sys/seal", t.token, NULL, 403, "denied");
	expect_as_nobody(VIA, "PUT", "/v1/policies/reader", t.token,
	                 "{\"rules\":[{\"names\":\"*\",\"capabilities\":[\"admin\"]}]}", 403, "denied");

	as_nobody(VIA, "POST", "/v1/bundle", t.token, "{\"names\":[\"app.one\",\"other.x\"]}", &r);
	EXPECT_ERROR(&r, 403, "denied");
	ck_assert_msg(jarr_has(r.json, "error/names", "other.x") && !jarr_has(r.json, "error/names", "app.one"),
	              "%s: names lists the denied one: %s", r.what, r.body);
	ck_assert_msg(!strstr(r.body, VD_CANARY) && !jget(r.json, "secrets"), "%s: no values", r.what);
	vresp_clear(&r);

	/* list: only what the glob matches. */
	as_nobody(VIA, "GET", "/v1/secrets", t.token, NULL, &r);
	EXPECT_STATUS(&r, 200);
	json_t *ss = jget(r.json, "secrets");
	ck_assert_msg(json_array_size(ss) >= 2, "%s: app.* listed", r.what);
	for (size_t i = 0; i < json_array_size(ss); i++) {
		const char *n = jstr(json_array_get(ss, i), "name");
		ck_assert_msg(n && strncmp(n, "app.", 4) == 0, "%s: lists %s outside app.*", r.what, n);
	}
	vresp_clear(&r);
	tok_free(&t);

	/* A writer may write app.*, and its write is attributed to the token. */
	struct tok w = mk_token("[\"writer\"]", NULL);
	char val[96];
	canary(val, sizeof(val), "writer");
	char *b = b64s(val);
	char *body = xfmt("{\"value\":\"%s\"}", b);
	char path[64];
	snprintf(path, sizeof(path), "/v1/secrets/app.w-%s", via_name(VIA));
	as_nobody(VIA, "PUT", path, w.token, body, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	expect_as_nobody(VIA, "PUT", "/v1/secrets/other.x", w.token, body, 403, "denied");
	free(body);
	free(b);
	tok_free(&w);
}
END_TEST

START_TEST(test_deny_beats_allow)
{
	/* reader denies app.root; allowroot allows it: deny wins, in one policy
	 * and across policies. */
	struct tok t = mk_token("[\"reader\",\"allowroot\"]", NULL);
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.root", t.token, NULL, 403, "denied");
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", t.token, NULL, 200, NULL);
	struct vresp r;
	as_nobody(VIA, "POST", "/v1/bundle", t.token, "{\"names\":[\"app.one\",\"app.root\"]}", &r);
	EXPECT_ERROR(&r, 403, "denied");
	ck_assert_msg(jarr_has(r.json, "error/names", "app.root"), "%s: names app.root", r.what);
	vresp_clear(&r);
	tok_free(&t);
	/* allowroot alone does allow it: the deny above is what refused. */
	struct tok a = mk_token("[\"allowroot\"]", NULL);
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.root", a.token, NULL, 200, NULL);
	tok_free(&a);
}
END_TEST

START_TEST(test_expired_token_is_401)
{
	struct tok t = mk_token("[\"reader\"]", ",\"ttl\":1");
	sleep_ms(2200);
	long long head = audit_head();
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", t.token, NULL, 401, "unauthenticated");
	/* The refusal names the token that was replayed. */
	struct denial d[] = {{401, "app.one", t.accessor}};
	expect_audited(head, d, 1);
	tok_free(&t);
}
END_TEST

START_TEST(test_one_use_token_works_once)
{
	struct tok t = mk_token("[\"reader\"]", ",\"uses\":1");
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", t.token, NULL, 200, NULL);
	long long head = audit_head();
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", t.token, NULL, 401, "unauthenticated");
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.two", t.token, NULL, 401, "unauthenticated");
	struct denial d[] = {{401, "app.one", t.accessor}, {401, "app.two", t.accessor}};
	expect_audited(head, d, 2);
	tok_free(&t);
}
END_TEST

/* Uses are counted atomically: 12 concurrent requests on a 5-use token.
 * The racers are client processes (vd_begin: exec'd, as nobody) that all wait
 * for the start signal (EOF on a pipe), then ask at once. */
START_TEST(test_use_count_holds_under_concurrent_use)
{
	enum { RACERS = 12, USES = 5 };
	struct tok t = mk_token("[\"reader\"]", ",\"uses\":5");
	int go[2];
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	struct vreq q = {.method = "GET", .path = "/v1/secrets/app.one", .token = t.token,
	                 .as_nobody = true};
	struct vd_proc racers[RACERS];
	for (int i = 0; i < RACERS; i++)
		vd_begin(&g, VIA, &q, go[0], &racers[i]);
	close(go[0]);
	close(go[1]); /* all start at once */
	int ok = 0, unauth = 0;
	for (int i = 0; i < RACERS; i++) {
		struct vresp r;
		vd_end(&racers[i], &r);
		if (r.status != 200 && r.status != 401)
			fprintf(stderr, "%s: racer %d got %d (err %d) %.200s\n", r.what, i, r.status, r.err,
			        r.body);
		ok += r.status == 200;
		unauth += r.status == 401;
		vresp_clear(&r);
	}
	ck_assert_msg(ok == USES && unauth == RACERS - USES,
	              "a %d-use token used %d times at once: %d answered 200, %d 401", USES, RACERS, ok,
	              unauth);
	tok_free(&t);
}
END_TEST

START_TEST(test_revoked_token_is_401)
{
	struct tok t = mk_token("[\"reader\"]", NULL);
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", t.token, NULL, 200, NULL);
	char path[160];
	snprintf(path, sizeof(path), "/v1/tokens/%s", t.accessor);
	struct vresp r;
	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	long long head = audit_head();
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", t.token, NULL, 401, "unauthenticated");
	struct denial d[] = {{401, "app.one", t.accessor}};
	expect_audited(head, d, 1);
	tok_free(&t);
}
END_TEST

START_TEST(test_every_denial_is_audited_with_actor_and_name)
{
	struct tok t = mk_token("[\"reader\"]", NULL);
	long long head = audit_head();
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", NULL, NULL, 401, "unauthenticated");
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.two", "vd_never_issued_xxxxxxxxxxxxxxxxxxxxxxxxxxx",
	                 NULL, 401, "unauthenticated");
	expect_as_nobody(VIA, "PUT", "/v1/secrets/app.one", t.token, "{\"value\":\"eA==\"}", 403, "denied");
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.root", t.token, NULL, 403, "denied");
	expect_as_nobody(VIA, "GET", "/v1/secrets/other.x", t.token, NULL, 403, "denied");
	expect_as_nobody(VIA, "GET", "/v1/audit", t.token, NULL, 403, "denied");
	expect_as_nobody(VIA, "POST", "/v1/tokens", t.token, "{\"policies\":[\"writer\"]}", 403, "denied");
	struct denial d[] = {
		{401, "app.one", NULL},     {401, "app.two", NULL},     {403, "app.one", t.accessor},
		{403, "app.root", t.accessor}, {403, "other.x", t.accessor}, {403, "", t.accessor},
		{403, "", t.accessor},
	};
	expect_audited(head, d, sizeof(d) / sizeof(d[0]));
	/* The audit never holds a token. */
	struct vresp r;
	vd_call(&g, VIA, "GET", "/v1/audit?since=0&limit=1000000", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(!strstr(r.body, t.token) && !strstr(r.body, "vd_never_issued"),
	              "%s: a token in the audit", r.what);
	vresp_clear(&r);
	size_t n = 0;
	char *log = slurp(g.audit_log, &n);
	ck_assert_msg(log && !strstr(log, t.token) && !strstr(log, "vd_never_issued"),
	              "audit log file holds no token");
	free(log);
	tok_free(&t);
}
END_TEST

START_TEST(test_admin_capability_token_may_administer_but_not_read)
{
	struct tok t = mk_token("[\"adm\"]", NULL);
	expect_as_nobody(VIA, "GET", "/v1/audit?since=0&limit=1", t.token, NULL, 200, NULL);
	expect_as_nobody(VIA, "GET", "/v1/tokens", t.token, NULL, 200, NULL);
	expect_as_nobody(VIA, "GET", "/v1/policies", t.token, NULL, 200, NULL);
	struct vresp r;
	as_nobody(VIA, "POST", "/v1/tokens", t.token, "{\"policies\":[\"reader\"],\"uses\":1}", &r);
	EXPECT_STATUS(&r, 201);
	ck_assert_msg(jstr(r.json, "token") != NULL, "%s: a token", r.what);
	vresp_clear(&r);
	/* admin covers tokens, policies, audit, seal, backup: not secret values. */
	expect_as_nobody(VIA, "GET", "/v1/secrets/app.one", t.token, NULL, 403, "denied");
	tok_free(&t);
}
END_TEST

/* --admin-uid / --admin-gid make nobody an admin by peer credentials alone. */
START_TEST(test_admin_uid_and_gid_flags_make_nobody_an_admin)
{
	static const char *flags[] = {"--admin-uid", "--admin-gid"};
	for (int f = 0; f < 2; f++) {
		struct vd v;
		const char *const serve[] = {"--socket-group", "nogroup", flags[f], "65534", NULL};
		vd_up_with(&v, "auth-adminflag", serve);
		for (int via = VIA_LIB; via <= VIA_CURL; via++) {
			struct vreq q = {.method = "GET", .path = "/v1/tokens", .as_nobody = true};
			struct vresp r;
			vd_do(&v, (enum via)via, &q, &r);
			ck_assert_msg(r.status == 200, "%s with %s 65534: admin, got %d %s", r.what, flags[f],
			              r.status, r.body);
			vresp_clear(&r);
			char val[96];
			canary(val, sizeof(val), "adminflag");
			char *b = b64s(val);
			char *body = xfmt("{\"value\":\"%s\"}", b);
			struct vreq put = {.method = "PUT", .path = "/v1/secrets/af.one", .body = body, .as_nobody = true};
			vd_do(&v, (enum via)via, &put, &r);
			EXPECT_STATUS(&r, 200);
			vresp_clear(&r);
			free(body);
			free(b);
		}
		ck_assert_int_eq(vd_stop_status(&v), 0);
	}
}
END_TEST

/* --admin-gid also counts supplementary groups (SO_PEERGROUPS): nobody
 * with the group is an admin, nobody without it is not. */
START_TEST(test_admin_gid_counts_supplementary_groups)
{
	const gid_t admins = 4242; /* no such group on the system: a bare gid */
	struct vd v;
	static const char *const serve[] = {"--socket-group", "nogroup", "--admin-gid", "4242",
	                                    NULL};
	vd_up_with(&v, "auth-suppgid", serve);
	for (int via = VIA_LIB; via <= VIA_CURL; via++) {
		struct vreq q = {.method = "GET", .path = "/v1/tokens", .as_nobody = true,
		                 .supp_gid = admins};
		struct vresp r;
		vd_do(&v, (enum via)via, &q, &r);
		ck_assert_msg(r.status == 200, "%s in group 4242: admin, got %d %s", r.what, r.status,
		              r.body);
		vresp_clear(&r);
		q.supp_gid = 0;
		vd_do(&v, (enum via)via, &q, &r);
		ck_assert_msg(r.status == 401, "%s in no group: not admin, got %d %s", r.what, r.status,
		              r.body);
		vresp_clear(&r);
	}
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

int main(void)
{
	vd_global_init();
	vd_need_root("the non-admin client runs as nobody via setuid");
	Suite *s = suite_create("vaultd auth");
	TCase *tc = tcase_create("auth");
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 60);
	const TTest *tests[] = {
		test_no_token_is_401_but_health_status_metrics_are_open,
		test_token_lacking_capability_is_403,
		test_deny_beats_allow,
		test_expired_token_is_401,
		test_one_use_token_works_once,
		test_revoked_token_is_401,
		test_every_denial_is_audited_with_actor_and_name,
		test_admin_capability_token_may_administer_but_not_read,
		test_use_count_holds_under_concurrent_use,
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_loop_test(tc, tests[i], VIA_LIB, VIA_CURL + 1);
	suite_add_tcase(s, tc);
	TCase *flags = tcase_create("admin flags");
	tcase_set_timeout(flags, 60);
	tcase_add_test(flags, test_admin_uid_and_gid_flags_make_nobody_an_admin);
	tcase_add_test(flags, test_admin_gid_counts_supplementary_groups);
	suite_add_tcase(s, flags);
	return vd_run_suite(s);
}
