/* A background thread woken through its module's lock and condition: the
 * start (condition on the monotonic clock) and the stop (flag, wake, join). */
#ifndef VAULTD_BGTHREAD_H
#define VAULTD_BGTHREAD_H
#include <pthread.h>
#include <stdbool.h>

/* The module owns lock, cond and stop (its thread reads stop under lock). */
struct bgthread {
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
	bool *stop;
	pthread_t thread;
	bool running;
};

/* Initialises *t->cond with CLOCK_MONOTONIC (timed waits take monotonic
 * deadlines, see mono_timespec) and starts fn(arg). 0 or -errno. */
int bgthread_start(struct bgthread *t, void *(*fn)(void *), void *arg);
/* Sets *stop under the lock, wakes the thread and joins it; nothing if it
 * was not started. */
void bgthread_stop(struct bgthread *t);

#endif
