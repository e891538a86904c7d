/* What vaultd takes from systemd, with the test playing the service manager:
 * the key from $CREDENTIALS_DIRECTORY, sd_notify READY=1/STOPPING=1, and a
 * listening socket handed over as fd 3 (LISTEN_FDS/LISTEN_PID). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

#define READY_WAIT_MS 30000 /* as the harness's start wait: ASan builds are slow */
#define MAX_ENV 256

static void expect_health(const struct vd *v, int status, bool sealed)
{
	struct vresp r;
	vd_call(v, VIA_LIB, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, status);
	bool b = !sealed;
	ck_assert_msg(jbool(r.json, "sealed", &b) && b == sealed, "%s: expected sealed %s, body %s",
	              r.what, sealed ? "true" : "false", r.body);
	vresp_clear(&r);
}

/* ---- the key from $CREDENTIALS_DIRECTORY ---- */

/* A key-file store whose key sits in <dir>/creds/vaultd.key only, as
 * LoadCredential= would place it; serve gets no --key-file. */
static void prepare_with_credential(struct vd *v, const char *tag, char *creds, size_t cap)
{
	vd_prepare(v, tag);
	vd_init_keyfile(v);
	int n = snprintf(creds, cap, "%s/creds", v->dir);
	ck_assert_msg(n > 0 && (size_t)n < cap, "path too long: %s/creds", v->dir);
	ck_assert_int_eq(mkdir(creds, 0700), 0);
	char *moved = xfmt("%s/vaultd.key", creds);
	ck_assert_msg(rename(v->key, moved) == 0, "moving the key to %s: %s", moved,
	              strerror(errno));
	free(moved);
	v->use_key = false;
}

START_TEST(test_key_from_credentials_directory_starts_unsealed)
{
	struct vd v;
	char creds[VD_PATH_MAX];
	prepare_with_credential(&v, "creds", creds, sizeof(creds));
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", creds, 1), 0);
	vd_start(&v);
	unsetenv("CREDENTIALS_DIRECTORY");
	expect_health(&v, 200, false);
	ck_assert_int_eq(vd_stop_status(&v), 0);
}
END_TEST

/* The control for the test above: the same store with the credential out of
 * reach starts sealed, so "unsealed" there came from the credential. */
START_TEST(test_without_credential_or_key_file_it_starts_sealed)
{
	struct vd v;
	char creds[VD_PATH_MAX];
	prepare_with_credential(&v, "nocreds", creds, sizeof(creds));
	vd_start(&v); /* vd_global_init removed CREDENTIALS_DIRECTORY */
	expect_health(&v, 503, true);
	ck_assert_int_eq(vd_stop_status(&v), 0);

	/* A credentials directory without vaultd.key in it: sealed too. */
	char *empty = xfmt("%s/empty", v.dir);
	ck_assert_int_eq(mkdir(empty, 0700), 0);
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", empty, 1), 0);
	vd_start(&v);
	unsetenv("CREDENTIALS_DIRECTORY");
	expect_health(&v, 503, true);
	ck_assert_int_eq(vd_stop_status(&v), 0);
	free(empty);
}
END_TEST

/* ---- a service manager's side ---- */

/* Decimal digits of n into out (async-signal-safe: used between fork and
 * exec). out must hold 21 bytes. */
static void put_decimal(char *out, unsigned long n)
{
	char tmp[21];
	size_t k = 0;
	do {
		tmp[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n && k < sizeof(tmp));
	for (size_t i = 0; i < k; i++)
		out[i] = tmp[k - 1 - i];
	out[k] = '\0';
}

/* vaultd serve --socket sock_arg with env_add added to the environment and,
 * with lfd >= 0, lfd as fd 3 and LISTEN_FDS=1 LISTEN_PID=<the child's pid>,
 * which only the child can know: it is written in after fork, without
 * malloc (the harness's spawn has no way to do that). */
static pid_t spawn_serve(const struct vd *v, const char *sock_arg, const char *env_add, int lfd)
{
	static char pid_env[48] = "LISTEN_PID=";
	const size_t pid_at = strlen("LISTEN_PID=");
	const char *envp[MAX_ENV + 4];
	size_t n = 0;
	for (char **e = environ; *e && n < MAX_ENV; e++)
		envp[n++] = *e;
	if (env_add)
		envp[n++] = env_add;
	if (lfd >= 0) {
		envp[n++] = "LISTEN_FDS=1";
		envp[n++] = pid_env;
	}
	envp[n] = NULL;
	char uid[32];
	snprintf(uid, sizeof(uid), "%u", (unsigned)geteuid());
	const char *argv[] = {bin_path("VAULTD_BIN", NULL), "serve", "--store", v->store,
	                      "--socket", sock_arg, "--key-file", v->key,
	                      /* not root: we are the admin */
	                      geteuid() ? "--admin-uid" : NULL, uid, NULL};
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int logfd = open(v->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ck_assert_msg(nul >= 0 && logfd >= 0, "opening /dev/null and %s", v->log);
	pid_t pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		put_decimal(pid_env + pid_at, (unsigned long)getpid());
		/* Above 3 first: dup2 onto itself would keep close-on-exec. */
		int hi = lfd >= 0 ? fcntl(lfd, F_DUPFD_CLOEXEC, 20) : -1;
		if (dup2(nul, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 ||
		    (lfd >= 0 && (hi < 0 || dup2(hi, 3) != 3)))
			_exit(126);
		execve(argv[0], (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	close(nul);
	close(logfd);
	return pid;
}

/* connect() that does not block when the backlog is full: a vaultd that
 * ignored fd 3 never accepts there, and closed probes pile up in its queue. */
static int connect_nb(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits (bounded) for the child to answer GET /v1/health on sock; gives up
 * at once when it exits (then *pid is reaped and set to -1). */
static bool answers_within(const char *sock, pid_t *pid, int ms)
{
	static const char req[] =
	    "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
	for (double until = now_ms() + ms; now_ms() < until; sleep_ms(20)) {
		int st;
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			*pid = -1;
			return false;
		}
		int fd = connect_nb(sock);
		if (fd < 0)
			continue;
		bool ok = write_all(fd, req, sizeof(req) - 1) == 0 && raw_read_status(fd, 1000) > 0;
		close(fd);
		if (ok)
			return true;
	}
	return false;
}

static int bind_unix(int type, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ck_assert_msg(strlen(path) < sizeof(sa.sun_path), "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s", path,
	              strerror(errno));
	return fd;
}

/* Reads datagrams for up to ms until one holds state (and MAINPID=pid): true
 * then, with it in buf. Others (STATUS= and the like) are allowed before it. */
static bool await_notify(int fd, const char *state, pid_t pid, int ms, char *buf, size_t cap)
{
	char want_pid[48];
	snprintf(want_pid, sizeof(want_pid), "MAINPID=%ld", (long)pid);
	buf[0] = '\0';
	for (double until = now_ms() + ms;;) {
		int left = (int)(until - now_ms());
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, left > 0 ? left : 0) <= 0)
			return false;
		ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
		if (n < 0)
			return false;
		buf[n] = '\0';
		if (strstr(buf, state) && strstr(buf, want_pid))
			return true;
	}
}

/* ---- sd_notify ---- */

/* READY=1 is the service manager's cue that clients may come: it must not be
 * sent before vaultd answers, so the first request after it must succeed
 * without any retry. */
START_TEST(test_sd_notify_ready_once_it_answers_and_stopping_on_sigterm)
{
	struct vd v;
	vd_prepare(&v, "notify");
	vd_init_keyfile(&v);
	char *npath = xfmt("%s/notify.sock", v.dir);
	int rx = bind_unix(SOCK_DGRAM, npath);
	char *env = xfmt("NOTIFY_SOCKET=%s", npath);
	v.pid = spawn_serve(&v, v.sock, env, -1);

	char msg[256];
	ck_assert_msg(await_notify(rx, "READY=1", v.pid, READY_WAIT_MS, msg, sizeof(msg)),
	              "no READY=1 with MAINPID=%ld within %d ms; last datagram \"%s\" (log %s)",
	              (long)v.pid, READY_WAIT_MS, msg, v.log);
	ck_assert_msg(!strstr(msg, "STOPPING=1"), "READY=1 came with STOPPING=1: \"%s\"", msg);
	struct vresp r;
	struct vreq q = {.method = "GET", .path = "/v1/health", .timeout_ms = 2000};
	vd_do(&v, VIA_LIB, &q, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);

	ck_assert_int_eq(kill(v.pid, SIGTERM), 0);
	pid_t pid = v.pid;
	ck_assert_int_eq(wait_pid(v.pid), 0);
	v.pid = -1;
	ck_assert_msg(await_notify(rx, "STOPPING=1", pid, 0, msg, sizeof(msg)),
	              "no STOPPING=1 with MAINPID=%ld after SIGTERM; last datagram \"%s\"",
	              (long)pid, msg);
	close(rx);
	free(env);
	free(npath);
}
END_TEST

/* ---- socket activation ---- */

static ino_t inode_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) ? st.st_ino : 0;
}

/* As contrib/systemd runs it: --socket names the path of the socket unit, and
 * that socket file (this very inode) is served and outlives vaultd, which
 * the manager needs to start the next one on the next connection. */
START_TEST(test_socket_activation_serves_on_the_inherited_fd_3)
{
	struct vd v;
	vd_prepare(&v, "activate");
	vd_init_keyfile(&v);
	int lfd = bind_unix(SOCK_STREAM, v.sock);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ino_t ino = inode_of(v.sock);
	ck_assert_msg(ino != 0, "the manager's socket %s", v.sock);
	v.pid = spawn_serve(&v, v.sock, NULL, lfd);
	close(lfd); /* vaultd holds it now */

	ck_assert_msg(answers_within(v.sock, &v.pid, READY_WAIT_MS),
	              "vaultd %s on the socket given as fd 3 (log %s)",
	              v.pid < 0 ? "exited instead of serving" : "did not answer", v.log);
	expect_health(&v, 200, false);
	ck_assert_msg(inode_of(v.sock) == ino,
	              "vaultd must serve the inherited socket, not bind a new %s", v.sock);

	ck_assert_int_eq(kill(v.pid, SIGTERM), 0);
	ck_assert_int_eq(wait_pid(v.pid), 0);
	v.pid = -1;
	ck_assert_msg(inode_of(v.sock) == ino,
	              "an activated vaultd must leave the manager's socket %s in place", v.sock);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd under systemd");
	TCase *tc = tcase_create("systemd");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_key_from_credentials_directory_starts_unsealed);
	tcase_add_test(tc, test_without_credential_or_key_file_it_starts_sealed);
	tcase_add_test(tc, test_sd_notify_ready_once_it_answers_and_stopping_on_sigterm);
	tcase_add_test(tc, test_socket_activation_serves_on_the_inherited_fd_3);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
