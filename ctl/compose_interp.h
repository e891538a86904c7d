/* `$` interpolation of compose file values as docker-compose 1.29 does it
 * (its Template grammar: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
 * ${VAR:?err}, ${VAR?err}). env_file values follow python-dotenv's grammar
 * instead: dotenv.c. Values live in secbufs. */
#ifndef VAULTCTL_COMPOSE_INTERP_H
#define VAULTCTL_COMPOSE_INTERP_H
#include <stdbool.h>
#include <stddef.h>
#include "secbuf.h"

#define COMPOSE_MAX_VAR_NAME 256

/* Interpolates a compose value: `$$` is a literal `$`; `${VAR:-default}` and
 * `${VAR-default}` count as their default (the migration freezes them);
 * `$VAR`, `${VAR}`, `${VAR:?err}`, `${VAR?err}`, and a default that holds
 * a `$` (`${A:-${B:-x}}`), depend on the environment at run time: -ENOENT. A malformed reference is -EINVAL (compose refuses it too).
 * On success *ret is a new secbuf with the value. */
int compose_interpolate(const char *s, size_t len, struct secbuf **ret);

/* True when s has a `$` reference compose would interpolate (not `$$`). */
bool compose_has_reference(const char *s, size_t len);

/* True when s refers to the variable name: `$name`, or `${name` followed by
 * `}` or any operator (also inside another reference's default). With
 * dollar_escape `$$` is a literal `$`, as in compose files; env_files have no
 * such escape (python-dotenv), so pass false for them. Errs towards true: a
 * caller uses it to keep a variable that something may still read. */
bool compose_mentions_var(const char *s, size_t len, const char *name, bool dollar_escape);

#endif
