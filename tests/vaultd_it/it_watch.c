/* Watch long-polls against a real vaultd: a change wakes a waiting watcher in
 * under 100 ms (measured here), timeouts answer 204, unrelated changes do not
 * wake, and 200 idle watchers do not block other requests. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define WAKE_MS 100.0
/* The wake-up is measured on a shared 2-core machine (and under ASan):
 * only machine noise earns a retry, and every attempt is printed. */
#define WAKE_ATTEMPTS 3
#define PARK_MS 400 /* time for a watcher to be parked before the change */

static struct vd g;

#define VIA ((enum via)_i)

static void up(void) { vd_up(&g, "watch"); }
static void down(void) { vd_stop(&g); }

struct watcher {
	enum via via;
	char path[256];
	struct vresp r;
	double done_ms;
	pthread_t th;
};

static void *watcher_main(void *arg)
{
	struct watcher *w = arg;
	struct vreq q = {.method = "GET", .path = w->path, .timeout_ms = 30000};
	vd_do(&g, w->via, &q, &w->r);
	w->done_ms = now_ms();
	return NULL;
}

static void watch_start(struct watcher *w, enum via via, const char *names, long long since, int timeout)
{
	memset(w, 0, sizeof(*w));
	w->via = via;
	snprintf(w->path, sizeof(w->path), "/v1/watch?names=%s&since=%lld&timeout=%d", names, since, timeout);
	ck_assert_int_eq(pthread_create(&w->th, NULL, watcher_main, w), 0);
}

static void put_new(const char *name)
{
	char v[96];
	canary(v, sizeof(v), "watch");
	ck_assert_msg(vd_put(&g, VIA_LIB, NULL, name, v, NULL) > 0, "write %s", name);
}

START_TEST(test_change_wakes_a_waiting_watcher_within_100ms)
{
	char name[64];
	snprintf(name, sizeof(name), "w-%s-wake", via_name(VIA));
	put_new(name);
	double best = 1e9;
	for (int attempt = 1; attempt <= WAKE_ATTEMPTS; attempt++) {
		long long rev = vd_revision(&g);
		struct watcher w;
		watch_start(&w, VIA, name, rev, 20);
		sleep_ms(PARK_MS);
		double t0 = now_ms();
		put_new(name);
		double t1 = now_ms();
		pthread_join(w.th, NULL);
		EXPECT_STATUS(&w.r, 200);
		ck_assert_msg(w.done_ms > t0, "%s answered before the change", w.r.what);
		ck_assert_msg(jarr_has(w.r.json, "changed", name), "%s: changed lists %s: %s", w.r.what,
		              name, w.r.body);
		ck_assert_msg(jint(w.r.json, "revision") > rev, "%s: revision advanced", w.r.what);
		double wake = w.done_ms - t0;
		printf("watch wake-up via %s, attempt %d: %.1f ms from the write's start (write took %.1f ms)\n",
		       via_name(VIA), attempt, wake, t1 - t0);
		vresp_clear(&w.r);
		if (wake < best)
			best = wake;
		if (best < WAKE_MS)
			break;
	}
	ck_assert_msg(best < WAKE_MS, "watcher woke %.1f ms after the change (limit %.0f ms, best of %d)",
	              best, WAKE_MS, WAKE_ATTEMPTS);
}
END_TEST

START_TEST(test_timeout_answers_204_without_body)
{
	char name[64];
	snprintf(name, sizeof(name), "w-%s-quiet", via_name(VIA));
	put_new(name);
	char path[200];
	snprintf(path, sizeof(path), "/v1/watch?names=%s&since=%lld&timeout=1", name, vd_revision(&g));
	struct vresp r;
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 204);
	ck_assert_msg(r.len == 0, "%s: 204 without a body, got %zu bytes", r.what, r.len);
	ck_assert_msg(r.ms >= 950 && r.ms < 3000, "%s: answered after %.0f ms for timeout=1", r.what, r.ms);
	vresp_clear(&r);
}
END_TEST

START_TEST(test_unrelated_change_does_not_wake_and_any_listed_name_does)
{
	char a[64], b[64], other[64], names[140];
	snprintf(a, sizeof(a), "w-%s-a", via_name(VIA));
	snprintf(b, sizeof(b), "w-%s-b", via_name(VIA));
	snprintf(other, sizeof(other), "w-%s-other", via_name(VIA));
	put_new(a);
	put_new(b);
	put_new(other);
	snprintf(names, sizeof(names), "%s,%s", a, b);

	struct watcher w;
	watch_start(&w, VIA, names, vd_revision(&g), 2);
	sleep_ms(PARK_MS);
	double t0 = now_ms();
	put_new(other);
	pthread_join(w.th, NULL);
	EXPECT_STATUS(&w.r, 204);
	ck_assert_msg(w.done_ms - t0 > 1000, "%s: woke for an unrelated name", w.r.what);
	vresp_clear(&w.r);

	watch_start(&w, VIA, names, vd_revision(&g), 20);
	sleep_ms(PARK_MS);
	t0 = now_ms();
	put_new(b);
	pthread_join(w.th, NULL);
	EXPECT_STATUS(&w.r, 200);
	ck_assert_msg(jarr_has(w.r.json, "changed", b) && !jarr_has(w.r.json, "changed", a),
	              "%s: changed is [%s]: %s", w.r.what, b, w.r.body);
	ck_assert_msg(w.done_ms - t0 < 2000, "%s: woke in %.0f ms", w.r.what, w.done_ms - t0);
	vresp_clear(&w.r);
}
END_TEST

START_TEST(test_rotate_and_delete_wake_watchers)
{
	char name[64], path[200];
	snprintf(name, sizeof(name), "w-%s-rot", via_name(VIA));
	put_new(name);
	const char *what[] = {"rotate", "delete"};
	for (int k = 0; k < 2; k++) {
		struct watcher w;
		watch_start(&w, VIA, name, vd_revision(&g), 20);
		sleep_ms(PARK_MS);
		double t0 = now_ms();
		struct vresp r;
		if (k == 0) {
			snprintf(path, sizeof(path), "/v1/secrets/%s/rotate", name);
			vd_call(&g, VIA_LIB, "POST", path, NULL, "{\"generate\":{\"length\":16,\"charset\":\"hex\"}}", &r);
		} else {
			snprintf(path, sizeof(path), "/v1/secrets/%s", name);
			vd_call(&g, VIA_LIB, "DELETE", path, NULL, NULL, &r);
		}
		EXPECT_STATUS(&r, 200);
		vresp_clear(&r);
		pthread_join(w.th, NULL);
		EXPECT_STATUS(&w.r, 200);
		ck_assert_msg(jarr_has(w.r.json, "changed", name), "%s after %s: %s", w.r.what, what[k], w.r.body);
		ck_assert_msg(w.done_ms - t0 < 2000, "%s: %s woke it in %.0f ms", w.r.what, what[k],
		              w.done_ms - t0);
		vresp_clear(&w.r);
	}
}
END_TEST

START_TEST(test_creating_a_watched_name_wakes_the_watcher)
{
	char name[64];
	snprintf(name, sizeof(name), "w-%s-born", via_name(VIA));
	struct watcher w;
	watch_start(&w, VIA, name, vd_revision(&g), 20);
	sleep_ms(PARK_MS);
	double t0 = now_ms();
	put_new(name);
	pthread_join(w.th, NULL);
	EXPECT_STATUS(&w.r, 200);
	ck_assert_msg(jarr_has(w.r.json, "changed", name), "%s: created %s: %s", w.r.what, name, w.r.body);
	ck_assert_msg(w.done_ms - t0 < 2000, "%s: woke in %.0f ms", w.r.what, w.done_ms - t0);
	vresp_clear(&w.r);
}
END_TEST

#define IDLE 200

START_TEST(test_200_idle_watchers_do_not_block_other_requests)
{
	put_new("w-idle");
	char v[96];
	canary(v, sizeof(v), "idle-read");
	ck_assert_int_eq(vd_put(&g, VIA_LIB, NULL, "w-idle-read", v, NULL), 1);
	long long rev = vd_revision(&g);
	char req[256];
	int n = snprintf(req, sizeof(req),
	                 "GET /v1/watch?names=w-idle&since=%lld&timeout=30 HTTP/1.1\r\n"
	                 "Host: localhost\r\nConnection: close\r\n\r\n",
	                 rev);
	int fds[IDLE];
	for (int i = 0; i < IDLE; i++) {
		fds[i] = vd_connect(&g);
		ck_assert_msg(fds[i] >= 0, "watcher %d could not connect: %d", i, fds[i]);
		ck_assert_int_eq(write_all(fds[i], req, (size_t)n), 0);
	}
	sleep_ms(PARK_MS);
	double worst = 0, total = 0;
	int asked = 0;
	for (int k = 0; k < 10; k++) {
		struct vresp r;
		enum via via = k == 9 ? VIA_CURL : VIA_LIB;
		vd_call(&g, via, "GET", "/v1/health", NULL, NULL, &r);
		EXPECT_STATUS(&r, 200);
		worst = r.ms > worst ? r.ms : worst;
		total += r.ms;
		vresp_clear(&r);
		int st = 0;
		double t0 = now_ms();
		char *got = vd_get(&g, via, NULL, "w-idle-read", &st, NULL);
		double ms = now_ms() - t0;
		ck_assert_msg(got && strcmp(got, v) == 0, "GET with %d idle watchers: %d", IDLE, st);
		free(got);
		worst = ms > worst ? ms : worst;
		total += ms;
		asked += 2;
	}
	printf("with %d idle watchers: %d requests, mean %.1f ms, worst %.1f ms\n", IDLE, asked,
	       total / asked, worst);
	ck_assert_msg(worst < 1000, "a request took %.0f ms while %d watchers waited", worst, IDLE);
	for (int i = 0; i < IDLE; i++) { /* still waiting: nothing answered yet */
		struct pollfd pf = {fds[i], POLLIN, 0};
		ck_assert_msg(poll(&pf, 1, 0) == 0, "watcher %d answered before any change", i);
	}
	/* One change wakes all of them. */
	double t0 = now_ms();
	put_new("w-idle");
	for (int i = 0; i < IDLE; i++) {
		int st = raw_read_status(fds[i], 5000);
		ck_assert_msg(st == 200, "watcher %d of %d: status %d after the change", i, IDLE, st);
		close(fds[i]);
	}
	printf("one write woke %d watchers in %.1f ms\n", IDLE, now_ms() - t0);
}
END_TEST

/* A since this store never reached (it was restored from an older backup,
 * or the client watched another store): every name counts as changed, at
 * once, with the revision to go on from. */
START_TEST(test_a_since_ahead_of_the_store_answers_every_name_at_once)
{
	char a[64], b[64], names[140], path[220];
	snprintf(a, sizeof(a), "w-%s-ahead-a", via_name(VIA));
	snprintf(b, sizeof(b), "w-%s-ahead-b", via_name(VIA));
	put_new(a);
	snprintf(names, sizeof(names), "%s,%s", a, b);
	long long rev = vd_revision(&g);
	snprintf(path, sizeof(path), "/v1/watch?names=%s&since=%lld&timeout=5", names, rev + 1000);
	struct vresp r;
	vd_call(&g, VIA, "GET", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(r.ms < 1000, "%s: answered after %.0f ms", r.what, r.ms);
	ck_assert_msg(jarr_has(r.json, "changed", a) && jarr_has(r.json, "changed", b), "%s: %s",
	              r.what, r.body);
	ck_assert_int_eq(jint(r.json, "revision"), rev);
	vresp_clear(&r);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd watch");
	TCase *tc = tcase_create("watch");
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 60);
	const TTest *tests[] = {
		test_change_wakes_a_waiting_watcher_within_100ms,
		test_timeout_answers_204_without_body,
		test_unrelated_change_does_not_wake_and_any_listed_name_does,
		test_rotate_and_delete_wake_watchers,
		test_creating_a_watched_name_wakes_the_watcher,
		test_a_since_ahead_of_the_store_answers_every_name_at_once,
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_loop_test(tc, tests[i], VIA_LIB, VIA_CURL + 1);
	tcase_add_test(tc, test_200_idle_watchers_do_not_block_other_requests);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
