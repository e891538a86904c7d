/* The command's environment: inject's own, minus the token and its file's
 * path, plus VAR_FILE paths (--file-env), values (--env, with a warning)
 * and HOME (--user). */
#ifndef INJECT_ENV_H
#define INJECT_ENV_H
#include <stddef.h>

#include "config.h"
#include "fetch.h"
#include "privdrop.h"
#include "secbuf.h"

#define ENV_TOKEN_VAR "INJECT_TOKEN"
#define ENV_TOKEN_FILE_VAR "INJECT_TOKEN_FILE"

struct child_env {
	char **vec;           /* NULL-terminated, for execve */
	struct secbuf *added; /* the strings inject added, when --env values are among them */
	char *plain;          /* else the same in ordinary memory (paths, HOME) */
};

/* Builds the environment for the command from base. -ENOMEM, or -ENOENT
 * when an --env name has no value in b. Free with env_free(). */
int env_build(char *const *base, const struct inject_config *cfg, const struct creds *cr,
              const struct bundle *b, struct child_env *ret);
void env_free(struct child_env *e);

/* A copy of e with one more "NAME=value" (for --on-change); same ownership. */
int env_with(const struct child_env *e, const char *name, const char *value, struct child_env *ret);

/* Overwrites the value of INJECT_TOKEN where the kernel put it (the
 * process's own environment block) and removes the variable: the token
 * lives on only in guarded memory. */
void env_scrub_token(void);

#endif
