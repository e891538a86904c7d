/* Group commit for durable writes: writers that arrive while a commit is
 * under way queue up, and the next one to run commits all of them in one
 * transaction, so one fsync acknowledges many writes. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "store_private.h"

#define OP_PENDING 1 /* not run yet; every real result is <= 0 */

struct group_op {
	tx_body body;
	void *ctx;
	int result;
	bool done;
	struct group_op *next;
};

void store_group_init(struct store_group *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->done, NULL);
	g->head = g->tail = NULL;
	g->queued = 0;
	g->batches = 0;
	g->leader = false;
}

void store_group_destroy(struct store_group *g)
{
	pthread_cond_destroy(&g->done);
	pthread_mutex_destroy(&g->lock);
}

/* One attempt at the whole batch. Each body gets its own savepoint so that
 * a refused write (check-and-set conflict, bad name) leaves the others in. */
static int batch_try(struct store *s, struct group_op *batch)
{
	struct be_tx *tx;
	int r = s->ops->begin(s->be, true, &tx);
	if (r < 0)
		return r;
	if (!batch->next) {
		/* Alone: its failure may take the whole transaction along, and
		 * a savepoint would only cost a statement journal. */
		batch->result = batch->body(s, tx, batch->ctx);
		if (batch->result < 0) {
			s->ops->abort(tx);
			return 0;
		}
		return s->ops->commit(tx);
	}
	bool any = false;
	for (struct group_op *op = batch; op; op = op->next) {
		r = s->ops->savepoint(tx);
		if (r == 0) {
			op->result = op->body(s, tx, op->ctx);
			r = s->ops->savepoint_end(tx, op->result == 0);
		}
		if (r < 0) {
			s->ops->abort(tx);
			return r;
		}
		any = any || op->result == 0;
	}
	if (!any) {
		s->ops->abort(tx); /* nothing to keep: no fsync */
		return 0;
	}
	return s->ops->commit(tx);
}

static void batch_run(struct store *s, struct group_op *batch)
{
	int r = keys_acquire(s);
	if (r == 0) {
		/* Ends before any writer hears back: see store_cache.c. */
		store_cache_write_begin(s->cache);
		for (int i = 0; i < STORE_TX_RETRIES; i++) {
			for (struct group_op *op = batch; op; op = op->next)
				op->result = OP_PENDING;
			r = batch_try(s, batch);
			if (r != -EAGAIN)
				break;
		}
		store_cache_write_end(s->cache);
		if (r == -EAGAIN)
			r = -EBUSY;
		keys_release(s);
	}
	/* A lost transaction takes everything in it along: no write in it
	 * was kept, whatever its own body said. */
	for (struct group_op *op = batch; op; op = op->next)
		if (r < 0 && op->result >= 0)
			op->result = r;
}

int store_run_grouped(struct store *s, tx_body body, void *ctx)
{
	struct store_group *g = &s->group;
	struct group_op op = {.body = body, .ctx = ctx, .result = OP_PENDING};
	pthread_mutex_lock(&g->lock);
	if (g->tail)
		g->tail->next = &op;
	else
		g->head = &op;
	g->tail = &op;
	g->queued++;
	while (!op.done) {
		if (g->leader) {
			pthread_cond_wait(&g->done, &g->lock);
			continue;
		}
		/* Nobody is committing: take everything queued, ours included. */
		g->leader = true;
		struct group_op *batch = g->head;
		g->head = g->tail = NULL;
		g->queued = 0;
		g->batches++;
		pthread_mutex_unlock(&g->lock);
		batch_run(s, batch);
		pthread_mutex_lock(&g->lock);
		/* Waiters cannot return (and free their op) before we unlock. */
		for (struct group_op *o = batch; o; o = o->next)
			o->done = true;
		g->leader = false;
		pthread_cond_broadcast(&g->done);
	}
	pthread_mutex_unlock(&g->lock);
	return op.result;
}

size_t store_group_queued(struct store *s)
{
	pthread_mutex_lock(&s->group.lock);
	size_t n = s->group.queued;
	pthread_mutex_unlock(&s->group.lock);
	return n;
}

uint64_t store_group_batches(struct store *s)
{
	pthread_mutex_lock(&s->group.lock);
	uint64_t n = s->group.batches;
	pthread_mutex_unlock(&s->group.lock);
	return n;
}
