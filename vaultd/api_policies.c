/* Policy endpoints (admin): documents are validated by lib/policy.c before
 * they are stored, and every change invalidates the token cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "policy.h"
#include "store.h"

void api_policy_put(struct req *r)
{
	const char *name = r->route.name;
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return;
	/* The body is valid JSON; now the policy rules themselves. */
	char err[200];
	struct policy *p = NULL;
	int rc = policy_parse((const char *)r->body->data, r->body_len, name, &p, err, sizeof(err));
	size_t bad = 0;
	if (rc == 0 && policy_has_token_glob(p, &bad)) {
		/* Would be stored in the clear and shown by every read. */
		snprintf(err, sizeof(err),
		         "rule %zu: \"names\" is a token, not a glob: a token never goes into a "
		         "policy",
		         bad);
		rc = -EINVAL;
	}
	policy_free(p);
	if (rc < 0) {
		json_decref(o);
		char msg[260];
		snprintf(msg, sizeof(msg), "invalid policy: %s", err[0] ? err : "see docs/api.md");
		reply_error(r, 400, "bad_request", msg);
		return;
	}
	json_object_del(o, "name"); /* the path names it */
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	rc = text ? store_policy_put_audited(r->vd->store, name, text, http_audit_prepare(r, 200))
	          : -ENOMEM;
	if (rc == 0)
		http_audit_committed(r);
	json_text_free(text);
	if (rc < 0) {
		reply_store_error(r, rc, "storing a policy");
		return;
	}
	auth_policies_changed();
	json_t *d = json_object();
	json_object_set_new(d, "name", json_string(name));
	reply_json(r, 200, d);
}

void api_policy_get(struct req *r)
{
	const char *name = r->route.name;
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	char *text = NULL;
	int rc = store_policy_get(r->vd->store, name, &text);
	if (rc < 0) {
		reply_store_error(r, rc, "reading a policy");
		return;
	}
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(o)) {
		json_decref(o);
		reply_error(r, 500, "internal", "the stored policy is not a JSON object");
		return;
	}
	json_object_set_new(o, "name", json_string(name));
	reply_json(r, 200, o);
}

void api_policies_list(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	char **names = NULL;
	size_t n = 0;
	int rc = store_policy_list(r->vd->store, &names, &n);
	if (rc < 0) {
		reply_store_error(r, rc, "listing policies");
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, json_string(names[i]));
		free(names[i]);
	}
	free(names);
	json_t *o = json_object();
	json_object_set_new(o, "policies", arr);
	reply_json(r, 200, o);
}

void api_policy_delete(struct req *r)
{
	const char *name = r->route.name;
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	int rc = store_policy_delete_audited(r->vd->store, name, http_audit_prepare(r, 200));
	if (rc == 0)
		http_audit_committed(r);
	if (rc < 0) {
		reply_store_error(r, rc, "deleting a policy");
		return;
	}
	auth_policies_changed();
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "deleted", json_boolean(true));
	reply_json(r, 200, o);
}
