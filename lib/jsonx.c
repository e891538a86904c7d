/* Strict JSON in and out: size capped before parsing, duplicate keys refused,
 * typed field readers, and base64 secrets decoded straight into guarded memory. */
#include "jsonx.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL

int jsonx_parse_object(const void *buf, size_t len, size_t max, json_t **ret, char *err,
                       size_t errcap)
{
	if (err && errcap > 0)
		err[0] = '\0';
	/* Cap first: never hand an oversized body to the parser. */
	if (len > max)
		return -EMSGSIZE;
	if (!buf || !ret)
		return -EINVAL;
	json_error_t jerr;
	/* No JSON_DISABLE_EOF_CHECK (trailing bytes are an error) and no
	 * JSON_ALLOW_NUL (strings can be used as C strings). */
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		/* jansson's text ends with "near '<token>'", and the token can be
		 * (part of) a value: the position says where without quoting it. */
		const char *near = strstr(jerr.text, " near ");
		int keep = near ? (int)(near - jerr.text) : (int)strlen(jerr.text);
		if (err && errcap > 0)
			snprintf(err, errcap, "%.*s (line %d, column %d)", keep, jerr.text,
			         jerr.line, jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		if (err && errcap > 0)
			snprintf(err, errcap, "the body must be a JSON object");
		json_decref(o);
		return -EINVAL;
	}
	*ret = o;
	return 0;
}

/* The field, or NULL when o is not an object or has no such key. */
static json_t *field(const json_t *o, const char *key)
{
	if (!json_is_object(o) || !key)
		return NULL;
	return json_object_get(o, key);
}

int jsonx_get_string(const json_t *o, const char *key, const char **ret)
{
	json_t *v = field(o, key);
	if (!v)
		return -ENOENT;
	if (!json_is_string(v))
		return -EINVAL;
	*ret = json_string_value(v);
	return 0;
}

int jsonx_get_int(const json_t *o, const char *key, int64_t *ret)
{
	json_t *v = field(o, key);
	if (!v)
		return -ENOENT;
	/* 1.0 is a real in jansson, not an integer: refused, like "1". */
	if (!json_is_integer(v))
		return -EINVAL;
	*ret = (int64_t)json_integer_value(v);
	return 0;
}

int jsonx_get_bool(const json_t *o, const char *key, bool *ret)
{
	json_t *v = field(o, key);
	if (!v)
		return -ENOENT;
	if (!json_is_boolean(v))
		return -EINVAL;
	*ret = json_is_true(v);
	return 0;
}

int jsonx_get_b64(const json_t *o, const char *key, size_t max, struct secbuf **ret)
{
	json_t *v = field(o, key);
	if (!v)
		return -ENOENT;
	if (!json_is_string(v))
		return -EINVAL;
	size_t len = json_string_length(v);
	/* Refuse by encoded length before allocating: padded base64 of max bytes
	 * is 4 * ceil(max / 3) characters. */
	if (len / 4 > max / 3 + 1)
		return -EFBIG;
	struct secbuf *b = NULL;
	int r = b64_decode_secret(json_string_value(v), len, &b);
	if (r < 0)
		return r;
	if (b->len > max) {
		secbuf_free(b);
		return -EFBIG;
	}
	*ret = b;
	return 0;
}

struct secbuf *b64_encode_secret(const void *p, size_t len)
{
	if (!p && len > 0)
		return NULL;
	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	size_t enc = sodium_base64_ENCODED_LEN(len, B64_VARIANT); /* includes the NUL */
	struct secbuf *b = secbuf_new(enc - 1);
	if (!b)
		return NULL;
	sodium_bin2base64((char *)b->data, enc, p, len, B64_VARIANT);
	return b;
}

int b64_decode_exact(void *out, size_t bin, const char *s, size_t len)
{
	/* libsodium 1.0.18 (Debian 12) decodes every byte >= 0x80 as '/' (a
	 * signed char in its constant-time table), so "é" in a JSON string
	 * would become a value instead of a 400: refused here first, without
	 * a branch per byte. */
	unsigned char high = 0;
	for (size_t i = 0; i < len; i++)
		high |= (unsigned char)s[i];
	size_t got = 0;
	const char *end = NULL;
	if ((high & 0x80) ||
	    (len > 0 && (sodium_base642bin(out, bin, s, len, NULL, &got, &end, B64_VARIANT) != 0 ||
	                 got != bin || end != s + len)) ||
	    (len == 0 && bin != 0))
		return -EINVAL;
	return 0;
}

int b64_decode_secret(const char *s, size_t len, struct secbuf **ret)
{
	if (!ret || (!s && len > 0))
		return -EINVAL;
	/* Padded standard base64: whole quanta only, so the decoded size is
	 * known exactly and the secbuf is allocated once at its final size. */
	if (len % 4 != 0)
		return -EINVAL;
	size_t pad = 0;
	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	size_t bin = len / 4 * 3 - pad;
	struct secbuf *b = secbuf_new(bin);
	if (!b)
		return -ENOMEM;
	if (b64_decode_exact(b->data, bin, s, len) < 0) {
		secbuf_free(b);
		return -EINVAL;
	}
	*ret = b;
	return 0;
}

struct secbuf *jsonx_dump_secret(const json_t *o)
{
	if (!o)
		return NULL;
	/* Two passes through json_dumpb (size, then bytes) so the text is only
	 * ever written into guarded memory. */
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	size_t need = json_dumpb(o, NULL, 0, flags);
	if (need == 0)
		return NULL;
	struct secbuf *b = secbuf_new(need);
	if (!b)
		return NULL;
	if (json_dumpb(o, (char *)b->data, b->len, flags) != need) {
		secbuf_free(b);
		return NULL;
	}
	return b;
}
