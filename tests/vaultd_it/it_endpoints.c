/* Every endpoint family of docs/api.md against a real vaultd, each test run
 * twice: through the lib client (lib/httpc.h) and through the curl command. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct vd g; /* one daemon per TCase, started in the runner process */

static void up(void) { vd_up(&g, "endpoints"); }
static void down(void) { vd_stop(&g); }

#define VIA ((enum via)_i)

/* A per-via secret name, so the lib and curl runs do not share state. */
static void nm(char *out, size_t cap, enum via via, const char *leaf)
{
	snprintf(out, cap, "ep-%s-%s", via_name(via), leaf);
}

static void expect_no_plaintext(const struct vresp *r)
{
	ck_assert_msg(!r->body || !strstr(r->body, VD_CANARY), "%s: a plaintext value in the body",
	              r->what);
}

/* ---- health, status, metrics ---- */

START_TEST(test_health_answers_ok_when_unsealed)
{
	struct vresp r;
	vd_call(&g, VIA, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "status", "ok");
	bool sealed = true;
	ck_assert_msg(jbool(r.json, "sealed", &sealed) && !sealed, "%s: sealed must be false", r.what);
	vresp_clear(&r);
}
END_TEST

START_TEST(test_status_reports_version_backend_and_counts)
{
	char name[64];
	char val[96];
	nm(name, sizeof(name), VIA, "status");
	canary(val, sizeof(val), "status");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), 1);
	struct vresp r;
	vd_call(&g, VIA, "GET", "/v1/sys/status", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "version", "0.1.0");
	EXPECT_JSTR(&r, "backend", "sqlite");
	bool sealed = true;
	ck_assert_msg(jbool(r.json, "sealed", &sealed) && !sealed, "%s: sealed false", r.what);
	ck_assert_msg(jint(r.json, "secrets") >= 1, "%s: secrets >= 1 after a write", r.what);
	long long rev = jint(r.json, "revision");
	ck_assert_msg(rev >= 1, "%s: revision >= 1 after a write, got %lld", r.what, rev);
	vresp_clear(&r);
	/* A write bumps the revision. */
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), 2);
	ck_assert_msg(vd_revision(&g) > rev, "revision must grow after a write");
}
END_TEST

/* The value of the first sample line whose name contains key (no comments). */
static bool metric_line(const char *text, const char *key, double *ret)
{
	const char *p = text;
	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		char line[512];
		if (l < sizeof(line) && *p != '#') {
			memcpy(line, p, l);
			line[l] = 0;
			char *sp = strrchr(line, ' ');
			char *brace = strchr(line, '{');
			size_t namelen = brace ? (size_t)(brace - line) : (sp ? (size_t)(sp - line) : l);
			line[namelen < l ? namelen : l] = 0;
			if (sp && strstr(line, key)) {
				*ret = strtod(sp + 1, NULL);
				return true;
			}
		}
		p = e ? e + 1 : NULL;
	}
	return false;
}

START_TEST(test_metrics_is_prometheus_text_with_the_listed_families)
{
	struct vresp r;
	vd_call(&g, VIA, "GET", "/metrics", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(strncmp(r.ctype, "text/plain", 10) == 0, "%s: content type %s", r.what, r.ctype);
	ck_assert_msg(strstr(r.body, "# TYPE ") != NULL, "%s: no # TYPE lines", r.what);
	ck_assert_msg(strstr(r.body, "_bucket{") != NULL, "%s: no latency histogram", r.what);
	double v = -1;
	ck_assert_msg(metric_line(r.body, "sealed", &v) && v == 0, "%s: sealed gauge 0, got %g",
	              r.what, v);
	ck_assert_msg(metric_line(r.body, "secrets", &v), "%s: no secrets count", r.what);
	ck_assert_msg(metric_line(r.body, "audit", &v), "%s: no audit failure counter", r.what);
	ck_assert_msg(metric_line(r.body, "connections", &v), "%s: no open connections gauge", r.what);
	ck_assert_msg(metric_line(r.body, "request", &v), "%s: no request counter", r.what);
	vresp_clear(&r);
}
END_TEST

/* ---- secrets ---- */

/* A repeated read is answered from vaultd's read cache (the counter moves),
 * and the read right after a write, a delete or a destroy sees it. */
START_TEST(test_repeated_reads_hit_the_cache_and_every_write_is_seen_at_once)
{
	static const char *hits = "vaultd_store_cache_hits_total";
	char name[64], v1[96], v2[96], path[128];
	nm(name, sizeof(name), VIA, "cached");
	canary(v1, sizeof(v1), "cache1");
	canary(v2, sizeof(v2), "cache2");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v1, NULL), 1);
	for (int i = 0; i < 2; i++) {
		char *got = vd_get(&g, VIA, NULL, name, NULL, NULL);
		ck_assert_msg(got && strcmp(got, v1) == 0, "read %d of %s", i, name);
		free(got);
	}
	double h0 = vd_metric(&g, hits);
	char *got = vd_get(&g, VIA, NULL, name, NULL, NULL);
	ck_assert_msg(got && strcmp(got, v1) == 0, "cached read of %s", name);
	free(got);
	ck_assert_msg(vd_metric(&g, hits) > h0, "%s counts the cached read", hits);

	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v2, NULL), 2);
	long long ver = 0;
	got = vd_get(&g, VIA, NULL, name, NULL, &ver);
	ck_assert_msg(got && strcmp(got, v2) == 0 && ver == 2, "the write is read back at once");
	free(got);
	struct vresp r;
	snprintf(path, sizeof(path), "/v1/secrets/%s?destroy=1&version=2", name);
	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	int st = 0;
	got = vd_get(&g, VIA, NULL, name, &st, NULL);
	ck_assert_msg(!got && st == 410, "a destroyed current version is 410 at once, got %d", st);
	free(got);
	snprintf(path, sizeof(path), "/v1/secrets/%s", name);
	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	got = vd_get(&g, VIA, NULL, name, &st, NULL);
	ck_assert_msg(!got && st == 404, "a deleted secret is 404 at once, got %d", st);
	free(got);
}
END_TEST

START_TEST(test_secret_put_get_versions_and_list)
{
	char name[64], v1[96], v2[96];
	nm(name, sizeof(name), VIA, "db");
	canary(v1, sizeof(v1), "crud1");
	canary(v2, sizeof(v2), "crud2");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v1, NULL), 1);
	int st = 0;
	long long ver = 0;
	char *got = vd_get(&g, VIA, NULL, name, &st, &ver);
	ck_assert_msg(got && strcmp(got, v1) == 0, "GET %s: value 1 back (status %d)", name, st);
	ck_assert_int_eq(ver, 1);
	free(got);

	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v2,
	                        ",\"metadata\":{\"description\":\"the db\",\"labels\":{\"team\":\"core\"},"
	                        "\"max_versions\":20}"),
	                 2);
	struct vresp r;
	char path[256];
	snprintf(path, sizeof(path), "/v1/secrets/%s", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "name", name);
	EXPECT_JINT(&r, "version", 2);
	EXPECT_JSTR(&r, "stage", "current");
	ck_assert_msg(jint(r.json, "created") > 1600000000, "%s: created is unix seconds", r.what);
	got = resp_value(&r);
	ck_assert_msg(got && strcmp(got, v2) == 0, "%s: value 2", r.what);
	free(got);
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/secrets/%s?version=1", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JINT(&r, "version", 1);
	got = resp_value(&r);
	ck_assert_msg(got && strcmp(got, v1) == 0, "%s: value 1", r.what);
	free(got);
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/secrets/%s?stage=previous", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JINT(&r, "version", 1);
	EXPECT_JSTR(&r, "stage", "previous");
	got = resp_value(&r);
	ck_assert_msg(got && strcmp(got, v1) == 0, "%s: previous is value 1", r.what);
	free(got);
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/secrets/%s?version=99", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_ERROR(&r, 404, "not_found");
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/secrets/%s/versions", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "name", name);
	ck_assert_msg(json_array_size(jget(r.json, "versions")) == 2, "%s: 2 versions", r.what);
	for (int i = 0; i < 2; i++) {
		json_t *it = jget(r.json, i == 0 ? "versions/0" : "versions/1");
		long long vno = jint(it, "version");
		const char *stage = jstr(it, "stage");
		ck_assert_msg(vno == 1 || vno == 2, "%s: version %lld", r.what, vno);
		ck_assert_msg(stage && strcmp(stage, vno == 2 ? "current" : "previous") == 0,
		              "%s: version %lld stage %s", r.what, vno, stage ? stage : "null");
		bool d = true;
		ck_assert_msg(jbool(it, "destroyed", &d) && !d, "%s: not destroyed", r.what);
		ck_assert_msg(jstr(it, "created_by") != NULL, "%s: created_by", r.what);
	}
	expect_no_plaintext(&r);
	ck_assert_msg(!strstr(r.body, "\"value\""), "%s: versions must not carry values", r.what);
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/secrets?prefix=%s", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_array_size(jget(r.json, "secrets")) == 1, "%s: one match", r.what);
	json_t *m = jget(r.json, "secrets/0");
	ck_assert_str_eq(jstr(m, "name"), name);
	ck_assert_int_eq(jint(m, "current_version"), 2);
	ck_assert_int_eq(jint(m, "previous_version"), 1);
	ck_assert_int_eq(jint(m, "versions"), 2);
	ck_assert_int_eq(jint(m, "max_versions"), 20);
	ck_assert_msg(jstr(m, "description") && strcmp(jstr(m, "description"), "the db") == 0,
	              "%s: description", r.what);
	ck_assert_msg(jstr(m, "labels/team") && strcmp(jstr(m, "labels/team"), "core") == 0,
	              "%s: labels.team", r.what);
	bool del = true;
	ck_assert_msg(jbool(m, "deleted", &del) && !del, "%s: deleted false", r.what);
	ck_assert_msg(!strstr(r.body, "\"value\""), "%s: a list never carries values", r.what);
	expect_no_plaintext(&r);
	vresp_clear(&r);
}
END_TEST

START_TEST(test_put_check_and_set)
{
	char name[64], val[96];
	nm(name, sizeof(name), VIA, "cas");
	canary(val, sizeof(val), "cas");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, ",\"cas\":0"), 1);
	/* cas 0 = create only: the second time it conflicts. */
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, ",\"cas\":0"), -409);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, ",\"cas\":1"), 2);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, ",\"cas\":1"), -409);
	char *body = xfmt("{\"value\":\"%s\",\"cas\":7}", "eA==");
	char path[128];
	snprintf(path, sizeof(path), "/v1/secrets/%s", name);
	struct vresp r;
	vd_call(&g, VIA, "PUT", path, NULL, body, &r);
	EXPECT_ERROR(&r, 409, "cas_conflict");
	vresp_clear(&r);
	free(body);
	long long ver = 0;
	char *got = vd_get(&g, VIA, NULL, name, NULL, &ver);
	ck_assert_msg(got && strcmp(got, val) == 0 && ver == 2, "conflicts change nothing");
	free(got);
}
END_TEST

static bool all_in(const char *s, size_t want_len, int (*cls)(int), const char *extra)
{
	if (strlen(s) != want_len)
		return false;
	for (const char *p = s; *p; p++)
		if (!cls((unsigned char)*p) && !(extra && strchr(extra, *p)))
			return false;
	return true;
}
static int is_b64url(int c) { return isalnum(c); }
static int is_printable(int c) { return c > 32 && c < 127; }

START_TEST(test_rotate_generates_each_charset_and_hides_the_value)
{
	char name[64], val[96], path[128];
	nm(name, sizeof(name), VIA, "rot");
	canary(val, sizeof(val), "rot");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), 1);
	snprintf(path, sizeof(path), "/v1/secrets/%s/rotate", name);
	static const struct {
		const char *charset;
		int len;
		int (*cls)(int);
		const char *extra;
	} cs[] = {{"hex", 32, isxdigit, NULL},
	          {"alnum", 20, isalnum, NULL},
	          {"base64url", 24, is_b64url, "-_"},
	          {"ascii", 40, is_printable, NULL}};
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		char *body = xfmt("{\"generate\":{\"length\":%d,\"charset\":\"%s\"}}", cs[i].len,
		                  cs[i].charset);
		struct vresp r;
		vd_call(&g, VIA, "POST", path, NULL, body, &r);
		free(body);
		EXPECT_STATUS(&r, 200);
		EXPECT_JSTR(&r, "name", name);
		EXPECT_JINT(&r, "version", (long long)i + 2);
		EXPECT_JINT(&r, "previous_version", (long long)i + 1);
		ck_assert_msg(!jget(r.json, "value"), "%s: rotate must not return the value", r.what);
		vresp_clear(&r);
		long long ver = 0;
		char *got = vd_get(&g, VIA, NULL, name, NULL, &ver);
		ck_assert_msg(got && all_in(got, (size_t)cs[i].len, cs[i].cls, cs[i].extra),
		              "generated %s value of length %d: got length %zu", cs[i].charset, cs[i].len,
		              got ? strlen(got) : 0);
		ck_assert_int_eq(ver, (long long)i + 2);
		free(got);
	}
	/* Rotate to a given value. */
	char v2[96];
	canary(v2, sizeof(v2), "rot2");
	char *b = b64s(v2);
	char *body = xfmt("{\"value\":\"%s\"}", b);
	struct vresp r;
	vd_call(&g, VIA, "POST", path, NULL, body, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JINT(&r, "version", 6);
	expect_no_plaintext(&r);
	ck_assert_msg(!strstr(r.body, b), "%s: rotate must not echo the value", r.what);
	vresp_clear(&r);
	free(body);
	free(b);
	char *got = vd_get(&g, VIA, NULL, name, NULL, NULL);
	ck_assert_msg(got && strcmp(got, v2) == 0, "rotate with a value stores it");
	free(got);
}
END_TEST

START_TEST(test_rollback_makes_a_new_version_with_the_old_value)
{
	char name[64], v1[96], v2[96], path[128];
	nm(name, sizeof(name), VIA, "rb");
	canary(v1, sizeof(v1), "rb1");
	canary(v2, sizeof(v2), "rb2");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v1, NULL), 1);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v2, NULL), 2);
	snprintf(path, sizeof(path), "/v1/secrets/%s/rollback", name);
	struct vresp r;
	vd_call(&g, VIA, "POST", path, NULL, "{\"version\":1}", &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "name", name);
	EXPECT_JINT(&r, "version", 3);
	expect_no_plaintext(&r);
	vresp_clear(&r);
	long long ver = 0;
	char *got = vd_get(&g, VIA, NULL, name, NULL, &ver);
	ck_assert_msg(got && strcmp(got, v1) == 0 && ver == 3, "rollback: version 3 holds value 1");
	free(got);
	char q[128];
	snprintf(q, sizeof(q), "%s?stage=previous", name);
	got = vd_get(&g, VIA, NULL, q, NULL, &ver);
	ck_assert_msg(got && strcmp(got, v2) == 0 && ver == 2, "rollback: previous is version 2");
	free(got);
	vd_call(&g, VIA, "POST", path, NULL, "{\"version\":42}", &r);
	EXPECT_ERROR(&r, 404, "not_found");
	vresp_clear(&r);
}
END_TEST

START_TEST(test_delete_is_soft_and_undelete_restores)
{
	char name[64], val[96], path[160];
	nm(name, sizeof(name), VIA, "del");
	canary(val, sizeof(val), "del");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), 1);
	snprintf(path, sizeof(path), "/v1/secrets/%s", name);
	struct vresp r;
	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "name", name);
	bool b = false;
	ck_assert_msg(jbool(r.json, "deleted", &b) && b, "%s: deleted true", r.what);
	ck_assert_msg(jbool(r.json, "destroyed", &b) && !b, "%s: destroyed false", r.what);
	vresp_clear(&r);

	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_ERROR(&r, 404, "not_found");
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/secrets?prefix=%s", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_array_size(jget(r.json, "secrets")) == 0, "%s: deleted is not listed",
	              r.what);
	vresp_clear(&r);
	snprintf(path, sizeof(path), "/v1/secrets?prefix=%s&deleted=1", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_array_size(jget(r.json, "secrets")) == 1, "%s: listed with deleted=1",
	              r.what);
	ck_assert_msg(jbool(r.json, "secrets/0/deleted", &b) && b, "%s: marked deleted", r.what);
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/secrets/%s/undelete", name);
	vd_call(&g, VIA, "POST", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "name", name);
	ck_assert_msg(jbool(r.json, "deleted", &b) && !b, "%s: deleted false", r.what);
	vresp_clear(&r);
	char *got = vd_get(&g, VIA, NULL, name, NULL, NULL);
	ck_assert_msg(got && strcmp(got, val) == 0, "undelete brings the value back");
	free(got);

	snprintf(path, sizeof(path), "/v1/secrets/ep-%s-never-was", via_name(VIA));
	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_ERROR(&r, 404, "not_found");
	vresp_clear(&r);
}
END_TEST

START_TEST(test_destroy_one_version_then_all)
{
	char name[64], v1[96], v2[96], v3[96], path[160];
	nm(name, sizeof(name), VIA, "destroy");
	canary(v1, sizeof(v1), "ds1");
	canary(v2, sizeof(v2), "ds2");
	canary(v3, sizeof(v3), "ds3");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v1, NULL), 1);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v2, NULL), 2);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v3, NULL), 3);
	struct vresp r;
	snprintf(path, sizeof(path), "/v1/secrets/%s?destroy=1&version=1", name);
	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	snprintf(path, sizeof(path), "/v1/secrets/%s?version=1", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_ERROR(&r, 410, "destroyed");
	expect_no_plaintext(&r);
	vresp_clear(&r);
	char *got = vd_get(&g, VIA, NULL, name, NULL, NULL);
	ck_assert_msg(got && strcmp(got, v3) == 0, "destroying v1 leaves the current value");
	free(got);
	snprintf(path, sizeof(path), "/v1/secrets/%s/versions", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	bool seen = false;
	for (size_t i = 0; i < json_array_size(jget(r.json, "versions")); i++) {
		json_t *it = json_array_get(jget(r.json, "versions"), i);
		bool d = false;
		if (jint(it, "version") == 1) {
			seen = true;
			ck_assert_msg(jbool(it, "destroyed", &d) && d, "%s: v1 destroyed", r.what);
		} else {
			ck_assert_msg(jbool(it, "destroyed", &d) && !d, "%s: others intact", r.what);
		}
	}
	ck_assert_msg(seen, "%s: v1 still listed (destroyed)", r.what);
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/secrets/%s?destroy=1", name);
	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	bool b = false;
	ck_assert_msg(jbool(r.json, "destroyed", &b) && b, "%s: destroyed true", r.what);
	vresp_clear(&r);
	for (int v = 2; v <= 3; v++) {
		snprintf(path, sizeof(path), "/v1/secrets/%s?version=%d", name, v);
		vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
		ck_assert_msg(r.status == 410 || r.status == 404, "%s: gone after destroy, got %d",
		              r.what, r.status);
		ck_assert_msg(!jget(r.json, "value"), "%s: no value after destroy", r.what);
		vresp_clear(&r);
	}
}
END_TEST

START_TEST(test_max_versions_prunes_old_but_keeps_current_and_previous)
{
	char name[64], val[96], path[160];
	nm(name, sizeof(name), VIA, "prune");
	canary(val, sizeof(val), "prune");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, ",\"metadata\":{\"max_versions\":3}"), 1);
	for (int v = 2; v <= 6; v++)
		ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), v);
	struct vresp r;
	snprintf(path, sizeof(path), "/v1/secrets/%s/versions", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	json_t *vs = jget(r.json, "versions");
	ck_assert_msg(json_array_size(vs) == 3, "%s: 3 versions kept, got %zu", r.what, json_array_size(vs));
	for (size_t i = 0; i < json_array_size(vs); i++)
		ck_assert_msg(jint(json_array_get(vs, i), "version") >= 4, "%s: old versions pruned", r.what);
	vresp_clear(&r);
	snprintf(path, sizeof(path), "/v1/secrets/%s?version=1", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	ck_assert_msg(r.status == 404 || r.status == 410, "%s: pruned version gone, got %d", r.what, r.status);
	vresp_clear(&r);
	char q[128];
	snprintf(q, sizeof(q), "%s?stage=previous", name);
	long long ver = 0;
	char *got = vd_get(&g, VIA, NULL, q, NULL, &ver);
	ck_assert_msg(got && ver == 5, "previous (5) kept by pruning");
	free(got);
}
END_TEST

START_TEST(test_rollback_to_a_destroyed_version_is_410)
{
	char name[64], v1[96], path[160];
	nm(name, sizeof(name), VIA, "rbdestroyed");
	canary(v1, sizeof(v1), "rbd");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v1, NULL), 1);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, v1, NULL), 2);
	struct vresp r;
	snprintf(path, sizeof(path), "/v1/secrets/%s?destroy=1&version=1", name);
	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	snprintf(path, sizeof(path), "/v1/secrets/%s/rollback", name);
	vd_call(&g, VIA, "POST", path, NULL, "{\"version\":1}", &r);
	EXPECT_ERROR(&r, 410, "destroyed");
	vresp_clear(&r);
	long long ver = 0;
	free(vd_get(&g, VIA, NULL, name, NULL, &ver));
	ck_assert_int_eq(ver, 2);
}
END_TEST

/* ---- bundle ---- */

START_TEST(test_bundle_returns_all_or_names_the_missing)
{
	char a[64], b[64], va[96], vb1[96], vb2[96];
	nm(a, sizeof(a), VIA, "bundle-a");
	nm(b, sizeof(b), VIA, "bundle-b");
	canary(va, sizeof(va), "ba");
	canary(vb1, sizeof(vb1), "bb1");
	canary(vb2, sizeof(vb2), "bb2");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, a, va, NULL), 1);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, b, vb1, NULL), 1);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, b, vb2, NULL), 2);
	long long rev = vd_revision(&g);

	char *body = xfmt("{\"names\":[\"%s\",\"%s\"]}", a, b);
	struct vresp r;
	vd_call(&g, VIA, "POST", "/v1/bundle", NULL, body, &r);
	free(body);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(jint(r.json, "revision") == rev, "%s: revision %lld, want %lld", r.what,
	              jint(r.json, "revision"), rev);
	char p[160];
	snprintf(p, sizeof(p), "secrets/%s/version", b);
	EXPECT_JINT(&r, p, 2);
	snprintf(p, sizeof(p), "secrets/%s/value", a);
	char *got = jstr(r.json, p) ? unb64(jstr(r.json, p), NULL) : NULL;
	ck_assert_msg(got && strcmp(got, va) == 0, "%s: value of %s", r.what, a);
	free(got);
	snprintf(p, sizeof(p), "secrets/%s/value", b);
	got = jstr(r.json, p) ? unb64(jstr(r.json, p), NULL) : NULL;
	ck_assert_msg(got && strcmp(got, vb2) == 0, "%s: value of %s", r.what, b);
	free(got);
	vresp_clear(&r);

	body = xfmt("{\"names\":[\"%s\",\"%s\"],\"previous\":true}", a, b);
	vd_call(&g, VIA, "POST", "/v1/bundle", NULL, body, &r);
	free(body);
	EXPECT_STATUS(&r, 200);
	snprintf(p, sizeof(p), "secrets/%s/previous/version", b);
	EXPECT_JINT(&r, p, 1);
	snprintf(p, sizeof(p), "secrets/%s/previous/value", b);
	got = jstr(r.json, p) ? unb64(jstr(r.json, p), NULL) : NULL;
	ck_assert_msg(got && strcmp(got, vb1) == 0, "%s: previous value of %s", r.what, b);
	free(got);
	snprintf(p, sizeof(p), "secrets/%s/previous", a);
	ck_assert_msg(json_is_null(jget(r.json, p)), "%s: %s has no previous (null)", r.what, a);
	vresp_clear(&r);

	/* A name asked for twice is answered once: the answer stays JSON that a
	 * strict parser (inject's refuses duplicate keys) accepts. */
	body = xfmt("{\"names\":[\"%s\",\"%s\",\"%s\"]}", b, a, b);
	vd_call(&g, VIA, "POST", "/v1/bundle", NULL, body, &r);
	free(body);
	EXPECT_STATUS(&r, 200);
	json_t *strict = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_msg(strict, "%s: duplicate keys in %s", r.what, r.body);
	json_t *secrets = json_object_get(strict, "secrets");
	ck_assert_int_eq(json_object_size(secrets), 2);
	void *it = json_object_iter(secrets);
	ck_assert_msg(it && strcmp(json_object_iter_key(it), b) == 0 &&
	                  strcmp(json_object_iter_key(json_object_iter_next(secrets, it)), a) == 0,
	              "%s: answered in the order first asked: %s", r.what, r.body);
	json_decref(strict);
	snprintf(p, sizeof(p), "secrets/%s/version", b);
	EXPECT_JINT(&r, p, 2);
	vresp_clear(&r);

	body = xfmt("{\"names\":[\"%s\",\"ep-missing-1\",\"ep-missing-2\",\"ep-missing-1\"]}", a);
	vd_call(&g, VIA, "POST", "/v1/bundle", NULL, body, &r);
	free(body);
	EXPECT_ERROR(&r, 404, "not_found");
	ck_assert_msg(jarr_has(r.json, "error/names", "ep-missing-1") &&
	                  jarr_has(r.json, "error/names", "ep-missing-2") &&
	                  !jarr_has(r.json, "error/names", a),
	              "%s: error.names lists exactly the missing: %s", r.what, r.body);
	ck_assert_msg(json_array_size(jget(r.json, "error/names")) == 2,
	              "%s: a missing name asked for twice is listed once: %s", r.what, r.body);
	ck_assert_msg(!jget(r.json, "secrets"), "%s: a failed bundle returns no secret", r.what);
	expect_no_plaintext(&r);
	vresp_clear(&r);
}
END_TEST

/* The name field of the newest audit entry with action bundle.read
 * (malloc'd, or NULL). */
static char *last_bundle_entry_name(void)
{
	struct vresp r;
	vd_call(&g, VIA_LIB, "GET", "/v1/audit?since=0&limit=100000", NULL, NULL, &r);
	char *name = NULL;
	json_t *es = jget(r.json, "entries");
	for (size_t i = json_array_size(es); i-- > 0 && !name;) {
		json_t *e = json_array_get(es, i);
		if (jstr(e, "action") && strcmp(jstr(e, "action"), "bundle.read") == 0)
			name = strdup(jstr(e, "name") ? jstr(e, "name") : "");
	}
	vresp_clear(&r);
	return name;
}

/* A bundle's audit entry names what it read: whole names while they fit
 * in the 128-byte field, then "+"; a 128-byte name alone is kept whole. */
START_TEST(test_bundle_audit_entry_lists_its_names)
{
	char longn[129], s1[64], val[96];
	memset(longn, 'L', 128);
	longn[128] = '\0';
	longn[0] = VIA == VIA_LIB ? 'l' : 'c';
	nm(s1, sizeof(s1), VIA, "bundle-audit");
	canary(val, sizeof(val), "bau");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, longn, val, NULL), 1);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, s1, val, NULL), 1);
	char *bodies[3] = {xfmt("{\"names\":[\"%s\"]}", longn),
	                   xfmt("{\"names\":[\"%s\",\"%s\"]}", s1, longn),
	                   xfmt("{\"names\":[\"%s\",\"%s\"]}", longn, s1)};
	char *wants[3] = {xfmt("%s", longn), xfmt("%s+", s1), xfmt("%.127s+", longn)};
	for (int k = 0; k < 3; k++) {
		struct vresp r;
		vd_call(&g, VIA, "POST", "/v1/bundle", NULL, bodies[k], &r);
		EXPECT_STATUS(&r, 200);
		vresp_clear(&r);
		char *got = last_bundle_entry_name();
		ck_assert_msg(got && strcmp(got, wants[k]) == 0, "bundle %s: audit name %s, want %s",
		              bodies[k], got ? got : "(none)", wants[k]);
		free(got);
		free(bodies[k]);
		free(wants[k]);
	}
	/* Names that all fit are listed whole, joined by commas. */
	char *body = xfmt("{\"names\":[\"%s\",\"%s\"]}", s1, s1);
	struct vresp r;
	vd_call(&g, VIA, "POST", "/v1/bundle", NULL, body, &r);
	free(body);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	char *got = last_bundle_entry_name();
	char *want = xfmt("%s,%s", s1, s1);
	ck_assert_msg(got && strcmp(got, want) == 0, "audit name %s, want %s", got, want);
	free(got);
	free(want);
}
END_TEST

/* ---- watch (the timing tests are in it_watch) ---- */

START_TEST(test_watch_answers_now_without_since_and_at_once_for_older_revisions)
{
	char name[64], val[96], path[256];
	nm(name, sizeof(name), VIA, "watch");
	canary(val, sizeof(val), "watch");
	long long r0 = vd_revision(&g);
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), 1);
	struct vresp r;
	snprintf(path, sizeof(path), "/v1/watch?names=%s", name);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(jint(r.json, "revision") > r0, "%s: current revision", r.what);
	ck_assert_msg(json_array_size(jget(r.json, "changed")) == 0, "%s: changed []", r.what);
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/watch?names=%s&since=%lld&timeout=5", name, r0);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(jarr_has(r.json, "changed", name), "%s: %s changed", r.what, name);
	ck_assert_msg(r.ms < 2000, "%s: a change already past answers at once (%.0f ms)", r.what, r.ms);
	vresp_clear(&r);

	long long now = vd_revision(&g);
	snprintf(path, sizeof(path), "/v1/watch?names=%s&since=%lld&timeout=1", name, now);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 204);
	ck_assert_msg(r.len == 0, "%s: 204 has no body", r.what);
	ck_assert_msg(r.ms >= 900, "%s: answered before the timeout (%.0f ms)", r.what, r.ms);
	vresp_clear(&r);
}
END_TEST

/* ---- tokens and policies ---- */

START_TEST(test_policies_put_get_list_delete)
{
	char pol[64], path[128];
	nm(pol, sizeof(pol), VIA, "pol");
	snprintf(path, sizeof(path), "/v1/policies/%s", pol);
	struct vresp r;
	vd_call(&g, VIA, "PUT", path, NULL,
	        "{\"rules\":[{\"names\":\"app.*\",\"capabilities\":[\"read\",\"list\"]},"
	        "{\"names\":\"app.root\",\"capabilities\":[\"read\"],\"deny\":true}]}",
	        &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "name", pol);
	vresp_clear(&r);

	vd_call(&g, VIA, "GET", "/v1/policies", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(jarr_has(r.json, "policies", pol), "%s: lists %s", r.what, pol);
	vresp_clear(&r);

	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "name", pol);
	EXPECT_JSTR(&r, "rules/0/names", "app.*");
	ck_assert_msg(jarr_has(r.json, "rules/0/capabilities", "list"), "%s: capabilities", r.what);
	bool deny = false;
	ck_assert_msg(jbool(r.json, "rules/1/deny", &deny) && deny, "%s: rule 2 denies", r.what);
	vresp_clear(&r);

	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_ERROR(&r, 404, "not_found");
	vresp_clear(&r);
	vd_call(&g, VIA, "GET", "/v1/policies", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(!jarr_has(r.json, "policies", pol), "%s: %s gone", r.what, pol);
	vresp_clear(&r);
}
END_TEST

START_TEST(test_tokens_create_list_show_revoke)
{
	char pol[64], path[200];
	nm(pol, sizeof(pol), VIA, "tokpol");
	snprintf(path, sizeof(path), "/v1/policies/%s", pol);
	struct vresp r;
	vd_call(&g, VIA, "PUT", path, NULL,
	        "{\"rules\":[{\"names\":\"tok.*\",\"capabilities\":[\"read\"]}]}", &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);

	char *body = xfmt("{\"policies\":[\"%s\"],\"ttl\":3600,\"uses\":5}", pol);
	time_t t0 = time(NULL);
	vd_call(&g, VIA, "POST", "/v1/tokens", NULL, body, &r);
	free(body);
	EXPECT_STATUS(&r, 201);
	const char *tok = jstr(r.json, "token");
	ck_assert_msg(tok && strncmp(tok, "vd_", 3) == 0 && strlen(tok) >= 40, "%s: token vd_...",
	              r.what);
	char *token = strdup(tok);
	const char *acc = jstr(r.json, "accessor");
	ck_assert_msg(acc && *acc && !strstr(token, acc), "%s: an accessor unlike the token", r.what);
	char *accessor = strdup(acc);
	ck_assert_msg(jarr_has(r.json, "policies", pol), "%s: policies", r.what);
	long long exp = jint(r.json, "expires");
	ck_assert_msg(exp >= t0 + 3590 && exp <= time(NULL) + 3610, "%s: expires %lld", r.what, exp);
	EXPECT_JINT(&r, "uses", 5);
	vresp_clear(&r);

	vd_call(&g, VIA, "GET", "/v1/tokens", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(!strstr(r.body, token), "%s: the token itself is never listed", r.what);
	bool found = false;
	for (size_t i = 0; i < json_array_size(jget(r.json, "tokens")); i++) {
		json_t *t = json_array_get(jget(r.json, "tokens"), i);
		if (jstr(t, "accessor") && strcmp(jstr(t, "accessor"), accessor) == 0) {
			found = true;
			ck_assert_int_eq(jint(t, "uses_left"), 5);
			ck_assert_msg(jarr_has(t, "policies", pol), "policies in the list");
			ck_assert_msg(jint(t, "created") >= t0 - 1, "created");
			ck_assert_msg(jstr(t, "created_by") != NULL, "created_by");
		}
	}
	ck_assert_msg(found, "%s: accessor %s listed", r.what, accessor);
	vresp_clear(&r);

	snprintf(path, sizeof(path), "/v1/tokens/%s", accessor);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "accessor", accessor);
	ck_assert_msg(!strstr(r.body, token), "%s: no token in the answer", r.what);
	vresp_clear(&r);

	vd_call(&g, VIA, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "accessor", accessor);
	bool rev = false;
	ck_assert_msg(jbool(r.json, "revoked", &rev) && rev, "%s: revoked true", r.what);
	vresp_clear(&r);

	vd_call(&g, VIA, "GET", "/v1/tokens/no-such-accessor", NULL, NULL, &r);
	EXPECT_ERROR(&r, 404, "not_found");
	vresp_clear(&r);
	sodium_memzero(token, strlen(token));
	free(token);
	free(accessor);
}
END_TEST

/* ---- audit ---- */

START_TEST(test_audit_lists_a_linked_chain_and_verifies)
{
	char name[64], val[96];
	nm(name, sizeof(name), VIA, "audited");
	canary(val, sizeof(val), "audit");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), 1);
	free(vd_get(&g, VIA, NULL, name, NULL, NULL));

	struct vresp r;
	/* Paging: since is exclusive; "next" continues without a gap or overlap. */
	vd_call(&g, VIA, "GET", "/v1/audit?since=0&limit=3", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_array_size(jget(r.json, "entries")) == 3, "%s: limit=3 gives 3", r.what);
	EXPECT_JINT(&r, "entries/0/seq", 1);
	long long last = jint(r.json, "entries/2/seq"), next = jint(r.json, "next");
	vresp_clear(&r);
	char *p2 = xfmt("/v1/audit?since=%lld&limit=2", next);
	vd_call(&g, VIA, "GET", p2, NULL, NULL, &r);
	free(p2);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_array_size(jget(r.json, "entries")) == 2, "%s: limit=2 gives 2", r.what);
	EXPECT_JINT(&r, "entries/0/seq", last + 1);
	vresp_clear(&r);

	vd_call(&g, VIA, "GET", "/v1/audit?since=0&limit=100000", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	expect_no_plaintext(&r);
	json_t *es = jget(r.json, "entries");
	size_t n = json_array_size(es);
	ck_assert_msg(n >= 3, "%s: entries", r.what);
	bool saw_write = false, saw_read = false;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(es, i);
		const char *h = jstr(e, "hash"), *prev = jstr(e, "prev");
		ck_assert_msg(h && strlen(h) == 64 && prev && strlen(prev) == 64, "entry %zu hashes", i);
		if (i > 0) {
			json_t *p = json_array_get(es, i - 1);
			ck_assert_int_eq(jint(e, "seq"), jint(p, "seq") + 1);
			ck_assert_msg(strcmp(prev, jstr(p, "hash")) == 0, "entry %lld prev links back",
			              jint(e, "seq"));
		}
		const char *en = jstr(e, "name"), *act = jstr(e, "action");
		ck_assert_msg(act && jstr(e, "result") && jint(e, "time_ms") > 1600000000000LL &&
		                  jint(e, "uid") >= 0 && jint(e, "status") >= 100,
		              "entry %zu fields", i);
		if (en && strcmp(en, name) == 0 && jint(e, "status") == 200) {
			saw_write |= strstr(act, "write") || strstr(act, "put");
			saw_read |= strstr(act, "read") || strstr(act, "get");
		}
	}
	ck_assert_msg(saw_write && saw_read, "%s: the write and the read of %s are audited", r.what,
	              name);
	long long newest = jint(json_array_get(es, n - 1), "seq");
	vresp_clear(&r);

	/* last=N: the newest N, here the last one listed above and that
	 * listing's own entry; not with since or limit, not 0. */
	vd_call(&g, VIA, "GET", "/v1/audit?last=2", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(json_array_size(jget(r.json, "entries")) == 2, "%s: last=2 gives 2", r.what);
	EXPECT_JINT(&r, "entries/0/seq", newest);
	EXPECT_JINT(&r, "entries/1/seq", newest + 1);
	EXPECT_JSTR(&r, "entries/1/action", "audit.read");
	EXPECT_JINT(&r, "next", newest + 1);
	vresp_clear(&r);
	static const char *const bad_last[] = {"/v1/audit?last=0", "/v1/audit?last=2&since=1",
	                                       "/v1/audit?last=2&limit=5", "/v1/audit?last=x"};
	for (size_t i = 0; i < sizeof(bad_last) / sizeof(bad_last[0]); i++) {
		vd_call(&g, VIA, "GET", bad_last[i], NULL, NULL, &r);
		EXPECT_ERROR(&r, 400, "bad_request");
		vresp_clear(&r);
	}

	vd_call(&g, VIA, "GET", "/v1/audit/verify", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	bool ok = false;
	ck_assert_msg(jbool(r.json, "ok", &ok) && ok, "%s: chain intact: %s", r.what, r.body);
	ck_assert_msg(jint(r.json, "checked") >= (long long)n, "%s: checked all", r.what);
	vresp_clear(&r);

	/* The --audit-log copy: JSON lines naming the secret, never the value. */
	size_t len = 0;
	char *log = slurp(g.audit_log, &len);
	ck_assert_msg(log && len > 0, "audit log %s written", g.audit_log);
	ck_assert_msg(strstr(log, name) != NULL, "audit log names %s", name);
	ck_assert_msg(!strstr(log, VD_CANARY), "audit log holds no value");
	json_t *first = json_loadb(log, strcspn(log, "\n"), 0, NULL);
	ck_assert_msg(json_is_object(first), "audit log lines are JSON objects");
	json_decref(first);
	free(log);
}
END_TEST

/* ---- backup ---- */

START_TEST(test_backup_is_a_consistent_sqlite_snapshot_without_plaintext)
{
	char name[64], val[96];
	nm(name, sizeof(name), VIA, "backed");
	canary(val, sizeof(val), "backup");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), 1);
	struct vresp r;
	struct vreq q = {.method = "GET", .path = "/v1/sys/backup"};
	vd_do(&g, VIA, &q, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(strncmp(r.ctype, "application/octet-stream", 24) == 0, "%s: content type %s",
	              r.what, r.ctype);
	ck_assert_msg(r.len > 4096 && memcmp(r.body, "SQLite format 3", 16) == 0,
	              "%s: an SQLite database (%zu bytes)", r.what, r.len);
	ck_assert_msg(!memmem(r.body, r.len, VD_CANARY, strlen(VD_CANARY)),
	              "%s: values stay sealed in a backup", r.what);
	char *path = xfmt("%s/backup-%s.db", g.dir, via_name(VIA));
	FILE *f = fopen(path, "we");
	ck_assert_msg(f && fwrite(r.body, 1, r.len, f) == r.len && fclose(f) == 0, "save backup");
	vresp_clear(&r);
	char *out = NULL;
	const char *argv[] = {bin_path("SQLITE3_BIN", "/usr/bin/sqlite3"), path,
	                      "PRAGMA integrity_check;", NULL};
	int rc = run_cmd(argv, NULL, &out);
	ck_assert_msg(rc == 0 && strncmp(out, "ok", 2) == 0, "backup integrity_check: %s", out);
	free(out);
	free(path);
}
END_TEST

/* ---- plaintext on disk while the daemon runs ---- */

START_TEST(test_live_db_wal_shm_and_logs_hold_no_plaintext)
{
	char name[64], val[96];
	nm(name, sizeof(name), VIA, "ondisk");
	canary(val, sizeof(val), "ondisk");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), 1);
	free(vd_get(&g, VIA, NULL, name, NULL, NULL));
	char wal[VD_PATH_MAX + 8];
	snprintf(wal, sizeof(wal), "%s-wal", g.store);
	ck_assert_msg(access(wal, F_OK) == 0, "the store runs in WAL mode (%s)", wal);
	size_t files = 0;
	size_t hits = vd_scan_dir(g.dir, &files, NULL);
	ck_assert_msg(hits == 0, "%zu plaintext or base64 canary hit(s) under %s (see above)", hits, g.dir);
	ck_assert_msg(files >= 4, "scanned the store, its WAL, and the logs (%zu files)", files);
}
END_TEST

/* ---- seal / unseal (own daemon: sealing affects everything) ---- */

START_TEST(test_seal_makes_reads_503_and_unseal_needs_the_right_key)
{
	char name[64], val[96], path[128];
	nm(name, sizeof(name), VIA, "sealme");
	canary(val, sizeof(val), "seal");
	ck_assert_int_eq(vd_put(&g, VIA, NULL, name, val, NULL), 1);
	snprintf(path, sizeof(path), "/v1/secrets/%s", name);

	/* Unsealed already: the state is the answer, the key is not checked,
	 * a wrong key and a passphrase (of a key-file store) alike. */
	struct vresp r;
	bool b = true;
	static const char *already[] = {
	    "{\"key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
	    "{\"passphrase\":\"not this store's kind\"}"};
	for (size_t i = 0; i < 2; i++) {
		vd_call(&g, VIA, "POST", "/v1/sys/unseal", NULL, already[i], &r);
		EXPECT_STATUS(&r, 200);
		ck_assert_msg(jbool(r.json, "sealed", &b) && !b, "%s: sealed false", r.what);
		vresp_clear(&r);
	}
	vd_call(&g, VIA, "POST", "/v1/sys/unseal", NULL, "{\"key\":1}", &r);
	EXPECT_ERROR(&r, 400, "bad_value"); /* the body is still checked */
	vresp_clear(&r);

	vd_call(&g, VIA, "POST", "/v1/sys/seal", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(jbool(r.json, "sealed", &b) && b, "%s: sealed true", r.what);
	vresp_clear(&r);

	vd_call(&g, VIA, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 503);
	EXPECT_JSTR(&r, "status", "sealed");
	vresp_clear(&r);
	vd_call(&g, VIA, "GET", "/v1/sys/status", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(jbool(r.json, "sealed", &b) && b, "%s: status says sealed", r.what);
	vresp_clear(&r);
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_ERROR(&r, 503, "sealed");
	expect_no_plaintext(&r);
	vresp_clear(&r);

	unsigned char zero[32] = {0};
	char *bz = b64(zero, sizeof(zero));
	char *body = xfmt("{\"key\":\"%s\"}", bz);
	vd_call(&g, VIA, "POST", "/v1/sys/unseal", NULL, body, &r);
	EXPECT_ERROR(&r, 400, "unseal_failed");
	vresp_clear(&r);
	free(body);
	free(bz);
	vd_call(&g, VIA, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 503);
	vresp_clear(&r);

	size_t klen = 0;
	char *key = slurp(g.key, &klen);
	ck_assert_msg(key && klen == 32, "key file is 32 bytes");
	char *bk = b64(key, klen);
	body = xfmt("{\"key\":\"%s\"}", bk);
	vd_call(&g, VIA, "POST", "/v1/sys/unseal", NULL, body, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(jbool(r.json, "sealed", &b) && !b, "%s: sealed false", r.what);
	vresp_clear(&r);
	sodium_memzero(body, strlen(body));
	sodium_memzero(bk, strlen(bk));
	sodium_memzero(key, klen);
	free(body);
	free(bk);
	free(key);

	vd_call(&g, VIA, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	char *got = vd_get(&g, VIA, NULL, name, NULL, NULL);
	ck_assert_msg(got && strcmp(got, val) == 0, "value readable after unseal");
	free(got);
}
END_TEST

/* ---- process ---- */

static const int stop_signals[] = {SIGTERM, SIGINT};

START_TEST(test_sigterm_or_sigint_exits_0_and_removes_the_socket)
{
	struct vd v;
	vd_up(&v, stop_signals[_i] == SIGTERM ? "sigterm" : "sigint");
	struct vresp r;
	vd_call(&v, VIA_LIB, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	int rc = vd_stop_with(&v, stop_signals[_i]);
	ck_assert_msg(rc == 0, "vaultd exited %d after signal %d, expected 0 (log %s)", rc,
	              stop_signals[_i], v.log);
	ck_assert_msg(access(v.sock, F_OK) != 0, "socket %s removed on exit", v.sock);
	/* A stale socket file left behind is replaced on the next start. */
	vd_start(&v);
	vd_kill9(&v);
	ck_assert_msg(access(v.sock, F_OK) == 0, "kill -9 leaves the socket file");
	vd_start(&v);
	vd_call(&v, VIA_CURL, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

START_TEST(test_second_daemon_on_a_live_socket_refuses_and_the_first_serves_on)
{
	struct vd v, w;
	vd_up(&v, "livesock");
	vd_prepare(&w, "livesock2");
	vd_init_keyfile(&w);
	const char *argv[] = {bin_path("VAULTD_BIN", NULL), "serve", "--store", w.store, "--socket",
	                      v.sock, "--key-file", w.key, NULL};
	int in = -1, out = -1;
	pid_t pid = run_bg(argv, &in, &out);
	close(in);
	int st = 0;
	double until = now_ms() + 15000;
	pid_t r = 0;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() < until)
		sleep_ms(20);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	char msg[1024] = "";
	ssize_t n = read(out, msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = 0;
	close(out);
	ck_assert_msg(r == pid, "a second vaultd on a live socket must exit, it kept running");
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "it exits non-zero (status 0x%x)", st);
	ck_assert_msg(strstr(msg, v.sock) != NULL, "its message names the socket: %s", msg);
	struct vresp rr;
	vd_call(&v, VIA_CURL, "GET", "/v1/health", NULL, NULL, &rr);
	EXPECT_STATUS(&rr, 200);
	vresp_clear(&rr);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

START_TEST(test_sighup_reopens_the_audit_log)
{
	struct vd v;
	vd_up(&v, "sighup");
	char val[96], moved[VD_PATH_MAX + 8];
	canary(val, sizeof(val), "hup");
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "hup.before", val, NULL), 1);
	snprintf(moved, sizeof(moved), "%s.1", v.audit_log);
	ck_assert_int_eq(rename(v.audit_log, moved), 0);
	ck_assert_int_eq(kill(v.pid, SIGHUP), 0);
	sleep_ms(300);
	ck_assert_int_eq(vd_put(&v, VIA_CURL, NULL, "hup.after", val, NULL), 1);
	char *now = NULL;
	for (int i = 0; i < 100 && !(now && strstr(now, "hup.after")); i++) {
		free(now);
		sleep_ms(20);
		now = slurp(v.audit_log, NULL);
	}
	ck_assert_msg(now && strstr(now, "hup.after"), "after SIGHUP new entries go to a new %s", v.audit_log);
	free(now);
	char *old = slurp(moved, NULL);
	ck_assert_msg(old && strstr(old, "hup.before") && !strstr(old, "hup.after"),
	              "the rotated file keeps the old entries only");
	free(old);
	ck_assert_msg(vd_alive(&v), "SIGHUP does not stop vaultd");
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

/* The sealed blob of one version, read with the sqlite3 CLI (hex), or NULL. */
static char *blob_hex(const struct vd *v, const char *name, int version)
{
	char *q = xfmt("SELECT hex(v.value) FROM versions v JOIN secrets s ON s.id = v.secret_id "
	               "WHERE s.name = '%s' AND v.version = %d;",
	               name, version);
	const char *argv[] = {bin_path("SQLITE3_BIN", "/usr/bin/sqlite3"), v->store, q, NULL};
	char *out = NULL;
	int rc = run_cmd(argv, NULL, &out);
	free(q);
	out[strcspn(out, "\n")] = 0;
	if (rc != 0 || strlen(out) < 64) {
		free(out);
		return NULL;
	}
	return out;
}

/* Is the (hex-given) byte string anywhere in the file? */
static bool file_has(const char *path, const char *hex)
{
	size_t hl = strlen(hex) / 2, n = 0;
	unsigned char *bin = malloc(hl);
	sodium_hex2bin(bin, hl, hex, strlen(hex), NULL, &hl, NULL);
	char *s = slurp(path, &n);
	bool has = s && memmem(s, n, bin, hl) != NULL;
	free(s);
	free(bin);
	return has;
}

START_TEST(test_destroy_overwrites_the_ciphertext_in_the_file)
{
	struct vd v;
	vd_up(&v, "wipe");
	char val[96];
	canary(val, sizeof(val), "wipe");
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "wipe.one", val, NULL), 1);
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "wipe.one", val, NULL), 2);
	char *h1 = blob_hex(&v, "wipe.one", 1), *h2 = blob_hex(&v, "wipe.one", 2);
	ck_assert_msg(h1 && h2, "sealed blobs of versions 1 and 2 visible to sqlite3");
	struct vresp r;
	vd_call(&v, VIA_CURL, "DELETE", "/v1/secrets/wipe.one?destroy=1&version=1", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	ck_assert_int_eq(vd_stop_status(&v), 0); /* checkpoints the WAL into the file */
	char wal[VD_PATH_MAX + 8];
	snprintf(wal, sizeof(wal), "%s-wal", v.store);
	ck_assert_msg(file_has(v.store, h2), "version 2's blob is in the file (the search works)");
	ck_assert_msg(!file_has(v.store, h1) && !file_has(wal, h1),
	              "destroyed version 1's ciphertext is still in %s", v.store);
	free(h1);
	free(h2);
}
END_TEST

static TCase *loop_case(const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, t, VIA_LIB, VIA_CURL + 1);
	return tc;
}

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd endpoints");
	TCase *tc = tcase_create("families");
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 90);
	const TTest *tests[] = {
		test_health_answers_ok_when_unsealed,
		test_status_reports_version_backend_and_counts,
		test_metrics_is_prometheus_text_with_the_listed_families,
		test_secret_put_get_versions_and_list,
		test_repeated_reads_hit_the_cache_and_every_write_is_seen_at_once,
		test_put_check_and_set,
		test_rotate_generates_each_charset_and_hides_the_value,
		test_rollback_makes_a_new_version_with_the_old_value,
		test_delete_is_soft_and_undelete_restores,
		test_destroy_one_version_then_all,
		test_max_versions_prunes_old_but_keeps_current_and_previous,
		test_rollback_to_a_destroyed_version_is_410,
		test_bundle_returns_all_or_names_the_missing,
		test_bundle_audit_entry_lists_its_names,
		test_watch_answers_now_without_since_and_at_once_for_older_revisions,
		test_policies_put_get_list_delete,
		test_tokens_create_list_show_revoke,
		test_audit_lists_a_linked_chain_and_verifies,
		test_backup_is_a_consistent_sqlite_snapshot_without_plaintext,
		test_live_db_wal_shm_and_logs_hold_no_plaintext,
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_loop_test(tc, tests[i], VIA_LIB, VIA_CURL + 1);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, loop_case("seal", test_seal_makes_reads_503_and_unseal_needs_the_right_key));
	TCase *proc = tcase_create("process");
	tcase_set_timeout(proc, 60);
	tcase_add_loop_test(proc, test_sigterm_or_sigint_exits_0_and_removes_the_socket, 0,
	                    (int)(sizeof(stop_signals) / sizeof(stop_signals[0])));
	tcase_add_test(proc, test_second_daemon_on_a_live_socket_refuses_and_the_first_serves_on);
	tcase_add_test(proc, test_sighup_reopens_the_audit_log);
	tcase_add_test(proc, test_destroy_overwrites_the_ciphertext_in_the_file);
	suite_add_tcase(s, proc);
	return vd_run_suite(s);
}
