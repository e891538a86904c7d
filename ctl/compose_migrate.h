/* The migration of a compose document off env-var passwords: finds the
 * secret-looking variables, names one secret per distinct value, decides how
 * each reaches its container (inject or Docker secrets) and rewrites the tree.
 * Talks to nobody: importing and exporting values is cmd_compose.c's job. */
#ifndef VAULTCTL_COMPOSE_MIGRATE_H
#define VAULTCTL_COMPOSE_MIGRATE_H
#include <stdbool.h>
#include <stddef.h>
#include "compose_doc.h"
#include "names.h"
#include "secbuf.h"

/* Where things are inside a container. */
#define COMPOSE_INJECT_PATH "/inject"          /* the static inject binary */
#define COMPOSE_SOCKET_PATH "/run/vaultd.sock" /* vaultd's socket (inject's default) */
#define COMPOSE_SECRETS_DIR "/run/secrets"
#define COMPOSE_TMPFS_OPTS                                                                         \
	"mode=0755" /* inject refuses a dir others can write;                                      \
	             * the files in it are 0400 */
/* inject's configuration variables (every flag has an INJECT_* twin). */
#define COMPOSE_ENV_SECRETS "INJECT_SECRETS" /* name,name: files in /run/secrets */
#define COMPOSE_ENV_ENV "INJECT_ENV"         /* VAR=name,...: value into VAR at exec */
/* Host side of the mounts, overridable when compose runs. */
#define COMPOSE_DEFAULT_SOCKET_HOST "${VAULTD_SOCKET:-/run/vaultd.sock}"
#define COMPOSE_DEFAULT_INJECT_HOST "${VAULTD_INJECT:-/usr/local/bin/inject}"
#define COMPOSE_DEFAULT_TEMPLATE "{service}_{var}"
#define COMPOSE_DEFAULT_SECRETS_DIR "./secrets"
#define COMPOSE_MIGRATED_SUFFIX ".migrated"       /* sanitized env_file copies */
#define COMPOSE_MAX_ENVFILE_BYTES (1024u * 1024u) /* an env_file is read whole (dotenv.c) */

enum compose_mode { COMPOSE_MODE_INJECT = 0, COMPOSE_MODE_FILES };

enum compose_delivery {
	DELIVER_NONE = 0,      /* skipped: see skip */
	DELIVER_INJECT_FILE,   /* inject writes /run/secrets/NAME, VAR_FILE points there */
	DELIVER_INJECT_ENV,    /* inject sets VAR at exec: the image reads no VAR_FILE */
	DELIVER_DOCKER_SECRET, /* compose secret from ./secrets/NAME, VAR_FILE points there */
};

enum compose_skip {
	SKIP_NONE = 0,
	SKIP_EMPTY,        /* empty value (also ${VAR:-}) */
	SKIP_RUNTIME,      /* comes from the shell or .env when compose runs */
	SKIP_INVALID,      /* a $ reference compose itself refuses */
	SKIP_ALREADY_FILE, /* VAR_FILE is already used (VAR itself, or VAR beside VAR_FILE) */
	SKIP_NOT_TEXT,     /* unquoted value YAML reads as a number, bool or date */
	SKIP_REFERENCED,   /* an env_file line others read as $VAR: dropping it empties them */
	SKIP_OUTSIDE,      /* its env_file is outside the project directory (may be shared) */
};

struct compose_row { /* one line of the summary */
	char *service, *var;
	char *source; /* NULL: environment:, else the env_file as written */
	enum compose_skip skip;
	enum compose_delivery delivery;
	size_t secret; /* index into plan->secrets when delivered */
};

struct compose_secret {
	char name[VAULT_MAX_NAME_LEN + 1];
	struct secbuf *value; /* the value found in the file */
};

struct compose_file_out { /* a sanitized env_file to write */
	char *path;       /* as the process opens it */
	char *shown;      /* as the compose file names it */
	struct secbuf *text;
	bool in_place;
};

struct compose_plan {
	struct compose_row *rows;
	size_t nrows;
	struct compose_secret *secrets;
	size_t nsecrets;
	struct compose_file_out *envfiles;
	size_t nenvfiles;
	char **notes; /* warnings for the user, in order */
	size_t nnotes;
};

struct compose_opts {
	enum compose_mode mode;
	const char *name_template; /* {service} and {var} (lowercased) */
	char *const *vars;         /* --var SERVICE.VAR */
	size_t nvars;
	char *const *entrypoints; /* --entrypoint SERVICE=CMD */
	size_t nentrypoints;
	const char *project_dir; /* env_file and build paths are relative to it */
	const char *socket_host; /* host side of the socket mount */
	const char *inject_host; /* host side of the inject mount */
	const char *secrets_dir; /* files mode: "./secrets" (relative to project_dir) */
	bool envfiles_in_place;  /* rewrite env_files themselves (output replaces input) */
};

/* Rewrites root in place and describes what it did in *ret (free with
 * compose_plan_free). On failure (-EINVAL: the document or options do not
 * allow a migration; -ENOMEM) err holds one sentence naming the service and
 * the fix, and root may be half-changed: do not write it. */
int compose_migrate(struct cnode *root, const struct compose_opts *o, struct compose_plan **ret,
                    char *err, size_t errcap);
void compose_plan_free(struct compose_plan *p); /* wipes values; NULL ok */

/* Words for the summary. */
const char *compose_delivery_text(enum compose_delivery d);
const char *compose_skip_text(enum compose_skip s);

#endif
