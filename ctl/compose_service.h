/* How one service's container gets its secrets: what command it runs (so
 * inject can wrap it), whether its image reads VAR_FILE, and the edits that
 * wire inject (entrypoint, mounts, tmpfs, INJECT_*) or Docker secrets. */
#ifndef VAULTCTL_COMPOSE_SERVICE_H
#define VAULTCTL_COMPOSE_SERVICE_H
#include <stdbool.h>
#include <stddef.h>
#include "compose_doc.h"
#include "compose_dockerfile.h"
#include "compose_images.h"
#include "compose_migrate.h"

#define SERVICE_WHY_MAX 512

struct service_cmd {
	struct cnode *ep;  /* what inject execs (the part after "/inject --"); NULL unknown */
	struct cnode *cmd; /* CMD to set when the service has no command:; NULL: leave */
	bool wrapped;      /* entrypoint: already starts with /inject */
	const char *from;  /* where ep came from, for the summary */
	const struct compose_image *img; /* official image, NULL otherwise (or with build:) */
	char why[SERVICE_WHY_MAX];       /* when ep is NULL: why it is unknown */
	char image_user[COMPOSE_USER_MAX]; /* its Dockerfile's USER, "" none or unknown */
	bool from_build;                   /* ep was looked for in its Dockerfile */
};

/* Works out what the service runs. flag_cmd is the --entrypoint value for
 * it (NULL when none): a JSON array or a command line split like compose.
 * Order: an existing inject wrap, --entrypoint, entrypoint: in the file, the
 * Dockerfile of build:, the official image table. -ENOMEM or 0 (an unknown
 * command is ret->ep == NULL with ret->why, not an error here). */
int service_command(const char *svc, const struct cnode *service, const char *flag_cmd,
                    const char *project_dir, struct service_cmd *ret);
void service_cmd_clear(struct service_cmd *c);

/* The user the service's processes, inject first, run as: its user:
 * (interpolated), else its Dockerfile's USER; "" for the image's default
 * (root for the images we know). Into out, cap bytes. */
void service_user(const struct cnode *service, const struct service_cmd *c, char *out, size_t cap);
/* Whether that user is root ("", "root", "0", with any group). */
bool service_user_is_root(const char *user);

/* True when the image's own entrypoint still runs and reads VAR_FILE. */
bool service_reads_file(const struct service_cmd *c, const char *var);

/* Wraps the service with inject: entrypoint [/inject, --, ep...] (and the
 * image's CMD as command: when it has none), the socket and inject mounts,
 * a tmpfs on /run/secrets (inject opens it even when it only sets env
 * variables), INJECT_SECRETS += files, INJECT_ENV += env pairs
 * ("VAR=name"). user is service_user()'s, for the tmpfs's owner.
 * Idempotent. On failure err names the fix. note (may be NULL) gets a
 * malloc'd warning for the user or stays NULL. */
int service_wrap_inject(const char *svc, struct cnode *service, const struct service_cmd *c,
                        const char *user, const struct compose_opts *o, char *const *files,
                        size_t nfiles, char *const *env_pairs, size_t nenv, char **note, char *err,
                        size_t errcap);

/* Files mode: top-level secrets.NAME.file = <secrets_dir>/NAME and a
 * long-syntax entry {source: NAME, target: NAME} in the service. Idempotent;
 * -EINVAL (err set) when a different definition of NAME exists. */
int service_add_docker_secret(struct cnode *root, const char *svc, struct cnode *service,
                              const char *name, const char *secrets_dir, char *err, size_t errcap);

/* The service's environment node, created as an empty mapping when absent. */
struct cnode *service_environment(struct cnode *service);

#endif
