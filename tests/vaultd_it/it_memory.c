/* What a request carried does not outlive it in vaultd's memory: a scan of
 * the daemon's writable mappings (/proc/<pid>/mem, as root) after requests
 * that ended early finds neither their token nor the body bytes it refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct vd g;

/* One HTTP thread, so that every connection's buffer comes from one
 * malloc arena: see hold_heap. */
static void up(void)
{
	vd_need_root("reading vaultd's memory (it is not dumpable)");
	static const char *const flags[] = {"--threads", "1", NULL};
	vd_up_with(&g, "memory", flags);
	/* Root without CAP_SYS_PTRACE (a container's default) cannot read a
	 * process that is not dumpable. */
	int rc = vd_mem_has(g.pid, "probe");
	if (rc == -EPERM || rc == -EACCES) {
		vd_stop(&g);
		vd_cannot_run("cannot read vaultd's memory: needs CAP_SYS_PTRACE");
	}
}

static void down(void)
{
	vd_stop(&g);
}

/* An open connection whose buffer lies above those made before it: when
 * one of those is freed, malloc cannot give it back to the system (which
 * would zero it) and keeps it, contents and all, as free heap, where a
 * missing wipe shows. */
static int hold_heap(void)
{
	int fd = vd_connect(&g);
	ck_assert_msg(fd >= 0, "connect: %d", fd);
	static const char part[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\n";
	ck_assert_int_eq(write_all(fd, part, sizeof(part) - 1), 0);
	return fd;
}

/* Does needle leave vaultd's memory within 3 s (the time to see a closed
 * connection)? Polled by scanning: a request would make a connection, and
 * its buffer could take the freed one's place and hide what it held. */
static bool gone_from_memory(const char *needle)
{
	double until = now_ms() + 3000;
	int has;
	while ((has = vd_mem_has(g.pid, needle)) == 1 && now_ms() < until)
		sleep_ms(50);
	ck_assert_msg(has >= 0, "cannot read vaultd's memory: %d", has);
	return has == 0;
}

/* After gone_from_memory: a header nothing wipes, sent with the same
 * request, is still in the freed buffer, so that buffer was scanned and not
 * reused (else the scan could not have seen a missing wipe). */
static void expect_buffer_scanned(const char *seen)
{
	ck_assert_msg(vd_mem_has(g.pid, seen) == 1,
	              "the request's X-Seen header is gone too: its buffer was reused or not "
	              "scanned, so this test cannot tell a wipe from chance");
}

/* A token-shaped string no other test uses: "vd_" and 43 characters. */
static void unique_token(char out[47], const char *tag)
{
	char c[96];
	canary(c, sizeof(c), tag);
	snprintf(out, 47, "vd_%-43.43s", c);
	for (char *p = out; *p; p++)
		if (*p == ' ' || *p == '-')
			*p = 'x';
}

/* Its client went away in the middle of the body: no handler saw the
 * request, so nothing wiped its Authorization header on the way out. */
START_TEST(test_the_token_of_a_request_cut_off_mid_body_is_wiped)
{
	char token[47], seen[96];
	unique_token(token, "cut");
	canary(seen, sizeof(seen), "seen-cut");
	int fd = vd_connect(&g);
	ck_assert_msg(fd >= 0, "connect: %d", fd);
	char *req = xfmt("PUT /v1/secrets/mem.cut HTTP/1.1\r\nHost: x\r\nX-Seen: %s\r\n"
	                 "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
	                 "Content-Length: 100\r\n\r\n{\"value\":",
	                 seen, token);
	ck_assert_int_eq(write_all(fd, req, strlen(req)), 0);
	free(req);
	/* The scan sees it while the request waits for the rest of its body:
	 * what it finds missing afterwards was there to be found. */
	double until = now_ms() + 5000;
	int had = 0;
	while ((had = vd_mem_has(g.pid, token)) == 0 && now_ms() < until)
		sleep_ms(20);
	ck_assert_msg(had == 1, "the pending request's token is not in vaultd's memory (%d)", had);
	int hold = hold_heap();
	close(fd);
	ck_assert_msg(gone_from_memory(token),
	              "the token of a request whose client left mid-body is still in vaultd's "
	              "memory after its connection closed");
	expect_buffer_scanned(seen);
	close(hold);
}
END_TEST

/* A body over 1 MiB is refused, but a client that does not wait for
 * "100 Continue" sends the start of it (a value) with its headers: those
 * bytes are wiped, not left in libmicrohttpd's buffer. */
START_TEST(test_body_bytes_sent_with_an_oversized_request_are_wiped)
{
	char value[96], seen[96];
	canary(value, sizeof(value), "big");
	canary(seen, sizeof(seen), "seen-big");
	size_t len = 1024 * 1024 + 4096;
	/* Connection: close, so that libmicrohttpd frees the buffer as it is
	 * instead of zeroing it for a next request. */
	char *head = xfmt("PUT /v1/secrets/mem.big HTTP/1.1\r\nHost: x\r\nX-Seen: %s\r\n"
	                  "Connection: close\r\nContent-Type: application/json\r\n"
	                  "Content-Length: %zu\r\n\r\n",
	                  seen, len);
	char *req = malloc(strlen(head) + len);
	memcpy(req, head, strlen(head));
	char *body = req + strlen(head);
	memset(body, 'a', len);
	memcpy(body, "{\"value\":\"", 10);
	memcpy(body + 10, value, strlen(value));
	int fd = vd_connect(&g);
	ck_assert_msg(fd >= 0, "connect: %d", fd);
	int hold = hold_heap();
	/* An older vaultd answered before reading the body: the write may
	 * then fail, and the answer is read all the same. */
	(void)write_all(fd, req, strlen(head) + len);
	free(head);
	free(req);
	ck_assert_int_eq(raw_read_status(fd, 5000), 413);
	close(fd);
	ck_assert_msg(gone_from_memory(value),
	              "body bytes of a request refused with 413 are still in vaultd's memory");
	expect_buffer_scanned(seen);
	close(hold);
	/* And the refusal changed nothing. */
	int st = 0;
	char *v = vd_get(&g, VIA_LIB, NULL, "mem.big", &st, NULL);
	ck_assert_int_eq(st, 404);
	free(v);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd memory");
	TCase *tc = tcase_create("memory");
	tcase_add_unchecked_fixture(tc, up, down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_the_token_of_a_request_cut_off_mid_body_is_wiped);
	tcase_add_test(tc, test_body_bytes_sent_with_an_oversized_request_are_wiped);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
