/* JSON written by hand, in two passes over the same steps: first only
 * counted, then filled into memory of exactly that size. For answers that
 * run on every request and for values that must go straight into guarded
 * memory, where building jansson objects and dumping them costs most. */
#ifndef VAULT_JSONW_H
#define VAULT_JSONW_H
#include <stddef.h>
#include <stdint.h>
#include "secbuf.h"

struct jsonw {
	unsigned char *p; /* NULL while counting */
	size_t n;         /* bytes counted or written so far */
};

/* Text as it is: literals, and names already validated as needing no escape. */
void jsonw_lit(struct jsonw *w, const char *s);
void jsonw_u64(struct jsonw *w, uint64_t v);
void jsonw_i64(struct jsonw *w, int64_t v);
/* s as a JSON string, quotes included, escaped. */
void jsonw_str(struct jsonw *w, const char *s);
/* len bytes as a JSON string of standard padded base64, quotes included. */
void jsonw_b64(struct jsonw *w, const void *data, size_t len);

/* Runs doc twice (count, then fill) into a secbuf of exactly the size;
 * NULL when out of guarded memory. */
typedef void (*jsonw_doc)(struct jsonw *w, const void *ctx);
struct secbuf *jsonw_secret(jsonw_doc doc, const void *ctx);

#endif
