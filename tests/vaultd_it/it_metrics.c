/* GET /metrics against fresh daemons, by exact sample name: request counters
 * by route, method and status move by what was asked, the latency histogram
 * counts every request, and the sealed, secrets and open-connections gauges
 * follow the daemon's state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define HEALTH_200 "vaultd_requests_total{route=\"/v1/health\",method=\"GET\",status=\"200\"}"
#define SECRET_404                                                                                 \
	"vaultd_requests_total{route=\"/v1/secrets/{name}\",method=\"GET\",status=\"404\"}"

static void scrape(const struct vd *v, struct vresp *r)
{
	vd_call(v, VIA_LIB, "GET", "/metrics", NULL, NULL, r);
	EXPECT_STATUS(r, 200);
}

/* The value of the sample whose name and labels are exactly key; -1 when
 * there is none (counters appear at their first increment). */
static double sample(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		const char *e = strchr(p, '\n');
		p = e ? e + 1 : NULL;
	}
	return -1;
}

static double counter(const char *text, const char *key)
{
	double v = sample(text, key);
	return v < 0 ? 0 : v;
}

/* Every vaultd_requests_total sample carries route, method and status, in
 * that order, and a count. */
static void expect_request_samples_labelled(const char *text)
{
	static const char pre[] = "vaultd_requests_total{route=\"";
	ck_assert_msg(strstr(text, "# TYPE vaultd_requests_total counter\n"),
	              "no \"# TYPE vaultd_requests_total counter\" line");
	size_t seen = 0;
	for (const char *p = text; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (strncmp(p, "vaultd_requests_total", 21) == 0) {
			char line[512] = "";
			snprintf(line, sizeof(line), "%.*s", (int)(l < 511 ? l : 511), p);
			char route[128], method[16], status[16];
			unsigned long long count = 0;
			int got =
			    sscanf(line,
			           "vaultd_requests_total{route=\"%127[^\"]\",method=\"%15[^\"]\","
			           "status=\"%15[^\"]\"} %llu",
			           route, method, status, &count);
			ck_assert_msg(strncmp(line, pre, sizeof(pre) - 1) == 0 && got == 4 &&
			                  count > 0,
			              "malformed request counter sample: %s", line);
			seen++;
		}
		p = e ? e + 1 : NULL;
	}
	ck_assert_msg(seen > 0, "no vaultd_requests_total samples");
}

START_TEST(test_request_counters_grow_by_the_requests_made_per_route_and_status)
{
	enum { N_HEALTH = 3, N_MISSING = 2 };
	struct vd v;
	vd_up(&v, "metrics-req");
	struct vresp r;
	scrape(&v, &r);
	double h0 = counter(r.body, HEALTH_200), m0 = counter(r.body, SECRET_404);
	double c0 = sample(r.body, "vaultd_request_duration_seconds_count");
	vresp_clear(&r);

	for (int i = 0; i < N_HEALTH; i++) {
		vd_call(&v, i % 2 ? VIA_CURL : VIA_LIB, "GET", "/v1/health", NULL, NULL, &r);
		EXPECT_STATUS(&r, 200);
		vresp_clear(&r);
	}
	for (int i = 0; i < N_MISSING; i++) {
		vd_call(&v, VIA_LIB, "GET", "/v1/secrets/metrics.missing", NULL, NULL, &r);
		EXPECT_STATUS(&r, 404);
		vresp_clear(&r);
	}

	scrape(&v, &r);
	expect_request_samples_labelled(r.body);
	double h1 = sample(r.body, HEALTH_200), m1 = sample(r.body, SECRET_404);
	ck_assert_msg(h1 - h0 == N_HEALTH, "%s: expected +%d, went %g -> %g", HEALTH_200, N_HEALTH,
	              h0, h1);
	ck_assert_msg(m1 - m0 == N_MISSING, "%s: expected +%d, went %g -> %g", SECRET_404,
	              N_MISSING, m0, m1);
	/* The histogram saw those and the first scrape (counted once answered). */
	double c1 = sample(r.body, "vaultd_request_duration_seconds_count");
	double inf = sample(r.body, "vaultd_request_duration_seconds_bucket{le=\"+Inf\"}");
	ck_assert_msg(c0 >= 0 && c1 - c0 == N_HEALTH + N_MISSING + 1,
	              "vaultd_request_duration_seconds_count: expected +%d, went %g -> %g",
	              N_HEALTH + N_MISSING + 1, c0, c1);
	ck_assert_msg(inf == c1, "the +Inf bucket (%g) must equal the count (%g)", inf, c1);
	vresp_clear(&r);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

START_TEST(test_sealed_gauge_reads_1_while_sealed_and_0_after_unseal)
{
	struct vd v;
	vd_up(&v, "metrics-seal");
	ck_assert_msg(vd_metric(&v, "vaultd_sealed") == 0,
	              "vaultd_sealed unsealed: expected 0, got %g", vd_metric(&v, "vaultd_sealed"));
	struct vresp r;
	vd_call(&v, VIA_LIB, "POST", "/v1/sys/seal", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	double sealed = vd_metric(&v, "vaultd_sealed");
	ck_assert_msg(sealed == 1, "vaultd_sealed after POST /v1/sys/seal: expected 1, got %g",
	              sealed);

	size_t klen = 0;
	char *key = slurp(v.key, &klen);
	ck_assert_msg(key && klen == 32, "key file %s is 32 bytes", v.key);
	char *bk = b64(key, klen);
	char *body = xfmt("{\"key\":\"%s\"}", bk);
	vd_call(&v, VIA_LIB, "POST", "/v1/sys/unseal", NULL, body, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	sodium_memzero(body, strlen(body));
	sodium_memzero(bk, strlen(bk));
	sodium_memzero(key, klen);
	free(body);
	free(bk);
	free(key);
	sealed = vd_metric(&v, "vaultd_sealed");
	ck_assert_msg(sealed == 0, "vaultd_sealed after unseal: expected 0, got %g", sealed);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

START_TEST(test_secrets_gauge_counts_the_live_secrets_of_a_fresh_store)
{
	struct vd v;
	vd_up(&v, "metrics-count");
	ck_assert_msg(vd_metric(&v, "vaultd_secrets") == 0, "vaultd_secrets of a new store: got %g",
	              vd_metric(&v, "vaultd_secrets"));
	static const char *const names[] = {"metrics.a", "metrics.b", "metrics.c"};
	char val[96];
	for (size_t i = 0; i < 3; i++) {
		canary(val, sizeof(val), "metrics");
		ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, names[i], val, NULL), 1);
	}
	/* A second version is not a second secret. */
	canary(val, sizeof(val), "metrics");
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, names[0], val, NULL), 2);
	double n = vd_metric(&v, "vaultd_secrets");
	ck_assert_msg(n == 3, "vaultd_secrets after 3 secrets (4 versions): expected 3, got %g", n);

	struct vresp r;
	vd_call(&v, VIA_LIB, "DELETE", "/v1/secrets/metrics.b", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	n = vd_metric(&v, "vaultd_secrets");
	ck_assert_msg(n == 2, "vaultd_secrets after deleting one: expected 2, got %g", n);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

/* Polls the gauge for up to ms until it equals want; its last value. */
static double await_gauge(const struct vd *v, const char *name, double want, int ms)
{
	double got = vd_metric(v, name);
	for (double until = now_ms() + ms; got != want && now_ms() < until; sleep_ms(20))
		got = vd_metric(v, name);
	return got;
}

START_TEST(test_open_connections_gauge_counts_held_connections)
{
	static const char g[] = "vaultd_open_connections";
	static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct vd v;
	vd_up(&v, "metrics-conns");
	/* Only the scrape's own connection once the start-up probes are gone. */
	double idle = await_gauge(&v, g, 1, 3000);
	ck_assert_msg(idle == 1, "%s with no other client: expected 1 (the scrape), got %g", g,
	              idle);

	int held[2];
	for (int i = 0; i < 2; i++) {
		held[i] = vd_connect(&v);
		ck_assert_int_ge(held[i], 0);
		ck_assert_int_eq(write_all(held[i], req, sizeof(req) - 1), 0);
		ck_assert_int_eq(raw_read_status(held[i], 5000), 200); /* accepted, kept alive */
	}
	double busy = vd_metric(&v, g);
	ck_assert_msg(busy >= idle + 2, "%s with 2 connections held: expected >= %g, got %g", g,
	              idle + 2, busy);
	close(held[0]);
	close(held[1]);
	double after = await_gauge(&v, g, idle, 3000);
	ck_assert_msg(after == idle, "%s after closing them: expected %g again, got %g", g, idle,
	              after);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd metrics");
	TCase *tc = tcase_create("metrics");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_request_counters_grow_by_the_requests_made_per_route_and_status);
	tcase_add_test(tc, test_sealed_gauge_reads_1_while_sealed_and_0_after_unseal);
	tcase_add_test(tc, test_secrets_gauge_counts_the_live_secrets_of_a_fresh_store);
	tcase_add_test(tc, test_open_connections_gauge_counts_held_connections);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
