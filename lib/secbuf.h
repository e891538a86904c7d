/* Guarded memory for keys, tokens and plaintext values: sodium_malloc'd,
 * wiped and freed by one helper, optionally read-only while idle. */
#ifndef VAULT_SECBUF_H
#define VAULT_SECBUF_H
#include <stddef.h>

struct secbuf {
	unsigned char *data; /* sodium_malloc'd; len bytes usable, data[len] == 0 */
	size_t len;
};

/* A zero-filled buffer of len bytes (len may be 0) plus one NUL byte after it,
 * so text secrets can be used as C strings. NULL on ENOMEM.
 * Caller frees with secbuf_free(). Requires vault_init() first. */
struct secbuf *secbuf_new(size_t len);
/* secbuf_new(len) filled with a copy of p. */
struct secbuf *secbuf_dup(const void *p, size_t len);
/* Wipes and frees; NULL is fine. Makes the buffer writable first. */
void secbuf_free(struct secbuf *b);
/* Key memory is kept read-only when idle (sodium_mprotect_*). 0 or -errno. */
int secbuf_readonly(struct secbuf *b);
int secbuf_readwrite(struct secbuf *b);

/* For __attribute__((cleanup(secbuf_freep))). */
static inline void secbuf_freep(struct secbuf **b) { secbuf_free(*b); *b = NULL; }
#define _cleanup_secbuf_ __attribute__((cleanup(secbuf_freep)))

#endif
