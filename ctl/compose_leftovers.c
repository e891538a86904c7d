/* A table of the values' first LEFTOVERS_MIN_BYTES bytes: a scalar is read
 * once, each of its positions looked up there, and only the values starting
 * with those bytes are compared in full. 3,000 secrets in a 3,000-service
 * file took 6 s with one memmem per secret and scalar. Values the table
 * would serve badly (long ones, or many sharing their first bytes, which a
 * hostile file can arrange) get the plain linear memmem instead, so no
 * input costs more than the search per secret did. */
#include "compose_leftovers.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strtab.h"

/* A table candidate is compared in full at every position whose first
 * bytes match: bounded by these two. */
#define INDEX_MAX_LEN 64 /* longer values: one memmem each */
#define CROWD_MAX 8      /* more values sharing their first bytes: one memmem each */

struct slot {
	unsigned char key[LEFTOVERS_MIN_BYTES]; /* a value's first bytes */
	uint32_t idx1;                          /* its index + 1; 0: an empty slot */
};

/* Value bytes and the hash key: all guarded. */
struct guarded {
	unsigned char seed[crypto_shorthash_KEYBYTES];
	struct slot slots[]; /* mask + 1 */
};

struct leftovers {
	const struct secbuf *const *values;
	struct secbuf *mem;
	struct guarded *g; /* in mem, aligned (secbuf data sits against its guard page) */
	size_t mask;
	size_t *scan; /* ascending: values searched with memmem */
	size_t nscan;
	struct strtab shorts; /* value -> lowest index, for values under the minimum */
};

static size_t slot_of(const struct leftovers *l, const unsigned char *key)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;
	crypto_shorthash(h, key, LEFTOVERS_MIN_BYTES, l->g->seed);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & l->mask;
}

static int alloc_table(struct leftovers *l, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n) {
		if (cap > SIZE_MAX / 4 / sizeof(struct slot))
			return -1;
		cap *= 2;
	}
	l->mask = cap - 1;
	size_t align = _Alignof(struct guarded);
	l->mem = secbuf_new(sizeof(struct guarded) + cap * sizeof(struct slot) + align - 1);
	if (!l->mem)
		return -1;
	uintptr_t at = ((uintptr_t)l->mem->data + align - 1) & ~(uintptr_t)(align - 1);
	l->g = (struct guarded *)at;
	memset(l->g->slots, 0, cap * sizeof(struct slot));
	crypto_shorthash_keygen(l->g->seed);
	l->shorts.seed = l->g->seed;
	return 0;
}

static void insert(struct leftovers *l, size_t i)
{
	const unsigned char *key = l->values[i]->data;
	size_t h = slot_of(l, key);
	while (l->g->slots[h].idx1)
		h = (h + 1) & l->mask;
	memcpy(l->g->slots[h].key, key, LEFTOVERS_MIN_BYTES);
	l->g->slots[h].idx1 = (uint32_t)(i + 1);
}

static bool indexable(const struct secbuf *v)
{
	return v && v->len >= LEFTOVERS_MIN_BYTES && v->len <= INDEX_MAX_LEN;
}

/* Sorts the values: shorts by value, the rest into the table or onto the
 * scan list (in index order: the first memmem hit is the lowest). */
static int place_values(struct leftovers *l, size_t n)
{
	struct strtab crowd = {.seed = l->g->seed}; /* first bytes -> values sharing them */
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct secbuf *v = l->values[i];
		if (!indexable(v))
			continue;
		const size_t *c = strtab_get(&crowd, (const char *)v->data, LEFTOVERS_MIN_BYTES);
		rc = strtab_put(&crowd, (const char *)v->data, LEFTOVERS_MIN_BYTES, c ? *c + 1 : 1);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct secbuf *v = l->values[i];
		if (!v)
			continue;
		if (v->len < LEFTOVERS_MIN_BYTES) {
			if (!strtab_get(&l->shorts, (const char *)v->data, v->len))
				rc = strtab_put(&l->shorts, (const char *)v->data, v->len, i);
		} else if (indexable(v) && *strtab_get(&crowd, (const char *)v->data,
		                                       LEFTOVERS_MIN_BYTES) <= CROWD_MAX) {
			insert(l, i);
		} else {
			l->scan[l->nscan++] = i;
		}
	}
	strtab_free(&crowd);
	return rc;
}

struct leftovers *leftovers_new(const struct secbuf *const *values, size_t n)
{
	struct leftovers *l = calloc(1, sizeof(*l));
	if (!l || n > UINT32_MAX - 1) {
		free(l);
		return NULL;
	}
	l->values = values;
	l->scan = calloc(n ? n : 1, sizeof(*l->scan));
	if (!l->scan || alloc_table(l, n) < 0 || place_values(l, n) < 0) {
		leftovers_free(l);
		return NULL;
	}
	return l;
}

/* The lowest index below best of a table value that starts at s + at, or
 * best. */
static long starting_at(const struct leftovers *l, const char *s, size_t len, size_t at, long best)
{
	const struct slot *t = l->g->slots;
	const unsigned char *key = (const unsigned char *)s + at;
	for (size_t h = slot_of(l, key); t[h].idx1; h = (h + 1) & l->mask) {
		long i = (long)t[h].idx1 - 1;
		if ((best >= 0 && i >= best) || memcmp(t[h].key, key, LEFTOVERS_MIN_BYTES) != 0)
			continue;
		const struct secbuf *v = l->values[i];
		if (v->len <= len - at && sodium_memcmp(s + at, v->data, v->len) == 0)
			best = i;
	}
	return best;
}

long leftovers_find(const struct leftovers *l, const char *s, size_t len)
{
	const size_t *whole = strtab_get(&l->shorts, s, len);
	long best = whole ? (long)*whole : -1;
	for (size_t at = 0;
	     len >= LEFTOVERS_MIN_BYTES && at <= len - LEFTOVERS_MIN_BYTES && best != 0; at++)
		best = starting_at(l, s, len, at, best);
	for (size_t k = 0; k < l->nscan && (best < 0 || (long)l->scan[k] < best); k++) {
		const struct secbuf *v = l->values[l->scan[k]];
		if (memmem(s, len, v->data, v->len)) {
			best = (long)l->scan[k];
			break;
		}
	}
	return best;
}

void leftovers_free(struct leftovers *l)
{
	if (!l)
		return;
	strtab_free(&l->shorts);
	secbuf_free(l->mem);
	free(l->scan);
	free(l);
}
