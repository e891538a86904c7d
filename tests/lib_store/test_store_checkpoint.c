/* WAL checkpoints off the commit path (lib/store_sqlite_ckpt.c): a thread
 * copies the WAL, the writer only finishes it now and then, the WAL stays
 * bounded under steady writes, and the thread never takes the signals. */
#include <dirent.h>
#include <signal.h>

#include "check_support.h"
#include "store_sqlite_ckpt.h"
#include "store_test.h"

/* Upper bound of a WAL that is reused: a writer that far ahead of the
 * thread waits for it and finishes the WAL, and one commit adds a few pages
 * more. Frames are a page plus a 24-byte header. */
#define WAL_BOUND_PAGES (CKPT_WAIT_PAGES + CKPT_WAL_PAGES / 10)
#define FRAME_BYTES (4096 + 24)

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : 0;
}

static off_t wal_size(const char *db)
{
	char wal[TEST_PATH_MAX + 8];
	snprintf(wal, sizeof(wal), "%s-wal", db);
	return file_size(wal);
}

#define MAX_TASKS 64

/* The process's threads (ids from /proc/self/task, up to MAX_TASKS). */
static int tasks(int ids[MAX_TASKS])
{
	DIR *d = opendir("/proc/self/task");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < MAX_TASKS)
		if (e->d_name[0] != '.')
			ids[n++] = atoi(e->d_name);
	closedir(d);
	return n;
}

static int threads(void)
{
	int ids[MAX_TASKS];
	return tasks(ids);
}

/* The thread count once it is n, or after 5 s: a joined thread leaves
 * /proc/self/task a moment after pthread_join returns. */
static int threads_settled(int n)
{
	for (int i = 0; i < 500 && threads() != n; i++)
		usleep(10 * 1000);
	return threads();
}

/* The raw tests' checkpointer connection: SQLite's defaults (Debian's
 * build syncs a checkpoint as the store's settings do). */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* A raw WAL database with a writer connection whose checkpoints c takes. */
static sqlite3 *raw_writer(struct ckpt **c)
{
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(F.db, &db), SQLITE_OK);
	/* As the store's: a checkpointer that reads the WAL index while a
	 * commit rewrites it holds the write lock for a moment. */
	sqlite3_busy_timeout(db, 5000);
	ck_assert_int_eq(sqlite3_exec(db,
	                              "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	                              " CREATE TABLE t (x BLOB)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(ckpt_new(F.db, raw_open, c), 0);
	ckpt_attach(*c, db, 5000);
	return db;
}

/* n commits of one page-sized row each: at least n WAL frames. */
static void insert_pages(sqlite3 *db, int n)
{
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (zeroblob(4000))", -1, &st, NULL),
	                 SQLITE_OK);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

START_TEST(test_the_thread_copies_and_the_wal_is_reused_under_steady_writes)
{
	struct ckpt *c;
	sqlite3 *db = raw_writer(&c);
	int commits = under_valgrind() ? 3 * CKPT_WAL_PAGES : 6 * WAL_BOUND_PAGES;
	insert_pages(db, commits);
	struct ckpt_stats st;
	ckpt_stats(c, &st);
	ck_assert_msg(st.background > 0 && st.background_frames > 0,
	              "the thread copied nothing (%llu checkpoints)", (unsigned long long)st.background);
	/* SQLite's own hook would checkpoint on every commit past the
	 * threshold; the writer here does at most one per half threshold. */
	ck_assert_uint_le(st.by_writer, (uint64_t)(commits / (CKPT_WAL_PAGES / 2) + 1));
	if (!under_valgrind())
		ck_assert_msg(wal_size(F.db) <= (off_t)WAL_BOUND_PAGES * FRAME_BYTES,
		              "WAL is %lld bytes after %d one-page commits: it is never reused",
		              (long long)wal_size(F.db), commits);
	ckpt_free(c);
	sqlite3_close(db);
	ck_assert_int_eq(raw_int(F.db, "SELECT count(*) FROM t"), commits);
}
END_TEST

START_TEST(test_nothing_starts_below_the_threshold_and_close_stops_the_thread)
{
	int before = threads();
	struct ckpt *c;
	sqlite3 *db = raw_writer(&c);
	insert_pages(db, CKPT_WAL_PAGES / 10); /* a few pages per commit */
	ck_assert_int_eq(threads(), before);
	insert_pages(db, CKPT_WAL_PAGES);
	ck_assert_int_eq(threads(), before + 1);
	ckpt_free(c); /* joins, whatever the thread was doing */
	ck_assert_int_eq(threads_settled(before), before);
	sqlite3_close(db);
}
END_TEST

/* A destroy ends with a TRUNCATE checkpoint that must empty the WAL (the
 * old page images hold the destroyed ciphertext). SQLite answers it BUSY at
 * once, busy handler or not, while another connection checkpoints: the
 * thread is quiesced first, right after the commit that woke it. */
START_TEST(test_a_quiesced_thread_never_meets_a_truncate)
{
	struct ckpt *c;
	sqlite3 *db = raw_writer(&c);
	insert_pages(db, CKPT_WAL_PAGES / 2);
	int rounds = under_valgrind() ? 3 : 20;
	for (int i = 0; i < rounds; i++) {
		insert_pages(db, CKPT_WAL_PAGES / 2); /* past the threshold: asks the thread */
		ckpt_quiesce(c);
		int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		ck_assert_msg(rc == SQLITE_OK, "round %d: TRUNCATE checkpoint: %s", i, sqlite3_errstr(rc));
		ck_assert_int_eq(wal_size(F.db), 0);
	}
	ckpt_free(c);
	sqlite3_close(db);
}
END_TEST

/* vaultd takes SIGTERM, SIGINT and SIGHUP in its main thread by sigwait:
 * a thread that left them unblocked could be picked to take one (and die
 * of its default action). The checkpointer starts from whatever thread
 * commits first, so it blocks everything itself. */
/* A TRUNCATE a reader defeated is retried by the next commit once the
 * reader is gone; the WAL then starts from zero, and the thread must be
 * asked again at the threshold, not only past where the old WAL had got. */
START_TEST(test_a_truncate_retried_after_a_commit_restarts_the_counting)
{
	struct ckpt *c;
	sqlite3 *db = raw_writer(&c);
	sqlite3 *rd;
	ck_assert_int_eq(sqlite3_open(F.db, &rd), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(rd, "BEGIN; SELECT count(*) FROM t;", NULL, NULL, NULL),
	                 SQLITE_OK);
	insert_pages(db, CKPT_WAL_PAGES + CKPT_WAL_PAGES / 4); /* the thread was asked */
	ck_assert_int_ne(ckpt_truncate(c, db, false), SQLITE_OK); /* the reader holds on */
	ck_assert_int_eq(sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(rd);
	insert_pages(db, 1); /* this commit's hook retries it, and succeeds */
	ck_assert_int_le(wal_size(F.db), 2 * FRAME_BYTES);
	struct ckpt_stats before, after;
	ckpt_quiesce(c);
	ckpt_stats(c, &before);
	insert_pages(db, CKPT_WAL_PAGES + 10);
	bool asked = false;
	for (int i = 0; i < 500 && !asked; i++) {
		ckpt_stats(c, &after);
		asked = after.background > before.background;
		if (!asked)
			usleep(10000);
	}
	ck_assert_msg(asked, "no background checkpoint in the new WAL's first %d pages",
	              CKPT_WAL_PAGES + 10);
	ckpt_free(c);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_the_thread_blocks_every_signal)
{
	sigset_t none, old;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, &old); /* the committing thread blocks nothing */
	struct ckpt *c;
	sqlite3 *db = raw_writer(&c);
	insert_pages(db, CKPT_WAL_PAGES + 1);
	int ids[MAX_TASKS], n = tasks(ids), checked = 0;
	for (int k = 0; k < n; k++) {
		if (ids[k] == getpid())
			continue;
		char path[64], line[256];
		snprintf(path, sizeof(path), "/proc/self/task/%d/status", ids[k]);
		FILE *f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		unsigned long long blk = 0;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "SigBlk: %llx", &blk) == 1)
				break;
		fclose(f);
		/* The asynchronous ones (valgrind keeps faults like SIGILL open). */
		static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM};
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			ck_assert_msg(blk & (1ull << (sigs[i] - 1)), "thread %d leaves signal %d unblocked",
			              ids[k], sigs[i]);
		checked++;
	}
	ck_assert_int_eq(checked, 1);
	ckpt_free(c);
	sqlite3_close(db);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
END_TEST

/* An audit entry of a read, as vaultd appends for every request. */
static struct audit_entry read_entry(void)
{
	struct audit_entry e = {.uid = 0, .gid = 0, .pid = 1, .status = 200};
	snprintf(e.action, sizeof(e.action), "secret.read");
	snprintf(e.name, sizeof(e.name), "a");
	snprintf(e.result, sizeof(e.result), "ok");
	return e;
}

/* Through the store: its write connection hands checkpoints to a thread,
 * and an audit chain written by many small commits stays whole. */
START_TEST(test_the_store_checkpoints_in_the_background)
{
	int before = threads();
	int n = under_valgrind() ? 1200 : 3 * WAL_BOUND_PAGES;
	struct audit_entry e = read_entry();
	for (int i = 0; i < n; i++) {
		struct audit_entry one = e;
		ck_assert_int_eq(store_audit_append_unsynced(F.s, &one, 1), 0);
	}
	ck_assert_int_eq(threads(), before + 1);
	if (!under_valgrind())
		ck_assert_msg(wal_size(F.db) <= (off_t)WAL_BOUND_PAGES * FRAME_BYTES,
		              "WAL is %lld bytes after %d commits", (long long)wal_size(F.db), n);
	reopen(true);
	uint64_t checked = 0, bad = 0;
	ck_assert_int_eq(store_audit_verify(F.s, &checked, &bad), 0);
	ck_assert_uint_eq(checked, (uint64_t)n);
	ck_assert_uint_eq(bad, 0);
}
END_TEST

/* The same through the store: a destroy right after commits that woke the
 * thread succeeds and leaves an empty WAL. */
START_TEST(test_a_destroy_succeeds_while_the_thread_checkpoints)
{
	struct audit_entry e = read_entry();
	int rounds = under_valgrind() ? 2 : 10;
	for (int i = 0; i < rounds; i++) {
		for (int k = 0; k < CKPT_WAL_PAGES; k++) {
			struct audit_entry one = e;
			ck_assert_int_eq(store_audit_append_unsynced(F.s, &one, 1), 0);
		}
		uint64_t v = put_str(F.s, "doomed", "to be destroyed");
		int rc = store_destroy(F.s, "doomed", v, "t");
		ck_assert_msg(rc == 0, "round %d: destroy: %s", i, store_strerror(rc));
		ck_assert_int_eq(wal_size(F.db), 0);
	}
}
END_TEST

static Suite *checkpoint_suite(void)
{
	Suite *s = suite_create("store_checkpoint");
	TCase *raw = store_tcase("raw", false);
	tcase_add_test(raw, test_the_thread_copies_and_the_wal_is_reused_under_steady_writes);
	tcase_add_test(raw, test_nothing_starts_below_the_threshold_and_close_stops_the_thread);
	tcase_add_test(raw, test_a_quiesced_thread_never_meets_a_truncate);
	tcase_add_test(raw, test_the_thread_blocks_every_signal);
	tcase_add_test(raw, test_a_truncate_retried_after_a_commit_restarts_the_counting);
	suite_add_tcase(s, raw);
	TCase *store = store_tcase("store", true);
	tcase_add_test(store, test_the_store_checkpoints_in_the_background);
	tcase_add_test(store, test_a_destroy_succeeds_while_the_thread_checkpoints);
	suite_add_tcase(s, store);
	return s;
}

int main(void)
{
	return check_support_run(checkpoint_suite());
}
