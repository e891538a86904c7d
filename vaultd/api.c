/* The route id -> handler table. */
#include "api.h"

#include <stdbool.h>

#include "watch.h"

typedef void (*handler_fn)(struct req *r);

static const handler_fn handlers[R_COUNT] = {
    [R_HEALTH] = api_health,
    [R_METRICS] = api_metrics,
    [R_SYS_STATUS] = api_sys_status,
    [R_SYS_UNSEAL] = api_sys_unseal,
    [R_SYS_SEAL] = api_sys_seal,
    [R_SYS_BACKUP] = api_sys_backup,
    [R_SYS_ROTATE] = api_sys_rotate,
    [R_SYS_REKEY] = api_sys_rekey,
    [R_SECRETS_LIST] = api_secrets_list,
    [R_SECRET_GET] = api_secret_get,
    [R_SECRET_PUT] = api_secret_put,
    [R_SECRET_DELETE] = api_secret_delete,
    [R_SECRET_ROTATE] = api_secret_rotate,
    [R_SECRET_VERSIONS] = api_secret_versions,
    [R_SECRET_ROLLBACK] = api_secret_rollback,
    [R_SECRET_UNDELETE] = api_secret_undelete,
    [R_BUNDLE] = api_bundle,
    [R_WATCH] = api_watch,
    [R_TOKENS_LIST] = api_tokens_list,
    [R_TOKEN_CREATE] = api_token_create,
    [R_TOKEN_GET] = api_token_get,
    [R_TOKEN_REVOKE] = api_token_revoke,
    [R_POLICIES_LIST] = api_policies_list,
    [R_POLICY_PUT] = api_policy_put,
    [R_POLICY_GET] = api_policy_get,
    [R_POLICY_DELETE] = api_policy_delete,
    [R_AUDIT_READ] = api_audit_read,
    [R_AUDIT_VERIFY] = api_audit_verify,
};

/* The routes whose handlers read a JSON body; every other route takes none
 * and refuses one (a body it ignored could hide a client's mistake). */
static const bool takes_body[R_COUNT] = {
    [R_SYS_UNSEAL] = true,    [R_SYS_REKEY] = true,       [R_SECRET_PUT] = true,
    [R_SECRET_ROTATE] = true, [R_SECRET_ROLLBACK] = true, [R_BUNDLE] = true,
    [R_TOKEN_CREATE] = true,  [R_POLICY_PUT] = true,
};

void api_dispatch(struct req *r)
{
	enum route_id id = r->route.id;
	if ((unsigned)id >= R_COUNT || !handlers[id]) {
		reply_error(r, 404, "not_found", "no such endpoint (see docs/api.md)");
		return;
	}
	if (!takes_body[id] && req_empty_body(r) < 0)
		return;
	handlers[id](r);
}

void api_changed(struct req *r, const char *name)
{
	(void)r;
	watch_notify(name);
}
