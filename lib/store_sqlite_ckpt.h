/* WAL checkpoints off the commit path for the SQLite backend: the write
 * connection's commits only signal, a thread with its own connection copies. */
#ifndef VAULT_STORE_SQLITE_CKPT_H
#define VAULT_STORE_SQLITE_CKPT_H
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* SQLite's own auto-checkpoint threshold: a WAL of this many pages is
 * copied into the database file (then reused from its start). */
#define CKPT_WAL_PAGES 1000
/* A WAL this long is finished (and so reused) by the committing writer. */
#define CKPT_FINISH_PAGES (4 * CKPT_WAL_PAGES)
/* A writer this far ahead waits for the thread's copy to end, then finishes. */
#define CKPT_WAIT_PAGES (2 * CKPT_FINISH_PAGES)
/* A TRUNCATE a reader defeated is tried again after this long (and a commit). */
#define CKPT_TRUNCATE_RETRY_MS 1000

struct ckpt;

/* Opens a read-write connection to path, set up like the store's others
 * (synchronous FULL); NULL on failure. The checkpointer reads the file once
 * and turns the connection's auto-checkpoint off. */
typedef sqlite3 *(*ckpt_open_fn)(const char *path);

/* A checkpointer for the database at path, whose thread opens its
 * connection with opener; the thread starts on the first WAL that reaches
 * CKPT_WAL_PAGES. */
int ckpt_new(const char *path, ckpt_open_fn opener, struct ckpt **ret);
/* Takes over writer's checkpoints: its WAL hook (which replaces SQLite's
 * auto-checkpoint) wakes the thread instead of checkpointing. */
void ckpt_attach(struct ckpt *c, sqlite3 *writer, int busy_ms);
/* Until the writer's next commit, the thread checkpoints nothing: waits for
 * the checkpoint it is running, and drops a request not started yet. Call
 * holding the write lock (only commits ask the thread), before a checkpoint
 * that must not meet the thread's (SQLite answers it SQLITE_BUSY at once,
 * without the busy handler). */
void ckpt_quiesce(struct ckpt *c);
/* Stops and joins the thread and closes its connection; NULL is a no-op.
 * Before the writer closes: its close checkpoints the rest itself. */
void ckpt_free(struct ckpt *c);
/* A TRUNCATE checkpoint on the writer (holding the write lock): copies every
 * WAL frame into the database and cuts the WAL to zero bytes, so that no
 * older page image keeps a value a destroy wiped. wait: let the busy handler
 * wait for readers of older snapshots; else try once. A failure is kept and
 * retried, without waiting, after every later commit until one succeeds (a
 * crash meanwhile leaves it to the next open). An SQLite result code. */
int ckpt_truncate(struct ckpt *c, sqlite3 *writer, bool wait);
/* Checkpoints run so far: by the thread (and the WAL frames it copied),
 * and by committing writers. */
struct ckpt_stats {
	uint64_t background;
	uint64_t background_frames;
	uint64_t by_writer;
};
void ckpt_stats(struct ckpt *c, struct ckpt_stats *ret);

#endif
