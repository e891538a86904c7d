/* lib/httpc: the unix-socket HTTP/1.1 client against a scripted server thread
 * in the same process (Content-Length, chunked, until-close bodies, interim
 * answers, timeouts, EINTR, limits, malformed answers, streaming, escaping). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"
#include "check_support.h"
#include "hygiene.h"

#define MAX_PARTS 16

/* One scripted connection: read the request, then write parts with a pause
 * between them, then close (or hold the connection open without answering). */
struct server {
	char dir[64];
	char path[108];
	int lfd;
	pthread_t thr;
	const char *parts[MAX_PARTS];
	size_t lens[MAX_PARTS];
	size_t nparts;
	int pause_ms;
	bool hold;
	bool drip; /* write every part one byte at a time */
	int gate;  /* > 0: answer only once a byte comes from this fd (2 s at most) */
	char req[65536];
	size_t req_len;
};

static struct server S;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Reads until the end of the head and Content-Length bytes of body. */
static void read_request(int fd)
{
	S.req_len = 0;
	for (;;) {
		ssize_t n = read(fd, S.req + S.req_len, sizeof(S.req) - 1 - S.req_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		S.req_len += (size_t)n;
		S.req[S.req_len] = '\0';
		char *end = strstr(S.req, "\r\n\r\n");
		if (!end)
			continue;
		size_t want = 0;
		char *cl = strcasestr(S.req, "Content-Length:");
		if (cl && cl < end)
			want = strtoul(cl + 15, NULL, 10);
		if (S.req_len >= (size_t)(end + 4 - S.req) + want)
			break;
	}
}

static void *serve(void *arg)
{
	(void)arg;
	/* Timer signals go to the client thread, which must cope with EINTR. */
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	int fd;
	while ((fd = accept(S.lfd, NULL, NULL)) < 0 && errno == EINTR)
		;
	if (fd < 0)
		return NULL;
	read_request(fd);
	if (S.gate > 0) {
		struct pollfd p = {.fd = S.gate, .events = POLLIN};
		char b;
		if (poll(&p, 1, 2000) != 1 || read(S.gate, &b, 1) != 1)
			S.nparts = 0; /* no word from the client: answer nothing */
	}
	if (S.hold) {
		sleep_ms(3000);
	} else {
		for (size_t i = 0; i < S.nparts; i++) {
			if (i > 0 && S.pause_ms > 0)
				sleep_ms(S.pause_ms);
			if (S.drip)
				for (size_t j = 0; j < S.lens[i]; j++)
					write_all(fd, S.parts[i] + j, 1);
			else
				write_all(fd, S.parts[i], S.lens[i]);
		}
	}
	close(fd);
	return NULL;
}

static void add_part_n(const char *p, size_t n)
{
	ck_assert_uint_lt(S.nparts, MAX_PARTS);
	S.parts[S.nparts] = p;
	S.lens[S.nparts] = n;
	S.nparts++;
}

static void add_part(const char *p)
{
	add_part_n(p, strlen(p));
}

static void setup(void)
{
	memset(&S, 0, sizeof(S));
	snprintf(S.dir, sizeof(S.dir), "/tmp/httpc-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(S.dir));
	snprintf(S.path, sizeof(S.path), "%s/s.sock", S.dir);
	S.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(S.lfd, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, S.path, strlen(S.path) + 1);
	ck_assert_int_eq(bind(S.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(S.lfd, 4), 0);
}

static void teardown(void)
{
	if (S.lfd >= 0)
		close(S.lfd);
	unlink(S.path);
	rmdir(S.dir);
}

static void start(void)
{
	ck_assert_int_eq(pthread_create(&S.thr, NULL, serve, NULL), 0);
}

static void finish(void)
{
	pthread_join(S.thr, NULL);
}

static struct httpc_request get_req(const char *path)
{
	struct httpc_request r = {.socket_path = S.path,
	                          .method = "GET",
	                          .path = path,
	                          .timeout_ms = 5000,
	                          .body_fd = -1};
	return r;
}

/* Runs one GET of /x against the script; returns httpc_do's result. */
static int do_get(struct httpc_response **resp)
{
	struct httpc_request rq = get_req("/x");
	start();
	int r = httpc_do(&rq, resp);
	finish();
	return r;
}

START_TEST(test_content_length_body_is_returned_exactly)
{
	add_part("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
	         "{\"a\":\"bc\"}\n");
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), 0);
	ck_assert_int_eq(resp->status, 200);
	ck_assert_str_eq(resp->content_type, "application/json");
	ck_assert_ptr_nonnull(resp->body);
	ck_assert_uint_eq(resp->body->len, 11);
	ck_assert_str_eq((char *)resp->body->data, "{\"a\":\"bc\"}\n");
	httpc_response_free(resp);
}
END_TEST

START_TEST(test_body_beyond_content_length_is_ignored)
{
	add_part("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcTRAILING-GARBAGE");
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), 0);
	ck_assert_uint_eq(resp->body->len, 3);
	ck_assert_str_eq((char *)resp->body->data, "abc");
	httpc_response_free(resp);
}
END_TEST

START_TEST(test_chunked_body_is_reassembled_with_extensions_and_trailers)
{
	add_part("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n");
	add_part("0\r\nX-Trailer: yes\r\n\r\n");
	S.pause_ms = 50;
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), 0);
	ck_assert_int_eq(resp->status, 201);
	ck_assert_uint_eq(resp->body->len, 16);
	ck_assert_str_eq((char *)resp->body->data, "hello 0123456789");
	httpc_response_free(resp);
}
END_TEST

START_TEST(test_response_dripped_one_byte_at_a_time_is_parsed)
{
	add_part("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n"
	         "\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
	S.drip = true;
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), 0);
	ck_assert_str_eq((char *)resp->body->data, "abcde");
	ck_assert_str_eq(resp->content_type, "text/plain");
	httpc_response_free(resp);
}
END_TEST

START_TEST(test_body_without_length_is_read_until_close)
{
	add_part("HTTP/1.0 200 OK\r\n\r\nfirst ");
	add_part("second");
	S.pause_ms = 30;
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), 0);
	ck_assert_str_eq((char *)resp->body->data, "first second");
	httpc_response_free(resp);
}
END_TEST

START_TEST(test_interim_100_continue_is_skipped)
{
	add_part(
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno");
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), 0);
	ck_assert_int_eq(resp->status, 404);
	ck_assert_str_eq((char *)resp->body->data, "no");
	httpc_response_free(resp);
}
END_TEST

START_TEST(test_204_has_an_empty_body)
{
	add_part("HTTP/1.1 204 No Content\r\n\r\n");
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), 0);
	ck_assert_int_eq(resp->status, 204);
	ck_assert_ptr_nonnull(resp->body);
	ck_assert_uint_eq(resp->body->len, 0);
	httpc_response_free(resp);
}
END_TEST

/* GETs /x and checks that the body is exactly these n bytes, NUL after. */
static void get_expect_body(const char *body, size_t n)
{
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), 0);
	ck_assert_uint_eq(resp->body->len, n);
	ck_assert_int_eq(memcmp(resp->body->data, body, n), 0);
	ck_assert_int_eq(resp->body->data[n], 0);
	httpc_response_free(resp);
}

START_TEST(test_large_body_grows_byte_exact)
{
	size_t n = 3u * 1024u * 1024u + 17u;
	char head[128];
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
	char *body = malloc(n);
	ck_assert_ptr_nonnull(body);
	for (size_t i = 0; i < n; i++)
		body[i] = (char)(i * 7 + (i >> 11));
	add_part(head);
	add_part_n(body, n);
	get_expect_body(body, n);
	free(body);
}
END_TEST

/* Bodies around the size that is received in place (the 16 KiB head buffer
 * plus the 4 KiB request head), sent in several parts: byte-exact either way. */
static const size_t split_lens[] = {1, 16000, 20479, 20480, 20481, 40000};

START_TEST(test_body_in_parts_around_the_in_place_size_is_byte_exact)
{
	size_t n = split_lens[_i];
	char head[128];
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
	char *body = malloc(n);
	ck_assert_ptr_nonnull(body);
	for (size_t i = 0; i < n; i++)
		body[i] = (char)('a' + i % 23);
	add_part(head);
	for (size_t off = 0; off < n; off += 7000)
		add_part_n(body + off, n - off < 7000 ? n - off : 7000);
	S.pause_ms = 5;
	get_expect_body(body, n);
	free(body);
}
END_TEST

START_TEST(test_request_carries_method_token_and_body)
{
	add_part("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	struct secbuf *tok = secbuf_dup("vd_abc", 6);
	static const char body[] = "{\"names\":[\"db\"]}";
	struct httpc_request rq = {.socket_path = S.path,
	                           .method = "POST",
	                           .path = "/v1/bundle",
	                           .token = tok,
	                           .body = body,
	                           .body_len = sizeof(body) - 1,
	                           .timeout_ms = 5000,
	                           .body_fd = -1};
	struct httpc_response *resp = NULL;
	start();
	ck_assert_int_eq(httpc_do(&rq, &resp), 0);
	finish();
	ck_assert_msg(strncmp(S.req, "POST /v1/bundle HTTP/1.1\r\n", 26) == 0, "request line: %s",
	              S.req);
	ck_assert_ptr_nonnull(strstr(S.req, "\r\nAuthorization: Bearer vd_abc\r\n"));
	ck_assert_ptr_nonnull(strstr(S.req, "\r\nContent-Type: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(S.req, "\r\nContent-Length: 16\r\n"));
	ck_assert_ptr_nonnull(strstr(S.req, "\r\n\r\n{\"names\":[\"db\"]}"));
	httpc_response_free(resp);
	secbuf_free(tok);
}
END_TEST

START_TEST(test_get_without_token_sends_no_authorization_or_length)
{
	add_part("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), 0);
	ck_assert_ptr_null(strcasestr(S.req, "Authorization"));
	ck_assert_ptr_null(strcasestr(S.req, "Content-Length"));
	httpc_response_free(resp);
}
END_TEST

START_TEST(test_token_with_newline_is_refused_before_sending)
{
	struct secbuf *tok = secbuf_dup("vd_a\r\nX: y", 10);
	struct httpc_request rq = get_req("/x");
	rq.token = tok;
	struct httpc_response *resp = (void *)0x1;
	ck_assert_int_eq(httpc_do(&rq, &resp), -EINVAL);
	ck_assert_ptr_eq(resp, (void *)0x1);
	secbuf_free(tok);
}
END_TEST

START_TEST(test_path_with_space_is_refused)
{
	struct httpc_request rq = get_req("/x y");
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(httpc_do(&rq, &resp), -EINVAL);
}
END_TEST

START_TEST(test_streamed_body_goes_to_fd_and_not_to_memory)
{
	add_part("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
	         "Transfer-Encoding: chunked\r\n\r\n4\r\nSQLi\r\n");
	add_part("3\r\nte!\r\n0\r\n\r\n");
	S.pause_ms = 20;
	char file[96];
	snprintf(file, sizeof(file), "%s/out", S.dir);
	int fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	struct httpc_request rq = get_req("/v1/sys/backup");
	rq.body_fd = fd;
	rq.max_body = 0; /* a stream has no cap by default */
	struct httpc_response *resp = NULL;
	start();
	ck_assert_int_eq(httpc_do(&rq, &resp), 0);
	finish();
	ck_assert_ptr_null(resp->body);
	ck_assert_int_eq(resp->status, 200);
	char got[32] = {0};
	ck_assert_int_eq(pread(fd, got, sizeof(got) - 1, 0), 7);
	ck_assert_str_eq(got, "SQLite!");
	close(fd);
	unlink(file);
	httpc_response_free(resp);
}
END_TEST

START_TEST(test_body_over_max_is_emsgsize_by_length)
{
	add_part("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
	struct httpc_request rq = get_req("/x");
	rq.max_body = 99;
	struct httpc_response *resp = NULL;
	start();
	ck_assert_int_eq(httpc_do(&rq, &resp), -EMSGSIZE);
	finish();
	ck_assert_ptr_null(resp);
}
END_TEST

START_TEST(test_body_over_max_is_emsgsize_when_chunked)
{
	add_part("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n");
	struct httpc_request rq = get_req("/x");
	rq.max_body = 7;
	struct httpc_response *resp = NULL;
	start();
	ck_assert_int_eq(httpc_do(&rq, &resp), -EMSGSIZE);
	finish();
}
END_TEST

START_TEST(test_body_of_exactly_max_is_accepted)
{
	add_part("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n");
	struct httpc_request rq = get_req("/x");
	rq.max_body = 8;
	struct httpc_response *resp = NULL;
	start();
	ck_assert_int_eq(httpc_do(&rq, &resp), 0);
	finish();
	ck_assert_str_eq((char *)resp->body->data, "abcdefgh");
	httpc_response_free(resp);
}
END_TEST

/* Each malformed answer must be -EPROTO, never a half-parsed success. */
static const char *const malformed[] = {
    "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
    "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
    "SSH-2.0-OpenSSH\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: x1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    "HTTP/1.1 200 OK\r\nContent-Len",
    "",
};

START_TEST(test_malformed_answer_is_eproto)
{
	add_part(malformed[_i]);
	struct httpc_response *resp = NULL;
	int r = do_get(&resp);
	ck_assert_msg(r == -EPROTO, "case %d: expected -EPROTO, got %d", _i, r);
	ck_assert_ptr_null(resp);
}
END_TEST

START_TEST(test_oversized_head_is_eproto)
{
	static char big[40000];
	memcpy(big, "HTTP/1.1 200 OK\r\nX-Big: ", 24);
	memset(big + 24, 'a', sizeof(big) - 24 - 5);
	memcpy(big + sizeof(big) - 5, "\r\n\r\n", 5);
	add_part(big);
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(do_get(&resp), -EPROTO);
}
END_TEST

START_TEST(test_silent_server_times_out_on_time)
{
	S.hold = true;
	struct httpc_request rq = get_req("/x");
	rq.timeout_ms = 300;
	struct httpc_response *resp = NULL;
	struct timespec a, b;
	start();
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(httpc_do(&rq, &resp), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ck_assert_msg(ms >= 280 && ms < 1500, "timed out after %ld ms, expected ~300", ms);
	finish();
}
END_TEST

static void on_alarm(int sig)
{
	(void)sig;
}

START_TEST(test_signals_during_the_wait_do_not_abort_the_request)
{
	/* A handler without SA_RESTART makes poll/recv fail with EINTR. */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	struct itimerval it = {{0, 2000}, {0, 2000}};
	add_part("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
	add_part("late");
	S.pause_ms = 200;
	struct httpc_request rq = get_req("/x");
	struct httpc_response *resp = NULL;
	start();
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	int r = httpc_do(&rq, &resp);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	finish();
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq((char *)resp->body->data, "late");
	httpc_response_free(resp);
}
END_TEST

START_TEST(test_missing_socket_is_enoent)
{
	struct httpc_request rq = get_req("/x");
	char p[128];
	snprintf(p, sizeof(p), "%s/none.sock", S.dir);
	rq.socket_path = p;
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(httpc_do(&rq, &resp), -ENOENT);
}
END_TEST

START_TEST(test_socket_nobody_listens_on_is_econnrefused)
{
	close(S.lfd); /* the file stays, nothing listens */
	S.lfd = -1;
	struct httpc_request rq = get_req("/x");
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(httpc_do(&rq, &resp), -ECONNREFUSED);
}
END_TEST

START_TEST(test_socket_without_permission_is_eacces)
{
	if (geteuid() != 0)
		return; /* root is needed to become another user */
	ck_assert_int_eq(chmod(S.path, 0600), 0);
	ck_assert_int_eq(chmod(S.dir, 0755), 0);
	/* As nobody, in a grandchild: the fixture's teardown stays root. */
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		struct httpc_request rq = get_req("/x");
		struct httpc_response *resp = NULL;
		_exit(httpc_do(&rq, &resp) == -EACCES ? 0 : 1);
	}
	int ws;
	ck_assert_int_eq(waitpid(p, &ws, 0), p);
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "status %d", WEXITSTATUS(ws));
}
END_TEST

START_TEST(test_overlong_socket_path_is_enametoolong)
{
	char p[200];
	memset(p, 'a', sizeof(p) - 1);
	p[0] = '/';
	p[sizeof(p) - 1] = '\0';
	struct httpc_request rq = get_req("/x");
	rq.socket_path = p;
	struct httpc_response *resp = NULL;
	ck_assert_int_eq(httpc_do(&rq, &resp), -ENAMETOOLONG);
}
END_TEST

/* on_sent: once per request, after the whole request is sent and before
 * the answer is awaited: the server answers only once it has run (else the
 * request fails), with and without a token. */
struct sent_probe {
	int fd;
	int calls;
};

static void on_sent(void *ctx)
{
	struct sent_probe *p = ctx;
	p->calls++;
	ck_assert_int_eq(write(p->fd, "x", 1), 1);
}

START_TEST(test_on_sent_runs_once_before_the_answer_is_awaited)
{
	add_part("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	struct secbuf *tok = secbuf_dup("vd_abc", 6);
	ck_assert_ptr_nonnull(tok);
	for (int with_token = 0; with_token < 2; with_token++) {
		int pfd[2];
		ck_assert_int_eq(pipe(pfd), 0);
		S.gate = pfd[0];
		struct sent_probe probe = {.fd = pfd[1]};
		struct httpc_request rq = get_req("/x");
		rq.method = "POST";
		rq.body = "{\"names\":[\"a\"]}";
		rq.body_len = strlen(rq.body);
		rq.token = with_token ? tok : NULL;
		rq.on_sent = on_sent;
		rq.on_sent_ctx = &probe;
		struct httpc_response *resp = NULL;
		start();
		ck_assert_int_eq(httpc_do(&rq, &resp), 0);
		finish();
		ck_assert_int_eq(probe.calls, 1);
		ck_assert_int_eq(resp->status, 200);
		ck_assert_str_eq((char *)resp->body->data, "ok");
		ck_assert_ptr_nonnull(strstr(S.req, "{\"names\":[\"a\"]}"));
		ck_assert(!strstr(S.req, "Authorization: Bearer vd_abc") == !with_token);
		httpc_response_free(resp);
		close(pfd[0]);
		close(pfd[1]);
	}
	secbuf_free(tok);
}
END_TEST

START_TEST(test_escape_encodes_reserved_bytes)
{
	char out[64];
	ck_assert_int_eq(httpc_escape("a b/c?d=e&f%\xff~._-Z9", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a%20b%2Fc%3Fd%3De%26f%25%FF~._-Z9");
}
END_TEST

START_TEST(test_escape_too_small_is_enospc)
{
	char out[6];
	ck_assert_int_eq(httpc_escape("abcde", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "abcde");
	ck_assert_int_eq(httpc_escape("abcdef", out, sizeof(out)), -ENOSPC);
	ck_assert_int_eq(httpc_escape("abc/", out, sizeof(out)), -ENOSPC);
}
END_TEST

static Suite *httpc_suite(void)
{
	Suite *s = suite_create("httpc");
	TCase *t = tcase_create("client");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 20);
	tcase_add_test(t, test_content_length_body_is_returned_exactly);
	tcase_add_test(t, test_body_beyond_content_length_is_ignored);
	tcase_add_test(t, test_chunked_body_is_reassembled_with_extensions_and_trailers);
	tcase_add_test(t, test_response_dripped_one_byte_at_a_time_is_parsed);
	tcase_add_test(t, test_body_without_length_is_read_until_close);
	tcase_add_test(t, test_interim_100_continue_is_skipped);
	tcase_add_test(t, test_204_has_an_empty_body);
	tcase_add_test(t, test_large_body_grows_byte_exact);
	tcase_add_loop_test(t, test_body_in_parts_around_the_in_place_size_is_byte_exact, 0,
	                    sizeof(split_lens) / sizeof(split_lens[0]));
	tcase_add_test(t, test_request_carries_method_token_and_body);
	tcase_add_test(t, test_get_without_token_sends_no_authorization_or_length);
	tcase_add_test(t, test_token_with_newline_is_refused_before_sending);
	tcase_add_test(t, test_path_with_space_is_refused);
	tcase_add_test(t, test_streamed_body_goes_to_fd_and_not_to_memory);
	tcase_add_test(t, test_body_over_max_is_emsgsize_by_length);
	tcase_add_test(t, test_body_over_max_is_emsgsize_when_chunked);
	tcase_add_test(t, test_body_of_exactly_max_is_accepted);
	tcase_add_loop_test(t, test_malformed_answer_is_eproto, 0,
	                    (int)(sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(t, test_oversized_head_is_eproto);
	tcase_add_test(t, test_silent_server_times_out_on_time);
	tcase_add_test(t, test_signals_during_the_wait_do_not_abort_the_request);
	tcase_add_test(t, test_missing_socket_is_enoent);
	tcase_add_test(t, test_socket_nobody_listens_on_is_econnrefused);
	tcase_add_test(t, test_socket_without_permission_is_eacces);
	tcase_add_test(t, test_overlong_socket_path_is_enametoolong);
	tcase_add_test(t, test_on_sent_runs_once_before_the_answer_is_awaited);
	tcase_add_test(t, test_escape_encodes_reserved_bytes);
	tcase_add_test(t, test_escape_too_small_is_enospc);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	/* The server writes into connections the client may have dropped. */
	signal(SIGPIPE, SIG_IGN);
	return check_support_run(httpc_suite());
}
