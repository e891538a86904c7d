/* WAL checkpoints off the commit path for the SQLite backend: the write
 * connection's commits only signal, a thread with its own connection copies. */
#ifndef VAULT_STORE_SQLITE_CKPT_H
#define VAULT_STORE_SQLITE_CKPT_H
#include <sqlite3.h>
#include <stdint.h>

/* SQLite's own auto-checkpoint threshold: a WAL of this many pages is
 * copied into the database file (then reused from its start). */
#define CKPT_WAL_PAGES 1000
/* A WAL this long is finished (and so reused) by the committing writer. */
#define CKPT_FINISH_PAGES (4 * CKPT_WAL_PAGES)
/* A writer this far ahead waits for the thread's copy to end, then finishes. */
#define CKPT_WAIT_PAGES (2 * CKPT_FINISH_PAGES)

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
void ckpt_attach(struct ckpt *c, sqlite3 *writer);
/* Until the writer's next commit, the thread checkpoints nothing: waits for
 * the checkpoint it is running, and drops a request not started yet. Call
 * holding the write lock (only commits ask the thread), before a checkpoint
 * that must not meet the thread's (SQLite answers it SQLITE_BUSY at once,
 * without the busy handler). */
void ckpt_quiesce(struct ckpt *c);
/* Stops and joins the thread and closes its connection; NULL is a no-op.
 * Before the writer closes: its close checkpoints the rest itself. */
void ckpt_free(struct ckpt *c);
/* Checkpoints run so far: by the thread (and the WAL frames it copied),
 * and by committing writers. */
struct ckpt_stats {
	uint64_t background;
	uint64_t background_frames;
	uint64_t by_writer;
};
void ckpt_stats(struct ckpt *c, struct ckpt_stats *ret);

#endif
