/* The one small HTTP/1.1 client over a unix socket, shared by vaultctl and
 * the static inject (libcurl cannot be linked statically). */
#ifndef VAULT_HTTPC_H
#define VAULT_HTTPC_H
#include <stdbool.h>
#include <stddef.h>
#include "secbuf.h"

#define HTTPC_MAX_BODY (8u * 1024u * 1024u)   /* default response cap */

struct httpc_request {
	const char *socket_path;
	const char *method;           /* "GET", "PUT", ... */
	const char *path;             /* "/v1/secrets/x?version=2", already escaped */
	const struct secbuf *token;   /* Bearer token or NULL (peer credentials) */
	const char *content_type;     /* NULL: application/json when body set */
	const void *body;             /* may be NULL */
	size_t body_len;
	int timeout_ms;               /* whole request; <= 0 means 30 s */
	size_t max_body;              /* 0 means HTTPC_MAX_BODY (for body_fd: no cap) */
	int body_fd;                  /* >= 0: stream the response body here instead;
	                               * set -1 otherwise (0 is a valid fd) */
	const int *cancel_fd;         /* NULL, or an fd (a signalfd, say) whose
	                               * readability ends the request: -ECANCELED */
	void (*on_sent)(void *ctx);   /* NULL, or called once the whole request is
	                               * sent, before the wait for the answer: the
	                               * caller's work that needs no answer runs
	                               * while the server prepares it */
	void *on_sent_ctx;
};

struct httpc_response {
	int status;
	char content_type[128];
	struct secbuf *body;          /* may hold secrets: guarded memory; NULL if streamed */
};

/* One request on a fresh connection. 0 on any HTTP answer (check status);
 * -ENOENT / -ECONNREFUSED when nothing listens at socket_path, -EACCES on
 * socket permission, -ETIMEDOUT, -EPROTO on a malformed response, -EMSGSIZE
 * over max_body, -ENAMETOOLONG for a socket path over 107 bytes, -EINVAL for
 * a method, path or token with spaces or control characters, -ECANCELED
 * when *cancel_fd became readable, another -errno from writing body_fd. Interim 1xx answers are skipped. A streamed body may
 * be partly written when an error comes. *ret is untouched on failure; free
 * with httpc_response_free. */
int httpc_do(const struct httpc_request *req, struct httpc_response **ret);
void httpc_response_free(struct httpc_response *r);   /* wipes; NULL ok */

/* Whether t can be sent as a Bearer token: not empty, no blank or control
 * byte (httpc_do refuses any other with -EINVAL). */
bool httpc_token_ok(const struct secbuf *t);

/* Percent-encodes a path segment or query value into out. -ENOSPC if small. */
int httpc_escape(const char *in, char *out, size_t outcap);

#endif
