/* What every vaultctl command shares: exit codes, the socket and token to use,
 * API calls through lib/httpc with errors mapped to exit codes and messages. */
#ifndef VAULTCTL_CTL_H
#define VAULTCTL_CTL_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "args.h"
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
#define CTL_ENV_SOCKET "VAULTD_SOCKET"
#define CTL_ENV_TOKEN "VAULTD_TOKEN"
/* Tokens are "vd_" + base64url of 32 bytes; a token file is tiny. */
#define CTL_MAX_TOKEN_BYTES 4096
#define CTL_TIMEOUT_MS 30000
#define CTL_BACKUP_TIMEOUT_MS (30 * 60 * 1000)
#define CTL_MAX_PATH 4096

struct ctl {
	const char *socket;   /* --socket, else $VAULTD_SOCKET, else default */
	struct secbuf *token; /* from $VAULTD_TOKEN or --token-file; NULL = peer creds */
	bool json;            /* --json */
};

/* Calls the API. body may be NULL. On a 2xx answer returns CTL_OK and, when
 * ret is non-NULL, the parsed JSON body (NULL for an empty body; caller
 * json_decref's). Otherwise prints one line naming the fix ("vaultd is
 * sealed: run `vaultctl unseal`") and returns the matching exit code. */
int ctl_call(const struct ctl *c, const char *method, const char *path, const json_t *body,
             json_t **ret);

/* ctl_call, except that an HTTP answer with status quiet_status (e.g. 409)
 * is not printed: the caller handles it. *ret_status (may be NULL) gets the
 * HTTP status, 0 when vaultd could not be reached. */
int ctl_call_ex(const struct ctl *c, const char *method, const char *path, const json_t *body,
                json_t **ret, int quiet_status, int *ret_status);

/* ctl_call for a request whose loss matters (rekey): *ret_status as for
 * ctl_call_ex (0 = no HTTP answer), and *ret_sent true once the whole
 * request was written to vaultd. Without an answer, a request that was not
 * wholly sent cannot have taken effect; one that was may have. */
int ctl_call_tracked(const struct ctl *c, const char *method, const char *path, const json_t *body,
                     json_t **ret, int *ret_status, bool *ret_sent);

/* GET path with the response body streamed into fd (GET /v1/sys/backup).
 * Errors are printed as by ctl_call; *ret_bytes gets the body size. */
int ctl_call_to_fd(const struct ctl *c, const char *path, int fd, int timeout_ms,
                   uint64_t *ret_bytes);

/* ctl_call for a secret's endpoints: a 404 is explained with the name
 * ("no secret named NAME") or, when what is non-NULL, as the missing part
 * ("secret NAME has no version 3"). */
int ctl_call_secret(const struct ctl *c, const char *method, const char *path, const json_t *body,
                    json_t **ret, const char *name, const char *what);

/* The exit code for an HTTP error answer (status and error.code). */
int ctl_exit_for_status(int status, const char *code);

/* "/v1/secrets/<escaped name><suffix>" into buf. -ENOSPC if it does not fit. */
int ctl_secret_path(const char *name, const char *suffix, char *buf, size_t cap);

/* PUT /v1/secrets/{name}: value (base64 in the body), cas (-1 = none,
 * 0 = create only, N = current must be N) and metadata (NULL = none; a JSON
 * object as in docs/api.md). Errors printed as by ctl_call; on success
 * *ret_version (may be NULL) gets the new version. The compose generator
 * imports values through this too. */
int ctl_secret_put(const struct ctl *c, const char *name, const struct secbuf *value, int64_t cas,
                   const json_t *metadata, uint64_t *ret_version);

/* Creates a secret only if it does not exist (cas 0): an existing one is
 * not an error, *ret_existed says so and nothing is printed. */
int ctl_secret_create(const struct ctl *c, const char *name, const struct secbuf *value,
                      const json_t *metadata, uint64_t *ret_version, bool *ret_existed);

/* Prints "vaultctl: <message>" on stderr. Never pass a secret to it. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads a token file: trailing whitespace removed, must not be empty.
 * 0 or -errno (message printed). *ret is a new secbuf. */
int ctl_load_token_file(const char *path, struct secbuf **ret);

/* ---- one command invocation ---- */

/* A copy of the global ctl that the common options (--socket, --token-file,
 * --json) may change, and the operands. */
struct ctl_cmd {
	struct ctl c;
	struct secbuf *own_token; /* from a --token-file given after the command */
	const struct cmd_spec *spec;
	const char *operands[ARGS_MAX_OPERANDS];
	int n_operands;
};

/* Handles one command-specific option; returns 0, or an exit code to stop
 * (after printing a message, e.g. with cmd_usage). */
typedef int (*cmd_opt_fn)(void *state, int id, const char *arg);

/* CMD_RUN: parsing went well, run the command. */
#define CMD_RUN (-1)
/* spec->max_operands for commands that take any number of operands: each
 * goes to on_opt with id ARGS_OPERAND, none into x->operands. */
#define CMD_ANY_OPERANDS (-1)

/* Parses argv (argv[0] is the command) against spec: common options into
 * x->c, command options through on_opt (may be NULL when spec has none),
 * operands into x->operands (count checked against the spec; see
 * CMD_ANY_OPERANDS). Returns
 * CMD_RUN, or an exit code when the command must stop now (--help printed:
 * CTL_OK; usage error: CTL_USAGE). Always call cmd_done afterwards. */
int cmd_parse(struct ctl_cmd *x, const struct ctl *c, const struct cmd_spec *spec, int argc,
              char **argv, cmd_opt_fn on_opt, void *state);
void cmd_done(struct ctl_cmd *x);

/* A secret name operand: valid per lib/names.h, else a usage error naming
 * the rule. Returns CMD_RUN or CTL_USAGE. */
int cmd_check_name(const struct cmd_spec *s, const char *name);

/* Prints the list answer[key] of a GET answer: the whole answer as JSON when
 * json, else through print (which returns < 0 when out of memory). An
 * answer without that list is an error. Returns an exit code. */
int cmd_print_list(const json_t *answer, const char *key, bool json,
                   int (*print)(const json_t *list));

/* Subcommand dispatch for the families (token, policy, audit, key). */
struct ctl_subcommand {
	const char *name;
	int (*fn)(const struct ctl *c, int argc, char **argv);
	const char *summary;
};
int ctl_dispatch_family(const char *family, const struct ctl_subcommand *subs, const struct ctl *c,
                        int argc, char **argv);

/* Entry points of the command families (ctl/cmd_*.c); argv[0] is the command. */
int cmd_status(const struct ctl *c, int argc, char **argv);
int cmd_compose(const struct ctl *c, int argc, char **argv);
int cmd_unseal(const struct ctl *c, int argc, char **argv);
int cmd_seal(const struct ctl *c, int argc, char **argv);
int cmd_set(const struct ctl *c, int argc, char **argv);
int cmd_get(const struct ctl *c, int argc, char **argv);
int cmd_list(const struct ctl *c, int argc, char **argv);
int cmd_history(const struct ctl *c, int argc, char **argv);
int cmd_rotate(const struct ctl *c, int argc, char **argv);
int cmd_rollback(const struct ctl *c, int argc, char **argv);
int cmd_rm(const struct ctl *c, int argc, char **argv);
int cmd_undelete(const struct ctl *c, int argc, char **argv);
int cmd_token(const struct ctl *c, int argc, char **argv);
int cmd_policy(const struct ctl *c, int argc, char **argv);
int cmd_audit(const struct ctl *c, int argc, char **argv);
int cmd_backup(const struct ctl *c, int argc, char **argv);
int cmd_restore(const struct ctl *c, int argc, char **argv);
int cmd_import_env(const struct ctl *c, int argc, char **argv);
int cmd_key(const struct ctl *c, int argc, char **argv);

#endif
