/* The ordered document tree of a compose file: construction, lookup, edits
 * and freeing (scalar text is wiped: it may hold passwords). */
#include "compose_doc.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static struct cnode *cnode_alloc(enum cnode_kind kind)
{
	struct cnode *n = calloc(1, sizeof(*n));
	if (n)
		n->kind = kind;
	return n;
}

struct cnode *cnode_new_scalar(const char *s, size_t len, int style)
{
	struct cnode *n = cnode_alloc(CNODE_SCALAR);
	if (!n)
		return NULL;
	n->str = malloc(len + 1);
	if (!n->str) {
		free(n);
		return NULL;
	}
	if (len > 0)
		memcpy(n->str, s, len);
	n->str[len] = '\0';
	n->len = len;
	n->style = style;
	return n;
}

struct cnode *cnode_new_str(const char *s)
{
	return cnode_new_scalar(s, strlen(s), CSTYLE_AUTO);
}

struct cnode *cnode_new_seq(bool flow)
{
	struct cnode *n = cnode_alloc(CNODE_SEQ);
	if (n)
		n->flow = flow;
	return n;
}

struct cnode *cnode_new_map(void)
{
	return cnode_alloc(CNODE_MAP);
}

void cnode_free(struct cnode *n)
{
	if (!n)
		return;
	if (n->str) {
		sodium_memzero(n->str, n->len);
		free(n->str);
	}
	size_t slots = n->kind == CNODE_MAP ? 2 * n->n : n->n;
	for (size_t i = 0; i < slots; i++)
		cnode_free(n->items[i]);
	free(n->items);
	free(n->tag);
	free(n);
}

struct cnode *cnode_dup(const struct cnode *n)
{
	struct cnode *c;
	if (n->kind == CNODE_SCALAR)
		c = cnode_new_scalar(n->str, n->len, n->style);
	else
		c = cnode_alloc(n->kind);
	if (!c)
		return NULL;
	c->flow = n->flow;
	c->line = n->line;
	c->style = n->style;
	if (n->tag && !(c->tag = strdup(n->tag)))
		goto fail;
	if (n->kind != CNODE_SCALAR) {
		size_t slots = n->kind == CNODE_MAP ? 2 * n->n : n->n;
		if (slots > 0) {
			/* calloc'd slots are NULL until copied, so cnode_free can
			 * release a half-made copy. */
			c->items = calloc(slots, sizeof(*c->items));
			if (!c->items)
				goto fail;
			c->cap = slots;
			c->n = n->n;
		}
		for (size_t i = 0; i < slots; i++)
			if (!(c->items[i] = cnode_dup(n->items[i])))
				goto fail;
	}
	return c;
fail:
	cnode_free(c);
	return NULL;
}

bool cnode_is(const struct cnode *n, const char *s)
{
	return n && n->kind == CNODE_SCALAR && strcmp(n->str, s) == 0 && strlen(s) == n->len;
}

bool cnode_is_null(const struct cnode *n)
{
	if (!n || n->kind != CNODE_SCALAR)
		return false;
	if (n->tag)
		return strcmp(n->tag, "tag:yaml.org,2002:null") == 0;
	if (n->style != CSTYLE_PLAIN)
		return false;
	return n->len == 0 || cnode_is(n, "~") || cnode_is(n, "null") || cnode_is(n, "Null") ||
	       cnode_is(n, "NULL");
}

long cnode_map_find(const struct cnode *map, const char *key)
{
	if (!map || map->kind != CNODE_MAP)
		return -1;
	for (size_t i = 0; i < map->n; i++)
		if (cnode_is(cnode_key(map, i), key))
			return (long)i;
	return -1;
}

struct cnode *cnode_map_get(const struct cnode *map, const char *key)
{
	long i = cnode_map_find(map, key);
	return i < 0 ? NULL : cnode_val(map, (size_t)i);
}

static int grow(struct cnode *n, size_t need)
{
	if (need <= n->cap)
		return 0;
	size_t cap = n->cap ? n->cap * 2 : 8;
	while (cap < need)
		cap *= 2;
	struct cnode **items = realloc(n->items, cap * sizeof(*items));
	if (!items)
		return -ENOMEM;
	n->items = items;
	n->cap = cap;
	return 0;
}

int cnode_map_insert(struct cnode *map, size_t i, struct cnode *key, struct cnode *val)
{
	if (!key || !val || i > map->n || grow(map, 2 * map->n + 2) < 0) {
		cnode_free(key);
		cnode_free(val);
		return -ENOMEM;
	}
	memmove(&map->items[2 * i + 2], &map->items[2 * i],
	        (2 * (map->n - i)) * sizeof(*map->items));
	map->items[2 * i] = key;
	map->items[2 * i + 1] = val;
	map->n++;
	return 0;
}

int cnode_map_set(struct cnode *map, const char *key, struct cnode *val)
{
	if (!val)
		return -ENOMEM;
	long i = cnode_map_find(map, key);
	if (i >= 0) {
		cnode_free(map->items[2 * i + 1]);
		map->items[2 * i + 1] = val;
		return 0;
	}
	return cnode_map_insert(map, map->n, cnode_new_str(key), val);
}

void cnode_map_remove(struct cnode *map, size_t i)
{
	cnode_free(map->items[2 * i]);
	cnode_free(map->items[2 * i + 1]);
	memmove(&map->items[2 * i], &map->items[2 * i + 2],
	        (2 * (map->n - i - 1)) * sizeof(*map->items));
	map->n--;
}

int cnode_seq_insert(struct cnode *seq, size_t i, struct cnode *item)
{
	if (!item || i > seq->n || grow(seq, seq->n + 1) < 0) {
		cnode_free(item);
		return -ENOMEM;
	}
	memmove(&seq->items[i + 1], &seq->items[i], (seq->n - i) * sizeof(*seq->items));
	seq->items[i] = item;
	seq->n++;
	return 0;
}

int cnode_seq_append(struct cnode *seq, struct cnode *item)
{
	return cnode_seq_insert(seq, seq->n, item);
}

void cnode_seq_remove(struct cnode *seq, size_t i)
{
	cnode_free(seq->items[i]);
	memmove(&seq->items[i], &seq->items[i + 1], (seq->n - i - 1) * sizeof(*seq->items));
	seq->n--;
}

void cnode_seq_replace(struct cnode *seq, size_t i, struct cnode *item)
{
	cnode_free(seq->items[i]);
	seq->items[i] = item;
}
