/* The string set of strtab.h: SipHash-keyed open addressing, grown by
 * doubling so that it stays at most half full. */
#include "strtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t strtab_hash(const struct strtab *t, const char *s, size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;
	crypto_shorthash(h, (const unsigned char *)s, len, t->seed);
	memcpy(&v, h, sizeof(v));
	return v;
}

/* The slot holding s, or the empty slot where it would go. cap > 0. */
static struct strtab_slot *strtab_slot(const struct strtab *t, const char *s, size_t len,
                                       uint64_t hash)
{
	size_t mask = t->cap - 1;
	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		struct strtab_slot *e = &t->slots[i];
		/* sodium_memcmp: the strings may be secret values (compose_migrate.c). */
		if (!e->s || (e->hash == hash && e->len == len && sodium_memcmp(e->s, s, len) == 0))
			return e;
	}
}

int strtab_reserve(struct strtab *t, size_t need)
{
	if (need <= t->cap / 2)
		return 0;
	size_t cap = t->cap ? t->cap : 8;
	while (need > cap / 2) {
		if (cap > SIZE_MAX / 2 / sizeof(*t->slots))
			return -ENOMEM;
		cap *= 2;
	}
	struct strtab old = *t;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old.slots;
		return -ENOMEM;
	}
	t->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].s)
			*strtab_slot(t, old.slots[i].s, old.slots[i].len, old.slots[i].hash) =
			    old.slots[i];
	free(old.slots);
	return 0;
}

const size_t *strtab_get(const struct strtab *t, const char *s, size_t len)
{
	if (t->cap == 0)
		return NULL;
	const struct strtab_slot *e = strtab_slot(t, s, len, strtab_hash(t, s, len));
	return e->s ? &e->val : NULL;
}

void strtab_set(struct strtab *t, const char *s, size_t len, size_t val)
{
	uint64_t hash = strtab_hash(t, s, len);
	struct strtab_slot *e = strtab_slot(t, s, len, hash);
	if (!e->s)
		t->n++;
	*e = (struct strtab_slot){.s = s, .len = len, .hash = hash, .val = val};
}

int strtab_put(struct strtab *t, const char *s, size_t len, size_t val)
{
	if (strtab_reserve(t, t->n + 1) < 0)
		return -ENOMEM;
	strtab_set(t, s, len, val);
	return 0;
}

void strtab_free(struct strtab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->n = t->cap = 0;
}
