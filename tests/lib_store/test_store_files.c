/* The store on disk: bad files (missing, truncated, not SQLite, foreign,
 * newer schema), file modes, the plaintext canary, destroy leaving no
 * ciphertext behind, backups, and durability under SIGKILL. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "check_support.h"
#include "store_test.h"

static void close_store(void)
{
	store_close(F.s);
	F.s = NULL;
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void assert_open_fails(const char *path, int want)
{
	struct store *s = (struct store *)0x1;
	int r = store_open(path, &s);
	ck_assert_msg(r == want, "open %s: want %d (%s), got %d (%s)", path, want,
	              store_strerror(want), r, store_strerror(r));
	ck_assert_ptr_eq(s, (struct store *)0x1);
}

static char *raw_text(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	char *t = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(h);
	return t;
}

/* ---- bad files ---- */

START_TEST(test_open_missing_file_fails)
{
	char path[TEST_PATH_MAX];
	test_path(path, F.dir, "missing.db");
	assert_open_fails(path, -ENOENT);
	ck_assert_int_eq(access(path, F_OK), -1); /* not created by open */
}
END_TEST

START_TEST(test_newer_schema_is_refused)
{
	close_store();
	raw_exec(F.db, "PRAGMA user_version = 999");
	size_t len;
	uint8_t *before = read_all(F.db, &len);
	assert_open_fails(F.db, STORE_E_NEWER);
	size_t len2;
	uint8_t *after = read_all(F.db, &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert(memcmp(before, after, len) == 0);
	free(before);
	free(after);
}
END_TEST

START_TEST(test_truncated_database_is_corrupt)
{
	put_str(F.s, "a", "x");
	close_store();
	struct stat st;
	ck_assert_int_eq(stat(F.db, &st), 0);
	ck_assert_int_eq(truncate(F.db, st.st_size / 2), 0);
	assert_open_fails(F.db, STORE_E_CORRUPT);
	ck_assert_int_eq(truncate(F.db, 50), 0);
	assert_open_fails(F.db, STORE_E_CORRUPT);
}
END_TEST

START_TEST(test_truncated_in_mid_page_is_corrupt)
{
	close_store();
	struct stat st;
	ck_assert_int_eq(stat(F.db, &st), 0);
	ck_assert_int_eq(truncate(F.db, st.st_size - 100), 0);
	assert_open_fails(F.db, STORE_E_CORRUPT);
}
END_TEST

START_TEST(test_file_that_is_not_sqlite_is_corrupt)
{
	char path[TEST_PATH_MAX];
	test_path(path, F.dir, "random.db");
	uint8_t junk[8192];
	randombytes_buf(junk, sizeof(junk));
	write_file(path, junk, sizeof(junk));
	assert_open_fails(path, STORE_E_CORRUPT);
	const char text[] = "POSTGRES_PASSWORD=root\n";
	write_file(path, text, sizeof(text) - 1);
	assert_open_fails(path, STORE_E_CORRUPT);
}
END_TEST

START_TEST(test_empty_file_is_corrupt)
{
	char path[TEST_PATH_MAX];
	test_path(path, F.dir, "empty.db");
	write_file(path, "", 0);
	assert_open_fails(path, STORE_E_CORRUPT);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 0); /* not turned into a database */
}
END_TEST

START_TEST(test_foreign_sqlite_database_is_corrupt)
{
	char path[TEST_PATH_MAX];
	test_path(path, F.dir, "other.db");
	sqlite3 *h;
	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_exec(h, "CREATE TABLE t (x); PRAGMA user_version = 1", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	assert_open_fails(path, STORE_E_CORRUPT);
}
END_TEST

START_TEST(test_directory_is_not_a_store)
{
	assert_open_fails(F.dir, STORE_E_CORRUPT);
}
END_TEST

/* Damage inside the pages: every call must return, with an error or data
 * that still authenticates, never crash. */
START_TEST(test_damaged_pages_give_errors_not_crashes)
{
	for (int i = 0; i < 50; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		put_str(F.s, name, "value");
	}
	close_store();
	size_t len;
	uint8_t *b = read_all(F.db, &len);
	randombytes_buf(b + len / 4, len / 2);
	write_file(F.db, b, len);
	free(b);
	int r = store_open(F.db, &F.s);
	if (r == 0) {
		r = store_unseal(F.s, F.kek);
		ck_assert_msg(r == 0 || r == STORE_E_BADKEY || r == STORE_E_CORRUPT, "unseal: %d",
		              r);
		for (int i = 0; r == 0 && i < 50; i++) {
			char name[16];
			snprintf(name, sizeof(name), "s%d", i);
			struct secret_value v = {0};
			int g = store_get(F.s, name, STAGE_CURRENT, 0, &v);
			ck_assert_msg(g == 0 || g == STORE_E_CORRUPT || g == STORE_E_NOTFOUND,
			              "get: %d", g);
			if (g == 0)
				ck_assert_mem_eq(v.value->data, "value", 5);
			secret_value_clear(&v);
		}
	} else {
		ck_assert_int_eq(r, STORE_E_CORRUPT);
	}
}
END_TEST

START_TEST(test_schema_sets_user_version_and_application_id)
{
	ck_assert_int_eq(raw_int(F.db, "PRAGMA user_version"), 1);
	ck_assert_int_eq(raw_int(F.db, "PRAGMA application_id"), 1986819172);
	char *mode = raw_text(F.db, "PRAGMA journal_mode");
	ck_assert_str_eq(mode, "wal");
	free(mode);
}
END_TEST

START_TEST(test_store_files_are_private)
{
	put_str(F.s, "a", "x");
	static const char *const suffix[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char p[TEST_PATH_MAX + 8];
		snprintf(p, sizeof(p), "%s%s", F.db, suffix[i]);
		struct stat st;
		ck_assert_msg(stat(p, &st) == 0, "%s missing", p);
		ck_assert_msg((st.st_mode & 0777) == 0600, "%s has mode %o", p, st.st_mode & 0777);
	}
}
END_TEST

/* ---- canary: plaintext and destroyed ciphertext never on disk ---- */

static void make_canary(char *out, size_t cap)
{
	uint8_t r[16];
	randombytes_buf(r, sizeof(r));
	char hex[33];
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(out, cap, "canary-%s", hex);
}

START_TEST(test_plaintext_never_reaches_the_files)
{
	char canary[64];
	make_canary(canary, sizeof(canary));
	put_str(F.s, "canary", canary);
	put_str(F.s, "canary", canary); /* a second version, and previous stage */
	struct store_put_item it = {"bulk", (const uint8_t *)canary, strlen(canary)};
	ck_assert_int_eq(store_put_batch(F.s, &it, 1, "t"), 0);
	assert_value(F.s, "canary", STAGE_CURRENT, 0, canary, 2);
	ck_assert_str_eq(store_files_containing(F.db, canary, strlen(canary)), "");
	raw_checkpoint(F.db);
	ck_assert_str_eq(store_files_containing(F.db, canary, strlen(canary)), "");
	close_store();
	ck_assert_str_eq(store_files_containing(F.db, canary, strlen(canary)), "");
}
END_TEST

static uint8_t *version_blob(const char *name, uint64_t version, size_t *len)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT value FROM versions WHERE version = %llu AND secret_id ="
	         " (SELECT id FROM secrets WHERE name = '%s')",
	         (unsigned long long)version, name);
	return raw_blob(F.db, sql, len);
}

/* Which 16-byte piece of blob (nonce and ciphertext alike) is still in a
 * file: "" when none. */
static const char *blob_pieces_in_files(const uint8_t *blob, size_t len)
{
	for (size_t off = 1; off + 16 <= len; off += 16) {
		const char *where = store_files_containing(F.db, blob + off, 16);
		if (*where)
			return where;
	}
	return "";
}

static void destroy_leaves_no_ciphertext(size_t value_len)
{
	char *val = malloc(value_len + 1);
	ck_assert_ptr_nonnull(val);
	for (size_t i = 0; i < value_len; i++)
		val[i] = (char)('a' + randombytes_uniform(26));
	val[value_len] = '\0';
	put_str(F.s, "doomed", val);
	put_str(F.s, "doomed", "kept");
	put_str(F.s, "neighbour", "kept too");
	size_t len;
	uint8_t *blob = version_blob("doomed", 1, &len);
	ck_assert_uint_eq(len, value_len + SEAL_OVERHEAD);
	raw_checkpoint(F.db);
	/* the check can fail: before destroy the ciphertext is in the file */
	ck_assert_str_eq(blob_pieces_in_files(blob, len), ".db");
	ck_assert_int_eq(store_destroy(F.s, "doomed", 1, "t"), 0);
	raw_checkpoint(F.db);
	const char *where = blob_pieces_in_files(blob, len);
	ck_assert_msg(*where == '\0', "destroyed ciphertext still in %s", where);
	assert_value(F.s, "doomed", STAGE_CURRENT, 0, "kept", 2);
	assert_value(F.s, "neighbour", STAGE_CURRENT, 0, "kept too", 1);
	close_store();
	ck_assert_str_eq(blob_pieces_in_files(blob, len), "");
	free(blob);
	free(val);
}

START_TEST(test_destroy_removes_ciphertext_from_files)
{
	destroy_leaves_no_ciphertext(64);
}
END_TEST

START_TEST(test_destroy_removes_large_ciphertext_from_files)
{
	destroy_leaves_no_ciphertext(20000); /* overflow pages */
}
END_TEST

START_TEST(test_destroy_without_checkpoint_leaves_no_wal_copy)
{
	/* store_destroy truncates the WAL itself: no raw checkpoint here */
	put_str(F.s, "doomed", "secret value that will be destroyed");
	size_t len;
	uint8_t *blob = version_blob("doomed", 1, &len);
	ck_assert_str_ne(blob_pieces_in_files(blob, len), "");
	ck_assert_int_eq(store_destroy(F.s, "doomed", 0, "t"), 0);
	const char *where = blob_pieces_in_files(blob, len);
	ck_assert_msg(*where == '\0', "destroyed ciphertext still in %s", where);
	free(blob);
}
END_TEST

static bool v1_destroyed(void)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	bool d = false;
	if (sqlite3_open_v2(F.db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return false;
	if (sqlite3_prepare_v2(h, "SELECT value IS NULL FROM versions WHERE version = 1", -1, &st,
	                       NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			d = sqlite3_column_int(st, 0) != 0;
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	return d;
}

/* A process that writes name's versions 1 (value) and 2, then dies as a
 * crash does (no close, no exit handlers): the WAL keeps their frames. */
static void write_two_versions_and_crash(const char *name, const char *value)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct store *s;
		if (store_open(F.db, &s) || store_unseal(s, F.kek))
			_exit(2);
		if (store_put(s, name, (const uint8_t *)value, strlen(value), -1, NULL, "t", NULL) ||
		    store_put(s, name, (const uint8_t *)"kept", 4, -1, NULL, "t", NULL))
			_exit(3);
		raise(SIGKILL);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the writer failed: %d", st);
}

/* A destroy commits, then purges the WAL. A process that dies in between
 * (here: while the purge waits for a reader of an older snapshot) leaves
 * the wiped ciphertext in the WAL: the next owner's store_purge_residue
 * cuts it, or, while that reader still holds on, the first commit after it
 * lets go. */
START_TEST(test_destroy_cut_short_by_a_crash_is_purged_after_restart)
{
	close_store();
	write_two_versions_and_crash("doomed", "destroy-me-0123456789abcdefghijklmnopqrstuvwxyz");
	int st;
	size_t len;
	uint8_t *blob = version_blob("doomed", 1, &len);
	ck_assert_ptr_nonnull(blob);
	sqlite3 *rd; /* a reader of the snapshot before the destroy */
	ck_assert_int_eq(sqlite3_open_v2(F.db, &rd, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(rd, "BEGIN; SELECT count(*) FROM versions;", NULL, NULL, NULL),
	                 SQLITE_OK);
	pid_t b = fork();
	if (b == 0) {
		struct store *s;
		if (store_open(F.db, &s) || store_unseal(s, F.kek))
			_exit(2);
		store_destroy(s, "doomed", 1, "t"); /* commits, then its purge waits */
		raise(SIGKILL); /* not reached: the test kills it first */
	}
	for (int i = 0; i < 400 && !v1_destroyed(); i++)
		usleep(10000);
	ck_assert_msg(v1_destroyed(), "the destroy did not commit");
	kill(b, SIGKILL); /* between the commit and the purge */
	ck_assert_int_eq(waitpid(b, &st, 0), b);
	ck_assert_str_ne(blob_pieces_in_files(blob, len), ""); /* the test can fail */

	/* Restart while the reader still holds on: the purge cannot finish. */
	ck_assert_int_eq(store_open(F.db, &F.s), 0);
	ck_assert_int_eq(store_unseal(F.s, F.kek), 0);
	ck_assert_int_ne(store_purge_residue(F.s), 0);
	sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(rd);
	assert_get_fails(F.s, "doomed", STAGE_VERSION, 1, STORE_E_DESTROYED);
	put_str(F.s, "other", "x"); /* the first commit after the reader is gone */
	const char *where = blob_pieces_in_files(blob, len);
	ck_assert_msg(*where == '\0', "destroyed ciphertext still in %s", where);

	/* Without a reader, the owner's purge at start cuts what a crash left;
	 * opening alone (a reader beside a live vaultd) writes nothing. */
	close_store();
	write_two_versions_and_crash("doomed2", "second-doomed-value-abcdefghijklmnopqrstuvwxyz");
	free(blob);
	blob = version_blob("doomed2", 1, &len);
	ck_assert_str_eq(blob_pieces_in_files(blob, len), "-wal");
	ck_assert_int_eq(store_open(F.db, &F.s), 0);
	ck_assert_str_eq(blob_pieces_in_files(blob, len), "-wal");
	ck_assert_int_eq(store_purge_residue(F.s), 0);
	char wal[sizeof(F.db) + 8];
	snprintf(wal, sizeof(wal), "%s-wal", F.db);
	struct stat wst;
	ck_assert_msg(stat(wal, &wst) != 0 || wst.st_size == 0, "the WAL was not cut");
	ck_assert_str_eq(blob_pieces_in_files(blob, len), ".db"); /* copied in */
	free(blob);
}
END_TEST

/* ---- backup ---- */

START_TEST(test_backup_is_a_working_private_copy)
{
	put_str(F.s, "a", "alpha");
	put_str(F.s, "a", "alpha2");
	char dest[TEST_PATH_MAX];
	test_path(dest, F.dir, "backup.db");
	ck_assert_int_eq(store_backup(F.s, dest), 0);
	struct stat st;
	ck_assert_int_eq(stat(dest, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	put_str(F.s, "a", "after backup");
	struct store *b;
	ck_assert_int_eq(store_open(dest, &b), 0);
	ck_assert_int_eq(store_unseal(b, F.kek), 0);
	assert_value(b, "a", STAGE_CURRENT, 0, "alpha2", 2);
	assert_value(b, "a", STAGE_PREVIOUS, 0, "alpha", 1);
	struct store_info i1, i2;
	ck_assert_int_eq(store_info(F.s, &i1), 0);
	ck_assert_int_eq(store_info(b, &i2), 0);
	ck_assert_mem_eq(i1.store_id, i2.store_id, VAULT_STORE_ID_BYTES);
	store_close(b);
}
END_TEST

START_TEST(test_backup_refuses_existing_destination)
{
	char dest[TEST_PATH_MAX];
	test_path(dest, F.dir, "backup.db");
	write_file(dest, "keep", 4);
	ck_assert_int_eq(store_backup(F.s, dest), STORE_E_EXISTS);
	ck_assert(file_contains(dest, "keep", 4));
}
END_TEST

START_TEST(test_backup_of_sealed_store_works)
{
	put_str(F.s, "a", "alpha");
	store_seal(F.s);
	char dest[TEST_PATH_MAX];
	test_path(dest, F.dir, "backup.db");
	ck_assert_int_eq(store_backup(F.s, dest), 0);
	ck_assert_str_eq(store_files_containing(dest, "alpha", 5), "");
	struct store *b;
	ck_assert_int_eq(store_open(dest, &b), 0);
	ck_assert_int_eq(store_unseal(b, F.kek), 0);
	assert_value(b, "a", STAGE_CURRENT, 0, "alpha", 1);
	store_close(b);
}
END_TEST

/* ---- crash safety ---- */

struct ack {
	uint64_t version;
	uint64_t index;
};

static void crash_value(char *out, size_t cap, int round, uint64_t index)
{
	snprintf(out, cap, "round %d value %llu", round, (unsigned long long)index);
}

/* The child: writes versions forever and reports each acknowledged one. */
static __attribute__((noreturn)) void crash_child(int fd, int round)
{
	struct store *s;
	if (store_open(F.db, &s) != 0 || store_unseal(s, F.kek) != 0)
		_exit(2);
	struct secret_meta_update u = SECRET_META_UPDATE_NONE;
	u.max_versions = STORE_MAX_VERSIONS_LIMIT;
	for (uint64_t i = 0;; i++) {
		char val[64];
		crash_value(val, sizeof(val), round, i);
		struct ack a = {.index = i};
		if (store_put(s, "crash", (const uint8_t *)val, strlen(val), -1, &u, "child",
		              &a.version) != 0)
			_exit(3);
		if (write(fd, &a, sizeof(a)) != (ssize_t)sizeof(a))
			_exit(4);
	}
}

static size_t read_acks(int fd, struct ack **ret)
{
	size_t n = 0, cap = 64;
	struct ack *a = malloc(cap * sizeof(*a));
	ck_assert_ptr_nonnull(a);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			a = realloc(a, cap * sizeof(*a));
			ck_assert_ptr_nonnull(a);
		}
		ssize_t r = read(fd, &a[n], sizeof(*a));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			break;
		ck_assert_int_eq(r, (ssize_t)sizeof(*a)); /* pipe writes < PIPE_BUF are atomic */
		n++;
	}
	*ret = a;
	return n;
}

static void sleep_us(uint32_t us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Kills a writer at a random moment; returns how many puts it had acked. */
static size_t crash_round(int round, uint32_t max_us)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		crash_child(p[1], round);
	}
	close(p[1]);
	sleep_us(randombytes_uniform(max_us));
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status), "child exited by itself with %d",
	              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	struct ack *acks;
	size_t n = read_acks(p[0], &acks);
	close(p[0]);
	int r = store_open(F.db, &F.s);
	ck_assert_msg(r == 0, "round %d: open after kill: %s", round, store_strerror(r));
	ck_assert_int_eq(store_unseal(F.s, F.kek), 0);
	for (size_t i = 0; i < n; i++) {
		char want[64];
		crash_value(want, sizeof(want), round, acks[i].index);
		assert_value(F.s, "crash", STAGE_VERSION, acks[i].version, want, acks[i].version);
	}
	close_store();
	char *check = raw_text(F.db, "PRAGMA integrity_check");
	ck_assert_msg(strcmp(check, "ok") == 0, "round %d: integrity_check: %s", round, check);
	free(check);
	free(acks);
	return n;
}

START_TEST(test_acknowledged_puts_survive_sigkill)
{
	close_store();
	int rounds = 20;
	/* Valgrind slows the child's start; give it a longer window. */
	uint32_t max_us = under_valgrind() ? 600000 : 60000;
	size_t acked = 0;
	for (int round = 0; round < rounds; round++)
		acked += crash_round(round, max_us);
	ck_assert_msg(acked > 0, "no round acknowledged a write: the test proved nothing");
}
END_TEST

static Suite *files_suite(void)
{
	Suite *s = suite_create("store_files");
	TCase *tc = store_tcase("bad_files", true);
	tcase_add_test(tc, test_open_missing_file_fails);
	tcase_add_test(tc, test_newer_schema_is_refused);
	tcase_add_test(tc, test_truncated_database_is_corrupt);
	tcase_add_test(tc, test_truncated_in_mid_page_is_corrupt);
	tcase_add_test(tc, test_file_that_is_not_sqlite_is_corrupt);
	tcase_add_test(tc, test_empty_file_is_corrupt);
	tcase_add_test(tc, test_foreign_sqlite_database_is_corrupt);
	tcase_add_test(tc, test_directory_is_not_a_store);
	tcase_add_test(tc, test_damaged_pages_give_errors_not_crashes);
	suite_add_tcase(s, tc);

	tc = store_tcase("layout", true);
	tcase_add_test(tc, test_schema_sets_user_version_and_application_id);
	tcase_add_test(tc, test_store_files_are_private);
	suite_add_tcase(s, tc);

	tc = store_tcase("canary", true);
	tcase_add_test(tc, test_plaintext_never_reaches_the_files);
	tcase_add_test(tc, test_destroy_removes_ciphertext_from_files);
	tcase_add_test(tc, test_destroy_removes_large_ciphertext_from_files);
	tcase_add_test(tc, test_destroy_without_checkpoint_leaves_no_wal_copy);
	tcase_add_test(tc, test_destroy_cut_short_by_a_crash_is_purged_after_restart);
	suite_add_tcase(s, tc);

	tc = store_tcase("backup", true);
	tcase_add_test(tc, test_backup_is_a_working_private_copy);
	tcase_add_test(tc, test_backup_refuses_existing_destination);
	tcase_add_test(tc, test_backup_of_sealed_store_works);
	suite_add_tcase(s, tc);

	tc = store_tcase("crash", true);
	tcase_add_test(tc, test_acknowledged_puts_survive_sigkill);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(files_suite());
}
