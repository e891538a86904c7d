/* Reads a compose file with libyaml's event parser into the ordered tree of
 * compose_doc.h: aliases become copies, merge keys (<<) are applied, duplicate
 * keys are refused, and every buffer that held text is wiped before release.
 * Work and memory stay linear in COMPOSE_MAX_NODES and
 * COMPOSE_MAX_COPIED_BYTES whatever the input. */
#include "compose_doc.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "strtab.h"

struct anchor {
	char *name;
	struct cnode *node; /* our own copy: the tree may free or change the original */
	size_t size;        /* nodes in it, charged again on every alias */
	size_t bytes;       /* and bytes of text */
};

struct loader {
	yaml_parser_t parser;
	struct anchor *anchors;
	size_t nanchors, capanchors;
	struct strtab anchor_names; /* name -> index in anchors */
	unsigned char seed[crypto_shorthash_KEYBYTES];
	size_t nodes;  /* nodes made so far: tree, anchor copies and alias copies */
	size_t copied; /* bytes of text in anchor and alias copies */
	char *err;
	size_t errcap;
	int rc; /* first error */
};

static int fail(struct loader *l, int rc, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct loader *l, int rc, int line, const char *fmt, ...)
{
	if (l->rc)
		return l->rc;
	l->rc = rc;
	if (l->err && l->errcap) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		if (line > 0)
			snprintf(l->err, l->errcap, "line %d: %s", line, msg);
		else
			snprintf(l->err, l->errcap, "%s", msg);
	}
	return rc;
}

/* Scalars may be passwords: clear libyaml's copy before it frees it. */
static void event_wipe_delete(yaml_event_t *ev)
{
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.value)
		sodium_memzero(ev->data.scalar.value, ev->data.scalar.length);
	yaml_event_delete(ev);
}

static int next_event(struct loader *l, yaml_event_t *ev)
{
	if (yaml_parser_parse(&l->parser, ev))
		return 0;
	const yaml_parser_t *p = &l->parser;
	if (p->error == YAML_MEMORY_ERROR)
		return fail(l, -ENOMEM, 0, "out of memory while reading YAML");
	int line = (int)p->problem_mark.line + 1;
	int col = (int)p->problem_mark.column + 1;
	if (p->context)
		return fail(l, -EINVAL, line, "column %d: malformed YAML: %s %s", col,
		            p->problem ? p->problem : "error", p->context);
	return fail(l, -EINVAL, line, "column %d: malformed YAML: %s", col,
	            p->problem ? p->problem : "error");
}

static int count_nodes(struct loader *l, size_t add, int line)
{
	if (add > COMPOSE_MAX_NODES - l->nodes)
		return fail(l, -E2BIG, line, "more than %u YAML nodes after expanding aliases",
		            COMPOSE_MAX_NODES);
	l->nodes += add;
	return 0;
}

/* A copy of a tree of nodes and bytes of text: both count against their
 * budgets. */
static int count_copy(struct loader *l, size_t nodes, size_t bytes, int line)
{
	int rc = count_nodes(l, nodes, line);
	if (rc < 0)
		return rc;
	if (bytes > COMPOSE_MAX_COPIED_BYTES - l->copied)
		return fail(l, -E2BIG, line, "more than %u bytes of text after expanding aliases",
		            COMPOSE_MAX_COPIED_BYTES);
	l->copied += bytes;
	return 0;
}

/* Nodes in the tree at n, and bytes of its text (scalars and tags). */
static void tree_cost(const struct cnode *n, size_t *nodes, size_t *bytes)
{
	*nodes += 1;
	*bytes += n->len + (n->tag ? strlen(n->tag) : 0);
	if (n->kind == CNODE_SEQ || n->kind == CNODE_MAP) {
		size_t slots = n->kind == CNODE_MAP ? 2 * n->n : n->n;
		for (size_t i = 0; i < slots; i++)
			tree_cost(n->items[i], nodes, bytes);
	}
}

/* Keeps a copy of node under name; a name defined again takes the new node,
 * as YAML says (the most recent definition wins). */
static int anchor_add(struct loader *l, const char *name, const struct cnode *node)
{
	/* The copy costs what the node costs: it counts against the node
	 * budget like an alias does, or nested anchors (&a [&b [&c ...]]) would
	 * copy one big node once per level, unbounded. */
	size_t size = 0, bytes = 0;
	tree_cost(node, &size, &bytes);
	int rc = count_copy(l, size, bytes, node->line);
	if (rc < 0)
		return rc;
	struct cnode *copy = cnode_dup(node);
	if (!copy)
		return fail(l, -ENOMEM, 0, "out of memory");
	const size_t *at = strtab_get(&l->anchor_names, name, strlen(name));
	if (at) {
		struct anchor *a = &l->anchors[*at];
		cnode_free(a->node);
		a->node = copy;
		a->size = size;
		a->bytes = bytes;
		return 0;
	}
	if (l->nanchors == l->capanchors) {
		size_t cap = l->capanchors ? 2 * l->capanchors : 8;
		struct anchor *a = realloc(l->anchors, cap * sizeof(*a));
		if (!a) {
			cnode_free(copy);
			return fail(l, -ENOMEM, 0, "out of memory");
		}
		l->anchors = a;
		l->capanchors = cap;
	}
	struct anchor *a = &l->anchors[l->nanchors];
	a->name = strdup(name);
	if (!a->name || strtab_put(&l->anchor_names, a->name, strlen(a->name), l->nanchors) < 0) {
		free(a->name);
		cnode_free(copy);
		return fail(l, -ENOMEM, 0, "out of memory");
	}
	a->node = copy;
	a->size = size;
	a->bytes = bytes;
	l->nanchors++;
	return 0;
}

static const struct anchor *anchor_find(const struct loader *l, const char *name)
{
	const size_t *at = strtab_get(&l->anchor_names, name, strlen(name));
	return at ? &l->anchors[*at] : NULL;
}

static int set_tag(struct loader *l, struct cnode *n, const yaml_char_t *tag)
{
	/* "!" is the non-specific tag of quoted scalars: no tag for us. */
	if (!tag || strcmp((const char *)tag, "!") == 0)
		return 0;
	n->tag = strdup((const char *)tag);
	return n->tag ? 0 : fail(l, -ENOMEM, 0, "out of memory");
}

static int load_node(struct loader *l, yaml_event_t *ev, unsigned depth, struct cnode **ret);

static int scalar_style(yaml_scalar_style_t s)
{
	switch (s) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		return CSTYLE_SINGLE;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		return CSTYLE_DOUBLE;
	case YAML_LITERAL_SCALAR_STYLE:
		return CSTYLE_LITERAL;
	case YAML_FOLDED_SCALAR_STYLE:
		return CSTYLE_FOLDED;
	default:
		return CSTYLE_PLAIN;
	}
}

static int load_scalar(struct loader *l, yaml_event_t *ev, struct cnode **ret)
{
	int line = (int)ev->start_mark.line + 1;
	int rc = count_nodes(l, 1, line);
	if (rc < 0)
		return rc;
	struct cnode *n =
	    cnode_new_scalar((const char *)ev->data.scalar.value, ev->data.scalar.length,
	                     scalar_style(ev->data.scalar.style));
	if (!n)
		return fail(l, -ENOMEM, 0, "out of memory");
	n->line = line;
	if ((rc = set_tag(l, n, ev->data.scalar.tag)) < 0) {
		cnode_free(n);
		return rc;
	}
	*ret = n;
	return 0;
}

static int load_alias(struct loader *l, yaml_event_t *ev, struct cnode **ret)
{
	int line = (int)ev->start_mark.line + 1;
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a = anchor_find(l, name);
	if (!a)
		return fail(l, -EINVAL, line, "alias *%s names no anchor defined before it", name);
	int rc = count_copy(l, a->size, a->bytes, line);
	if (rc < 0)
		return rc;
	struct cnode *n = cnode_dup(a->node);
	if (!n)
		return fail(l, -ENOMEM, 0, "out of memory");
	*ret = n;
	return 0;
}

static int load_seq(struct loader *l, yaml_event_t *start, unsigned depth, struct cnode **ret)
{
	int line = (int)start->start_mark.line + 1;
	int rc = count_nodes(l, 1, line);
	if (rc < 0)
		return rc;
	struct cnode *seq =
	    cnode_new_seq(start->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE);
	if (!seq)
		return fail(l, -ENOMEM, 0, "out of memory");
	seq->line = line;
	if ((rc = set_tag(l, seq, start->data.sequence_start.tag)) < 0)
		goto out;
	for (;;) {
		yaml_event_t ev;
		if ((rc = next_event(l, &ev)) < 0)
			goto out;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		struct cnode *item = NULL;
		if ((rc = load_node(l, &ev, depth + 1, &item)) < 0)
			goto out;
		if (cnode_seq_append(seq, item) < 0) {
			rc = fail(l, -ENOMEM, 0, "out of memory");
			goto out;
		}
	}
	*ret = seq;
	return 0;
out:
	cnode_free(seq);
	return rc;
}

static bool is_merge_key(const struct cnode *k)
{
	if (k->tag)
		return strcmp(k->tag, "tag:yaml.org,2002:merge") == 0;
	return k->style == CSTYLE_PLAIN && cnode_is(k, "<<");
}

struct merge {
	size_t at;           /* pair index in the map where << stood */
	struct cnode *value; /* owned */
	int line;
};

/* Each merge value must be a mapping or a list of mappings; *ret_pairs is
 * how many pairs they hold in all (at most what a merge adds). */
static int merges_check(struct loader *l, const struct merge *m, size_t nm, size_t *ret_pairs)
{
	size_t pairs = 0;
	for (size_t i = 0; i < nm; i++) {
		const struct cnode *v = m[i].value;
		size_t nsrc = v->kind == CNODE_SEQ ? v->n : 1;
		for (size_t j = 0; j < nsrc; j++) {
			const struct cnode *src = v->kind == CNODE_SEQ ? v->items[j] : v;
			if (src->kind != CNODE_MAP)
				return fail(
				    l, -EINVAL, m[i].line,
				    "a merge key (<<) needs a mapping or a list of mappings");
			pairs += src->n;
		}
	}
	*ret_pairs = pairs;
	return 0;
}

/* Moves src's pairs whose key the map lacks to out[*o...] (merge keys never
 * override explicit keys, and earlier merges win over later ones). The merge
 * value is ours and freed after: taking its nodes saves copying them. */
static void merge_take(struct strtab *keys, struct cnode *src, struct cnode **out, size_t *o)
{
	for (size_t i = 0; i < src->n; i++) {
		struct cnode *k = src->items[2 * i];
		if (strtab_get(keys, k->str, k->len))
			continue;
		strtab_set(keys, k->str, k->len, *o / 2);
		out[(*o)++] = k;
		out[(*o)++] = src->items[2 * i + 1];
		src->items[2 * i] = src->items[2 * i + 1] = NULL;
	}
}

/* Rebuilds map's pairs in one pass: each merge's pairs where its << stood,
 * after those of earlier merges at the same place. keys holds the map's
 * explicit keys. What can fail is done before any node moves. */
static int apply_merges(struct loader *l, struct cnode *map, struct strtab *keys, struct merge *m,
                        size_t nm)
{
	size_t extra = 0;
	int rc = merges_check(l, m, nm, &extra);
	if (rc < 0 || extra == 0)
		return rc;
	size_t total = map->n + extra; /* both bounded by COMPOSE_MAX_NODES */
	struct cnode **items = malloc(2 * total * sizeof(*items));
	if (!items || strtab_reserve(keys, total) < 0) {
		free(items);
		return fail(l, -ENOMEM, 0, "out of memory");
	}
	size_t o = 0, j = 0;
	for (size_t i = 0; i < nm; i++) {
		for (; j < m[i].at; j++) {
			items[o++] = cnode_key(map, j);
			items[o++] = cnode_val(map, j);
		}
		struct cnode *v = m[i].value;
		if (v->kind == CNODE_SEQ) {
			for (size_t s = 0; s < v->n; s++)
				merge_take(keys, v->items[s], items, &o);
		} else {
			merge_take(keys, v, items, &o);
		}
	}
	for (; j < map->n; j++) {
		items[o++] = cnode_key(map, j);
		items[o++] = cnode_val(map, j);
	}
	free(map->items);
	map->items = items;
	map->n = o / 2;
	map->cap = 2 * total;
	return 0;
}

static int load_map(struct loader *l, yaml_event_t *start, unsigned depth, struct cnode **ret)
{
	int line = (int)start->start_mark.line + 1;
	int rc = count_nodes(l, 1, line);
	if (rc < 0)
		return rc;
	struct cnode *map = cnode_new_map();
	struct merge *merges = NULL;
	size_t nmerges = 0;
	/* The keys so far: a duplicate is found in constant time, not by a
	 * scan of the mapping (quadratic in its size). */
	struct strtab keys = {.seed = l->seed};
	if (!map)
		return fail(l, -ENOMEM, 0, "out of memory");
	map->line = line;
	map->flow = start->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
	if ((rc = set_tag(l, map, start->data.mapping_start.tag)) < 0)
		goto out;
	for (;;) {
		yaml_event_t ev;
		if ((rc = next_event(l, &ev)) < 0)
			goto out;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		struct cnode *k = NULL, *v = NULL;
		if ((rc = load_node(l, &ev, depth + 1, &k)) < 0)
			goto out;
		if (k->kind != CNODE_SCALAR) {
			rc = fail(l, -EINVAL, k->line,
			          "a mapping key must be a string, not a list or mapping");
			cnode_free(k);
			goto out;
		}
		if ((rc = next_event(l, &ev)) < 0 || (rc = load_node(l, &ev, depth + 1, &v)) < 0) {
			cnode_free(k);
			goto out;
		}
		if (is_merge_key(k)) {
			struct merge *m = realloc(merges, (nmerges + 1) * sizeof(*m));
			if (!m) {
				cnode_free(k);
				cnode_free(v);
				rc = fail(l, -ENOMEM, 0, "out of memory");
				goto out;
			}
			merges = m;
			merges[nmerges++] =
			    (struct merge){.at = map->n, .value = v, .line = k->line};
			cnode_free(k);
			continue;
		}
		if (strtab_get(&keys, k->str, k->len)) {
			rc = fail(l, -EINVAL, k->line,
			          "duplicate key \"%.64s\" in one mapping: keep one", k->str);
			cnode_free(k);
			cnode_free(v);
			goto out;
		}
		if (cnode_map_insert(map, map->n, k, v) < 0 ||
		    strtab_put(&keys, k->str, k->len, map->n - 1) < 0) {
			rc = fail(l, -ENOMEM, 0, "out of memory");
			goto out;
		}
	}
	if ((rc = apply_merges(l, map, &keys, merges, nmerges)) < 0)
		goto out;
	*ret = map;
	map = NULL;
out:
	strtab_free(&keys);
	for (size_t i = 0; i < nmerges; i++)
		cnode_free(merges[i].value);
	free(merges);
	cnode_free(map);
	return rc;
}

/* Consumes ev (a node's first event) and everything up to the node's end. */
static int load_node(struct loader *l, yaml_event_t *ev, unsigned depth, struct cnode **ret)
{
	int rc;
	const yaml_char_t *anchor = NULL;
	if (depth > COMPOSE_MAX_DEPTH) {
		rc = fail(l, -E2BIG, (int)ev->start_mark.line + 1, "nested deeper than %u levels",
		          COMPOSE_MAX_DEPTH);
		event_wipe_delete(ev);
		return rc;
	}
	struct cnode *n = NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		rc = load_scalar(l, ev, &n);
		break;
	case YAML_ALIAS_EVENT:
		rc = load_alias(l, ev, &n);
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		rc = load_seq(l, ev, depth, &n);
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		rc = load_map(l, ev, depth, &n);
		break;
	default:
		rc = fail(l, -EINVAL, (int)ev->start_mark.line + 1, "unexpected YAML event");
		break;
	}
	/* Registered once complete: an alias inside its own anchor is refused. */
	if (rc == 0 && anchor)
		rc = anchor_add(l, (const char *)anchor, n);
	event_wipe_delete(ev);
	if (rc < 0) {
		cnode_free(n);
		return rc;
	}
	*ret = n;
	return 0;
}

static int expect(struct loader *l, yaml_event_type_t type, const char *what)
{
	yaml_event_t ev;
	int rc = next_event(l, &ev);
	if (rc < 0)
		return rc;
	int line = (int)ev.start_mark.line + 1;
	yaml_event_type_t got = ev.type;
	event_wipe_delete(&ev);
	if (got != type)
		return fail(l, -EINVAL, line, "%s", what);
	return 0;
}

static int load_document(struct loader *l, struct cnode **ret)
{
	yaml_event_t ev;
	int rc = expect(l, YAML_STREAM_START_EVENT, "not a YAML stream");
	if (rc < 0)
		return rc;
	if ((rc = next_event(l, &ev)) < 0)
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return fail(l, -EINVAL, 0,
		            "the file is empty: a compose file is a mapping with services:");
	}
	yaml_event_delete(&ev); /* DOCUMENT_START */
	if ((rc = next_event(l, &ev)) < 0)
		return rc;
	struct cnode *root = NULL;
	if ((rc = load_node(l, &ev, 0, &root)) < 0)
		return rc;
	if ((rc = expect(l, YAML_DOCUMENT_END_EVENT, "unexpected content after the document")) <
	        0 ||
	    (rc = expect(l, YAML_STREAM_END_EVENT,
	                 "more than one YAML document (---): a compose file holds exactly one")) <
	        0) {
		cnode_free(root);
		return rc;
	}
	*ret = root;
	return 0;
}

void compose_wipe_range(unsigned char *start, unsigned char *end)
{
	if (start && end > start)
		sodium_memzero(start, (size_t)(end - start));
}

int compose_yaml_load(const char *buf, size_t len, struct cnode **ret, char *err, size_t errcap)
{
	if (len > COMPOSE_MAX_FILE_BYTES) {
		if (err && errcap)
			snprintf(err, errcap, "larger than %u bytes", COMPOSE_MAX_FILE_BYTES);
		return -E2BIG;
	}
	struct loader l = {.err = err, .errcap = errcap};
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	/* tests/fuzz: the same input must take the same path every run. */
	memset(l.seed, 0x5a, sizeof(l.seed));
#else
	randombytes_buf(l.seed, sizeof(l.seed));
#endif
	l.anchor_names.seed = l.seed;
	if (!yaml_parser_initialize(&l.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)buf, len);
	struct cnode *root = NULL;
	int rc = load_document(&l, &root);
	/* libyaml keeps decoded input in its buffers; the input may hold passwords. */
	compose_wipe_range(l.parser.buffer.start, l.parser.buffer.end);
	compose_wipe_range(l.parser.raw_buffer.start, l.parser.raw_buffer.end);
	yaml_parser_delete(&l.parser);
	strtab_free(&l.anchor_names);
	for (size_t i = 0; i < l.nanchors; i++) {
		free(l.anchors[i].name);
		cnode_free(l.anchors[i].node);
	}
	free(l.anchors);
	if (rc < 0)
		return rc;
	*ret = root;
	return 0;
}
