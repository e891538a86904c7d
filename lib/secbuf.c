/* Guarded memory for secrets: one sodium_malloc'd region per buffer (guard
 * pages, canary, mlock), wiped on free, optionally read-only while idle. */
#include "secbuf.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct secbuf *secbuf_new(size_t len)
{
	if (len == SIZE_MAX)
		return NULL;
	/* The descriptor holds no secret (a pointer and a length): plain heap. */
	struct secbuf *b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	/* One extra byte so that text secrets are NUL-terminated C strings. */
	b->data = sodium_malloc(len + 1);
	if (!b->data) {
		free(b);
		return NULL;
	}
	/* sodium_malloc fills with 0xdb; callers expect zeros. */
	sodium_memzero(b->data, len + 1);
	b->len = len;
	return b;
}

struct secbuf *secbuf_dup(const void *p, size_t len)
{
	struct secbuf *b = secbuf_new(len);
	if (b && len > 0)
		memcpy(b->data, p, len);
	return b;
}

void secbuf_free(struct secbuf *b)
{
	if (!b)
		return;
	/* sodium_free wipes the region; it must be writable for that. */
	sodium_mprotect_readwrite(b->data);
	sodium_free(b->data);
	free(b);
}

int secbuf_readonly(struct secbuf *b)
{
	if (!b)
		return -EINVAL;
	return sodium_mprotect_readonly(b->data) == 0 ? 0 : -errno;
}

int secbuf_readwrite(struct secbuf *b)
{
	if (!b)
		return -EINVAL;
	return sodium_mprotect_readwrite(b->data) == 0 ? 0 : -errno;
}
