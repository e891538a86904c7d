/* A pool of write workers: jobs queued by libmicrohttpd threads start here
 * in order of arrival. http.c sends every request that may change the store. */
#ifndef VAULTD_OFFLOAD_H
#define VAULTD_OFFLOAD_H
#include <stdbool.h>

typedef void (*offload_fn)(void *arg);

/* Starts nthreads workers; -EINVAL for none, negative errno if one cannot start. */
int offload_start(unsigned nthreads);
/* Queues fn(arg) for a worker. False when the pool is not running (or no
 * memory): then the caller runs it itself. */
bool offload_submit(offload_fn fn, void *arg);
/* Stops taking jobs, lets the workers finish every queued one, joins them. */
void offload_stop(void);

#endif
