/* vaultctl backup / restore. backup streams GET /v1/sys/backup (a consistent
 * SQLite snapshot; values stay sealed) into a 0600 temp file and renames it.
 * restore works offline: it copies a backup to a new store path and proves
 * that the key unseals it before the file takes its final name. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "files.h"
#include "offline.h"
#include "output.h"

enum { OPT_STORE = 1, OPT_KEY_FILE, OPT_PASS_STDIN };

/* Every SQLite database starts with these 16 bytes. */
static const char sqlite_magic[16] = "SQLite format 3";

#define COPY_CHUNK 65536

static bool has_sqlite_magic(int fd)
{
	char head[16];
	return pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	       memcmp(head, sqlite_magic, sizeof(head)) == 0;
}

/* ---- backup ---- */

static const struct cmd_spec backup_spec = {
    .name = "backup",
    .usage = "FILE",
    .summary = "Write a consistent online snapshot of vaultd's store to FILE (mode 0600, "
               "written to a\ntemporary name and renamed when complete). Values stay "
               "encrypted in it; restore it\nwith `vaultctl restore --store PATH FILE` and the "
               "same key file or passphrase.",
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

/* The SQLite files that go with db: a store in use, or one a crash left,
 * has some of them; SQLite would apply a leftover one to a new file there. */
static const char *const SIDECARS[] = {"-wal", "-shm", "-journal"};

/* The first sidecar of db that exists (into p), or NULL. */
static const char *sidecar_present(const char *db, char *p, size_t cap)
{
	struct stat st;
	for (size_t i = 0; i < sizeof(SIDECARS) / sizeof(SIDECARS[0]); i++)
		if ((size_t)snprintf(p, cap, "%s%s", db, SIDECARS[i]) < cap && lstat(p, &st) == 0)
			return p;
	return NULL;
}

/* Whether db's WAL holds data: committed transactions the file alone lacks. */
static bool wal_has_data(const char *db)
{
	char p[CTL_MAX_PATH + 16];
	struct stat st;
	return (size_t)snprintf(p, sizeof(p), "%s-wal", db) < sizeof(p) && stat(p, &st) == 0 &&
	       st.st_size > 0;
}

/* Removes a temp file's sidecars (a failed check opened it as a store). */
static void remove_sidecars(const char *db)
{
	char p[CTL_MAX_PATH + 16];
	for (size_t i = 0; i < sizeof(SIDECARS) / sizeof(SIDECARS[0]); i++)
		if ((size_t)snprintf(p, sizeof(p), "%s%s", db, SIDECARS[i]) < sizeof(p))
			unlink(p);
}

int cmd_backup(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	int rc = cmd_parse(&x, c, &backup_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN)
		goto out;
	const char *file = x.operands[0];
	char side[CTL_MAX_PATH + 16];
	if (sidecar_present(file, side, sizeof(side))) {
		/* The rename would put the backup under a live (or crashed) store's
		 * WAL: replacing a store is never what a backup means. */
		ctl_err("%s exists: %s is a store in use (or one a crash left), not a backup to "
		        "replace; choose another file",
		        side, file);
		rc = CTL_ERROR;
		goto out;
	}
	struct tmpfile t;
	int r = tmpfile_open(&t, file);
	if (r < 0) {
		ctl_err("cannot create a file next to %s: %s", file, strerror(-r));
		rc = CTL_ERROR;
		goto out;
	}
	uint64_t bytes = 0;
	rc = ctl_call_to_fd(&x.c, "/v1/sys/backup", t.fd, CTL_BACKUP_TIMEOUT_MS, &bytes);
	if (rc == CTL_OK && !has_sqlite_magic(t.fd)) {
		ctl_err("vaultd's backup is not a SQLite database; nothing was written");
		rc = CTL_ERROR;
	}
	if (rc != CTL_OK) {
		tmpfile_abort(&t);
		goto out;
	}
	r = tmpfile_commit(&t, false);
	if (r < 0) {
		ctl_err("cannot write %s: %s", file, strerror(-r));
		rc = CTL_ERROR;
		goto out;
	}
	if (x.c.json) {
		json_t *o = json_pack("{s:s, s:I}", "file", file, "bytes", (json_int_t)bytes);
		out_json(o);
		json_decref(o);
	} else {
		printf("backup written to %s (%llu bytes)\n", file, (unsigned long long)bytes);
	}
out:
	cmd_done(&x);
	return rc;
}

/* ---- restore ---- */

static const struct args_opt restore_opts[] = {
    {"store", 0, true, OPT_STORE, "PATH", "the new store file to create (must not exist)"},
    {"key-file", 0, true, OPT_KEY_FILE, "FILE", "the key file of the backed-up store"},
    {"passphrase-stdin", 0, false, OPT_PASS_STDIN, NULL,
     "read the passphrase from stdin instead of the terminal"},
    {0},
};

static const struct cmd_spec restore_spec = {
    .name = "restore",
    .usage = "--store PATH [--key-file FILE | --passphrase-stdin] FILE",
    .summary = "Restore a backup into a new store file, offline (vaultd need not run). The "
               "backup is\ncopied, opened and unsealed with the key file or passphrase before "
               "it gets its\nfinal name, so PATH only appears when the key works. Then run "
               "`vaultd serve --store PATH`.",
    .opts = restore_opts,
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

struct restore_args {
	const char *store;
	struct offline_key key;
};

static int restore_opt(void *st, int id, const char *arg)
{
	struct restore_args *a = st;
	if (id == OPT_STORE)
		a->store = arg;
	else if (id == OPT_KEY_FILE)
		a->key.key_file = arg;
	else
		a->key.pass_stdin = true;
	return 0;
}

/* Copies the backup into the temp file. 0 or -errno (-EINVAL: not SQLite;
 * -EBUSY: from has a WAL with data, which a copy of the file alone loses). */
static int copy_backup(const char *from, int to)
{
	if (wal_has_data(from))
		return -EBUSY;
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in < 0)
		return -errno;
	int r = has_sqlite_magic(in) ? 0 : -EINVAL;
	char buf[COPY_CHUNK];
	while (r == 0) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		r = out_write_all(to, buf, (size_t)n);
	}
	close(in);
	return r;
}

/* SQLite removes "-wal" and "-shm" when the last connection closes; a WAL
 * still holding data would be lost by the rename, so refuse then. */
static int settle_sidecars(const char *db)
{
	if (wal_has_data(db))
		return -EBUSY;
	remove_sidecars(db);
	return 0;
}

/* Opens the copy, unseals it and reads what the report shows. */
static int check_copy(const char *tmp, const struct restore_args *a, uint64_t *ret_count,
                      uint64_t *ret_checked, bool *ret_audit_ok)
{
	struct store *s = NULL;
	int rc = offline_open(tmp, a->store, &a->key, &s);
	if (rc != CTL_OK)
		return rc;
	uint64_t count = 0, checked = 0, bad = 0;
	int r = store_count(s, &count);
	int v = store_audit_verify(s, &checked, &bad);
	store_close(s);
	if (r < 0) {
		ctl_err("the backup is unreadable: %s", store_strerror(r));
		return CTL_ERROR;
	}
	if (settle_sidecars(tmp) < 0) {
		ctl_err("SQLite left a write-ahead log behind; nothing was restored");
		return CTL_ERROR;
	}
	*ret_count = count;
	*ret_checked = checked;
	*ret_audit_ok = v == 0;
	return CTL_OK;
}

static void restore_report(const struct ctl *c, const char *file, const char *store, uint64_t count,
                           uint64_t checked, bool audit_ok)
{
	if (c->json) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:b, s:I}", "backup", file, "store", store,
		                      "secrets", (json_int_t)count, "audit_ok", audit_ok,
		                      "audit_checked", (json_int_t)checked);
		out_json(o);
		json_decref(o);
		return;
	}
	printf("restored %s into %s: %llu secrets; the key unseals it\n", file, store,
	       (unsigned long long)count);
	if (audit_ok)
		printf("audit log intact (%llu entries)\n", (unsigned long long)checked);
	else
		fprintf(stderr,
		        "vaultctl: warning: the backup's audit log does not verify; run "
		        "`vaultctl audit verify --store %s` for the first bad entry\n",
		        store);
	printf("start it with: vaultd serve --store %s ...\n", store);
}

int cmd_restore(const struct ctl *c, int argc, char **argv)
{
	struct restore_args a = {0};
	struct ctl_cmd x;
	int rc = cmd_parse(&x, c, &restore_spec, argc, argv, restore_opt, &a);
	if (rc != CMD_RUN)
		goto out;
	const char *file = x.operands[0];
	if (!a.store) {
		rc = cmd_usage(&restore_spec, "--store PATH is required (the new store file)");
		goto out;
	}
	struct stat st;
	char side[CTL_MAX_PATH + 16];
	if (lstat(a.store, &st) == 0) {
		ctl_err("%s already exists: restore into a new path (vaultctl never overwrites a "
		        "store)",
		        a.store);
		rc = CTL_ERROR;
		goto out;
	}
	if (sidecar_present(a.store, side, sizeof(side))) {
		ctl_err("%s is left from an earlier store: SQLite would apply it to the restored "
		        "file; move it aside with that store",
		        side);
		rc = CTL_ERROR;
		goto out;
	}
	struct tmpfile t;
	int r = tmpfile_open(&t, a.store);
	if (r < 0) {
		ctl_err("cannot create a file next to %s: %s", a.store, strerror(-r));
		rc = CTL_ERROR;
		goto out;
	}
	r = copy_backup(file, t.fd);
	if (r < 0) {
		if (r == -EINVAL)
			ctl_err("%s is not a vaultd backup (not a SQLite database)", file);
		else if (r == -EBUSY)
			ctl_err("%s-wal holds data: %s is a store in use (or one a crash left), and "
			        "a copy of it alone would lose that; stop its vaultd, or make a backup "
			        "with `vaultctl backup`",
			        file, file);
		else
			ctl_err("cannot copy %s to %s: %s", file, a.store, strerror(-r));
		tmpfile_abort(&t);
		rc = r == -ENOENT ? CTL_NOT_FOUND : CTL_ERROR;
		goto out;
	}
	uint64_t count = 0, checked = 0;
	bool audit_ok = false;
	rc = check_copy(t.tmp, &a, &count, &checked, &audit_ok);
	if (rc != CTL_OK) {
		remove_sidecars(t.tmp);
		tmpfile_abort(&t);
		goto out;
	}
	r = tmpfile_commit(&t, true);
	if (r < 0) {
		ctl_err("cannot create %s: %s", a.store, strerror(-r));
		rc = CTL_ERROR;
		goto out;
	}
	restore_report(&x.c, file, a.store, count, checked, audit_ok);
out:
	cmd_done(&x);
	return rc;
}
