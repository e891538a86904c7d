/* GET /v1/watch?names=a,b&since=REV&timeout=S: answers at once when a name
 * changed after REV (or without since), otherwise suspends the connection
 * in the watch registry until a change, the timeout, or shutdown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "monotime.h"
#include "store.h"
#include "watch.h"

#define NAMES_QUERY_MAX (VAULT_MAX_WATCH_NAMES * (VAULT_MAX_NAME_LEN + 1))

/* Splits "a,b" into w->names; answers 400 on a bad or missing name. */
static int parse_names(struct req *r, struct watch *w)
{
	char *buf = malloc(NAMES_QUERY_MAX + 1);
	if (!buf) {
		reply_error(r, 500, "internal", "out of memory");
		return -ENOMEM;
	}
	int rc = req_query(r, "names", buf, NAMES_QUERY_MAX + 1);
	if (rc == -ENOENT || (rc == 0 && buf[0] == '\0')) {
		free(buf);
		reply_error(r, 400, "bad_request", "names=a,b,... is required");
		return -EINVAL;
	}
	if (rc < 0) {
		free(buf);
		reply_error(r, 400, "bad_name", "names must be secret names separated by commas");
		return -EINVAL;
	}
	w->names = calloc(VAULT_MAX_WATCH_NAMES, sizeof(*w->names));
	rc = w->names ? 0 : -ENOMEM;
	for (char *p = buf, *end; rc == 0 && p; p = end ? end + 1 : NULL) {
		end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (w->n == VAULT_MAX_WATCH_NAMES) {
			reply_error(r, 400, "bad_request", "at most 64 names per watch");
			rc = -EINVAL;
		} else if (!name_is_valid(p, len) || name_is_token(p, len)) {
			reply_error(r, 400, "bad_name",
			            "names are [A-Za-z0-9][A-Za-z0-9._-]{0,127} without \"..\"");
			rc = -EINVAL;
		} else {
			memcpy(w->names[w->n], p, len);
			w->names[w->n++][len] = '\0';
		}
	}
	free(buf);
	if (rc == -ENOMEM)
		reply_error(r, 500, "internal", "out of memory");
	return rc;
}

/* The names changed after since (store revisions), plus those a writer
 * reported (a soft delete, say). */
static json_t *changed_names(struct req *r, const struct watch *w)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < w->n; i++) {
		bool hit = i < 64 && (w->notified & (1ull << i));
		struct secret_meta m;
		memset(&m, 0, sizeof(m));
		if (!hit && store_meta_get(r->vd->store, w->names[i], &m) == 0)
			hit = m.revision > w->since;
		secret_meta_clear(&m);
		if (hit)
			json_array_append_new(arr, json_string(w->names[i]));
	}
	return arr;
}

static bool any_changed(struct watch *w, void *ctx)
{
	struct req *r = ctx;
	json_t *arr = changed_names(r, w);
	bool hit = json_array_size(arr) > 0;
	json_decref(arr);
	return hit;
}

static void reply_changes(struct req *r, json_t *changed)
{
	json_t *o = json_object();
	json_object_set_new(o, "revision", json_integer((json_int_t)store_revision(r->vd->store)));
	json_object_set_new(o, "changed", changed);
	reply_json(r, 200, o);
}

static int check_read(struct req *r, const struct watch *w)
{
	json_t *denied = json_array();
	for (size_t i = 0; i < w->n; i++)
		if (!auth_allows(r, CAP_READ, w->names[i]))
			json_array_append_new(denied, json_string(w->names[i]));
	if (json_array_size(denied) == 0) {
		json_decref(denied);
		return 0;
	}
	reply_error_names(r, 403, "denied", "the token lacks \"read\" on these names", denied);
	return -EACCES;
}

void api_watch(struct req *r)
{
	struct watch *w = calloc(1, sizeof(*w));
	if (!w) {
		reply_error(r, 500, "internal", "out of memory");
		return;
	}
	r->watch = w; /* freed with the request */
	w->req = r;
	if (parse_names(r, w) < 0)
		return;
	uint64_t timeout = WATCH_DEFAULT_TIMEOUT_S;
	int rs = req_query_u64(r, "since", UINT64_MAX >> 1, &w->since);
	int rt = req_query_u64(r, "timeout", WATCH_MAX_TIMEOUT_S, &timeout);
	if (rs == -EINVAL || rt == -EINVAL) {
		reply_error(r, 400, "bad_request", "since: a revision; timeout: 0 to 300 seconds");
		return;
	}
	for (size_t i = 0; i < w->n && r->audit_name[0] == '\0'; i++)
		snprintf(r->audit_name, sizeof(r->audit_name), "%s", w->names[i]);
	if (check_read(r, w) < 0)
		return;
	if (store_is_sealed(r->vd->store)) {
		reply_store_error(r, STORE_E_SEALED, "watch");
		return;
	}
	if (rs == -ENOENT) {
		reply_changes(r, json_array());
		return;
	}
	if (w->since > store_revision(r->vd->store)) {
		/* A revision this store never had (it was restored from an older
		 * backup, or it is another store): what the client holds may
		 * differ from it in any name, so all of them count as changed and
		 * the answer's revision is where to go on from. */
		json_t *all = json_array();
		for (size_t i = 0; i < w->n; i++)
			json_array_append_new(all, json_string(w->names[i]));
		reply_changes(r, all);
		return;
	}
	json_t *now = changed_names(r, w);
	if (json_array_size(now) > 0) {
		reply_changes(r, now);
		return;
	}
	json_decref(now);
	w->deadline_ms = mono_ms() + (int64_t)timeout * 1000;
	r->phase = PH_WATCHING;
	MHD_suspend_connection(r->conn);
	watch_add(w, any_changed, r);
}

void api_watch_finish(struct req *r)
{
	struct watch *w = r->watch;
	json_t *changed = changed_names(r, w);
	if (json_array_size(changed) == 0) {
		json_decref(changed);
		reply_empty(r, 204);
		return;
	}
	reply_changes(r, changed);
}
