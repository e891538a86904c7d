/* The deferred fsync of committed audit entries, on a thread of its own: on
 * the audit writer it held up every commit, so every answer, for its length. */
#include "audit_sync.h"

#include <pthread.h>
#include <stdatomic.h>
#include "bgthread.h"
#include "log.h"
#include "store.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;
static bool g_wanted; /* under g_lock: an fsync is owed to commits made so far */
static bool g_stop;
static struct bgthread g_bg = {.lock = &g_lock, .cond = &g_cond, .stop = &g_stop};
static struct store *g_store;
static atomic_bool g_failed;
static atomic_uint_fast64_t g_count;

static void sync_once(void)
{
	int rc = store_sync(g_store);
	if (rc == 0) {
		atomic_fetch_add(&g_count, 1);
		return;
	}
	atomic_store(&g_failed, true);
	log_errno(LOG_ERROR, "audit_sync_failed", rc,
	          "recent audit entries of reads may not be on disk; every audit commit is "
	          "fsync'd from now on");
}

static void *sync_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_lock);
	for (;;) {
		if (g_wanted) { /* before the stop: what was asked for is done first */
			g_wanted = false;
			pthread_mutex_unlock(&g_lock);
			sync_once();
			pthread_mutex_lock(&g_lock);
		} else if (g_stop) {
			break;
		} else {
			pthread_cond_wait(&g_cond, &g_lock);
		}
	}
	pthread_mutex_unlock(&g_lock);
	return NULL;
}

int audit_sync_start(struct store *s)
{
	g_store = s;
	g_stop = false;
	g_wanted = false;
	return bgthread_start(&g_bg, sync_main, NULL);
}

void audit_sync_request(void)
{
	pthread_mutex_lock(&g_lock);
	g_wanted = true;
	pthread_cond_signal(&g_cond);
	pthread_mutex_unlock(&g_lock);
}

void audit_sync_stop(void)
{
	bgthread_stop(&g_bg);
}

bool audit_sync_failed(void)
{
	return atomic_load(&g_failed);
}

uint64_t audit_sync_count(void)
{
	return atomic_load(&g_count);
}
