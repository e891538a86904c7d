/* Audit endpoints (admin): read the chain from a sequence number, and
 * verify it (the verifier lives in the store/lib so vaultctl shares it). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include "api.h"
#include "store.h"

#define AUDIT_READ_DEFAULT 100u
#define AUDIT_READ_MAX 100000u /* larger limits are clamped, not refused */

static json_t *entry_json(const struct audit_entry *e)
{
	char prev[AUDIT_HASH_BYTES * 2 + 1], hash[AUDIT_HASH_BYTES * 2 + 1];
	sodium_bin2hex(prev, sizeof(prev), e->prev_hash, AUDIT_HASH_BYTES);
	sodium_bin2hex(hash, sizeof(hash), e->hash, AUDIT_HASH_BYTES);
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer((json_int_t)e->seq));
	json_object_set_new(o, "time_ms", json_integer(e->time_ms));
	json_object_set_new(o, "uid", json_integer(e->uid));
	json_object_set_new(o, "gid", json_integer(e->gid));
	json_object_set_new(o, "pid", json_integer(e->pid));
	json_object_set_new(o, "accessor", json_string(e->accessor));
	json_object_set_new(o, "action", json_string(e->action));
	json_object_set_new(o, "name", json_string(e->name));
	json_object_set_new(o, "result", json_string(e->result));
	json_object_set_new(o, "status", json_integer(e->status));
	json_object_set_new(o, "prev", json_string(prev));
	json_object_set_new(o, "hash", json_string(hash));
	return o;
}

void api_audit_read(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	uint64_t since = 0, limit = AUDIT_READ_DEFAULT, last = 0;
	int rs = req_query_u64(r, "since", UINT64_MAX >> 1, &since);
	int rl = req_query_u64(r, "limit", UINT64_MAX >> 1, &limit);
	/* last=N: the newest N entries, without a client searching for the end. */
	int rn = req_query_u64(r, "last", UINT64_MAX >> 1, &last);
	if (rs == -EINVAL || rl == -EINVAL || rn == -EINVAL || limit == 0 ||
	    (rn == 0 && (last == 0 || rs == 0 || rl == 0))) {
		reply_error(r, 400, "bad_request",
		            "since: a sequence number; limit: 1 or more; or last: 1 or more alone");
		return;
	}
	if (rn == 0)
		limit = last;
	if (limit > AUDIT_READ_MAX)
		limit = AUDIT_READ_MAX;
	struct audit_entry *es = NULL;
	size_t n = 0;
	int rc = rn == 0 ? store_audit_read_last(r->vd->store, (size_t)limit, &es, &n)
	                 : store_audit_read(r->vd->store, since, (size_t)limit, &es, &n);
	if (rc < 0) {
		reply_store_error(r, rc, "reading the audit chain");
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, entry_json(&es[i]));
	uint64_t next = n ? es[n - 1].seq : since;
	free(es);
	json_t *o = json_object();
	json_object_set_new(o, "entries", arr);
	/* Pass it back as since= to continue after the last entry returned. */
	json_object_set_new(o, "next", json_integer((json_int_t)next));
	reply_json(r, 200, o);
}

void api_audit_verify(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	uint64_t checked = 0, first_bad = 0;
	int rc = store_audit_verify(r->vd->store, &checked, &first_bad);
	if (rc < 0 && rc != -EBADMSG) {
		reply_store_error(r, rc, "verifying the audit chain");
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_boolean(rc == 0));
	json_object_set_new(o, "checked", json_integer((json_int_t)checked));
	if (rc == -EBADMSG)
		json_object_set_new(o, "first_bad", json_integer((json_int_t)first_bad));
	reply_json(r, 200, o);
}
