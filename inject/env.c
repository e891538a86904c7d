/* The command's environment. Strings inject adds live in one guarded buffer
 * (an --env value is a secret until execve copies it); inherited strings are
 * shared with inject's own environment. INJECT_TOKEN and INJECT_TOKEN_FILE
 * never reach the command. */
#include "env.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static bool var_is(const char *entry, const char *name, size_t nlen)
{
	return strncmp(entry, name, nlen) == 0 && entry[nlen] == '=';
}

/* The variables inject sets, as "NAME=" prefixes, to drop from base. */
static bool overridden(const char *entry, const struct inject_config *cfg, const struct creds *cr)
{
	/* Nor where the token file is: the command has no use for it. */
	if (var_is(entry, ENV_TOKEN_VAR, strlen(ENV_TOKEN_VAR)) ||
	    var_is(entry, ENV_TOKEN_FILE_VAR, strlen(ENV_TOKEN_FILE_VAR)))
		return true;
	if (cr->drop && var_is(entry, "HOME", 4))
		return true;
	for (size_t i = 0; i < cfg->n_envs; i++)
		if (var_is(entry, cfg->envs[i].var, strlen(cfg->envs[i].var)))
			return true;
	for (size_t i = 0; i < cfg->n_file_envs; i++) {
		size_t n = strlen(cfg->file_envs[i].var);
		if (strncmp(entry, cfg->file_envs[i].var, n) == 0 &&
		    strncmp(entry + n, "_FILE=", 6) == 0)
			return true;
	}
	return false;
}

static const char *file_of(const struct inject_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_secrets; i++)
		if (strcmp(cfg->secrets[i].name, name) == 0)
			return cfg->secrets[i].out.file;
	return NULL;
}

/* Appends the concatenation of parts and then vlen bytes of val at *off in
 * buf, NUL-terminated, and records its start in vec. env_build sized buf. */
static void put(char *buf, size_t *off, char **vec, size_t *n, const char *const parts[],
                const void *val, size_t vlen)
{
	char *start = buf + *off;
	size_t len = 0;
	for (size_t i = 0; parts[i]; i++) {
		size_t l = strlen(parts[i]);
		memcpy(start + len, parts[i], l);
		len += l;
	}
	if (vlen)
		memcpy(start + len, val, vlen);
	len += vlen;
	start[len] = '\0';
	*off += len + 1;
	vec[(*n)++] = start;
}

int env_build(char *const *base, const struct inject_config *cfg, const struct creds *cr,
              const struct bundle *b, struct child_env *ret)
{
	size_t nbase = 0, need = 0;
	while (base && base[nbase])
		nbase++;
	for (size_t i = 0; i < cfg->n_file_envs; i++)
		need += strlen(cfg->file_envs[i].var) + sizeof("_FILE=/") + strlen(cfg->dir) +
		        VAULT_MAX_NAME_LEN;
	for (size_t i = 0; i < cfg->n_envs; i++) {
		const struct bundle_entry *e = bundle_find(b, cfg->envs[i].name);
		if (!e)
			return -ENOENT;
		if (memchr(e->value->data, '\0', e->value->len))
			return -EINVAL; /* a NUL would silently cut the value */
		need += strlen(cfg->envs[i].var) + 2 + e->value->len;
	}
	if (cr->drop)
		need += sizeof("HOME=") + strlen(cr->home);
	size_t total = nbase + cfg->n_file_envs + cfg->n_envs + 2;
	char **vec = calloc(total, sizeof(char *));
	/* Guarded memory only when a value is among the strings: a secbuf
	 * costs system calls that paths and HOME do not need. */
	struct secbuf *added = cfg->n_envs > 0 ? secbuf_new(need + 1) : NULL;
	char *plain = cfg->n_envs > 0 ? NULL : malloc(need + 1);
	char *buf = added ? (char *)added->data : plain;
	if (!vec || !buf) {
		free(vec);
		secbuf_free(added);
		free(plain);
		return -ENOMEM;
	}
	size_t n = 0, off = 0;
	for (size_t i = 0; i < nbase; i++)
		if (!overridden(base[i], cfg, cr))
			vec[n++] = base[i];
	for (size_t i = 0; i < cfg->n_file_envs; i++) {
		/* config_parse gave every --file-env name a file. */
		const char *file = file_of(cfg, cfg->file_envs[i].name);
		put(buf, &off, vec, &n,
		    (const char *const[]){cfg->file_envs[i].var, "_FILE=", cfg->dir, "/",
		                          file ? file : "", NULL},
		    NULL, 0);
	}
	for (size_t i = 0; i < cfg->n_envs; i++) {
		const struct bundle_entry *e = bundle_find(b, cfg->envs[i].name);
		put(buf, &off, vec, &n, (const char *const[]){cfg->envs[i].var, "=", NULL},
		    e->value->data, e->value->len);
	}
	if (cr->drop)
		put(buf, &off, vec, &n, (const char *const[]){"HOME=", cr->home, NULL}, NULL, 0);
	vec[n] = NULL;
	ret->vec = vec;
	ret->added = added;
	ret->plain = plain;
	return 0;
}

void env_free(struct child_env *e)
{
	if (!e)
		return;
	free(e->vec);
	secbuf_free(e->added);
	free(e->plain);
	e->vec = NULL;
	e->added = NULL;
	e->plain = NULL;
}

int env_with(const struct child_env *e, const char *name, const char *value, struct child_env *ret)
{
	size_t n = 0;
	while (e->vec[n])
		n++;
	size_t nlen = strlen(name);
	struct secbuf *add = secbuf_new(nlen + 1 + strlen(value) + 1);
	char **vec = calloc(n + 2, sizeof(char *));
	if (!vec || !add) {
		free(vec);
		secbuf_free(add);
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!var_is(e->vec[i], name, nlen))
			vec[k++] = e->vec[i];
	snprintf((char *)add->data, add->len + 1, "%s=%s", name, value);
	vec[k++] = (char *)add->data;
	vec[k] = NULL;
	ret->vec = vec;
	ret->added = add;
	ret->plain = NULL;
	return 0;
}

void env_scrub_token(void)
{
	size_t nlen = strlen(ENV_TOKEN_VAR);
	for (char **p = environ; p && *p; p++)
		if (var_is(*p, ENV_TOKEN_VAR, nlen))
			sodium_memzero(*p + nlen + 1, strlen(*p + nlen + 1));
	unsetenv(ENV_TOKEN_VAR);
}
