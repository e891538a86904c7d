/* bench_secbuf: the cost of one guarded buffer (secbuf_new + secbuf_free),
 * printed as a Markdown table. Not a test; run it by hand on an idle machine:
 *   build/tests/bench/bench_secbuf */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hygiene.h"
#include "secbuf.h"

#define OPS 200000
#define THREADS 2

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void row(const char *what, double value, const char *unit)
{
	printf("| %-60s | %12.0f %-7s |\n", what, value, unit);
}

struct job {
	size_t len;
	int ops;
};

/* One read's worth of work per iteration: a buffer is made, touched (so a
 * lazily mapped page is really faulted in) and freed. */
static void *churn(void *arg)
{
	const struct job *j = arg;
	for (int i = 0; i < j->ops; i++) {
		struct secbuf *b = secbuf_new(j->len);
		if (!b) {
			fprintf(stderr, "bench_secbuf: secbuf_new(%zu): out of memory\n", j->len);
			exit(1);
		}
		b->data[0] = 1;
		secbuf_free(b);
	}
	return NULL;
}

static double ns_per_op(size_t len, int threads)
{
	pthread_t th[THREADS];
	struct job j = {len, OPS / threads};
	double t0 = now_s();
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, churn, &j) != 0)
			exit(1);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return (now_s() - t0) / OPS * 1e9;
}

int main(void)
{
	if (vault_init() < 0) {
		fprintf(stderr, "bench_secbuf: vault_init failed\n");
		return 1;
	}
	printf("| %-60s | %20s |\n", "benchmark", "result");
	printf("|%s|%s|\n", "--------------------------------------------------------------",
	       "----------------------");
	row("secbuf_new + secbuf_free, 64 B, 1 thread", ns_per_op(64, 1), "ns/op");
	row("secbuf_new + secbuf_free, 1 KiB, 1 thread", ns_per_op(1024, 1), "ns/op");
	row("secbuf_new + secbuf_free, 64 B, 2 threads (wall / op)", ns_per_op(64, THREADS),
	    "ns/op");
	return 0;
}
