/* Shared bits of the lib_store Check suites: a fresh store in a temp dir
 * (key-file KEK), value helpers, raw file scans and raw SQL for tampering. */
#ifndef VAULT_STORE_TEST_H
#define VAULT_STORE_TEST_H
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hygiene.h"
#include "keyring.h"
#include "store.h"

#define TEST_PATH_MAX 256
#define TEST_TIMEOUT_S 60

struct fixture {
	char dir[TEST_PATH_MAX];
	char db[TEST_PATH_MAX];
	char keyfile[TEST_PATH_MAX];
	struct secbuf *kek;
	struct store *s;
};

/* One fixture per test (Check forks each test; without fork, setup and
 * teardown still bracket every test). */
static struct fixture F;

static inline void test_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, TEST_PATH_MAX, "%s/%s", dir, name);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, TEST_PATH_MAX);
}

/* A fresh 0700 directory under /tmp with a generated key file. */
static inline void fixture_dirs(void)
{
	memset(&F, 0, sizeof(F));
	ck_assert_int_lt(snprintf(F.dir, sizeof(F.dir), "/tmp/vault-store-test.XXXXXX"),
	                 (int)sizeof(F.dir));
	ck_assert_ptr_nonnull(mkdtemp(F.dir));
	test_path(F.db, F.dir, "store.db");
	test_path(F.keyfile, F.dir, "kek.key");
	ck_assert_int_eq(kek_generate_keyfile(F.keyfile), 0);
	ck_assert_int_eq(kek_from_keyfile(F.keyfile, &F.kek), 0);
}

/* Setup for most tests: an unsealed store at F.db. */
static inline void fixture_setup(void)
{
	fixture_dirs();
	int r = store_create(F.db, KEK_KEYFILE, NULL, F.kek, &F.s);
	ck_assert_msg(r == 0, "store_create: %s", store_strerror(r));
}

static inline void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

static inline void fixture_teardown(void)
{
	store_close(F.s);
	secbuf_free(F.kek);
	remove_tree(F.dir);
	memset(&F, 0, sizeof(F));
}

/* Closes and reopens F.s; unseals with F.kek when unseal is true. */
static inline void reopen(bool unseal)
{
	store_close(F.s);
	F.s = NULL;
	int r = store_open(F.db, &F.s);
	ck_assert_msg(r == 0, "store_open: %s", store_strerror(r));
	if (unseal)
		ck_assert_int_eq(store_unseal(F.s, F.kek), 0);
}

static inline uint64_t put_str(struct store *s, const char *name, const char *value)
{
	uint64_t v = 0;
	int r = store_put(s, name, (const uint8_t *)value, strlen(value), -1, NULL, "uid=0", &v);
	ck_assert_msg(r == 0, "put %s: %s", name, store_strerror(r));
	ck_assert_uint_gt(v, 0);
	return v;
}

/* Asserts that a stage holds exactly the text want (and its version). */
static inline void assert_value(struct store *s, const char *name, enum secret_stage stage,
                                uint64_t version, const char *want, uint64_t want_version)
{
	struct secret_value v = {0};
	int r = store_get(s, name, stage, version, &v);
	ck_assert_msg(r == 0, "get %s stage %d v%llu: %s", name, (int)stage,
	              (unsigned long long)version, store_strerror(r));
	ck_assert_ptr_nonnull(v.value);
	ck_assert_uint_eq(v.value->len, strlen(want));
	ck_assert_msg(memcmp(v.value->data, want, v.value->len) == 0,
	              "get %s: value differs from the one written", name);
	if (want_version)
		ck_assert_uint_eq(v.version, want_version);
	secret_value_clear(&v);
}

static inline void assert_get_fails(struct store *s, const char *name, enum secret_stage stage,
                                    uint64_t version, int want)
{
	struct secret_value v = {0};
	int r = store_get(s, name, stage, version, &v);
	ck_assert_msg(r == want, "get %s stage %d v%llu: want %d (%s), got %d (%s)", name,
	              (int)stage, (unsigned long long)version, want, store_strerror(want), r,
	              store_strerror(r));
	ck_assert_ptr_null(v.value);
}

/* Whole file into malloc'd memory (NULL and *len 0 when it does not exist). */
static inline uint8_t *read_all(const char *path, size_t *len)
{
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

static inline bool file_contains(const char *path, const void *needle, size_t n)
{
	size_t len;
	uint8_t *buf = read_all(path, &len);
	bool found = buf && memmem(buf, len, needle, n) != NULL;
	free(buf);
	return found;
}

/* Which of the store's files (.db, -wal, -shm) hold needle: "" when none. */
static inline const char *store_files_containing(const char *db, const void *needle, size_t n)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	static const char *const label[] = {".db", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char p[TEST_PATH_MAX + 8];
		snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
		if (file_contains(p, needle, n))
			return label[i];
	}
	return "";
}

/* Raw SQL on the store file, as an attacker or a test would do it. */
static inline void raw_exec(const char *db, const char *sql)
{
	sqlite3 *h;
	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	char *err = NULL;
	int rc = sqlite3_exec(h, sql, NULL, NULL, &err);
	ck_assert_msg(rc == SQLITE_OK, "raw sql '%s': %s", sql, err ? err : "?");
	sqlite3_free(err);
	sqlite3_close(h);
}

/* One integer from raw SQL. */
static inline int64_t raw_int(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* One blob from raw SQL into malloc'd memory. */
static inline uint8_t *raw_blob(const char *db, const char *sql, size_t *len)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	*len = (size_t)sqlite3_column_bytes(st, 0);
	uint8_t *p = malloc(*len + 1);
	ck_assert_ptr_nonnull(p);
	memcpy(p, sqlite3_column_blob(st, 0), *len);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return p;
}

/* Moves the WAL into the database file and truncates it. */
static inline void raw_checkpoint(const char *db)
{
	raw_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
}

/* Under valgrind (STORE_TEST_VALGRIND=1) loops run fewer rounds. */
static inline bool under_valgrind(void)
{
	const char *v = getenv("STORE_TEST_VALGRIND");
	return v && *v == '1';
}

static inline TCase *store_tcase(const char *name, bool with_store)
{
	TCase *tc = tcase_create(name);
	if (with_store)
		tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	else
		tcase_add_checked_fixture(tc, fixture_dirs, fixture_teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT_S);
	return tc;
}

#endif
