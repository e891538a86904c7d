/* The re-seal thread: store_reseal_step in batches, paced so that requests
 * keep the store's write lock most of the time; idle until kicked. */
#include "reseal.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "audit.h"
#include "audit_chain.h"
#include "bgthread.h"
#include "log.h"
#include "monotime.h"
#include "store.h"

/* One batch is one fsync'd write transaction: small enough that a request
 * waiting behind it waits a few milliseconds, large enough that a store of
 * thousands of versions is done within seconds. */
#define RESEAL_BATCH 64
#define RESEAL_PAUSE_MS 5    /* between batches */
#define RESEAL_RETRY_MS 1000 /* after a failed batch */

static void drain(void);
static struct bgjob g_job = BGJOB_INIT(g_job, drain, false);
static struct store *g_store;

/* Waits ms (or until stopped); false when stopping. */
static bool pause_ms(long ms)
{
	struct timespec end = mono_timespec(mono_ns() + (uint64_t)ms * 1000000u);
	pthread_mutex_lock(&g_job.lock);
	while (!g_job.stop && pthread_cond_timedwait(&g_job.cond, &g_job.lock, &end) == 0)
		;
	bool go_on = !g_job.stop;
	pthread_mutex_unlock(&g_job.lock);
	return go_on;
}

static void log_done(uint32_t key_id, uint64_t seq)
{
	struct logline l;
	logline_start(&l, LOG_INFO, "reseal_done");
	logline_uint(&l, "key_id", key_id);
	if (seq)
		logline_uint(&l, "seq", seq);
	logline_emit(&l);
}

/* Batches until nothing is left, the store is sealed (the unseal kicks
 * again) or vaultd stops. A read transaction finds out first whether there
 * is anything to do (a step is an fsync'd write, even an empty one); after
 * that each step says what it left. */
static void drain(void)
{
	uint32_t active = 0;
	uint64_t pending = 0;
	bool counted = false;
	for (;;) {
		int r = 0;
		if (!counted)
			r = store_key_status(g_store, &active, &pending);
		counted = r == 0;
		if (r == 0 && pending == 0)
			return;
		size_t left = 0;
		struct audit_entry done;
		/* the chain's record that the rotation is complete */
		audit_entry_self(&done, "sys.reseal");
		if (r == 0)
			r = store_reseal_step_audited(g_store, RESEAL_BATCH, &left, &done);
		if (r == 0 && done.seq)
			audit_copy_chained(&done);
		if (r == 0 && left == 0) {
			log_done(active, done.seq);
			return;
		}
		if (r == STORE_E_SEALED)
			return;
		if (r < 0) {
			log_errno(LOG_ERROR, "reseal", r,
			          "re-sealing a batch failed; retrying in 1 s");
			counted = false;
		}
		pending = left;
		if (!pause_ms(r < 0 ? RESEAL_RETRY_MS : RESEAL_PAUSE_MS))
			return;
	}
}

int reseal_start(struct store *s)
{
	g_store = s;
	return bgjob_start(&g_job, true);
}

void reseal_kick(void)
{
	bgjob_kick(&g_job);
}

void reseal_stop(void)
{
	bgjob_stop(&g_job);
}
