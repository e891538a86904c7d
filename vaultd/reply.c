/* Building answers: JSON bodies (secret-bearing ones only in guarded memory,
 * wiped when libmicrohttpd lets go of them), errors in the one error shape,
 * store errors mapped to statuses, and the small request-input helpers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "store.h"

static void set_answer(struct req *r, int status, struct MHD_Response *resp, const char *result,
                       const char *content_type)
{
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = status;
	r->result = result;
	if (!resp)
		return;
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == 405 && r->route.allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->route.allow);
}

static const char *result_for(int status)
{
	return status < 400 ? "ok" : "error";
}

static void free_json_text(void *p)
{
	json_malloc_t m;
	json_free_t f;
	json_get_alloc_funcs(&m, &f);
	f(p); /* jansson's allocator: wipes on free */
}

void json_text_free(void *p)
{
	if (p)
		free_json_text(p);
}

static void free_secbuf(void *p)
{
	secbuf_free(p);
}

void reply_json(struct req *r, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		set_answer(r, 500, NULL, "internal", NULL);
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
	    strlen(text), text, free_json_text, text);
	if (!resp)
		free_json_text(text);
	set_answer(r, status, resp, result_for(status), "application/json");
}

void reply_secbuf(struct req *r, int status, struct secbuf *b, const char *content_type)
{
	if (!b) {
		set_answer(r, 500, NULL, "internal", NULL);
		return;
	}
	/* b->len is the body length; the secbuf is wiped and freed by MHD. */
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data, free_secbuf, b);
	if (!resp)
		secbuf_free(b);
	set_answer(r, status, resp, result_for(status), content_type);
	r->carries_secret = true;
}

void reply_secret_json(struct req *r, int status, json_t *o)
{
	struct secbuf *b = o ? jsonx_dump_secret(o) : NULL;
	json_decref(o);
	reply_secbuf(r, status, b, "application/json");
}

void reply_text(struct req *r, int status, char *text, size_t len, const char *content_type)
{
	struct MHD_Response *resp =
	    text ? MHD_create_response_from_buffer_with_free_callback_cls(len, text, free, text)
	         : NULL;
	if (!resp)
		free(text);
	set_answer(r, status, resp, result_for(status), content_type);
}

void reply_fd(struct req *r, int status, int fd, uint64_t size, const char *content_type)
{
	struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
	if (!resp)
		close(fd);
	set_answer(r, status, resp, result_for(status), content_type);
}

void reply_empty(struct req *r, int status)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	set_answer(r, status, resp, "ok", NULL);
}

static json_t *error_doc(const char *code, const char *message, json_t *names)
{
	json_t *err = json_object();
	json_object_set_new(err, "code", json_string(code));
	json_object_set_new(err, "message", json_string(message ? message : code));
	if (names)
		json_object_set_new(err, "names", names);
	json_t *doc = json_object();
	json_object_set_new(doc, "error", err);
	return doc;
}

void reply_error_names(struct req *r, int status, const char *code, const char *message,
                       json_t *names)
{
	reply_json(r, status, error_doc(code, message, names));
	if (r->status == status)
		r->result = code; /* the audit result is the error code */
}

void reply_error(struct req *r, int status, const char *code, const char *message)
{
	reply_error_names(r, status, code, message, NULL);
}

void reply_store_error(struct req *r, int err, const char *what)
{
	switch (err) {
	case STORE_E_NOTFOUND:
		reply_error(r, 404, "not_found", "no such secret, version, token or policy");
		return;
	case STORE_E_DESTROYED:
		reply_error(r, 410, "destroyed", "that version's value was destroyed");
		return;
	case STORE_E_CONFLICT:
		reply_error(r, 409, "cas_conflict",
		            "check-and-set did not match the current version: read it and retry");
		return;
	case STORE_E_SEALED:
		reply_error(r, 503, "sealed", "vaultd is sealed: unseal it (vaultctl unseal)");
		return;
	case STORE_E_TOOBIG:
		reply_error(r, 413, "too_large", "value over 512 KiB");
		return;
	case STORE_E_INVAL:
		reply_error(r, 400, "bad_request", store_strerror(err));
		return;
	case STORE_E_EXPIRED:
	case STORE_E_REVOKED:
		reply_error(r, 401, "unauthenticated", "token expired, used up or revoked");
		return;
	default:
		log_errno(LOG_ERROR, "store_error", err, what);
		reply_error(r, 500, "internal", "store failure (see the vaultd log)");
	}
}

int req_json_body(struct req *r, json_t **ret)
{
	if (r->body_too_large) {
		reply_error(r, 413, "too_large", "request body over 1 MiB");
		return -EMSGSIZE;
	}
	if (!r->body || r->body_len == 0) {
		reply_error(r, 400, "bad_json", "a JSON object body is required");
		return -EINVAL;
	}
	char err[160];
	int rc =
	    jsonx_parse_object(r->body->data, r->body_len, VAULTD_MAX_BODY, ret, err, sizeof(err));
	if (rc == -EMSGSIZE) {
		reply_error(r, 413, "too_large", "request body over 1 MiB");
		return rc;
	}
	if (rc < 0) {
		char msg[200];
		snprintf(msg, sizeof(msg), "the body is not a strict JSON object: %s", err);
		reply_error(r, 400, "bad_json", msg);
		return rc;
	}
	return 0;
}

int req_empty_body(struct req *r)
{
	if (r->body_len == 0 && !r->body_too_large)
		return 0;
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return -EINVAL;
	size_t n = json_object_size(o);
	json_decref(o);
	if (n == 0)
		return 0;
	reply_error(r, 400, "bad_request", "this endpoint takes no fields: send {} or nothing");
	return -EINVAL;
}

int req_query(struct req *r, const char *key, char *out, size_t outcap)
{
	const char *raw = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
	if (!raw) {
		/* "?deleted" without a value is present but empty. */
		if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key),
		                                  NULL, NULL) == MHD_YES) {
			if (outcap == 0)
				return -EINVAL;
			out[0] = '\0';
			return 0;
		}
		return -ENOENT;
	}
	size_t len = 0;
	if (url_decode(raw, strlen(raw), out, outcap, &len) < 0 || strlen(out) != len)
		return -EINVAL;
	return 0;
}

int req_query_u64(struct req *r, const char *key, uint64_t max, uint64_t *ret)
{
	char buf[32];
	int rc = req_query(r, key, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}
