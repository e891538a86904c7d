/* A table of every value's first LEFTOVERS_MIN_BYTES bytes: a scalar is read
 * once, each of its positions looked up there, and only the values starting
 * with those bytes are compared in full. 3,000 secrets in a 3,000-service
 * file took 6 s with one memmem per secret and scalar. */
#include "compose_leftovers.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint32_t key;  /* a value's first four bytes */
	uint32_t idx1; /* its index + 1; 0: an empty slot */
};

struct leftovers {
	const struct secbuf *const *values;
	size_t n;
	struct secbuf *table; /* holds the slots: value bytes, so guarded */
	struct slot *slots;   /* in table, aligned (secbuf data sits against its guard page) */
	size_t mask;          /* slots - 1 */
	size_t *shorts;       /* indexes of values shorter than the minimum */
	size_t nshorts;
};

static uint32_t load32(const void *p)
{
	uint32_t k;
	memcpy(&k, p, sizeof(k));
	return k;
}

static size_t slot_of(const struct leftovers *l, uint32_t key)
{
	return (size_t)((key * 2654435761u) ^ (key >> 15)) & l->mask;
}


struct leftovers *leftovers_new(const struct secbuf *const *values, size_t n)
{
	struct leftovers *l = calloc(1, sizeof(*l));
	if (!l || n > UINT32_MAX - 1) {
		free(l);
		return NULL;
	}
	l->values = values;
	l->n = n;
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	l->mask = cap - 1;
	size_t align = _Alignof(struct slot);
	l->table = secbuf_new(cap * sizeof(struct slot) + align - 1);
	l->shorts = calloc(n ? n : 1, sizeof(*l->shorts));
	if (!l->table || !l->shorts) {
		leftovers_free(l);
		return NULL;
	}
	uintptr_t at = ((uintptr_t)l->table->data + align - 1) & ~(uintptr_t)(align - 1);
	struct slot *t = l->slots = (struct slot *)at;
	memset(t, 0, cap * sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		const struct secbuf *v = values[i];
		if (!v)
			continue;
		if (v->len < LEFTOVERS_MIN_BYTES) {
			l->shorts[l->nshorts++] = i;
			continue;
		}
		uint32_t key = load32(v->data);
		size_t h = slot_of(l, key);
		while (t[h].idx1)
			h = (h + 1) & l->mask;
		t[h] = (struct slot){.key = key, .idx1 = (uint32_t)(i + 1)};
	}
	return l;
}

/* The lowest index of a long value that starts at s + at (at most len - at
 * bytes), or -1. */
static long starting_at(const struct leftovers *l, const char *s, size_t len, size_t at)
{
	const struct slot *t = l->slots;
	uint32_t key = load32(s + at);
	long best = -1;
	for (size_t h = slot_of(l, key); t[h].idx1; h = (h + 1) & l->mask) {
		if (t[h].key != key)
			continue;
		size_t i = t[h].idx1 - 1;
		const struct secbuf *v = l->values[i];
		if ((best < 0 || (long)i < best) && v->len <= len - at &&
		    memcmp(s + at, v->data, v->len) == 0)
			best = (long)i;
	}
	return best;
}

long leftovers_find(const struct leftovers *l, const char *s, size_t len)
{
	long best = -1;
	for (size_t k = 0; k < l->nshorts; k++) {
		const struct secbuf *v = l->values[l->shorts[k]];
		if (v->len == len && sodium_memcmp(s, v->data, len) == 0) {
			best = (long)l->shorts[k];
			break; /* shorts are in index order */
		}
	}
	for (size_t at = 0; len >= LEFTOVERS_MIN_BYTES && at <= len - LEFTOVERS_MIN_BYTES; at++) {
		long i = starting_at(l, s, len, at);
		if (i >= 0 && (best < 0 || i < best))
			best = i;
	}
	return best;
}

void leftovers_free(struct leftovers *l)
{
	if (!l)
		return;
	secbuf_free(l->table);
	free(l->shorts);
	free(l);
}
