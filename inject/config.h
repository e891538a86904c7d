/* inject's configuration: command-line flags and their INJECT_* environment
 * equivalents (a flag overrides its variable; a list flag replaces the list),
 * validated as a whole before anything is fetched. */
#ifndef INJECT_CONFIG_H
#define INJECT_CONFIG_H
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "names.h"

#define INJECT_DEFAULT_SOCKET "/run/vaultd.sock"
#define INJECT_DEFAULT_DIR "/run/secrets"
#define INJECT_DEFAULT_MODE 0400
#define INJECT_DEFAULT_WAIT_MS 30000
#define INJECT_DEFAULT_DEBOUNCE_MS 1000
#define INJECT_MAX_DURATION_MS (86400 * 1000) /* a day: larger is a typo */
#define INJECT_MAX_SECRETS 256
#define INJECT_MAX_TEMPLATES 32
#define INJECT_MAX_ENV_MAPS 256
#define INJECT_MAX_NAMES VAULT_MAX_BUNDLE_NAMES /* all of them come in one bundle */
#define INJECT_MAX_VAR_LEN 128
#define INJECT_MAX_ON_CHANGE_ARGS 64
#define INJECT_MAX_SPEC_LEN 4096
#define INJECT_PREVIOUS_SUFFIX ".previous"

/* How one output file is written into --dir. */
struct file_spec {
	char file[VAULT_MAX_NAME_LEN + 1]; /* a valid name: never a path */
	mode_t mode;
	bool has_owner; /* else the target user (--user) or inject's own ids */
	uid_t uid;
	gid_t gid;
};

/* --secret NAME[:FILE[:MODE[:UID:GID]]] */
struct secret_spec {
	char name[VAULT_MAX_NAME_LEN + 1];
	struct file_spec out;
};

/* --file-env VAR=NAME and --env VAR=NAME */
struct env_map {
	char var[INJECT_MAX_VAR_LEN + 1];
	char name[VAULT_MAX_NAME_LEN + 1];
};

/* --template SRC:DST[:MODE[:UID:GID]] */
struct template_spec {
	char src[PATH_MAX];
	struct file_spec out;
};

enum config_action { CONFIG_RUN, CONFIG_HELP, CONFIG_VERSION };

struct inject_config {
	enum config_action action;
	const char *socket; /* points into argv or the environment */
	const char *dir;
	const char *user;       /* NULL: keep inject's own ids */
	const char *token_file; /* NULL: INJECT_TOKEN or peer credentials */
	bool init, watch, group, keep, previous, allow_disk;
	int reload_signal;
	char *on_change_buf;                            /* owns the words below */
	char *on_change[INJECT_MAX_ON_CHANGE_ARGS + 1]; /* NULL-terminated; [0] NULL: none */
	int wait_ms, debounce_ms, grace_ms;             /* grace_ms 0: no grace kill */

	struct secret_spec *secrets; /* files to write, in order */
	size_t n_secrets;
	struct env_map *file_envs;
	size_t n_file_envs;
	struct env_map *envs;
	size_t n_envs;
	struct template_spec *templates;
	size_t n_templates;
	/* Every name to fetch, unique: secrets, --env names, template names. */
	char (*names)[VAULT_MAX_NAME_LEN + 1];
	size_t n_names;
	/* Allocated lengths of the lists above (they grow as items come). */
	size_t cap_secrets, cap_file_envs, cap_envs, cap_templates, cap_names;

	char *const *command; /* NULL-terminated, points into argv */
};

/* Reads envp, then argv (flags win), validates everything it can without
 * I/O. 0, or -EINVAL with a one-line reason in err (naming the flag or
 * variable), -ENOMEM. cfg is zeroed first; free with config_free(). */
int config_parse(struct inject_config *cfg, int argc, char **argv, char *const *envp, char *err,
                 size_t errcap);
void config_free(struct inject_config *cfg);

/* Adds a name to fetch (template names), once. 0, -EINVAL (bad name), -E2BIG. */
int config_add_name(struct inject_config *cfg, const char *name);

/* The parts, exposed for the unit tests. Each returns 0 or -EINVAL (with a
 * reason in err) and writes *ret only on success. */
int config_parse_secret_spec(const char *s, struct secret_spec *ret, char *err, size_t errcap);
int config_parse_template_spec(const char *s, struct template_spec *ret, char *err, size_t errcap);
int config_parse_env_map(const char *s, struct env_map *ret, char *err, size_t errcap);
int config_parse_duration_ms(const char *s, int *ret);
int config_parse_signal(const char *s, int *ret);
int config_parse_bool(const char *s, bool *ret);

/* The --help text, written to fd. */
void config_usage(int fd);

#endif
