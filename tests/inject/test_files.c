/* The secrets directory and its files: tmpfs/ramfs only (unless allowed),
 * not writable by others, no symlinked directory; atomic writes with the
 * given mode and owner; a planted symlink is refused and never followed;
 * outputs (secret, .previous, template) and the command's environment. */
#include <sys/stat.h>

#include "check_support.h"
#include "config.h"
#include "env.h"
#include "inject_test.h"
#include "outputs.h"
#include "tmpfs_files.h"

static char SHM[64]; /* a tmpfs directory */
static char DISK[64];

static void setup(void)
{
	make_dir_in("/dev/shm", SHM, sizeof(SHM));
	make_dir_in("/tmp", DISK, sizeof(DISK));
}

static void teardown(void)
{
	remove_dir(SHM);
	remove_dir(DISK);
}

static int open_dir(const char *path, bool allow_disk, char *err, size_t cap)
{
	int fd = -1;
	int r = files_open_dir(path, allow_disk, NULL, 0, &fd, err, cap);
	if (r == 0)
		close(fd);
	return r;
}

START_TEST(test_tmpfs_dir_is_accepted)
{
	char err[512];
	ck_assert_int_eq(open_dir(SHM, false, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_disk_dir_is_refused_unless_allowed)
{
	char err[512] = "";
	ck_assert_int_eq(open_dir(DISK, false, err, sizeof(err)), -EXDEV);
	ck_assert_msg(strstr(err, "not a tmpfs") && strstr(err, "--allow-disk"), "err: %s", err);
	ck_assert_int_eq(open_dir(DISK, true, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_dir_writable_by_others_is_refused)
{
	char err[512] = "";
	ck_assert_int_eq(chmod(SHM, 0777), 0);
	ck_assert_int_eq(open_dir(SHM, false, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "writable by others"));
	ck_assert_int_eq(chmod(SHM, 01777), 0); /* sticky does not make it safe */
	ck_assert_int_eq(open_dir(SHM, false, err, sizeof(err)), -EPERM);
	ck_assert_int_eq(chmod(SHM, 0775), 0);
	ck_assert_int_eq(open_dir(SHM, false, err, sizeof(err)), 0);
	/* ... unless the command is in that group (--user 1001:0). */
	struct stat st;
	ck_assert_int_eq(stat(SHM, &st), 0);
	gid_t cmd[2] = {1001, st.st_gid};
	int fd = -1;
	ck_assert_int_eq(files_open_dir(SHM, false, cmd, 2, &fd, err, sizeof(err)), -EPERM);
	ck_assert_msg(strstr(err, "which the --user is in"), "err: %s", err);
	ck_assert_int_eq(files_open_dir(SHM, false, cmd, 1, &fd, err, sizeof(err)), 0);
	close(fd);
	/* Group-writable is fine for root's group or inject's own, not another. */
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(SHM, (uid_t)-1, 4242), 0);
		ck_assert_int_eq(open_dir(SHM, false, err, sizeof(err)), -EPERM);
		ck_assert_msg(strstr(err, "writable by group 4242"), "err: %s", err);
		ck_assert_int_eq(chmod(SHM, 0755), 0);
		ck_assert_int_eq(open_dir(SHM, false, err, sizeof(err)), 0);
		ck_assert_int_eq(chown(SHM, (uid_t)-1, getegid()), 0);
	} else {
		ck_assert_msg(!getenv("CI"), "CI runs the tests as root");
		fprintf(stderr, "skipped the group-writable check: chown to another group needs root\n");
	}
	ck_assert_int_eq(chmod(SHM, 0755), 0);
}
END_TEST

START_TEST(test_symlinked_or_missing_or_file_dir_is_refused)
{
	char link[128], file[128], missing[128], err[512];
	snprintf(link, sizeof(link), "%s/link", DISK);
	snprintf(file, sizeof(file), "%s/file", SHM);
	snprintf(missing, sizeof(missing), "%s/missing", SHM);
	ck_assert_int_eq(symlink(SHM, link), 0);
	write_text(file, "x");
	ck_assert_int_eq(open_dir(link, true, err, sizeof(err)), -ELOOP);
	/* A trailing "/" or "/." makes the kernel follow the link: still refused. */
	char slash[160], dot[160];
	snprintf(slash, sizeof(slash), "%s//", link);
	snprintf(dot, sizeof(dot), "%s/./", link);
	ck_assert_int_eq(open_dir(slash, true, err, sizeof(err)), -ELOOP);
	ck_assert_int_eq(open_dir(dot, true, err, sizeof(err)), -ELOOP);
	ck_assert_msg(strstr(err, "is a symlink"), "%s", err);
	snprintf(slash, sizeof(slash), "%s/", SHM);
	snprintf(dot, sizeof(dot), "%s/.", SHM);
	ck_assert_int_eq(open_dir(slash, false, err, sizeof(err)), 0);
	ck_assert_int_eq(open_dir(dot, false, err, sizeof(err)), 0);
	ck_assert_int_eq(open_dir(file, true, err, sizeof(err)), -ENOTDIR);
	ck_assert_int_eq(open_dir(missing, true, err, sizeof(err)), -ENOENT);
}
END_TEST

static int dir_fd(void)
{
	int fd = -1;
	char err[256];
	ck_assert_int_eq(files_open_dir(SHM, false, NULL, 0, &fd, err, sizeof(err)), 0);
	return fd;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || strncmp(e->d_name, ".inject-", 8) == 0;
	closedir(d);
	return n;
}

START_TEST(test_write_sets_content_mode_and_owner_and_leaves_no_temp)
{
	int fd = dir_fd();
	ck_assert_int_eq(files_write(fd, NULL, "db", "hunter2", 7, 0440, geteuid(), getegid()), 0);
	char path[128], buf[64];
	snprintf(path, sizeof(path), "%s/db", SHM);
	ck_assert_int_eq(read_text(path, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "hunter2");
	struct stat st;
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0440);
	ck_assert(S_ISREG(st.st_mode));
	/* Replacing keeps it atomic: still one entry, new content. */
	ck_assert_int_eq(files_write(fd, NULL, "db", "new", 3, 0400, geteuid(), getegid()), 0);
	ck_assert_int_eq(read_text(path, buf, sizeof(buf)), 3);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0400);
	ck_assert_uint_eq(count_entries(SHM), 1);
	if (geteuid() == 0) {
		ck_assert_int_eq(files_write(fd, NULL, "owned", "x", 1, 0400, 1000, 1001), 0);
		snprintf(path, sizeof(path), "%s/owned", SHM);
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert_uint_eq(st.st_uid, 1000);
		ck_assert_uint_eq(st.st_gid, 1001);
	}
	close(fd);
}
END_TEST

START_TEST(test_planted_symlink_is_refused_and_not_followed)
{
	char victim[128], link[128], buf[64];
	snprintf(victim, sizeof(victim), "%s/victim", DISK);
	snprintf(link, sizeof(link), "%s/db", SHM);
	write_text(victim, "original");
	ck_assert_int_eq(symlink(victim, link), 0);
	int fd = dir_fd();
	ck_assert_int_eq(files_write(fd, NULL, "db", "evil", 4, 0400, geteuid(), getegid()), -ELOOP);
	ck_assert_int_eq(read_text(victim, buf, sizeof(buf)), 8);
	ck_assert_str_eq(buf, "original");
	struct stat st;
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));           /* left alone, not replaced */
	ck_assert_uint_eq(count_entries(SHM), 1); /* and no temp file left */
	/* A dangling link and a directory are refused as well. */
	char dangling[128], sub[128];
	snprintf(dangling, sizeof(dangling), "%s/dang", SHM);
	snprintf(sub, sizeof(sub), "%s/sub", SHM);
	ck_assert_int_eq(symlink("/nonexistent/x", dangling), 0);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(files_write(fd, NULL, "dang", "x", 1, 0400, geteuid(), getegid()), -ELOOP);
	ck_assert_int_eq(files_write(fd, NULL, "sub", "x", 1, 0400, geteuid(), getegid()), -ELOOP);
	ck_assert_int_eq(access("/nonexistent/x", F_OK), -1);
	close(fd);
}
END_TEST

START_TEST(test_remove_takes_files_only)
{
	int fd = dir_fd();
	char link[128];
	snprintf(link, sizeof(link), "%s/l", SHM);
	ck_assert_int_eq(symlink("/etc/passwd", link), 0);
	ck_assert_int_eq(files_write(fd, NULL, "f", "x", 1, 0400, geteuid(), getegid()), 0);
	ck_assert_int_eq(files_remove(fd, "f"), 0);
	ck_assert_int_eq(files_remove(fd, "f"), 0); /* already gone: fine */
	ck_assert_int_eq(files_remove(fd, "l"), -ELOOP);
	struct stat st;
	ck_assert_int_eq(lstat(link, &st), 0);
	close(fd);
}
END_TEST

/* ---- outputs and environment ---- */

static struct inject_config C;

static int parse(char *const *env, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	char err[512];
	int r = config_parse(&C, argc, argv, env, err, sizeof(err));
	ck_assert_msg(r == 0, "config: %s", err);
	return r;
}

static struct secbuf *view(struct bundle *b, size_t *off, struct secbuf *v, const char *s)
{
	size_t n = strlen(s);
	unsigned char *p = bundle_take(b, off, n);
	ck_assert_ptr_nonnull(p);
	memcpy(p, s, n);
	v->data = p;
	v->len = n;
	return v;
}

static struct bundle *make_bundle(uint64_t rev, size_t n, const char *const *names,
                                  const char *const *values, const uint64_t *versions,
                                  const char *const *prev)
{
	size_t total = 0, off = 0;
	for (size_t i = 0; i < n; i++)
		total += strlen(values[i]) + (prev && prev[i] ? strlen(prev[i]) : 0);
	struct bundle *b = bundle_new(n, total);
	ck_assert_ptr_nonnull(b);
	b->revision = rev;
	for (size_t i = 0; i < n; i++) {
		struct bundle_entry *e = &b->entries[i];
		snprintf(e->name, sizeof(e->name), "%s", names[i]);
		e->value = view(b, &off, &e->view[0], values[i]);
		e->version = versions[i];
		if (prev && prev[i]) {
			e->previous = view(b, &off, &e->view[1], prev[i]);
			e->previous_version = versions[i] - 1;
		}
	}
	return b;
}

/* Outputs for --secret a:a.txt:0440 --secret b --template T:conf (T says
 * pass={{ secret "a" }}) in SHM, with --previous or without. */
static struct outputs outputs_fixture(bool previous, struct template **t)
{
	static char tpl[128], argdir[160], argtpl[200]; /* the parsed config points here */
	snprintf(tpl, sizeof(tpl), "%s/t.tmpl", DISK);
	write_text(tpl, "pass={{ secret \"a\" }}\n");
	snprintf(argdir, sizeof(argdir), "%s", SHM);
	snprintf(argtpl, sizeof(argtpl), "%s:conf", tpl);
	char *argv[] = {"inject",   "--dir", argdir,       "--secret", "a:a.txt:0440",
	                "--secret", "b",     "--template", argtpl,     "true",
	                NULL,       NULL};
	if (previous) { /* the flags may come in any order */
		argv[10] = "true";
		argv[9] = "--previous";
	}
	parse((char *const[]){NULL}, argv);
	char err[512];
	int tfd = open(tpl, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ck_assert_int_ge(tfd, 0);
	ck_assert_int_eq(template_read(tfd, t, err, sizeof(err)), 0);
	close(tfd);
	struct outputs o = {.cfg = &C, .templates = t, .uid = geteuid(), .gid = getegid()};
	ck_assert_int_eq(files_open_dir(SHM, false, NULL, 0, &o.dirfd, err, sizeof(err)), 0);
	return o;
}

START_TEST(test_outputs_write_secret_previous_and_template_then_only_changes)
{
	struct template *t = NULL;
	struct outputs o = outputs_fixture(true, &t);
	char err[512];

	const char *names[] = {"a", "b"};
	struct bundle *b1 =
	    make_bundle(1, 2, names, (const char *[]){"one", "bee"}, (uint64_t[]){1, 1}, NULL);
	ck_assert_int_eq(outputs_write(&o, b1, NULL, NULL, err, sizeof(err)), 0);
	char path[200], buf[64];
	snprintf(path, sizeof(path), "%s/a.txt", SHM);
	ck_assert_int_eq(read_text(path, buf, sizeof(buf)), 3);
	snprintf(path, sizeof(path), "%s/conf", SHM);
	read_text(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, "pass=one\n");
	snprintf(path, sizeof(path), "%s/a.txt.previous", SHM);
	ck_assert_int_eq(access(path, F_OK), -1); /* no previous version yet */

	/* a rotates: a.txt, a.txt.previous and conf change; b is untouched. */
	char bpath[200];
	snprintf(bpath, sizeof(bpath), "%s/b", SHM);
	struct stat before, after;
	ck_assert_int_eq(stat(bpath, &before), 0);
	struct bundle *b2 = make_bundle(2, 2, names, (const char *[]){"two", "bee"},
	                                (uint64_t[]){2, 1}, (const char *[]){"one", NULL});
	ck_assert_int_eq(outputs_write(&o, b2, b1, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(read_text(path, buf, sizeof(buf)), 3);
	ck_assert_str_eq(buf, "one");
	struct stat pst;
	ck_assert_int_eq(stat(path, &pst), 0);
	ck_assert_uint_eq(pst.st_mode & 0777, 0440);
	snprintf(path, sizeof(path), "%s/conf", SHM);
	read_text(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, "pass=two\n");
	ck_assert_int_eq(stat(bpath, &after), 0);
	ck_assert_uint_eq(before.st_ino, after.st_ino);

	outputs_remove_all(&o);
	ck_assert_uint_eq(count_entries(SHM), 0);
	bundle_free(b1);
	bundle_free(b2);
	template_free(t);
	close(o.dirfd);
	config_free(&C);
}
END_TEST

/* The temp files made while vaultd answers: one per file and template,
 * empty and owner-only; the first write fills exactly those inodes, and
 * nothing is left over. Without a write (a failed fetch) they all go. */
START_TEST(test_outputs_ahead_files_are_filled_or_removed)
{
	struct template *t = NULL;
	struct outputs o = outputs_fixture(false, &t);
	char err[512];

	struct outputs_ahead a = {0};
	outputs_prepare(&o, &a);
	ck_assert_uint_eq(a.n, 3);
	ck_assert_uint_eq(count_entries(SHM), 3);
	ino_t ino[3];
	for (size_t i = 0; i < a.n; i++) {
		struct stat st;
		ck_assert_int_ge(a.temps[i].fd, 0);
		ck_assert_int_eq(fstat(a.temps[i].fd, &st), 0);
		ck_assert_uint_eq(st.st_mode & 07777, 0600);
		ck_assert_int_eq(st.st_size, 0);
		ck_assert_int_eq(strncmp(a.temps[i].name, ".inject-", 8), 0);
		ino[i] = st.st_ino;
	}
	struct files_temp *first = a.temps;
	outputs_prepare(&o, &a); /* a retried request makes no more */
	ck_assert_ptr_eq(a.temps, first);
	ck_assert_uint_eq(count_entries(SHM), 3);

	const char *names[] = {"a", "b"};
	struct bundle *b1 =
	    make_bundle(1, 2, names, (const char *[]){"one", "bee"}, (uint64_t[]){1, 1}, NULL);
	ck_assert_int_eq(outputs_write(&o, b1, NULL, &a, err, sizeof(err)), 0);
	outputs_ahead_discard(&o, &a);
	ck_assert_ptr_null(a.temps);
	ck_assert_uint_eq(count_entries(SHM), 3); /* a.txt, b, conf: no temp left */
	char path[200], buf[64];
	struct stat st;
	snprintf(path, sizeof(path), "%s/a.txt", SHM);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_ino, ino[0]);
	ck_assert_uint_eq(st.st_mode & 07777, 0440);
	ck_assert_int_eq(read_text(path, buf, sizeof(buf)), 3);
	ck_assert_str_eq(buf, "one");
	snprintf(path, sizeof(path), "%s/conf", SHM);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_ino, ino[2]);
	read_text(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, "pass=one\n");
	outputs_remove_all(&o);
	ck_assert_uint_eq(count_entries(SHM), 0);

	/* A fetch that failed: nothing written, every temp file removed. */
	outputs_prepare(&o, &a);
	ck_assert_uint_eq(count_entries(SHM), 3);
	outputs_ahead_discard(&o, &a);
	ck_assert_uint_eq(count_entries(SHM), 0);

	bundle_free(b1);
	template_free(t);
	close(o.dirfd);
	config_free(&C);
}
END_TEST

static const char *env_get(char **vec, const char *name)
{
	size_t n = strlen(name);
	const char *found = NULL;
	for (; *vec; vec++)
		if (strncmp(*vec, name, n) == 0 && (*vec)[n] == '=') {
			ck_assert_msg(found == NULL, "%s set twice", name);
			found = *vec + n + 1;
		}
	return found;
}

START_TEST(test_env_scrubs_token_sets_file_vars_values_and_home)
{
	char *argv[] = {"inject",
	                "--dir",
	                "/run/secrets",
	                "--secret",
	                "pg:pw.txt",
	                "--file-env",
	                "POSTGRES_PASSWORD=pg",
	                "--env",
	                "API_KEY=api",
	                "true",
	                NULL};
	char *const base[] = {"PATH=/bin",
	                      "INJECT_TOKEN=vd_secret",
	                      "INJECT_TOKEN_FILE=/run/vault-token",
	                      "POSTGRES_PASSWORD_FILE=/old",
	                      "API_KEY=old",
	                      "HOME=/root",
	                      NULL};
	parse(base, argv);
	struct bundle *b =
	    make_bundle(1, 2, (const char *[]){"pg", "api"}, (const char *[]){"pgval", "apival"},
	                (uint64_t[]){1, 1}, NULL);
	struct creds cr = {.drop = true, .uid = 1000, .gid = 1000};
	snprintf(cr.home, sizeof(cr.home), "/home/app");
	struct child_env e;
	ck_assert_int_eq(env_build(base, &C, &cr, b, &e), 0);
	ck_assert_ptr_null(env_get(e.vec, "INJECT_TOKEN"));
	ck_assert_ptr_null(env_get(e.vec, "INJECT_TOKEN_FILE")); /* nor where it is */
	ck_assert_str_eq(env_get(e.vec, "PATH"), "/bin");
	ck_assert_str_eq(env_get(e.vec, "POSTGRES_PASSWORD_FILE"), "/run/secrets/pw.txt");
	ck_assert_str_eq(env_get(e.vec, "API_KEY"), "apival");
	ck_assert_str_eq(env_get(e.vec, "HOME"), "/home/app");
	ck_assert_ptr_null(env_get(e.vec, "POSTGRES_PASSWORD"));

	struct child_env e2;
	ck_assert_int_eq(env_with(&e, "INJECT_CHANGED", "pg,api", &e2), 0);
	ck_assert_str_eq(env_get(e2.vec, "INJECT_CHANGED"), "pg,api");
	ck_assert_str_eq(env_get(e2.vec, "PATH"), "/bin");
	env_free(&e2);
	env_free(&e);

	/* Without --user, HOME is inherited. */
	struct creds self = {.drop = false};
	ck_assert_int_eq(env_build(base, &C, &self, b, &e), 0);
	ck_assert_str_eq(env_get(e.vec, "HOME"), "/root");
	env_free(&e);
	bundle_free(b);
	config_free(&C);
}
END_TEST

START_TEST(test_env_value_with_nul_is_refused)
{
	char *argv[] = {"inject", "--env", "K=k", "true", NULL};
	parse((char *const[]){NULL}, argv);
	struct bundle *b = make_bundle(1, 1, (const char *[]){"k"}, (const char *[]){"abc"},
	                               (uint64_t[]){1}, NULL);
	b->arena->data[1] = '\0'; /* the value is now "a\0c" */
	struct creds self = {.drop = false};
	struct child_env e;
	ck_assert_int_eq(env_build((char *const[]){NULL}, &C, &self, b, &e), -EINVAL);
	bundle_free(b);
	config_free(&C);
}
END_TEST

static Suite *files_suite(void)
{
	Suite *s = suite_create("inject-files");
	TCase *t = tcase_create("files");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_tmpfs_dir_is_accepted);
	tcase_add_test(t, test_disk_dir_is_refused_unless_allowed);
	tcase_add_test(t, test_dir_writable_by_others_is_refused);
	tcase_add_test(t, test_symlinked_or_missing_or_file_dir_is_refused);
	tcase_add_test(t, test_write_sets_content_mode_and_owner_and_leaves_no_temp);
	tcase_add_test(t, test_planted_symlink_is_refused_and_not_followed);
	tcase_add_test(t, test_remove_takes_files_only);
	tcase_add_test(t, test_outputs_write_secret_previous_and_template_then_only_changes);
	tcase_add_test(t, test_outputs_ahead_files_are_filled_or_removed);
	tcase_add_test(t, test_env_scrubs_token_sets_file_vars_values_and_home);
	tcase_add_test(t, test_env_value_with_nul_is_refused);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return check_support_run(files_suite());
}
