/* loadgen: N keep-alive HTTP/1.1 connections to vaultd's unix socket, driven
 * from one epoll loop; measures authenticated, audited, decrypted secret reads
 * (or durable writes) per second, p50/p99 latency, and CPU per request (its
 * own, and the server's with --server-pid). Sets up its own secret,
 * policy and token as admin, then (as root) drops to nobody so that every
 * request goes through token auth. With --fresh every request gets a new
 * connection, as inject's does (the latency then includes the connect);
 * --mode bundle asks for BUNDLE_NAMES secrets in one POST /v1/bundle, as
 * inject does.
 * Benchmark tool, not a test. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define RESP_MAX (64 * 1024)     /* a bench response is small */
#define REQ_MAX 1024
#define VALUE_BYTES 32           /* like redis-benchmark -d 32 */
#define TOKEN_MAX 128
#define NOBODY 65534u
#define WARMUP_MS 300.0
#define BUNDLE_NAMES 5           /* bench.read and bench.b2 .. bench.b5 */

struct opts {
	const char *socket;
	const char *mode;  /* "read", "bundle", "write" or "health" (audited, no store read) */
	int conns;
	double seconds;
	bool as_nobody;
	bool fresh; /* one request per connection */
	long server_pid; /* --server-pid: its CPU over the measured window, 0 = none */
};

struct conn {
	int fd, id;
	char *req;         /* sodium_malloc'd: carries the token */
	size_t req_len, sent;
	char buf[RESP_MAX];
	size_t got;
	double t_start;
	bool armed_out; /* registered for EPOLLOUT: only while a request waits to go */
};

struct stats {
	uint32_t *lat_us;  /* one sample per completed request after warm-up */
	size_t n, cap;
	uint64_t ok, errors, reconnects;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU seconds (user + system) this process has used. */
static double self_cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU seconds process pid has used, all its threads (/proc/PID/stat is
 * readable by anyone, so this works after dropping to nobody); -1 when it
 * cannot be read. */
static double proc_cpu_s(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* Fields after the command (which may hold spaces) start past its ')':
	 * utime and stime are the 12th and 13th of them. */
	char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	if (!p ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Parses one complete response in buf[0..len): 0 when incomplete, else its
 * total length; *status, *close_after, and the body's offset and length. */
static size_t parse_response(const char *buf, size_t len, int *status, bool *close_after,
                             size_t *body_off, size_t *body_len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (!end)
		return 0;
	size_t hlen = (size_t)(end - buf) + 4;
	if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
		return (size_t)-1;
	size_t clen = 0;
	bool have_len = false;
	*close_after = false;
	for (const char *p = buf; p < end;) {
		const char *nl = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
		if (!nl)
			break;
		if (strncasecmp(p, "Content-Length:", 15) == 0) {
			clen = strtoul(p + 15, NULL, 10);
			have_len = true;
		} else if (strncasecmp(p, "Connection:", 11) == 0 && strstr(p, "close") && strstr(p, "close") < nl) {
			*close_after = true;
		}
		p = nl + 2;
	}
	if (!have_len)
		clen = 0; /* 204 and friends; vaultd sends Content-Length otherwise */
	if (len < hlen + clen)
		return 0;
	*body_off = hlen;
	*body_len = clen;
	return hlen + clen;
}

/* One blocking request on a fresh connection (setup only). Returns the status;
 * the body (NUL-terminated) in out. */
static int simple_request(const char *sock, const char *method, const char *path, const char *body,
                          char *out, size_t outcap)
{
	int fd = connect_unix(sock);
	if (fd < 0)
		die(sock);
	char req[REQ_MAX * 2];
	int n = snprintf(req, sizeof(req),
	                 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
	                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	                 method, path, body ? strlen(body) : 0, body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(req) || write_all(fd, req, (size_t)n) < 0)
		die("setup request");
	static char buf[RESP_MAX];
	size_t got = 0;
	int status = 0;
	bool cl;
	size_t off = 0, blen = 0, total = 0;
	while (got < sizeof(buf) - 1) {
		ssize_t k = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
		total = parse_response(buf, got, &status, &cl, &off, &blen);
		if (total)
			break;
	}
	close(fd);
	if (!total || total == (size_t)-1) {
		fprintf(stderr, "loadgen: no answer to %s %s\n", method, path);
		exit(1);
	}
	size_t c = blen < outcap - 1 ? blen : outcap - 1;
	memcpy(out, buf + off, c);
	out[c] = 0;
	sodium_memzero(buf, sizeof(buf));
	return status;
}

/* Secret, policy and token for the run; the token stays in guarded memory. */
static char *setup(const struct opts *o, char *value_b64, size_t b64cap)
{
	unsigned char val[VALUE_BYTES];
	randombytes_buf(val, sizeof(val));
	sodium_bin2base64(value_b64, b64cap, val, sizeof(val), sodium_base64_VARIANT_ORIGINAL);
	char body[512], out[4096];
	snprintf(body, sizeof(body), "{\"value\":\"%s\"}", value_b64);
	/* The bundle's other names hold the same value: every answer must
	 * carry it, as a read's must. */
	for (int i = 1; i <= BUNDLE_NAMES; i++) {
		char path[64];
		if (i == 1)
			snprintf(path, sizeof(path), "/v1/secrets/bench.read");
		else
			snprintf(path, sizeof(path), "/v1/secrets/bench.b%d", i);
		int st = simple_request(o->socket, "PUT", path, body, out, sizeof(out));
		if (st != 200) {
			fprintf(stderr, "loadgen: PUT %s: %d %s (run as an admin: root)\n", path, st,
			        out);
			exit(1);
		}
	}
	int st = simple_request(o->socket, "PUT", "/v1/policies/bench",
	                    "{\"rules\":[{\"names\":\"bench.*\",\"capabilities\":[\"read\",\"write\"]}]}",
	                    out, sizeof(out));
	if (st != 200) {
		fprintf(stderr, "loadgen: PUT policy: %d %s\n", st, out);
		exit(1);
	}
	st = simple_request(o->socket, "POST", "/v1/tokens", "{\"policies\":[\"bench\"],\"ttl\":3600}",
	                    out, sizeof(out));
	const char *t = strstr(out, "\"token\":\"");
	if (st != 201 || !t) {
		fprintf(stderr, "loadgen: POST token: %d\n", st);
		exit(1);
	}
	t += 9;
	size_t tl = strcspn(t, "\"");
	char *token = sodium_malloc(TOKEN_MAX);
	if (!token || tl >= TOKEN_MAX)
		die("token");
	memcpy(token, t, tl);
	token[tl] = 0;
	sodium_memzero(out, sizeof(out));
	return token;
}

static void drop_to_nobody(void)
{
	if (geteuid() != 0)
		return; /* already not an admin unless configured so */
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0 || geteuid() != NOBODY)
		die("dropping to nobody");
}

#define BUNDLE_BODY \
	"{\"names\":[\"bench.read\",\"bench.b2\",\"bench.b3\",\"bench.b4\",\"bench.b5\"]}"

static void build_request(struct conn *c, const struct opts *o, const char *token, const char *val)
{
	c->req = sodium_malloc(REQ_MAX);
	if (!c->req)
		die("sodium_malloc");
	int n;
	if (strcmp(o->mode, "health") == 0)
		n = snprintf(c->req, REQ_MAX, "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n");
	else if (strcmp(o->mode, "read") == 0)
		n = snprintf(c->req, REQ_MAX,
		             "GET /v1/secrets/bench.read HTTP/1.1\r\nHost: localhost\r\n"
		             "Authorization: Bearer %s\r\n\r\n",
		             token);
	else if (strcmp(o->mode, "bundle") == 0)
		n = snprintf(c->req, REQ_MAX,
		             "POST /v1/bundle HTTP/1.1\r\nHost: localhost\r\n"
		             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
		             "Content-Length: %zu\r\n\r\n%s",
		             token, strlen(BUNDLE_BODY), BUNDLE_BODY);
	else
		n = snprintf(c->req, REQ_MAX,
		             "PUT /v1/secrets/bench.w-%d HTTP/1.1\r\nHost: localhost\r\n"
		             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
		             "Content-Length: %zu\r\n\r\n{\"value\":\"%s\"}",
		             c->id, token, strlen(val) + 12, val);
	if (n < 0 || n >= REQ_MAX)
		die("request too long");
	c->req_len = (size_t)n;
}

/* Registered for EPOLLOUT only while part of the request is unsent (it
 * never is, in practice: a request is well under the socket buffer). With
 * EPOLLOUT always on, edge-triggered, vaultd's every read of a request freed
 * buffer space and woke this loop for nothing, in vaultd's recv: CPU charged
 * to the server that redis-benchmark, which arms writable events only to
 * write, does not cost redis. */
static void conn_arm(struct conn *c, int ep, int op)
{
	bool out = c->sent < c->req_len;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET | (out ? EPOLLOUT : 0u),
	                         .data.ptr = c};
	if (epoll_ctl(ep, op, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->armed_out = out;
}

/* Writes what it can of the request; false on an error (not EAGAIN). */
static bool conn_send(struct conn *c)
{
	while (c->sent < c->req_len) {
		ssize_t k = write(c->fd, c->req + c->sent, c->req_len - c->sent);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN;
		c->sent += (size_t)k;
	}
	return true;
}

/* Connects and sends the request at once (a unix socket's connect is
 * complete on return); a write error shows in conn_step, through EPOLLOUT. */
static void conn_open(struct conn *c, const struct opts *o, int ep)
{
	c->fd = connect_unix(o->socket);
	if (c->fd < 0)
		die(o->socket);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	c->sent = c->got = 0;
	c->t_start = now_ms();
	(void)conn_send(c);
	conn_arm(c, ep, EPOLL_CTL_ADD);
}

static void record(struct stats *s, double ms, bool counted)
{
	if (!counted)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 65536;
		s->lat_us = realloc(s->lat_us, s->cap * sizeof(*s->lat_us));
		if (!s->lat_us)
			die("realloc");
	}
	s->lat_us[s->n++] = (uint32_t)(ms * 1000.0);
}

static int count_in(const char *p, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	int n = 0;
	for (const char *q; (q = memmem(p, len, needle, nl)); n++) {
		len -= (size_t)(q - p) + nl;
		p = q + nl;
	}
	return n;
}

/* Sends what is left of the request; reads and completes responses. */
static void conn_step(struct conn *c, const struct opts *o, int ep, struct stats *s, double t_warm,
                      const char *expect_b64)
{
	for (;;) {
		if (c->sent < c->req_len || c->armed_out) {
			if (!conn_send(c))
				goto broken;
			if ((c->sent < c->req_len) != c->armed_out)
				conn_arm(c, ep, EPOLL_CTL_MOD);
			if (c->sent < c->req_len)
				return;
		}
		ssize_t k = read(c->fd, c->buf + c->got, sizeof(c->buf) - c->got);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (k <= 0)
			goto broken;
		c->got += (size_t)k;
		int status = 0;
		bool close_after = false;
		size_t off = 0, blen = 0;
		size_t total = parse_response(c->buf, c->got, &status, &close_after, &off, &blen);
		if (total == 0 && c->got < sizeof(c->buf))
			continue;
		if (total == 0 || total == (size_t)-1 || total != c->got)
			goto broken; /* garbage or pipelined junk: we send one at a time */
		double t = now_ms();
		/* A read must return the decrypted value; a bundle, once per name. */
		bool good = status == 200 &&
		            (!expect_b64 || count_in(c->buf + off, blen, expect_b64) ==
		                                (strcmp(o->mode, "bundle") == 0 ? BUNDLE_NAMES : 1));
		if (good)
			s->ok += c->t_start >= t_warm;
		else
			s->errors++;
		record(s, t - c->t_start, good && c->t_start >= t_warm);
		c->got = 0;
		c->sent = 0;
		c->t_start = t;
		if (o->fresh) {
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			conn_open(c, o, ep);
			return;
		}
		if (close_after) {
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			s->reconnects++;
			conn_open(c, o, ep);
		}
	}
broken:
	s->errors++;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	s->reconnects++;
	conn_open(c, o, ep);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: loadgen --socket PATH [--mode read|bundle|write|health] [--conns N] "
	        "[--seconds S] "
	        "[--fresh] [--no-drop] [--server-pid PID]\n"
	        "  as root it sets up a secret, policy and token, then becomes nobody\n"
	        "  (vaultd must be started with --socket-group nogroup for that).\n"
	        "  Prints its own CPU per request and, with --server-pid, the server's,\n"
	        "  both over the measured window (after the warm-up).\n");
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 's'},     {"mode", required_argument, NULL, 'm'},
	    {"conns", required_argument, NULL, 'c'},      {"seconds", required_argument, NULL, 't'},
	    {"no-drop", no_argument, NULL, 'n'},          {"fresh", no_argument, NULL, 'f'},
	    {"server-pid", required_argument, NULL, 'p'}, {NULL, 0, NULL, 0},
	};
	*o = (struct opts){.mode = "read", .conns = 1, .seconds = 3, .as_nobody = true};
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 's': o->socket = optarg; break;
		case 'm': o->mode = optarg; break;
		case 'c': o->conns = atoi(optarg); break;
		case 't': o->seconds = atof(optarg); break;
		case 'n': o->as_nobody = false; break;
		case 'f': o->fresh = true; break;
		case 'p':
			o->server_pid = atol(optarg);
			break;
		default: usage();
		}
	}
	if (!o->socket || o->conns < 1 || o->conns > MAX_CONNS || o->seconds <= 0 ||
	    (strcmp(o->mode, "read") != 0 && strcmp(o->mode, "bundle") != 0 &&
	     strcmp(o->mode, "write") != 0 && strcmp(o->mode, "health") != 0))
		usage();
}

int main(int argc, char **argv)
{
	struct opts o;
	parse_opts(argc, argv, &o);
	if (sodium_init() < 0)
		die("sodium_init");
	signal(SIGPIPE, SIG_IGN);
	char value_b64[64] = "";
	/* The no-op needs no secret or token: it also runs against mhd_hello. */
	char *token = strcmp(o.mode, "health") == 0 ? NULL : setup(&o, value_b64, sizeof(value_b64));
	if (o.as_nobody)
		drop_to_nobody();

	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	struct conn *cs = calloc((size_t)o.conns, sizeof(*cs));
	if (!cs)
		die("calloc");
	for (int i = 0; i < o.conns; i++) {
		cs[i].id = i;
		build_request(&cs[i], &o, token, value_b64);
	}
	sodium_free(token);
	struct stats s = {0};
	double t0 = now_ms(), t_warm = t0 + WARMUP_MS, t_end = t_warm + o.seconds * 1000.0;
	for (int i = 0; i < o.conns; i++)
		conn_open(&cs[i], &o, ep);
	bool reads = strcmp(o.mode, "read") == 0 || strcmp(o.mode, "bundle") == 0;
	const char *expect = reads ? value_b64 : NULL;
	struct epoll_event evs[256];
	bool warm = false;
	double cpu0 = 0, server0 = 0;
	while (now_ms() < t_end) {
		if (!warm && now_ms() >= t_warm) {
			warm = true;
			cpu0 = self_cpu_s();
			server0 = o.server_pid ? proc_cpu_s(o.server_pid) : 0;
		}
		int n = epoll_wait(ep, evs, 256, 100);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++)
			conn_step(evs[i].data.ptr, &o, ep, &s, t_warm, expect);
	}
	if (!warm) { /* the run ended inside one wait: nothing measured */
		cpu0 = self_cpu_s();
		server0 = o.server_pid ? proc_cpu_s(o.server_pid) : 0;
	}
	double secs = (now_ms() - t_warm) / 1000.0;
	double per = s.ok ? 1e6 / (double)s.ok : 0;
	double client_us = (self_cpu_s() - cpu0) * per;
	double server1 = o.server_pid ? proc_cpu_s(o.server_pid) : 0;
	double server_us = server0 >= 0 && server1 >= 0 ? (server1 - server0) * per : -1;
	uint32_t p50 = 0, p99 = 0;
	if (s.n) {
		qsort(s.lat_us, s.n, sizeof(*s.lat_us), cmp_u32);
		p50 = s.lat_us[s.n / 2];
		p99 = s.lat_us[(size_t)((double)s.n * 0.99)];
	}
	printf("loadgen mode=%s conns=%d seconds=%.2f ok=%llu errors=%llu reconnects=%llu rps=%.0f "
	       "p50_us=%u p99_us=%u client_cpu_us=%.1f",
	       o.mode, o.conns, secs, (unsigned long long)s.ok, (unsigned long long)s.errors,
	       (unsigned long long)s.reconnects, (double)s.ok / secs, p50, p99, client_us);
	if (o.server_pid)
		printf(" server_cpu_us=%.1f", server_us);
	printf("\n");
	for (int i = 0; i < o.conns; i++) {
		close(cs[i].fd);
		sodium_free(cs[i].req);
	}
	free(cs);
	free(s.lat_us);
	return s.errors ? 3 : 0;
}
