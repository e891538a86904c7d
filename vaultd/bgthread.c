/* Start and stop of the audit writer, the watch timer and the re-seal
 * thread: the same condition setup and the same shutdown handshake. */
#include "bgthread.h"

#include <time.h>

int bgthread_start(struct bgthread *t, void *(*fn)(void *), void *arg)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(t->cond, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&t->thread, NULL, fn, arg);
	if (rc != 0)
		return -rc;
	t->running = true;
	return 0;
}

void bgthread_stop(struct bgthread *t)
{
	if (!t->running)
		return;
	pthread_mutex_lock(t->lock);
	*t->stop = true;
	pthread_cond_signal(t->cond);
	pthread_mutex_unlock(t->lock);
	pthread_join(t->thread, NULL);
	t->running = false;
}
