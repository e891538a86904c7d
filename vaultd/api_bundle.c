/* POST /v1/bundle: several secrets from one store snapshot, all or nothing.
 * A denied or missing name fails the whole request and is listed in
 * error.names, so inject can fail closed with a precise message. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "decimal.h"
#include "jsonx.h"
#include "store.h"

#define BUNDLE_MAX_NAMES 256

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
	if (!json_is_array(arr) || n == 0 || n > BUNDLE_MAX_NAMES) {
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
		if (!name_is_valid(names[i], json_string_length(s)))
			json_array_append_new(bad, json_stringn(names[i], json_string_length(s)));
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

/* "a,b,c" for the audit entry, cut to fit with a trailing "+". */
static void audit_names(struct req *r, const char *const *names, size_t n)
{
	size_t cap = sizeof(r->audit_name), used = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]) + (i ? 1 : 0);
		if (used + len >= cap - 1) {
			r->audit_name[used < cap - 1 ? used : cap - 2] = '+';
			r->audit_name[used < cap - 1 ? used + 1 : cap - 1] = '\0';
			return;
		}
		int w = snprintf(r->audit_name + used, cap - used, "%s%s", i ? "," : "", names[i]);
		used += (size_t)w;
	}
}

/* The answer is written twice over the same steps: first only counted,
 * then into guarded memory of exactly that size, so no value passes
 * through an unwiped allocation (or jansson's) on its way out. */
struct out {
	unsigned char *p; /* NULL while counting */
	size_t n;
};

static void put(struct out *o, const char *s, size_t len)
{
	if (o->p)
		memcpy(o->p + o->n, s, len);
	o->n += len;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
	char d[DECIMAL_MAX];
	put(o, d, decimal_u64(d, v));
}

/* The base64 text is always followed by '"': the NUL libsodium writes
 * after it lands where that quote goes next. */
static void put_b64_quoted(struct out *o, const struct secbuf *v)
{
	size_t enc = sodium_base64_ENCODED_LEN(v->len, sodium_base64_VARIANT_ORIGINAL);
	put(o, "\"", 1);
	if (o->p)
		sodium_bin2base64((char *)o->p + o->n, enc, v->data, v->len,
		                  sodium_base64_VARIANT_ORIGINAL);
	o->n += enc - 1;
	put(o, "\"", 1);
}

/* {"version":V,"value":"B64"} without the closing brace. */
static void put_version(struct out *o, const struct secret_value *v)
{
	put_str(o, "{\"version\":");
	put_u64(o, v->version);
	put_str(o, ",\"value\":");
	put_b64_quoted(o, v->value);
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

/* {"revision":R,"secrets":{"NAME":{"version":V,"value":"B64"[,"previous":
 * null|{...}]},...}}. Names are validated ([A-Za-z0-9._-]): no escaping.
 * A name asked for twice is answered once. */
static void bundle_doc(struct out *o, uint64_t rev, const char *const *names, size_t n,
                       const struct secret_value *cur, const struct secret_value *prev)
{
	put_str(o, "{\"revision\":");
	put_u64(o, rev);
	put_str(o, ",\"secrets\":{");
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (seen_before(names, i))
			continue;
		put_str(o, first ? "\"" : ",\"");
		first = false;
		put_str(o, names[i]);
		put_str(o, "\":");
		put_version(o, &cur[i]);
		if (prev && prev[i].version && prev[i].value) {
			put_str(o, ",\"previous\":");
			put_version(o, &prev[i]);
			put_str(o, "}");
		} else if (prev) {
			put_str(o, ",\"previous\":null");
		}
		put_str(o, "}");
	}
	put_str(o, "}}");
}

static struct secbuf *bundle_body(uint64_t rev, const char *const *names, size_t n,
                                  const struct secret_value *cur, const struct secret_value *prev)
{
	struct out count = {.p = NULL, .n = 0};
	bundle_doc(&count, rev, names, n, cur, prev);
	struct secbuf *b = secbuf_new(count.n);
	if (!b)
		return NULL;
	struct out fill = {.p = b->data, .n = 0};
	bundle_doc(&fill, rev, names, n, cur, prev);
	return b;
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
		struct secbuf *body = bundle_body(rev, names, n, cur, prev);
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
	const char *names[BUNDLE_MAX_NAMES];
	size_t n = 0;
	bool previous = false;
	if (bundle_names(r, o, names, &n, &previous) == 0) {
		audit_names(r, names, n);
		if (check_read(r, names, n) == 0)
			fetch_and_answer(r, names, n, previous);
	}
	json_decref(o); /* names point into o */
}
