/* Reading and editing a service's environment: in its mapping form or its
 * list-of-"KEY=value" form, keeping whichever form the file used. */
#include "compose_envnode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t envnode_count(const struct cnode *env)
{
	if (!env || (env->kind != CNODE_MAP && env->kind != CNODE_SEQ))
		return 0;
	return env->n;
}

bool envnode_entry(const struct cnode *env, size_t i, struct env_entry *ret)
{
	struct env_entry e = {0};
	if (env->kind == CNODE_MAP) {
		const struct cnode *k = cnode_key(env, i), *v = cnode_val(env, i);
		if (k->len >= sizeof(e.name) || v->kind != CNODE_SCALAR)
			return false;
		memcpy(e.name, k->str, k->len + 1);
		if (!cnode_is_null(v)) {
			e.has_value = true;
			e.value = v->str;
			e.len = v->len;
		}
	} else {
		const struct cnode *it = env->items[i];
		if (it->kind != CNODE_SCALAR)
			return false;
		const char *eq = memchr(it->str, '=', it->len);
		size_t nlen = eq ? (size_t)(eq - it->str) : it->len;
		if (nlen == 0 || nlen >= sizeof(e.name))
			return false;
		memcpy(e.name, it->str, nlen);
		e.name[nlen] = '\0';
		if (eq) {
			e.has_value = true;
			e.value = eq + 1;
			e.len = it->len - nlen - 1;
		}
	}
	*ret = e;
	return true;
}

long envnode_find(const struct cnode *env, const char *name)
{
	for (size_t i = envnode_count(env); i-- > 0;) {
		struct env_entry e;
		if (envnode_entry(env, i, &e) && strcmp(e.name, name) == 0)
			return (long)i;
	}
	return -1;
}

void envnode_remove(struct cnode *env, size_t i)
{
	if (env->kind == CNODE_MAP)
		cnode_map_remove(env, i);
	else
		cnode_seq_remove(env, i);
}

static struct cnode *list_item(const char *name, const char *value)
{
	size_t n = strlen(name) + 1 + strlen(value) + 1;
	char *s = malloc(n);
	if (!s)
		return NULL;
	snprintf(s, n, "%s=%s", name, value);
	struct cnode *c = cnode_new_str(s);
	free(s);
	return c;
}

int envnode_set_at(struct cnode *env, size_t i, const char *name, const char *value)
{
	if (env->kind == CNODE_MAP) {
		struct cnode *k = cnode_new_str(name), *v = cnode_new_str(value);
		if (!k || !v) {
			cnode_free(k);
			cnode_free(v);
			return -ENOMEM;
		}
		cnode_free(env->items[2 * i]);
		cnode_free(env->items[2 * i + 1]);
		env->items[2 * i] = k;
		env->items[2 * i + 1] = v;
		return 0;
	}
	struct cnode *it = list_item(name, value);
	if (!it)
		return -ENOMEM;
	cnode_seq_replace(env, i, it);
	return 0;
}

int envnode_put(struct cnode *env, const char *name, const char *value)
{
	long i = envnode_find(env, name);
	if (i >= 0)
		return envnode_set_at(env, (size_t)i, name, value);
	if (env->kind == CNODE_MAP)
		return cnode_map_insert(env, env->n, cnode_new_str(name), cnode_new_str(value));
	return cnode_seq_append(env, list_item(name, value));
}
