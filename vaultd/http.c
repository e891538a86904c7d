/* libmicrohttpd glue: per-connection peer credentials, per-request state in
 * *con_cls, the body cap, dispatch, and the suspend/resume dance that makes
 * a response leave only after its audit entry is committed. */
#include "http.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "api.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "offload.h"
#include "store.h"
#include "watch.h"

#define BODY_INITIAL_CAP 4096u

static struct MHD_Daemon *g_mhd;
static struct vaultd *g_vd;
static int g_listen_fd = -1;
static atomic_long g_open_conns;
static atomic_long g_inflight;
static atomic_long g_answering; /* audited, not yet sent: kept through a stop */
static atomic_bool g_past_grace; /* the shutdown grace ran out */
static atomic_bool g_closing; /* shutting down: refuse new requests */

long http_open_connections(void)
{
	return atomic_load(&g_open_conns);
}

long http_requests_in_flight(void)
{
	return atomic_load(&g_inflight);
}

/* ---- connections ---- */

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		/* SO_PEERCRED describes the process that connect()ed; it cannot
		 * change during the connection, so it is read once here. */
		struct peer *p = calloc(1, sizeof(*p));
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (p && ci && peer_from_fd(ci->connect_fd, p) < 0)
			p->known = false;
		*socket_context = p;
		atomic_fetch_add(&g_open_conns, 1);
	} else {
		free(*socket_context);
		*socket_context = NULL;
		atomic_fetch_sub(&g_open_conns, 1);
	}
}

/* ---- the request body ---- */

static void body_drop(struct req *r)
{
	secbuf_free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

static int body_reserve(struct req *r, size_t need)
{
	size_t cap = r->body ? r->body->len : 0;
	if (need <= cap)
		return 0;
	size_t ncap = cap ? cap : BODY_INITIAL_CAP;
	while (ncap < need)
		ncap *= 2;
	if (ncap > VAULTD_MAX_BODY)
		ncap = VAULTD_MAX_BODY;
	struct secbuf *nb = secbuf_new(ncap);
	if (!nb)
		return -ENOMEM;
	if (r->body_len)
		memcpy(nb->data, r->body->data, r->body_len);
	secbuf_free(r->body);
	r->body = nb;
	return 0;
}

/* Body bytes libmicrohttpd hands us sit in its read buffer, which it frees
 * without wiping: whatever we do not keep (maybe a value) is wiped there. */
static void drop_upload(const char *data, size_t n)
{
	if (n)
		sodium_memzero((void *)data, n);
}

static void body_append(struct req *r, const char *data, size_t n)
{
	if (!r->body_too_large && n > VAULTD_MAX_BODY - r->body_len) {
		r->body_too_large = true;
		body_drop(r);
	}
	if (!r->body_too_large && body_reserve(r, r->body_len + n) == 0) {
		memcpy(r->body->data + r->body_len, data, n);
		r->body_len += n;
	} else if (!r->body_too_large) {
		r->body_too_large = true; /* out of guarded memory: refuse, do not truncate */
		body_drop(r);
	}
	if (r->body_too_large)
		r->drained += n;
	drop_upload(data, n);
}

/* ---- the audit hand-off ---- */

static const char *audit_action(const struct req *r)
{
	if (r->route.id != R_NONE)
		return route_action(r->route.id);
	if (r->route.status == 400 && r->route.near != R_NONE)
		return route_action(r->route.near);
	return "request.rejected";
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void fill_audit_entry(struct req *r, int status, const char *result)
{
	struct audit_entry *e = &r->item.e;
	memset(e, 0, sizeof(*e));
	e->time_ms = audit_time_ms();
	bool known = r->peer && r->peer->known;
	e->uid = known ? (int64_t)r->peer->uid : -1;
	e->gid = known ? (int64_t)r->peer->gid : -1;
	e->pid = known ? (int64_t)r->peer->pid : -1;
	copy_str(e->accessor, sizeof(e->accessor), r->actor.accessor);
	copy_str(e->action, sizeof(e->action), audit_action(r));
	const char *name = r->route.name_is_token ? "(a token)"
	                   : r->audit_name[0]     ? r->audit_name
	                   : r->route.has_name    ? r->route.name
	                                          : "";
	copy_str(e->name, sizeof(e->name), name);
	copy_str(e->result, sizeof(e->result), result);
	e->status = status;
}

struct audit_entry *http_audit_prepare(struct req *r, int status)
{
	fill_audit_entry(r, status, "ok");
	return &r->item.e;
}

void http_audit_committed(struct req *r)
{
	r->item.prechained = true;
}

/* A token may sit in libmicrohttpd's buffer even when no handler looked at
 * it (public routes, early errors): wipe it before the request goes on. */
static void wipe_authorization(struct MHD_Connection *c)
{
	const char *hdr =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (hdr && *hdr)
		sodium_memzero((void *)hdr, strlen(hdr));
}

/* Another connection is open: work that waits for the disk would stall it
 * if it ran on this libmicrohttpd thread. A lone connection has nobody
 * behind it (and the other threads take any connection that comes). */
static bool others_open(void)
{
	return atomic_load(&g_open_conns) > 1;
}

/* Anything but GET and the bundle (a read sent as POST) may change state,
 * even when it answers an error: its audit entry is fsync'd before the
 * answer, so it runs on a write worker. Not a request refused before any
 * handler saw it (unknown route, bad name, body or headers too large):
 * anyone may send those, and they must not cost an fsync. */
static bool may_write(const struct req *r)
{
	return strcmp(r->method, "GET") != 0 && r->route.id != R_BUNDLE && r->route.status == 0 &&
	       !r->body_too_large && !r->refused;
}

/* Every answer goes out through here: record it and wait suspended, or
 * (direct) record it on this thread. True when recorded directly: then the
 * caller queues the answer (or, when the connection is already suspended
 * for a write worker, resumes it); otherwise r belongs to the audit writer
 * until it resumes the connection, and the caller must not touch it. Not
 * direct on libmicrohttpd's first call for a request: answered then, it
 * would go on to send "100 Continue" and read the body first. */
static bool finish(struct req *r, bool may_direct, bool suspended)
{
	wipe_authorization(r->conn);
	if (!r->resp)
		reply_error(r, 500, "internal", "the handler produced no answer");
	const char *result = r->result ? r->result : "internal";
	if (r->item.prechained &&
	    (r->item.e.status != r->status || strcmp(r->item.e.result, result) != 0)) {
		/* The change and its "ok" entry are committed, but the answer is
		 * another: keep that entry for the log copy, record the answer too. */
		r->item.pre = r->item.e;
		r->item.has_pre = true;
		r->item.prechained = false;
	}
	if (!r->item.prechained)
		fill_audit_entry(r, r->status, result);
	r->item.req = r;
	r->item.chain_required = !r->sealed_at_start || r->carries_secret;
	r->item.seal_after = r->seal_after_audit && r->status == 200;
	/* So may a GET that spent a use of a token. */
	r->item.durable = r->changed || may_write(r);
	r->phase = PH_AUDITING;
	/* With other connections open, no commit runs on a libmicrohttpd
	 * thread: the thread's other connections would wait behind it, and
	 * the commits they then sent one by one were each a WAL write (with
	 * --threads 1, 16 readers got one commit per read, at under half the
	 * throughput). The writer thread batches them; a lone connection,
	 * with nobody to batch with, records its own. */
	if (!suspended && others_open())
		may_direct = false;
	if (may_direct && audit_try_direct(&r->item))
		return true; /* recorded on this thread: r->phase is PH_READY */
	/* Suspend before queueing: the writer may resume us at once. */
	if (!suspended)
		MHD_suspend_connection(r->conn);
	audit_submit(&r->item);
	return false;
}

static void log_request(const struct req *r, double ms, struct logline *l, const char *ts)
{
	const struct audit_entry *e = &r->item.e;
	logline_start_at(l, LOG_INFO, "request", ts);
	logline_str(l, "method", r->method);
	logline_str(l, "action", e->action);
	enum route_id id = r->route.id != R_NONE ? r->route.id : r->route.near;
	logline_str(l, "route", r->route.status == 404 ? "unmatched" : route_pattern(id));
	if (e->name[0])
		logline_str(l, "name", e->name);
	logline_int(l, "status", r->status);
	logline_str(l, "result", r->result);
	logline_int(l, "uid", e->uid);
	logline_int(l, "pid", e->pid);
	if (e->accessor[0])
		logline_str(l, "accessor", e->accessor);
	if (r->item.chained)
		logline_uint(l, "seq", e->seq);
	else
		logline_str(l, "audit", "log-only"); /* sealed: this line is the record */
	logline_ms(l, "ms", ms);
}

void http_audited(struct req *r, bool ok, struct logline *line, const char *ts)
{
	if (!ok) {
		/* Replaces (and frees, wiping) any secret-bearing answer. */
		reply_error(r, 500, "audit_failed",
		            "the audit entry could not be written; nothing was returned");
	}
	double secs = (double)(mono_ns() - r->t0_ns) / 1e9;
	enum route_id id = r->route.id != R_NONE ? r->route.id : r->route.near;
	metrics_request(r->route.status == 404 ? R_NONE : id, r->status, secs);
	if (line)
		log_request(r, secs * 1000.0, line, ts);
	r->phase = PH_READY;
	atomic_fetch_add(&g_answering, 1);
	if (!r->item.direct)
		MHD_resume_connection(r->conn);
}

void http_watch_fired(struct req *r)
{
	MHD_resume_connection(r->conn);
}

/* ---- the access handler ---- */

static void dispatch(struct req *r)
{
	r->sealed_at_start = store_is_sealed(r->vd->store);
	if (r->route.status == 404) {
		reply_error(r, 404, "not_found", "no such endpoint (see docs/api.md)");
		return;
	}
	if (r->route.status == 405) {
		char msg[96];
		snprintf(msg, sizeof(msg), "method not allowed here (allowed: %s)", r->route.allow);
		reply_error(r, 405, "method_not_allowed", msg);
		return;
	}
	if (r->route.status != 0 && r->route.token_in_path) {
		reply_error(r, 400, "bad_name",
		            "that is a token, not a name or an accessor: a token never goes into a "
		            "URL (find a token's accessor with vaultctl token list)");
		return;
	}
	if (r->route.status != 0) {
		reply_error(r, 400, "bad_name",
		            "a name is [A-Za-z0-9][A-Za-z0-9._-]{0,127} without \"..\", one path "
		            "segment");
		return;
	}
	if (r->body_too_large) {
		reply_error(r, 413, "too_large", "request body over 1 MiB");
		return;
	}
	if (!route_is_public(r->route.id) && auth_identify(r) < 0)
		return;
	api_dispatch(r);
}

static enum MHD_Result add_header_bytes(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
	(void)kind;
	*(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
	return MHD_YES;
}

/* The request line and headers, as they came (near enough: the pool holds
 * them with their terminators). */
static size_t header_bytes(struct MHD_Connection *c, const char *url, const char *method)
{
	size_t n = strlen(method) + strlen(url) + sizeof(" HTTP/1.1\r\n");
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header_bytes, &n);
	return n;
}

/* An error answer instead of dispatch (which notes the seal state that
 * decides where its audit entry may go). */
static void refuse(struct req *r, int status, const char *code, const char *message)
{
	r->refused = true;
	r->sealed_at_start = store_is_sealed(r->vd->store);
	reply_error(r, status, code, message);
}

/* An error answer before the body is read; it is audited like any other
 * and sent once the writer resumes us. */
static void refuse_early(struct req *r, int status, const char *code, const char *message)
{
	refuse(r, status, code, message);
	(void)finish(r, false, false);
}

/* What the request says of its body: its Content-Length in *len (0 when
 * none; UINT64_MAX when too large to read: libmicrohttpd has refused any
 * that is not a number), and whether it comes chunked, undeclared. */
static void declared_length(struct MHD_Connection *c, uint64_t *len, bool *chunked)
{
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	*chunked = !cl && MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	                                              MHD_HTTP_HEADER_TRANSFER_ENCODING);
	*len = 0;
	if (cl) {
		errno = 0;
		unsigned long long v = strtoull(cl, NULL, 10);
		*len = errno == ERANGE ? UINT64_MAX : (uint64_t)v;
	}
}

/* An HTTP/1.1 client that asked for "100 Continue" sends no body before it
 * (libmicrohttpd ignores Expect from HTTP/1.0 clients). */
static bool waits_for_continue(struct MHD_Connection *c, const char *version)
{
	const char *e = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	return e && strcasecmp(e, "100-continue") == 0 &&
	       strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
}

/* A request refused on its headers alone. Answered now when no body byte
 * can have come yet; otherwise the client may have sent some (a value)
 * with its headers, and an answer now would leave them in libmicrohttpd's
 * buffer, which it frees unwiped when it closes the connection: the body
 * is read to its end instead, wiped as it comes (body_append), and the
 * refusal answered then. A body declared over VAULTD_MAX_DRAIN is not
 * worth reading: refused at once. */
static void refuse_before_body(struct req *r, const char *version, uint64_t declared, bool chunked,
                               int status, const char *code, const char *message)
{
	if ((declared == 0 && !chunked) || waits_for_continue(r->conn, version) ||
	    declared > VAULTD_MAX_DRAIN) {
		refuse_early(r, status, code, message);
		return;
	}
	r->body_too_large = true; /* keeps no byte of it */
	r->early.status = status;
	r->early.code = code;
	r->early.message = message;
}

static enum MHD_Result first_call(struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, void **con_cls)
{
	struct req *r = atomic_load(&g_closing) ? NULL : calloc(1, sizeof(*r));
	if (!r) {
		/* Shutting down (or out of memory): close instead of starting a
		 * request, and on_completed will not see this one. */
		wipe_authorization(c);
		return MHD_NO;
	}
	r->vd = g_vd;
	r->conn = c;
	r->method = method;
	r->t0_ns = mono_ns();
	r->result = "ok";
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	r->peer = ci ? ci->socket_context : NULL;
	router_parse(method, url, &r->route);
	*con_cls = r;
	atomic_fetch_add(&g_inflight, 1);

	/* Cheap checks first: a declared oversized body is refused before any
	 * of it is kept (refuse_before_body: when it is read, it is wiped). */
	uint64_t declared;
	bool chunked;
	declared_length(c, &declared, &chunked);
	if (header_bytes(c, url, method) > VAULTD_MAX_HEADER_BYTES)
		refuse_before_body(r, version, declared, chunked, 431, "headers_too_large",
		                   "request headers over 12 KiB");
	else if (declared > VAULTD_MAX_BODY)
		refuse_before_body(r, version, declared, chunked, 413, "too_large",
		                   "request body over 1 MiB");
	else if (declared > 0 && body_reserve(r, (size_t)declared) < 0)
		r->body_too_large = true;
	return MHD_YES;
}

/* Requests that may write go to a write worker (offload.c): a durable
 * write holds its thread through the fsync, and on a libmicrohttpd thread
 * that would stall every other connection the thread serves. So do the two
 * slow reads, a backup and a verification of the whole audit chain. A lone
 * connection stays: the two thread hops cost a single writer a quarter of
 * its rate. */
static bool wants_worker(const struct req *r)
{
	bool slow = may_write(r) || r->route.id == R_SYS_BACKUP || r->route.id == R_AUDIT_VERIFY;
	return slow && others_open();
}

/* On a write worker, with the connection suspended since its body was read:
 * handle it, then resume it once the answer is recorded (the audit writer
 * does that when the entry went through its queue). */
static void run_on_worker(void *arg)
{
	struct req *r = arg;
	if (atomic_load(&g_past_grace))
		refuse(r, 503, "shutting_down", "vaultd is stopping; nothing was done");
	else
		dispatch(r);
	if (finish(r, true, true))
		MHD_resume_connection(r->conn);
}

/* The answer, once its audit entry is recorded. */
static enum MHD_Result queue_answer(struct MHD_Connection *c, struct req *r,
                                    const char *upload_data, size_t *upload_data_size)
{
	drop_upload(upload_data, *upload_data_size);
	*upload_data_size = 0; /* an early answer: the rest of the body is dropped */
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	r->phase = PH_QUEUED;
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	struct req *r = *con_cls;
	if (!r)
		return first_call(c, url, method, version, con_cls);

	switch (r->phase) {
	case PH_BODY:
		if (*upload_data_size > 0) {
			body_append(r, upload_data, *upload_data_size);
			*upload_data_size = 0;
			/* libmicrohttpd cannot answer in the middle of a body: one
			 * refused that runs on past this is cut off unanswered. */
			return r->drained > VAULTD_MAX_DRAIN ? MHD_NO : MHD_YES;
		}
		if (r->early.status) {
			refuse(r, r->early.status, r->early.code, r->early.message);
			return finish(r, true, false)
			           ? queue_answer(c, r, upload_data, upload_data_size)
			           : MHD_YES;
		}
		if (wants_worker(r)) {
			r->phase = PH_WORKER;
			MHD_suspend_connection(c);
			if (!offload_submit(run_on_worker, r))
				run_on_worker(r); /* the pool is gone (shutting down) */
			return MHD_YES;
		}
		dispatch(r);
		if (r->phase == PH_WATCHING)
			return MHD_YES; /* suspended by api_watch */
		return finish(r, true, false) ? queue_answer(c, r, upload_data, upload_data_size)
		                              : MHD_YES;
	case PH_WATCHING:
		api_watch_finish(r);
		return finish(r, true, false) ? queue_answer(c, r, upload_data, upload_data_size)
		                              : MHD_YES;
	case PH_READY:
		return queue_answer(c, r, upload_data, upload_data_size);
	case PH_WORKER:
	case PH_AUDITING:
	case PH_QUEUED:
		drop_upload(upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct req *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	/* A request that never reached finish (its client went away during
	 * the body) still has its token in libmicrohttpd's buffer. */
	wipe_authorization(r->conn);
	audit_answered(&r->item);
	if (r->phase == PH_READY || r->phase == PH_QUEUED)
		atomic_fetch_sub(&g_answering, 1);
	if (r->resp)
		MHD_destroy_response(r->resp);
	body_drop(r);
	actor_clear(&r->actor);
	watch_free(r->watch);
	free(r);
	atomic_fetch_sub(&g_inflight, 1);
}

/* We decode paths and query values ourselves (router.c, req_query) so that
 * an encoded NUL is seen as a bad name instead of silently cutting the
 * string: libmicrohttpd gets an unescaper that changes nothing. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_msg(LOG_WARN, "http", buf);
}

int http_start(struct vaultd *vd, int listen_fd)
{
	g_vd = vd;
	g_listen_fd = listen_fd;
	unsigned threads = vd->cfg.threads;
	struct MHD_OptionItem opts[] = {
	    {MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL},
	    {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)vd->cfg.max_connections, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)vd->cfg.conn_timeout_s, NULL},
	    {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)VAULTD_CONN_MEMORY, NULL},
	    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
	    {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, NULL},
	    {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape_none, NULL},
	    {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	/* poll, not epoll: every request is suspended until its audit entry is
	 * committed, and with epoll each suspend and resume is an epoll_ctl
	 * (12% of a read's CPU); with poll they only move the connection
	 * between lists, and a thread's few connections are cheap to poll. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
	/* The logger goes first so that no message escapes to MHD's own. */
	g_mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER,
	                         mhd_logger, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!g_mhd)
		return -EIO;
	return 0;
}

void http_quiesce(void)
{
	atomic_store(&g_closing, true);
	if (g_mhd)
		MHD_quiesce_daemon(g_mhd); /* the socket stays open until http_stop */
}

/* Polls *n every 10 ms until it is 0 (true) or timeout_ms passes. */
static bool wait_zero(atomic_long *n, unsigned timeout_ms)
{
	uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000u;
	while (atomic_load(n) > 0) {
		if (mono_ns() >= end)
			return false;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return true;
}

bool http_wait_idle(unsigned timeout_ms)
{
	if (wait_zero(&g_inflight, timeout_ms))
		return true;
	/* Requests still queued for a write worker are refused rather than
	 * left to run past the grace. */
	atomic_store(&g_past_grace, true);
	return false;
}

bool http_wait_answers_sent(unsigned timeout_ms)
{
	return wait_zero(&g_answering, timeout_ms);
}

void http_stop(void)
{
	if (g_mhd)
		MHD_stop_daemon(g_mhd);
	g_mhd = NULL;
	if (g_listen_fd >= 0)
		close(g_listen_fd);
	g_listen_fd = -1;
}
