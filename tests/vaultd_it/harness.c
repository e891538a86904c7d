/* Integration-test harness: a real vaultd per test directory, requests through
 * lib/httpc.h or through the curl command (fork/execve, never a shell). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"
#include "hygiene.h"
#include "secbuf.h"

extern char **environ;

#define START_WAIT_MS 30000  /* ASan builds and Argon2id can be slow */
#define STOP_WAIT_MS 20000
#define DEFAULT_TIMEOUT_MS 15000
#define CURL_MARK "\n@@VDIT@@"

static void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("harness: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void pathf(char *out, const char *dir, const char *leaf)
{
	int n = snprintf(out, VD_PATH_MAX, "%s/%s", dir, leaf);
	if (n < 0 || n >= VD_PATH_MAX)
		fatal("path too long: %s/%s", dir, leaf);
}

double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *via_name(enum via via) { return via == VIA_LIB ? "lib" : "curl"; }

const char *bin_path(const char *env, const char *dflt)
{
	const char *b = getenv(env);
	if (b && *b)
		return b;
	if (!dflt)
		fatal("set %s to the program's path (ctest does this)", env);
	return dflt;
}

void vd_global_init(void)
{
	if (vault_init() < 0)
		fatal("vault_init failed");
	signal(SIGPIPE, SIG_IGN);
	/* A daemon under test must not talk to a real service manager. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("CREDENTIALS_DIRECTORY");
}

/* Daemons stopped by fixtures cannot fail a test themselves: a bad exit is
 * counted here and fails the suite in vd_run_suite. */
static int g_bad_exits;

int vd_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (g_bad_exits) {
		printf("FAIL: %d vaultd process(es) stopped by a fixture did not exit 0 on SIGTERM\n",
		       g_bad_exits);
		return 1;
	}
	return failed == 0 ? 0 : 1;
}

void vd_cannot_run(const char *why)
{
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "FAIL: %s, and CI=true\n", why);
		exit(1);
	}
	printf("SKIP: %s\n", why);
	exit(77);
}

void vd_need_root(const char *why)
{
	if (geteuid() == 0)
		return;
	char msg[256];
	snprintf(msg, sizeof(msg), "needs root (%s)", why);
	vd_cannot_run(msg);
}

/* ---- suite root ---- */

const char *vd_suite_root(void)
{
	static char root[VD_PATH_MAX];
	if (root[0])
		return root;
	const char *f = getenv("VDIT_ROOT_FILE");
	if (f) {
		size_t n = 0;
		char *s = slurp(f, &n);
		if (s) {
			while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
				s[--n] = 0;
			struct stat st;
			if (n > 0 && n < sizeof(root) && stat(s, &st) == 0 && S_ISDIR(st.st_mode))
				memcpy(root, s, n + 1);
			free(s);
		}
	}
	if (!root[0]) { /* run alone, outside ctest's fixture */
		snprintf(root, sizeof(root), "/tmp/vaultd-it-solo.XXXXXX");
		if (!mkdtemp(root))
			fatal("mkdtemp %s: %s", root, strerror(errno));
		chmod(root, 0711);
		fprintf(stderr, "harness: no VDIT_ROOT_FILE; using %s\n", root);
	}
	return root;
}

void vd_prepare(struct vd *v, const char *tag)
{
	memset(v, 0, sizeof(*v));
	int n = snprintf(v->dir, sizeof(v->dir), "%s/%s.XXXXXX", vd_suite_root(), tag);
	if (n < 0 || (size_t)n >= sizeof(v->dir))
		fatal("test dir name too long");
	if (!mkdtemp(v->dir))
		fatal("mkdtemp %s: %s", v->dir, strerror(errno));
	/* 0711: another uid (nobody) may reach the socket by name, list nothing. */
	if (chmod(v->dir, 0711) < 0)
		fatal("chmod %s: %s", v->dir, strerror(errno));
	pathf(v->store, v->dir, "store.db");
	pathf(v->key, v->dir, "vaultd.key");
	pathf(v->sock, v->dir, "vaultd.sock");
	pathf(v->log, v->dir, "vaultd.log");
	pathf(v->audit_log, v->dir, "audit.jsonl");
	v->use_key = true;
	v->pid = -1;
}

/* ---- processes ---- */

struct spawn {
	const char *const *argv;
	int fd[4];       /* child's 0..3; -1: /dev/null (3: closed) */
	const char *fd3_text; /* else fd 3 is a pipe holding this (< 4 KiB) */
	bool drop;       /* become nobody:nogroup before exec */
	gid_t supp_gid;  /* with drop: also this supplementary group (0: none) */
	bool pdeathsig;  /* die with the test process (no stray daemons) */
};

static pid_t spawn(const struct spawn *sp)
{
	pid_t pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	/* Child: only async-signal-safe exec set-up from here on (no malloc, no
	 * stdio, no fatal()): the test process may have threads, and a lock one
	 * of them held at fork stays locked forever in this copy. */
	if (sp->pdeathsig)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (sp->drop) {
		gid_t supp[1] = {sp->supp_gid};
		if (setgroups(sp->supp_gid ? 1 : 0, supp) < 0 ||
		    setresgid(VD_NOBODY, VD_NOBODY, VD_NOBODY) < 0 ||
		    setresuid(VD_NOBODY, VD_NOBODY, VD_NOBODY) < 0)
			_exit(126);
		if (getuid() != VD_NOBODY || geteuid() != VD_NOBODY || getegid() != VD_NOBODY)
			_exit(126);
	}
	int hi[4];
	for (int i = 0; i < 4; i++) {
		int src = sp->fd[i];
		if (src < 0 && i < 3)
			src = open("/dev/null", O_RDWR | O_CLOEXEC);
		hi[i] = src < 0 ? -1 : fcntl(src, F_DUPFD_CLOEXEC, 20);
	}
	if (sp->fd3_text) {
		/* Made here, after the drop: a pipe created by root cannot be
		 * reopened through /dev/fd by nobody. It fits the pipe buffer. */
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0 || write(p[1], sp->fd3_text, strlen(sp->fd3_text)) < 0)
			_exit(125);
		close(p[1]);
		hi[3] = p[0];
	}
	for (int i = 0; i < 4; i++) {
		if (hi[i] >= 0)
			dup2(hi[i], i);
		else if (i == 3)
			close(3);
	}
	execve(sp->argv[0], (char *const *)sp->argv, environ);
	_exit(127);
}

static char *pump(int in_fd, const char *body, size_t blen, int out_fd, size_t *ret_len);

static int wait_exit(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void mkpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe: %s", strerror(errno));
}

static void log_tail(const struct vd *v, char *out, size_t cap)
{
	size_t n = 0;
	char *s = slurp(v->log, &n);
	out[0] = 0;
	if (!s)
		return;
	const char *from = n > cap - 1 ? s + n - (cap - 1) : s;
	snprintf(out, cap, "%s", from);
	free(s);
}

static int open_log(const struct vd *v)
{
	int fd = open(v->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		fatal("open %s: %s", v->log, strerror(errno));
	return fd;
}

static void run_init(struct vd *v, const char *const *argv, const char *stdin_text)
{
	int in[2] = {-1, -1};
	int logfd = open_log(v);
	if (stdin_text)
		mkpipe(in);
	struct spawn sp = {.argv = argv, .fd = {in[0], logfd, logfd, -1}};
	pid_t pid = spawn(&sp);
	close(logfd);
	if (stdin_text) {
		close(in[0]);
		if (write_all(in[1], stdin_text, strlen(stdin_text)) < 0)
			fatal("writing passphrase to vaultd init: %s", strerror(errno));
		close(in[1]);
	}
	int rc = wait_exit(pid);
	if (rc != 0) {
		char tail[1024];
		log_tail(v, tail, sizeof(tail));
		fatal("vaultd init exited %d: %s", rc, tail);
	}
}

void vd_init_keyfile(struct vd *v)
{
	const char *argv[] = {bin_path("VAULTD_BIN", NULL), "init", "--store", v->store,
	                      "--key-file", v->key, NULL};
	run_init(v, argv, NULL);
	v->use_key = true;
}

void vd_init_passphrase(struct vd *v, const char *pass)
{
	const char *argv[] = {bin_path("VAULTD_BIN", NULL), "init", "--store", v->store,
	                      "--passphrase-stdin", NULL};
	run_init(v, argv, pass);
	v->use_key = false;
}

int run_cmd(const char *const *argv, const char *stdin_text, char **out)
{
	int in[2] = {-1, -1}, o[2];
	mkpipe(o);
	if (stdin_text)
		mkpipe(in);
	struct spawn sp = {.argv = argv, .fd = {in[0], o[1], o[1], -1}};
	pid_t pid = spawn(&sp);
	close(o[1]);
	if (in[0] >= 0)
		close(in[0]);
	size_t n = 0;
	char *s = pump(in[1], stdin_text, stdin_text ? strlen(stdin_text) : 0, o[0], &n);
	close(o[0]);
	int rc = wait_exit(pid);
	if (out)
		*out = s;
	else
		free(s);
	return rc;
}

pid_t run_bg(const char *const *argv, int *ret_in, int *ret_out)
{
	int in[2], o[2];
	mkpipe(in);
	mkpipe(o);
	struct spawn sp = {.argv = argv, .fd = {in[0], o[1], o[1], -1}, .pdeathsig = true};
	pid_t pid = spawn(&sp);
	close(in[0]);
	close(o[1]);
	*ret_in = in[1];
	*ret_out = o[0];
	return pid;
}

int wait_pid(pid_t pid) { return wait_exit(pid); }

/* Connects and sends GET /v1/health; any HTTP answer means the daemon serves. */
static bool answers_http(const struct vd *v)
{
	int fd = vd_connect(v);
	if (fd < 0)
		return false;
	static const char req[] = "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
	bool ok = write_all(fd, req, sizeof(req) - 1) == 0 && raw_read_status(fd, 2000) > 0;
	close(fd);
	return ok;
}

/* With VDIT_VALGRIND set (the valgrind suites in CMakeLists.txt), every
 * vaultd serve runs under memcheck: an invalid access, a read of
 * uninitialised memory or a definite leak makes it exit 99, which the
 * fixture's stop counts as a bad exit. Its report goes to a file of its
 * own, so that the tests reading vaultd's log see only vaultd. */
#define VALGRIND_EXIT 99

static const char *valgrind_bin(void)
{
	const char *b = getenv("VDIT_VALGRIND");
	return b && *b ? b : NULL;
}

static size_t valgrind_argv(const struct vd *v, const char **argv, char *logopt, size_t cap)
{
	const char *vg = valgrind_bin();
	if (!vg)
		return 0;
	int w = snprintf(logopt, cap, "--log-file=%s/valgrind.%%p.log", v->dir);
	if (w < 0 || (size_t)w >= cap)
		fatal("valgrind log path too long");
	size_t n = 0;
	argv[n++] = vg;
	argv[n++] = "-q";
	argv[n++] = "--error-exitcode=99"; /* VALGRIND_EXIT */
	argv[n++] = "--leak-check=full";
	argv[n++] = "--errors-for-leak-kinds=definite";
	argv[n++] = "--show-leak-kinds=definite";
	argv[n++] = logopt;
	return n;
}

/* Prints what valgrind reported for pid (its log is empty when clean). */
static void valgrind_report(const struct vd *v, pid_t pid)
{
	char path[VD_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/valgrind.%d.log", v->dir, (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	fprintf(stderr, "harness: valgrind report of vaultd %d (%s):\n", (int)pid, path);
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

void vd_start(struct vd *v)
{
	const char *argv[32 + VD_MAX_EXTRA];
	char uid[32], vglog[VD_PATH_MAX + 32];
	size_t n = valgrind_argv(v, argv, vglog, sizeof(vglog));
	argv[n++] = bin_path("VAULTD_BIN", NULL);
	argv[n++] = "serve";
	argv[n++] = "--store";
	argv[n++] = v->store;
	argv[n++] = "--socket";
	argv[n++] = v->sock;
	argv[n++] = "--audit-log";
	argv[n++] = v->audit_log;
	if (v->use_key) {
		argv[n++] = "--key-file";
		argv[n++] = v->key;
	}
	if (geteuid() != 0) { /* not root: make ourselves the admin */
		snprintf(uid, sizeof(uid), "%u", (unsigned)geteuid());
		argv[n++] = "--admin-uid";
		argv[n++] = uid;
	}
	for (size_t i = 0; i < VD_MAX_EXTRA && v->extra[i]; i++)
		argv[n++] = v->extra[i];
	argv[n] = NULL;

	int logfd = open_log(v);
	struct spawn sp = {.argv = argv, .fd = {-1, logfd, logfd, -1}, .pdeathsig = true};
	v->pid = spawn(&sp);
	close(logfd);
	double until = now_ms() + START_WAIT_MS;
	while (now_ms() < until) {
		int st;
		if (waitpid(v->pid, &st, WNOHANG) == v->pid) {
			char tail[1024];
			log_tail(v, tail, sizeof(tail));
			v->pid = -1;
			fatal("vaultd serve exited during start (status 0x%x): %s", st, tail);
		}
		if (answers_http(v))
			return;
		sleep_ms(20);
	}
	kill(v->pid, SIGKILL);
	fatal("vaultd did not answer on %s within %d ms", v->sock, START_WAIT_MS);
}

int vd_stop_with(struct vd *v, int sig)
{
	if (v->pid <= 0)
		return -1;
	kill(v->pid, sig);
	double until = now_ms() + STOP_WAIT_MS;
	int st = 0;
	for (;;) {
		pid_t r = waitpid(v->pid, &st, WNOHANG);
		if (r == v->pid)
			break;
		if (r < 0 && errno != EINTR) {
			v->pid = -1;
			return -1;
		}
		if (now_ms() > until) {
			fprintf(stderr, "harness: vaultd %d ignored signal %d for %d ms; killing\n",
			        (int)v->pid, sig, STOP_WAIT_MS);
			kill(v->pid, SIGKILL);
			until = now_ms() + STOP_WAIT_MS;
			sig = SIGKILL;
		}
		sleep_ms(10);
	}
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (rc == VALGRIND_EXIT && valgrind_bin())
		valgrind_report(v, v->pid);
	v->pid = -1;
	return rc;
}

void vd_stop(struct vd *v)
{
	int rc = vd_stop_with(v, SIGTERM);
	if (rc > 0) {
		fprintf(stderr, "harness: vaultd exited %d after SIGTERM (log %s)\n", rc, v->log);
		g_bad_exits++;
	}
}

int vd_stop_status(struct vd *v) { return vd_stop_with(v, SIGTERM); }

void vd_kill9(struct vd *v) { vd_stop_with(v, SIGKILL); }

bool vd_alive(const struct vd *v) { return v->pid > 0 && kill(v->pid, 0) == 0; }

void vd_up(struct vd *v, const char *tag)
{
	vd_up_with(v, tag, NULL);
}

void vd_up_with(struct vd *v, const char *tag, const char *const *flags)
{
	vd_prepare(v, tag);
	for (size_t i = 0; flags && flags[i]; i++) {
		if (i == VD_MAX_EXTRA - 1)
			fatal("vd_up_with %s: more than %d flags", tag, VD_MAX_EXTRA - 1);
		v->extra[i] = flags[i];
	}
	vd_init_keyfile(v);
	vd_start(v);
}

/* ---- requests ---- */

static void set_body(struct vresp *r, const void *p, size_t len)
{
	r->body = malloc(len + 1);
	if (!r->body)
		fatal("out of memory");
	if (len)
		memcpy(r->body, p, len);
	r->body[len] = 0;
	r->len = len;
}

static void do_lib(const struct vd *v, const struct vreq *q, struct vresp *r)
{
	struct secbuf *tok = q->token ? secbuf_dup(q->token, strlen(q->token)) : NULL;
	struct httpc_request hq = {
		.socket_path = v->sock,
		.method = q->method,
		.path = q->path,
		.token = tok,
		.body = q->body,
		.body_len = q->body ? (q->body_len ? q->body_len : strlen(q->body)) : 0,
		.timeout_ms = q->timeout_ms > 0 ? q->timeout_ms : DEFAULT_TIMEOUT_MS,
		.body_fd = -1,
	};
	struct httpc_response *hr = NULL;
	int rc = httpc_do(&hq, &hr);
	secbuf_free(tok);
	if (rc < 0) {
		r->err = rc;
		set_body(r, "", 0);
		return;
	}
	r->status = hr->status;
	snprintf(r->ctype, sizeof(r->ctype), "%s", hr->content_type);
	if (hr->body)
		set_body(r, hr->body->data, hr->body->len);
	else
		set_body(r, "", 0);
	httpc_response_free(hr);
}

/* Writes the body to curl's stdin while draining its stdout (large bodies). */
static char *pump(int in_fd, const char *body, size_t blen, int out_fd, size_t *ret_len)
{
	size_t cap = 8192, n = 0, off = 0;
	char *out = malloc(cap + 1);
	if (!out)
		fatal("out of memory");
	if (in_fd >= 0)
		fcntl(in_fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd pf[2] = {{out_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
		int nf = in_fd >= 0 ? 2 : 1;
		if (poll(pf, (nfds_t)nf, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (nf == 2 && (pf[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t k = off < blen ? write(in_fd, body + off, blen - off) : 0;
			if (k > 0)
				off += (size_t)k;
			if (off >= blen || (k < 0 && errno != EAGAIN && errno != EINTR)) {
				close(in_fd); /* EOF for curl, or it gave up reading */
				in_fd = -1;
			}
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (n == cap && !(out = realloc(out, (cap *= 2) + 1)))
				fatal("out of memory");
			ssize_t k = read(out_fd, out + n, cap - n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			n += (size_t)k;
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	out[n] = 0;
	*ret_len = n;
	return out;
}

/* ---- requests in a child process ----
 * curl, or the lib client run by the vdit_client helper (vd_client_main) when
 * it must not run as the test process's uid. The child only sets up fds and
 * becomes nobody between fork and execve (see spawn): the test process may
 * have threads, so the request itself always runs in a freshly exec'd
 * program. vdit_client answers with one frame on stdout:
 * int status, int err, char ctype[128], size_t len, then len body bytes. */

#define CLIENT_TOKEN_MAX 4096
#define FRAME_FIXED (2 * sizeof(int) + sizeof(((struct vresp *)0)->ctype) + sizeof(size_t))

static void what_of(enum via via, const struct vreq *q, char *out, size_t cap)
{
	snprintf(out, cap, "[%s%s] %s %.120s", via_name(via), q->as_nobody ? " as nobody" : "",
	         q->method, q->path);
}

void vd_begin(const struct vd *v, enum via via, const struct vreq *q, int start_fd,
              struct vd_proc *p)
{
	if (q->body && start_fd >= 0)
		fatal("vd_begin: a request with a body cannot wait for a start signal");
	memset(p, 0, sizeof(*p));
	p->via = via;
	p->in = -1;
	p->t0 = now_ms();
	what_of(via, q, p->what, sizeof(p->what));
	p->body = q->body;
	p->blen = q->body ? (q->body_len ? q->body_len : strlen(q->body)) : 0;

	int tmo = q->timeout_ms > 0 ? q->timeout_ms : DEFAULT_TIMEOUT_MS;
	char url[4096], maxt[32], tmos[32], errpath[VD_PATH_MAX], hdr[512] = "";
	const char *argv[40];
	const char *fd3 = NULL;
	size_t a = 0;
	int errfd = -1;
	if (start_fd >= 0 || via == VIA_LIB)
		argv[a++] = bin_path("VDIT_CLIENT_BIN", NULL);
	if (via == VIA_LIB) {
		snprintf(tmos, sizeof(tmos), "%d", tmo);
		argv[a++] = "lib";
		argv[a++] = v->sock;
		argv[a++] = q->method;
		argv[a++] = q->path;
		argv[a++] = tmos;
		argv[a++] = q->token ? "token" : "-";
		argv[a++] = q->body ? "body" : "-";
		fd3 = q->token; /* never argv */
		errfd = dup(STDERR_FILENO); /* its sanitizer reports show in the test's output */
	} else {
		if (start_fd >= 0)
			argv[a++] = "exec"; /* vdit_client waits for the start, then execs curl */
		snprintf(url, sizeof(url), "http://localhost%s", q->path);
		snprintf(maxt, sizeof(maxt), "%.3f", tmo / 1000.0);
		pathf(errpath, v->dir, "curl.err");
		argv[a++] = bin_path("CURL_BIN", "/usr/bin/curl");
		argv[a++] = "-sS";
		argv[a++] = "--path-as-is"; /* send ../ as written: hostile paths reach vaultd */
		argv[a++] = "--unix-socket";
		argv[a++] = v->sock;
		argv[a++] = "-X";
		argv[a++] = q->method;
		argv[a++] = "--max-time";
		argv[a++] = maxt;
		argv[a++] = "-w";
		argv[a++] = CURL_MARK "%{http_code} %{content_type}";
		if (q->token) { /* the token goes through a pipe, never argv */
			argv[a++] = "-H";
			argv[a++] = "@/dev/fd/3";
			int hn = snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\n", q->token);
			if (hn < 0 || (size_t)hn >= sizeof(hdr))
				fatal("token too long for the test harness");
			fd3 = hdr;
		}
		if (q->body) {
			argv[a++] = "-H";
			argv[a++] = "Content-Type: application/json";
			argv[a++] = "--data-binary";
			argv[a++] = "@-";
		}
		argv[a++] = url;
		errfd = open(errpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	}
	argv[a] = NULL;
	if (fd3 && strlen(fd3) >= CLIENT_TOKEN_MAX)
		fatal("token too long for the test harness");

	int in[2] = {-1, -1}, out[2];
	mkpipe(out);
	if (q->body)
		mkpipe(in);
	struct spawn sp = {.argv = argv,
	                   .fd = {start_fd >= 0 ? start_fd : in[0], out[1], errfd, -1},
	                   .fd3_text = fd3,
	                   .drop = q->as_nobody,
	                   .supp_gid = q->supp_gid};
	p->pid = spawn(&sp);
	sodium_memzero(hdr, sizeof(hdr));
	close(out[1]);
	if (errfd >= 0)
		close(errfd);
	if (in[0] >= 0)
		close(in[0]);
	p->in = in[1];
	p->out = out[0];
}

static void parse_curl(const char *o, size_t n, int rc, struct vresp *r)
{
	const char *mark = NULL;
	for (const char *c = o; (c = memmem(c, n - (size_t)(c - o), CURL_MARK, sizeof(CURL_MARK) - 1));
	     c++)
		mark = c;
	if (!mark) {
		r->err = rc ? rc : -EPROTO;
		set_body(r, "", 0);
		return;
	}
	set_body(r, o, (size_t)(mark - o));
	char tail[256];
	size_t tl = n - (size_t)(mark - o) - (sizeof(CURL_MARK) - 1);
	if (tl >= sizeof(tail))
		tl = sizeof(tail) - 1;
	memcpy(tail, mark + sizeof(CURL_MARK) - 1, tl);
	tail[tl] = 0;
	r->status = atoi(tail);
	char *sp2 = strchr(tail, ' ');
	snprintf(r->ctype, sizeof(r->ctype), "%s", sp2 ? sp2 + 1 : "");
	if (r->status == 0)
		r->err = rc ? rc : -EPROTO;
}

static void parse_frame(const char *o, size_t n, int rc, struct vresp *r)
{
	size_t blen = 0;
	if (n >= FRAME_FIXED)
		memcpy(&blen, o + FRAME_FIXED - sizeof(size_t), sizeof(size_t));
	if (rc != 0 || n < FRAME_FIXED || n != FRAME_FIXED + blen) {
		r->err = rc == 126 ? -EPERM : -EPROTO; /* 126: the drop to nobody failed */
		set_body(r, "", 0);
		return;
	}
	int hdr[2];
	memcpy(hdr, o, sizeof(hdr));
	r->status = hdr[0];
	r->err = hdr[1];
	memcpy(r->ctype, o + sizeof(hdr), sizeof(r->ctype));
	r->ctype[sizeof(r->ctype) - 1] = 0;
	set_body(r, o + FRAME_FIXED, blen);
}

static void finish(struct vresp *r, double t0)
{
	r->ms = now_ms() - t0;
	if (r->len > 0 && (r->body[0] == '{' || r->body[0] == '['))
		r->json = json_loadb(r->body, r->len, 0, NULL);
}

void vd_end(struct vd_proc *p, struct vresp *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->what, sizeof(r->what), "%s", p->what);
	size_t n = 0;
	char *o = pump(p->in, p->body, p->blen, p->out, &n);
	close(p->out);
	int rc = wait_exit(p->pid);
	if (p->via == VIA_CURL)
		parse_curl(o, n, rc, r);
	else
		parse_frame(o, n, rc, r);
	sodium_memzero(o, n);
	free(o);
	finish(r, p->t0);
	memset(p, 0, sizeof(*p));
}

void vd_do(const struct vd *v, enum via via, const struct vreq *q, struct vresp *r)
{
	if (via == VIA_CURL || q->as_nobody) {
		struct vd_proc p;
		vd_begin(v, via, q, -1, &p);
		vd_end(&p, r);
		return;
	}
	memset(r, 0, sizeof(*r));
	what_of(via, q, r->what, sizeof(r->what));
	double t0 = now_ms();
	do_lib(v, q, r);
	finish(r, t0);
}

/* Reads fd to EOF into a malloc'd NUL-terminated buffer; NULL on error. */
static char *read_all_fd(int fd, size_t *ret_len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		if (n == cap) {
			char *nb = realloc(buf, (cap *= 2) + 1);
			if (!nb)
				break;
			buf = nb;
		}
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		if (k == 0) {
			buf[n] = 0;
			*ret_len = n;
			return buf;
		}
		n += (size_t)k;
	}
	free(buf);
	return NULL;
}

/* The token from fd 3 into guarded memory, NUL-terminated; NULL on error. */
static struct secbuf *read_token_fd3(void)
{
	struct secbuf *t = secbuf_new(CLIENT_TOKEN_MAX);
	if (!t)
		return NULL;
	size_t n = 0;
	for (;;) {
		ssize_t k = read(3, t->data + n, CLIENT_TOKEN_MAX - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || (k > 0 && n + (size_t)k >= CLIENT_TOKEN_MAX - 1)) {
			secbuf_free(t);
			return NULL;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(3);
	t->data[n] = 0;
	t->len = n;
	return t;
}

int vd_client_main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "exec") == 0) {
		size_t n = 0;
		char *go = read_all_fd(STDIN_FILENO, &n); /* the start signal: EOF */
		free(go);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul < 0 || dup2(nul, STDIN_FILENO) < 0) {
			fprintf(stderr, "vdit_client: /dev/null: %s\n", strerror(errno));
			return 127;
		}
		close(nul);
		execve(argv[2], argv + 2, environ);
		fprintf(stderr, "vdit_client: execve %s: %s\n", argv[2], strerror(errno));
		return 127;
	}
	if (argc != 8 || strcmp(argv[1], "lib") != 0) {
		fprintf(stderr, "usage: vdit_client lib SOCKET METHOD PATH TIMEOUT_MS token|- body|-\n"
		                "       vdit_client exec PROGRAM [ARG...]\n"
		                "(the vaultd_it harness runs this; a token comes on fd 3, a body on stdin)\n");
		return 2;
	}
	vd_global_init();
	struct vd v = {.pid = -1};
	if (snprintf(v.sock, sizeof(v.sock), "%s", argv[2]) >= (int)sizeof(v.sock)) {
		fprintf(stderr, "vdit_client: socket path too long\n");
		return 2;
	}
	size_t blen = 0;
	char *in = read_all_fd(STDIN_FILENO, &blen); /* the body, or the start signal */
	struct secbuf *tok = strcmp(argv[6], "token") == 0 ? read_token_fd3() : NULL;
	if (!in || (strcmp(argv[6], "token") == 0 && !tok)) {
		fprintf(stderr, "vdit_client: reading the request from stdin / fd 3 failed\n");
		return 2;
	}
	struct vreq q = {
		.method = argv[3],
		.path = argv[4],
		.timeout_ms = atoi(argv[5]),
		.token = tok ? (const char *)tok->data : NULL,
		.body = strcmp(argv[7], "body") == 0 ? in : NULL,
		.body_len = blen,
	};
	struct vresp r = {0};
	do_lib(&v, &q, &r);
	secbuf_free(tok);
	sodium_memzero(in, blen);
	free(in);
	int hdr[2] = {r.status, r.err};
	int rc = write_all(STDOUT_FILENO, hdr, sizeof(hdr)) < 0 ||
	                 write_all(STDOUT_FILENO, r.ctype, sizeof(r.ctype)) < 0 ||
	                 write_all(STDOUT_FILENO, &r.len, sizeof(r.len)) < 0 ||
	                 write_all(STDOUT_FILENO, r.body, r.len) < 0
	             ? 1
	             : 0;
	vresp_clear(&r);
	return rc;
}

void vd_call(const struct vd *v, enum via via, const char *method, const char *path,
             const char *token, const char *body, struct vresp *r)
{
	struct vreq q = {.method = method, .path = path, .token = token, .body = body};
	vd_do(v, via, &q, r);
}

void vresp_clear(struct vresp *r)
{
	if (r->body) {
		sodium_memzero(r->body, r->len);
		free(r->body);
	}
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* ---- common operations ---- */

char *xfmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory");
	return s;
}

long long vd_put(const struct vd *v, enum via via, const char *token, const char *name,
                 const char *plain, const char *extra)
{
	char *val = b64s(plain);
	char *body = xfmt("{\"value\":\"%s\"%s}", val, extra ? extra : "");
	char *path = xfmt("/v1/secrets/%s", name);
	struct vresp r;
	vd_call(v, via, "PUT", path, token, body, &r);
	long long ver = r.status == 200 ? jint(r.json, "version") : -(long long)r.status;
	if (r.status != 200)
		fprintf(stderr, "vd_put %s: HTTP %d %.300s\n", r.what, r.status, r.body);
	vresp_clear(&r);
	free(path);
	sodium_memzero(body, strlen(body));
	free(body);
	free(val);
	return ver;
}

char *vd_get(const struct vd *v, enum via via, const char *token, const char *what, int *status,
             long long *version)
{
	char *path = xfmt("/v1/secrets/%s", what);
	struct vresp r;
	vd_call(v, via, "GET", path, token, NULL, &r);
	char *val = r.status == 200 ? resp_value(&r) : NULL;
	if (status)
		*status = r.status;
	if (version)
		*version = jint(r.json, "version");
	vresp_clear(&r);
	free(path);
	return val;
}

long long vd_revision(const struct vd *v)
{
	struct vresp r;
	vd_call(v, VIA_LIB, "GET", "/v1/sys/status", NULL, NULL, &r);
	long long rev = r.status == 200 ? jint(r.json, "revision") : -1;
	vresp_clear(&r);
	return rev;
}

double vd_metric(const struct vd *v, const char *name)
{
	struct vresp r;
	vd_call(v, VIA_LIB, "GET", "/metrics", NULL, NULL, &r);
	double val = -1;
	size_t n = strlen(name);
	for (const char *p = r.status == 200 ? r.body : NULL; p && *p;) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			val = strtod(p + n + 1, NULL);
		const char *e = strchr(p, '\n');
		p = e ? e + 1 : NULL;
	}
	vresp_clear(&r);
	return val;
}

/* ---- JSON ---- */

json_t *jget(const json_t *j, const char *path)
{
	char seg[256];
	const char *p = path;
	json_t *cur = (json_t *)j;
	while (cur && *p) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l >= sizeof(seg))
			return NULL;
		memcpy(seg, p, l);
		seg[l] = 0;
		if (json_is_array(cur)) {
			char *end;
			unsigned long i = strtoul(seg, &end, 10);
			cur = *end ? NULL : json_array_get(cur, i);
		} else {
			cur = json_object_get(cur, seg);
		}
		p = e ? e + 1 : p + l;
	}
	return cur;
}

const char *jstr(const json_t *j, const char *path) { return json_string_value(jget(j, path)); }

long long jint(const json_t *j, const char *path)
{
	json_t *x = jget(j, path);
	return json_is_integer(x) ? (long long)json_integer_value(x) : -999999;
}

bool jbool(const json_t *j, const char *path, bool *ret)
{
	json_t *x = jget(j, path);
	if (!json_is_boolean(x))
		return false;
	*ret = json_is_true(x);
	return true;
}

bool jarr_has(const json_t *j, const char *path, const char *s)
{
	json_t *a = jget(j, path), *x;
	size_t i;
	if (!json_is_array(a))
		return false;
	json_array_foreach(a, i, x)
	{
		if (json_is_string(x) && strcmp(json_string_value(x), s) == 0)
			return true;
	}
	return false;
}

/* ---- values ---- */

char *b64(const void *p, size_t len)
{
	size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(cap);
	if (!out)
		fatal("out of memory");
	sodium_bin2base64(out, cap, p, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

char *b64s(const char *s) { return b64(s, strlen(s)); }

char *unb64(const char *s, size_t *len)
{
	size_t sl = strlen(s), n = 0;
	unsigned char *out = malloc(sl + 1);
	if (!out)
		fatal("out of memory");
	if (sodium_base642bin(out, sl, s, sl, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(out);
		return NULL;
	}
	out[n] = 0;
	if (len)
		*len = n;
	return (char *)out;
}

void canary(char *out, size_t cap, const char *tag)
{
	unsigned char rnd[8];
	char hex[17];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	int n = snprintf(out, cap, VD_CANARY "%s-%s", tag, hex);
	if (n < 0 || (size_t)n >= cap)
		fatal("canary buffer too small");
}

char *resp_value(const struct vresp *r)
{
	const char *v = jstr(r->json, "value");
	return v ? unb64(v, NULL) : NULL;
}

char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *s = malloc(cap + 1);
	for (;;) {
		if (!s)
			break;
		if (n == cap) {
			char *t = realloc(s, (cap *= 2) + 1);
			if (!t) {
				free(s);
				s = NULL;
				break;
			}
			s = t;
		}
		ssize_t k = read(fd, s + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(s);
			s = NULL;
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (s) {
		s[n] = 0;
		if (len)
			*len = n;
	}
	return s;
}

/* ---- canary scan ---- */

size_t vd_scan_file(const char *path, bool loud)
{
	static const char *const pat[] = {VD_CANARY, VD_CANARY_B64};
	size_t n = 0, hits = 0;
	char *s = slurp(path, &n);
	if (!s) {
		fprintf(stderr, "scan: cannot read %s: %s\n", path, strerror(errno));
		return 1; /* could not prove it clean */
	}
	for (size_t k = 0; k < 2; k++) {
		const size_t pl = strlen(pat[k]);
		for (const char *p = s; n >= pl && (p = memmem(p, n - (size_t)(p - s), pat[k], pl)); p++) {
			if (loud && hits < 5)
				printf("PLAINTEXT%s FOUND: %s at offset %zu: %.40s\n", k ? " (base64)" : "", path,
				       (size_t)(p - s), p);
			hits++;
		}
	}
	free(s);
	return hits;
}

static size_t g_scan_hits, g_scan_files, g_scan_stores;

static int scan_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	g_scan_files++;
	const char *base = strrchr(path, '/');
	if (base && strcmp(base + 1, "store.db") == 0)
		g_scan_stores++;
	g_scan_hits += vd_scan_file(path, true);
	return 0;
}

size_t vd_scan_dir(const char *dir, size_t *files, size_t *stores)
{
	g_scan_hits = g_scan_files = g_scan_stores = 0;
	if (nftw(dir, scan_visit, 16, FTW_PHYS) < 0) {
		fprintf(stderr, "scan: walking %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (files)
		*files = g_scan_files;
	if (stores)
		*stores = g_scan_stores;
	return g_scan_hits;
}

/* ---- raw connections ---- */

int vd_connect(const struct vd *v)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(v->sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, v->sock, strlen(v->sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len > 0) {
		ssize_t k = write(fd, c, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		c += k;
		len -= (size_t)k;
	}
	return 0;
}

int raw_read_status(int fd, int timeout_ms)
{
	char buf[64];
	size_t n = 0;
	double until = now_ms() + timeout_ms;
	while (n < sizeof(buf) - 1) {
		int left = (int)(until - now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pf = {fd, POLLIN, 0};
		int pr = poll(&pf, 1, left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return pr < 0 ? -errno : -ETIMEDOUT;
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ECONNRESET;
		n += (size_t)k;
		buf[n] = 0;
		if (n >= 12)
			break;
	}
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -EPROTO;
	return status;
}

/* ---- a process's memory ---- */

/* Mappings bigger than this are a sanitizer's shadow or reservations: they
 * hold no heap, and reading them would take minutes. */
#define MEM_SCAN_MAX_MAPPING (256u << 20)
#define MEM_SCAN_CHUNK (1u << 20)

/* Searches [start, end) of the process behind memfd in chunks that
 * overlap by the needle's length, so no occurrence falls between two. */
static bool mapping_has(int memfd, unsigned long start, unsigned long end, const char *needle,
                        size_t nlen, char *buf)
{
	for (unsigned long at = start; at < end;) {
		size_t want = end - at < MEM_SCAN_CHUNK ? end - at : MEM_SCAN_CHUNK;
		ssize_t got = pread(memfd, buf, want, (off_t)at);
		if (got <= 0)
			return false; /* unmapped meanwhile, or not readable: nothing */
		if (memmem(buf, (size_t)got, needle, nlen))
			return true;
		if ((size_t)got < nlen || at + (size_t)got >= end)
			break;
		at += (size_t)got - (nlen - 1);
	}
	return false;
}

int vd_mem_has(pid_t pid, const char *needle)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	FILE *maps = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
	int memfd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = malloc(MEM_SCAN_CHUNK);
	int found = (maps && memfd >= 0 && buf) ? 0 : -errno;
	size_t nlen = strlen(needle);
	char line[512];
	while (found == 0 && fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3 || perms[0] != 'r' ||
		    perms[1] != 'w' || end - start > MEM_SCAN_MAX_MAPPING)
			continue;
		found = mapping_has(memfd, start, end, needle, nlen, buf);
	}
	free(buf);
	if (memfd >= 0)
		close(memfd);
	if (maps)
		fclose(maps);
	return found;
}
