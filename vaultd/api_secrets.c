/* Secret endpoints: list, read (the hot path: its answer is formatted
 * straight into guarded memory), write with check-and-set and metadata,
 * rotate, versions, rollback, delete/destroy, undelete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "jsonw.h"
#include "jsonx.h"
#include "names.h"
#include "passgen.h"
#include "seal.h"
#include "store.h"

#define PREFIX_MAX VAULT_MAX_NAME_LEN

/* ---- shared ---- */

/* A token's shape is refused as it is in a name: a token pasted here
 * should fail loudly, not list nothing. */
static bool prefix_is_valid(const char *p)
{
	size_t len = strlen(p);
	if (len > PREFIX_MAX || name_is_token(p, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool flag_is_set(const char *v)
{
	return strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
}

/* Only the listed members may appear in o; answers 400 otherwise. */
static int only_keys(struct req *r, const json_t *o, const char *const *allowed, const char *what)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= strcmp(k, allowed[i]) == 0;
		if (!ok) {
			char msg[200];
			snprintf(msg, sizeof(msg), "unknown field \"%.64s\" in %s", k, what);
			reply_error(r, 400, "bad_request", msg);
			return -EINVAL;
		}
	}
	return 0;
}

static json_t *meta_json(const struct secret_meta *m)
{
	json_t *labels = json_loads(m->labels_json ? m->labels_json : "{}", 0, NULL);
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "current_version", json_integer((json_int_t)m->current_version));
	json_object_set_new(o, "previous_version", json_integer((json_int_t)m->previous_version));
	json_object_set_new(o, "versions", json_integer((json_int_t)m->versions));
	json_object_set_new(o, "revision", json_integer((json_int_t)m->revision));
	json_object_set_new(o, "created", json_integer(m->created));
	json_object_set_new(o, "updated", json_integer(m->updated));
	json_object_set_new(o, "created_by", json_string(m->created_by));
	json_object_set_new(o, "updated_by", json_string(m->updated_by));
	json_object_set_new(o, "description", json_string(m->description ? m->description : ""));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "rotation_period", json_integer(m->rotation_period));
	json_object_set_new(o, "max_versions", json_integer((json_int_t)m->max_versions));
	json_object_set_new(o, "deleted", json_boolean(m->deleted));
	return o;
}

/* {"name":N,"version":V} plus an optional extra integer member. */
static void reply_name_version(struct req *r, const char *name, uint64_t version, const char *extra,
                               uint64_t extra_val)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "version", json_integer((json_int_t)version));
	if (extra)
		json_object_set_new(o, extra, json_integer((json_int_t)extra_val));
	reply_json(r, 200, o);
}

/* The value of a body: "value" as base64 of at most 512 KiB. */
static int body_value(struct req *r, const json_t *o, struct secbuf **ret)
{
	json_t *v = json_object_get(o, "value");
	if (!v) {
		reply_error(r, 400, "bad_request", "\"value\" (base64) is required");
		return -EINVAL;
	}
	if (!json_is_string(v)) {
		reply_error(r, 400, "bad_request", "\"value\" must be a base64 string");
		return -EINVAL;
	}
	int rc = jsonx_get_b64(o, "value", VAULT_MAX_VALUE_BYTES, ret);
	if (rc == -EFBIG) {
		reply_error(r, 413, "too_large", "value over 512 KiB");
		return rc;
	}
	if (rc < 0) {
		reply_error(r, 400, "bad_value", "\"value\" is not standard padded base64");
		return rc;
	}
	return 0;
}

/* ---- GET /v1/secrets ---- */

void api_secrets_list(struct req *r)
{
	if (!auth_any(r, CAP_LIST)) {
		reply_error(r, 403, "denied", "the token lacks the \"list\" capability");
		return;
	}
	char prefix[PREFIX_MAX + 1] = "", del[8] = "";
	int rc = req_query(r, "prefix", prefix, sizeof(prefix));
	if (rc == -EINVAL || (rc == 0 && !prefix_is_valid(prefix))) {
		reply_error(r, 400, "bad_request", "prefix: up to 128 of [A-Za-z0-9._-]");
		return;
	}
	bool deleted = req_query(r, "deleted", del, sizeof(del)) == 0 && flag_is_set(del);
	struct secret_meta_list *l = NULL;
	rc = store_list(r->vd->store, prefix, deleted, &l);
	if (rc < 0) {
		reply_store_error(r, rc, "listing secrets");
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < l->n; i++)
		if (auth_allows(r, CAP_LIST, l->items[i].name))
			json_array_append_new(arr, meta_json(&l->items[i]));
	secret_meta_list_free(l);
	json_t *o = json_object();
	json_object_set_new(o, "secrets", arr);
	reply_json(r, 200, o);
}

/* ---- GET /v1/secrets/{name} ---- */

/* Which version a read asks for: ?version=N or ?stage=current|previous. */
static int read_selector(struct req *r, enum secret_stage *stage, uint64_t *version)
{
	char sv[16];
	uint64_t v = 0;
	int rv = req_query_u64(r, "version", UINT64_MAX >> 1, &v);
	int rs = req_query(r, "stage", sv, sizeof(sv));
	if (rv == -EINVAL || (rv == 0 && v == 0)) {
		reply_error(r, 400, "bad_request", "version must be a positive integer");
		return -EINVAL;
	}
	if (rs == -EINVAL ||
	    (rs == 0 && strcmp(sv, "current") != 0 && strcmp(sv, "previous") != 0)) {
		reply_error(r, 400, "bad_request", "stage must be current or previous");
		return -EINVAL;
	}
	if (rv == 0 && rs == 0) {
		reply_error(r, 400, "bad_request", "give version or stage, not both");
		return -EINVAL;
	}
	*version = v;
	*stage = rv == 0
	             ? STAGE_VERSION
	             : (rs == 0 && strcmp(sv, "previous") == 0 ? STAGE_PREVIOUS : STAGE_CURRENT);
	return 0;
}

/* The stage label of a version read by number (null when it has none). */
static const char *stage_of_version(struct req *r, const char *name, uint64_t version)
{
	struct secret_meta m;
	memset(&m, 0, sizeof(m));
	if (store_meta_get(r->vd->store, name, &m) < 0)
		return NULL;
	const char *s = version == m.current_version    ? "current"
	                : version == m.previous_version ? "previous"
	                                                : NULL;
	secret_meta_clear(&m);
	return s;
}

struct read_answer {
	const char *name; /* validated: needs no JSON escaping */
	const struct secret_value *v;
	const char *stage; /* NULL: null */
};

/* {"name":N,"version":V,"stage":S|null,"created":C,"value":"B64"} */
static void read_doc(struct jsonw *w, const void *ctx)
{
	const struct read_answer *a = ctx;
	jsonw_lit(w, "{\"name\":\"");
	jsonw_lit(w, a->name);
	jsonw_lit(w, "\",\"version\":");
	jsonw_u64(w, a->v->version);
	jsonw_lit(w, ",\"stage\":");
	if (a->stage) {
		jsonw_lit(w, "\"");
		jsonw_lit(w, a->stage);
		jsonw_lit(w, "\"");
	} else {
		jsonw_lit(w, "null");
	}
	jsonw_lit(w, ",\"created\":");
	jsonw_i64(w, a->v->created);
	jsonw_lit(w, ",\"value\":");
	jsonw_b64(w, a->v->value->data, a->v->value->len);
	jsonw_lit(w, "}");
}

void api_secret_get(struct req *r)
{
	const char *name = r->route.name;
	if (auth_require(r, CAP_READ, name) < 0)
		return;
	enum secret_stage stage;
	uint64_t version = 0;
	if (read_selector(r, &stage, &version) < 0)
		return;
	struct secret_value v;
	memset(&v, 0, sizeof(v));
	int rc = store_get(r->vd->store, name, stage, version, &v);
	if (rc < 0) {
		reply_store_error(r, rc, "reading a secret");
		return;
	}
	const char *label = stage == STAGE_CURRENT    ? "current"
	                    : stage == STAGE_PREVIOUS ? "previous"
	                                              : stage_of_version(r, name, v.version);
	/* Straight into guarded memory: the value never passes through an
	 * unwiped allocation. */
	struct read_answer a = {.name = name, .v = &v, .stage = label};
	struct secbuf *body = jsonw_secret(read_doc, &a);
	secret_value_clear(&v);
	if (!body) {
		reply_error(r, 500, "internal", "out of memory");
		return;
	}
	reply_secbuf(r, 200, body, "application/json");
}

/* ---- PUT /v1/secrets/{name} ---- */

static int parse_labels(struct req *r, const json_t *labels, char **ret)
{
	if (!json_is_object(labels)) {
		reply_error(r, 400, "bad_request", "metadata.labels must be an object of strings");
		return -EINVAL;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)labels, k, v)
	{
		if (!json_is_string(v)) {
			reply_error(r, 400, "bad_request",
			            "metadata.labels values must be strings");
			return -EINVAL;
		}
	}
	char *text = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text || strlen(text) > STORE_LABELS_MAX) {
		json_text_free(text);
		reply_error(r, 400, "bad_request", "metadata.labels over 4096 bytes");
		return -EINVAL;
	}
	*ret = text;
	return 0;
}

/* Reads "metadata" into u; *labels_text (malloc'd) backs u->labels_json. */
static int parse_meta(struct req *r, const json_t *m, struct secret_meta_update *u,
                      char **labels_text)
{
	static const char *const keys[] = {"description", "labels", "rotation_period",
	                                   "max_versions", NULL};
	if (!json_is_object(m)) {
		reply_error(r, 400, "bad_request", "metadata must be an object");
		return -EINVAL;
	}
	if (only_keys(r, m, keys, "metadata") < 0)
		return -EINVAL;
	json_t *d = json_object_get(m, "description");
	if (d && (!json_is_string(d) || json_string_length(d) > STORE_DESCRIPTION_MAX ||
	          strlen(json_string_value(d)) != json_string_length(d))) {
		reply_error(r, 400, "bad_request",
		            "metadata.description: a string up to 1024 bytes");
		return -EINVAL;
	}
	u->description = d ? json_string_value(d) : NULL;
	int64_t n = 0;
	int rc = jsonx_get_int(m, "rotation_period", &n);
	if (rc == -EINVAL || (rc == 0 && n < 0)) {
		reply_error(r, 400, "bad_request", "metadata.rotation_period: seconds >= 0");
		return -EINVAL;
	}
	u->rotation_period = rc == 0 ? n : -1;
	rc = jsonx_get_int(m, "max_versions", &n);
	if (rc == -EINVAL || (rc == 0 && (n < 1 || n > STORE_MAX_VERSIONS_LIMIT))) {
		reply_error(r, 400, "bad_request", "metadata.max_versions: 1 to 1000");
		return -EINVAL;
	}
	u->max_versions = rc == 0 ? n : -1;
	json_t *labels = json_object_get(m, "labels");
	if (labels) {
		if (parse_labels(r, labels, labels_text) < 0)
			return -EINVAL;
		u->labels_json = *labels_text;
	}
	return 0;
}

void api_secret_put(struct req *r)
{
	static const char *const keys[] = {"value", "cas", "metadata", NULL};
	const char *name = r->route.name;
	if (auth_require(r, CAP_WRITE, name) < 0)
		return;
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return;
	struct secbuf *val = NULL;
	char *labels = NULL;
	struct secret_meta_update meta = SECRET_META_UPDATE_NONE;
	int64_t cas = -1;
	int rc = only_keys(r, o, keys, "the body");
	if (rc == 0) {
		rc = jsonx_get_int(o, "cas", &cas);
		if (rc == -EINVAL || (rc == 0 && cas < 0)) {
			reply_error(r, 400, "bad_request", "cas must be an integer >= 0");
			rc = -EINVAL;
		} else {
			if (rc == -ENOENT)
				cas = -1;
			rc = 0;
		}
	}
	json_t *m = json_object_get(o, "metadata");
	if (rc == 0 && m)
		rc = parse_meta(r, m, &meta, &labels);
	if (rc == 0)
		rc = body_value(r, o, &val);
	uint64_t version = 0;
	if (rc == 0) {
		rc = store_put_audited(r->vd->store, name, val->data, val->len, cas, &meta,
		                       r->actor.actor, http_audit_prepare(r, 200), &version);
		if (rc == 0)
			http_audit_committed(r);
		else
			reply_store_error(r, rc, "writing a secret");
	}
	secbuf_free(val);
	json_text_free(labels);
	json_decref(o); /* after meta: its strings point into o */
	if (rc < 0)
		return;
	api_changed(r, name);
	reply_name_version(r, name, version, NULL, 0);
}

/* ---- POST /v1/secrets/{name}/rotate ---- */

/* The new value: {"generate":{"length":N,"charset":C}} or {"value":B64}. */
static int rotate_value(struct req *r, const json_t *o, struct secbuf **ret)
{
	static const char *const keys[] = {"generate", "value", NULL};
	static const char *const gkeys[] = {"length", "charset", NULL};
	if (only_keys(r, o, keys, "the body") < 0)
		return -EINVAL;
	json_t *g = json_object_get(o, "generate");
	if (!g == !json_object_get(o, "value")) {
		reply_error(r, 400, "bad_request",
		            "send exactly one of \"generate\" and \"value\"");
		return -EINVAL;
	}
	if (!g)
		return body_value(r, o, ret);
	if (!json_is_object(g) || only_keys(r, g, gkeys, "generate") < 0) {
		if (!json_is_object(g))
			reply_error(r, 400, "bad_request", "generate must be an object");
		return -EINVAL;
	}
	int64_t len = 32;
	const char *charset = NULL;
	int rc = jsonx_get_int(g, "length", &len);
	if (rc == -EINVAL || len < PASSGEN_MIN_LEN || len > PASSGEN_MAX_LEN) {
		reply_error(r, 400, "bad_request", "generate.length: 1 to 4096");
		return -EINVAL;
	}
	rc = jsonx_get_string(g, "charset", &charset);
	if (rc == -EINVAL) {
		reply_error(r, 400, "bad_request", "generate.charset must be a string");
		return -EINVAL;
	}
	rc = passgen_generate((size_t)len, charset, ret);
	if (rc < 0) {
		reply_error(r, 400, "bad_request",
		            "generate.charset: alnum, hex, base64url or ascii");
		return rc;
	}
	return 0;
}

void api_secret_rotate(struct req *r)
{
	const char *name = r->route.name;
	if (auth_require(r, CAP_ROTATE, name) < 0)
		return;
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return;
	struct secbuf *val = NULL;
	int rc = rotate_value(r, o, &val);
	json_decref(o);
	if (rc < 0)
		return;
	struct secret_meta m;
	memset(&m, 0, sizeof(m));
	rc = store_meta_get(r->vd->store, name, &m);
	if (rc == 0 && m.deleted)
		rc = STORE_E_NOTFOUND; /* rotating needs a live secret; PUT creates */
	uint64_t old = m.current_version, version = 0;
	secret_meta_clear(&m);
	if (rc == 0) {
		/* check-and-set on the version we saw (0: none, every version
		 * destroyed): a rotation is one step, never over a racing PUT. */
		rc = store_put_audited(r->vd->store, name, val->data, val->len, (int64_t)old,
		                       NULL, r->actor.actor,
		                       http_audit_prepare(r, 200), &version);
		if (rc == 0)
			http_audit_committed(r);
	}
	secbuf_free(val);
	if (rc < 0) {
		reply_store_error(r, rc, "rotating a secret");
		return;
	}
	api_changed(r, name);
	reply_name_version(r, name, version, "previous_version", old);
}

/* ---- GET /v1/secrets/{name}/versions ---- */

void api_secret_versions(struct req *r)
{
	const char *name = r->route.name;
	if (auth_require(r, CAP_LIST, name) < 0)
		return;
	struct secret_version_list *l = NULL;
	int rc = store_history(r->vd->store, name, &l);
	if (rc < 0) {
		reply_store_error(r, rc, "listing versions");
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < l->n; i++) {
		const struct secret_version *v = &l->items[i];
		json_t *e = json_object();
		json_object_set_new(e, "version", json_integer((json_int_t)v->version));
		json_object_set_new(e, "created", json_integer(v->created));
		json_object_set_new(e, "created_by", json_string(v->created_by));
		json_object_set_new(e, "stage", v->stage ? json_string(v->stage) : json_null());
		json_object_set_new(e, "destroyed", json_boolean(v->destroyed));
		json_object_set_new(e, "key_id", json_integer(v->key_id));
		json_array_append_new(arr, e);
	}
	secret_version_list_free(l);
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "versions", arr);
	reply_json(r, 200, o);
}

/* ---- POST /v1/secrets/{name}/rollback ---- */

void api_secret_rollback(struct req *r)
{
	static const char *const keys[] = {"version", NULL};
	const char *name = r->route.name;
	if (auth_require(r, CAP_ROTATE, name) < 0)
		return;
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return;
	int64_t target = 0;
	int rc = only_keys(r, o, keys, "the body");
	if (rc == 0 && (jsonx_get_int(o, "version", &target) < 0 || target < 1)) {
		reply_error(r, 400, "bad_request",
		            "\"version\": the version (>= 1) to roll back to");
		rc = -EINVAL;
	}
	json_decref(o);
	if (rc < 0)
		return;
	uint64_t version = 0;
	audit_write_begin();
	rc = store_rollback_audited(r->vd->store, name, (uint64_t)target, r->actor.actor,
	                            http_audit_prepare(r, 200), &version);
	audit_write_end();
	if (rc == 0)
		http_audit_committed(r);
	if (rc < 0) {
		reply_store_error(r, rc, "rolling back");
		return;
	}
	api_changed(r, name);
	reply_name_version(r, name, version, NULL, 0);
}

/* ---- DELETE /v1/secrets/{name} ---- */

void api_secret_delete(struct req *r)
{
	const char *name = r->route.name;
	if (auth_require(r, CAP_DELETE, name) < 0)
		return;
	char d[8] = "";
	bool destroy = req_query(r, "destroy", d, sizeof(d)) == 0 && flag_is_set(d);
	uint64_t version = 0;
	int rv = req_query_u64(r, "version", UINT64_MAX >> 1, &version);
	if (rv == -EINVAL || (rv == 0 && (version == 0 || !destroy))) {
		reply_error(r, 400, "bad_request", "version (>= 1) goes with destroy=1");
		return;
	}
	struct store *st = r->vd->store;
	struct audit_entry *e = http_audit_prepare(r, 200);
	int rc = destroy ? store_destroy_audited(st, name, version, r->actor.actor, e)
	                 : store_delete_audited(st, name, r->actor.actor, e);
	/* A destroy whose WAL checkpoint failed is committed all the same (the
	 * error says so, and calling again completes it): watchers must hear. */
	bool committed = rc == 0 || e->seq != 0;
	if (committed) {
		http_audit_committed(r);
		api_changed(r, name);
	}
	if (rc < 0) {
		reply_store_error(r, rc, destroy ? "destroying a secret" : "deleting a secret");
		return;
	}
	bool deleted = true;
	if (destroy) {
		struct secret_meta m;
		memset(&m, 0, sizeof(m));
		deleted = store_meta_get(st, name, &m) == 0 && m.deleted;
		secret_meta_clear(&m);
	}
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "deleted", json_boolean(deleted));
	json_object_set_new(o, "destroyed", json_boolean(destroy));
	if (destroy && version)
		json_object_set_new(o, "version", json_integer((json_int_t)version));
	reply_json(r, 200, o);
}

/* ---- POST /v1/secrets/{name}/undelete ---- */

void api_secret_undelete(struct req *r)
{
	const char *name = r->route.name;
	if (auth_require(r, CAP_WRITE, name) < 0)
		return;
	int rc = store_undelete_audited(r->vd->store, name, r->actor.actor,
	                                http_audit_prepare(r, 200));
	if (rc == 0)
		http_audit_committed(r);
	if (rc < 0) {
		reply_store_error(r, rc, "undeleting a secret");
		return;
	}
	api_changed(r, name);
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "deleted", json_boolean(false));
	reply_json(r, 200, o);
}
