/* inject's bundle fetch against a scripted server thread: a sealed daemon
 * is retried until it answers, the work done meanwhile (the temp files)
 * is undone after every try that failed, and a daemon sealed for the whole
 * --wait fails with FETCH_SEALED and nothing left to undo. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_support.h"
#include "fetch.h"

#define SEALED_BODY "{\"error\":{\"code\":\"sealed\",\"message\":\"vaultd is sealed\"}}"
/* "hunter2" in base64: aHVudGVyMg== */
#define BUNDLE_BODY                                                                                \
	"{\"revision\":7,\"secrets\":{\"db\":{\"version\":3,\"value\":\"aHVudGVyMg==\"}}}"

static struct {
	char dir[64], path[108];
	int lfd;
	pthread_t thr;
	int sealed_answers; /* answer 503 this many times, then the bundle */
	int served;
	char log[64]; /* "f" for each meanwhile->fn, "u" for each undo, "s" per answer */
} S;

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;

static void put_log(char c)
{
	pthread_mutex_lock(&g_log_lock);
	size_t n = strlen(S.log);
	if (n + 1 < sizeof(S.log))
		S.log[n] = c;
	pthread_mutex_unlock(&g_log_lock);
}

static void answer(int fd, const char *text)
{
	size_t n = strlen(text);
	while (n > 0) {
		ssize_t w = write(fd, text, n);
		if (w <= 0)
			return;
		text += w;
		n -= (size_t)w;
	}
}

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(S.lfd, NULL, NULL);
		if (fd < 0)
			return NULL; /* the listener was shut down */
		char req[4096];
		size_t got = 0;
		while (got < sizeof(req) - 1) { /* the whole request: head and body */
			ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") && strstr(req, "]"))
				break;
		}
		put_log('s');
		bool sealed = S.served++ < S.sealed_answers;
		const char *body = sealed ? SEALED_BODY : BUNDLE_BODY;
		char text[512];
		snprintf(text, sizeof(text),
		         "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: "
		         "%zu\r\n\r\n%s",
		         sealed ? "503 Service Unavailable" : "200 OK", strlen(body), body);
		answer(fd, text);
		close(fd);
	}
}

static void setup(void)
{
	memset(&S, 0, sizeof(S));
	snprintf(S.dir, sizeof(S.dir), "/tmp/fetch-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(S.dir));
	snprintf(S.path, sizeof(S.path), "%s/v.sock", S.dir);
	S.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, S.path, strlen(S.path) + 1);
	ck_assert_int_eq(bind(S.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(S.lfd, 8), 0);
	ck_assert_int_eq(pthread_create(&S.thr, NULL, serve, NULL), 0);
}

static void teardown(void)
{
	shutdown(S.lfd, SHUT_RDWR);
	pthread_join(S.thr, NULL);
	close(S.lfd);
	unlink(S.path);
	rmdir(S.dir);
}

static void fn(void *ctx)
{
	(void)ctx;
	put_log('f');
}

static void undo(void *ctx)
{
	(void)ctx;
	put_log('u');
}

static const char NAMES[][VAULT_MAX_NAME_LEN + 1] = {"db"};

START_TEST(test_sealed_tries_are_undone_then_the_bundle_comes)
{
	S.sealed_answers = 2;
	struct fetch_target t = {.socket = S.path};
	struct fetch_meanwhile mw = {.fn = fn, .undo = undo};
	struct bundle *b = NULL;
	char err[512] = "";
	ck_assert_msg(fetch_bundle(&t, NAMES, 1, false, 5000, &mw, &b, err, sizeof(err)) ==
	                  FETCH_OK,
	              "%s", err);
	/* The server logs its answer after reading the request, so it can land
	 * on either side of the client's fn; the order that matters is that
	 * every failed try is undone before the next one is sent. */
	char order[64] = "";
	for (const char *p = S.log; *p; p++)
		if (*p != 's')
			strncat(order, (char[]){*p, 0}, sizeof(order) - strlen(order) - 1);
	ck_assert_str_eq(order, "fufuf");
	ck_assert_int_eq(S.served, 3);
	const struct bundle_entry *e = bundle_find(b, "db");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->version, 3);
	ck_assert_uint_eq(e->value->len, 7);
	ck_assert_int_eq(memcmp(e->value->data, "hunter2", 7), 0);
	bundle_free(b);
}
END_TEST

START_TEST(test_sealed_for_the_whole_wait_leaves_nothing_to_undo)
{
	S.sealed_answers = 1000;
	struct fetch_target t = {.socket = S.path};
	struct fetch_meanwhile mw = {.fn = fn, .undo = undo};
	struct bundle *b = NULL;
	char err[512] = "";
	ck_assert_int_eq(fetch_bundle(&t, NAMES, 1, false, 300, &mw, &b, err, sizeof(err)),
	                 FETCH_SEALED);
	ck_assert_ptr_null(b);
	size_t f = 0, u = 0;
	for (const char *p = S.log; *p; p++) {
		f += *p == 'f';
		u += *p == 'u';
	}
	ck_assert_uint_ge(f, 2); /* it did retry */
	ck_assert_uint_eq(f, u);
	ck_assert_ptr_nonnull(strstr(err, "sealed"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inject-fetch");
	TCase *t = tcase_create("fetch");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, test_sealed_tries_are_undone_then_the_bundle_comes);
	tcase_add_test(t, test_sealed_for_the_whole_wait_leaves_nothing_to_undo);
	suite_add_tcase(s, t);
	return check_support_run(s);
}
