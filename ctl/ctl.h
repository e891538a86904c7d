/* What every vaultctl command shares: exit codes, the socket and token to use,
 * API calls through lib/httpc with errors mapped to exit codes and messages. */
#ifndef VAULTCTL_CTL_H
#define VAULTCTL_CTL_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "secbuf.h"

/* Exit codes: a contract (vaultctl --help and docs list them). */
enum ctl_exit {
	CTL_OK = 0,
	CTL_ERROR = 1,
	CTL_USAGE = 2,
	CTL_NOT_FOUND = 3,
	CTL_DENIED = 4,
	CTL_UNAVAILABLE = 5, /* sealed or daemon unreachable */
	CTL_CONFLICT = 6,
};

#define CTL_DEFAULT_SOCKET "/run/vaultd.sock"

struct ctl {
	const char *socket;      /* --socket, else $VAULTD_SOCKET, else default */
	struct secbuf *token;    /* from $VAULTD_TOKEN or --token-file; NULL = peer creds */
	bool json;               /* --json */
};

/* Calls the API. body may be NULL. On a 2xx answer returns CTL_OK and, when
 * ret is non-NULL, the parsed JSON body (NULL for an empty body; caller
 * json_decref's). Otherwise prints one line naming the fix ("vaultd is
 * sealed: run `vaultctl unseal`") and returns the matching exit code. */
int ctl_call(const struct ctl *c, const char *method, const char *path,
             const json_t *body, json_t **ret);

/* Entry points of the command families (ctl/cmd_*.c); argv[0] is the command. */
int cmd_status(const struct ctl *c, int argc, char **argv);
int cmd_compose(const struct ctl *c, int argc, char **argv);

#endif
