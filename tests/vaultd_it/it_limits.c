/* Connection limits of vaultd serve: --conn-timeout closes connections that
 * sit idle, and --max-connections holds a client back (unanswered, not
 * refused) until a connection slot frees. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char keepalive_health[] = "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n";

/* Sends GET /v1/health on a keep-alive connection and reads its answer. */
static int health_keepalive(const struct vd *v)
{
	int fd = vd_connect(v);
	ck_assert_msg(fd >= 0, "connect %s: %s", v->sock, strerror(-fd));
	ck_assert_int_eq(write_all(fd, keepalive_health, sizeof(keepalive_health) - 1), 0);
	int st = raw_read_status(fd, 5000);
	ck_assert_msg(st == 200, "keep-alive GET /v1/health: expected 200, got %d", st);
	return fd;
}

/* Milliseconds until the peer closes fd (read returns 0), reading and
 * dropping whatever comes first; -1 if it is still open after limit_ms. */
static double ms_until_closed(int fd, int limit_ms)
{
	double t0 = now_ms();
	char buf[4096];
	for (;;) {
		int left = limit_ms - (int)(now_ms() - t0);
		if (left <= 0)
			return -1;
		struct pollfd pf = {fd, POLLIN, 0};
		int pr = poll(&pf, 1, left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) /* EOF, or a reset: closed either way */
			return now_ms() - t0;
	}
}

/* With --conn-timeout 1 both a keep-alive connection after its answer and
 * one that never sent a byte are closed after about a second; not at once,
 * which would be no keep-alive at all. */
START_TEST(test_conn_timeout_closes_idle_connections)
{
	struct vd v;
	static const char *const flags[] = {"--conn-timeout", "1", NULL};
	vd_up_with(&v, "conntimeout", flags);
	int kept = health_keepalive(&v);
	int silent = vd_connect(&v);
	ck_assert_int_ge(silent, 0);
	double t_kept = ms_until_closed(kept, 4000);
	double t_silent = ms_until_closed(silent, 4000);
	close(kept);
	close(silent);
	ck_assert_msg(t_kept >= 500 && t_kept <= 3500,
	              "idle keep-alive connection: expected a close 0.5-3.5 s after the answer, "
	              "got %.0f ms (-1: still open)",
	              t_kept);
	ck_assert_msg(t_silent >= 0 && t_silent <= 3500,
	              "connection that sent nothing: expected a close within 3.5 s, got %.0f ms "
	              "(-1: still open)",
	              t_silent);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

START_TEST(test_max_connections_holds_the_next_client_until_a_slot_frees)
{
	struct vd v;
	static const char *const flags[] = {"--max-connections", "2", NULL};
	vd_up_with(&v, "maxconn", flags);
	/* Each held connection has had an answer: vaultd has accepted it. */
	int a = health_keepalive(&v), b = health_keepalive(&v);

	int third = vd_connect(&v);
	ck_assert_msg(third >= 0, "a third connect must queue, not fail: %s", strerror(-third));
	ck_assert_int_eq(write_all(third, keepalive_health, sizeof(keepalive_health) - 1), 0);
	int st = raw_read_status(third, 300);
	ck_assert_msg(st == -ETIMEDOUT,
	              "with 2 connections held and --max-connections 2 a third client must wait; "
	              "got %d (%s)",
	              st, st > 0 ? "answered" : strerror(-st));

	close(a);
	st = raw_read_status(third, 5000);
	ck_assert_msg(st == 200,
	              "after one held connection closed the third client: expected 200, "
	              "got %d",
	              st);
	close(third);
	close(b);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd connection limits");
	TCase *tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_conn_timeout_closes_idle_connections);
	tcase_add_test(tc, test_max_connections_holds_the_next_client_until_a_slot_frees);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
