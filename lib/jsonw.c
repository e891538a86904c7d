/* Hand-written JSON in two passes (count, then fill): one writer for the
 * read and bundle answers and the --audit-log lines. */
#include "jsonw.h"

#include <sodium.h>
#include <string.h>

#include "decimal.h"

static void put(struct jsonw *w, const void *s, size_t len)
{
	if (w->p)
		memcpy(w->p + w->n, s, len);
	w->n += len;
}

void jsonw_lit(struct jsonw *w, const char *s)
{
	put(w, s, strlen(s));
}

void jsonw_u64(struct jsonw *w, uint64_t v)
{
	char d[DECIMAL_MAX];
	put(w, d, decimal_u64(d, v));
}

void jsonw_i64(struct jsonw *w, int64_t v)
{
	char d[DECIMAL_MAX];
	put(w, d, decimal_i64(d, v));
}

void jsonw_str(struct jsonw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	put(w, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			char e[2] = {'\\', (char)*c};
			put(w, e, 2);
		} else if (*c < 0x20) {
			char e[6] = {'\\', 'u', '0', '0', hex[*c >> 4], hex[*c & 15]};
			put(w, e, 6);
		} else {
			put(w, c, 1);
		}
	}
	put(w, "\"", 1);
}

/* libsodium writes a NUL after the text: it lands where the closing quote
 * goes next, inside what was counted. */
void jsonw_b64(struct jsonw *w, const void *data, size_t len)
{
	size_t enc = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	put(w, "\"", 1);
	if (w->p)
		sodium_bin2base64((char *)w->p + w->n, enc, data, len,
		                  sodium_base64_VARIANT_ORIGINAL);
	w->n += enc - 1;
	put(w, "\"", 1);
}

struct secbuf *jsonw_secret(jsonw_doc doc, const void *ctx)
{
	struct jsonw count = {.p = NULL, .n = 0};
	doc(&count, ctx);
	struct secbuf *b = secbuf_new(count.n);
	if (!b)
		return NULL;
	struct jsonw fill = {.p = b->data, .n = 0};
	doc(&fill, ctx);
	return b;
}
