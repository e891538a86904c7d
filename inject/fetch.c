/* inject <-> vaultd: the bundle request (all secrets, one snapshot, fail
 * closed on any missing or denied name), the watch long-poll, the token, and
 * the mapping of every failure to one cause. */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "httpc.h"
#include "jsonx.h"
#include "monotime.h"
#include "msg.h"
#include "stop.h"

#define FETCH_MAX_ERROR_BODY 8192
#define FETCH_MAX_WATCH_PATH 65536

static enum fetch_status failf(enum fetch_status s, char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum fetch_status failf(enum fetch_status s, char *err, size_t cap, const char *fmt, ...)
{
	if (err && cap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return s;
}

static enum fetch_status stopped(char *err, size_t cap)
{
	return failf(FETCH_STOPPED, err, cap,
	             "stopped by SIG%s while waiting for vaultd; the command was not started",
	             sigabbrev_np(stop_signal()));
}

/* A transport error from httpc_do. */
static enum fetch_status transport(int r, const char *socket, char *err, size_t cap)
{
	switch (r) {
	case -ECANCELED:
		stop_pending(); /* take the stop signal that cut the request short */
		return stopped(err, cap);
	case -EACCES:
	case -EPERM:
		return failf(FETCH_DENIED, err, cap,
		             "no permission to connect to %s: run as a user of the socket's group "
		             "or mount it with other permissions",
		             socket);
	case -ENOMEM:
		return failf(FETCH_NOMEM, err, cap, "out of memory");
	case -EPROTO:
	case -EMSGSIZE:
		return failf(FETCH_PROTOCOL, err, cap, "vaultd at %s sent a malformed answer (%s)",
		             socket, errstr(-r));
	case -EINVAL:
	case -ENAMETOOLONG:
		/* Our request cannot be sent as it is: waiting will not help. */
		return failf(FETCH_PROTOCOL, err, cap, "cannot send the request to vaultd (%s)",
		             errstr(-r));
	default:
		return failf(FETCH_UNREACHABLE, err, cap,
		             "vaultd is not reachable at %s (%s): is it running, and is the socket "
		             "mounted into the container?",
		             socket, errstr(-r));
	}
}

/* An error answer as text: "HTTP 404 not_found: message" into what, and
 * error.names ("a, b") into names (empty when absent). */
static void describe_error(const struct httpc_response *resp, char *what, size_t wcap, char *names,
                           size_t ncap)
{
	snprintf(what, wcap, "HTTP %d", resp->status);
	names[0] = '\0';
	json_t *o = NULL;
	if (!resp->body || jsonx_parse_object(resp->body->data, resp->body->len,
	                                      FETCH_MAX_ERROR_BODY, &o, NULL, 0) < 0)
		return;
	json_t *e = json_object_get(o, "error");
	const char *code = "", *message = "";
	jsonx_get_string(e, "code", &code);
	jsonx_get_string(e, "message", &message);
	snprintf(what, wcap, "HTTP %d %s%s%s", resp->status, code, *message ? ": " : "", message);
	json_t *list = json_object_get(e, "names");
	size_t i, off = 0;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) && off < ncap)
			off += (size_t)snprintf(names + off, ncap - off, "%s%s", off ? ", " : "",
			                        json_string_value(v));
	}
	json_decref(o);
}

static enum fetch_status http_error(const struct httpc_response *resp, char *err, size_t cap)
{
	char what[512], names[512];
	describe_error(resp, what, sizeof(what), names, sizeof(names));
	const char *sep = names[0] ? " " : "";
	switch (resp->status) {
	case 401:
		return failf(FETCH_DENIED, err, cap,
		             "vaultd does not know inject (%s): give a token with --token-file "
		             "or INJECT_TOKEN, or run inject as an admin uid",
		             what);
	case 403:
		return failf(FETCH_DENIED, err, cap,
		             "vaultd denied reading secret%s%s (%s): grant read in a policy", sep,
		             names, what);
	case 404:
		return failf(FETCH_NOT_FOUND, err, cap,
		             "secret%s%s not found (%s): create it with vaultctl set", sep, names,
		             what);
	case 503:
		return failf(FETCH_SEALED, err, cap, "vaultd is sealed (%s): unseal it", what);
	default:
		return failf(FETCH_PROTOCOL, err, cap, "unexpected answer from vaultd: %s", what);
	}
}

struct bundle *bundle_new(size_t n, size_t bytes)
{
	return bundle_new_in(n, secbuf_new(bytes));
}

struct bundle *bundle_new_in(size_t n, struct secbuf *arena)
{
	struct bundle *b = calloc(1, sizeof(*b));
	if (!b) {
		secbuf_free(arena);
		return NULL;
	}
	b->arena = arena;
	b->entries = calloc(n ? n : 1, sizeof(*b->entries));
	if (!b->entries || !b->arena) {
		bundle_free(b);
		return NULL;
	}
	sodium_memzero(arena->data, arena->len);
	b->n = n;
	return b;
}

unsigned char *bundle_take(struct bundle *b, size_t *off, size_t len)
{
	if (len > b->arena->len - *off)
		return NULL;
	unsigned char *p = b->arena->data + *off;
	*off += len;
	return p;
}

void bundle_free(struct bundle *b)
{
	if (!b)
		return;
	free(b->entries);
	secbuf_free(b->arena); /* every value, wiped at once */
	free(b);
}

const struct bundle_entry *bundle_find(const struct bundle *b, const char *name)
{
	for (size_t i = 0; b && i < b->n; i++)
		if (strcmp(b->entries[i].name, name) == 0)
			return &b->entries[i];
	return NULL;
}

static int read_version(const json_t *o, uint64_t *ret)
{
	int64_t v;
	if (jsonx_get_int(o, "version", &v) < 0 || v <= 0)
		return -EINVAL;
	*ret = (uint64_t)v;
	return 0;
}

/* The decoded size of padded standard base64, or -1 when it cannot be. */
static ssize_t b64_size(const char *s, size_t len)
{
	if (len % 4 != 0)
		return -1;
	size_t pad = 0;
	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	size_t n = len / 4 * 3 - pad;
	return n > FETCH_MAX_VALUE ? -1 : (ssize_t)n;
}

/* The "value" of o, its size, and how many arena bytes it needs. */
static int value_of(const json_t *o, const char **s, size_t *len, size_t *bin)
{
	json_t *v = json_object_get(o, "value");
	if (!json_is_string(v))
		return -EINVAL;
	*s = json_string_value(v);
	*len = json_string_length(v);
	ssize_t n = b64_size(*s, *len);
	if (n < 0)
		return -EINVAL;
	*bin = (size_t)n;
	return 0;
}

/* The version object for an entry: s itself, or its "previous" (NULL when
 * there is none). -EINVAL when malformed. */
static int stage_of(const json_t *s, bool previous, const json_t **ret)
{
	if (!previous) {
		*ret = s;
		return 0;
	}
	json_t *p = json_object_get(s, "previous");
	if (!p || json_is_null(p)) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_object(p))
		return -EINVAL;
	*ret = p;
	return 0;
}

/* Pass one: checks every entry and sums the arena size. */
static int measure(const json_t *secrets, const char (*names)[VAULT_MAX_NAME_LEN + 1], size_t n,
                   bool previous, size_t *total, size_t *bad)
{
	*total = 0;
	for (size_t i = 0; i < n; i++) {
		*bad = i;
		json_t *s = json_object_get(secrets, names[i]);
		if (!json_is_object(s))
			return -EINVAL;
		for (int k = 0; k < (previous ? 2 : 1); k++) {
			const json_t *o;
			const char *str;
			size_t len, bin;
			uint64_t ver;
			if (stage_of(s, k == 1, &o) < 0)
				return -EINVAL;
			if (!o)
				continue;
			if (read_version(o, &ver) < 0 || value_of(o, &str, &len, &bin) < 0)
				return -EINVAL;
			*total += bin;
		}
	}
	return 0;
}

/* Pass two: decodes each value into its slice of the arena. */
static int decode_into(struct bundle *b, const json_t *secrets,
                       const char (*names)[VAULT_MAX_NAME_LEN + 1], bool previous)
{
	size_t off = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct bundle_entry *e = &b->entries[i];
		memcpy(e->name, names[i], sizeof(e->name));
		json_t *s = json_object_get(secrets, names[i]);
		for (int k = 0; k < (previous ? 2 : 1); k++) {
			const json_t *o;
			const char *str;
			size_t len, bin;
			uint64_t ver;
			if (stage_of(s, k == 1, &o) < 0 ||
			    (o && (read_version(o, &ver) < 0 || value_of(o, &str, &len, &bin) < 0)))
				return -EINVAL;
			if (!o)
				continue;
			unsigned char *p = bundle_take(b, &off, bin);
			if (!p || b64_decode_exact(p, bin, str, len) < 0)
				return -EINVAL;
			e->view[k].data = p;
			e->view[k].len = bin;
			if (k == 0) {
				e->version = ver;
				e->value = &e->view[0];
			} else {
				e->previous_version = ver;
				e->previous = &e->view[1];
			}
		}
	}
	return 0;
}

/* The largest bundle answer n values (and their previous versions) can
 * make: base64 grows 4/3, plus room for names and JSON. */
static size_t bundle_max_body(size_t n, bool previous)
{
	size_t per = (FETCH_MAX_VALUE / 3 + 1) * 4 + 2 * VAULT_MAX_NAME_LEN + 128;
	return (previous ? 2 : 1) * per * (n ? n : 1) + 4096;
}

/* The guarded memory for the decoded values: the answer's own buffer when it
 * is big enough (always, as base64 and JSON only add bytes; the values are
 * in the parsed JSON by now), which saves a guarded allocation. */
static struct secbuf *arena_for(struct secbuf **body, size_t total)
{
	if (!*body || (*body)->len < total)
		return secbuf_new(total);
	struct secbuf *a = *body;
	*body = NULL;
	/* keep wipes all but the first total bytes; bundle_new_in wipes those. */
	if (secbuf_keep(a, 0, total) < 0) {
		secbuf_free(a);
		return NULL;
	}
	return a;
}

/* Takes *body (the answer's buffer) when it can serve as the arena. */
static enum fetch_status parse_bundle(struct secbuf **body,
                                      const char (*names)[VAULT_MAX_NAME_LEN + 1], size_t n,
                                      bool previous, struct bundle **ret, char *err, size_t cap)
{
	json_t *o = NULL;
	char why[200];
	if (jsonx_parse_object((*body)->data, (*body)->len, bundle_max_body(n, previous), &o, why,
	                       sizeof(why)) < 0)
		return failf(FETCH_PROTOCOL, err, cap, "vaultd's bundle is not valid JSON: %s",
		             why);
	enum fetch_status st = FETCH_OK;
	int64_t rev = 0;
	size_t total = 0, bad = 0;
	struct bundle *b = NULL;
	json_t *secrets = json_object_get(o, "secrets");
	if (jsonx_get_int(o, "revision", &rev) < 0 || rev < 0 || !json_is_object(secrets))
		st = failf(FETCH_PROTOCOL, err, cap, "vaultd's bundle has no revision or secrets");
	else if (measure(secrets, names, n, previous, &total, &bad) < 0)
		st = failf(FETCH_PROTOCOL, err, cap,
		           "vaultd's bundle has no valid entry for \"%s\"", names[bad]);
	else if (!(b = bundle_new_in(n, arena_for(body, total))))
		st = failf(FETCH_NOMEM, err, cap, "out of memory");
	else if (decode_into(b, secrets, names, previous) < 0)
		st = failf(FETCH_PROTOCOL, err, cap, "vaultd's bundle has a malformed value");
	json_decref(o);
	if (st != FETCH_OK) {
		bundle_free(b);
		return st;
	}
	b->revision = (uint64_t)rev;
	*ret = b;
	return FETCH_OK;
}

static enum fetch_status bundle_once(const struct fetch_target *t, const char *body,
                                     size_t body_len, const char (*names)[VAULT_MAX_NAME_LEN + 1],
                                     size_t n, bool previous,
                                     const struct fetch_meanwhile *meanwhile, struct bundle **ret,
                                     char *err, size_t cap)
{
	struct httpc_request rq = {
	    .socket_path = t->socket,
	    .method = "POST",
	    .path = "/v1/bundle",
	    .token = t->token,
	    .body = body,
	    .body_len = body_len,
	    .timeout_ms = FETCH_TIMEOUT_MS,
	    .max_body = bundle_max_body(n, previous),
	    .body_fd = -1,
	    .cancel_fd = stop_fd(), /* a stop signal cuts a hanging request short */
	    .on_sent = meanwhile ? meanwhile->fn : NULL,
	    .on_sent_ctx = meanwhile ? meanwhile->ctx : NULL,
	};
	struct httpc_response *resp = NULL;
	int r = httpc_do(&rq, &resp);
	if (r < 0)
		return transport(r, t->socket, err, cap);
	enum fetch_status st = resp->status == 200
	                           ? parse_bundle(&resp->body, names, n, previous, ret, err, cap)
	                           : http_error(resp, err, cap);
	httpc_response_free(resp);
	return st;
}

/* {"names":[...],"previous":bool}: names only, nothing secret. Written by
 * hand: validated names ([A-Za-z0-9._-]) need no JSON escaping, and a
 * string from json_dumps would belong to the wiping allocator. */
static char *bundle_request(const char (*names)[VAULT_MAX_NAME_LEN + 1], size_t n, bool previous)
{
	size_t cap = 64 + n * (VAULT_MAX_NAME_LEN + 3);
	char *s = malloc(cap);
	if (!s)
		return NULL;
	size_t off = (size_t)snprintf(s, cap, "{\"names\":[");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s\"%s\"", i ? "," : "", names[i]);
	snprintf(s + off, cap - off, "],\"previous\":%s}", previous ? "true" : "false");
	return s;
}

enum fetch_status fetch_bundle(const struct fetch_target *t,
                               const char (*names)[VAULT_MAX_NAME_LEN + 1], size_t n, bool previous,
                               int wait_ms, const struct fetch_meanwhile *meanwhile,
                               struct bundle **ret, char *err, size_t cap)
{
	char *body = bundle_request(names, n, previous);
	if (!body)
		return failf(FETCH_NOMEM, err, cap, "out of memory");
	int64_t deadline = mono_ms() + wait_ms;
	int64_t backoff = FETCH_BACKOFF_FIRST_MS;
	enum fetch_status st;
	for (;;) {
		st = bundle_once(t, body, strlen(body), names, n, previous, meanwhile, ret, err, cap);
		if (st != FETCH_OK && meanwhile && meanwhile->undo)
			meanwhile->undo(meanwhile->ctx);
		/* Containers often start before vaultd, or before it is unsealed:
		 * those two are worth waiting for; everything else is final. */
		if (st != FETCH_UNREACHABLE && st != FETCH_SEALED)
			break;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			break;
		if (stop_sleep(backoff < left ? backoff : left)) {
			st = stopped(err, cap);
			break;
		}
		backoff = backoff * 2 > FETCH_BACKOFF_MAX_MS ? FETCH_BACKOFF_MAX_MS : backoff * 2;
	}
	free(body);
	return st;
}

enum fetch_status fetch_watch(const struct fetch_target *t,
                              const char (*names)[VAULT_MAX_NAME_LEN + 1], size_t n, uint64_t since,
                              int timeout_s, int client_ms, bool *ret_changed,
                              uint64_t *ret_revision, char *err, size_t cap)
{
	/* Names are validated ([A-Za-z0-9._-]): they need no escaping. */
	char *path = malloc(FETCH_MAX_WATCH_PATH);
	if (!path)
		return failf(FETCH_NOMEM, err, cap, "out of memory");
	size_t off = (size_t)snprintf(path, FETCH_MAX_WATCH_PATH, "/v1/watch?names=");
	for (size_t i = 0; i < n && off < FETCH_MAX_WATCH_PATH; i++)
		off += (size_t)snprintf(path + off, FETCH_MAX_WATCH_PATH - off, "%s%s",
		                        i ? "," : "", names[i]);
	if (off < FETCH_MAX_WATCH_PATH)
		off += (size_t)snprintf(path + off, FETCH_MAX_WATCH_PATH - off,
		                        "&since=%llu&timeout=%d", (unsigned long long)since,
		                        timeout_s);
	if (off >= FETCH_MAX_WATCH_PATH) {
		free(path);
		return failf(FETCH_PROTOCOL, err, cap, "watch request too long");
	}
	struct httpc_request rq = {.socket_path = t->socket,
	                           .method = "GET",
	                           .path = path,
	                           .token = t->token,
	                           .timeout_ms = client_ms,
	                           .body_fd = -1};
	struct httpc_response *resp = NULL;
	int r = httpc_do(&rq, &resp);
	free(path);
	if (r == -ETIMEDOUT) {
		*ret_changed = false;
		return FETCH_OK;
	}
	if (r < 0)
		return transport(r, t->socket, err, cap);
	enum fetch_status st = FETCH_OK;
	if (resp->status == 204) {
		*ret_changed = false;
	} else if (resp->status == 200) {
		json_t *o = NULL;
		int64_t rev;
		if (jsonx_parse_object(resp->body->data, resp->body->len, HTTPC_MAX_BODY, &o, NULL,
		                       0) < 0 ||
		    jsonx_get_int(o, "revision", &rev) < 0 || rev < 0) {
			st = failf(FETCH_PROTOCOL, err, cap, "vaultd's watch answer is malformed");
		} else {
			json_t *ch = json_object_get(o, "changed");
			*ret_changed = json_is_array(ch) && json_array_size(ch) > 0;
			*ret_revision = (uint64_t)rev;
		}
		json_decref(o);
	} else {
		st = http_error(resp, err, cap);
	}
	httpc_response_free(resp);
	return st;
}

/* What an Authorization header can carry (an empty token is refused
 * before this, with its own message). */
static int token_chars_ok(const struct secbuf *t)
{
	return httpc_token_ok(t) ? 0 : -EILSEQ;
}

int fetch_load_token(const char *path, const char *env_value, struct secbuf **ret)
{
	struct secbuf *b = NULL;
	if (path) {
		/* A regular file only: a FIFO would hang the container's start
		 * instead of failing it. */
		int fd = fsutil_open_regular(AT_FDCWD, path, 0, NULL);
		if (fd < 0)
			return fd == -EINVAL ? -ESPIPE : fd; /* -EINVAL says "empty" */
		b = secbuf_new(FETCH_MAX_TOKEN_BYTES + 1);
		if (!b) {
			close(fd);
			return -ENOMEM;
		}
		size_t len = 0;
		int r = 0;
		for (;;) {
			ssize_t k = read(fd, b->data + len, b->len - len);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				r = -errno;
			if (k <= 0)
				break;
			len += (size_t)k;
			if (len == b->len) {
				r = -EFBIG;
				break;
			}
		}
		close(fd);
		while (r == 0 && len > 0 &&
		       (b->data[len - 1] == '\n' || b->data[len - 1] == '\r' ||
		        b->data[len - 1] == ' ' || b->data[len - 1] == '\t'))
			len--;
		if (r == 0 && len == 0)
			r = -EINVAL;
		struct secbuf *t = r == 0 ? secbuf_dup(b->data, len) : NULL;
		secbuf_free(b);
		if (r == 0 && !t)
			r = -ENOMEM;
		if (r == 0 && (r = token_chars_ok(t)) < 0)
			secbuf_free(t);
		if (r < 0)
			return r;
		*ret = t;
		return 0;
	}
	if (!env_value) {
		*ret = NULL;
		return 0;
	}
	/* Set but empty (a compose file's INJECT_TOKEN: ${UNSET_VAR}) is a token
	 * that went missing, not a request for peer credentials, which would
	 * make a root container an admin. */
	if (!*env_value)
		return -EINVAL;
	size_t len = strlen(env_value);
	if (len > FETCH_MAX_TOKEN_BYTES)
		return -EFBIG;
	b = secbuf_dup(env_value, len);
	if (!b)
		return -ENOMEM;
	int r = token_chars_ok(b);
	if (r < 0) {
		secbuf_free(b);
		return r;
	}
	*ret = b;
	return 0;
}
