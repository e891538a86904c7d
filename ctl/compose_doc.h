/* The compose document as a small ordered tree: scalars keep their text,
 * style and tag so that what we write back reads like what we read; mappings
 * keep key order. Anchors, aliases and merge keys are resolved at load time. */
#ifndef VAULTCTL_COMPOSE_DOC_H
#define VAULTCTL_COMPOSE_DOC_H
#include <stdbool.h>
#include <stddef.h>

/* Bounds on what we accept from a compose file (checked while loading). */
#define COMPOSE_MAX_FILE_BYTES (4u * 1024u * 1024u)
/* Nodes made while loading: the tree, the copy each anchor keeps and the
 * copy each alias makes. A "billion laughs" and nested anchors stop here. */
#define COMPOSE_MAX_NODES 200000u
/* Bytes of text in those copies: few nodes can hold long strings, and a
 * 32 KiB anchor aliased 11,000 times asked for 360 MB (tests/fuzz). */
#define COMPOSE_MAX_COPIED_BYTES (16u * 1024u * 1024u)
#define COMPOSE_MAX_DEPTH 64u

enum cnode_kind { CNODE_SCALAR = 1, CNODE_SEQ, CNODE_MAP };

/* How a scalar was written; new scalars use CSTYLE_AUTO (plain unless the
 * text would read back as a number, bool or null, then single-quoted). */
enum cnode_style {
	CSTYLE_AUTO = 0,
	CSTYLE_PLAIN,
	CSTYLE_SINGLE,
	CSTYLE_DOUBLE,
	CSTYLE_LITERAL,
	CSTYLE_FOLDED,
};

struct cnode {
	enum cnode_kind kind;
	char *tag;            /* explicit tag as written (resolved URI) or NULL */
	int style;            /* scalars: enum cnode_style */
	bool flow;            /* collections: written [..] / {..} */
	int line;             /* 1-based line in the source, 0 for new nodes */
	char *str;            /* scalar text, NUL-terminated (wiped on free) */
	size_t len;           /* scalar length in bytes */
	struct cnode **items; /* seq: n items; map: keys at 2i, values at 2i+1 */
	size_t n;             /* seq: items; map: pairs */
	size_t cap;           /* allocated slots in items */
};

/* Constructors: NULL on ENOMEM. The tree owns every node; free the root. */
struct cnode *cnode_new_scalar(const char *s, size_t len, int style);
struct cnode *cnode_new_str(const char *s); /* CSTYLE_AUTO */
struct cnode *cnode_new_seq(bool flow);
struct cnode *cnode_new_map(void);
/* Deep copy. NULL on ENOMEM. */
struct cnode *cnode_dup(const struct cnode *n);
/* Frees the subtree, wiping scalar text (values may be passwords). NULL ok. */
void cnode_free(struct cnode *n);

/* Scalar text compare; false for non-scalars. */
bool cnode_is(const struct cnode *n, const char *s);
/* A scalar that YAML reads as null: plain "", "~", "null", "Null", "NULL". */
bool cnode_is_null(const struct cnode *n);

/* Mapping helpers. Keys are scalars; lookups compare the key text. */
struct cnode *cnode_map_get(const struct cnode *map, const char *key);
/* Index of the pair with that key, or -1. */
long cnode_map_find(const struct cnode *map, const char *key);
/* Replaces the value of key (freeing the old one) or appends the pair.
 * Takes ownership of val, also on failure. 0 or -ENOMEM. */
int cnode_map_set(struct cnode *map, const char *key, struct cnode *val);
/* Inserts the pair at index i (0..n), taking ownership of key and val. */
int cnode_map_insert(struct cnode *map, size_t i, struct cnode *key, struct cnode *val);
/* Removes pair i and frees it. */
void cnode_map_remove(struct cnode *map, size_t i);
static inline struct cnode *cnode_key(const struct cnode *map, size_t i)
{
	return map->items[2 * i];
}
static inline struct cnode *cnode_val(const struct cnode *map, size_t i)
{
	return map->items[2 * i + 1];
}

/* Sequence helpers: append / insert / remove (taking ownership). */
int cnode_seq_append(struct cnode *seq, struct cnode *item);
int cnode_seq_insert(struct cnode *seq, size_t i, struct cnode *item);
void cnode_seq_remove(struct cnode *seq, size_t i);
/* Replaces item i (the old one is freed). Takes ownership of item. */
void cnode_seq_replace(struct cnode *seq, size_t i, struct cnode *item);

/* Loads one YAML document (libyaml) from buf. Aliases are expanded into
 * copies, merge keys (<<) applied, duplicate keys refused. On failure returns
 * -EINVAL (malformed YAML or a construct we refuse), -E2BIG (over a limit) or
 * -ENOMEM, and writes one sentence naming the place into err. */
int compose_yaml_load(const char *buf, size_t len, struct cnode **ret, char *err, size_t errcap);

/* Writes the tree as YAML (libyaml emitter, 2-space indent, no line folding)
 * after the header text (may be NULL). *ret is malloc'd, NUL-terminated;
 * caller wipes (it may hold values) and frees. The output buffers are wiped
 * before release; libyaml's own copies of each scalar (it copies event
 * data) are freed unwiped, out of reach without replacing its allocator.
 * 0, -ENOMEM or -EINVAL (the emitter refused the tree). */
int compose_yaml_emit(const struct cnode *root, const char *header, char **ret, size_t *ret_len);
/* Wipes [start, end) of a libyaml buffer before libyaml frees it unwiped
 * (NULL or empty is fine): the parser's and the emitter's hold values. */
void compose_wipe_range(unsigned char *start, unsigned char *end);

#endif
