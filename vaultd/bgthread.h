/* A background thread woken through its module's lock and condition: the
 * start (condition on the monotonic clock) and the stop (flag, wake, join);
 * and bgjob, such a thread that works whenever it is kicked. */
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

/* A thread that runs job() whenever it is kicked, without the lock; kicks
 * that come while it runs make one more run. With finish, a kick made
 * before the stop is still run (a promise to keep); without, the stop wins.
 * Define one with BGJOB_INIT(itself, job, finish). */
struct bgjob {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* set up by bgthread_start */
	bool kicked, stop;   /* under lock */
	bool finish;
	void (*job)(void);
	struct bgthread t;
};
#define BGJOB_INIT(self, fn, fin)                                                                  \
	{                                                                                          \
		.lock = PTHREAD_MUTEX_INITIALIZER, .finish = (fin), .job = (fn),                   \
		.t = {.lock = &(self).lock, .cond = &(self).cond, .stop = &(self).stop},           \
	}

/* Starts the thread, with a kick waiting when kicked. 0 or -errno. */
int bgjob_start(struct bgjob *j, bool kicked);
void bgjob_kick(struct bgjob *j);
/* Stops the thread (see finish) and joins it; nothing if not started. */
void bgjob_stop(struct bgjob *j);

#endif
