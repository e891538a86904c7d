/* POST /v1/bundle: several secrets from one store snapshot, all or nothing.
 * A denied or missing name fails the whole request and is listed in
 * error.names, so inject can fail closed with a precise message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "jsonw.h"
#include "jsonx.h"
#include "store.h"

/* Validated names of the body; answers 400 and returns negative otherwise. */
static int bundle_names(struct req *r, const json_t *o, const char **names, size_t *ret_n,
                        bool *ret_previous)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcmp(k, "names") != 0 && strcmp(k, "previous") != 0) {
			reply_error(r, 400, "bad_request",
			            "unknown field (allowed: names, previous)");
			return -EINVAL;
		}
	}
	json_t *arr = json_object_get(o, "names");
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n == 0 || n > VAULT_MAX_BUNDLE_NAMES) {
		reply_error(r, 400, "bad_request", "\"names\": an array of 1 to 256 secret names");
		return -EINVAL;
	}
	json_t *bad = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s)) {
			json_decref(bad);
			reply_error(r, 400, "bad_request", "\"names\" must hold strings");
			return -EINVAL;
		}
		names[i] = json_string_value(s);
		size_t len = json_string_length(s);
		/* A token pasted as a name is not echoed back: answers are logged
		 * by clients and proxies too. */
		if (name_is_token(names[i], len))
			json_array_append_new(bad, json_string("(a token)"));
		else if (!name_is_valid(names[i], len))
			json_array_append_new(bad, json_stringn(names[i], len));
	}
	if (json_array_size(bad) > 0) {
		reply_error_names(r, 400, "bad_name",
		                  "names are [A-Za-z0-9][A-Za-z0-9._-]{0,127} without \"..\"", bad);
		return -EINVAL;
	}
	json_decref(bad);
	bool previous = false;
	if (jsonx_get_bool(o, "previous", &previous) == -EINVAL) {
		reply_error(r, 400, "bad_request", "\"previous\" must be true or false");
		return -EINVAL;
	}
	*ret_n = n;
	*ret_previous = previous;
	return 0;
}

/* "a,b,c" for the audit entry: as many whole names as fit, then "+" when
 * some are left out ('+' is in no name). A first name that leaves no room
 * for the "+" is cut instead, so the entry always starts with it. */
static void audit_names(struct req *r, const char *const *names, size_t n)
{
	char *out = r->audit_name;
	const size_t room = sizeof(r->audit_name) - 1;
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		/* the comma before, and room for a "+" while names follow */
		size_t need = len + (i > 0) + (i + 1 < n);
		if (used + need > room) {
			if (i == 0) {
				used = room - 1;
				memcpy(out, names[0], used);
			}
			out[used++] = '+';
			break;
		}
		if (i > 0)
			out[used++] = ',';
		memcpy(out + used, names[i], len);
		used += len;
	}
	out[used] = '\0';
}

/* A name asked for twice is answered (or listed in error.names) once, at
 * its first place. */
static bool seen_before(const char *const *names, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (strcmp(names[k], names[i]) == 0)
			return true;
	return false;
}

struct bundle_answer {
	uint64_t rev;
	const char *const *names;
	size_t n;
	const struct secret_value *cur, *prev;
};

/* {"version":V,"value":"B64"} without the closing brace. */
static void put_version(struct jsonw *w, const struct secret_value *v)
{
	jsonw_lit(w, "{\"version\":");
	jsonw_u64(w, v->version);
	jsonw_lit(w, ",\"value\":");
	jsonw_b64(w, v->value->data, v->value->len);
}

/* {"revision":R,"secrets":{"NAME":{"version":V,"value":"B64"[,"previous":
 * null|{...}]},...}}. Names are validated ([A-Za-z0-9._-]): no escaping. */
static void bundle_doc(struct jsonw *w, const void *ctx)
{
	const struct bundle_answer *a = ctx;
	jsonw_lit(w, "{\"revision\":");
	jsonw_u64(w, a->rev);
	jsonw_lit(w, ",\"secrets\":{");
	bool first = true;
	for (size_t i = 0; i < a->n; i++) {
		if (seen_before(a->names, i))
			continue;
		jsonw_lit(w, first ? "\"" : ",\"");
		first = false;
		jsonw_lit(w, a->names[i]);
		jsonw_lit(w, "\":");
		put_version(w, &a->cur[i]);
		const struct secret_value *p = a->prev ? &a->prev[i] : NULL;
		if (p && p->version && p->value) {
			jsonw_lit(w, ",\"previous\":");
			put_version(w, p);
			jsonw_lit(w, "}");
		} else if (p) {
			jsonw_lit(w, ",\"previous\":null");
		}
		jsonw_lit(w, "}");
	}
	jsonw_lit(w, "}}");
}

/* Lists names lacking read: 403 with all of them (each once). */
static int check_read(struct req *r, const char *const *names, size_t n)
{
	json_t *denied = json_array();
	for (size_t i = 0; i < n; i++)
		if (!seen_before(names, i) && !auth_allows(r, CAP_READ, names[i]))
			json_array_append_new(denied, json_string(names[i]));
	if (json_array_size(denied) == 0) {
		json_decref(denied);
		return 0;
	}
	reply_error_names(r, 403, "denied", "the token lacks \"read\" on these names", denied);
	return -EACCES;
}

static void fetch_and_answer(struct req *r, const char *const *names, size_t n, bool previous)
{
	struct secret_value *cur = calloc(n, sizeof(*cur));
	struct secret_value *prev = previous ? calloc(n, sizeof(*prev)) : NULL;
	bool *missing = calloc(n, sizeof(*missing));
	if (!cur || !missing || (previous && !prev)) {
		free(cur);
		free(prev);
		free(missing);
		reply_error(r, 500, "internal", "out of memory");
		return;
	}
	/* Read first: a watcher given this revision re-checks anything newer. */
	uint64_t rev = store_revision(r->vd->store);
	int rc = store_get_many(r->vd->store, names, n, cur, prev, missing);
	if (rc == STORE_E_NOTFOUND) {
		json_t *gone = json_array();
		for (size_t i = 0; i < n; i++)
			if (missing[i] && !seen_before(names, i))
				json_array_append_new(gone, json_string(names[i]));
		reply_error_names(r, 404, "not_found", "no such secrets", gone);
	} else if (rc < 0) {
		reply_store_error(r, rc, "reading a bundle");
	} else {
		struct bundle_answer a = {.rev = rev, .names = names, .n = n, .cur = cur, .prev = prev};
		/* Straight into guarded memory: no value passes through jansson. */
		struct secbuf *body = jsonw_secret(bundle_doc, &a);
		for (size_t i = 0; i < n; i++) {
			secret_value_clear(&cur[i]);
			if (prev)
				secret_value_clear(&prev[i]);
		}
		if (body)
			reply_secbuf(r, 200, body, "application/json");
		else
			reply_error(r, 500, "internal", "out of memory");
	}
	free(cur);
	free(prev);
	free(missing);
}

void api_bundle(struct req *r)
{
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return;
	const char *names[VAULT_MAX_BUNDLE_NAMES];
	size_t n = 0;
	bool previous = false;
	if (bundle_names(r, o, names, &n, &previous) == 0) {
		audit_names(r, names, n);
		if (check_read(r, names, n) == 0)
			fetch_and_answer(r, names, n, previous);
	}
	json_decref(o); /* names point into o */
}
