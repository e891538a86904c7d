/* Guarded memory for secrets: sodium_malloc'd regions (guard pages, canary,
 * mlock), wiped on free and recycled per size class so that the hot path
 * makes no syscall; optionally read-only while idle. */
#include "secbuf.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SECBUF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECBUF_ASAN 1
#endif
#endif
#ifdef SECBUF_ASAN
#include <sanitizer/asan_interface.h>
/* A cached buffer is poisoned, so a use after free is reported under ASan
 * even though the region stays mapped. */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Classes MIN << 0 .. MIN << 13 (512 KiB), then one of MAX_LEN + 1. */
#define POOL_CLASSES 15u
#define POOL_TOP (POOL_CLASSES - 1u)
#define NO_CLASS POOL_CLASSES
/* libsodium's canary, kept in the locked pages before each region. */
#define SODIUM_CANARY_BYTES 16u
/* Bytes just before data checked on free: a short underrun would have hit
 * libsodium's canary there before the pool existed. */
#define UNDERRUN_CHECK_BYTES 16u

_Static_assert((SECBUF_POOL_MIN_CLASS << (POOL_TOP - 1)) < SECBUF_POOL_MAX_LEN + 1u,
               "the top class must be the largest");

/* What secbuf_new hands out: the public part first, so a struct secbuf *
 * converts back. The descriptor holds no secret: plain heap. */
struct pooled {
	struct secbuf pub;   /* pub.data points into base */
	unsigned char *base; /* sodium_malloc(cap) */
	size_t cap;          /* the class size, or len + 1 outside the pool */
	unsigned cls;        /* size class, NO_CLASS for a bypass buffer */
	bool readonly;       /* set by secbuf_readonly: undone before the wipe */
	struct pooled *next; /* free list link while cached */
};

struct pool_class {
	pthread_mutex_t lock;
	struct pooled *free; /* LIFO: the most recently wiped region is warm */
	size_t n;
};

static struct pool_class g_class[POOL_CLASSES] = {
    [0 ... POOL_CLASSES - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER}};
static _Atomic size_t g_cached_bytes;
/* Locked bytes per cached region of each class; set once by pool_setup. */
static size_t g_footprint[POOL_CLASSES];
static pthread_once_t g_setup_once = PTHREAD_ONCE_INIT;

static size_t class_cap(unsigned k)
{
	return k == POOL_TOP ? (size_t)SECBUF_POOL_MAX_LEN + 1 : (size_t)SECBUF_POOL_MIN_CLASS << k;
}

/* The smallest class holding need bytes, or NO_CLASS. */
static unsigned class_of(size_t need)
{
	for (unsigned k = 0; k < POOL_CLASSES; k++)
		if (need <= class_cap(k))
			return k;
	return NO_CLASS;
}

/* A fork must not copy a class lock held by another thread. */
static void lock_all(void)
{
	for (unsigned k = 0; k < POOL_CLASSES; k++)
		pthread_mutex_lock(&g_class[k].lock);
}

static void unlock_all(void)
{
	for (unsigned k = POOL_CLASSES; k-- > 0;)
		pthread_mutex_unlock(&g_class[k].lock);
}

static void pool_setup(void)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pg = page > 0 ? (size_t)page : 4096u;
	for (unsigned k = 0; k < POOL_CLASSES; k++)
		g_footprint[k] = (class_cap(k) + SODIUM_CANARY_BYTES + pg - 1) / pg * pg;
	/* Failure only means buffers stay cached (wiped) at exit or that a
	 * child of fork could block on a lock: both are tolerable. */
	(void)atexit(secbuf_pool_drain);
	(void)pthread_atfork(lock_all, unlock_all, unlock_all);
}

static struct pooled *region_new(unsigned cls, size_t len)
{
	struct pooled *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cls = cls;
	p->cap = cls == NO_CLASS ? len + 1 : class_cap(cls);
	p->base = sodium_malloc(p->cap);
	if (!p->base) {
		free(p);
		return NULL;
	}
	/* sodium_malloc fills with 0xdb; callers expect zeros. Later the wipe
	 * on free keeps every cached region zero. */
	sodium_memzero(p->base, p->cap);
	return p;
}

/* sodium_free makes the region writable, checks the canary and wipes. */
static void region_free(struct pooled *p)
{
	sodium_free(p->base);
	free(p);
}

static struct pooled *pool_take(unsigned k)
{
	struct pool_class *c = &g_class[k];
	pthread_mutex_lock(&c->lock);
	struct pooled *p = c->free;
	if (p) {
		c->free = p->next;
		c->n--;
	}
	pthread_mutex_unlock(&c->lock);
	if (!p)
		return NULL;
	atomic_fetch_sub(&g_cached_bytes, g_footprint[k]);
	p->next = NULL;
	UNPOISON(p->base, p->cap);
	return p;
}

/* Caches a wiped region; false when a cap is reached. */
static bool pool_put(struct pooled *p)
{
	pthread_once(&g_setup_once, pool_setup);
	size_t fp = g_footprint[p->cls];
	/* Reserve the bytes first so that concurrent frees cannot overshoot. */
	if (atomic_fetch_add(&g_cached_bytes, fp) + fp > SECBUF_POOL_MAX_BYTES) {
		atomic_fetch_sub(&g_cached_bytes, fp);
		return false;
	}
	struct pool_class *c = &g_class[p->cls];
	POISON(p->base, p->cap);
	pthread_mutex_lock(&c->lock);
	bool room = c->n < SECBUF_POOL_MAX_PER_CLASS;
	if (room) {
		p->next = c->free;
		c->free = p;
		c->n++;
	}
	pthread_mutex_unlock(&c->lock);
	if (!room) {
		UNPOISON(p->base, p->cap);
		atomic_fetch_sub(&g_cached_bytes, fp);
	}
	return room;
}

struct secbuf *secbuf_new(size_t len)
{
	if (len == SIZE_MAX)
		return NULL;
	/* One extra byte so that text secrets are NUL-terminated C strings. */
	unsigned cls = class_of(len + 1);
	struct pooled *p = cls == NO_CLASS ? NULL : pool_take(cls);
	if (!p)
		p = region_new(cls, len);
	if (!p)
		return NULL;
	/* At the end of the region: sodium_malloc puts that end against the
	 * guard page, so reading or writing past data[len] faults whatever the
	 * class. The bytes before data are the wiped, unused rest of the class. */
	p->pub.data = p->base + p->cap - (len + 1);
	p->pub.len = len;
	return &p->pub;
}

struct secbuf *secbuf_dup(const void *p, size_t len)
{
	struct secbuf *b = secbuf_new(len);
	if (b && len > 0)
		memcpy(b->data, p, len);
	return b;
}

bool secbuf_equal(const struct secbuf *a, const struct secbuf *b)
{
	return a->len == b->len && sodium_memcmp(a->data, b->data, a->len) == 0;
}

static struct pooled *pooled_of(struct secbuf *b)
{
	return (struct pooled *)((char *)b - offsetof(struct pooled, pub));
}

/* The rest of the class before data was zero when the buffer was handed
 * out; a write there is an underrun, as fatal as a broken canary. */
static void check_underrun(const struct pooled *p)
{
	size_t before = (size_t)(p->pub.data - p->base);
	size_t n = before < UNDERRUN_CHECK_BYTES ? before : UNDERRUN_CHECK_BYTES;
	if (n > 0 && !sodium_is_zero(p->pub.data - n, n))
		sodium_misuse();
}

void secbuf_free(struct secbuf *b)
{
	if (!b)
		return;
	struct pooled *p = pooled_of(b);
	/* The wipe needs a writable region. If that fails, sodium_free is the
	 * only way left to unmap it. */
	if (p->readonly && sodium_mprotect_readwrite(p->base) != 0) {
		region_free(p);
		return;
	}
	p->readonly = false;
	if (p->cls != NO_CLASS) {
		check_underrun(p);
		/* The whole class, not just len: callers may have lowered len, and
		 * the next user may ask for more bytes than this one did. */
		sodium_memzero(p->base, p->cap);
		if (pool_put(p))
			return;
	}
	region_free(p);
}

int secbuf_keep(struct secbuf *b, size_t off, size_t len)
{
	if (!b || off > b->len || len > b->len - off)
		return -EINVAL;
	struct pooled *p = pooled_of(b);
	if (p->readonly)
		return -EINVAL;
	/* len <= b->len, so the new start is at or after the old one. */
	unsigned char *to = p->base + p->cap - (len + 1);
	memmove(to, b->data + off, len);
	to[len] = '\0';
	sodium_memzero(p->base, (size_t)(to - p->base));
	p->pub.data = to;
	p->pub.len = len;
	return 0;
}

int secbuf_readonly(struct secbuf *b)
{
	if (!b)
		return -EINVAL;
	struct pooled *p = pooled_of(b);
	if (sodium_mprotect_readonly(p->base) != 0)
		return -errno;
	p->readonly = true;
	return 0;
}

int secbuf_readwrite(struct secbuf *b)
{
	if (!b)
		return -EINVAL;
	struct pooled *p = pooled_of(b);
	if (sodium_mprotect_readwrite(p->base) != 0)
		return -errno;
	p->readonly = false;
	return 0;
}

void secbuf_pool_drain(void)
{
	for (unsigned k = 0; k < POOL_CLASSES; k++) {
		struct pool_class *c = &g_class[k];
		pthread_mutex_lock(&c->lock);
		struct pooled *list = c->free;
		size_t n = c->n;
		c->free = NULL;
		c->n = 0;
		pthread_mutex_unlock(&c->lock);
		if (n > 0)
			atomic_fetch_sub(&g_cached_bytes, n * g_footprint[k]);
		while (list) {
			struct pooled *p = list;
			list = p->next;
			UNPOISON(p->base, p->cap);
			region_free(p);
		}
	}
}

size_t secbuf_pool_cached(size_t len)
{
	unsigned k = len == SIZE_MAX ? NO_CLASS : class_of(len + 1);
	if (k == NO_CLASS)
		return 0;
	pthread_mutex_lock(&g_class[k].lock);
	size_t n = g_class[k].n;
	pthread_mutex_unlock(&g_class[k].lock);
	return n;
}

size_t secbuf_pool_bytes(void)
{
	return atomic_load(&g_cached_bytes);
}
