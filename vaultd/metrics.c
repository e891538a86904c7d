/* Prometheus metrics: per route x status request counters and one latency
 * histogram, all relaxed atomics (no lock on the request path); gauges are
 * read when /metrics is rendered. */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"
#include "http.h"
#include "store.h"
#include "vaultd.h"
#include "watch.h"

static const int status_slots[] = {200, 201, 204, 400, 401, 403, 404, 405, 409, 410, 413, 431, 500, 503};
#define N_STATUS (sizeof(status_slots) / sizeof(status_slots[0]) + 1) /* + "other" */

static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static atomic_uint_fast64_t g_requests[R_COUNT][N_STATUS];
static atomic_uint_fast64_t g_hist[N_BUCKETS + 1]; /* last: +Inf only */
static atomic_uint_fast64_t g_hist_sum_us;
static atomic_uint_fast64_t g_hist_count;

static size_t status_slot(int status)
{
	for (size_t i = 0; i < N_STATUS - 1; i++)
		if (status_slots[i] == status)
			return i;
	return N_STATUS - 1;
}

void metrics_request(enum route_id route, int status, double seconds)
{
	if ((unsigned)route >= R_COUNT)
		route = R_NONE;
	atomic_fetch_add_explicit(&g_requests[route][status_slot(status)], 1, memory_order_relaxed);
	size_t b = 0;
	while (b < N_BUCKETS && seconds > buckets[b])
		b++;
	atomic_fetch_add_explicit(&g_hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&g_hist_sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
	atomic_fetch_add_explicit(&g_hist_count, 1, memory_order_relaxed);
}

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void emit(struct out *o, const char *fmt, ...)
{
	if (o->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t ncap = o->cap * 2 + (size_t)n;
		char *nb = realloc(o->buf, ncap);
		if (!nb) {
			o->oom = true;
			return;
		}
		o->buf = nb;
		o->cap = ncap;
	}
}

static void render_requests(struct out *o)
{
	emit(o, "# HELP vaultd_requests_total HTTP requests by route, method and status.\n"
	        "# TYPE vaultd_requests_total counter\n");
	for (int r = 0; r < R_COUNT; r++) {
		for (size_t s = 0; s < N_STATUS; s++) {
			uint64_t v = atomic_load_explicit(&g_requests[r][s], memory_order_relaxed);
			if (v == 0)
				continue;
			char st[16];
			if (s < N_STATUS - 1)
				snprintf(st, sizeof(st), "%d", status_slots[s]);
			else
				snprintf(st, sizeof(st), "other");
			emit(o,
			     "vaultd_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} "
			     "%llu\n",
			     route_pattern((enum route_id)r), route_method((enum route_id)r), st,
			     (unsigned long long)v);
		}
	}
}

static void render_histogram(struct out *o)
{
	emit(o, "# HELP vaultd_request_duration_seconds Time from request to answer, audit "
	        "commit included.\n"
	        "# TYPE vaultd_request_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (size_t b = 0; b < N_BUCKETS; b++) {
		cum += atomic_load_explicit(&g_hist[b], memory_order_relaxed);
		emit(o, "vaultd_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
		     (unsigned long long)cum);
	}
	cum += atomic_load_explicit(&g_hist[N_BUCKETS], memory_order_relaxed);
	emit(o, "vaultd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
	     (unsigned long long)cum);
	emit(o, "vaultd_request_duration_seconds_sum %.6f\n",
	     (double)atomic_load(&g_hist_sum_us) / 1e6);
	emit(o, "vaultd_request_duration_seconds_count %llu\n",
	     (unsigned long long)atomic_load(&g_hist_count));
}

static void gauge(struct out *o, const char *name, const char *type, const char *help,
                  unsigned long long v)
{
	emit(o, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

char *metrics_render(struct vaultd *vd, size_t *ret_len)
{
	struct out o = {.buf = malloc(16384), .cap = 16384};
	if (!o.buf)
		return NULL;
	o.buf[0] = '\0';
	render_requests(&o);
	render_histogram(&o);
	bool sealed = store_is_sealed(vd->store);
	uint64_t secrets = 0;
	if (store_count(vd->store, &secrets) < 0)
		secrets = 0;
	gauge(&o, "vaultd_sealed", "gauge", "1 while the store is sealed.", sealed);
	gauge(&o, "vaultd_secrets", "gauge", "Live (not deleted) secrets.", secrets);
	/* Sealed, the count is unknown: 0, as vaultd_secrets reads then. */
	uint64_t pending = 0;
	if (store_key_status(vd->store, NULL, &pending) < 0)
		pending = 0;
	gauge(&o, "vaultd_reseal_pending", "gauge",
	      "Versions still sealed under an older data key (POST /v1/sys/rotate).",
	      (unsigned long long)pending);
	gauge(&o, "vaultd_revision", "gauge", "Store revision (bumped by every change).",
	      (unsigned long long)store_revision(vd->store));
	gauge(&o, "vaultd_store_cache_hits_total", "counter",
	      "Reads answered from the read cache (ciphertext kept between writes).",
	      (unsigned long long)store_cache_hit_count(vd->store));
	gauge(&o, "vaultd_open_connections", "gauge", "Open client connections.",
	      (unsigned long long)http_open_connections());
	gauge(&o, "vaultd_requests_in_flight", "gauge",
	      "Requests begun and not yet answered (this scrape included).",
	      (unsigned long long)http_requests_in_flight());
	gauge(&o, "vaultd_watchers", "gauge", "Waiting GET /v1/watch requests.",
	      (unsigned long long)watch_count());
	gauge(&o, "vaultd_audit_failures_total", "counter",
	      "Requests that failed because their audit entry could not be written.",
	      (unsigned long long)audit_failures());
	gauge(&o, "vaultd_audit_entries_total", "counter", "Entries committed to the audit chain.",
	      (unsigned long long)audit_entries());
	gauge(&o, "vaultd_audit_batches_total", "counter",
	      "Group commits (one store transaction each).", (unsigned long long)audit_batches());
	gauge(&o, "vaultd_audit_syncs_total", "counter",
	      "Deferred fsyncs of committed read entries (--audit-sync interval).",
	      (unsigned long long)audit_syncs());
	if (o.oom) {
		free(o.buf);
		return NULL;
	}
	*ret_len = o.len;
	return o.buf;
}
