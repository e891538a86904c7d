/* Secrets in the store: put/get, check-and-set, stages after rotate and
 * rollback, pruning, soft delete/undelete, destroy, lists, history, metadata,
 * bundles (get_many), revisions and concurrent use. */
#include <pthread.h>
#include <time.h>

#include "check_support.h"
#include "store_test.h"

START_TEST(test_put_then_get_returns_the_value)
{
	uint64_t v = put_str(F.s, "db_password", "hunter2");
	ck_assert_uint_eq(v, 1);
	assert_value(F.s, "db_password", STAGE_CURRENT, 0, "hunter2", 1);
}
END_TEST

START_TEST(test_values_survive_reopen)
{
	put_str(F.s, "db", "one");
	reopen(true);
	assert_value(F.s, "db", STAGE_CURRENT, 0, "one", 1);
}
END_TEST

START_TEST(test_put_assigns_increasing_versions)
{
	ck_assert_uint_eq(put_str(F.s, "a", "1"), 1);
	ck_assert_uint_eq(put_str(F.s, "a", "2"), 2);
	ck_assert_uint_eq(put_str(F.s, "a", "3"), 3);
	ck_assert_uint_eq(put_str(F.s, "b", "1"), 1);
}
END_TEST

START_TEST(test_get_missing_secret_is_notfound)
{
	assert_get_fails(F.s, "nope", STAGE_CURRENT, 0, STORE_E_NOTFOUND);
	assert_get_fails(F.s, "nope", STAGE_VERSION, 1, STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_put_rejects_invalid_names)
{
	static const char *const bad[] = {"", "../x", "a..b", "a/b", ".hidden", "-x", "a b", "x\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = store_put(F.s, bad[i], (const uint8_t *)"v", 1, -1, NULL, "t", NULL);
		ck_assert_msg(r == STORE_E_INVAL, "name '%s': want INVAL, got %d", bad[i], r);
	}
	char longname[VAULT_MAX_NAME_LEN + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(store_put(F.s, longname, (const uint8_t *)"v", 1, -1, NULL, "t", NULL),
	                 STORE_E_INVAL);
	longname[VAULT_MAX_NAME_LEN] = '\0';
	ck_assert_int_eq(store_put(F.s, longname, (const uint8_t *)"v", 1, -1, NULL, "t", NULL), 0);
}
END_TEST

START_TEST(test_put_rejects_value_over_limit)
{
	size_t n = VAULT_MAX_VALUE_BYTES + 1;
	uint8_t *big = calloc(1, n);
	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(store_put(F.s, "big", big, n, -1, NULL, "t", NULL), STORE_E_TOOBIG);
	assert_get_fails(F.s, "big", STAGE_CURRENT, 0, STORE_E_NOTFOUND);
	/* exactly the limit is fine and round-trips */
	randombytes_buf(big, n - 1);
	ck_assert_int_eq(store_put(F.s, "big", big, n - 1, -1, NULL, "t", NULL), 0);
	struct secret_value v = {0};
	ck_assert_int_eq(store_get(F.s, "big", STAGE_CURRENT, 0, &v), 0);
	ck_assert_uint_eq(v.value->len, n - 1);
	ck_assert(memcmp(v.value->data, big, n - 1) == 0);
	secret_value_clear(&v);
	free(big);
}
END_TEST

START_TEST(test_put_accepts_empty_value)
{
	ck_assert_int_eq(store_put(F.s, "empty", NULL, 0, -1, NULL, "t", NULL), 0);
	assert_value(F.s, "empty", STAGE_CURRENT, 0, "", 1);
}
END_TEST

START_TEST(test_put_rejects_overlong_actor)
{
	char actor[STORE_ACTOR_MAX + 1];
	memset(actor, 'u', sizeof(actor) - 1);
	actor[sizeof(actor) - 1] = '\0';
	ck_assert_int_eq(store_put(F.s, "a", (const uint8_t *)"v", 1, -1, NULL, actor, NULL),
	                 STORE_E_INVAL);
}
END_TEST

START_TEST(test_cas_zero_creates_only_new_secrets)
{
	uint64_t v;
	ck_assert_int_eq(store_put(F.s, "c", (const uint8_t *)"x", 1, 0, NULL, "t", &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(store_put(F.s, "c", (const uint8_t *)"y", 1, 0, NULL, "t", &v),
	                 STORE_E_CONFLICT);
	assert_value(F.s, "c", STAGE_CURRENT, 0, "x", 1);
}
END_TEST

START_TEST(test_cas_matching_version_succeeds)
{
	put_str(F.s, "c", "1");
	put_str(F.s, "c", "2");
	uint64_t v;
	ck_assert_int_eq(store_put(F.s, "c", (const uint8_t *)"3", 1, 2, NULL, "t", &v), 0);
	ck_assert_uint_eq(v, 3);
}
END_TEST

START_TEST(test_cas_stale_version_conflicts)
{
	put_str(F.s, "c", "1");
	put_str(F.s, "c", "2");
	uint64_t v = 77;
	ck_assert_int_eq(store_put(F.s, "c", (const uint8_t *)"3", 1, 1, NULL, "t", &v),
	                 STORE_E_CONFLICT);
	ck_assert_uint_eq(v, 77); /* output untouched on failure */
	assert_value(F.s, "c", STAGE_CURRENT, 0, "2", 2);
}
END_TEST

START_TEST(test_cas_on_missing_secret_conflicts)
{
	ck_assert_int_eq(store_put(F.s, "c", (const uint8_t *)"3", 1, 1, NULL, "t", NULL),
	                 STORE_E_CONFLICT);
}
END_TEST

/* With every version destroyed the metadata shows current_version 0, and
 * cas follows it: 0 writes, the destroyed version's number does not. */
START_TEST(test_cas_zero_writes_after_every_version_destroyed)
{
	put_str(F.s, "cd", "1");
	put_str(F.s, "cd", "2");
	ck_assert_int_eq(store_destroy(F.s, "cd", 0, "t"), 0);
	struct secret_meta m;
	ck_assert_int_eq(store_meta_get(F.s, "cd", &m), 0);
	ck_assert_uint_eq(m.current_version, 0);
	secret_meta_clear(&m);
	ck_assert_int_eq(store_put(F.s, "cd", (const uint8_t *)"x", 1, 2, NULL, "t", NULL),
	                 STORE_E_CONFLICT);
	uint64_t v = 0;
	ck_assert_int_eq(store_put(F.s, "cd", (const uint8_t *)"3", 1, 0, NULL, "t", &v), 0);
	ck_assert_uint_eq(v, 3);
	assert_value(F.s, "cd", STAGE_CURRENT, 0, "3", 3);
	ck_assert_int_eq(store_put(F.s, "cd", (const uint8_t *)"4", 1, 0, NULL, "t", NULL),
	                 STORE_E_CONFLICT);
}
END_TEST

START_TEST(test_rotate_makes_old_current_previous)
{
	put_str(F.s, "r", "old");
	put_str(F.s, "r", "new");
	assert_value(F.s, "r", STAGE_CURRENT, 0, "new", 2);
	assert_value(F.s, "r", STAGE_PREVIOUS, 0, "old", 1);
	struct secret_meta m;
	ck_assert_int_eq(store_meta_get(F.s, "r", &m), 0);
	ck_assert_uint_eq(m.current_version, 2);
	ck_assert_uint_eq(m.previous_version, 1);
	ck_assert_uint_eq(m.versions, 2);
	secret_meta_clear(&m);
}
END_TEST

START_TEST(test_previous_without_previous_is_notfound)
{
	put_str(F.s, "r", "only");
	assert_get_fails(F.s, "r", STAGE_PREVIOUS, 0, STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_get_by_version_number)
{
	put_str(F.s, "g", "v1");
	put_str(F.s, "g", "v2");
	put_str(F.s, "g", "v3");
	assert_value(F.s, "g", STAGE_VERSION, 1, "v1", 1);
	assert_value(F.s, "g", STAGE_VERSION, 3, "v3", 3);
	assert_get_fails(F.s, "g", STAGE_VERSION, 4, STORE_E_NOTFOUND);
	assert_get_fails(F.s, "g", STAGE_VERSION, 0, STORE_E_INVAL);
}
END_TEST

START_TEST(test_rollback_adds_version_with_old_value)
{
	put_str(F.s, "rb", "first");
	put_str(F.s, "rb", "second");
	uint64_t v;
	ck_assert_int_eq(store_rollback(F.s, "rb", 1, "uid=0", &v), 0);
	ck_assert_uint_eq(v, 3);
	assert_value(F.s, "rb", STAGE_CURRENT, 0, "first", 3);
	assert_value(F.s, "rb", STAGE_PREVIOUS, 0, "second", 2);
	assert_value(F.s, "rb", STAGE_VERSION, 1, "first", 1);
}
END_TEST

START_TEST(test_rollback_to_unknown_version_is_notfound)
{
	put_str(F.s, "rb", "first");
	ck_assert_int_eq(store_rollback(F.s, "rb", 9, "t", NULL), STORE_E_NOTFOUND);
	ck_assert_int_eq(store_rollback(F.s, "none", 1, "t", NULL), STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_rollback_to_destroyed_version_fails)
{
	put_str(F.s, "rb", "first");
	put_str(F.s, "rb", "second");
	ck_assert_int_eq(store_destroy(F.s, "rb", 1, "t"), 0);
	ck_assert_int_eq(store_rollback(F.s, "rb", 1, "t", NULL), STORE_E_DESTROYED);
	assert_value(F.s, "rb", STAGE_CURRENT, 0, "second", 2);
}
END_TEST

static void set_max_versions(const char *name, int64_t max)
{
	struct secret_meta_update u = SECRET_META_UPDATE_NONE;
	u.max_versions = max;
	ck_assert_int_eq(store_put(F.s, name, (const uint8_t *)"v1", 2, -1, &u, "t", NULL), 0);
}

START_TEST(test_pruning_keeps_max_versions)
{
	set_max_versions("p", 3);
	for (int i = 2; i <= 6; i++) {
		char val[16];
		snprintf(val, sizeof(val), "v%d", i);
		put_str(F.s, "p", val);
	}
	struct secret_version_list *h;
	ck_assert_int_eq(store_history(F.s, "p", &h), 0);
	ck_assert_uint_eq(h->n, 3);
	ck_assert_uint_eq(h->items[0].version, 4);
	ck_assert_uint_eq(h->items[2].version, 6);
	secret_version_list_free(h);
	assert_get_fails(F.s, "p", STAGE_VERSION, 3, STORE_E_NOTFOUND);
	assert_value(F.s, "p", STAGE_VERSION, 4, "v4", 4);
}
END_TEST

START_TEST(test_pruning_never_drops_current_or_previous)
{
	set_max_versions("p", 1);
	put_str(F.s, "p", "v2");
	put_str(F.s, "p", "v3");
	assert_value(F.s, "p", STAGE_CURRENT, 0, "v3", 3);
	assert_value(F.s, "p", STAGE_PREVIOUS, 0, "v2", 2);
	assert_get_fails(F.s, "p", STAGE_VERSION, 1, STORE_E_NOTFOUND);
	struct secret_meta m;
	ck_assert_int_eq(store_meta_get(F.s, "p", &m), 0);
	ck_assert_uint_eq(m.versions, 2);
	secret_meta_clear(&m);
}
END_TEST

START_TEST(test_pruning_spares_previous_after_rollback)
{
	/* after a rollback previous is the newest old version, not the oldest */
	set_max_versions("p", 2);
	put_str(F.s, "p", "v2");
	ck_assert_int_eq(store_rollback(F.s, "p", 1, "t", NULL), 0);
	assert_value(F.s, "p", STAGE_CURRENT, 0, "v1", 3);
	assert_value(F.s, "p", STAGE_PREVIOUS, 0, "v2", 2);
}
END_TEST

START_TEST(test_versions_are_never_reused)
{
	set_max_versions("p", 1);
	put_str(F.s, "p", "v2");
	put_str(F.s, "p", "v3");
	ck_assert_int_eq(store_destroy(F.s, "p", 0, "t"), 0);
	ck_assert_uint_eq(put_str(F.s, "p", "v4"), 4);
}
END_TEST

START_TEST(test_soft_delete_hides_secret)
{
	put_str(F.s, "d", "x");
	ck_assert_int_eq(store_delete(F.s, "d", "t"), 0);
	assert_get_fails(F.s, "d", STAGE_CURRENT, 0, STORE_E_NOTFOUND);
	assert_get_fails(F.s, "d", STAGE_VERSION, 1, STORE_E_NOTFOUND);
	struct secret_meta_list *l;
	ck_assert_int_eq(store_list(F.s, NULL, false, &l), 0);
	ck_assert_uint_eq(l->n, 0);
	secret_meta_list_free(l);
	ck_assert_int_eq(store_list(F.s, NULL, true, &l), 0);
	ck_assert_uint_eq(l->n, 1);
	ck_assert(l->items[0].deleted);
	secret_meta_list_free(l);
	struct secret_meta m;
	ck_assert_int_eq(store_meta_get(F.s, "d", &m), 0);
	ck_assert(m.deleted);
	secret_meta_clear(&m);
}
END_TEST

START_TEST(test_delete_of_deleted_or_missing_is_notfound)
{
	put_str(F.s, "d", "x");
	ck_assert_int_eq(store_delete(F.s, "d", "t"), 0);
	ck_assert_int_eq(store_delete(F.s, "d", "t"), STORE_E_NOTFOUND);
	ck_assert_int_eq(store_delete(F.s, "none", "t"), STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_undelete_restores_secret)
{
	put_str(F.s, "d", "x");
	put_str(F.s, "d", "y");
	ck_assert_int_eq(store_delete(F.s, "d", "t"), 0);
	ck_assert_int_eq(store_undelete(F.s, "d", "t"), 0);
	assert_value(F.s, "d", STAGE_CURRENT, 0, "y", 2);
	assert_value(F.s, "d", STAGE_PREVIOUS, 0, "x", 1);
	ck_assert_int_eq(store_undelete(F.s, "d", "t"), 0); /* live: no-op */
	ck_assert_int_eq(store_undelete(F.s, "none", "t"), STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_put_revives_deleted_secret)
{
	put_str(F.s, "d", "x");
	ck_assert_int_eq(store_delete(F.s, "d", "t"), 0);
	uint64_t v;
	/* cas 0: a soft-deleted secret counts as absent */
	ck_assert_int_eq(store_put(F.s, "d", (const uint8_t *)"z", 1, 0, NULL, "t", &v), 0);
	ck_assert_uint_eq(v, 2);
	assert_value(F.s, "d", STAGE_CURRENT, 0, "z", 2);
}
END_TEST

START_TEST(test_destroy_one_version)
{
	put_str(F.s, "x", "v1");
	put_str(F.s, "x", "v2");
	put_str(F.s, "x", "v3");
	ck_assert_int_eq(store_destroy(F.s, "x", 1, "t"), 0);
	assert_get_fails(F.s, "x", STAGE_VERSION, 1, STORE_E_DESTROYED);
	assert_value(F.s, "x", STAGE_VERSION, 2, "v2", 2);
	assert_value(F.s, "x", STAGE_CURRENT, 0, "v3", 3);
	struct secret_version_list *h;
	ck_assert_int_eq(store_history(F.s, "x", &h), 0);
	ck_assert_uint_eq(h->n, 3);
	ck_assert(h->items[0].destroyed);
	ck_assert(!h->items[1].destroyed);
	secret_version_list_free(h);
	ck_assert_int_eq(store_destroy(F.s, "x", 1, "t"), 0); /* again: no-op */
	ck_assert_int_eq(store_destroy(F.s, "x", 9, "t"), STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_destroy_current_makes_current_destroyed)
{
	put_str(F.s, "x", "v1");
	put_str(F.s, "x", "v2");
	ck_assert_int_eq(store_destroy(F.s, "x", 2, "t"), 0);
	assert_get_fails(F.s, "x", STAGE_CURRENT, 0, STORE_E_DESTROYED);
	assert_value(F.s, "x", STAGE_PREVIOUS, 0, "v1", 1);
}
END_TEST

START_TEST(test_destroy_all_versions)
{
	put_str(F.s, "x", "v1");
	put_str(F.s, "x", "v2");
	ck_assert_int_eq(store_destroy(F.s, "x", 0, "t"), 0);
	assert_get_fails(F.s, "x", STAGE_CURRENT, 0, STORE_E_DESTROYED);
	assert_get_fails(F.s, "x", STAGE_VERSION, 1, STORE_E_DESTROYED);
	struct secret_meta m;
	ck_assert_int_eq(store_meta_get(F.s, "x", &m), 0);
	ck_assert_uint_eq(m.current_version, 0);
	ck_assert_uint_eq(m.previous_version, 0);
	secret_meta_clear(&m);
	ck_assert_int_eq(store_destroy(F.s, "none", 0, "t"), STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_put_after_destroy_all_works)
{
	put_str(F.s, "x", "v1");
	ck_assert_int_eq(store_destroy(F.s, "x", 0, "t"), 0);
	ck_assert_uint_eq(put_str(F.s, "x", "v2"), 2);
	assert_value(F.s, "x", STAGE_CURRENT, 0, "v2", 2);
	assert_get_fails(F.s, "x", STAGE_PREVIOUS, 0, STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_list_is_sorted_and_filtered_by_prefix)
{
	put_str(F.s, "b", "1");
	put_str(F.s, "ab", "1");
	put_str(F.s, "a", "1");
	put_str(F.s, "c", "1");
	put_str(F.s, "a.z", "1");
	struct secret_meta_list *l;
	ck_assert_int_eq(store_list(F.s, "", false, &l), 0);
	ck_assert_uint_eq(l->n, 5);
	ck_assert_str_eq(l->items[0].name, "a");
	ck_assert_str_eq(l->items[1].name, "a.z");
	ck_assert_str_eq(l->items[2].name, "ab");
	ck_assert_str_eq(l->items[4].name, "c");
	secret_meta_list_free(l);
	ck_assert_int_eq(store_list(F.s, "a", false, &l), 0);
	ck_assert_uint_eq(l->n, 3);
	ck_assert_str_eq(l->items[2].name, "ab");
	ck_assert_uint_eq(l->items[0].current_version, 1);
	ck_assert_str_eq(l->items[0].created_by, "uid=0");
	secret_meta_list_free(l);
	ck_assert_int_eq(store_list(F.s, "zz", false, &l), 0);
	ck_assert_uint_eq(l->n, 0);
	secret_meta_list_free(l);
}
END_TEST

START_TEST(test_list_rejects_bad_prefix)
{
	struct secret_meta_list *l = NULL;
	ck_assert_int_eq(store_list(F.s, "a%", false, &l), STORE_E_INVAL);
	ck_assert_int_eq(store_list(F.s, "a\x7f", false, &l), STORE_E_INVAL);
	ck_assert_ptr_null(l);
}
END_TEST

START_TEST(test_history_shows_stages_and_actors)
{
	put_str(F.s, "h", "1");
	put_str(F.s, "h", "2");
	ck_assert_int_eq(store_put(F.s, "h", (const uint8_t *)"3", 1, -1, NULL, "tok=abc", NULL),
	                 0);
	struct secret_version_list *h;
	ck_assert_int_eq(store_history(F.s, "h", &h), 0);
	ck_assert_uint_eq(h->n, 3);
	ck_assert_ptr_null(h->items[0].stage);
	ck_assert_str_eq(h->items[1].stage, "previous");
	ck_assert_str_eq(h->items[2].stage, "current");
	ck_assert_str_eq(h->items[2].created_by, "tok=abc");
	ck_assert_uint_eq(h->items[2].key_id, 1);
	secret_version_list_free(h);
	ck_assert_int_eq(store_history(F.s, "none", &h), STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_metadata_is_written_and_kept)
{
	struct secret_meta_update u = {.description = "postgres superuser",
	                               .labels_json = "{\"app\":\"pg\"}",
	                               .rotation_period = 86400,
	                               .max_versions = 5};
	ck_assert_int_eq(store_put(F.s, "m", (const uint8_t *)"1", 1, -1, &u, "uid=0", NULL), 0);
	put_str(F.s, "m", "2"); /* no update: fields stay */
	struct secret_meta m;
	ck_assert_int_eq(store_meta_get(F.s, "m", &m), 0);
	ck_assert_str_eq(m.description, "postgres superuser");
	ck_assert_str_eq(m.labels_json, "{\"app\":\"pg\"}");
	ck_assert_int_eq(m.rotation_period, 86400);
	ck_assert_uint_eq(m.max_versions, 5);
	ck_assert_str_eq(m.created_by, "uid=0");
	ck_assert_int_gt(m.created, 0);
	ck_assert_int_ge(m.updated, m.created);
	ck_assert(!m.deleted);
	secret_meta_clear(&m);
}
END_TEST

START_TEST(test_metadata_defaults)
{
	put_str(F.s, "m", "1");
	struct secret_meta m;
	ck_assert_int_eq(store_meta_get(F.s, "m", &m), 0);
	ck_assert_str_eq(m.description, "");
	ck_assert_str_eq(m.labels_json, "{}");
	ck_assert_uint_eq(m.max_versions, STORE_DEFAULT_MAX_VERSIONS);
	ck_assert_int_eq(m.rotation_period, 0);
	secret_meta_clear(&m);
}
END_TEST

START_TEST(test_bad_metadata_is_refused)
{
	struct secret_meta_update u = SECRET_META_UPDATE_NONE;
	u.labels_json = "[1,2]";
	ck_assert_int_eq(store_put(F.s, "m", (const uint8_t *)"1", 1, -1, &u, "t", NULL),
	                 STORE_E_INVAL);
	u.labels_json = "{\"a\":1,\"a\":2}";
	ck_assert_int_eq(store_put(F.s, "m", (const uint8_t *)"1", 1, -1, &u, "t", NULL),
	                 STORE_E_INVAL);
	u = (struct secret_meta_update)SECRET_META_UPDATE_NONE;
	u.max_versions = 0;
	ck_assert_int_eq(store_put(F.s, "m", (const uint8_t *)"1", 1, -1, &u, "t", NULL),
	                 STORE_E_INVAL);
	u.max_versions = STORE_MAX_VERSIONS_LIMIT + 1;
	ck_assert_int_eq(store_put(F.s, "m", (const uint8_t *)"1", 1, -1, &u, "t", NULL),
	                 STORE_E_INVAL);
	assert_get_fails(F.s, "m", STAGE_CURRENT, 0, STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_revision_increases_on_every_change)
{
	uint64_t r0 = store_revision(F.s);
	put_str(F.s, "w", "1");
	uint64_t r1 = store_revision(F.s);
	ck_assert_uint_gt(r1, r0);
	assert_value(F.s, "w", STAGE_CURRENT, 0, "1", 1);
	ck_assert_uint_eq(store_revision(F.s), r1); /* reads do not count */
	ck_assert_int_eq(store_delete(F.s, "w", "t"), 0);
	uint64_t r2 = store_revision(F.s);
	ck_assert_uint_gt(r2, r1);
	ck_assert_int_eq(store_undelete(F.s, "w", "t"), 0);
	uint64_t r3 = store_revision(F.s);
	ck_assert_uint_gt(r3, r2);
	ck_assert_int_eq(store_destroy(F.s, "w", 1, "t"), 0);
	uint64_t r4 = store_revision(F.s);
	ck_assert_uint_gt(r4, r3);
	struct secret_meta m;
	ck_assert_int_eq(store_meta_get(F.s, "w", &m), 0);
	ck_assert_uint_eq(m.revision, r4);
	secret_meta_clear(&m);
	reopen(true);
	ck_assert_uint_eq(store_revision(F.s), r4);
}
END_TEST

START_TEST(test_count_counts_live_secrets)
{
	uint64_t n = 99;
	ck_assert_int_eq(store_count(F.s, &n), 0);
	ck_assert_uint_eq(n, 0);
	put_str(F.s, "a", "1");
	put_str(F.s, "b", "1");
	put_str(F.s, "b", "2");
	ck_assert_int_eq(store_delete(F.s, "a", "t"), 0);
	ck_assert_int_eq(store_count(F.s, &n), 0);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_get_many_returns_every_value)
{
	put_str(F.s, "a", "alpha");
	put_str(F.s, "b", "beta1");
	put_str(F.s, "b", "beta2");
	const char *names[] = {"a", "b"};
	struct secret_value cur[2], prev[2];
	bool missing[2] = {false, false};
	ck_assert_int_eq(store_get_many(F.s, names, 2, cur, prev, missing), 0);
	ck_assert_uint_eq(cur[0].version, 1);
	ck_assert_mem_eq(cur[0].value->data, "alpha", 5);
	ck_assert_uint_eq(prev[0].version, 0);
	ck_assert_ptr_null(prev[0].value);
	ck_assert_uint_eq(cur[1].version, 2);
	ck_assert_mem_eq(cur[1].value->data, "beta2", 5);
	ck_assert_uint_eq(prev[1].version, 1);
	ck_assert_mem_eq(prev[1].value->data, "beta1", 5);
	for (int i = 0; i < 2; i++) {
		secret_value_clear(&cur[i]);
		secret_value_clear(&prev[i]);
	}
}
END_TEST

START_TEST(test_get_many_without_previous)
{
	put_str(F.s, "a", "alpha");
	const char *names[] = {"a"};
	struct secret_value cur[1];
	ck_assert_int_eq(store_get_many(F.s, names, 1, cur, NULL, NULL), 0);
	ck_assert_mem_eq(cur[0].value->data, "alpha", 5);
	secret_value_clear(&cur[0]);
}
END_TEST

START_TEST(test_get_many_reports_missing_names)
{
	put_str(F.s, "a", "alpha");
	put_str(F.s, "gone", "x");
	ck_assert_int_eq(store_delete(F.s, "gone", "t"), 0);
	put_str(F.s, "wiped", "x");
	ck_assert_int_eq(store_destroy(F.s, "wiped", 0, "t"), 0);
	const char *names[] = {"a", "nope", "gone", "wiped"};
	struct secret_value cur[4];
	memset(cur, 0, sizeof(cur));
	bool missing[4] = {false, false, false, false};
	ck_assert_int_eq(store_get_many(F.s, names, 4, cur, NULL, missing), STORE_E_NOTFOUND);
	ck_assert(!missing[0]);
	ck_assert(missing[1]);
	ck_assert(missing[2]);
	ck_assert(missing[3]);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(cur[i].value == NULL, "a value was left allocated for %s", names[i]);
}
END_TEST

START_TEST(test_put_batch_writes_all_in_one_go)
{
	struct store_put_item items[3] = {{"x", (const uint8_t *)"1", 1},
	                                  {"y", (const uint8_t *)"2", 1},
	                                  {"x", (const uint8_t *)"3", 1}};
	uint64_t r0 = store_revision(F.s);
	ck_assert_int_eq(store_put_batch(F.s, items, 3, "import"), 0);
	ck_assert_uint_eq(store_revision(F.s), r0 + 1);
	assert_value(F.s, "x", STAGE_CURRENT, 0, "3", 2);
	assert_value(F.s, "x", STAGE_PREVIOUS, 0, "1", 1);
	assert_value(F.s, "y", STAGE_CURRENT, 0, "2", 1);
}
END_TEST

START_TEST(test_put_batch_is_all_or_nothing)
{
	struct store_put_item items[2] = {{"ok", (const uint8_t *)"1", 1},
	                                  {"../bad", (const uint8_t *)"2", 1}};
	ck_assert_int_eq(store_put_batch(F.s, items, 2, "import"), STORE_E_INVAL);
	assert_get_fails(F.s, "ok", STAGE_CURRENT, 0, STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_value_moved_to_another_secret_fails_to_open)
{
	put_str(F.s, "a", "alpha");
	put_str(F.s, "b", "beta");
	/* An attacker with write access to the file swaps ciphertexts. */
	raw_exec(F.db, "UPDATE versions SET value = (SELECT v.value FROM versions v JOIN secrets s"
	               " ON s.id = v.secret_id WHERE s.name = 'a') WHERE secret_id ="
	               " (SELECT id FROM secrets WHERE name = 'b')");
	assert_get_fails(F.s, "b", STAGE_CURRENT, 0, STORE_E_CORRUPT);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "alpha", 1);
}
END_TEST

START_TEST(test_reads_do_not_wait_for_a_writer)
{
	put_str(F.s, "r", "readable");
	/* Another writer holds the write lock (as during its fsync): reads
	 * must still answer at once from the last committed snapshot, while
	 * a write waits (busy timeout) behind it. */
	sqlite3 *h;
	ck_assert_int_eq(sqlite3_open_v2(F.db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, "BEGIN IMMEDIATE; INSERT INTO policies VALUES ('x', '{}')",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 20; i++)
		assert_value(F.s, "r", STAGE_CURRENT, 0, "readable", 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(s < 1.0, "20 reads took %.2f s behind a writer", s);
	ck_assert_int_eq(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}
END_TEST

/* ---- threads ---- */

#define THREADS 4

struct worker {
	int id;
	int rounds;
	int errors;
};

static void *writer_main(void *arg)
{
	struct worker *w = arg;
	char name[32], val[32];
	snprintf(name, sizeof(name), "w%d", w->id);
	for (int i = 1; i <= w->rounds; i++) {
		snprintf(val, sizeof(val), "%d-%d", w->id, i);
		uint64_t v;
		if (store_put(F.s, name, (const uint8_t *)val, strlen(val), -1, NULL, "t", &v) !=
		        0 ||
		    v != (uint64_t)i)
			w->errors++;
	}
	return NULL;
}

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->rounds * 4; i++) {
		struct secret_value v = {0};
		if (store_get(F.s, "shared", STAGE_CURRENT, 0, &v) != 0 || v.value->len != 6 ||
		    memcmp(v.value->data, "shared", 6) != 0)
			w->errors++;
		secret_value_clear(&v);
	}
	return NULL;
}

START_TEST(test_concurrent_writers_and_readers)
{
	put_str(F.s, "shared", "shared");
	int rounds = under_valgrind() ? 5 : 40;
	pthread_t th[2 * THREADS];
	struct worker w[2 * THREADS];
	for (int i = 0; i < 2 * THREADS; i++) {
		w[i] = (struct worker){.id = i, .rounds = rounds};
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, i < THREADS ? writer_main : reader_main, &w[i]),
		    0);
	}
	for (int i = 0; i < 2 * THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(w[i].errors == 0, "thread %d saw %d errors", i, w[i].errors);
	}
	for (int i = 0; i < THREADS; i++) {
		char name[32], val[32];
		snprintf(name, sizeof(name), "w%d", i);
		snprintf(val, sizeof(val), "%d-%d", i, rounds);
		assert_value(F.s, name, STAGE_CURRENT, 0, val, (uint64_t)rounds);
	}
}
END_TEST

static Suite *secrets_suite(void)
{
	Suite *s = suite_create("store_secrets");
	TCase *tc = store_tcase("put_get", true);
	tcase_add_test(tc, test_put_then_get_returns_the_value);
	tcase_add_test(tc, test_values_survive_reopen);
	tcase_add_test(tc, test_put_assigns_increasing_versions);
	tcase_add_test(tc, test_get_missing_secret_is_notfound);
	tcase_add_test(tc, test_put_rejects_invalid_names);
	tcase_add_test(tc, test_put_rejects_value_over_limit);
	tcase_add_test(tc, test_put_accepts_empty_value);
	tcase_add_test(tc, test_put_rejects_overlong_actor);
	tcase_add_test(tc, test_value_moved_to_another_secret_fails_to_open);
	suite_add_tcase(s, tc);

	tc = store_tcase("cas", true);
	tcase_add_test(tc, test_cas_zero_creates_only_new_secrets);
	tcase_add_test(tc, test_cas_matching_version_succeeds);
	tcase_add_test(tc, test_cas_stale_version_conflicts);
	tcase_add_test(tc, test_cas_on_missing_secret_conflicts);
	tcase_add_test(tc, test_cas_zero_writes_after_every_version_destroyed);
	suite_add_tcase(s, tc);

	tc = store_tcase("stages", true);
	tcase_add_test(tc, test_rotate_makes_old_current_previous);
	tcase_add_test(tc, test_previous_without_previous_is_notfound);
	tcase_add_test(tc, test_get_by_version_number);
	tcase_add_test(tc, test_rollback_adds_version_with_old_value);
	tcase_add_test(tc, test_rollback_to_unknown_version_is_notfound);
	tcase_add_test(tc, test_rollback_to_destroyed_version_fails);
	suite_add_tcase(s, tc);

	tc = store_tcase("pruning", true);
	tcase_add_test(tc, test_pruning_keeps_max_versions);
	tcase_add_test(tc, test_pruning_never_drops_current_or_previous);
	tcase_add_test(tc, test_pruning_spares_previous_after_rollback);
	tcase_add_test(tc, test_versions_are_never_reused);
	suite_add_tcase(s, tc);

	tc = store_tcase("delete_destroy", true);
	tcase_add_test(tc, test_soft_delete_hides_secret);
	tcase_add_test(tc, test_delete_of_deleted_or_missing_is_notfound);
	tcase_add_test(tc, test_undelete_restores_secret);
	tcase_add_test(tc, test_put_revives_deleted_secret);
	tcase_add_test(tc, test_destroy_one_version);
	tcase_add_test(tc, test_destroy_current_makes_current_destroyed);
	tcase_add_test(tc, test_destroy_all_versions);
	tcase_add_test(tc, test_put_after_destroy_all_works);
	suite_add_tcase(s, tc);

	tc = store_tcase("listing", true);
	tcase_add_test(tc, test_list_is_sorted_and_filtered_by_prefix);
	tcase_add_test(tc, test_list_rejects_bad_prefix);
	tcase_add_test(tc, test_history_shows_stages_and_actors);
	tcase_add_test(tc, test_metadata_is_written_and_kept);
	tcase_add_test(tc, test_metadata_defaults);
	tcase_add_test(tc, test_bad_metadata_is_refused);
	tcase_add_test(tc, test_revision_increases_on_every_change);
	tcase_add_test(tc, test_count_counts_live_secrets);
	suite_add_tcase(s, tc);

	tc = store_tcase("bundles", true);
	tcase_add_test(tc, test_get_many_returns_every_value);
	tcase_add_test(tc, test_get_many_without_previous);
	tcase_add_test(tc, test_get_many_reports_missing_names);
	tcase_add_test(tc, test_put_batch_writes_all_in_one_go);
	tcase_add_test(tc, test_put_batch_is_all_or_nothing);
	tcase_add_test(tc, test_concurrent_writers_and_readers);
	tcase_add_test(tc, test_reads_do_not_wait_for_a_writer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(secrets_suite());
}
