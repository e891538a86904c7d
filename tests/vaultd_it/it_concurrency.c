/* 64 clients doing mixed reads and writes against one vaultd for a few
 * seconds: no errors, and no lost writes (each writer's last acknowledged
 * version is the one stored, with its value). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CLIENTS 64
#define RUN_MS 3000
#define MAX_ERRS 8

static struct vd g;

struct client {
	int id;
	double until;
	long long acked_version;
	char acked[96];
	int ops, errs;
	char err[MAX_ERRS][200];
};

static void note(struct client *c, const char *what, const char *a, int st)
{
	if (c->errs < MAX_ERRS)
		snprintf(c->err[c->errs], sizeof(c->err[0]), "%s %s: %d", what, a, st);
	c->errs++;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	char own[32], other[32], val[96];
	snprintf(own, sizeof(own), "cc-%d", c->id);
	snprintf(other, sizeof(other), "cc-%d", (c->id + 1) % CLIENTS);
	for (int i = 0; now_ms() < c->until; i++, c->ops++) {
		int st = 0;
		long long ver = 0;
		char *got = NULL;
		switch (i % 4) {
		case 0: { /* write our own secret: versions go up by one */
			canary(val, sizeof(val), "cc");
			long long v = vd_put(&g, VIA_LIB, NULL, own, val, NULL);
			if (v != c->acked_version + 1) {
				note(c, "PUT (version or -status)", own, (int)v);
			} else {
				c->acked_version = v;
				memcpy(c->acked, val, sizeof(val));
			}
			break;
		}
		case 1: /* read it back: exactly the last acknowledged write */
			got = vd_get(&g, VIA_LIB, NULL, own, &st, &ver);
			if (!got || strcmp(got, c->acked) != 0 || ver != c->acked_version)
				note(c, "GET own, stale or failed", own, st);
			break;
		case 2: /* someone else's secret, being written concurrently */
			got = vd_get(&g, VIA_LIB, NULL, other, &st, &ver);
			if (!got || strncmp(got, VD_CANARY, strlen(VD_CANARY)) != 0)
				note(c, "GET other", other, st);
			break;
		case 3: { /* a bundle of both from one snapshot */
			char *body = xfmt("{\"names\":[\"%s\",\"%s\"]}", own, other);
			struct vresp r;
			vd_call(&g, VIA_LIB, "POST", "/v1/bundle", NULL, body, &r);
			char p[64];
			snprintf(p, sizeof(p), "secrets/%s/version", own);
			if (r.status != 200 || jint(r.json, p) != c->acked_version)
				note(c, "bundle (status) with", own, r.status);
			vresp_clear(&r);
			free(body);
			break;
		}
		}
		free(got);
	}
	return NULL;
}

START_TEST(test_64_clients_mixed_reads_writes_no_errors_no_lost_writes)
{
	vd_up(&g, "concurrency");
	static struct client c[CLIENTS];
	pthread_t th[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) { /* everyone's secret exists first */
		c[i] = (struct client){.id = i, .acked_version = 1};
		canary(c[i].acked, sizeof(c[i].acked), "cc0");
		char n[32];
		snprintf(n, sizeof(n), "cc-%d", i);
		ck_assert_int_eq(vd_put(&g, VIA_LIB, NULL, n, c[i].acked, NULL), 1);
	}
	double t0 = now_ms();
	for (int i = 0; i < CLIENTS; i++) {
		c[i].until = t0 + RUN_MS;
		ck_assert_int_eq(pthread_create(&th[i], NULL, client_main, &c[i]), 0);
	}
	int ops = 0, errs = 0;
	long long writes = 0;
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		ops += c[i].ops;
		errs += c[i].errs;
		writes += c[i].acked_version - 1;
		for (int k = 0; k < c[i].errs && k < MAX_ERRS; k++)
			fprintf(stderr, "client %d: %s\n", i, c[i].err[k]);
	}
	double secs = (now_ms() - t0) / 1000.0;
	printf("%d clients, %.1f s: %d requests (%.0f/s), %lld acknowledged writes, %d errors\n",
	       CLIENTS, secs, ops, ops / secs, writes, errs);
	ck_assert_msg(errs == 0, "%d errors under concurrency (first ones above)", errs);
	ck_assert_msg(writes >= CLIENTS, "every client wrote (%lld writes)", writes);

	for (int i = 0; i < CLIENTS; i++) {
		char n[32];
		snprintf(n, sizeof(n), "cc-%d", i);
		long long ver = 0;
		int st = 0;
		char *got = vd_get(&g, VIA_LIB, NULL, n, &st, &ver);
		ck_assert_msg(got && strcmp(got, c[i].acked) == 0 && ver == c[i].acked_version,
		              "%s: last acknowledged version %lld lost (have %lld, status %d)", n,
		              c[i].acked_version, ver, st);
		free(got);
	}
	struct vresp r;
	vd_call(&g, VIA_CURL, "GET", "/v1/audit/verify", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	bool ok = false;
	ck_assert_msg(jbool(r.json, "ok", &ok) && ok, "audit chain intact after the run: %s", r.body);
	ck_assert_msg(jint(r.json, "checked") >= ops, "every request audited: %lld < %d",
	              jint(r.json, "checked"), ops);
	vresp_clear(&r);
	ck_assert_int_eq(vd_stop_status(&g), 0);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd concurrency");
	TCase *tc = tcase_create("64 clients");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_64_clients_mixed_reads_writes_no_errors_no_lost_writes);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
