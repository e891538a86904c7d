/* The SQLite backend of the store: one write connection (writes serialised
 * behind a mutex, WAL + synchronous=FULL, so a commit is durable) and a small
 * pool of read connections that never wait for a writer's fsync. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "schema.h"
#include "store_backend.h"
#include "store_sqlite_ckpt.h"

#define BE_READERS 4                 /* read connections, opened on demand */
#define BE_BUSY_TIMEOUT_MS 5000      /* another process (vaultctl) holding a lock */
#define BE_APPLICATION_ID 1986819172 /* 'vltd', set by schema/001_init.sql */
#define SQLITE_HEADER_BYTES 100
#define SQLITE_MAGIC "SQLite format 3"

/* ---- statements ---- */

enum stmt {
	ST_BEGIN,
	ST_BEGIN_IMMEDIATE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_SYNC_NORMAL,
	ST_SYNC_FULL,
	ST_HEADER_GET,
	ST_HEADER_PUT,
	ST_KEY_LIST,
	ST_KEY_PUT,
	ST_SECRET_GET,
	ST_SECRET_PUT,
	ST_SECRET_LIST,
	ST_SECRET_COUNT,
	ST_VALUE_GET,
	ST_VERSION_GET,
	ST_VERSION_PUT,
	ST_VERSION_DELETE,
	ST_VERSION_LIST,
	ST_VERSION_STALE,
	ST_VERSION_STALE_COUNT,
	ST_TOKEN_PUT,
	ST_TOKEN_GET,
	ST_TOKEN_FIND,
	ST_TOKEN_UPDATE,
	ST_TOKEN_LIST,
	ST_POLICY_PUT,
	ST_POLICY_GET,
	ST_POLICY_LIST,
	ST_POLICY_DELETE,
	ST_AUDIT_INSERT,
	ST_AUDIT_READ,
	ST_COUNT
};

#define SECRET_COLS                                                                                \
	"s.name, s.current_version, s.previous_version,"                                           \
	" (SELECT count(*) FROM versions v WHERE v.secret_id = s.id), s.revision, s.created,"      \
	" s.updated, s.created_by, s.updated_by, s.description, s.labels, s.rotation_period,"      \
	" s.max_versions, s.deleted, s.latest_version"
#define VERSION_COLS "v.version, v.created, v.created_by, v.key_id, v.value IS NULL, v.value"
#define SECRET_ID "(SELECT id FROM secrets WHERE name = ?1)"
#define TOKEN_COLS "accessor, hash, policies, created, expires, uses_left, revoked, created_by"
#define AUDIT_COLS                                                                                 \
	"seq, time_ms, uid, gid, pid, accessor, action, name, result, status, prev_hash, hash"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT op",
    [ST_RELEASE] = "RELEASE op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO op",
    [ST_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [ST_SYNC_FULL] = "PRAGMA synchronous = FULL",
    [ST_HEADER_GET] = "SELECT store_id, kek_kind, kdf_opslimit, kdf_memlimit, kdf_salt, revision,"
                      " audit_seq, audit_hash, audit_tag FROM store WHERE id = 1",
    [ST_HEADER_PUT] =
        "INSERT INTO store (id, store_id, kek_kind, kdf_opslimit, kdf_memlimit, kdf_salt,"
        " revision, audit_seq, audit_hash, audit_tag) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9) ON CONFLICT(id) DO UPDATE SET store_id = excluded.store_id, kek_kind ="
        " excluded.kek_kind, kdf_opslimit = excluded.kdf_opslimit, kdf_memlimit ="
        " excluded.kdf_memlimit, kdf_salt = excluded.kdf_salt, revision = excluded.revision,"
        " audit_seq = excluded.audit_seq, audit_hash = excluded.audit_hash, audit_tag ="
        " excluded.audit_tag",
    [ST_KEY_LIST] = "SELECT key_id, wrapped FROM keys ORDER BY key_id",
    [ST_KEY_PUT] = "INSERT INTO keys (key_id, wrapped) VALUES (?1, ?2)"
                   " ON CONFLICT(key_id) DO UPDATE SET wrapped = excluded.wrapped",
    [ST_SECRET_GET] = "SELECT " SECRET_COLS " FROM secrets s WHERE s.name = ?1",
    [ST_SECRET_PUT] =
        "INSERT INTO secrets (name, current_version, previous_version, latest_version,"
        " revision, created, updated, created_by, updated_by, description, labels,"
        " rotation_period, max_versions, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
        " ?10, ?11, ?12, ?13, ?14) ON CONFLICT(name) DO UPDATE SET current_version ="
        " excluded.current_version, previous_version = excluded.previous_version,"
        " latest_version = excluded.latest_version, revision = excluded.revision, created ="
        " excluded.created, updated = excluded.updated, created_by = excluded.created_by,"
        " updated_by = excluded.updated_by, description = excluded.description, labels ="
        " excluded.labels, rotation_period = excluded.rotation_period, max_versions ="
        " excluded.max_versions, deleted = excluded.deleted",
    /* Names are [A-Za-z0-9._-]: every name starting with P sorts in
     * [P, P || 0x7f), so the prefix is an index range, not a scan. */
    [ST_SECRET_LIST] = "SELECT " SECRET_COLS " FROM secrets s WHERE s.name >= ?1 AND s.name < ?2"
                       " AND (?3 OR s.deleted = 0) ORDER BY s.name",
    [ST_SECRET_COUNT] = "SELECT count(*) FROM secrets WHERE deleted = 0",
    [ST_VALUE_GET] = "SELECT " VERSION_COLS " FROM secrets s JOIN versions v ON v.secret_id ="
                     " s.id WHERE s.name = ?1 AND s.deleted = 0 AND v.version = CASE ?2 WHEN 0"
                     " THEN s.current_version WHEN 1 THEN s.previous_version ELSE ?3 END",
    [ST_VERSION_GET] = "SELECT " VERSION_COLS " FROM versions v WHERE v.secret_id = " SECRET_ID
                       " AND v.version = ?2",
    [ST_VERSION_PUT] = "INSERT INTO versions (secret_id, version, created, created_by, key_id,"
                       " value) VALUES (" SECRET_ID ", ?2, ?3, ?4, ?5, ?6) ON CONFLICT(secret_id,"
                       " version) DO UPDATE SET created = excluded.created, created_by ="
                       " excluded.created_by, key_id = excluded.key_id, value = excluded.value",
    [ST_VERSION_DELETE] = "DELETE FROM versions WHERE secret_id = " SECRET_ID " AND version = ?2",
    [ST_VERSION_LIST] =
        "SELECT v.version, v.created, v.created_by, v.key_id, v.value IS NULL,"
        " NULL FROM versions v WHERE v.secret_id = " SECRET_ID " ORDER BY v.version",
    /* "Not under key ?1" as the two ranges around it, not key_id != ?1:
     * SQLite searches versions_by_key for ranges but scans all of it for
     * !=, and status and /metrics count these on every call (20 ms at
     * 200,000 versions, against 0.03 ms for the ranges). */
    [ST_VERSION_STALE] = "SELECT s.name, " VERSION_COLS " FROM versions v JOIN secrets s ON"
                         " s.id = v.secret_id WHERE v.key_id < ?1 AND v.value IS NOT NULL"
                         " UNION ALL SELECT s.name, " VERSION_COLS " FROM versions v JOIN"
                         " secrets s ON s.id = v.secret_id WHERE v.key_id > ?1 AND"
                         " v.value IS NOT NULL LIMIT ?2",
    [ST_VERSION_STALE_COUNT] =
        "SELECT (SELECT count(*) FROM versions WHERE key_id < ?1 AND value IS NOT NULL) +"
        " (SELECT count(*) FROM versions WHERE key_id > ?1 AND value IS NOT NULL)",
    [ST_TOKEN_PUT] = "INSERT INTO tokens (" TOKEN_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_TOKEN_GET] = "SELECT " TOKEN_COLS " FROM tokens WHERE accessor = ?1",
    [ST_TOKEN_FIND] = "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?1",
    [ST_TOKEN_UPDATE] = "UPDATE tokens SET uses_left = ?2, revoked = ?3 WHERE accessor = ?1",
    [ST_TOKEN_LIST] = "SELECT " TOKEN_COLS " FROM tokens ORDER BY created, accessor",
    [ST_POLICY_PUT] = "INSERT INTO policies (name, document) VALUES (?1, ?2)"
                      " ON CONFLICT(name) DO UPDATE SET document = excluded.document",
    [ST_POLICY_GET] = "SELECT document FROM policies WHERE name = ?1",
    [ST_POLICY_LIST] = "SELECT name FROM policies ORDER BY name",
    [ST_POLICY_DELETE] = "DELETE FROM policies WHERE name = ?1",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (" AUDIT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                        " ?8, ?9, ?10, ?11, ?12)",
    [ST_AUDIT_READ] = "SELECT " AUDIT_COLS " FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
};

/* ---- connections, transactions ---- */

struct be_tx {
	struct be *b;
	struct conn *c;
	int reader; /* index in the pool, -1 for the write connection */
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT]; /* prepared on first use, kept until close */
	struct be_tx tx;            /* a connection runs one transaction at a time */
	bool unsynced;              /* synchronous=NORMAL now (see conn_sync_level) */
};

struct be {
	char *path;
	int schema_version;
	pthread_mutex_t wlock; /* held from BEGIN IMMEDIATE to COMMIT/ROLLBACK */
	struct conn w;
	pthread_mutex_t plock; /* guards r_busy */
	pthread_cond_t pcond;
	bool r_busy[BE_READERS];
	struct conn r[BE_READERS];
	struct ckpt *ckpt; /* the write connection's checkpoints */
};

/* SQLite result codes to the store's errors. */
static int sq_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
	case SQLITE_MISMATCH:
	case SQLITE_SCHEMA:
	case SQLITE_ERROR: /* e.g. "no such table": not our schema */
		return STORE_E_CORRUPT;
	case SQLITE_CONSTRAINT:
		return STORE_E_EXISTS;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_TOOBIG:
		return STORE_E_TOOBIG;
	default:
		return STORE_E_IO;
	}
}

static int conn_exec(struct conn *c, const char *sql)
{
	return sq_err(sqlite3_exec(c->db, sql, NULL, NULL, NULL));
}

static void conn_close(struct conn *c)
{
	for (size_t i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(c->st[i]);
		c->st[i] = NULL;
	}
	sqlite3_close(c->db); /* NULL is a no-op */
	c->db = NULL;
}

/* Per-connection settings. secure_delete overwrites deleted content in the
 * file; defensive mode forbids writable_schema and similar foot-guns. */
static int conn_configure(struct conn *c, bool reader)
{
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BE_BUSY_TIMEOUT_MS);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	return conn_exec(c, reader ? "PRAGMA query_only = ON; PRAGMA cell_size_check = ON"
	                           : "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
	                             " PRAGMA synchronous = FULL; PRAGMA cell_size_check = ON");
}

/* Connections check nothing here; be_open validates the file first. Each
 * connection is used by one thread at a time (NOMUTEX). */
static int conn_open(struct conn *c, const char *path, bool reader)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	int r = sq_err(rc);
	/* "unable to open" hides the reason: report the system's errno */
	if ((rc & 0xff) == SQLITE_CANTOPEN && c->db && sqlite3_system_errno(c->db) > 0)
		r = -sqlite3_system_errno(c->db);
	if (r == 0)
		r = conn_configure(c, reader);
	if (r < 0)
		conn_close(c);
	return r;
}

/* The checkpointer's connection (store_sqlite_ckpt.c): a writer's settings,
 * no prepared statements. */
static sqlite3 *open_checkpointer(const char *path)
{
	struct conn c = {0};
	return conn_open(&c, path, false) == 0 ? c.db : NULL;
}

static int conn_stmt(struct conn *c, enum stmt id, sqlite3_stmt **ret)
{
	if (!c->st[id]) {
		int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		                            &c->st[id], NULL);
		if (rc != SQLITE_OK)
			return sq_err(rc) < 0 ? sq_err(rc) : STORE_E_IO;
	}
	*ret = c->st[id];
	return 0;
}

/* Runs a statement without parameters or rows (BEGIN, COMMIT, ...). */
static int conn_run(struct conn *c, enum stmt id)
{
	sqlite3_stmt *st = NULL;
	int r = conn_stmt(c, id, &st);
	if (r < 0)
		return r;
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sq_err(rc);
}

static int pragma_int(struct conn *c, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_err(rc);
	rc = sqlite3_step(st);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_E_CORRUPT : sq_err(rc);
	*ret = v;
	return 0;
}

/* ---- statement helpers ---- */

/* A statement in use: reset and unbound when it goes out of scope, so that
 * no early return leaves a statement (and its read snapshot) active. */
static void stmt_donep(sqlite3_stmt **st)
{
	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
}
#define _cleanup_stmt_ __attribute__((cleanup(stmt_donep)))

/* Collects the first bind error so that a sequence of binds is checked once. */
struct binder {
	sqlite3_stmt *st;
	int rc;
};

static void bind_i64(struct binder *b, int i, int64_t v)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_int64(b->st, i, v);
}

static void bind_text(struct binder *b, int i, const char *s)
{
	if (b->rc == SQLITE_OK)
		b->rc = sqlite3_bind_text(b->st, i, s, -1, SQLITE_STATIC);
}

/* NULL p binds SQL NULL (a destroyed value). */
static void bind_blob(struct binder *b, int i, const void *p, size_t n)
{
	if (b->rc != SQLITE_OK)
		return;
	if (!p)
		b->rc = sqlite3_bind_null(b->st, i);
	else if (n > INT_MAX)
		b->rc = SQLITE_TOOBIG;
	else
		b->rc = sqlite3_bind_blob(b->st, i, p, (int)n, SQLITE_STATIC);
}

/* Prepares statement id on the transaction's connection for binding. */
static int tx_stmt(struct be_tx *tx, enum stmt id, sqlite3_stmt **st, struct binder *b)
{
	int r = conn_stmt(tx->c, id, st);
	if (r < 0)
		return r;
	*b = (struct binder){.st = *st, .rc = SQLITE_OK};
	return 0;
}

/* Steps a statement that returns no rows. */
static int step_done(struct binder *b)
{
	if (b->rc != SQLITE_OK)
		return sq_err(b->rc);
	int rc = sqlite3_step(b->st);
	return rc == SQLITE_DONE ? 0 : sq_err(rc);
}

/* Steps a statement expected to return one row: 0 on a row, NOTFOUND. */
static int step_row(struct binder *b)
{
	if (b->rc != SQLITE_OK)
		return sq_err(b->rc);
	int rc = sqlite3_step(b->st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? STORE_E_NOTFOUND : sq_err(rc);
}

/* 1 on a row, 0 at the end, or an error (for loops over rows). */
static int step_next(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_err(rc);
}

/* Text column into a fixed buffer: a longer value than the record allows
 * is a damaged store. */
static int col_text(sqlite3_stmt *st, int i, char *buf, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	if (!t || n >= cap || memchr(t, '\0', n))
		return STORE_E_CORRUPT;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return 0;
}

/* The audit reader keeps going on bad text (cut to fit) so that the chain
 * check, not the reader, names the damaged entry. */
static void col_text_cut(sqlite3_stmt *st, int i, char *buf, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = t ? strnlen((const char *)t, (size_t)sqlite3_column_bytes(st, i)) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(buf, t, n);
	buf[n] = '\0';
}

static int col_strdup(sqlite3_stmt *st, int i, char **ret)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	if (!t)
		return STORE_E_CORRUPT;
	char *s = strndup((const char *)t, n);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int col_fixed(sqlite3_stmt *st, int i, uint8_t *out, size_t n)
{
	const void *p = sqlite3_column_blob(st, i);
	if (!p || (size_t)sqlite3_column_bytes(st, i) != n)
		return STORE_E_CORRUPT;
	memcpy(out, p, n);
	return 0;
}

/* Like col_fixed but a wrong size reads as zeros (audit reader, see above). */
static void col_fixed_lenient(sqlite3_stmt *st, int i, uint8_t *out, size_t n)
{
	const void *p = sqlite3_column_blob(st, i);
	memset(out, 0, n);
	if (p && (size_t)sqlite3_column_bytes(st, i) == n)
		memcpy(out, p, n);
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
	int64_t v = sqlite3_column_int64(st, i);
	return v < 0 ? 0 : (uint64_t)v;
}

/* ---- file checks ---- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static off_t wal_size(const char *path)
{
	char wal[PATH_MAX];
	struct stat st;
	int n = snprintf(wal, sizeof(wal), "%s-wal", path);
	if (n < 0 || (size_t)n >= sizeof(wal) || stat(wal, &st) < 0)
		return 0;
	return st.st_size;
}

static int read_header(int fd, uint8_t h[SQLITE_HEADER_BYTES])
{
	size_t got = 0;
	while (got < SQLITE_HEADER_BYTES) {
		ssize_t n = pread(fd, h + got, SQLITE_HEADER_BYTES - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return STORE_E_CORRUPT;
		got += (size_t)n;
	}
	return 0;
}

/* Cheap checks before SQLite sees the file: a regular file with the SQLite
 * magic, and (when no WAL holds newer pages) at least as many pages as its
 * header records, so a truncated store is refused at open instead of failing
 * on some later read. SQLite itself rejects the rest as corrupt. */
static int file_check(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	uint8_t h[SQLITE_HEADER_BYTES];
	int r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0 && !S_ISREG(st.st_mode))
		r = STORE_E_CORRUPT;
	if (r == 0)
		r = read_header(fd, h);
	close(fd);
	if (r < 0)
		return r;
	if (memcmp(h, SQLITE_MAGIC, sizeof(SQLITE_MAGIC)) != 0)
		return STORE_E_CORRUPT;
	uint32_t page = (uint32_t)h[16] << 8 | h[17];
	if (page == 1)
		page = 65536;
	if (page < 512 || (page & (page - 1)) != 0)
		return STORE_E_CORRUPT;
	uint32_t pages = be32(h + 28);
	bool size_valid = pages != 0 && be32(h + 24) == be32(h + 92);
	if (size_valid && wal_size(path) == 0 && (uint64_t)st.st_size < (uint64_t)pages * page)
		return STORE_E_CORRUPT;
	if (st.st_size < (off_t)page)
		return STORE_E_CORRUPT;
	return 0;
}

/* ---- migrations ---- */

static int latest_schema(void)
{
	int v = 0;
	for (size_t i = 0; i < schema_migrations_count; i++)
		if (schema_migrations[i].version > v)
			v = schema_migrations[i].version;
	return v;
}

/* Applies every migration above the file's user_version, and the new
 * user_version, in one transaction: a crash leaves the old schema. */
static int migrate(struct conn *c, int *ret_version)
{
	int64_t have;
	int latest = latest_schema();
	int r = conn_exec(c, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	/* Read inside the transaction: another process may have migrated. */
	r = pragma_int(c, "PRAGMA user_version", &have);
	if (r == 0 && have > latest)
		r = STORE_E_NEWER;
	for (size_t i = 0; r == 0 && i < schema_migrations_count; i++)
		if (schema_migrations[i].version > have)
			r = conn_exec(c, schema_migrations[i].sql);
	if (r == 0 && have < latest) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", latest);
		r = conn_exec(c, sql);
	}
	if (r == 0)
		r = conn_exec(c, "COMMIT");
	if (r < 0) {
		if (!sqlite3_get_autocommit(c->db))
			conn_exec(c, "ROLLBACK");
		return r;
	}
	*ret_version = latest;
	return 0;
}

/* A file that is an SQLite database but not a store we can use is refused
 * before anything is written to it. */
static int check_identity(struct conn *c, int64_t *ret_version)
{
	int64_t app, ver;
	int r = pragma_int(c, "PRAGMA application_id", &app);
	if (r == 0)
		r = pragma_int(c, "PRAGMA user_version", &ver);
	if (r < 0)
		return r;
	if (app != BE_APPLICATION_ID || ver <= 0)
		return STORE_E_CORRUPT;
	if (ver > latest_schema())
		return STORE_E_NEWER;
	*ret_version = ver;
	return 0;
}

/* WAL mode, and the write connection's checkpoints go to b's thread. */
static int set_wal(struct be *b)
{
	struct conn *c = &b->w;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_err(rc);
	rc = sqlite3_step(st);
	const unsigned char *mode = sqlite3_column_text(st, 0);
	bool wal = rc == SQLITE_ROW && mode && strcmp((const char *)mode, "wal") == 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return sq_err(rc);
	if (!wal)
		return STORE_E_IO;
	ckpt_attach(b->ckpt, c->db, BE_BUSY_TIMEOUT_MS);
	return 0;
}

/* Whether the WAL file has anything in it (a clean close removes it). */
static bool wal_in_use(const struct be *b)
{
	char wal[PATH_MAX];
	struct stat st;
	return (size_t)snprintf(wal, sizeof(wal), "%s-wal", b->path) < sizeof(wal) &&
	       stat(wal, &st) == 0 && st.st_size > 0;
}

/* ---- lifecycle ---- */

static void be_close(struct be *b)
{
	if (!b)
		return;
	ckpt_free(b->ckpt); /* first: the write connection's close checkpoints alone */
	for (size_t i = 0; i < BE_READERS; i++)
		conn_close(&b->r[i]);
	conn_close(&b->w); /* last: it checkpoints and removes the WAL */
	pthread_mutex_destroy(&b->wlock);
	pthread_mutex_destroy(&b->plock);
	pthread_cond_destroy(&b->pcond);
	free(b->path);
	free(b);
}

static int be_alloc(const char *path, struct be **ret)
{
	struct be *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->path = strdup(path);
	if (!b->path || ckpt_new(path, open_checkpointer, &b->ckpt) < 0) {
		free(b->path);
		free(b);
		return -ENOMEM;
	}
	pthread_mutex_init(&b->wlock, NULL);
	pthread_mutex_init(&b->plock, NULL);
	pthread_cond_init(&b->pcond, NULL);
	*ret = b;
	return 0;
}

static void be_remove(const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		char p[PATH_MAX];
		int n = snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		if (n > 0 && (size_t)n < sizeof(p))
			unlink(p);
	}
}

/* An empty file made here with O_EXCL and mode 0600 becomes the database:
 * SQLite gives its -wal and -shm files the database file's mode. */
static int create_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return errno == EEXIST ? STORE_E_EXISTS : -errno;
	close(fd);
	return 0;
}

static int be_create(const char *path, struct be **ret)
{
	if (!path || !ret)
		return STORE_E_INVAL;
	int r = create_file(path);
	if (r < 0)
		return r;
	struct be *b = NULL;
	r = be_alloc(path, &b);
	if (r == 0)
		r = conn_open(&b->w, path, false);
	if (r == 0)
		r = set_wal(b);
	if (r == 0)
		r = migrate(&b->w, &b->schema_version);
	if (r < 0) {
		be_close(b);
		be_remove(path);
		return r;
	}
	*ret = b;
	return 0;
}

static int be_open(const char *path, struct be **ret)
{
	if (!path || !ret)
		return STORE_E_INVAL;
	int r = file_check(path);
	if (r < 0)
		return r;
	struct be *b = NULL;
	r = be_alloc(path, &b);
	if (r == 0)
		r = conn_open(&b->w, path, false);
	int64_t have = 0;
	if (r == 0)
		r = check_identity(&b->w, &have);
	if (r == 0)
		r = set_wal(b);
	if (r == 0)
		b->schema_version = (int)have;
	/* An up-to-date store is not written to at all on open. */
	if (r == 0 && have < latest_schema())
		r = migrate(&b->w, &b->schema_version);
	if (r < 0) {
		be_close(b);
		return r;
	}
	*ret = b;
	return 0;
}

static int be_schema_version(struct be *b)
{
	return b->schema_version;
}

/* ---- transactions ---- */

/* A free read connection, opening one if needed; waits when all are busy. */
static int reader_acquire(struct be *b, int *ret)
{
	pthread_mutex_lock(&b->plock);
	int idx = -1;
	for (;;) {
		for (int i = 0; i < BE_READERS; i++) {
			if (b->r_busy[i])
				continue;
			/* Prefer a connection that is already open. */
			if (idx < 0 || (b->r[i].db && !b->r[idx].db))
				idx = i;
		}
		if (idx >= 0)
			break;
		pthread_cond_wait(&b->pcond, &b->plock);
	}
	b->r_busy[idx] = true;
	pthread_mutex_unlock(&b->plock);
	int r = b->r[idx].db ? 0 : conn_open(&b->r[idx], b->path, true);
	if (r < 0) {
		pthread_mutex_lock(&b->plock);
		b->r_busy[idx] = false;
		pthread_cond_signal(&b->pcond);
		pthread_mutex_unlock(&b->plock);
		return r;
	}
	*ret = idx;
	return 0;
}

static void reader_release(struct be *b, int idx)
{
	pthread_mutex_lock(&b->plock);
	b->r_busy[idx] = false;
	pthread_cond_signal(&b->pcond);
	pthread_mutex_unlock(&b->plock);
}

static void tx_release(struct be_tx *tx)
{
	if (tx->reader < 0)
		pthread_mutex_unlock(&tx->b->wlock);
	else
		reader_release(tx->b, tx->reader);
}

/* SQLite sets the safety level only outside a transaction, and setting it
 * invalidates every prepared statement of the connection (they are parsed
 * again): change it only when the next transaction needs the other one. */
static int conn_sync_level(struct conn *c, bool unsynced)
{
	if (c->unsynced == unsynced)
		return 0;
	int r = conn_run(c, unsynced ? ST_SYNC_NORMAL : ST_SYNC_FULL);
	if (r == 0)
		c->unsynced = unsynced;
	return r;
}

/* Reads take a pooled reader; writes take the write connection at the
 * safety level they need (SQLite changes it only outside a transaction):
 * FULL, or NORMAL for an unsynced write, whose commit survives the process
 * dying but not the machine losing power until the next durable commit or
 * be_sync. IMMEDIATE: take the write lock now, so a transaction never fails
 * half-way because another process wrote in between. */
static int begin_tx(struct be *b, bool write, bool unsynced, struct be_tx **ret)
{
	struct conn *c;
	int reader = -1;
	if (write) {
		pthread_mutex_lock(&b->wlock);
		c = &b->w;
	} else {
		int r = reader_acquire(b, &reader);
		if (r < 0)
			return r;
		c = &b->r[reader];
	}
	c->tx = (struct be_tx){.b = b, .c = c, .reader = reader};
	int r = write ? conn_sync_level(c, unsynced) : 0;
	if (r == 0)
		r = conn_run(c, write ? ST_BEGIN_IMMEDIATE : ST_BEGIN);
	if (r < 0) {
		tx_release(&c->tx);
		return r;
	}
	*ret = &c->tx;
	return 0;
}

static int be_begin(struct be *b, bool write, struct be_tx **ret)
{
	return begin_tx(b, write, false, ret);
}

static int be_begin_unsynced(struct be *b, struct be_tx **ret)
{
	return begin_tx(b, true, true, ret);
}

/* Makes every committed transaction durable: an fsync of the WAL, which
 * holds them all (the main file gets them only at checkpoints, which sync
 * on their own). Our own descriptor: the inode is what gets synced, and
 * SQLite takes no locks on the WAL file that closing it could drop. */
static int be_sync(struct be *b)
{
	char wal[PATH_MAX];
	if (snprintf(wal, sizeof(wal), "%s-wal", b->path) >= (int)sizeof(wal))
		return -ENAMETOOLONG;
	int r = fsutil_fsync_path(wal, O_NOFOLLOW);
	return r == -ENOENT ? 0 : r; /* no WAL: nothing unsynced */
}

static void be_abort(struct be_tx *tx)
{
	if (!sqlite3_get_autocommit(tx->c->db))
		conn_run(tx->c, ST_ROLLBACK);
	tx_release(tx);
}

static int be_commit(struct be_tx *tx)
{
	int r = conn_run(tx->c, ST_COMMIT);
	if (r < 0 && !sqlite3_get_autocommit(tx->c->db))
		conn_run(tx->c, ST_ROLLBACK);
	tx_release(tx);
	return r;
}

static int be_savepoint(struct be_tx *tx)
{
	return conn_run(tx->c, ST_SAVEPOINT);
}

/* A failed statement may have rolled back the whole transaction (SQLite
 * does on I/O errors and a full disk): then there is no savepoint left to
 * return to, and the transaction must be given up. */
static int be_savepoint_end(struct be_tx *tx, bool keep)
{
	if (sqlite3_get_autocommit(tx->c->db))
		return STORE_E_IO;
	int r = keep ? 0 : conn_run(tx->c, ST_ROLLBACK_TO);
	if (r == 0)
		r = conn_run(tx->c, ST_RELEASE);
	return r;
}

/* ---- header and keys ---- */

static int header_get(struct be_tx *tx, struct be_header *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_HEADER_GET, &st, &b);
	if (r == 0)
		r = step_row(&b);
	if (r == STORE_E_NOTFOUND)
		return STORE_E_CORRUPT; /* every store has its header row */
	if (r < 0)
		return r;
	struct be_header h = {0};
	int64_t kind = sqlite3_column_int64(st, 1);
	h.kek_kind = kind == KEK_PASSPHRASE ? KEK_PASSPHRASE : KEK_KEYFILE;
	h.kdf.opslimit = col_u64(st, 2);
	h.kdf.memlimit = col_u64(st, 3);
	h.revision = col_u64(st, 5);
	h.audit_seq = col_u64(st, 6);
	r = col_fixed(st, 0, h.store_id, sizeof(h.store_id));
	if (r == 0)
		r = col_fixed(st, 4, h.kdf.salt, sizeof(h.kdf.salt));
	if (r == 0)
		r = col_fixed(st, 7, h.audit_hash, sizeof(h.audit_hash));
	if (r == 0)
		r = col_fixed(st, 8, h.audit_tag, sizeof(h.audit_tag));
	if (r < 0)
		return r;
	*ret = h;
	return 0;
}

static int header_put(struct be_tx *tx, const struct be_header *h)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_HEADER_PUT, &st, &b);
	if (r < 0)
		return r;
	bind_blob(&b, 1, h->store_id, sizeof(h->store_id));
	bind_i64(&b, 2, h->kek_kind);
	bind_i64(&b, 3, (int64_t)h->kdf.opslimit);
	bind_i64(&b, 4, (int64_t)h->kdf.memlimit);
	bind_blob(&b, 5, h->kdf.salt, sizeof(h->kdf.salt));
	bind_i64(&b, 6, (int64_t)h->revision);
	bind_i64(&b, 7, (int64_t)h->audit_seq);
	bind_blob(&b, 8, h->audit_hash, sizeof(h->audit_hash));
	bind_blob(&b, 9, h->audit_tag, sizeof(h->audit_tag));
	return step_done(&b);
}

static int key_list(struct be_tx *tx, struct be_key **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_KEY_LIST, &st, &b);
	if (r < 0)
		return r;
	struct be_key *keys = NULL;
	size_t n = 0, cap = 0;
	while ((r = step_next(st)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			struct be_key *k = reallocarray(keys, cap, sizeof(*k));
			if (!k) {
				r = -ENOMEM;
				break;
			}
			keys = k;
		}
		int64_t id = sqlite3_column_int64(st, 0);
		if (id < 0 || id > UINT32_MAX) {
			r = STORE_E_CORRUPT;
			break;
		}
		keys[n].key_id = (uint32_t)id;
		keys[n].wrapped_len =
		    col_fixed(st, 1, keys[n].wrapped, sizeof(keys[n].wrapped)) == 0
		        ? sizeof(keys[n].wrapped)
		        : 0;
		n++;
	}
	if (r < 0) {
		free(keys);
		return r;
	}
	*ret = keys;
	*ret_n = n;
	return 0;
}

static int key_put(struct be_tx *tx, const struct be_key *k)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_KEY_PUT, &st, &b);
	if (r < 0)
		return r;
	bind_i64(&b, 1, k->key_id);
	bind_blob(&b, 2, k->wrapped, sizeof(k->wrapped));
	return step_done(&b);
}

/* ---- secrets ---- */

/* One row of SECRET_COLS into a record (owned strings allocated). */
static int read_secret(sqlite3_stmt *st, struct be_secret *ret)
{
	struct be_secret s = {0};
	struct secret_meta *m = &s.meta;
	int r = col_text(st, 0, m->name, sizeof(m->name));
	m->current_version = col_u64(st, 1);
	m->previous_version = col_u64(st, 2);
	m->versions = col_u64(st, 3);
	m->revision = col_u64(st, 4);
	m->created = sqlite3_column_int64(st, 5);
	m->updated = sqlite3_column_int64(st, 6);
	if (r == 0)
		r = col_text(st, 7, m->created_by, sizeof(m->created_by));
	if (r == 0)
		r = col_text(st, 8, m->updated_by, sizeof(m->updated_by));
	if (r == 0)
		r = col_strdup(st, 9, &m->description);
	if (r == 0)
		r = col_strdup(st, 10, &m->labels_json);
	m->rotation_period = sqlite3_column_int64(st, 11);
	int64_t maxv = sqlite3_column_int64(st, 12);
	m->max_versions =
	    maxv < 1 || maxv > UINT32_MAX ? STORE_DEFAULT_MAX_VERSIONS : (uint32_t)maxv;
	m->deleted = sqlite3_column_int64(st, 13) != 0;
	s.latest_version = col_u64(st, 14);
	if (r < 0) {
		secret_meta_clear(m);
		return r;
	}
	*ret = s;
	return 0;
}

static int secret_get(struct be_tx *tx, const char *name, struct be_secret *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_SECRET_GET, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, name);
	r = step_row(&b);
	return r < 0 ? r : read_secret(st, ret);
}

static int secret_put(struct be_tx *tx, const struct be_secret *sec)
{
	const struct secret_meta *m = &sec->meta;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_SECRET_PUT, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, m->name);
	bind_i64(&b, 2, (int64_t)m->current_version);
	bind_i64(&b, 3, (int64_t)m->previous_version);
	bind_i64(&b, 4, (int64_t)sec->latest_version);
	bind_i64(&b, 5, (int64_t)m->revision);
	bind_i64(&b, 6, m->created);
	bind_i64(&b, 7, m->updated);
	bind_text(&b, 8, m->created_by);
	bind_text(&b, 9, m->updated_by);
	bind_text(&b, 10, m->description ? m->description : "");
	bind_text(&b, 11, m->labels_json ? m->labels_json : "{}");
	bind_i64(&b, 12, m->rotation_period);
	bind_i64(&b, 13, m->max_versions);
	bind_i64(&b, 14, m->deleted);
	return step_done(&b);
}

static int meta_list_push(struct secret_meta_list *l, size_t *cap, struct secret_meta *m)
{
	if (l->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct secret_meta *items = reallocarray(l->items, ncap, sizeof(*items));
		if (!items)
			return -ENOMEM;
		l->items = items;
		*cap = ncap;
	}
	l->items[l->n++] = *m;
	return 0;
}

static int secret_list(struct be_tx *tx, const char *prefix, bool include_deleted,
                       struct secret_meta_list **ret)
{
	char hi[VAULT_MAX_NAME_LEN + 2];
	int n = snprintf(hi, sizeof(hi), "%s\x7f", prefix);
	if (n < 0 || (size_t)n >= sizeof(hi))
		return STORE_E_INVAL;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_SECRET_LIST, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, prefix);
	bind_text(&b, 2, hi);
	bind_i64(&b, 3, include_deleted);
	if (b.rc != SQLITE_OK)
		return sq_err(b.rc);
	struct secret_meta_list *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	size_t cap = 0;
	while ((r = step_next(st)) == 1) {
		struct be_secret s;
		r = read_secret(st, &s);
		if (r == 0) {
			r = meta_list_push(l, &cap, &s.meta);
			if (r < 0)
				secret_meta_clear(&s.meta);
		}
		if (r < 0)
			break;
	}
	if (r < 0) {
		secret_meta_list_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

static int count_query(struct be_tx *tx, enum stmt id, int64_t arg, uint64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, id, &st, &b);
	if (r < 0)
		return r;
	if (sqlite3_bind_parameter_count(st) > 0)
		bind_i64(&b, 1, arg);
	r = step_row(&b);
	if (r < 0)
		return r;
	*ret = col_u64(st, 0);
	return 0;
}

static int secret_count(struct be_tx *tx, uint64_t *ret)
{
	return count_query(tx, ST_SECRET_COUNT, 0, ret);
}

/* ---- versions ---- */

/* One row of VERSION_COLS starting at column i0; the blob is copied. */
static int read_version(sqlite3_stmt *st, int i0, struct be_version *ret)
{
	struct be_version v = {0};
	v.version = col_u64(st, i0);
	v.created = sqlite3_column_int64(st, i0 + 1);
	int r = col_text(st, i0 + 2, v.created_by, sizeof(v.created_by));
	int64_t key_id = sqlite3_column_int64(st, i0 + 3);
	if (key_id < 0 || key_id > UINT32_MAX)
		r = STORE_E_CORRUPT;
	v.key_id = (uint32_t)key_id;
	v.destroyed = sqlite3_column_int64(st, i0 + 4) != 0;
	const void *blob = sqlite3_column_blob(st, i0 + 5);
	size_t len = (size_t)sqlite3_column_bytes(st, i0 + 5);
	if (r == 0 && blob && len > 0) {
		v.blob = malloc(len);
		if (!v.blob)
			return -ENOMEM;
		memcpy(v.blob, blob, len);
		v.bloblen = len;
	}
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

static int value_get(struct be_tx *tx, const char *name, enum secret_stage stage, uint64_t version,
                     struct be_version *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_VALUE_GET, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, name);
	bind_i64(&b, 2, stage);
	bind_i64(&b, 3, version > INT64_MAX ? -1 : (int64_t)version);
	r = step_row(&b);
	return r < 0 ? r : read_version(st, 0, ret);
}

static int version_get(struct be_tx *tx, const char *name, uint64_t version, struct be_version *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_VERSION_GET, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, name);
	bind_i64(&b, 2, version > INT64_MAX ? -1 : (int64_t)version);
	r = step_row(&b);
	return r < 0 ? r : read_version(st, 0, ret);
}

static int version_put(struct be_tx *tx, const char *name, const struct be_version *v)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_VERSION_PUT, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, name);
	bind_i64(&b, 2, (int64_t)v->version);
	bind_i64(&b, 3, v->created);
	bind_text(&b, 4, v->created_by);
	bind_i64(&b, 5, v->key_id);
	bind_blob(&b, 6, v->destroyed ? NULL : v->blob, v->bloblen);
	return step_done(&b);
}

static int version_delete(struct be_tx *tx, const char *name, uint64_t version)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_VERSION_DELETE, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, name);
	bind_i64(&b, 2, (int64_t)version);
	r = step_done(&b);
	if (r == 0 && sqlite3_changes(tx->c->db) == 0)
		r = STORE_E_NOTFOUND;
	return r;
}

static int version_list(struct be_tx *tx, const char *name, struct be_version **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_VERSION_LIST, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, name);
	if (b.rc != SQLITE_OK)
		return sq_err(b.rc);
	struct be_version *vs = NULL;
	size_t n = 0, cap = 0;
	while ((r = step_next(st)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct be_version *p = reallocarray(vs, cap, sizeof(*p));
			if (!p) {
				r = -ENOMEM;
				break;
			}
			vs = p;
		}
		r = read_version(st, 0, &vs[n]); /* the blob column is NULL here */
		if (r < 0)
			break;
		n++;
	}
	if (r < 0) {
		free(vs);
		return r;
	}
	*ret = vs;
	*ret_n = n;
	return 0;
}

static void ref_list_free(struct be_version_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		be_version_clear(&refs[i].v);
	free(refs);
}

static int version_stale(struct be_tx *tx, uint32_t key_id, size_t limit,
                         struct be_version_ref **ret, size_t *ret_n, uint64_t *ret_total)
{
	uint64_t total;
	int r = count_query(tx, ST_VERSION_STALE_COUNT, key_id, &total);
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	r = tx_stmt(tx, ST_VERSION_STALE, &st, &b);
	if (r < 0)
		return r;
	bind_i64(&b, 1, key_id);
	bind_i64(&b, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	if (b.rc != SQLITE_OK)
		return sq_err(b.rc);
	size_t want = limit < total ? limit : (size_t)total;
	struct be_version_ref *refs = want ? calloc(want, sizeof(*refs)) : NULL;
	if (want && !refs)
		return -ENOMEM;
	size_t n = 0;
	while (n < want && (r = step_next(st)) == 1) {
		r = col_text(st, 0, refs[n].name, sizeof(refs[n].name));
		if (r == 0)
			r = read_version(st, 1, &refs[n].v);
		if (r < 0)
			break;
		n++;
	}
	if (r < 0) {
		ref_list_free(refs, n);
		return r;
	}
	*ret = refs;
	*ret_n = n;
	*ret_total = total;
	return 0;
}

/* ---- tokens ---- */

static int read_token(sqlite3_stmt *st, struct store_token *ret)
{
	struct store_token t = {0};
	int r = col_text(st, 0, t.accessor, sizeof(t.accessor));
	if (r == 0)
		r = col_fixed(st, 1, t.hash, sizeof(t.hash));
	if (r == 0)
		r = col_text(st, 7, t.created_by, sizeof(t.created_by));
	if (r == 0)
		r = col_strdup(st, 2, &t.policies_json);
	if (r < 0)
		return r;
	t.created = sqlite3_column_int64(st, 3);
	t.expires = sqlite3_column_int64(st, 4);
	t.uses_left = sqlite3_column_int64(st, 5);
	t.revoked = sqlite3_column_int64(st, 6) != 0;
	*ret = t;
	return 0;
}

static int token_put(struct be_tx *tx, const struct store_token *t)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_TOKEN_PUT, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, t->accessor);
	bind_blob(&b, 2, t->hash, sizeof(t->hash));
	bind_text(&b, 3, t->policies_json);
	bind_i64(&b, 4, t->created);
	bind_i64(&b, 5, t->expires);
	bind_i64(&b, 6, t->uses_left);
	bind_i64(&b, 7, t->revoked);
	bind_text(&b, 8, t->created_by);
	return step_done(&b);
}

static int token_get(struct be_tx *tx, const char *accessor, struct store_token *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_TOKEN_GET, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, accessor);
	r = step_row(&b);
	return r < 0 ? r : read_token(st, ret);
}

static int token_find(struct be_tx *tx, const uint8_t hash[TOKEN_HASH_BYTES],
                      struct store_token *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_TOKEN_FIND, &st, &b);
	if (r < 0)
		return r;
	bind_blob(&b, 1, hash, TOKEN_HASH_BYTES);
	r = step_row(&b);
	return r < 0 ? r : read_token(st, ret);
}

static int token_update(struct be_tx *tx, const struct store_token *t)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_TOKEN_UPDATE, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, t->accessor);
	bind_i64(&b, 2, t->uses_left);
	bind_i64(&b, 3, t->revoked);
	r = step_done(&b);
	if (r == 0 && sqlite3_changes(tx->c->db) == 0)
		r = STORE_E_NOTFOUND;
	return r;
}

static int token_list(struct be_tx *tx, struct store_token_list **ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_TOKEN_LIST, &st, &b);
	if (r < 0)
		return r;
	struct store_token_list *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	size_t cap = 0;
	while ((r = step_next(st)) == 1) {
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			struct store_token *p = reallocarray(l->items, cap, sizeof(*p));
			if (!p) {
				r = -ENOMEM;
				break;
			}
			l->items = p;
		}
		r = read_token(st, &l->items[l->n]);
		if (r < 0)
			break;
		l->n++;
	}
	if (r < 0) {
		store_token_list_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* ---- policies ---- */

static int policy_put(struct be_tx *tx, const char *name, const char *json)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_POLICY_PUT, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, name);
	bind_text(&b, 2, json);
	return step_done(&b);
}

static int policy_get(struct be_tx *tx, const char *name, char **ret_json)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_POLICY_GET, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, name);
	r = step_row(&b);
	return r < 0 ? r : col_strdup(st, 0, ret_json);
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int policy_list(struct be_tx *tx, char ***ret_names, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_POLICY_LIST, &st, &b);
	if (r < 0)
		return r;
	char **names = NULL;
	size_t n = 0, cap = 0;
	while ((r = step_next(st)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **p = reallocarray(names, cap, sizeof(*p));
			if (!p) {
				r = -ENOMEM;
				break;
			}
			names = p;
		}
		r = col_strdup(st, 0, &names[n]);
		if (r < 0)
			break;
		n++;
	}
	if (r < 0) {
		names_free(names, n);
		return r;
	}
	*ret_names = names;
	*ret_n = n;
	return 0;
}

static int policy_delete(struct be_tx *tx, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_POLICY_DELETE, &st, &b);
	if (r < 0)
		return r;
	bind_text(&b, 1, name);
	r = step_done(&b);
	if (r == 0 && sqlite3_changes(tx->c->db) == 0)
		r = STORE_E_NOTFOUND;
	return r;
}

/* ---- audit ---- */

static int audit_insert(struct be_tx *tx, const struct audit_entry *e, size_t n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_AUDIT_INSERT, &st, &b);
	for (size_t i = 0; r == 0 && i < n; i++) {
		b.rc = SQLITE_OK;
		bind_i64(&b, 1, (int64_t)e[i].seq);
		bind_i64(&b, 2, e[i].time_ms);
		bind_i64(&b, 3, e[i].uid);
		bind_i64(&b, 4, e[i].gid);
		bind_i64(&b, 5, e[i].pid);
		bind_text(&b, 6, e[i].accessor);
		bind_text(&b, 7, e[i].action);
		bind_text(&b, 8, e[i].name);
		bind_text(&b, 9, e[i].result);
		bind_i64(&b, 10, e[i].status);
		bind_blob(&b, 11, e[i].prev_hash, AUDIT_HASH_BYTES);
		bind_blob(&b, 12, e[i].hash, AUDIT_HASH_BYTES);
		r = step_done(&b);
		sqlite3_reset(st);
	}
	return r;
}

static void read_audit(sqlite3_stmt *st, struct audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = col_u64(st, 0);
	e->time_ms = sqlite3_column_int64(st, 1);
	e->uid = sqlite3_column_int64(st, 2);
	e->gid = sqlite3_column_int64(st, 3);
	e->pid = sqlite3_column_int64(st, 4);
	col_text_cut(st, 5, e->accessor, sizeof(e->accessor));
	col_text_cut(st, 6, e->action, sizeof(e->action));
	col_text_cut(st, 7, e->name, sizeof(e->name));
	col_text_cut(st, 8, e->result, sizeof(e->result));
	e->status = (int)sqlite3_column_int64(st, 9);
	col_fixed_lenient(st, 10, e->prev_hash, sizeof(e->prev_hash));
	col_fixed_lenient(st, 11, e->hash, sizeof(e->hash));
}

static int audit_read(struct be_tx *tx, uint64_t since, size_t limit, struct audit_entry **ret,
                      size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct binder b;
	int r = tx_stmt(tx, ST_AUDIT_READ, &st, &b);
	if (r < 0)
		return r;
	bind_i64(&b, 1, since > INT64_MAX ? INT64_MAX : (int64_t)since);
	bind_i64(&b, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	if (b.rc != SQLITE_OK)
		return sq_err(b.rc);
	struct audit_entry *e = NULL;
	size_t n = 0, cap = 0;
	while (n < limit && (r = step_next(st)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct audit_entry *p = reallocarray(e, cap, sizeof(*p));
			if (!p) {
				r = -ENOMEM;
				break;
			}
			e = p;
		}
		read_audit(st, &e[n++]);
	}
	if (r < 0) {
		free(e);
		return r;
	}
	*ret = e;
	*ret_n = n;
	return 0;
}

/* ---- backup, residue ---- */

/* Copies every page in one step, so the copy is one read snapshot taken
 * through a reader: writers go on meanwhile (WAL). */
static int copy_into(struct be *b, sqlite3 *dest)
{
	int idx;
	int r = reader_acquire(b, &idx);
	if (r < 0)
		return r;
	sqlite3_backup *bk = sqlite3_backup_init(dest, "main", b->r[idx].db, "main");
	if (!bk) {
		reader_release(b, idx);
		return sq_err(sqlite3_errcode(dest));
	}
	int rc = sqlite3_backup_step(bk, -1);
	int rc2 = sqlite3_backup_finish(bk);
	reader_release(b, idx);
	if (rc != SQLITE_DONE)
		return sq_err(rc);
	return sq_err(rc2);
}

static int be_backup(struct be *b, const char *dest_path)
{
	if (!dest_path)
		return STORE_E_INVAL;
	int r = create_file(dest_path);
	if (r < 0)
		return r;
	struct conn d = {0};
	r = conn_open(&d, dest_path, false);
	if (r == 0)
		r = copy_into(b, d.db);
	conn_close(&d);
	if (r == 0)
		r = fsutil_fsync_path(dest_path, 0);
	if (r == 0)
		r = fsutil_fsync_parent(dest_path);
	if (r < 0)
		be_remove(dest_path);
	return r;
}

static int be_purge_residue(struct be *b, bool wait)
{
	if (!wait && !wal_in_use(b))
		return 0; /* nothing to cut: no write */
	pthread_mutex_lock(&b->wlock);
	/* Then the old page images (pre-destroy ciphertext included) leave
	 * the files. */
	int rc = ckpt_truncate(b->ckpt, b->w.db, wait);
	pthread_mutex_unlock(&b->wlock);
	return sq_err(rc);
}

const struct store_backend store_backend_sqlite = {
    .name = "sqlite",
    .create = be_create,
    .open = be_open,
    .close = be_close,
    .remove = be_remove,
    .schema_version = be_schema_version,
    .backup = be_backup,
    .purge_residue = be_purge_residue,
    .begin = be_begin,
    .commit = be_commit,
    .abort = be_abort,
    .savepoint = be_savepoint,
    .begin_unsynced = be_begin_unsynced,
    .sync = be_sync,
    .savepoint_end = be_savepoint_end,
    .header_get = header_get,
    .header_put = header_put,
    .key_list = key_list,
    .key_put = key_put,
    .secret_get = secret_get,
    .secret_put = secret_put,
    .secret_list = secret_list,
    .secret_count = secret_count,
    .value_get = value_get,
    .version_get = version_get,
    .version_put = version_put,
    .version_delete = version_delete,
    .version_list = version_list,
    .version_stale = version_stale,
    .token_put = token_put,
    .token_get = token_get,
    .token_find = token_find,
    .token_update = token_update,
    .token_list = token_list,
    .policy_put = policy_put,
    .policy_get = policy_get,
    .policy_list = policy_list,
    .policy_delete = policy_delete,
    .audit_insert = audit_insert,
    .audit_read = audit_read,
};
