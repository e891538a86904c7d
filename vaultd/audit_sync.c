/* The deferred fsync of committed audit entries, on a thread of its own: on
 * the audit writer it held up every commit, so every answer, for its length. */
#include "audit_sync.h"

#include <stdatomic.h>
#include "bgthread.h"
#include "log.h"
#include "store.h"

static void sync_once(void);
/* finish: an fsync asked for before the stop is owed to commits. */
static struct bgjob g_job = BGJOB_INIT(g_job, sync_once, true);
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

int audit_sync_start(struct store *s)
{
	g_store = s;
	return bgjob_start(&g_job, false);
}

void audit_sync_request(void)
{
	bgjob_kick(&g_job);
}

void audit_sync_stop(void)
{
	bgjob_stop(&g_job);
}

bool audit_sync_failed(void)
{
	return atomic_load(&g_failed);
}

uint64_t audit_sync_count(void)
{
	return atomic_load(&g_count);
}
