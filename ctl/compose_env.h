/* Variable values as docker-compose 1.29 computes them: `$` interpolation of
 * compose values, and env_file parsing the way python-dotenv (which compose
 * uses) reads it, keeping each entry's byte range so a file can be rewritten
 * without some of its entries. Values live in secbufs. */
#ifndef VAULTCTL_COMPOSE_ENV_H
#define VAULTCTL_COMPOSE_ENV_H
#include <stdbool.h>
#include <stddef.h>
#include "secbuf.h"

#define COMPOSE_MAX_ENVFILE_BYTES (1024u * 1024u)
#define COMPOSE_MAX_VAR_NAME 256

/* Interpolates a compose value: `$$` is a literal `$`; `${VAR:-default}` and
 * `${VAR-default}` count as their default (the migration freezes them);
 * `$VAR`, `${VAR}`, `${VAR:?err}`, `${VAR?err}` depend on the environment at
 * run time: -ENOENT. A malformed reference is -EINVAL (compose refuses it too).
 * On success *ret is a new secbuf with the value. */
int compose_interpolate(const char *s, size_t len, struct secbuf **ret);

/* True when s has a `$` reference compose would interpolate (not `$$`). */
bool compose_has_reference(const char *s, size_t len);

enum envfile_value {
	ENVFILE_VALUE = 0, /* value known (possibly empty) */
	ENVFILE_NO_EQUALS, /* "KEY" alone: passed through from the environment */
	ENVFILE_RUNTIME,   /* a ${VAR} with no default the file does not define */
};

struct envfile_entry {
	char *key;
	enum envfile_value state;
	struct secbuf *value; /* when state == ENVFILE_VALUE */
	size_t start, end;    /* the entry's bytes in the file, newline included */
};

struct envfile {
	struct secbuf *text; /* the whole file */
	struct envfile_entry *e;
	size_t n;
};

/* Parses text (copied) as python-dotenv does. Lines it cannot parse are kept
 * as they are and define nothing, like dotenv. -ENOMEM or 0. */
int envfile_parse(const char *text, size_t len, struct envfile **ret);
/* Reads and parses a file (at most COMPOSE_MAX_ENVFILE_BYTES). -errno. */
int envfile_load(const char *path, struct envfile **ret);
void envfile_free(struct envfile *f); /* wipes; NULL ok */
/* The effective (last) entry for key, or NULL. */
const struct envfile_entry *envfile_get(const struct envfile *f, const char *key);
/* The file's text without every entry whose key drop() accepts.
 * *ret is a new secbuf (the rest may still hold other values). */
int envfile_without(const struct envfile *f, bool (*drop)(const char *key, void *ctx), void *ctx,
                    struct secbuf **ret);

#endif
