/* Password generator for rotate {"generate":...}: unbiased choices from a
 * named charset with randombytes_uniform. */
#ifndef VAULT_PASSGEN_H
#define VAULT_PASSGEN_H
#include <stddef.h>
#include "secbuf.h"

#define PASSGEN_MIN_LEN 1
#define PASSGEN_MAX_LEN 4096

/* charset: "alnum" (default when NULL), "hex", "base64url", "ascii"
 * (printable ASCII 0x21..0x7e). -EINVAL on unknown charset or length out of
 * range. *ret is a new secbuf of exactly len bytes; caller frees. */
int passgen_generate(size_t len, const char *charset, struct secbuf **ret);

#endif
