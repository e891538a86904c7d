/* The read cache (lib/store_cache.c): a repeated read is served from it, an
 * audit append leaves it alone, and every other kind of write is seen by the
 * very next read; concurrent readers never see a version go backwards. */
#include <pthread.h>
#include <time.h>

#include "check_support.h"
#include "store_private.h"
#include "store_test.h"

static uint64_t hits(void)
{
	return store_cache_hits(F.s->cache);
}

/* Reads name's current value and reports whether the cache served it. */
static bool read_hit(const char *name, const char *want, uint64_t want_version)
{
	uint64_t before = hits();
	assert_value(F.s, name, STAGE_CURRENT, 0, want, want_version);
	return hits() > before;
}

START_TEST(test_a_repeated_read_is_served_from_the_cache_until_a_write)
{
	put_str(F.s, "a", "one");
	ck_assert_msg(!read_hit("a", "one", 1), "the first read goes to the store");
	ck_assert_msg(read_hit("a", "one", 1), "the second read is a cache hit");
	/* Audit appends (synced or not) change no secret: entries stay fresh. */
	struct audit_entry e = {.uid = 0, .gid = 0, .pid = 1, .status = 200};
	snprintf(e.action, sizeof(e.action), "secret.read");
	snprintf(e.name, sizeof(e.name), "a");
	snprintf(e.result, sizeof(e.result), "ok");
	ck_assert_int_eq(store_audit_append_unsynced(F.s, &e, 1), 0);
	ck_assert_int_eq(store_audit_append(F.s, &e, 1), 0);
	ck_assert_msg(read_hit("a", "one", 1), "an audit append keeps the cache");
	/* A write to another secret still empties it: cheap and always safe. */
	put_str(F.s, "b", "x");
	ck_assert_msg(!read_hit("a", "one", 1), "any write makes the cache stale");
	put_str(F.s, "a", "two");
	ck_assert_msg(!read_hit("a", "two", 2), "the new version comes from the store");
	ck_assert_msg(read_hit("a", "two", 2), "and is cached in turn");
	/* Other stages are always read from the store. */
	uint64_t h = hits();
	assert_value(F.s, "a", STAGE_PREVIOUS, 0, "one", 1);
	assert_value(F.s, "a", STAGE_VERSION, 1, "one", 1);
	ck_assert_uint_eq(hits(), h);
}
END_TEST

/* Warms the cache for name (so a stale entry would be there to serve). */
static void warm(const char *name, const char *want)
{
	assert_value(F.s, name, STAGE_CURRENT, 0, want, 0);
	ck_assert(read_hit(name, want, 0));
}

START_TEST(test_every_kind_of_write_is_seen_by_the_next_read)
{
	put_str(F.s, "s", "v1");
	put_str(F.s, "s", "v2");
	warm("s", "v2");
	uint64_t v = 0;
	ck_assert_int_eq(store_rollback(F.s, "s", 1, "t", &v), 0);
	assert_value(F.s, "s", STAGE_CURRENT, 0, "v1", v);

	warm("s", "v1");
	ck_assert_int_eq(store_delete(F.s, "s", "t"), 0);
	assert_get_fails(F.s, "s", STAGE_CURRENT, 0, STORE_E_NOTFOUND);
	ck_assert_int_eq(store_undelete(F.s, "s", "t"), 0);
	assert_value(F.s, "s", STAGE_CURRENT, 0, "v1", v);

	warm("s", "v1");
	ck_assert_int_eq(store_destroy(F.s, "s", 0, "t"), 0);
	assert_get_fails(F.s, "s", STAGE_CURRENT, 0, STORE_E_DESTROYED);

	put_str(F.s, "s", "v4");
	warm("s", "v4");
	struct store_put_item it = {.name = "s", .value = (const uint8_t *)"v5", .len = 2};
	ck_assert_int_eq(store_put_batch(F.s, &it, 1, "t"), 0);
	assert_value(F.s, "s", STAGE_CURRENT, 0, "v5", 0);

	/* A new DEK and a reseal rewrite the blob under another key. */
	warm("s", "v5");
	uint32_t id = 0;
	ck_assert_int_eq(store_dek_rotate(F.s, &id), 0);
	size_t left = 1;
	ck_assert_int_eq(store_reseal_step(F.s, 100, &left), 0);
	ck_assert_uint_eq(left, 0);
	uint64_t before = hits();
	assert_value(F.s, "s", STAGE_CURRENT, 0, "v5", 0);
	ck_assert_uint_eq(hits(), before);

	/* Sealed: nothing is read, from the cache or otherwise. */
	warm("s", "v5");
	store_seal(F.s);
	assert_get_fails(F.s, "s", STAGE_CURRENT, 0, STORE_E_SEALED);
	ck_assert_int_eq(store_unseal(F.s, F.kek), 0);
	ck_assert(!read_hit("s", "v5", 0));
}
END_TEST

/* The rule itself, step by step: while a write is under way (begun, not
 * ended) nothing is served or kept, and after it every older entry is stale.
 * A write may commit long before it ends: a reader that saw its data in the
 * store must not then get an older entry from the cache. */
START_TEST(test_nothing_is_served_or_kept_while_a_write_is_under_way)
{
	struct store_cache *c = store_cache_new();
	ck_assert_ptr_nonnull(c);
	uint8_t blob[40] = {1, 2, 3};
	struct be_version v = {.version = 7, .key_id = 1, .blob = blob, .bloblen = sizeof(blob)};
	struct be_version got;
	uint64_t g = store_cache_gen(c);
	ck_assert_uint_ne(g, 0);
	store_cache_put(c, "k", &v, g);
	ck_assert(store_cache_get(c, "k", &got, NULL));
	ck_assert_uint_eq(got.version, 7);
	ck_assert_mem_eq(got.blob, blob, sizeof(blob));
	be_version_clear(&got);
	ck_assert(!store_cache_get(c, "other", &got, NULL));

	store_cache_write_begin(c);
	ck_assert_uint_eq(store_cache_gen(c), 0);
	ck_assert_msg(!store_cache_get(c, "k", &got, NULL),
	              "an entry is not served during a write");
	v.version = 8;
	store_cache_put(c, "k", &v, g); /* read before the write began */
	store_cache_write_end(c);
	ck_assert_msg(!store_cache_get(c, "k", &got, NULL),
	              "entries before a write are stale after it");
	store_cache_put(c, "k", &v, g);
	ck_assert_msg(!store_cache_get(c, "k", &got, NULL), "nor kept when read before it");

	uint64_t g2 = store_cache_gen(c);
	ck_assert_uint_ne(g2, g);
	store_cache_put(c, "k", &v, g2);
	ck_assert(store_cache_get(c, "k", &got, NULL));
	ck_assert_uint_eq(got.version, 8);
	be_version_clear(&got);
	/* Evicting (what a destroy does) removes an entry that is still fresh. */
	store_cache_evict(c, "k");
	ck_assert_msg(!store_cache_get(c, "k", &got, NULL), "an evicted entry is gone");
	/* Destroyed versions and big blobs are never kept. */
	v.destroyed = true;
	store_cache_put(c, "d", &v, g2);
	ck_assert(!store_cache_get(c, "d", &got, NULL));
	store_cache_free(c);
}
END_TEST

static void get_pair(const char *const names[2], char out[2][32])
{
	struct secret_value v[2] = {{0}};
	bool missing[2] = {false, false};
	ck_assert_int_eq(store_get_many(F.s, names, 2, v, NULL, missing), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_lt(v[i].value->len, 32);
		memcpy(out[i], v[i].value->data, v[i].value->len);
		out[i][v[i].value->len] = '\0';
		secret_value_clear(&v[i]);
	}
}

START_TEST(test_a_bundle_is_served_from_the_cache_only_whole_and_fresh)
{
	static const char *const names[2] = {"x", "y"};
	char got[2][32];
	put_str(F.s, "x", "x1");
	put_str(F.s, "y", "y1");
	uint64_t h = hits();
	get_pair(names, got); /* from the store, and cached */
	ck_assert_uint_eq(hits(), h);
	get_pair(names, got);
	ck_assert_uint_eq(hits(), h + 1); /* one answer, both names cached */
	ck_assert_str_eq(got[0], "x1");
	ck_assert_str_eq(got[1], "y1");
	put_str(F.s, "x", "x2");
	get_pair(names, got);
	ck_assert_str_eq(got[0], "x2");
	ck_assert_str_eq(got[1], "y1");
	/* With previous versions the store answers, whatever is cached. */
	h = hits();
	struct secret_value cur[2] = {{0}}, prev[2] = {{0}};
	ck_assert_int_eq(store_get_many(F.s, names, 2, cur, prev, NULL), 0);
	ck_assert_uint_eq(hits(), h);
	ck_assert_uint_eq(prev[0].version, 1);
	for (int i = 0; i < 2; i++) {
		secret_value_clear(&cur[i]);
		secret_value_clear(&prev[i]);
	}
}
END_TEST

/* ---- concurrency ---- */

#define READERS 4

/* A reader thread repeats one check until told to stop; bad counts the
 * checks that failed (a torn or stale answer). */
struct reader {
	pthread_t t;
	_Atomic bool *stop;
	void (*once)(struct reader *r);
	uint64_t last; /* the last version seen, for once_single */
	uint64_t reads, bad;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	while (!atomic_load(r->stop)) {
		r->once(r);
		r->reads++;
		/* valgrind runs one thread at a time: leave the writer room. */
		if (under_valgrind())
			nanosleep(&(struct timespec){0, 2000000}, NULL);
	}
	return NULL;
}

static void start_readers(struct reader *rd, _Atomic bool *stop, void (*once)(struct reader *))
{
	for (int i = 0; i < READERS; i++) {
		rd[i] = (struct reader){.stop = stop, .once = once};
		ck_assert_int_eq(pthread_create(&rd[i].t, NULL, reader_main, &rd[i]), 0);
	}
}

static void stop_readers(struct reader *rd, _Atomic bool *stop)
{
	atomic_store(stop, true);
	uint64_t reads = 0;
	for (int i = 0; i < READERS; i++) {
		pthread_join(rd[i].t, NULL);
		ck_assert_uint_eq(rd[i].bad, 0);
		reads += rd[i].reads;
	}
	ck_assert_uint_gt(reads, 0);
}

/* "hot" names its version in its value; versions never go backwards. */
static void once_single(struct reader *r)
{
	struct secret_value v = {0};
	if (store_get(F.s, "hot", STAGE_CURRENT, 0, &v) != 0) {
		r->bad++;
		return;
	}
	char want[32];
	snprintf(want, sizeof(want), "value-%llu", (unsigned long long)v.version);
	if (v.value->len != strlen(want) || memcmp(v.value->data, want, v.value->len) != 0 ||
	    v.version < r->last)
		r->bad++;
	r->last = v.version;
	secret_value_clear(&v);
}

START_TEST(test_concurrent_readers_never_go_back_and_see_every_acknowledged_write)
{
	int writes = under_valgrind() ? 10 : 300;
	put_str(F.s, "hot", "value-1");
	_Atomic bool stop = false;
	struct reader rd[READERS];
	start_readers(rd, &stop, once_single);
	for (int i = 2; i <= writes; i++) {
		char val[32];
		snprintf(val, sizeof(val), "value-%d", i);
		ck_assert_uint_eq(put_str(F.s, "hot", val), (uint64_t)i);
		/* Read your write: never the previous version from the cache. */
		assert_value(F.s, "hot", STAGE_CURRENT, 0, val, (uint64_t)i);
		/* Under valgrind (one thread at a time, and a loaded host) the
		 * readers may otherwise never read twice between two writes. */
		if (under_valgrind())
			nanosleep(&(struct timespec){0, 20000000}, NULL);
	}
	stop_readers(rd, &stop);
	ck_assert_msg(hits() > 0, "readers between writes were never served from the cache");
}
END_TEST

/* The pair {x, y} is written together in one transaction: a bundle is one
 * state of the store, cached or not, so the two always match. */
static void once_pair(struct reader *r)
{
	static const char *const names[2] = {"x", "y"};
	char got[2][32];
	get_pair(names, got);
	if (strcmp(got[0] + 1, got[1] + 1) != 0) /* "x7" and "y7" */
		r->bad++;
}

START_TEST(test_concurrent_bundles_always_see_one_state)
{
	int writes = under_valgrind() ? 10 : 300;
	put_str(F.s, "x", "x1");
	put_str(F.s, "y", "y1");
	_Atomic bool stop = false;
	struct reader rd[READERS];
	start_readers(rd, &stop, once_pair);
	for (int i = 2; i <= writes; i++) {
		char a[32], b[32];
		snprintf(a, sizeof(a), "x%d", i);
		snprintf(b, sizeof(b), "y%d", i);
		struct store_put_item it[2] = {
		    {.name = "x", .value = (const uint8_t *)a, .len = strlen(a)},
		    {.name = "y", .value = (const uint8_t *)b, .len = strlen(b)}};
		ck_assert_int_eq(store_put_batch(F.s, it, 2, "t"), 0);
	}
	stop_readers(rd, &stop);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("store_cache");
	TCase *tc = store_tcase("cache", true);
	tcase_add_test(tc, test_a_repeated_read_is_served_from_the_cache_until_a_write);
	tcase_add_test(tc, test_every_kind_of_write_is_seen_by_the_next_read);
	tcase_add_test(tc, test_nothing_is_served_or_kept_while_a_write_is_under_way);
	tcase_add_test(tc, test_a_bundle_is_served_from_the_cache_only_whole_and_fresh);
	tcase_add_test(tc, test_concurrent_readers_never_go_back_and_see_every_acknowledged_write);
	tcase_add_test(tc, test_concurrent_bundles_always_see_one_state);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(cache_suite());
}
