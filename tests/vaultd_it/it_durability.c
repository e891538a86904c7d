/* Durability: every write vaultd acknowledged survives kill -9 right after
 * the acknowledgement (sequential writers through lib and curl, and writers
 * in flight on several threads when the daemon dies). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define VIA ((enum via)_i)
#define WRITERS_ 8
#define MAX_PER_WRITER_ 4000

static void expect_audit_intact(const struct vd *v)
{
	struct vresp r;
	vd_call(v, VIA_LIB, "GET", "/v1/audit/verify", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	bool ok = false;
	ck_assert_msg(jbool(r.json, "ok", &ok) && ok, "audit chain intact after kill -9: %s", r.body);
	vresp_clear(&r);
}

/* Entries in the chain with this action, name and status. */
static int count_audited(const struct vd *v, const char *action, const char *name, int status)
{
	struct vresp r;
	vd_call(v, VIA_LIB, "GET", "/v1/audit?since=0&limit=100000", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	json_t *es = jget(r.json, "entries");
	int count = 0;
	for (size_t i = 0; i < json_array_size(es); i++) {
		json_t *e = json_array_get(es, i);
		const char *a = jstr(e, "action"), *n = jstr(e, "name");
		count += a && n && strcmp(a, action) == 0 && strcmp(n, name) == 0 &&
		         jint(e, "status") == status;
	}
	vresp_clear(&r);
	return count;
}

START_TEST(test_acknowledged_writes_survive_kill9)
{
	enum { N = 25, M = 8 };
	struct vd v;
	vd_up(&v, "durable-seq");
	char vals[N][96], multi[M][96], name[64];
	for (int i = 0; i < N; i++) {
		canary(vals[i], sizeof(vals[i]), "dur");
		snprintf(name, sizeof(name), "dur-%s-%d", via_name(VIA), i);
		ck_assert_int_eq(vd_put(&v, VIA, NULL, name, vals[i], NULL), 1);
	}
	snprintf(name, sizeof(name), "dur-%s-multi", via_name(VIA));
	for (int k = 0; k < M; k++) {
		canary(multi[k], sizeof(multi[k]), "durm");
		ck_assert_int_eq(vd_put(&v, VIA, NULL, name, multi[k], NULL), k + 1);
	}
	/* Reads' entries are committed before the answer (their fsync may come
	 * up to 100 ms later): answered reads are in the chain after kill -9. */
	enum { READS = 10 };
	char first[64];
	snprintf(first, sizeof(first), "dur-%s-0", via_name(VIA));
	for (int i = 0; i < READS; i++) {
		char *got = vd_get(&v, VIA, NULL, first, NULL, NULL);
		ck_assert_msg(got && strcmp(got, vals[0]) == 0, "read %d of %s", i, first);
		free(got);
	}
	vd_kill9(&v); /* right after the last acknowledgement */
	char wal[VD_PATH_MAX + 8];
	snprintf(wal, sizeof(wal), "%s-wal", v.store);
	ck_assert_msg(access(wal, F_OK) == 0, "kill -9 leaves the WAL (%s)", wal);
	ck_assert_msg(vd_scan_dir(v.dir, NULL, NULL) == 0, "no plaintext in the db/WAL left by kill -9");
	vd_start(&v);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "dur-%s-%d", via_name(VIA), i);
		int st = 0;
		char *got = vd_get(&v, VIA, NULL, name, &st, NULL);
		ck_assert_msg(got && strcmp(got, vals[i]) == 0, "%s lost after kill -9 (GET %d)", name, st);
		free(got);
	}
	for (int k = 0; k < M; k++) {
		char q[96];
		snprintf(q, sizeof(q), "dur-%s-multi?version=%d", via_name(VIA), k + 1);
		char *got = vd_get(&v, VIA, NULL, q, NULL, NULL);
		ck_assert_msg(got && strcmp(got, multi[k]) == 0, "%s lost after kill -9", q);
		free(got);
	}
	expect_audit_intact(&v);
	ck_assert_int_ge(count_audited(&v, "secret.read", first, 200), READS);
	ck_assert_int_eq(count_audited(&v, "secret.write", first, 200), 1);
	vd_stop(&v);
}
END_TEST

/* Marks in landed[] (indexed like the writers' names fly-W-K) every secret
 * the chain records a successful secret.write for. */
static void audited_writes(const struct vd *v, bool (*landed)[MAX_PER_WRITER_])
{
	long long since = 0;
	for (;;) {
		struct vresp r;
		char *p = xfmt("/v1/audit?since=%lld&limit=100000", since);
		vd_call(v, VIA_LIB, "GET", p, NULL, NULL, &r);
		free(p);
		EXPECT_STATUS(&r, 200);
		json_t *es = jget(r.json, "entries");
		size_t n = json_array_size(es);
		for (size_t i = 0; i < n; i++) {
			json_t *e = json_array_get(es, i);
			int w = -1, k = -1;
			const char *act = jstr(e, "action"), *name = jstr(e, "name");
			if (act && name && strcmp(act, "secret.write") == 0 && jint(e, "status") == 200 &&
			    sscanf(name, "fly-%d-%d", &w, &k) == 2 && w >= 0 && w < WRITERS_ && k >= 0 &&
			    k < MAX_PER_WRITER_)
				landed[w][k] = true;
		}
		long long next = jint(r.json, "next");
		vresp_clear(&r);
		/* each call is audited too: a short page is the end */
		if (n < 100000 || next <= since)
			break;
		since = next;
	}
}

/* ---- writers in flight ---- */

enum { WRITERS = WRITERS_, MAX_PER_WRITER = MAX_PER_WRITER_ };

struct writer {
	const struct vd *v;
	int id;
	atomic_bool *stop;
	int attempted, acked;
	char (*vals)[64];
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char name[64];
	while (!atomic_load(w->stop) && w->attempted < MAX_PER_WRITER) {
		int i = w->attempted++;
		canary(w->vals[i], sizeof(w->vals[i]), "fly");
		snprintf(name, sizeof(name), "fly-%d-%d", w->id, i);
		if (vd_put(w->v, VIA_LIB, NULL, name, w->vals[i], NULL) != 1)
			break; /* the daemon died under us */
		w->acked = i + 1;
	}
	return NULL;
}

START_TEST(test_writes_in_flight_at_kill9_lose_nothing_acknowledged)
{
	struct vd v;
	vd_up(&v, "durable-fly");
	atomic_bool stop = false;
	struct writer w[WRITERS];
	pthread_t th[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){.v = &v, .id = i, .stop = &stop};
		w[i].vals = calloc(MAX_PER_WRITER, sizeof(*w[i].vals));
		ck_assert_int_eq(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	sleep_ms(1500);
	vd_kill9(&v); /* writers are mid-request */
	atomic_store(&stop, true);
	int acked = 0;
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(th[i], NULL);
		acked += w[i].acked;
	}
	ck_assert_msg(acked >= WRITERS, "writers got acknowledgements before the kill (%d)", acked);
	vd_start(&v);
	/* A write and its audit entry commit together: whatever landed, acked
	 * or not, is in the chain as a successful secret.write. */
	bool(*audited)[MAX_PER_WRITER] = calloc(WRITERS, sizeof(*audited));
	audited_writes(&v, audited);
	char name[64];
	int extra = 0;
	for (int i = 0; i < WRITERS; i++) {
		for (int k = 0; k < w[i].attempted; k++) {
			snprintf(name, sizeof(name), "fly-%d-%d", i, k);
			int st = 0;
			char *got = vd_get(&v, VIA_LIB, NULL, name, &st, NULL);
			if (k < w[i].acked)
				ck_assert_msg(got && strcmp(got, w[i].vals[k]) == 0,
				              "acknowledged %s lost after kill -9 (GET %d)", name, st);
			else if (got) { /* in flight: absent, or exactly what was sent */
				ck_assert_msg(strcmp(got, w[i].vals[k]) == 0, "in-flight %s is garbled", name);
				extra++;
			} else
				ck_assert_msg(st == 404, "in-flight %s: 404 or the value, got %d", name, st);
			ck_assert_msg(audited[i][k] == (got != NULL),
			              "%s: %s, but %s in the audit chain", name,
			              got ? "landed" : "absent", audited[i][k] ? "written" : "not");
			free(got);
		}
		free(w[i].vals);
	}
	free(audited);
	printf("durability: %d acknowledged writes from %d writers survived kill -9 (%d in flight also landed)\n",
	       acked, WRITERS, extra);
	expect_audit_intact(&v);
	vd_stop(&v);
}
END_TEST

/* Entries of reads are committed before the answer and fsync'd within
 * 100 ms: that fsync must come by itself after a lone read (the audit
 * writer is woken to arm its deadline, then hands it to its fsync thread), and
 * reads share it: at most one per 100 ms window, not one per read. */
START_TEST(test_read_entries_are_fsyncd_once_per_window)
{
	static const char *syncs = "vaultd_audit_syncs_total";
	struct vd v;
	vd_up(&v, "durable-sync");
	char val[96];
	canary(val, sizeof(val), "sync");
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "sync-s", val, NULL), 1);
	/* The put's commit was fsync'd; the metrics read leaves one that is not. */
	double s0 = vd_metric(&v, syncs);
	ck_assert_msg(s0 >= 0, "/metrics has %s", syncs);
	/* Nothing else comes in meanwhile: the fsync must come by itself, 100 ms
	 * after that commit (300 ms leaves room for a busy machine). */
	sleep_ms(300);
	double s1 = vd_metric(&v, syncs);
	ck_assert_msg(s1 > s0, "a lone read's entry is fsync'd within 100 ms (none after 300 ms)");

	enum { READS = 200 };
	double t0 = now_ms(), b0 = vd_metric(&v, syncs);
	for (int i = 0; i < READS; i++) {
		char *got = vd_get(&v, VIA_LIB, NULL, "sync-s", NULL, NULL);
		ck_assert_msg(got && strcmp(got, val) == 0, "read %d", i);
		free(got);
	}
	sleep_ms(250); /* the last window's fsync */
	double b1 = vd_metric(&v, syncs), ms = now_ms() - t0;
	printf("audit sync: %d reads in %.0f ms, %g deferred fsyncs\n", READS, ms, b1 - b0);
	ck_assert_msg(b1 > b0, "the reads' entries were fsync'd");
	ck_assert_msg(b1 - b0 <= ms / 100 + 2, "%g fsyncs in %.0f ms: more than one per 100 ms",
	              b1 - b0, ms);
	vd_stop(&v);
}
END_TEST

/* The deferred fsync runs beside commits, not on the audit writer: with a
 * disk that takes FLUSH_MS to flush the WAL, reads from a second connection
 * go on being answered while it flushes. On the writer it held every answer
 * up for as long (with another connection open, no entry is committed on a
 * libmicrohttpd thread). */
START_TEST(test_reads_go_on_while_the_wal_flushes)
{
	enum { FLUSH_MS = 600, RUN_MS = 1500, SLOWEST_OK_MS = 300 };
	const char *lib = getenv("FSYNC_DELAY_LIB");
	ck_assert_msg(lib && *lib, "FSYNC_DELAY_LIB is set (tests/vaultd_it/CMakeLists.txt)");
	/* An ASan vaultd wants its runtime first; this preload comes before it. */
	const char *asan = getenv("ASAN_OPTIONS");
	char *asan_was = asan ? strdup(asan) : NULL;
	char *asan_now = xfmt("%s%sverify_asan_link_order=0", asan ? asan : "", asan ? ":" : "");
	setenv("ASAN_OPTIONS", asan_now, 1);
	setenv("LD_PRELOAD", lib, 1);
	char flush[16];
	snprintf(flush, sizeof(flush), "%d", FLUSH_MS);
	setenv("FSYNC_DELAY_MS", flush, 1);
	struct vd v;
	vd_up(&v, "durable-flush");
	unsetenv("LD_PRELOAD"); /* the harness's own children (curl) run without */
	unsetenv("FSYNC_DELAY_MS");
	if (asan_was)
		setenv("ASAN_OPTIONS", asan_was, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(asan_was);
	free(asan_now);

	char val[96];
	canary(val, sizeof(val), "flush");
	ck_assert_int_eq(vd_put(&v, VIA_LIB, NULL, "flush-s", val, NULL), 1);
	int idle = vd_connect(&v); /* so that every read's entry goes to the writer */
	ck_assert_msg(idle >= 0, "connect: %d", idle);
	double t0 = now_ms(), slowest = 0;
	int reads = 0;
	while (now_ms() - t0 < RUN_MS) {
		double a = now_ms();
		char *got = vd_get(&v, VIA_LIB, NULL, "flush-s", NULL, NULL);
		double took = now_ms() - a;
		ck_assert_msg(got && strcmp(got, val) == 0, "read %d", reads);
		free(got);
		slowest = took > slowest ? took : slowest;
		reads++;
	}
	double syncs = vd_metric(&v, "vaultd_audit_syncs_total");
	printf("audit sync on a %d ms disk: %d reads in %d ms, slowest %.1f ms, %g fsyncs done\n",
	       FLUSH_MS, reads, RUN_MS, slowest, syncs);
	close(idle);
	vd_stop(&v);
	char *log = slurp(v.log, NULL);
	ck_assert_msg(log && strstr(log, "fsync_delay: holding a WAL fsync"),
	              "the slow disk was in effect (its line is in %s)", v.log);
	free(log);
	ck_assert_msg(syncs >= 1, "a deferred fsync finished within %d ms", RUN_MS);
	ck_assert_msg(slowest < SLOWEST_OK_MS, "a read waited %.1f ms for a %d ms fsync", slowest,
	              FLUSH_MS);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd durability");
	TCase *tc = tcase_create("kill -9");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_acknowledged_writes_survive_kill9, VIA_LIB, VIA_CURL + 1);
	tcase_add_test(tc, test_writes_in_flight_at_kill9_lose_nothing_acknowledged);
	tcase_add_test(tc, test_read_entries_are_fsyncd_once_per_window);
	tcase_add_test(tc, test_reads_go_on_while_the_wal_flushes);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
