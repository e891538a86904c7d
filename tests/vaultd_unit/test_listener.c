/* vaultd/listener.c and notify.c: the socket is 0660 and listening, a stale
 * socket file is replaced, a live one or a non-socket is refused, the umask
 * is restored, systemd's variables are honoured only for our pid, and
 * sd_notify datagrams arrive. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "listener.h"
#include "notify.h"
#include "check_support.h"

static char dir[64], sock[100];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vaultd-unit-listener.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
}

static void teardown(void)
{
	unlink(sock);
	rmdir(dir);
}

START_TEST(test_socket_is_0660_and_listening)
{
	mode_t before = umask(0);
	umask(before);
	int fd = -1;
	ck_assert_int_eq(listener_open(sock, NULL, &fd), 0);
	struct stat st;
	ck_assert_int_eq(lstat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_msg((st.st_mode & 07777) == 0660, "mode %o, expected 0660", st.st_mode & 07777);
	mode_t after = umask(0);
	umask(after);
	ck_assert_msg(after == before, "umask restored (%o, was %o)", after, before);
	int acc = 0;
	socklen_t len = sizeof(acc);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len), 0);
	ck_assert(acc);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}
END_TEST

START_TEST(test_stale_socket_is_replaced)
{
	int fd = -1;
	ck_assert_int_eq(listener_open(sock, NULL, &fd), 0);
	close(fd); /* the file stays; nobody answers: stale */
	ck_assert_int_eq(access(sock, F_OK), 0);
	ck_assert_int_eq(listener_open(sock, NULL, &fd), 0);
	close(fd);
}
END_TEST

START_TEST(test_live_socket_is_refused)
{
	int fd = -1, fd2 = -1;
	ck_assert_int_eq(listener_open(sock, NULL, &fd), 0);
	ck_assert_int_eq(listener_open(sock, NULL, &fd2), -EADDRINUSE);
	ck_assert_int_eq(access(sock, F_OK), 0); /* the live one's file is left alone */
	close(fd);
}
END_TEST

START_TEST(test_non_socket_is_refused_and_kept)
{
	int f = open(sock, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(f, 0);
	close(f);
	int fd = -1;
	ck_assert_int_eq(listener_open(sock, NULL, &fd), -EEXIST);
	struct stat st;
	ck_assert_int_eq(lstat(sock, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
}
END_TEST

START_TEST(test_too_long_path_and_unknown_group)
{
	char lp[200];
	memset(lp, 'x', sizeof(lp) - 1);
	lp[0] = '/';
	lp[sizeof(lp) - 1] = '\0';
	int fd = -1;
	ck_assert_int_eq(listener_open(lp, NULL, &fd), -ENAMETOOLONG);
	ck_assert_int_eq(listener_open(sock, "no-such-group-vaultd", &fd), -ESRCH);
	ck_assert_int_ne(access(sock, F_OK), 0);
}
END_TEST

START_TEST(test_socket_group_by_number)
{
	if (geteuid() != 0) {
		/* chown to another group needs root. CI runs as root: a quiet pass
		 * there would hide a broken --socket-group. */
		const char *ci = getenv("CI");
		ck_assert_msg(!ci || strcmp(ci, "true") != 0,
		              "needs root (chown of the socket to gid 65534) and CI=true");
		fprintf(stderr, "skipped test_socket_group_by_number: needs root\n");
		return;
	}
	int fd = -1;
	ck_assert_int_eq(listener_open(sock, "65534", &fd), 0);
	struct stat st;
	ck_assert_int_eq(lstat(sock, &st), 0);
	ck_assert_uint_eq(st.st_gid, 65534);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	close(fd);
}
END_TEST

START_TEST(test_systemd_fds_only_for_our_pid)
{
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(listener_from_systemd(), -ENOENT);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	ck_assert_int_eq(listener_from_systemd(), -ENOENT);
}
END_TEST

START_TEST(test_systemd_listening_fd_3_is_taken)
{
	int fd = -1;
	ck_assert_int_eq(listener_open(sock, NULL, &fd), 0);
	int saved = dup(3); /* keep whatever fd 3 was */
	ck_assert_int_eq(dup2(fd, 3), 3);
	char pid[32];
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_int_eq(listener_from_systemd(), 3);
	ck_assert_ptr_null(getenv("LISTEN_PID")); /* not passed on to children */
	ck_assert(fcntl(3, F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(3, F_GETFL) & O_NONBLOCK);
	if (saved >= 0) {
		dup2(saved, 3);
		close(saved);
	} else {
		close(3);
	}
	close(fd);
}
END_TEST

START_TEST(test_notify_sends_state_and_pid)
{
	int rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(rx, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	ck_assert_int_eq(bind(rx, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sock, 1);
	ck_assert_int_eq(notify_send("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
	char buf[256] = "";
	ssize_t n = recv(rx, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	close(rx);
	ck_assert_int_gt(n, 0);
	char want[64];
	snprintf(want, sizeof(want), "READY=1\nMAINPID=%ld", (long)getpid());
	ck_assert_str_eq(buf, want);
	/* Not asked for: nothing to do. */
	ck_assert_int_eq(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative", 1);
	ck_assert_int_eq(notify_send("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("listener");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_socket_is_0660_and_listening);
	tcase_add_test(tc, test_stale_socket_is_replaced);
	tcase_add_test(tc, test_live_socket_is_refused);
	tcase_add_test(tc, test_non_socket_is_refused_and_kept);
	tcase_add_test(tc, test_too_long_path_and_unknown_group);
	tcase_add_test(tc, test_socket_group_by_number);
	tcase_add_test(tc, test_systemd_fds_only_for_our_pid);
	tcase_add_test(tc, test_systemd_listening_fd_3_is_taken);
	tcase_add_test(tc, test_notify_sends_state_and_pid);
	suite_add_tcase(s, tc);
	return check_support_run(s);
}
