/* Prometheus metrics: lock-free counters updated per request, rendered as
 * text exposition format by GET /metrics. */
#ifndef VAULTD_METRICS_H
#define VAULTD_METRICS_H
#include <stddef.h>
#include <stdint.h>
#include "router.h"

struct vaultd;

/* One finished request: route (R_NONE for unmatched), status, seconds. */
void metrics_request(enum route_id route, int status, double seconds);
/* The exposition text (malloc'd, caller frees) or NULL. */
char *metrics_render(struct vaultd *vd, size_t *ret_len);

#endif
