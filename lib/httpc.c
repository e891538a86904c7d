/* The one HTTP/1.1 client over a unix socket (vaultctl and the static inject):
 * one request per connection, a deadline for the whole exchange enforced with
 * poll, Content-Length, chunked and until-close bodies, bodies in guarded memory. */
#include "httpc.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"

#define HTTPC_DEFAULT_TIMEOUT_MS 30000
/* Status line plus headers; vaultd sends a few hundred bytes. */
#define HTTPC_MAX_HEADER_BYTES (16u * 1024u)
/* Request line and our fixed headers, without the token: room for a watch
 * of VAULT_MAX_WATCH_NAMES names of the longest kind (8.3 KiB of query). */
#define HTTPC_MAX_REQUEST_HEAD (12u * 1024u)
#define HTTPC_MAX_CHUNK_LINE 256u
#define HTTPC_READ_CHUNK 16384u
/* A full listen backlog answers EAGAIN on a unix socket: retry this often. */
#define HTTPC_CONNECT_RETRY_MS 5

/* ---- time ---- */

/* Milliseconds left before the deadline, 0 when it has passed. */
static int left_ms(int64_t deadline)
{
	int64_t d = deadline - mono_ms();
	if (d <= 0)
		return 0;
	return d > INT32_MAX ? INT32_MAX : (int)d;
}

/* Waits until fd is ready for events (fd -1: only sleeps), cancel (>= 0)
 * is readable, or the deadline passes; EINTR restarts with the time that is
 * left. 0, -ECANCELED, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int cancel, int64_t deadline)
{
	for (;;) {
		int ms = left_ms(deadline);
		if (ms == 0)
			return -ETIMEDOUT;
		struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = cancel, .events = POLLIN}};
		int n = poll(p, 2, ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n > 0 && p[1].revents)
			return -ECANCELED;
		if (n > 0)
			return 0; /* readiness or an error: the next call tells which */
	}
}

/* ---- connection ---- */

struct conn {
	int fd;
	int cancel; /* -1: none */
	int64_t deadline;
	/* Received bytes not yet consumed: guarded memory, they may be body
	 * bytes. A region of the request's one secbuf (see httpc_do). */
	unsigned char *in;
	size_t in_cap;
	size_t in_start, in_end;
	bool eof;
};

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	if (plen == 0)
		return -EINVAL;
	if (plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, plen + 1);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		int e = errno;
		if (e == EINTR)
			continue;
		if (e == EINPROGRESS) {
			/* Not expected for AF_UNIX, but legal: wait, then ask. */
			int r = wait_fd(fd, POLLOUT, c->cancel, c->deadline);
			socklen_t sl = sizeof(e);
			if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
				r = -errno;
			if (r == 0 && e != 0)
				r = -e;
			if (r < 0) {
				close(fd);
				return r;
			}
			break;
		}
		if (e == EAGAIN && left_ms(c->deadline) > 0) {
			/* Backlog full: the server is alive but busy. */
			int64_t until = mono_ms() + HTTPC_CONNECT_RETRY_MS;
			if (wait_fd(-1, 0, c->cancel, until < c->deadline ? until : c->deadline) ==
			    -ECANCELED) {
				close(fd);
				return -ECANCELED;
			}
			continue;
		}
		close(fd);
		return e == EAGAIN ? -ETIMEDOUT : -e;
	}
	c->fd = fd;
	return 0;
}

/* Sends head and body with as few system calls as the socket allows: one
 * sendmsg normally, so the server wakes up once for the whole request. */
static int conn_send(struct conn *c, const void *head, size_t hlen, const void *body, size_t blen)
{
	struct iovec iov[2] = {{(void *)head, hlen}, {(void *)body, blen}};
	struct iovec *v = iov;
	size_t nv = blen > 0 ? 2 : 1;
	while (nv > 0) {
		struct msghdr m = {.msg_iov = v, .msg_iovlen = nv};
		ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				int r = wait_fd(c->fd, POLLOUT, c->cancel, c->deadline);
				if (r < 0)
					return r;
				continue;
			}
			return -errno;
		}
		/* Skip what was sent: whole vectors, then part of one. */
		size_t sent = (size_t)n;
		while (nv > 0 && sent >= v->iov_len) {
			sent -= v->iov_len;
			v++;
			nv--;
		}
		if (nv > 0) {
			v->iov_base = (char *)v->iov_base + sent;
			v->iov_len -= sent;
		}
	}
	return 0;
}

/* Reads more bytes into c->in (compacting first). 0, or -errno; sets eof. */
static int conn_fill(struct conn *c)
{
	if (c->in_start > 0) {
		memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
		c->in_end -= c->in_start;
		c->in_start = 0;
	}
	if (c->in_end == c->in_cap)
		return -ENOBUFS; /* caller's line or header is too long */
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_end, c->in_cap - c->in_end, 0);
		if (n > 0) {
			c->in_end += (size_t)n;
			return 0;
		}
		if (n == 0) {
			c->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = wait_fd(c->fd, POLLIN, c->cancel, c->deadline);
			if (r < 0)
				return r;
			continue;
		}
		return -errno;
	}
}

/* Finds a CRLF-terminated line starting at in_start; returns its length
 * (without CRLF) and consumes it, reading more as needed. A line longer than
 * the buffer is -EPROTO. The line stays readable at *ret until the next read. */
static int conn_line(struct conn *c, const char **ret, size_t *ret_len)
{
	size_t scanned = 0;
	for (;;) {
		size_t avail = c->in_end - c->in_start;
		const unsigned char *s = c->in + c->in_start;
		for (size_t i = scanned; i + 1 < avail; i++) {
			if (s[i] == '\r' && s[i + 1] == '\n') {
				*ret = (const char *)s;
				*ret_len = i;
				c->in_start += i + 2;
				return 0;
			}
		}
		scanned = avail > 0 ? avail - 1 : 0;
		if (c->eof)
			return -EPROTO;
		/* conn_fill moves the data to offset 0: scanned stays relative. */
		int r = conn_fill(c);
		if (r == -ENOBUFS)
			return -EPROTO;
		if (r < 0)
			return r;
	}
}

/* ---- body sink: a growing secbuf, or an fd ---- */

struct sink {
	int fd;             /* >= 0: stream here */
	struct secbuf *buf; /* else collect here */
	size_t len;
	size_t max;  /* 0: unlimited (streams only) */
	size_t room; /* a body this small is received in place (see body_in_place) */
	bool in_place;
	size_t off; /* in place: where the body starts in the receive buffer */
};

static int sink_put(struct sink *k, const unsigned char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (k->max > 0 && (n > k->max || k->len > k->max - n))
		return -EMSGSIZE;
	if (k->fd >= 0) {
		while (n > 0) {
			ssize_t w = write(k->fd, p, n);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			p += w;
			n -= (size_t)w;
			k->len += (size_t)w;
		}
		return 0;
	}
	if (!k->buf || k->buf->len - k->len < n) {
		/* Grow by doubling into a new guarded buffer; the old one is wiped. */
		size_t cap = k->buf ? k->buf->len : 4096;
		while (cap - k->len < n)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX - 1 : cap * 2;
		if (k->max > 0 && cap > k->max)
			cap = k->max;
		struct secbuf *nb = secbuf_new(cap);
		if (!nb)
			return -ENOMEM;
		if (k->buf) {
			memcpy(nb->data, k->buf->data, k->len);
			secbuf_free(k->buf);
		}
		k->buf = nb;
	}
	memcpy(k->buf->data + k->len, p, n);
	k->len += n;
	return 0;
}

/* Moves up to want bytes of the received data into the sink, reading more
 * until want bytes came (want == SIZE_MAX: until EOF). */
static int body_copy(struct conn *c, struct sink *k, size_t want)
{
	while (want > 0) {
		if (c->in_start == c->in_end) {
			if (c->eof)
				return want == SIZE_MAX ? 0 : -EPROTO;
			c->in_start = c->in_end = 0;
			int r = conn_fill(c);
			if (r < 0)
				return r;
			continue;
		}
		size_t n = c->in_end - c->in_start;
		if (n > want)
			n = want;
		int r = sink_put(k, c->in + c->in_start, n);
		if (r < 0)
			return r;
		c->in_start += n;
		if (want != SIZE_MAX)
			want -= n;
	}
	return 0;
}

static int parse_hex_size(const char *s, size_t len, size_t *ret)
{
	size_t v = 0, i = 0;
	for (; i < len; i++) {
		char ch = s[i];
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			break; /* ";ext" or whitespace ends the size */
		if (v > (SIZE_MAX >> 4))
			return -EPROTO;
		v = (v << 4) | d;
	}
	/* Digits, then nothing or chunk extensions (";name=value"). */
	if (i == 0 || (i < len && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
		return -EPROTO;
	*ret = v;
	return 0;
}

static int body_chunked(struct conn *c, struct sink *k)
{
	for (;;) {
		const char *line;
		size_t ll;
		int r = conn_line(c, &line, &ll);
		if (r < 0)
			return r;
		if (ll > HTTPC_MAX_CHUNK_LINE)
			return -EPROTO;
		size_t size;
		r = parse_hex_size(line, ll, &size);
		if (r < 0)
			return r;
		if (size == 0)
			break;
		if (k->max > 0 && size > k->max)
			return -EMSGSIZE;
		r = body_copy(c, k, size);
		if (r < 0)
			return r;
		r = conn_line(c, &line, &ll); /* the CRLF after the data */
		if (r < 0)
			return r;
		if (ll != 0)
			return -EPROTO;
	}
	/* Trailers, up to the empty line. */
	for (size_t total = 0;;) {
		const char *line;
		size_t ll;
		int r = conn_line(c, &line, &ll);
		if (r < 0)
			return r;
		if (ll == 0)
			return 0;
		total += ll;
		if (total > HTTPC_MAX_HEADER_BYTES)
			return -EPROTO;
	}
}

/* ---- response head ---- */

struct head {
	int status;
	char content_type[128];
	bool chunked;
	bool has_length;
	size_t length;
};

static bool name_is(const char *s, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(s, want, len) == 0;
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static int parse_status_line(const char *s, size_t len, int *ret)
{
	/* "HTTP/1.x NNN reason" */
	if (len < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
		return -EPROTO;
	int st = 0;
	for (int i = 9; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EPROTO;
		st = st * 10 + (s[i] - '0');
	}
	if (len > 12 && s[12] != ' ')
		return -EPROTO;
	if (st < 100)
		return -EPROTO;
	*ret = st;
	return 0;
}

static int parse_header(struct head *h, const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	if (!colon || colon == s)
		return -EPROTO;
	size_t nlen = (size_t)(colon - s);
	const char *v = colon + 1;
	size_t vlen = len - nlen - 1;
	trim(&v, &vlen);
	if (name_is(s, nlen, "Content-Length")) {
		if (vlen == 0 || vlen > 19)
			return -EPROTO;
		size_t n = 0;
		for (size_t i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -EPROTO;
			size_t d = (size_t)(v[i] - '0');
			/* 19 digits fit a 64-bit size_t, not a 32-bit one (armhf, i386) */
			if (n > (SIZE_MAX - d) / 10)
				return -EPROTO;
			n = n * 10 + d;
		}
		/* Two different lengths are a smuggling signal: refuse. */
		if (h->has_length && h->length != n)
			return -EPROTO;
		h->has_length = true;
		h->length = n;
	} else if (name_is(s, nlen, "Transfer-Encoding")) {
		if (name_is(v, vlen, "chunked"))
			h->chunked = true;
		else if (!name_is(v, vlen, "identity"))
			return -EPROTO; /* gzip etc.: we never ask for them */
	} else if (name_is(s, nlen, "Content-Type")) {
		if (vlen >= sizeof(h->content_type))
			vlen = sizeof(h->content_type) - 1;
		memcpy(h->content_type, v, vlen);
		h->content_type[vlen] = '\0';
	}
	return 0;
}

static int read_head(struct conn *c, struct head *ret)
{
	for (;;) {
		struct head h = {0};
		const char *line;
		size_t ll, total = 0;
		int r = conn_line(c, &line, &ll);
		if (r < 0)
			return r;
		r = parse_status_line(line, ll, &h.status);
		if (r < 0)
			return r;
		for (;;) {
			r = conn_line(c, &line, &ll);
			if (r < 0)
				return r;
			if (ll == 0)
				break;
			total += ll;
			if (total > HTTPC_MAX_HEADER_BYTES)
				return -EPROTO;
			r = parse_header(&h, line, ll);
			if (r < 0)
				return r;
		}
		/* 1xx (100 Continue) are interim: the real answer follows. */
		if (h.status >= 200) {
			*ret = h;
			return 0;
		}
	}
}

/* A body of known size that fits the receive buffer (the whole guarded
 * region, now that a request head in its upper part is sent) is read
 * there, after the head: httpc_do then keeps just those bytes, and the answer
 * costs no second guarded allocation (several system calls each). */
static int body_in_place(struct conn *c, struct sink *k, size_t len)
{
	c->in_cap = k->room;
	while (c->in_end - c->in_start < len) {
		if (c->eof)
			return -EPROTO;
		int r = conn_fill(c);
		if (r < 0)
			return r;
	}
	k->in_place = true;
	k->off = c->in_start;
	k->len = len;
	return 0;
}

static int read_body(struct conn *c, const struct head *h, const char *method, struct sink *k)
{
	if (strcmp(method, "HEAD") == 0 || h->status == 204 || h->status == 304)
		return 0;
	if (h->chunked)
		return body_chunked(c, k);
	if (h->has_length) {
		if (k->max > 0 && h->length > k->max)
			return -EMSGSIZE;
		if (k->fd < 0 && !k->buf && h->length <= k->room)
			return body_in_place(c, k, h->length);
		/* Known size: one guarded buffer of exactly that size, no growth. */
		if (k->fd < 0 && !k->buf && !(k->buf = secbuf_new(h->length)))
			return -ENOMEM;
		return body_copy(c, k, h->length);
	}
	return body_copy(c, k, SIZE_MAX); /* until the server closes */
}

/* ---- request ---- */

bool httpc_token_ok(const struct secbuf *t)
{
	/* A token goes into a header line: no control characters or spaces. */
	for (size_t i = 0; i < t->len; i++)
		if (t->data[i] <= ' ' || t->data[i] == 0x7f)
			return false;
	return t->len > 0;
}

static bool text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* Refuses what would break the request line or a header. */
static int check_request(const struct httpc_request *req)
{
	if (!req->method || !req->path || !text_ok(req->method) || !text_ok(req->path) ||
	    req->path[0] != '/')
		return -EINVAL;
	if (req->token && !httpc_token_ok(req->token))
		return -EINVAL;
	if (req->content_type && strpbrk(req->content_type, "\r\n"))
		return -EINVAL;
	return 0;
}

/* Writes the request head into p (cap bytes; guarded memory when it
 * carries the token). Its length, or -ENAMETOOLONG. */
static ssize_t build_head(const struct httpc_request *req, char *p, size_t cap)
{
	const char *ctype = req->content_type ? req->content_type : "application/json";
	size_t tlen = req->token ? req->token->len : 0, off = 0;
	int n = snprintf(p, cap,
	                 "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: vault-httpc/1\r\n"
	                 "Accept: application/json\r\nConnection: close\r\n",
	                 req->method, req->path);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	off += (size_t)n;
	if (req->token) {
		static const char pre[] = "Authorization: Bearer ";
		if (cap - off < sizeof(pre) - 1 + tlen + 2)
			return -ENAMETOOLONG;
		memcpy(p + off, pre, sizeof(pre) - 1);
		off += sizeof(pre) - 1;
		memcpy(p + off, req->token->data, tlen);
		off += tlen;
		memcpy(p + off, "\r\n", 2);
		off += 2;
	}
	if (req->body || req->body_len > 0 || strcmp(req->method, "POST") == 0 ||
	    strcmp(req->method, "PUT") == 0) {
		n = snprintf(p + off, cap - off, "Content-Type: %s\r\nContent-Length: %zu\r\n",
		             ctype, req->body_len);
		if (n < 0 || (size_t)n >= cap - off)
			return -ENAMETOOLONG;
		off += (size_t)n;
	}
	if (cap - off < 3)
		return -ENAMETOOLONG;
	memcpy(p + off, "\r\n", 3);
	return (ssize_t)(off + 2);
}

/* The memory of one request. The answer (its head, and a small body in
 * place) goes into one guarded buffer, mem; the request head goes there
 * too when it carries a token. A caller that overlaps its own work with
 * the server's (on_sent) and sends no token gets a plain head and mem made
 * once the request is sent, while the server works on the answer: each
 * guarded buffer costs several system calls. (Its ENOMEM then comes after
 * the server has the request: fine for inject's reads; the other callers
 * keep the allocation first.) */
struct reqmem {
	struct secbuf *mem;
	size_t mem_len;
	char *head;    /* where the request head is built */
	size_t head_cap;
	char *plain;   /* head's own allocation when it is not in mem */
};

static int reqmem_init(struct reqmem *m, const struct httpc_request *req)
{
	m->head_cap = HTTPC_MAX_REQUEST_HEAD + (req->token ? req->token->len : 0);
	m->mem_len = HTTPC_MAX_HEADER_BYTES + m->head_cap;
	if (!req->token && req->on_sent) {
		m->plain = malloc(m->head_cap);
		m->head = m->plain;
		return m->plain ? 0 : -ENOMEM;
	}
	m->mem = secbuf_new(m->mem_len);
	if (!m->mem)
		return -ENOMEM;
	m->head = (char *)m->mem->data + HTTPC_MAX_HEADER_BYTES;
	return 0;
}

/* The receive side of c and k, in mem (made now if it is not yet). */
static int reqmem_receive(struct reqmem *m, struct conn *c, struct sink *k)
{
	if (!m->mem && !(m->mem = secbuf_new(m->mem_len)))
		return -ENOMEM;
	c->in = m->mem->data;
	c->in_cap = HTTPC_MAX_HEADER_BYTES;
	k->room = m->mem->len;
	return 0;
}

static int exchange(struct conn *c, const struct httpc_request *req, struct reqmem *m,
                    struct head *h, struct sink *k)
{
	ssize_t head_len = build_head(req, m->head, m->head_cap);
	if (head_len < 0)
		return (int)head_len;
	int r = conn_send(c, m->head, (size_t)head_len, req->body, req->body_len);
	/* A server may answer (413, 401) and close before reading the whole
	 * body: EPIPE/ECONNRESET on send is not final, the answer may be there. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return r;
	if (r == 0 && req->on_sent)
		req->on_sent(req->on_sent_ctx);
	int sr = r;
	if ((r = reqmem_receive(m, c, k)) < 0)
		return r;
	r = read_head(c, h);
	if (r < 0)
		return sr < 0 && (r == -EPROTO || r == -ECONNRESET) ? sr : r;
	return read_body(c, h, req->method, k);
}

int httpc_do(const struct httpc_request *req, struct httpc_response **ret)
{
	if (!req || !ret || !req->socket_path || (req->body_len > 0 && !req->body))
		return -EINVAL;
	int timeout = req->timeout_ms > 0 ? req->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS;
	struct conn c = {.fd = -1,
	                 .cancel = req->cancel_fd ? *req->cancel_fd : -1,
	                 .deadline = mono_ms() + timeout};
	struct sink k = {.fd = req->body_fd};
	if (req->body_fd >= 0)
		k.max = req->max_body; /* 0: a stream (a backup) has no cap */
	else
		k.max = req->max_body > 0 ? req->max_body : HTTPC_MAX_BODY;

	int r = check_request(req);
	if (r < 0)
		return r;
	struct reqmem m = {0};
	struct httpc_response *resp = calloc(1, sizeof(*resp));
	r = !resp ? -ENOMEM : reqmem_init(&m, req);
	if (r == 0)
		r = conn_open(&c, req->socket_path);
	struct head h = {0};
	if (r == 0)
		r = exchange(&c, req, &m, &h, &k);
	if (c.fd >= 0)
		close(c.fd);
	free(m.plain);
	struct secbuf *mem = m.mem;
	if (r == 0 && k.in_place && (r = secbuf_keep(mem, k.off, k.len)) == 0) {
		resp->body = mem;
		mem = NULL;
	}
	secbuf_free(mem);
	if (r == 0 && req->body_fd < 0 && !k.in_place) {
		/* Hand back exactly len bytes, NUL-terminated: the buffer itself
		 * when it has that size (Content-Length), else a trimmed copy. */
		if (k.buf && k.buf->len == k.len) {
			resp->body = k.buf;
			k.buf = NULL;
		} else {
			resp->body =
			    secbuf_dup(k.buf ? k.buf->data : (const unsigned char *)"", k.len);
			if (!resp->body)
				r = -ENOMEM;
		}
	}
	secbuf_free(k.buf);
	if (r < 0) {
		free(resp);
		return r;
	}
	resp->status = h.status;
	memcpy(resp->content_type, h.content_type, sizeof(resp->content_type));
	*ret = resp;
	return 0;
}

void httpc_response_free(struct httpc_response *r)
{
	if (!r)
		return;
	secbuf_free(r->body);
	free(r);
}

int httpc_escape(const char *in, char *out, size_t outcap)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!in || !out || outcap == 0)
		return -EINVAL;
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		/* RFC 3986 unreserved characters pass; everything else is encoded. */
		bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		             (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		             *p == '~';
		size_t need = plain ? 1 : 3;
		if (outcap - o <= need)
			return -ENOSPC;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return 0;
}
