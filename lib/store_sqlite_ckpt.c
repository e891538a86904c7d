/* WAL checkpoints off the commit path for the SQLite backend. SQLite's own
 * auto-checkpoint runs inside the commit that crosses the threshold: that
 * commit (and every request waiting on the write lock) paid for copying a
 * thousand pages and two fsyncs. Here the commit only signals; a thread with
 * its own connection runs PASSIVE checkpoints, which take no write lock. */
#include "store_sqlite_ckpt.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "monotime.h"

struct ckpt {
	char *path;
	ckpt_open_fn opener;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* wakes the thread */
	pthread_cond_t idle; /* the thread finished a checkpoint */
	pthread_t thread;
	bool started; /* under lock: the thread exists and must be joined */
	bool broken;  /* under lock: the thread's connection failed to open last time */
	bool wanted;  /* under lock: a commit left a WAL over the threshold */
	bool stop;    /* under lock */
	bool running; /* under lock: the thread is checkpointing */
	int last_pages; /* the writer's: WAL pages after its previous commit */
	int asked_at;  /* the writer's: WAL pages when it last asked the thread */
	int finish_at; /* the writer's: WAL pages from which it checkpoints itself */
	int busy_ms;   /* the writer's busy timeout, put back after a try */
	atomic_bool truncate_pending; /* a TRUNCATE failed: retry after commits */
	int64_t truncate_next_ms;     /* the writer's: no retry before (monotonic) */
	atomic_uint_fast64_t runs, frames, by_writer;
};

int ckpt_new(const char *path, ckpt_open_fn opener, struct ckpt **ret)
{
	struct ckpt *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->opener = opener;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_cond_init(&c->idle, NULL);
	*ret = c;
	return 0;
}

/* The store's settings include synchronous = FULL, which a checkpoint
 * needs to sync the WAL before copying and the database after. A
 * connection learns that the file is in WAL mode only when it first reads
 * it; until then SQLite 3.40 takes a checkpoint for a no-op: read now. Its
 * own auto-checkpoint would never fire (it never commits): off all the same. */
static sqlite3 *open_conn(struct ckpt *c)
{
	sqlite3 *db = c->opener(c->path);
	if (db && sqlite3_exec(db, "SELECT 1 FROM sqlite_schema LIMIT 1", NULL, NULL, NULL) !=
	              SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	if (db)
		sqlite3_wal_autocheckpoint(db, 0);
	return db;
}

static void *ckpt_main(void *arg)
{
	struct ckpt *c = arg;
	sqlite3 *db = NULL;
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		if (!c->wanted) {
			pthread_cond_wait(&c->cond, &c->lock);
			continue;
		}
		c->wanted = false;
		c->running = true;
		pthread_mutex_unlock(&c->lock);
		/* Opened here, and again after a failure (descriptors can run
		 * out near the connection cap): meanwhile the writer checkpoints
		 * for itself, as SQLite would. */
		if (!db)
			db = open_conn(c);
		/* A failed checkpoint (busy with another checkpointer, an I/O
		 * error) loses nothing: the frames stay in the WAL, and a later
		 * commit asks again. */
		int log = 0, copied = 0;
		int rc = db ? sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
		            : SQLITE_CANTOPEN;
		if (db)
			atomic_fetch_add(&c->runs, 1);
		if (rc == SQLITE_OK && copied > 0)
			atomic_fetch_add(&c->frames, (uint64_t)copied);
		pthread_mutex_lock(&c->lock);
		c->broken = !db;
		c->running = false;
		pthread_cond_broadcast(&c->idle);
	}
	pthread_mutex_unlock(&c->lock);
	sqlite3_close(db); /* NULL is a no-op */
	return NULL;
}

/* Under lock. The thread must never take the process's signals (vaultd
 * waits for them in its main thread), whichever thread commits first. */
static void start_locked(struct ckpt *c)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	c->started = pthread_create(&c->thread, NULL, ckpt_main, c) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Asks the thread for a checkpoint (starting it first, or again if that
 * failed before); false when the writer must checkpoint for itself: there
 * is no thread, or it could not open its connection last time. */
static bool signal_thread(struct ckpt *c)
{
	pthread_mutex_lock(&c->lock);
	if (!c->started)
		start_locked(c);
	if (c->started) {
		c->wanted = true;
		pthread_cond_signal(&c->cond);
	}
	bool ok = c->started && !c->broken;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

/* Runs after every commit of the write connection, on the committing thread
 * (commits are serialised: the writer's fields need no lock). The thread's
 * checkpoints alone would let the WAL grow for ever under steady writes:
 * SQLite reuses the WAL from its start only when a write transaction begins
 * with every frame already copied, and the writer keeps adding frames while
 * the thread copies. So once the WAL is CKPT_FINISH_PAGES long, the commit
 * finishes the job itself: by then the thread has copied nearly all of it,
 * and what is left is a short copy and the two fsyncs, once per
 * CKPT_FINISH_PAGES instead of a full checkpoint every CKPT_WAL_PAGES. */
static int on_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct ckpt *c = arg;
	/* Owed by a destroy. A try that a reader defeats still copies the new
	 * frames and fsyncs: at most one a second, not one per commit. */
	if (atomic_load(&c->truncate_pending) && mono_ms() >= c->truncate_next_ms) {
		if (ckpt_truncate(c, db, false) == SQLITE_OK) {
			/* The WAL is empty: start counting for the thread afresh. */
			c->last_pages = c->asked_at = c->finish_at = 0;
			return SQLITE_OK;
		}
		c->truncate_next_ms = mono_ms() + CKPT_TRUNCATE_RETRY_MS;
		/* and the usual bookkeeping below */
	}
	if (pages < c->last_pages) {
		c->asked_at = 0; /* the WAL was restarted */
		c->finish_at = 0;
	}
	c->last_pages = pages;
	if (pages < CKPT_WAL_PAGES)
		return SQLITE_OK;
	if (pages < CKPT_FINISH_PAGES) {
		if (pages >= c->asked_at + CKPT_WAL_PAGES / 2) {
			c->asked_at = pages;
			if (signal_thread(c))
				return SQLITE_OK;
			/* no thread: what SQLite would have done */
		} else {
			return SQLITE_OK;
		}
	} else if (pages < c->finish_at) {
		return SQLITE_OK;
	} else if (pages >= CKPT_WAIT_PAGES) {
		/* The writer outran the thread: wait for its copy to end rather
		 * than let the WAL grow with the writer's pace. */
		pthread_mutex_lock(&c->lock);
		while (c->running)
			pthread_cond_wait(&c->idle, &c->lock);
		pthread_mutex_unlock(&c->lock);
	}
	int log = 0, copied = 0;
	int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
	/* Busy: the thread is still copying, and the next commit tries again
	 * (a failed try costs nothing). Otherwise this try cost fsyncs: held
	 * back by a reader of an old snapshot (or failed), wait for many more
	 * frames; complete, the next write transaction normally restarts the
	 * WAL, but a reader inside it then can keep it from doing so, and
	 * every commit must not pay two fsyncs meanwhile. */
	if ((rc & 0xff) != SQLITE_BUSY) {
		atomic_fetch_add(&c->by_writer, 1);
		bool whole = rc == SQLITE_OK && copied >= log;
		c->finish_at = pages + (whole ? CKPT_WAL_PAGES / 16 : CKPT_WAL_PAGES / 2);
	}
	return SQLITE_OK;
}

void ckpt_attach(struct ckpt *c, sqlite3 *writer, int busy_ms)
{
	c->busy_ms = busy_ms;
	sqlite3_wal_hook(writer, on_wal, c); /* replaces the auto-checkpoint hook */
}

int ckpt_truncate(struct ckpt *c, sqlite3 *writer, bool wait)
{
	ckpt_quiesce(c); /* the thread's checkpoint would make this one BUSY at once */
	if (!wait)
		sqlite3_busy_timeout(writer, 0);
	int rc = sqlite3_wal_checkpoint_v2(writer, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (!wait)
		sqlite3_busy_timeout(writer, c->busy_ms);
	atomic_store(&c->truncate_pending, rc != SQLITE_OK);
	return rc;
}

void ckpt_quiesce(struct ckpt *c)
{
	pthread_mutex_lock(&c->lock);
	c->wanted = false;
	while (c->running)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

void ckpt_free(struct ckpt *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->cond);
	bool join = c->started;
	pthread_mutex_unlock(&c->lock);
	if (join)
		pthread_join(c->thread, NULL);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	pthread_cond_destroy(&c->idle);
	free(c->path);
	free(c);
}

void ckpt_stats(struct ckpt *c, struct ckpt_stats *ret)
{
	ret->background = atomic_load(&c->runs);
	ret->background_frames = atomic_load(&c->frames);
	ret->by_writer = atomic_load(&c->by_writer);
}
