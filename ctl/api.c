/* vaultctl's side of the API: one request through lib/httpc, the answer's
 * status mapped to an exit code, and one message that names the fix. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "httpc.h"
#include "jsonx.h"
#include "names.h"
#include "output.h"
#include "seal.h"

#define CTL_MAX_ERROR_TEXT 200

int ctl_exit_for_status(int status, const char *code)
{
	if (code && strcmp(code, "unseal_failed") == 0)
		return CTL_DENIED;
	switch (status) {
	case 401:
	case 403:
		return CTL_DENIED;
	case 404:
	case 410:
		return CTL_NOT_FOUND;
	case 409:
		return CTL_CONFLICT;
	case 503:
		return CTL_UNAVAILABLE;
	default:
		return CTL_ERROR;
	}
}

/* What to do about an error, by its code. */
static const char *fix_for(int status, const char *code)
{
	if (status == 401)
		return ": set VAULTD_TOKEN or --token-file, or run as an admin user";
	if (status == 403)
		return ": the token's policies do not allow this";
	if (status == 409)
		return ": `vaultctl history NAME` shows the current version";
	if (code && strcmp(code, "unseal_failed") == 0)
		return ": check the passphrase or key file";
	if (status == 413)
		return ": values are at most 512 KiB";
	if (status >= 500)
		return ": see vaultd's log";
	return "";
}

/* An error answer's code and message, cleaned for a terminal (vaultd's
 * text must not drive it); empty strings when the body is not ours. */
struct http_error {
	int status;
	char code[64];
	char message[CTL_MAX_ERROR_TEXT + 1];
};

static void parse_http_error(int status, const struct secbuf *body, struct http_error *e)
{
	json_t *o = NULL;
	const char *code = "", *message = "";
	e->status = status;
	if (body && body->len > 0 &&
	    jsonx_parse_object(body->data, body->len, body->len, &o, NULL, 0) == 0) {
		json_t *err = json_object_get(o, "error");
		(void)jsonx_get_string(err, "code", &code);
		(void)jsonx_get_string(err, "message", &message);
	}
	out_clean(code, e->code, sizeof(e->code));
	out_clean(message, e->message, sizeof(e->message));
	json_decref(o);
}

static void print_http_error(const struct http_error *e)
{
	if (e->status == 503 && (!e->code[0] || strcmp(e->code, "sealed") == 0)) {
		ctl_err("vaultd is sealed: run `vaultctl unseal`");
		return;
	}
	ctl_err("%s (HTTP %d%s%s)%s", e->message[0] ? e->message : "request failed", e->status,
	        e->code[0] ? " " : "", e->code, fix_for(e->status, e->code));
}

static int print_transport_error(const struct ctl *c, int r)
{
	switch (r) {
	case -ENOENT:
	case -ECONNREFUSED:
	case -ENOTSOCK:
	case -ENOTDIR:
		ctl_err("cannot reach vaultd at %s: is it running? (set VAULTD_SOCKET or --socket)",
		        c->socket);
		return CTL_UNAVAILABLE;
	case -EACCES:
	case -EPERM:
		ctl_err("permission denied on %s: run as root or as a member of the socket's group",
		        c->socket);
		return CTL_DENIED;
	case -ETIMEDOUT:
		ctl_err("vaultd at %s did not answer in time: is it overloaded or stuck?",
		        c->socket);
		return CTL_UNAVAILABLE;
	case -ENAMETOOLONG:
		ctl_err("socket path %s is too long for a unix socket: use a shorter --socket",
		        c->socket);
		return CTL_USAGE;
	case -EPROTO:
		ctl_err("malformed answer from %s: is it vaultd?", c->socket);
		return CTL_ERROR;
	case -EMSGSIZE:
		ctl_err("answer from vaultd at %s is larger than vaultctl accepts", c->socket);
		return CTL_ERROR;
	default:
		ctl_err("request to vaultd at %s failed: %s", c->socket, strerror(-r));
		return r == -ECONNRESET || r == -EPIPE ? CTL_UNAVAILABLE : CTL_ERROR;
	}
}

/* Sends one request; *ret_resp on an HTTP answer, else an exit code. */
static int api_send(const struct ctl *c, struct httpc_request *req, const json_t *body,
                    struct httpc_response **ret_resp)
{
	struct secbuf *payload = NULL;
	if (body) {
		/* Bodies may carry values or passphrases: serialised into guarded
		 * memory. */
		payload = jsonx_dump_secret(body);
		if (!payload) {
			ctl_err("out of memory");
			return CTL_ERROR;
		}
		req->body = payload->data;
		req->body_len = payload->len;
	}
	req->socket_path = c->socket;
	req->token = c->token;
	int r = httpc_do(req, ret_resp);
	secbuf_free(payload);
	if (r < 0)
		return print_transport_error(c, r);
	return CTL_OK;
}

static void mark_sent(void *ctx)
{
	*(bool *)ctx = true;
}

/* ctl_call_ex; *ret_sent (may be NULL) as for ctl_call_tracked. */
static int call(const struct ctl *c, const char *method, const char *path, const json_t *body,
                json_t **ret, int quiet_status, int *ret_status, bool *ret_sent)
{
	bool sent = false;
	struct httpc_request req = {
	    .method = method,
	    .path = path,
	    .timeout_ms = CTL_TIMEOUT_MS,
	    .body_fd = -1,
	    .on_sent = ret_sent ? mark_sent : NULL,
	    .on_sent_ctx = &sent,
	};
	struct httpc_response *resp = NULL;
	if (ret_status)
		*ret_status = 0;
	int rc = api_send(c, &req, body, &resp);
	if (ret_sent)
		*ret_sent = sent || rc == CTL_OK;
	if (rc != CTL_OK)
		return rc;
	if (ret_status)
		*ret_status = resp->status;
	if (resp->status < 200 || resp->status > 299) {
		struct http_error e;
		parse_http_error(resp->status, resp->body, &e);
		httpc_response_free(resp);
		if (e.status != quiet_status)
			print_http_error(&e);
		return ctl_exit_for_status(e.status, e.code);
	}
	json_t *o = NULL;
	if (ret && resp->body && resp->body->len > 0) {
		char err[160];
		int r = jsonx_parse_object(resp->body->data, resp->body->len, resp->body->len, &o,
		                           err, sizeof(err));
		if (r < 0) {
			ctl_err("vaultd sent an answer that is not a JSON object (%s)", err);
			httpc_response_free(resp);
			return CTL_ERROR;
		}
	}
	httpc_response_free(resp);
	if (ret)
		*ret = o;
	return CTL_OK;
}

int ctl_call_ex(const struct ctl *c, const char *method, const char *path, const json_t *body,
                json_t **ret, int quiet_status, int *ret_status)
{
	return call(c, method, path, body, ret, quiet_status, ret_status, NULL);
}

int ctl_call(const struct ctl *c, const char *method, const char *path, const json_t *body,
             json_t **ret)
{
	return call(c, method, path, body, ret, 0, NULL, NULL);
}

int ctl_call_tracked(const struct ctl *c, const char *method, const char *path, const json_t *body,
                     json_t **ret, int *ret_status, bool *ret_sent)
{
	return call(c, method, path, body, ret, 0, ret_status, ret_sent);
}

/* Reads back a small error body that was streamed into fd. */
static struct secbuf *read_back(int fd, off_t start, uint64_t len)
{
	if (len == 0 || len > 65536)
		return NULL;
	struct secbuf *b = secbuf_new((size_t)len);
	if (!b)
		return NULL;
	ssize_t n = pread(fd, b->data, (size_t)len, start < 0 ? 0 : start);
	if (n != (ssize_t)len) {
		secbuf_free(b);
		return NULL;
	}
	return b;
}

int ctl_call_to_fd(const struct ctl *c, const char *path, int fd, int timeout_ms,
                   uint64_t *ret_bytes)
{
	struct httpc_request req = {
	    .method = "GET",
	    .path = path,
	    .timeout_ms = timeout_ms,
	    .body_fd = fd, /* max_body 0: a stream has no cap */
	};
	off_t start = lseek(fd, 0, SEEK_CUR);
	struct httpc_response *resp = NULL;
	int rc = api_send(c, &req, NULL, &resp);
	if (rc != CTL_OK)
		return rc;
	off_t end = lseek(fd, 0, SEEK_CUR);
	uint64_t bytes = (start >= 0 && end >= start) ? (uint64_t)(end - start) : 0;
	if (resp->status < 200 || resp->status > 299) {
		/* The error document went to fd (or into resp->body): show it. */
		struct secbuf *eb = resp->body ? NULL : read_back(fd, start, bytes);
		struct http_error e;
		parse_http_error(resp->status, resp->body ? resp->body : eb, &e);
		secbuf_free(eb);
		httpc_response_free(resp);
		print_http_error(&e);
		return ctl_exit_for_status(e.status, e.code);
	}
	httpc_response_free(resp);
	*ret_bytes = bytes;
	return CTL_OK;
}

int ctl_secret_path(const char *name, const char *suffix, char *buf, size_t cap)
{
	char esc[3 * VAULT_MAX_NAME_LEN + 1];
	int r = httpc_escape(name, esc, sizeof(esc));
	if (r < 0)
		return r;
	int n = snprintf(buf, cap, "/v1/secrets/%s%s", esc, suffix ? suffix : "");
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return 0;
}

int ctl_call_secret(const struct ctl *c, const char *method, const char *path, const json_t *body,
                    json_t **ret, const char *name, const char *what)
{
	int status = 0;
	int rc = ctl_call_ex(c, method, path, body, ret, 404, &status);
	if (status != 404)
		return rc;
	if (what)
		ctl_err("secret %s has no %s (see `vaultctl history %s`)", name, what, name);
	else
		ctl_err("no secret named %s (see `vaultctl list`; deleted ones: `vaultctl list "
		        "--deleted`)",
		        name);
	return rc;
}

/* PUT /v1/secrets/{name}. A 409 is explained with the name unless
 * quiet_conflict; then the caller gets CTL_CONFLICT silently. */
static int secret_put(const struct ctl *c, const char *name, const struct secbuf *value,
                      int64_t cas, const json_t *metadata, uint64_t *ret_version,
                      bool quiet_conflict)
{
	if (value->len > VAULT_MAX_VALUE_BYTES) {
		ctl_err("the value for %s is larger than %u KiB, the most vaultd stores", name,
		        VAULT_MAX_VALUE_BYTES / 1024);
		return CTL_USAGE;
	}
	char path[256];
	if (ctl_secret_path(name, NULL, path, sizeof(path)) < 0) {
		ctl_err("invalid secret name");
		return CTL_USAGE;
	}
	struct secbuf *b64 = b64_encode_secret(value->data, value->len);
	json_t *body = json_object();
	/* jansson copies the string; hygiene's allocator wipes its copy. */
	if (!b64 || !body ||
	    json_object_set_new(body, "value", json_string((char *)b64->data)) < 0 ||
	    (cas >= 0 && json_object_set_new(body, "cas", json_integer(cas)) < 0) ||
	    (metadata && json_object_set(body, "metadata", (json_t *)metadata) < 0)) {
		secbuf_free(b64);
		json_decref(body);
		ctl_err("out of memory");
		return CTL_ERROR;
	}
	secbuf_free(b64);
	json_t *resp = NULL;
	int status = 0;
	int rc = ctl_call_ex(c, "PUT", path, body, &resp, 409, &status);
	json_decref(body);
	if (status == 409 && !quiet_conflict) {
		if (cas == 0)
			ctl_err("secret %s already exists (--cas 0 only creates)", name);
		else
			ctl_err("secret %s is no longer at version %lld (check-and-set): `vaultctl "
			        "history %s` shows the current one",
			        name, (long long)cas, name);
	}
	if (rc != CTL_OK)
		return rc;
	int64_t v = 0;
	if (jsonx_get_int(resp, "version", &v) < 0 || v < 1) {
		json_decref(resp);
		ctl_err("vaultd's answer to the write of %s has no version", name);
		return CTL_ERROR;
	}
	json_decref(resp);
	if (ret_version)
		*ret_version = (uint64_t)v;
	return CTL_OK;
}

int ctl_secret_put(const struct ctl *c, const char *name, const struct secbuf *value, int64_t cas,
                   const json_t *metadata, uint64_t *ret_version)
{
	return secret_put(c, name, value, cas, metadata, ret_version, false);
}

int ctl_secret_create(const struct ctl *c, const char *name, const struct secbuf *value,
                      const json_t *metadata, uint64_t *ret_version, bool *ret_existed)
{
	int rc = secret_put(c, name, value, 0, metadata, ret_version, true);
	*ret_existed = rc == CTL_CONFLICT;
	return rc == CTL_CONFLICT ? CTL_OK : rc;
}
