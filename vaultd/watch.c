/* The watcher registry and its timer thread. Waiting watchers hold no
 * thread: their connections are suspended, and a write handler's
 * watch_notify() or the timer resumes them. Each watcher fires once. */
#include "watch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bgthread.h"
#include "http.h"
#include "log.h"
#include "monotime.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;
static struct watch *g_head;
static size_t g_count;
static bool g_stop;
static struct bgthread g_bg = {.lock = &g_lock, .cond = &g_cond, .stop = &g_stop};

static void unlink_locked(struct watch *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		g_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	g_count--;
}

/* Marks w fired and unlinks it; the caller resumes it after unlocking.
 * Returns false when it had already fired. */
static bool fire_locked(struct watch *w, bool timed_out)
{
	if (w->fired)
		return false;
	w->fired = true;
	w->timed_out = timed_out;
	unlink_locked(w);
	return true;
}

/* Resumes a batch collected under the lock. A watch must not be touched
 * after its request is resumed (it may be answered and freed at once). */
static void resume_all(struct req **reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		http_watch_fired(reqs[i]);
}

void watch_add(struct watch *w, bool (*changed)(struct watch *w, void *ctx), void *ctx)
{
	pthread_mutex_lock(&g_lock);
	if (g_stop) {
		w->fired = true;
		w->timed_out = true;
		pthread_mutex_unlock(&g_lock);
		http_watch_fired(w->req);
		return;
	}
	w->prev = NULL;
	w->next = g_head;
	if (g_head)
		g_head->prev = w;
	g_head = w;
	g_count++;
	/* Writers notify under this lock too: checking here closes the gap
	 * between the caller's first look and the registration. */
	bool fire = changed && changed(w, ctx) && fire_locked(w, false);
	pthread_cond_signal(&g_cond); /* the earliest deadline may have changed */
	struct req *r = w->req;
	pthread_mutex_unlock(&g_lock);
	if (fire)
		http_watch_fired(r);
}

#define FIRE_CHUNK 64

void watch_notify(const char *name)
{
	for (;;) {
		struct req *reqs[FIRE_CHUNK];
		size_t n = 0;
		bool more = false;
		pthread_mutex_lock(&g_lock);
		for (struct watch *w = g_head, *next; w; w = next) {
			next = w->next;
			for (size_t i = 0; i < w->n; i++) {
				if (strcmp(w->names[i], name) != 0)
					continue;
				if (n == FIRE_CHUNK) {
					more = true;
					break;
				}
				w->notified |= (i < 64) ? (1ull << i) : 0;
				reqs[n++] = w->req;
				fire_locked(w, false);
				break;
			}
			if (more)
				break;
		}
		pthread_mutex_unlock(&g_lock);
		resume_all(reqs, n);
		if (!more)
			return;
	}
}

size_t watch_count(void)
{
	pthread_mutex_lock(&g_lock);
	size_t n = g_count;
	pthread_mutex_unlock(&g_lock);
	return n;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	free(w->names);
	free(w);
}

/* Fires expired watchers (or all when stopping); returns the next deadline. */
static int64_t expire_locked(struct req **reqs, size_t *n, bool all, bool *more)
{
	int64_t now = mono_ms(), next = INT64_MAX;
	*more = false;
	for (struct watch *w = g_head, *nx; w; w = nx) {
		nx = w->next;
		if (all || w->deadline_ms <= now) {
			if (*n == FIRE_CHUNK) {
				*more = true;
				break;
			}
			reqs[(*n)++] = w->req;
			fire_locked(w, true);
		} else if (w->deadline_ms < next) {
			next = w->deadline_ms;
		}
	}
	return next;
}

static void *timer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_lock);
	for (;;) {
		struct req *reqs[FIRE_CHUNK];
		size_t n = 0;
		bool more = false;
		int64_t next = expire_locked(reqs, &n, g_stop, &more);
		if (n > 0) {
			pthread_mutex_unlock(&g_lock);
			resume_all(reqs, n);
			pthread_mutex_lock(&g_lock);
			continue;
		}
		if (g_stop)
			break;
		if (next == INT64_MAX) {
			pthread_cond_wait(&g_cond, &g_lock);
		} else {
			struct timespec ts = mono_timespec((uint64_t)next * 1000000u);
			pthread_cond_timedwait(&g_cond, &g_lock, &ts);
		}
	}
	pthread_mutex_unlock(&g_lock);
	return NULL;
}

int watch_start(void)
{
	return bgthread_start(&g_bg, timer_main, NULL); /* deadlines are monotonic */
}

void watch_stop(void)
{
	bgthread_stop(&g_bg);
}
