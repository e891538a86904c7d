/* --template: a text file in which {{ secret "NAME" }} stands for the value
 * of NAME. Parsed once (errors name the line), rendered into guarded memory
 * as often as the values change. Unknown names fail closed. */
#ifndef INJECT_TEMPLATE_H
#define INJECT_TEMPLATE_H
#include <stdbool.h>
#include <stddef.h>

#include "names.h"
#include "secbuf.h"

#define TEMPLATE_MAX_BYTES (1024u * 1024u)
#define TEMPLATE_MAX_REFS 1024u

struct template_seg {
	bool is_secret;
	size_t off, len;                   /* literal: bytes of the source text */
	char name[VAULT_MAX_NAME_LEN + 1]; /* secret: its name */
	size_t line;                       /* secret: where it stands, for messages */
};

struct template
{
	char *text; /* the source; not secret */
	size_t len;
	struct template_seg *segs;
	size_t n_segs;
};

/* 0, or -EINVAL with "line N: ..." in err, -E2BIG over TEMPLATE_MAX_REFS,
 * -ENOMEM. Free *ret with template_free(). */
int template_parse(const char *text, size_t len, struct template **ret, char *err, size_t errcap);
/* Reads the regular file open on fd (at most TEMPLATE_MAX_BYTES: -EFBIG;
 * anything else: -EINVAL) and parses it; -errno if it cannot be read. The
 * caller opens it (O_NONBLOCK, with the command's rights: privdrop_open)
 * and closes it. */
int template_read(int fd, struct template **ret, char *err, size_t errcap);
void template_free(struct template *t);

/* The value of a name, or NULL when there is none. */
typedef const struct secbuf *(*template_lookup_fn)(void *ctx, const char *name);

/* Renders into a new secbuf. -ENOENT (err names the secret) when lookup has
 * no value for a name: nothing is rendered with a hole in it. */
int template_render(const struct template *t, template_lookup_fn lookup, void *ctx,
                    struct secbuf **ret, char *err, size_t errcap);

#endif
