/* A passphrase store served without a key starts sealed: reads and writes
 * answer 503, health 503; a wrong passphrase fails and leaves it sealed; the
 * right one unseals. Through the lib client and curl. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct vd g;
static char g_pass[96];

#define VIA ((enum via)_i)

/* A fresh passphrase store in v, its passphrase (a canary) in pass,
 * initialised but not started. */
static void new_sealed_store(struct vd *v, const char *tag, char pass[96])
{
	vd_prepare(v, tag);
	canary(pass, 96, "passphrase");
	vd_init_passphrase(v, pass);
}

static void up(void)
{
	new_sealed_store(&g, "sealed", g_pass);
	vd_start(&g); /* no --key-file: sealed */
}

static void down(void) { vd_stop(&g); }

static void expect_sealed(const struct vd *v, enum via via)
{
	static const struct {
		const char *m, *p, *b;
	} sealed[] = {
		{"GET", "/v1/secrets/sl.one", NULL},
		{"GET", "/v1/secrets/sl.one?version=1", NULL},
		{"GET", "/v1/secrets", NULL},
		{"GET", "/v1/secrets/sl.one/versions", NULL},
		{"PUT", "/v1/secrets/sl.new", "{\"value\":\"eA==\"}"},
		{"POST", "/v1/secrets/sl.one/rotate", "{\"generate\":{\"length\":8,\"charset\":\"hex\"}}"},
		{"POST", "/v1/bundle", "{\"names\":[\"sl.one\"]}"},
	};
	struct vresp r;
	vd_call(v, via, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 503);
	EXPECT_JSTR(&r, "status", "sealed");
	bool b = false;
	ck_assert_msg(jbool(r.json, "sealed", &b) && b, "%s: sealed true", r.what);
	vresp_clear(&r);
	vd_call(v, via, "GET", "/v1/sys/status", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(jbool(r.json, "sealed", &b) && b, "%s: status sealed true", r.what);
	vresp_clear(&r);
	for (size_t i = 0; i < sizeof(sealed) / sizeof(sealed[0]); i++) {
		vd_call(v, via, sealed[i].m, sealed[i].p, NULL, sealed[i].b, &r);
		EXPECT_ERROR(&r, 503, "sealed");
		ck_assert_msg(!strstr(r.body, VD_CANARY) && !jget(r.json, "value"), "%s: no value",
		              r.what);
		vresp_clear(&r);
	}
}

static void unseal(const struct vd *v, enum via via, const char *pass, int want)
{
	char *body = xfmt("{\"passphrase\":\"%s\"}", pass);
	struct vresp r;
	vd_call(v, via, "POST", "/v1/sys/unseal", NULL, body, &r);
	if (want == 200) {
		EXPECT_STATUS(&r, 200);
		bool b = true;
		ck_assert_msg(jbool(r.json, "sealed", &b) && !b, "%s: sealed false", r.what);
	} else {
		EXPECT_ERROR(&r, want, "unseal_failed");
	}
	ck_assert_msg(!strstr(r.body, pass), "%s: the passphrase echoed", r.what);
	vresp_clear(&r);
	sodium_memzero(body, strlen(body));
	free(body);
}

START_TEST(test_sealed_refuses_then_right_passphrase_unseals)
{
	const struct vd *v = &g;
	expect_sealed(v, VIA);

	unseal(v, VIA, "wrong passphrase", 400);
	struct vresp r;
	vd_call(v, VIA, "POST", "/v1/sys/unseal", NULL, "{\"passphrase\":\"\"}", &r);
	EXPECT_STATUS(&r, 400); /* empty: refused, whatever the code */
	vresp_clear(&r);
	unsigned char zero[32] = {0};
	char *bz = b64(zero, sizeof(zero));
	char *body = xfmt("{\"key\":\"%s\"}", bz);
	vd_call(v, VIA, "POST", "/v1/sys/unseal", NULL, body, &r);
	EXPECT_STATUS(&r, 400); /* a key for a passphrase store: refused */
	vresp_clear(&r);
	free(body);
	free(bz);
	expect_sealed(v, VIA); /* still sealed after the failures */

	unseal(v, VIA, g_pass, 200);
	vd_call(v, VIA, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "status", "ok");
	vresp_clear(&r);

	/* Unsealed it serves: the first pass creates, the second reads it back. */
	char val[96];
	canary(val, sizeof(val), "sealed");
	int st = 0;
	char *old = vd_get(v, VIA, NULL, "sl.one", &st, NULL);
	if (_i == VIA_LIB) {
		ck_assert_msg(st == 404, "sl.one does not exist yet (got %d)", st);
		ck_assert_int_eq(vd_put(v, VIA, NULL, "sl.one", val, NULL), 1);
	} else {
		ck_assert_msg(st == 200 && old && strncmp(old, VD_CANARY "sealed-", 19) == 0,
		              "sl.one from the first pass survives seal/unseal (got %d)", st);
		ck_assert_int_eq(vd_put(v, VIA, NULL, "sl.one", val, NULL), 2);
	}
	free(old);
	char *got = vd_get(v, VIA, NULL, "sl.one", NULL, NULL);
	ck_assert_msg(got && strcmp(got, val) == 0, "read back after unseal");
	free(got);

	vd_call(v, VIA, "POST", "/v1/sys/seal", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	expect_sealed(v, VIA);
}
END_TEST

START_TEST(test_restart_starts_sealed_and_keeps_values)
{
	struct vd v;
	char pass[96], val[96];
	new_sealed_store(&v, "sealed-restart", pass);
	canary(val, sizeof(val), "sealed-restart");
	vd_start(&v);
	unseal(&v, VIA_LIB, pass, 200);
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "sl.keep", val, NULL), 1);
	ck_assert_int_eq(vd_stop_status(&v), 0);

	vd_start(&v);
	expect_sealed(&v, VIA_CURL);
	unseal(&v, VIA_CURL, "nope", 400);
	expect_sealed(&v, VIA_LIB);
	unseal(&v, VIA_CURL, pass, 200);
	char *got = vd_get(&v, VIA_CURL, NULL, "sl.keep", NULL, NULL);
	ck_assert_msg(got && strcmp(got, val) == 0, "value kept across a restart");
	free(got);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

/* The chain's entries (GET /v1/audit), oldest first. */
static json_t *audit_entries(const struct vd *v, struct vresp *r)
{
	vd_call(v, VIA_LIB, "GET", "/v1/audit?since=0&limit=100000", NULL, NULL, r);
	EXPECT_STATUS(r, 200);
	json_t *e = jget(r->json, "entries");
	ck_assert_msg(json_is_array(e), "audit entries");
	return e;
}

/* The index of the first entry with this action and status, or -1. */
static long find_entry(const json_t *entries, size_t from, const char *action, int status)
{
	for (size_t i = from; i < json_array_size(entries); i++) {
		const json_t *e = json_array_get(entries, i);
		const char *a = jstr(e, "action");
		if (a && strcmp(a, action) == 0 && jint(e, "status") == status)
			return (long)i;
	}
	return -1;
}

/* Requests answered while sealed (here a refused read and a wrong
 * passphrase: someone guessing it) join the chain with the unseal, ahead
 * of the unseal's own entry, and the chain still verifies. */
START_TEST(test_sealed_requests_join_the_chain_at_unseal)
{
	struct vd v;
	char pass[96];
	new_sealed_store(&v, "sealed-audit", pass);
	vd_start(&v);
	struct vresp r;
	vd_call(&v, VIA_LIB, "GET", "/v1/secrets/sl.guess", NULL, NULL, &r);
	EXPECT_ERROR(&r, 503, "sealed");
	vresp_clear(&r);
	unseal(&v, VIA_CURL, "a wrong guess", 400);
	unseal(&v, VIA_LIB, pass, 200);

	json_t *e = audit_entries(&v, &r);
	long read = find_entry(e, 0, "secret.read", 503);
	long guess = find_entry(e, 0, "sys.unseal", 400);
	long ok = find_entry(e, 0, "sys.unseal", 200);
	ck_assert_msg(read >= 0, "the read refused while sealed is in the chain");
	ck_assert_msg(guess >= 0, "the wrong passphrase is in the chain");
	ck_assert_msg(ok > guess && guess > read, "chain order: read %ld, guess %ld, unseal %ld",
	              read, guess, ok);
	const json_t *ge = json_array_get(e, (size_t)guess);
	ck_assert_str_eq(jstr(ge, "result"), "unseal_failed");
	ck_assert_msg(jint(ge, "pid") > 0, "the guesser's pid is recorded");
	vresp_clear(&r);
	vd_call(&v, VIA_LIB, "GET", "/v1/audit/verify", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	bool b = false;
	ck_assert_msg(jbool(r.json, "ok", &b) && b, "the chain verifies: %s", r.body);
	vresp_clear(&r);

	/* The --audit-log copy has each twice: as answered, then chained. */
	char *log = slurp(v.audit_log, NULL);
	ck_assert_msg(log && strstr(log, "\"result\":\"unseal_failed\",\"status\":400,\"chained\":false") &&
	                  strstr(log, "\"result\":\"unseal_failed\",\"status\":400,\"chained\":true"),
	              "--audit-log copies of the wrong passphrase");
	free(log);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

/* One request on its own connection; its status. */
static int one_request(const struct vd *v, const char *line)
{
	int fd = vd_connect(v);
	ck_assert_int_ge(fd, 0);
	char *req = xfmt("%s HTTP/1.1\r\nHost: vaultd\r\nConnection: close\r\n\r\n", line);
	ck_assert_int_eq(write_all(fd, req, strlen(req)), 0);
	free(req);
	int st = raw_read_status(fd, 5000);
	close(fd);
	return st;
}

/* A client hammering a sealed vaultd does not grow what it keeps for the
 * chain without bound: past the cap the rest are counted in one
 * audit.sealed_dropped entry, whose name is the count. */
START_TEST(test_sealed_requests_beyond_the_cap_are_counted)
{
	enum { SENT = 1100, KEPT_MAX = 1024 };
	struct vd v;
	char pass[96];
	new_sealed_store(&v, "sealed-flood", pass);
	vd_start(&v);
	for (int i = 0; i < SENT; i++)
		ck_assert_int_eq(one_request(&v, "GET /v1/health"), 503);
	unseal(&v, VIA_LIB, pass, 200);
	struct vresp r;
	json_t *e = audit_entries(&v, &r);
	long ok = find_entry(e, 0, "sys.unseal", 200);
	long dropped = -1;
	size_t health = 0;
	for (long i = 0; i < ok; i++) {
		const json_t *x = json_array_get(e, (size_t)i);
		if (strcmp(jstr(x, "action"), "audit.sealed_dropped") == 0)
			dropped = i;
		else if (jint(x, "status") == 503)
			health++;
	}
	ck_assert_msg(dropped >= 0 && dropped == ok - 1,
	              "the count comes last before the unseal (%ld, %ld)", dropped, ok);
	long long n = strtoll(jstr(json_array_get(e, (size_t)dropped), "name"), NULL, 10);
	ck_assert_msg(health == KEPT_MAX - 1, "kept %zu sealed-time entries", health);
	ck_assert_msg(n > 0 && (long long)health + n >= SENT, "kept %zu + dropped %lld < %d sent",
	              health, n, SENT);
	vresp_clear(&r);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

/* An unseal request on a raw connection (its answer read with
 * raw_read_status). */
static void send_unseal(int fd, const char *pass)
{
	char *body = xfmt("{\"passphrase\":\"%s\"}", pass);
	char *req = xfmt("POST /v1/sys/unseal HTTP/1.1\r\nHost: vaultd\r\nContent-Type: "
	                 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
	                 strlen(body), body);
	ck_assert_int_eq(write_all(fd, req, strlen(req)), 0);
	free(req);
	free(body);
}

/* A sealed passphrase daemon started with flags (NULL-terminated); returns
 * how long a wrong passphrase takes alone (Argon2id), the yardstick of the
 * timing tests below. */
static double sealed_daemon(struct vd *v, const char *tag, const char *const *flags)
{
	char pass[96];
	new_sealed_store(v, tag, pass);
	size_t i = 0;
	for (; flags[i] && i + 1 < VD_MAX_EXTRA; i++)
		v->extra[i] = flags[i];
	v->extra[i] = NULL;
	vd_start(v);
	double t0 = now_ms();
	unseal(v, VIA_LIB, "wrong passphrase", 400);
	double alone = now_ms() - t0;
	ck_assert_msg(alone >= 200, "a wrong passphrase took %.1f ms: too fast to tell", alone);
	return alone;
}

/* A slow request that may write (here an unseal's Argon2id; a durable
 * write's fsync is the common case) runs on a write worker: with a single
 * libmicrohttpd thread, another client is answered meanwhile. With the
 * request on that thread, the second answer would wait for the first. */
START_TEST(test_slow_write_leaves_the_http_thread_free)
{
	struct vd v;
	const char *flags[] = {"--threads", "1", NULL};
	double alone = sealed_daemon(&v, "sealed-worker", flags);

	/* A lone connection keeps its write on its thread (nobody to stall). */
	int idle = vd_connect(&v);
	int fd = vd_connect(&v);
	ck_assert_msg(idle >= 0 && fd >= 0, "connect: %d %d", idle, fd);
	double t0 = now_ms();
	send_unseal(fd, "still wrong");
	sleep_ms((int)(alone / 4));
	double asked = now_ms() - t0;
	struct vresp r;
	vd_call(&v, VIA_LIB, "GET", "/v1/sys/status", NULL, NULL, &r);
	double status_ms = now_ms() - t0;
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	int st = raw_read_status(fd, 15000);
	double unseal_ms = now_ms() - t0;
	ck_assert_msg(st == 400, "the second wrong passphrase: HTTP %d", st);
	printf("# unseal alone %.1f ms; beside it, status asked at %.1f ms and answered at %.1f "
	       "ms, the unseal answered at %.1f ms\n",
	       alone, asked, status_ms, unseal_ms);
	/* Timed from when status was asked: it must not wait out the unseal. */
	ck_assert_msg(unseal_ms - asked >= 20, "the unseal ended before status was asked");
	ck_assert_msg(status_ms - asked < (unseal_ms - asked) / 2,
	              "status (answered at %.1f ms) waited for the unseal (%.1f ms)", status_ms,
	              unseal_ms);

	/* SIGTERM while a worker holds a request: it is answered, then the
	 * daemon exits cleanly (the workers stop after in-flight requests). A
	 * new connection: the first answer's body is still unread on fd. */
	close(fd);
	fd = vd_connect(&v);
	ck_assert_msg(fd >= 0, "connect: %d", fd);
	send_unseal(fd, "still wrong");
	sleep_ms((int)(alone / 4));
	kill(v.pid, SIGTERM);
	st = raw_read_status(fd, 15000);
	ck_assert_msg(st == 400, "the unseal in flight at SIGTERM: HTTP %d", st);
	close(fd);
	close(idle);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

/* SIGTERM with the grace at 0 while the one write worker holds a slow
 * request and another waits for it: the first is finished, the second is
 * refused (503 shutting_down) instead of running past the grace. */
START_TEST(test_grace_refuses_queued_writes)
{
	struct vd v;
	const char *flags[] = {"--write-threads", "1", "--shutdown-grace", "0", NULL};
	double alone = sealed_daemon(&v, "sealed-grace", flags);

	int idle = vd_connect(&v), held = vd_connect(&v), queued = vd_connect(&v);
	ck_assert_msg(idle >= 0 && held >= 0 && queued >= 0, "connect");
	double t0 = now_ms();
	send_unseal(held, "wrong one");
	sleep_ms((int)(alone / 8)); /* the one worker takes it first */
	send_unseal(queued, "wrong two");
	/* Both begun (a request that has not is refused at SIGTERM): two
	 * unseals and this scrape in flight. */
	double in_flight = 0;
	while ((in_flight = vd_metric(&v, "vaultd_requests_in_flight")) < 3 &&
	       now_ms() - t0 < alone / 2)
		sleep_ms(5);
	ck_assert_msg(in_flight >= 3, "the two unseals were not both in flight (%.0f)", in_flight);
	kill(v.pid, SIGTERM);
	int st = raw_read_status(held, 15000);
	ck_assert_msg(st == 400, "the unseal a worker held at SIGTERM: HTTP %d", st);
	st = raw_read_status(queued, 15000);
	ck_assert_msg(st == 503, "the unseal queued behind it: HTTP %d (503 expected)", st);
	close(held);
	close(queued);
	close(idle);
	ck_assert_int_eq(vd_stop_status(&v), 0);
	char *log = slurp(v.log, NULL);
	ck_assert_msg(log && strstr(log, "result=shutting_down"), "the refusal is in the log");
	free(log);
}
END_TEST

struct sealer_race {
	const struct vd *v;
	int id;
	atomic_bool *stop;
	int acked, refused;
};

static void *race_writer(void *arg)
{
	struct sealer_race *w = arg;
	char name[32], val[64];
	snprintf(name, sizeof(name), "sl.race%d", w->id);
	while (!atomic_load(w->stop)) {
		canary(val, sizeof(val), "race");
		long long v = vd_put(w->v, VIA_LIB, NULL, name, val, NULL);
		if (v > 0)
			w->acked++;
		else
			w->refused++;
	}
	return NULL;
}

/* POST /v1/sys/seal while writes race it: no write is chained after the
 * seal's entry (they are sealed out, and answer 503), so the audit never
 * shows a secret changing in a sealed store. */
START_TEST(test_no_write_lands_after_the_seal_entry)
{
	struct vd v;
	char pass[96];
	new_sealed_store(&v, "seal-race", pass);
	vd_start(&v);
	unseal(&v, VIA_LIB, pass, 200);
	atomic_bool stop = false;
	struct sealer_race w[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (struct sealer_race){.v = &v, .id = i, .stop = &stop};
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_writer, &w[i]), 0);
	}
	sleep_ms(300);
	struct vresp r;
	vd_call(&v, VIA_LIB, "POST", "/v1/sys/seal", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	sleep_ms(300);
	atomic_store(&stop, true);
	int acked = 0, refused = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		acked += w[i].acked;
		refused += w[i].refused;
	}
	ck_assert_msg(acked > 0 && refused > 0, "writes before (%d) and refused after (%d)", acked,
	              refused);
	unseal(&v, VIA_LIB, pass, 200);
	json_t *e = audit_entries(&v, &r);
	long seal = find_entry(e, 0, "sys.seal", 200);
	long unsealed = find_entry(e, (size_t)(seal + 1), "sys.unseal", 200);
	ck_assert_msg(seal >= 0 && unsealed > seal, "sys.seal %ld, sys.unseal %ld", seal, unsealed);
	for (long i = seal + 1; i < unsealed; i++) {
		const json_t *x = json_array_get(e, (size_t)i);
		ck_assert_msg(jint(x, "status") != 200, "entry %ld after the seal: %s %s %lld", i,
		              jstr(x, "action"), jstr(x, "name"), jint(x, "status"));
	}
	vresp_clear(&r);
	vd_stop(&v);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd sealed");
	TCase *tc = tcase_create("passphrase store");
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 90);
	tcase_add_loop_test(tc, test_sealed_refuses_then_right_passphrase_unseals, VIA_LIB, VIA_CURL + 1);
	suite_add_tcase(s, tc);
	TCase *rs = tcase_create("restart");
	tcase_set_timeout(rs, 90);
	tcase_add_test(rs, test_restart_starts_sealed_and_keeps_values);
	tcase_add_test(rs, test_sealed_requests_join_the_chain_at_unseal);
	tcase_add_test(rs, test_sealed_requests_beyond_the_cap_are_counted);
	tcase_add_test(rs, test_no_write_lands_after_the_seal_entry);
	suite_add_tcase(s, rs);
	TCase *wk = tcase_create("write workers");
	tcase_set_timeout(wk, 90);
	tcase_add_test(wk, test_slow_write_leaves_the_http_thread_free);
	tcase_add_test(wk, test_grace_refuses_queued_writes);
	suite_add_tcase(s, wk);
	return vd_run_suite(s);
}
