/* The current versions of small secrets as stored (ciphertext and its
 * coordinates, never plaintext), kept between writes so that a read needs no
 * store transaction. Any committed write other than an audit append moves
 * the generation on, which makes every entry stale at once. */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"

/* Why it pays: every audit commit makes SQLite drop each reader's page
 * cache, so a read transaction went back to the file for its pages. */
#define CACHE_SLOTS 1024u /* a power of two; direct-mapped by name */
#define CACHE_STRIPES 16u
#define CACHE_MAX_BLOB 4096u /* bigger values are read from the store */

struct cache_slot {
	uint64_t gen; /* 0: empty */
	char name[VAULT_MAX_NAME_LEN + 1];
	struct be_version v; /* v.blob is this slot's own copy */
};

/* Writes are counted as they begin and as they end; an entry is fresh
 * while no write began since it was read. In between, a write may have
 * committed without having ended: a reader that saw its data must not then
 * be served an older entry, so nothing is served or kept meanwhile. */
struct store_cache {
	pthread_mutex_t lock[CACHE_STRIPES];
	struct cache_slot slot[CACHE_SLOTS];
	_Atomic uint64_t begun, ended;
	_Atomic uint64_t hits;
};

/* Ciphertext is not secret, but a destroyed version must not outlive its
 * destroy anywhere: every cached blob is wiped before it is freed. */
static void slot_clear(struct cache_slot *sl)
{
	if (sl->v.blob)
		sodium_memzero(sl->v.blob, sl->v.bloblen);
	be_version_clear(&sl->v);
	sl->gen = 0;
	sl->name[0] = '\0';
}

struct store_cache *store_cache_new(void)
{
	struct store_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	for (unsigned i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_init(&c->lock[i], NULL);
	atomic_init(&c->begun, 1);
	atomic_init(&c->ended, 1);
	return c;
}

void store_cache_free(struct store_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CACHE_SLOTS; i++)
		slot_clear(&c->slot[i]);
	for (unsigned i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_destroy(&c->lock[i]);
	free(c);
}

static unsigned slot_of(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (CACHE_SLOTS - 1);
}

/* The generation while no write is under way, else 0. ended is read
 * first: a write that begins or ends between the two loads makes them
 * differ. */
static uint64_t quiet_gen(const struct store_cache *c)
{
	uint64_t e = atomic_load(&c->ended);
	return atomic_load(&c->begun) == e ? e : 0;
}

uint64_t store_cache_gen(const struct store_cache *c)
{
	return c ? quiet_gen(c) : 0;
}

void store_cache_write_begin(struct store_cache *c)
{
	if (c)
		atomic_fetch_add(&c->begun, 1);
}

void store_cache_write_end(struct store_cache *c)
{
	if (c)
		atomic_fetch_add(&c->ended, 1);
}

void store_cache_count_hit(struct store_cache *c)
{
	if (c)
		atomic_fetch_add(&c->hits, 1);
}

uint64_t store_cache_hits(const struct store_cache *c)
{
	return c ? atomic_load(&c->hits) : 0;
}

bool store_cache_get(struct store_cache *c, const char *name, struct be_version *ret,
                     uint64_t *ret_gen)
{
	if (!c)
		return false;
	unsigned i = slot_of(name);
	pthread_mutex_t *m = &c->lock[i % CACHE_STRIPES];
	struct cache_slot *sl = &c->slot[i];
	bool hit = false;
	pthread_mutex_lock(m);
	/* The generation now, not when the entry was made: a write that is
	 * acknowledged has moved it on before its answer left. */
	if (sl->gen != 0 && sl->gen == quiet_gen(c) && strcmp(sl->name, name) == 0) {
		uint8_t *blob = malloc(sl->v.bloblen);
		if (blob) {
			memcpy(blob, sl->v.blob, sl->v.bloblen);
			*ret = sl->v;
			ret->blob = blob;
			if (ret_gen)
				*ret_gen = sl->gen;
			hit = true;
		}
	}
	pthread_mutex_unlock(m);
	return hit;
}

void store_cache_put(struct store_cache *c, const char *name, const struct be_version *v,
                     uint64_t gen)
{
	/* gen was taken before the transaction that read v began: if a write
	 * began since, v may be older than the store and is not kept. */
	size_t nlen = strnlen(name, VAULT_MAX_NAME_LEN + 1);
	if (!c || gen == 0 || v->destroyed || !v->blob || v->bloblen > CACHE_MAX_BLOB ||
	    nlen > VAULT_MAX_NAME_LEN)
		return;
	uint8_t *blob = malloc(v->bloblen);
	if (!blob)
		return;
	memcpy(blob, v->blob, v->bloblen);
	unsigned i = slot_of(name);
	pthread_mutex_t *m = &c->lock[i % CACHE_STRIPES];
	struct cache_slot *sl = &c->slot[i];
	pthread_mutex_lock(m);
	if (quiet_gen(c) != gen) {
		pthread_mutex_unlock(m);
		free(blob);
		return;
	}
	slot_clear(sl);
	sl->v = *v;
	sl->v.blob = blob;
	memcpy(sl->name, name, nlen + 1);
	sl->gen = gen;
	pthread_mutex_unlock(m);
}

void store_cache_evict(struct store_cache *c, const char *name)
{
	if (!c)
		return;
	unsigned i = slot_of(name);
	pthread_mutex_lock(&c->lock[i % CACHE_STRIPES]);
	if (strcmp(c->slot[i].name, name) == 0)
		slot_clear(&c->slot[i]);
	pthread_mutex_unlock(&c->lock[i % CACHE_STRIPES]);
}
