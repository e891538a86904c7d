/* Start and stop of vaultd's background threads (the audit writer and its
 * fsync, the watch timer, the re-seal): one condition setup, one shutdown
 * handshake, and the loop of those that work when kicked. */
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

static void *job_main(void *arg)
{
	struct bgjob *j = arg;
	pthread_mutex_lock(&j->lock);
	for (;;) {
		if (j->kicked && (j->finish || !j->stop)) {
			j->kicked = false;
			pthread_mutex_unlock(&j->lock);
			j->job();
			pthread_mutex_lock(&j->lock);
		} else if (j->stop) {
			break;
		} else {
			pthread_cond_wait(&j->cond, &j->lock);
		}
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int bgjob_start(struct bgjob *j, bool kicked)
{
	pthread_mutex_lock(&j->lock);
	j->kicked = kicked;
	j->stop = false;
	pthread_mutex_unlock(&j->lock);
	return bgthread_start(&j->t, job_main, j);
}

void bgjob_kick(struct bgjob *j)
{
	pthread_mutex_lock(&j->lock);
	j->kicked = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
}

void bgjob_stop(struct bgjob *j)
{
	bgthread_stop(&j->t);
}
