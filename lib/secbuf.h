/* Guarded memory for keys, tokens and plaintext values: sodium_malloc'd,
 * wiped when freed and recycled through a small pool, optionally read-only
 * while idle. */
#ifndef VAULT_SECBUF_H
#define VAULT_SECBUF_H
#include <stdbool.h>
#include <stddef.h>

struct secbuf {
	unsigned char *data; /* inside a sodium_malloc'd region; len bytes usable,
	                        data[len] == 0, data[len + 1] is a guard page */
	size_t len;
};

/* A zero-filled buffer of len bytes (len may be 0) plus one NUL byte after it,
 * so text secrets can be used as C strings. NULL on ENOMEM.
 * Caller frees with secbuf_free(). Requires vault_init() first.
 * A caller may lower len afterwards (the whole region is still wiped), but
 * must not change data. */
struct secbuf *secbuf_new(size_t len);
/* secbuf_new(len) filled with a copy of p. */
struct secbuf *secbuf_dup(const void *p, size_t len);
/* Same length and bytes, compared in constant time for that length. */
bool secbuf_equal(const struct secbuf *a, const struct secbuf *b);
/* Wipes and frees; NULL is fine. Makes the buffer writable first. Buffers
 * of up to SECBUF_POOL_MAX_LEN bytes go back to the pool, wiped over their
 * whole size class, instead of being unmapped. Aborts (like sodium_free)
 * when the bytes just before data were overwritten. */
void secbuf_free(struct secbuf *b);
/* Keeps only the len bytes at data + off: moves them against the guard page
 * (data changes), NUL-terminates them and wipes everything before them, so
 * one guarded region can receive a larger message and then hold just the
 * part that matters. 0, or -EINVAL when the range is outside the buffer or
 * the buffer is read-only. */
int secbuf_keep(struct secbuf *b, size_t off, size_t len);
/* Key memory is kept read-only when idle (sodium_mprotect_*). 0 or -errno.
 * Only through these two: secbuf_free must know to undo the protection. */
int secbuf_readonly(struct secbuf *b);
int secbuf_readwrite(struct secbuf *b);

/* For __attribute__((cleanup(secbuf_freep))). */
static inline void secbuf_freep(struct secbuf **b) { secbuf_free(*b); *b = NULL; }
#define _cleanup_secbuf_ __attribute__((cleanup(secbuf_freep)))

/* ---- the recycling pool ----
 * sodium_malloc and sodium_free cost about ten syscalls each (mmap,
 * mprotect, mlock, munlock, munmap). Freed buffers are therefore wiped and
 * kept per size class: powers of two from SECBUF_POOL_MIN_CLASS bytes, the
 * largest class holding SECBUF_POOL_MAX_LEN + 1 (a 1 MiB value and its NUL).
 * Larger buffers bypass the pool. See docs/security.md "Memory". */
#define SECBUF_POOL_MIN_CLASS 64u
#define SECBUF_POOL_MAX_LEN (1u << 20)
/* At most this many cached buffers per class ... */
#define SECBUF_POOL_MAX_PER_CLASS 64u
/* ... and this many bytes of cached regions in all (whole locked pages,
 * libsodium's canary included): the pool's share of RLIMIT_MEMLOCK. */
#define SECBUF_POOL_MAX_BYTES (4u << 20)

/* Wipes and unmaps every cached buffer. Runs at exit by itself (registered
 * when the pool first caches a buffer); safe to call at any time from any
 * thread; buffers in use are not affected. */
void secbuf_pool_drain(void);
/* Buffers cached right now in the class that serves len (0 if len bypasses
 * the pool), and the bytes all cached buffers hold. For tests and metrics. */
size_t secbuf_pool_cached(size_t len);
size_t secbuf_pool_bytes(void);

#endif
