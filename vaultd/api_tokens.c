/* Token endpoints (admin): create (the token is shown once, in guarded
 * memory; only its keyed hash is stored), list, show, revoke. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "jsonx.h"
#include "store.h"

#define TOKEN_MAX_TTL_S (10ll * 365 * 24 * 3600)
#define TOKEN_MAX_USES 1000000000ll

static json_t *policies_array(const char *policies_json)
{
	json_t *a = json_loads(policies_json ? policies_json : "[]", 0, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	return a;
}

static json_t *token_json(const struct store_token *t)
{
	json_t *o = json_object();
	json_object_set_new(o, "accessor", json_string(t->accessor));
	json_object_set_new(o, "policies", policies_array(t->policies_json));
	json_object_set_new(o, "created", json_integer(t->created));
	json_object_set_new(o, "expires", json_integer(t->expires));
	json_object_set_new(o, "uses_left",
	                    t->uses_left < 0 ? json_null() : json_integer(t->uses_left));
	json_object_set_new(o, "created_by", json_string(t->created_by));
	json_object_set_new(o, "revoked", json_boolean(t->revoked));
	return o;
}

/* The body of POST /v1/tokens: policies (required), ttl, uses. */
static int parse_create(struct req *r, const json_t *o, json_t **ret_policies, int64_t *ttl,
                        int64_t *uses)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcmp(k, "policies") && strcmp(k, "ttl") && strcmp(k, "uses")) {
			reply_error(r, 400, "bad_request",
			            "unknown field (allowed: policies, ttl, uses)");
			return -EINVAL;
		}
	}
	json_t *p = json_object_get(o, "policies");
	size_t n = json_array_size(p);
	if (!json_is_array(p) || n == 0 || n > AUTH_MAX_POLICIES) {
		reply_error(r, 400, "bad_request",
		            "\"policies\": an array of 1 to 32 policy names");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(p, i);
		if (!json_is_string(s) ||
		    !name_is_valid(json_string_value(s), json_string_length(s)) ||
		    name_is_token(json_string_value(s), json_string_length(s))) {
			reply_error(r, 400, "bad_request", "\"policies\" must hold policy names");
			return -EINVAL;
		}
	}
	*ttl = 0;
	int rc = jsonx_get_int(o, "ttl", ttl);
	if (rc == -EINVAL || *ttl < 0 || *ttl > TOKEN_MAX_TTL_S) {
		reply_error(r, 400, "bad_request", "\"ttl\": seconds, 0 (no expiry) to 10 years");
		return -EINVAL;
	}
	*uses = -1;
	rc = jsonx_get_int(o, "uses", uses);
	if (rc == -EINVAL || (rc == 0 && (*uses < 1 || *uses > TOKEN_MAX_USES))) {
		reply_error(r, 400, "bad_request", "\"uses\": a count >= 1 (absent = unlimited)");
		return -EINVAL;
	}
	*ret_policies = p;
	return 0;
}

void api_token_create(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return;
	json_t *policies = NULL;
	int64_t ttl = 0, uses = -1;
	if (parse_create(r, o, &policies, &ttl, &uses) < 0) {
		json_decref(o);
		return;
	}
	struct store_token t;
	memset(&t, 0, sizeof(t));
	struct secbuf *token = auth_new_token();
	int rc = token
	             ? store_token_hash(r->vd->store, (const char *)token->data, token->len, t.hash)
	             : -ENOMEM;
	if (rc == 0) {
		auth_new_accessor(t.accessor);
		t.policies_json = json_dumps(policies, JSON_COMPACT);
		t.created = (int64_t)time(NULL);
		t.expires = ttl ? t.created + ttl : 0;
		t.uses_left = uses;
		snprintf(t.created_by, sizeof(t.created_by), "%s", r->actor.actor);
		snprintf(r->audit_name, sizeof(r->audit_name), "%s", t.accessor);
		rc = t.policies_json ? store_token_put_audited(r->vd->store, &t,
		                                               http_audit_prepare(r, 201))
		                     : -ENOMEM;
		if (rc == 0)
			http_audit_committed(r);
	}
	if (rc < 0) {
		r->audit_name[0] = '\0'; /* no token has that accessor */
		reply_store_error(r, rc, "creating a token");
	} else {
		json_t *d = json_object();
		json_object_set_new(d, "token",
		                    json_stringn((const char *)token->data, token->len));
		json_object_set_new(d, "accessor", json_string(t.accessor));
		json_object_set_new(d, "policies", json_incref(policies));
		json_object_set_new(d, "expires", json_integer(t.expires));
		json_object_set_new(d, "uses", uses < 0 ? json_null() : json_integer(uses));
		reply_secret_json(r, 201, d);
	}
	json_text_free(t.policies_json);
	secbuf_free(token);
	json_decref(o);
}

void api_tokens_list(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	struct store_token_list *l = NULL;
	int rc = store_token_list(r->vd->store, &l);
	if (rc < 0) {
		reply_store_error(r, rc, "listing tokens");
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < l->n; i++)
		json_array_append_new(arr, token_json(&l->items[i]));
	store_token_list_free(l);
	json_t *o = json_object();
	json_object_set_new(o, "tokens", arr);
	reply_json(r, 200, o);
}

void api_token_get(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	struct store_token t;
	memset(&t, 0, sizeof(t));
	int rc = store_token_get(r->vd->store, r->route.name, &t);
	if (rc < 0) {
		reply_store_error(r, rc, "reading a token");
		return;
	}
	reply_json(r, 200, token_json(&t));
	store_token_clear(&t);
}

void api_token_revoke(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	int rc = store_token_revoke_audited(r->vd->store, r->route.name,
	                                    http_audit_prepare(r, 200));
	if (rc == 0)
		http_audit_committed(r);
	if (rc < 0) {
		reply_store_error(r, rc, "revoking a token");
		return;
	}
	auth_token_revoked(r->route.name);
	json_t *o = json_object();
	json_object_set_new(o, "accessor", json_string(r->route.name));
	json_object_set_new(o, "revoked", json_boolean(true));
	reply_json(r, 200, o);
}
