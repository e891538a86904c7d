/* Strict JSON in and out: duplicate keys rejected, size capped before
 * parsing, typed field readers, base64 values decoded into guarded memory. */
#ifndef VAULT_JSONX_H
#define VAULT_JSONX_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "secbuf.h"

/* Parses with JSON_REJECT_DUPLICATES; len > max is -EMSGSIZE, bad JSON or a
 * non-object root -EINVAL (err, if non-NULL, gets jansson's message). */
int jsonx_parse_object(const void *buf, size_t len, size_t max, json_t **ret,
                       char *err, size_t errcap);

/* Typed readers: -ENOENT when absent (outputs untouched), -EINVAL on a wrong type. */
int jsonx_get_string(const json_t *o, const char *key, const char **ret);
int jsonx_get_int(const json_t *o, const char *key, int64_t *ret);
int jsonx_get_bool(const json_t *o, const char *key, bool *ret);
/* A base64 (standard alphabet, padded) string field decoded into a secbuf,
 * capped at max decoded bytes (-EFBIG). */
int jsonx_get_b64(const json_t *o, const char *key, size_t max, struct secbuf **ret);

/* Base64 (standard, padded) of a secret into a secbuf (NUL-terminated). */
struct secbuf *b64_encode_secret(const void *p, size_t len);
/* Decodes exactly bin bytes from the len characters of padded standard
 * base64 at s into out (all of s, nothing else); -EINVAL otherwise. */
int b64_decode_exact(void *out, size_t bin, const char *s, size_t len);
/* Decodes into a new secbuf; -EINVAL on bad input. */
int b64_decode_secret(const char *s, size_t len, struct secbuf **ret);

/* Serialises o compactly into guarded memory (for secret-bearing bodies). */
struct secbuf *jsonx_dump_secret(const json_t *o);

#endif
