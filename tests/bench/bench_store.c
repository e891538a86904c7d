/* bench_store: figures for the value envelope and the SQLite store, printed
 * as a Markdown table, with plain SQLite (no crypto, no store layer) timed in
 * the same run as the baseline. Not a test; run it by hand:
 *   build/tests/bench/bench_store [DIR]   (DIR for the temp store, default /tmp) */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hygiene.h"
#include "keyring.h"
#include "seal.h"
#include "store.h"

#define VALUE_BYTES 64
#define SEAL_OPS 200000
#define PUT_SECONDS 3.0
#define BATCH_ITEMS 100
#define BULK_SECRETS 100000
#define GET_OPS 200000
#define GET_THREADS 2
#define PATH_CAP 512

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench_store: %s: %s (%d)\n", what, store_strerror(r), r);
	exit(1);
}

static void row(const char *what, double value, const char *unit)
{
	printf("| %-60s | %12.0f %-7s |\n", what, value, unit);
}

/* seal_value + seal_open as the store uses them (seal_open returns a new
 * guarded secbuf: sodium_malloc's guard pages are part of the cost). */
static void bench_seal(void)
{
	struct secbuf *dek = secbuf_new(VAULT_KEY_BYTES);
	uint8_t sid[VAULT_STORE_ID_BYTES], pt[VALUE_BYTES], blob[VALUE_BYTES + SEAL_OVERHEAD];
	randombytes_buf(dek->data, dek->len);
	randombytes_buf(sid, sizeof(sid));
	randombytes_buf(pt, sizeof(pt));
	double t0 = now_s();
	for (int i = 0; i < SEAL_OPS; i++) {
		struct secbuf *out;
		if (seal_value(dek, sid, "db_password", 7, 1, pt, sizeof(pt), blob, sizeof(blob)) ||
		    seal_open(dek, sid, "db_password", 7, 1, blob, sizeof(blob), &out))
			die("seal", -EIO);
		secbuf_free(out);
	}
	row("seal+open 64 B value (seal_value + seal_open into a secbuf)",
	    (now_s() - t0) / SEAL_OPS * 1e9, "ns/op");
	uint8_t back[VALUE_BYTES];
	t0 = now_s();
	for (int i = 0; i < SEAL_OPS; i++)
		if (seal_blob(dek, sid, sizeof(sid), pt, sizeof(pt), blob) ||
		    seal_blob_open(dek, sid, sizeof(sid), blob, sizeof(blob), back))
			die("seal_blob", -EIO);
	row("  of which the AEAD alone (seal_blob + seal_blob_open)",
	    (now_s() - t0) / SEAL_OPS * 1e9, "ns/op");
	secbuf_free(dek);
}

#define PUT_THREADS 8

struct putter {
	struct store *s;
	int id;
	int n;
	double until;
};

/* Each thread writes its own secret in a loop: concurrent store_puts
 * share transactions (lib/store_group.c), so one fsync covers several. */
static void *putter_main(void *arg)
{
	struct putter *p = arg;
	uint8_t v[VALUE_BYTES];
	char name[32];
	randombytes_buf(v, sizeof(v));
	snprintf(name, sizeof(name), "bench_thread_%d", p->id);
	while (now_s() < p->until) {
		int r = store_put(p->s, name, v, sizeof(v), -1, NULL, "bench", NULL);
		if (r < 0)
			die("store_put (threads)", r);
		p->n++;
	}
	return NULL;
}

static double bench_put_threads(struct store *s)
{
	pthread_t th[PUT_THREADS];
	struct putter p[PUT_THREADS];
	double t0 = now_s();
	for (int i = 0; i < PUT_THREADS; i++) {
		p[i] = (struct putter){s, i, 0, t0 + PUT_SECONDS};
		pthread_create(&th[i], NULL, putter_main, &p[i]);
	}
	int n = 0;
	for (int i = 0; i < PUT_THREADS; i++) {
		pthread_join(th[i], NULL);
		n += p[i].n;
	}
	return n / (now_s() - t0);
}

static double bench_put(struct store *s)
{
	uint8_t v[VALUE_BYTES];
	randombytes_buf(v, sizeof(v));
	int n = 0;
	double t0 = now_s(), t;
	while ((t = now_s()) - t0 < PUT_SECONDS) {
		int r = store_put(s, "bench_put", v, sizeof(v), -1, NULL, "bench", NULL);
		if (r < 0)
			die("store_put", r);
		n++;
	}
	double single = n / (t - t0);
	row("durable put, one per transaction (store_put)", single, "ops/s");

	struct store_put_item items[BATCH_ITEMS];
	char names[BATCH_ITEMS][32];
	for (int i = 0; i < BATCH_ITEMS; i++) {
		snprintf(names[i], sizeof(names[i]), "bench_batch_%d", i);
		items[i] = (struct store_put_item){names[i], v, sizeof(v)};
	}
	n = 0;
	t0 = now_s();
	while ((t = now_s()) - t0 < PUT_SECONDS) {
		int r = store_put_batch(s, items, BATCH_ITEMS, "bench");
		if (r < 0)
			die("store_put_batch", r);
		n += BATCH_ITEMS;
	}
	row("durable put, 100 per transaction (store_put_batch)", n / (t - t0), "ops/s");
	row("durable put, 8 threads at once (store_put, group commit)", bench_put_threads(s),
	    "ops/s");
	return single;
}

/* ---- baseline: the same work in plain SQLite, same machine, same run ---- */

static void sql_exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(db), -EIO);
}

static sqlite3 *raw_open(const char *dir, const char *name)
{
	char path[PATH_CAP + 16];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("sqlite3_open", -EIO);
	sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	             "CREATE TABLE kv(name TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID");
	return db;
}

/* One INSERT OR REPLACE per transaction (autocommit), WAL + synchronous=FULL. */
static double raw_put(const char *dir)
{
	sqlite3 *db = raw_open(dir, "raw_put.db");
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv VALUES('bench_put', ?1)", -1, &st, NULL);
	uint8_t v[VALUE_BYTES + SEAL_OVERHEAD];
	randombytes_buf(v, sizeof(v));
	int n = 0;
	double t0 = now_s(), t;
	while ((t = now_s()) - t0 < PUT_SECONDS) {
		sqlite3_bind_blob(st, 1, v, sizeof(v), SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("raw insert", -EIO);
		sqlite3_reset(st);
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n / (t - t0);
}

/* Point selects by primary key over 100k rows, one thread. */
static double raw_get(const char *dir)
{
	sqlite3 *db = raw_open(dir, "raw_get.db");
	uint8_t v[VALUE_BYTES + SEAL_OVERHEAD];
	randombytes_buf(v, sizeof(v));
	char name[24];
	sqlite3_stmt *st;
	sql_exec(db, "BEGIN");
	sqlite3_prepare_v2(db, "INSERT INTO kv VALUES(?1, ?2)", -1, &st, NULL);
	for (int i = 0; i < BULK_SECRETS; i++) {
		snprintf(name, sizeof(name), "secret-%06d", i);
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 2, v, sizeof(v), SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("raw bulk insert", -EIO);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sql_exec(db, "COMMIT");
	sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE name = ?1", -1, &st, NULL);
	size_t bytes = 0;
	double t0 = now_s();
	for (int i = 0; i < GET_OPS; i++) {
		snprintf(name, sizeof(name), "secret-%06u",
		         (unsigned)randombytes_uniform(BULK_SECRETS));
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_ROW)
			die("raw select", -EIO);
		bytes += (size_t)sqlite3_column_bytes(st, 0);
		sqlite3_reset(st);
	}
	double rate = GET_OPS / (now_s() - t0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (bytes == 0)
		die("raw select read nothing", -EIO);
	return rate;
}

static double bulk_load(struct store *s)
{
	struct store_put_item *items = calloc(BULK_SECRETS, sizeof(*items));
	char(*names)[24] = calloc(BULK_SECRETS, sizeof(*names));
	uint8_t v[VALUE_BYTES];
	if (!items || !names)
		die("calloc", -ENOMEM);
	for (int i = 0; i < BULK_SECRETS; i++) {
		snprintf(names[i], sizeof(names[i]), "secret-%06d", i);
		items[i] = (struct store_put_item){names[i], v, sizeof(v)};
	}
	randombytes_buf(v, sizeof(v));
	double t0 = now_s();
	int r = store_put_batch(s, items, BULK_SECRETS, "bench");
	double t = now_s() - t0;
	if (r < 0)
		die("bulk load", r);
	free(items);
	free(names);
	return BULK_SECRETS / t;
}

struct getter {
	struct store *s;
	int ops;
};

static void *getter_main(void *arg)
{
	struct getter *g = arg;
	char name[24];
	for (int i = 0; i < g->ops; i++) {
		snprintf(name, sizeof(name), "secret-%06u",
		         (unsigned)randombytes_uniform(BULK_SECRETS));
		struct secret_value v;
		int r = store_get(g->s, name, STAGE_CURRENT, 0, &v);
		if (r < 0)
			die("store_get", r);
		secret_value_clear(&v);
	}
	return NULL;
}

static double bench_get(struct store *s, int threads)
{
	pthread_t th[GET_THREADS];
	struct getter g[GET_THREADS];
	double t0 = now_s();
	for (int i = 0; i < threads; i++) {
		g[i] = (struct getter){s, GET_OPS / threads};
		pthread_create(&th[i], NULL, getter_main, &g[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return GET_OPS / (now_s() - t0);
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : 0;
}

static void cleanup(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

static struct store *new_store(const char *dir, const char *name, const struct secbuf *kek,
                               char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, name);
	struct store *s;
	int r = store_create(path, KEK_KEYFILE, NULL, kek, &s);
	if (r < 0)
		die("store_create", r);
	return s;
}

int main(int argc, char **argv)
{
	if (vault_init() < 0)
		die("vault_init", -EIO);
	char dir[PATH_CAP], db[PATH_CAP + 16], keyf[PATH_CAP + 16];
	snprintf(dir, sizeof(dir), "%s/bench-store.XXXXXX", argc > 1 ? argv[1] : "/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp", -errno);
	snprintf(keyf, sizeof(keyf), "%s/kek", dir);
	struct secbuf *kek;
	int r = kek_generate_keyfile(keyf);
	if (r == 0)
		r = kek_from_keyfile(keyf, &kek);
	if (r < 0)
		die("key file", r);

	printf("| %-60s | %20s |\n", "benchmark", "result");
	printf("|%s|%s|\n", "--------------------------------------------------------------",
	       "----------------------");
	bench_seal();
	struct store *s = new_store(dir, "put.db", kek, db, sizeof(db));
	double put = bench_put(s);
	store_close(s);
	double raw_put_rate = raw_put(dir);
	row("baseline: plain SQLite durable insert (WAL, FULL)", raw_put_rate, "ops/s");
	row("ratio: store_put / plain SQLite insert (x100)", 100.0 * put / raw_put_rate, "%");

	/* a fresh store holding only the 100k secrets, for gets and size */
	s = new_store(dir, "bulk.db", kek, db, sizeof(db));
	row("bulk load of 100k secrets (one store_put_batch)", bulk_load(s), "rows/s");
	double get1 = bench_get(s, 1);
	row("get by name, 100k secrets, 1 thread (store_get)", get1, "ops/s");
	row("get by name, 100k secrets, 2 threads (store_get)", bench_get(s, GET_THREADS), "ops/s");
	store_close(s); /* checkpoints the WAL into the file and removes it */
	row("DB size per 1k secrets (64 B values, 1 version each)",
	    (double)file_size(db) / (BULK_SECRETS / 1000.0) / 1024.0, "KiB");
	double raw_get_rate = raw_get(dir);
	row("baseline: plain SQLite point select, 100k rows, 1 thread", raw_get_rate, "ops/s");
	row("ratio: store_get / plain SQLite select (x100)", 100.0 * get1 / raw_get_rate, "%");
	secbuf_free(kek);
	cleanup(dir);
	return 0;
}
