/* The endpoint handlers: each parses its input, authorises, acts on the
 * store and answers through reply_*(); nothing else. */
#ifndef VAULTD_API_H
#define VAULTD_API_H
#include "http.h"

/* Calls the handler of r->route.id. */
void api_dispatch(struct req *r);

/* api_sys.c */
void api_health(struct req *r);
void api_metrics(struct req *r);
void api_sys_status(struct req *r);
void api_sys_unseal(struct req *r);
void api_sys_seal(struct req *r);
void api_sys_backup(struct req *r);
void api_sys_rotate(struct req *r);
void api_sys_rekey(struct req *r);
/* api_secrets.c */
void api_secrets_list(struct req *r);
void api_secret_get(struct req *r);
void api_secret_put(struct req *r);
void api_secret_delete(struct req *r);
void api_secret_rotate(struct req *r);
void api_secret_versions(struct req *r);
void api_secret_rollback(struct req *r);
void api_secret_undelete(struct req *r);
/* api_bundle.c */
void api_bundle(struct req *r);
/* api_watch.c: api_watch either answers or suspends r in PH_WATCHING;
 * api_watch_finish answers once the watch fired. */
void api_watch(struct req *r);
void api_watch_finish(struct req *r);
/* api_tokens.c */
void api_tokens_list(struct req *r);
void api_token_create(struct req *r);
void api_token_get(struct req *r);
void api_token_revoke(struct req *r);
/* api_policies.c */
void api_policies_list(struct req *r);
void api_policy_put(struct req *r);
void api_policy_get(struct req *r);
void api_policy_delete(struct req *r);
/* api_audit.c */
void api_audit_read(struct req *r);
void api_audit_verify(struct req *r);

/* Shared by the secret handlers: the store revision bumped, tell watchers. */
void api_changed(struct req *r, const char *name);

#endif
