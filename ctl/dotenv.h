/* The one .env parser of vaultctl, for `import-env` and for compose's
 * env_file: it reads a file exactly as docker-compose 1.29 reads an env_file
 * (python-dotenv 0.21's grammar, then its ${VAR} interpolation): comments,
 * blank lines, `export ` prefixes, single and double quotes (both may span
 * lines; double quotes decode \n \t \" \\ ...), ` #` comments after unquoted
 * values, empty values, duplicate keys (the last wins). It also keeps where
 * each assignment stands, so a file can be rewritten without some keys.
 * Values live in guarded memory. */
#ifndef VAULTCTL_DOTENV_H
#define VAULTCTL_DOTENV_H
#include <stdbool.h>
#include <stddef.h>
#include "secbuf.h"

#define DOTENV_MAX_BYTES (4u * 1024u * 1024u)
/* All interpolated values of one file together (a value is at most
 * DOTENV_MAX_BYTES after interpolation too). */
#define DOTENV_MAX_GROWN (16u * 1024u * 1024u)
#define DOTENV_MAX_ENTRIES 10000u
#define DOTENV_MAX_KEY 1024u

struct dotenv_entry {
	char *key;            /* as written; malloc'd */
	struct secbuf *value; /* NULL: a key without '=' (compose takes it from its environment) */
	unsigned line;        /* line of the last assignment */
	/* With interpolation: the value used a ${VAR} without a default that
	 * neither the file nor lookup defines (it became ""), or an earlier key
	 * for which this holds. Without a lookup (compose), such a value is
	 * only known at run time. */
	bool needs_env;
};

/* One assignment (or bare key) as it stands in the text, in file order: a
 * key assigned twice has two. Byte offsets into the buffer given to
 * dotenv_parse: from the start of the line it begins on to after its line
 * break (its comment and the line break included). */
struct dotenv_span {
	size_t entry; /* index into items */
	size_t start, end;
};

struct dotenv {
	struct dotenv_entry *items; /* unique keys, in order of first appearance */
	size_t n;
	struct dotenv_span *spans;
	size_t n_spans;
	unsigned *bad_lines; /* lines python-dotenv cannot parse (it skips them too) */
	size_t n_bad;
};

/* The process environment for ${VAR}: returns the value or NULL. */
typedef const char *(*dotenv_lookup_fn)(const char *name, void *ctx);

/* Parses buf (len bytes; a UTF-8 BOM is skipped). With interpolate, ${VAR}
 * and ${VAR:-default} in values are replaced by an earlier key of the file,
 * else by lookup(VAR) (NULL lookup: an empty environment), else by the
 * default or "" — as `docker-compose config` does; without it, values stay
 * as written. -EILSEQ when buf is not UTF-8 or a key holds a NUL byte,
 * -E2BIG over DOTENV_MAX_BYTES or DOTENV_MAX_ENTRIES, or when
 * interpolation grows a value over DOTENV_MAX_BYTES or all of them over
 * DOTENV_MAX_GROWN; -ENOMEM. *ret is freed with dotenv_free. */
int dotenv_parse(const void *buf, size_t len, bool interpolate, dotenv_lookup_fn lookup, void *ctx,
                 struct dotenv **ret);
void dotenv_free(struct dotenv *d); /* wipes values; NULL ok */
/* Why dotenv_parse refused a file, in words (-EILSEQ, -E2BIG, others). */
const char *dotenv_strerror(int rc);

/* The entry for key, or NULL. */
const struct dotenv_entry *dotenv_find(const struct dotenv *d, const char *key);

/* text (the len bytes d was parsed from) without the lines of every entry
 * items[i] with drop[i] (every assignment of that key goes); all other bytes
 * are kept as they are. *ret is a new secbuf (the rest may still hold other
 * private values). 0 or -ENOMEM. */
int dotenv_without(const struct dotenv *d, const void *text, size_t len, const bool *drop,
                   struct secbuf **ret);

#endif
