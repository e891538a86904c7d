/* A service's environment: node, in either of compose's forms (a mapping
 * KEY: value, or a list of "KEY=value" strings), read and edited alike. */
#ifndef VAULTCTL_COMPOSE_ENVNODE_H
#define VAULTCTL_COMPOSE_ENVNODE_H
#include <stdbool.h>
#include <stddef.h>
#include "compose_doc.h"

struct env_entry {
	char name[256];
	bool has_value;    /* false: "KEY" alone or KEY: null (from the shell) */
	const char *value; /* points into the tree; valid until the next edit */
	size_t len;
	/* The mapping form's value is a plain (or yaml.org-tagged) scalar that
	 * YAML 1.1 or 1.2 reads as a number, bool, date...: compose passes the
	 * resolved value, which may not be this text (012345 becomes 5349 or
	 * 12345). Plain decimal integers such as 0, 12345 or -7 read back as
	 * the same text everywhere and are not marked. */
	bool not_text;
};

/* Number of entries (0 for a node that is neither form). */
size_t envnode_count(const struct cnode *env);
/* Entry i; false when it is not a usable entry (a nested list, a name too long). */
bool envnode_entry(const struct cnode *env, size_t i, struct env_entry *ret);
/* Index of the last entry named name (compose: the last one wins), or -1. */
long envnode_find(const struct cnode *env, const char *name);
/* Removes entry i. */
void envnode_remove(struct cnode *env, size_t i);
/* Replaces entry i by name=value in the node's form. 0 or -ENOMEM. */
int envnode_set_at(struct cnode *env, size_t i, const char *name, const char *value);
/* Sets name=value: replaces the last entry with that name or appends. */
int envnode_put(struct cnode *env, const char *name, const char *value);

#endif
