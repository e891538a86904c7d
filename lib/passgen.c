/* Password generator for rotate {"generate":...}: each character an unbiased
 * choice (randombytes_uniform) from a named charset, into guarded memory. */
#include "passgen.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

struct charset {
	const char *name;
	const char *chars;
};

static const struct charset charsets[] = {
    {"alnum", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"},
    {"hex", "0123456789abcdef"},
    {"base64url", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"},
    /* printable ASCII without space, 0x21..0x7e */
    {"ascii", "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
              "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"},
};

static const char *charset_chars(const char *name)
{
	if (!name)
		name = "alnum";
	for (size_t i = 0; i < sizeof(charsets) / sizeof(charsets[0]); i++)
		if (strcmp(charsets[i].name, name) == 0)
			return charsets[i].chars;
	return NULL;
}

int passgen_generate(size_t len, const char *charset, struct secbuf **ret)
{
	const char *chars = charset_chars(charset);
	if (!chars || len < PASSGEN_MIN_LEN || len > PASSGEN_MAX_LEN || !ret)
		return -EINVAL;
	uint32_t n = (uint32_t)strlen(chars);
	struct secbuf *b = secbuf_new(len);
	if (!b)
		return -ENOMEM;
	/* randombytes_uniform rejects samples above the largest multiple of n,
	 * so no character is more likely than another (no modulo bias). */
	for (size_t i = 0; i < len; i++)
		b->data[i] = (unsigned char)chars[randombytes_uniform(n)];
	*ret = b;
	return 0;
}
