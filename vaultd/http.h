/* The HTTP layer on libmicrohttpd: one struct req per request (in *con_cls),
 * body collection under a cap, dispatch, and the two suspensions a request
 * can go through (waiting for a watch event, waiting for its audit entry to
 * be committed) before its response is queued. */
#ifndef VAULTD_HTTP_H
#define VAULTD_HTTP_H
#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "audit.h"
#include "auth.h"
#include "log.h"
#include "router.h"
#include "secbuf.h"
#include "vaultd.h"

enum req_phase {
	PH_BODY,     /* collecting the body; dispatch when it is complete */
	PH_WORKER,   /* suspended while a write worker handles it (offload.c) */
	PH_WATCHING, /* suspended until a watched name changes or time runs out */
	PH_AUDITING, /* suspended until the audit entry is committed */
	PH_READY,    /* audited: queue the response on the next call */
	PH_QUEUED,
};

struct watch;

struct req {
	struct vaultd *vd;
	struct MHD_Connection *conn;
	const struct peer *peer; /* owned by the connection */
	const char *method;      /* static string from MHD's request line */
	struct route route;
	enum req_phase phase;
	uint64_t t0_ns; /* first call, CLOCK_MONOTONIC */

	struct secbuf *body; /* guarded: bodies can hold values */
	size_t body_len;
	bool body_too_large;
	size_t drained; /* bytes of a refused body read and wiped */
	bool refused; /* answered by http.c itself, before any handler */
	struct {      /* a refusal decided on the headers, answered after the body */
		int status;
		const char *code, *message; /* static strings */
	} early;

	struct actor actor;
	bool sealed_at_start; /* answered while sealed: may be logged outside the chain */
	bool carries_secret;  /* a value or token in the answer: never outside the chain */

	int status; /* the answer, owned until queued */
	struct MHD_Response *resp;
	const char *result;                      /* "ok" or the error code (static strings) */
	char audit_name[VAULT_MAX_NAME_LEN + 1]; /* name for the audit entry */
	bool seal_after_audit;                   /* POST /v1/sys/seal: seal once recorded */
	bool changed; /* a durable store write happened outside the method's say
	               * (a use of a use-limited token by a GET) */

	struct watch *watch;    /* GET /v1/watch only; owned */
	struct audit_item item; /* link into the audit queue */
};

/* Starts libmicrohttpd on the listening socket fd (which it then owns). */
int http_start(struct vaultd *vd, int listen_fd);
/* Stops accepting new connections; in-flight requests go on. */
void http_quiesce(void);
/* Waits until no request is in flight or timeout_ms passes; true when idle.
 * Past it, requests still queued for a write worker answer 503. */
bool http_wait_idle(unsigned timeout_ms);
/* Waits until every answer already recorded has been sent (or timeout_ms):
 * stopping libmicrohttpd closes connections whose answer is still queued. */
bool http_wait_answers_sent(unsigned timeout_ms);
/* Stops every thread and closes every connection. */
void http_stop(void);
/* A write that commits its own audit entry with the change
 * (store_put_audited): the entry as it reads if the write answers `status`
 * with "ok"; http_audit_committed() once the store took it. Should the
 * answer turn out different, finish() records that answer as well. */
struct audit_entry *http_audit_prepare(struct req *r, int status);
void http_audit_committed(struct req *r);
/* Called once r's entry is committed (ok) or could not be (then the answer
 * becomes 500 audit_failed, dropping any secret): by the audit thread, or
 * by r's own thread when it recorded the entry directly. Fills line
 * (unless NULL) with the request's log line stamped ts, records metrics
 * and resumes the connection (not when direct: it was never suspended);
 * after a resume r must not be touched. */
void http_audited(struct req *r, bool ok, struct logline *line, const char *ts);
/* Called by watch.c when r's watch fires: resumes the connection. */
void http_watch_fired(struct req *r);
/* Open connections right now (for metrics). */
long http_open_connections(void);
long http_requests_in_flight(void); /* begun and not yet completed */

/* ---- answers (reply.c); each replaces any earlier answer of r ---- */
void reply_json(struct req *r, int status, json_t *o);        /* steals o */
void reply_secret_json(struct req *r, int status, json_t *o); /* steals o; guarded body */
/* Takes b (a finished body in guarded memory), wiped when MHD is done. */
void reply_secbuf(struct req *r, int status, struct secbuf *b, const char *content_type);
void reply_text(struct req *r, int status, char *text, size_t len, const char *content_type);
/* Streams fd (taken) of size bytes. */
void reply_fd(struct req *r, int status, int fd, uint64_t size, const char *content_type);
void reply_empty(struct req *r, int status);
void reply_error(struct req *r, int status, const char *code, const char *message);
/* error.names lists names (stolen JSON array). */
void reply_error_names(struct req *r, int status, const char *code, const char *message,
                       json_t *names);
/* Maps a store error (STORE_E_*) to its status and code; what names the
 * operation for the log when it is an internal error. */
void reply_store_error(struct req *r, int err, const char *what);

/* Frees text from json_dumps (jansson's wiping allocator, not free()). */
void json_text_free(void *p);

/* Parses r's body as a strict JSON object; on failure answers 400 bad_json
 * (or 413) and returns a negative value. */
int req_json_body(struct req *r, json_t **ret);
/* For an endpoint that takes no input: no body, or {} (as JSON clients
 * send). Anything else answers 400 bad_json or bad_request and returns a
 * negative value, so that a stray body is not silently ignored. */
int req_empty_body(struct req *r);
/* A query argument, percent-decoded into out; -ENOENT when absent, -EINVAL
 * when it does not decode or holds a NUL. */
int req_query(struct req *r, const char *key, char *out, size_t outcap);
/* A query argument as an unsigned integer in [0, max]; -ENOENT / -EINVAL. */
int req_query_u64(struct req *r, const char *key, uint64_t max, uint64_t *ret);

#endif
