/* /etc/passwd and /etc/group parsed without NSS, and --user resolved from
 * them: names and numbers, explicit groups, supplementary groups, a numeric
 * uid without an entry (gid = uid, never 0), unknown users and groups. The
 * privilege drop itself runs in a forked child when the suite runs as root. */
#include <grp.h>
#include <sys/wait.h>

#include "check_support.h"
#include "inject_test.h"
#include "passwd.h"
#include "privdrop.h"

static char DIR_[64], PW[128], GR[128];

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/sh\n"
                                  "# a comment line\n"
                                  "\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                  "broken line without colons\n"
                                  "badnum:x:12a:1::/:/bin/sh\n"
                                  "short:x:5\n"
                                  "+nisuser::::::\n"
                                  "app:x:1000:1000:App User,,,:/home/app:/bin/sh\n"
                                  "app:x:1999:1999:shadowed duplicate:/nope:/bin/sh\n"
                                  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                                  "nohome:x:1001:1001:::/bin/sh\n"
                                  "last:x:1002:1002::/home/last:/bin/sh"; /* no final newline */

static const char group_text[] = "root:x:0:\n"
                                 "audio:x:29:app,other\n"
                                 "app:x:1000:\n"
                                 "staff:x:50:other,app\n"
                                 "bad:x:zz:app\n"
                                 "nogroup:x:65534:\n"
                                 "lonely:x:2000:\n"
                                 "appish:x:3000:apps,xapp\n";

static void setup(void)
{
	make_dir_in("/tmp", DIR_, sizeof(DIR_));
	snprintf(PW, sizeof(PW), "%s/passwd", DIR_);
	snprintf(GR, sizeof(GR), "%s/group", DIR_);
	write_text(PW, passwd_text);
	write_text(GR, group_text);
}

static void teardown(void)
{
	remove_dir(DIR_);
}

START_TEST(test_passwd_line_fields)
{
	char line[] = "app:x:1000:1001:App User:/home/app:/bin/sh";
	struct pw_entry e;
	ck_assert_int_eq(passwd_parse_line(line, &e), 0);
	ck_assert_str_eq(e.name, "app");
	ck_assert_uint_eq(e.uid, 1000);
	ck_assert_uint_eq(e.gid, 1001);
	ck_assert_str_eq(e.home, "/home/app");
}
END_TEST

static const char *const bad_passwd_lines[] = {"",
                                               "# comment",
                                               "+nis::::::",
                                               "-nis::::::",
                                               "a:x:1:1:g:/h",
                                               "a:x:1:1:g:/h:/s:extra",
                                               ":x:1:1:g:/h:/s",
                                               "a:x::1:g:/h:/s",
                                               "a:x:1:-1:g:/h:/s",
                                               "a:x:4294967295:1:g:/h:/s",
                                               "a:x:99999999999:1:g:/h:/s",
                                               "a:x: 1:1:g:/h:/s"};

START_TEST(test_malformed_passwd_line_is_refused)
{
	char line[128];
	snprintf(line, sizeof(line), "%s", bad_passwd_lines[_i]);
	struct pw_entry e;
	ck_assert_msg(passwd_parse_line(line, &e) == -EINVAL, "\"%s\" accepted",
	              bad_passwd_lines[_i]);
}
END_TEST

START_TEST(test_group_line_fields)
{
	char line[] = "audio:x:29:app,other";
	struct gr_entry e;
	char *members = NULL;
	ck_assert_int_eq(group_parse_line(line, &e, &members), 0);
	ck_assert_str_eq(e.name, "audio");
	ck_assert_uint_eq(e.gid, 29);
	ck_assert_str_eq(members, "app,other");
	char bad[] = "audio:x:29";
	ck_assert_int_eq(group_parse_line(bad, &e, &members), -EINVAL);
}
END_TEST

START_TEST(test_lookup_by_name_and_uid_skips_bad_lines)
{
	struct pw_entry e;
	ck_assert_int_eq(passwd_lookup(PW, "app", 0, &e), 0);
	ck_assert_uint_eq(e.uid, 1000);
	ck_assert_str_eq(e.home, "/home/app"); /* the first entry wins */
	ck_assert_int_eq(passwd_lookup(PW, NULL, 65534, &e), 0);
	ck_assert_str_eq(e.name, "nobody");
	ck_assert_int_eq(passwd_lookup(PW, "last", 0, &e), 0);
	ck_assert_uint_eq(e.uid, 1002);
	ck_assert_int_eq(passwd_lookup(PW, "badnum", 0, &e), -ENOENT);
	ck_assert_int_eq(passwd_lookup(PW, "+nisuser", 0, &e), -ENOENT);
	ck_assert_int_eq(passwd_lookup(PW, "ghost", 0, &e), -ENOENT);
	ck_assert_int_eq(passwd_lookup(PW, NULL, 4242, &e), -ENOENT);
	ck_assert_int_eq(passwd_lookup("/nonexistent/passwd", "root", 0, &e), -ENOENT);
}
END_TEST

START_TEST(test_group_lookup_and_membership)
{
	struct gr_entry g;
	ck_assert_int_eq(group_lookup(GR, "nogroup", 0, &g), 0);
	ck_assert_uint_eq(g.gid, 65534);
	ck_assert_int_eq(group_lookup(GR, NULL, 50, &g), 0);
	ck_assert_str_eq(g.name, "staff");
	ck_assert_int_eq(group_lookup(GR, "bad", 0, &g), -ENOENT);
	gid_t gids[8];
	size_t n = 0;
	ck_assert_int_eq(group_list_for_user(GR, "app", 1000, gids, 8, &n), 0);
	/* primary first; "apps" and "xapp" are other users, not app */
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(gids[0], 1000);
	ck_assert_uint_eq(gids[1], 29);
	ck_assert_uint_eq(gids[2], 50);
	ck_assert_int_eq(group_list_for_user(GR, "app", 1000, gids, 2, &n), -E2BIG);
	ck_assert_int_eq(group_list_for_user("/nonexistent", "app", 7, gids, 8, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(gids[0], 7);
}
END_TEST

/* Up to PASSWD_MAX_GROUPS groups resolve; one more is -E2BIG with a message
 * naming the limit (inject: exit 67, not an internal error). */
START_TEST(test_a_user_in_too_many_groups_is_refused_by_name)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/group.many", DIR_);
	for (int total = PASSWD_MAX_GROUPS; total <= PASSWD_MAX_GROUPS + 1; total++) {
		FILE *f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		for (int i = 1; i < total; i++) /* + the primary group */
			fprintf(f, "g%d:x:%d:app\n", i, 5000 + i);
		fclose(f);
		struct creds c;
		char err[256] = "";
		int r = privdrop_resolve("app", PW, path, &c, err, sizeof(err));
		if (total == PASSWD_MAX_GROUPS) {
			ck_assert_msg(r == 0, "%d groups: %s", total, err);
			ck_assert_uint_eq(c.n_groups, PASSWD_MAX_GROUPS);
		} else {
			ck_assert_int_eq(r, -E2BIG);
			ck_assert_msg(strstr(err, "member of more than"), "got: %s", err);
		}
	}
	unlink(path);
}
END_TEST

START_TEST(test_overlong_line_is_skipped_not_split)
{
	size_t big = PASSWD_MAX_LINE + 100;
	char *text = malloc(big + 200);
	ck_assert_ptr_nonnull(text);
	/* A long gecos that hides a fake entry at a buffer boundary. */
	size_t off = (size_t)snprintf(text, big + 200, "long:x:7:7:");
	memset(text + off, 'g', big);
	off += big;
	off += (size_t)snprintf(text + off, big + 200 - off, ":/h:/s\nafter:x:8:8::/a:/s\n");
	int fd = open(PW, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_int_eq(write(fd, text, off), (ssize_t)off);
	close(fd);
	free(text);
	struct pw_entry e;
	ck_assert_int_eq(passwd_lookup(PW, "long", 0, &e), -ENOENT);
	ck_assert_int_eq(passwd_lookup(PW, "after", 0, &e), 0);
	ck_assert_uint_eq(e.uid, 8);
}
END_TEST

START_TEST(test_parse_id)
{
	unsigned v = 9;
	ck_assert_int_eq(passwd_parse_id("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(passwd_parse_id("4294967294", &v), 0);
	ck_assert_uint_eq(v, 4294967294u);
	ck_assert_int_eq(passwd_parse_id("4294967295", &v), -EINVAL);
	ck_assert_int_eq(passwd_parse_id("", &v), -EINVAL);
	ck_assert_int_eq(passwd_parse_id("+1", &v), -EINVAL);
	ck_assert_int_eq(passwd_parse_id("1 ", &v), -EINVAL);
}
END_TEST

/* ---- --user resolution ---- */

static struct creds resolve_ok(const char *spec)
{
	struct creds c;
	char err[256];
	int r = privdrop_resolve(spec, PW, GR, &c, err, sizeof(err));
	ck_assert_msg(r == 0, "%s: %d %s", spec, r, err);
	ck_assert(c.drop);
	return c;
}

START_TEST(test_user_name_takes_primary_and_member_groups_and_home)
{
	struct creds c = resolve_ok("app");
	ck_assert_uint_eq(c.uid, 1000);
	ck_assert_uint_eq(c.gid, 1000);
	ck_assert_uint_eq(c.n_groups, 3);
	ck_assert_str_eq(c.home, "/home/app");
	ck_assert_str_eq(c.user, "app");
}
END_TEST

START_TEST(test_numeric_uid_with_entry_is_that_user)
{
	struct creds c = resolve_ok("1000");
	ck_assert_uint_eq(c.gid, 1000);
	ck_assert_uint_eq(c.n_groups, 3);
	ck_assert_str_eq(c.home, "/home/app");
}
END_TEST

START_TEST(test_numeric_uid_without_entry_never_keeps_gid_0)
{
	struct creds c = resolve_ok("4242");
	ck_assert_uint_eq(c.uid, 4242);
	ck_assert_uint_eq(c.gid, 4242);
	ck_assert_uint_eq(c.n_groups, 1);
	ck_assert_uint_eq(c.groups[0], 4242);
	ck_assert_str_eq(c.home, "/");
	ck_assert_str_eq(c.user, "");
}
END_TEST

START_TEST(test_explicit_group_is_the_only_group)
{
	struct creds c = resolve_ok("app:staff");
	ck_assert_uint_eq(c.uid, 1000);
	ck_assert_uint_eq(c.gid, 50);
	ck_assert_uint_eq(c.n_groups, 1);
	ck_assert_uint_eq(c.groups[0], 50);
	c = resolve_ok("nobody:nogroup");
	ck_assert_uint_eq(c.uid, 65534);
	ck_assert_uint_eq(c.gid, 65534);
	c = resolve_ok("1000:1000");
	ck_assert_uint_eq(c.n_groups, 1);
	c = resolve_ok("4242:777");
	ck_assert_uint_eq(c.gid, 777);
}
END_TEST

START_TEST(test_empty_home_becomes_root_dir)
{
	struct creds c = resolve_ok("nohome");
	ck_assert_str_eq(c.home, "/");
}
END_TEST

START_TEST(test_unknown_user_or_group_is_enoent_and_bad_spec_einval)
{
	struct creds c;
	memset(&c, 0x77, sizeof(c));
	struct creds before = c;
	char err[256];
	ck_assert_int_eq(privdrop_resolve("ghost", PW, GR, &c, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "ghost"));
	ck_assert_int_eq(privdrop_resolve("app:ghosts", PW, GR, &c, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "ghosts"));
	ck_assert_int_eq(privdrop_resolve("", PW, GR, &c, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(privdrop_resolve("app:", PW, GR, &c, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(privdrop_resolve(":app", PW, GR, &c, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(privdrop_resolve("app:app:app", PW, GR, &c, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(privdrop_resolve("4294967295", PW, GR, &c, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(memcmp(&c, &before, sizeof(c)), 0);
	/* A name needs the file; a number does not. */
	ck_assert_int_eq(privdrop_resolve("app", "/nonexistent", GR, &c, err, sizeof(err)),
	                 -ENOENT);
	ck_assert_int_eq(privdrop_resolve("1234", "/nonexistent", GR, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.gid, 1234);
}
END_TEST

/* In a grandchild, so that the test's own teardown still runs as root.
 * Exit 0 when every id took, else the number of the check that failed. */
static int drop_and_check(const struct creds *c)
{
	if (privdrop_apply(c) != 0)
		return 1;
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) < 0 || r != 1000 || e != 1000 || s != 1000)
		return 2;
	if (getresgid(&rg, &eg, &sg) < 0 || rg != 1000 || eg != 1000 || sg != 1000)
		return 3;
	gid_t g[16];
	if (getgroups(16, g) != 3)
		return 4;
	if (setuid(0) != -1)
		return 5;
	if (setgroups(0, NULL) != -1)
		return 6;
	return 0;
}

START_TEST(test_drop_sets_every_id_and_cannot_be_undone)
{
	if (geteuid() != 0) {
		ck_assert_msg(!getenv("CI"), "CI runs the tests as root");
		fprintf(stderr, "skipped the drop: dropping to another user needs root\n");
		return;
	}
	struct creds c = resolve_ok("app");
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		_exit(drop_and_check(&c));
	int ws;
	ck_assert_int_eq(waitpid(p, &ws, 0), p);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "check %d of the drop failed",
	              WEXITSTATUS(ws));
}
END_TEST

START_TEST(test_self_keeps_ids_and_apply_is_a_no_op)
{
	struct creds c;
	privdrop_self(&c);
	ck_assert(!c.drop);
	ck_assert_uint_eq(c.uid, geteuid());
	ck_assert_int_eq(privdrop_apply(&c), 0);
	ck_assert_uint_eq(geteuid(), c.uid);
}
END_TEST

/* privdrop_open: what the --user cannot open stays closed to inject too,
 * also through a symlink it planted; what it can open comes back as a
 * close-on-exec descriptor; inject itself stays root. */
START_TEST(test_open_as_the_user_keeps_root_only_files_closed)
{
	if (geteuid() != 0) {
		ck_assert_msg(!getenv("CI"), "CI runs the tests as root");
		fprintf(stderr, "skipped privdrop_open: dropping to another user needs root\n");
		return;
	}
	char dir[64], secret[128], pub[128], link[128], missing[128], buf[64];
	make_dir_in("/tmp", dir, sizeof(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(secret, sizeof(secret), "%s/root-only", dir);
	snprintf(pub, sizeof(pub), "%s/public", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(missing, sizeof(missing), "%s/none", dir);
	write_text(secret, "top secret\n"); /* 0600, root's */
	write_text(pub, "hello\n");
	ck_assert_int_eq(chmod(pub, 0644), 0);
	ck_assert_int_eq(symlink(secret, link), 0);
	struct creds app = resolve_ok("app"), self;
	privdrop_self(&self);
	int fd = -1;
	bool drop_failed = true;

	ck_assert_int_eq(privdrop_open(&app, pub, O_RDONLY | O_NONBLOCK, &fd, &drop_failed), 0);
	ck_assert(!drop_failed);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 6);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	ck_assert_int_eq(privdrop_open(&app, secret, O_RDONLY, &fd, &drop_failed), -EACCES);
	ck_assert(!drop_failed);
	ck_assert_int_eq(privdrop_open(&app, link, O_RDONLY, &fd, &drop_failed), -EACCES);
	ck_assert_int_eq(privdrop_open(&app, missing, O_RDONLY, &fd, &drop_failed), -ENOENT);
	/* Without --user, inject's own rights. */
	ck_assert_int_eq(privdrop_open(&self, link, O_RDONLY, &fd, &drop_failed), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 11);
	close(fd);
	ck_assert_uint_eq(geteuid(), 0);
	unlink(link);
	unlink(pub);
	unlink(secret);
	rmdir(dir);
}
END_TEST

static Suite *passwd_suite(void)
{
	Suite *s = suite_create("inject-passwd");
	TCase *t = tcase_create("passwd");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_passwd_line_fields);
	tcase_add_loop_test(t, test_malformed_passwd_line_is_refused, 0,
	                    (int)(sizeof(bad_passwd_lines) / sizeof(bad_passwd_lines[0])));
	tcase_add_test(t, test_group_line_fields);
	tcase_add_test(t, test_lookup_by_name_and_uid_skips_bad_lines);
	tcase_add_test(t, test_group_lookup_and_membership);
	tcase_add_test(t, test_overlong_line_is_skipped_not_split);
	tcase_add_test(t, test_a_user_in_too_many_groups_is_refused_by_name);
	tcase_add_test(t, test_parse_id);
	tcase_add_test(t, test_user_name_takes_primary_and_member_groups_and_home);
	tcase_add_test(t, test_numeric_uid_with_entry_is_that_user);
	tcase_add_test(t, test_numeric_uid_without_entry_never_keeps_gid_0);
	tcase_add_test(t, test_explicit_group_is_the_only_group);
	tcase_add_test(t, test_empty_home_becomes_root_dir);
	tcase_add_test(t, test_unknown_user_or_group_is_enoent_and_bad_spec_einval);
	tcase_add_test(t, test_drop_sets_every_id_and_cannot_be_undone);
	tcase_add_test(t, test_self_keeps_ids_and_apply_is_a_no_op);
	tcase_add_test(t, test_open_as_the_user_keeps_root_only_files_closed);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return check_support_run(passwd_suite());
}
