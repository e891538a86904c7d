/* Policies in the store: named JSON documents kept as text (parsing and
 * checks live in policy.h); like everything else they need an unsealed store. */
#include "store.h"

#include <string.h>

#include "store_private.h"

struct policy_ctx {
	const char *name;
	const char *json;
	char *out;
	char **names;
	size_t n;
};

static int policy_put_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct policy_ctx *c = ctx;
	return s->ops->policy_put(tx, c->name, c->json);
}

static int policy_get_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct policy_ctx *c = ctx;
	return s->ops->policy_get(tx, c->name, &c->out);
}

static int policy_list_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct policy_ctx *c = ctx;
	return s->ops->policy_list(tx, &c->names, &c->n);
}

static int policy_delete_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct policy_ctx *c = ctx;
	return s->ops->policy_delete(tx, c->name);
}

int store_policy_put(struct store *s, const char *name, const char *json)
{
	return store_policy_put_audited(s, name, json, NULL);
}

int store_policy_put_audited(struct store *s, const char *name, const char *json,
                             struct audit_entry *audit)
{
	if (!s || !name_is_valid_str(name) || !json ||
	    strnlen(json, STORE_POLICY_MAX + 1) > STORE_POLICY_MAX)
		return STORE_E_INVAL;
	struct policy_ctx c = {.name = name, .json = json};
	return store_run_audited_tx(s, policy_put_body, &c, audit);
}

int store_policy_get(struct store *s, const char *name, char **ret_json)
{
	if (!s || !ret_json || !name_is_valid_str(name))
		return STORE_E_INVAL;
	struct policy_ctx c = {.name = name};
	int r = store_run_keyed_tx(s, false, policy_get_body, &c);
	if (r == 0)
		*ret_json = c.out;
	return r;
}

int store_policy_list(struct store *s, char ***ret_names, size_t *ret_n)
{
	if (!s || !ret_names || !ret_n)
		return STORE_E_INVAL;
	struct policy_ctx c = {0};
	int r = store_run_keyed_tx(s, false, policy_list_body, &c);
	if (r == 0) {
		*ret_names = c.names;
		*ret_n = c.n;
	}
	return r;
}

int store_policy_delete(struct store *s, const char *name)
{
	return store_policy_delete_audited(s, name, NULL);
}

int store_policy_delete_audited(struct store *s, const char *name, struct audit_entry *audit)
{
	if (!s || !name_is_valid_str(name))
		return STORE_E_INVAL;
	struct policy_ctx c = {.name = name};
	return store_run_audited_tx(s, policy_delete_body, &c, audit);
}
