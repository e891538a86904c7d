/* A set of strings with an index each (mapping keys, anchor names, secret
 * names and values), for lookups that stay linear whatever the input. */
#ifndef CTL_STRTAB_H
#define CTL_STRTAB_H
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

/* Open addressing, at most half full. Hashed with SipHash under a key the
 * owner draws (crypto_shorthash_keygen) for each run, so that no file can
 * make its strings collide and turn the lookups quadratic. The strings are
 * not owned: they must outlive the set. Only pointers and keyed hashes are
 * kept, never a copy of the bytes, and equal hashes are confirmed with
 * sodium_memcmp: the strings may be secret values, and the owner keeps the
 * key in guarded memory then. */
struct strtab_slot {
	const char *s; /* NULL: empty */
	size_t len;
	uint64_t hash;
	size_t val;
};

struct strtab {
	struct strtab_slot *slots;
	size_t n, cap;             /* cap is 0 or a power of two, n <= cap / 2 */
	const unsigned char *seed; /* crypto_shorthash_KEYBYTES, the owner's */
};

/* The index of s, or NULL. */
const size_t *strtab_get(const struct strtab *t, const char *s, size_t len);
/* Room for need strings in all, so that strtab_set cannot fail. */
int strtab_reserve(struct strtab *t, size_t need);
/* Adds s (or gives it the new val). Needs room: strtab_reserve first. */
void strtab_set(struct strtab *t, const char *s, size_t len, size_t val);
/* strtab_reserve for one more, then strtab_set. 0 or -ENOMEM. */
int strtab_put(struct strtab *t, const char *s, size_t len, size_t val);
void strtab_free(struct strtab *t);

#endif
