/* Write workers: requests that may change the store run here, not on a
 * libmicrohttpd thread, so an fsync never stalls a thread's other connections. */
#include "offload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct job {
	offload_fn fn;
	void *arg;
	struct job *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static struct job *g_head, *g_tail;
static bool g_accepting; /* under g_lock */
static bool g_stop;      /* under g_lock: drain the queue, then exit */
static pthread_t *g_threads;
static unsigned g_nthreads;

/* Takes the next job, or NULL once stopping with nothing left. */
static struct job *next_job(void)
{
	pthread_mutex_lock(&g_lock);
	while (!g_head && !g_stop)
		pthread_cond_wait(&g_cond, &g_lock);
	struct job *j = g_head;
	if (j) {
		g_head = j->next;
		if (!g_head)
			g_tail = NULL;
	}
	pthread_mutex_unlock(&g_lock);
	return j;
}

static void *worker_main(void *arg)
{
	(void)arg;
	struct job *j;
	while ((j = next_job())) {
		offload_fn fn = j->fn;
		void *a = j->arg;
		free(j);
		fn(a);
	}
	return NULL;
}

int offload_start(unsigned nthreads)
{
	if (nthreads == 0)
		return -EINVAL; /* jobs would wait forever */
	g_threads = calloc(nthreads, sizeof(*g_threads));
	if (!g_threads)
		return -ENOMEM;
	for (g_nthreads = 0; g_nthreads < nthreads; g_nthreads++) {
		int rc = pthread_create(&g_threads[g_nthreads], NULL, worker_main, NULL);
		if (rc != 0) {
			offload_stop();
			return -rc;
		}
	}
	pthread_mutex_lock(&g_lock);
	g_accepting = true;
	pthread_mutex_unlock(&g_lock);
	return 0;
}

bool offload_submit(offload_fn fn, void *arg)
{
	struct job *j = malloc(sizeof(*j));
	if (!j)
		return false;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&g_lock);
	bool ok = g_accepting;
	if (ok) {
		if (g_tail)
			g_tail->next = j;
		else
			g_head = j;
		g_tail = j;
		pthread_cond_signal(&g_cond);
	}
	pthread_mutex_unlock(&g_lock);
	if (!ok)
		free(j);
	return ok;
}

void offload_stop(void)
{
	pthread_mutex_lock(&g_lock);
	g_accepting = false;
	g_stop = true;
	pthread_cond_broadcast(&g_cond);
	pthread_mutex_unlock(&g_lock);
	for (unsigned i = 0; i < g_nthreads; i++)
		pthread_join(g_threads[i], NULL);
	free(g_threads);
	g_threads = NULL;
	g_nthreads = 0;
}
