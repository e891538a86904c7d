/* Tokens (keyed hashes only; expired, used-up, revoked, unlimited; use
 * counts that never overspend) and policy documents in the store. */
#include <pthread.h>

#include "check_support.h"
#include "store_test.h"

#define NOW 1700000000

static void token_hash(const char *token, uint8_t out[TOKEN_HASH_BYTES])
{
	ck_assert_int_eq(store_token_hash(F.s, token, strlen(token), out), 0);
}

/* Stores a token under accessor with the given expiry and use count. */
static void add_token(const char *token, const char *accessor, int64_t expires, int64_t uses)
{
	struct store_token t = {.policies_json = "[\"app\"]",
	                        .created = NOW - 10,
	                        .expires = expires,
	                        .uses_left = uses};
	snprintf(t.accessor, sizeof(t.accessor), "%s", accessor);
	snprintf(t.created_by, sizeof(t.created_by), "uid=0");
	token_hash(token, t.hash);
	ck_assert_int_eq(store_token_put(F.s, &t), 0);
}

static int consume(const char *token, int64_t now, struct store_token *out)
{
	uint8_t h[TOKEN_HASH_BYTES];
	token_hash(token, h);
	struct store_token t = {0};
	int r = store_token_consume(F.s, h, now, &t);
	if (out)
		*out = t;
	else
		store_token_clear(&t);
	return r;
}

START_TEST(test_token_hash_is_keyed_and_stable)
{
	uint8_t a[TOKEN_HASH_BYTES], b[TOKEN_HASH_BYTES], c[TOKEN_HASH_BYTES];
	token_hash("vd_token", a);
	token_hash("vd_token", b);
	ck_assert_mem_eq(a, b, TOKEN_HASH_BYTES);
	token_hash("vd_tokeN", c);
	ck_assert(memcmp(a, c, TOKEN_HASH_BYTES) != 0);
	/* another store (another MAC key) hashes the same token differently */
	char path[TEST_PATH_MAX];
	test_path(path, F.dir, "other.db");
	struct store *o;
	ck_assert_int_eq(store_create(path, KEK_KEYFILE, NULL, F.kek, &o), 0);
	ck_assert_int_eq(store_token_hash(o, "vd_token", 8, c), 0);
	ck_assert(memcmp(a, c, TOKEN_HASH_BYTES) != 0);
	store_close(o);
	/* and the same store after reopening keeps its key */
	reopen(true);
	token_hash("vd_token", c);
	ck_assert_mem_eq(a, c, TOKEN_HASH_BYTES);
}
END_TEST

START_TEST(test_token_hash_rejects_bad_lengths)
{
	uint8_t h[TOKEN_HASH_BYTES];
	ck_assert_int_eq(store_token_hash(F.s, "", 0, h), STORE_E_INVAL);
	char big[STORE_TOKEN_MAX + 2];
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(store_token_hash(F.s, big, sizeof(big), h), STORE_E_INVAL);
}
END_TEST

START_TEST(test_token_plaintext_is_not_stored)
{
	add_token("vd_plaintext_token_canary", "acc1", 0, -1);
	raw_checkpoint(F.db);
	const char *t = "vd_plaintext_token_canary";
	ck_assert_str_eq(store_files_containing(F.db, t, strlen(t)), "");
}
END_TEST

START_TEST(test_unlimited_token_is_not_counted)
{
	add_token("vd_a", "acc1", 0, -1);
	struct store_token t;
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(consume("vd_a", NOW, &t), 0);
		ck_assert_str_eq(t.accessor, "acc1");
		ck_assert_int_eq(t.uses_left, -1);
		ck_assert_str_eq(t.policies_json, "[\"app\"]");
		store_token_clear(&t);
	}
}
END_TEST

START_TEST(test_token_uses_count_down_then_expire)
{
	add_token("vd_b", "acc2", 0, 2);
	struct store_token t;
	ck_assert_int_eq(consume("vd_b", NOW, &t), 0);
	ck_assert_int_eq(t.uses_left, 1);
	store_token_clear(&t);
	ck_assert_int_eq(consume("vd_b", NOW, &t), 0);
	ck_assert_int_eq(t.uses_left, 0);
	store_token_clear(&t);
	ck_assert_int_eq(consume("vd_b", NOW, NULL), STORE_E_EXPIRED);
	ck_assert_int_eq(store_token_get(F.s, "acc2", &t), 0);
	ck_assert_int_eq(t.uses_left, 0);
	store_token_clear(&t);
}
END_TEST

START_TEST(test_one_use_token_works_once)
{
	add_token("vd_once", "acc3", 0, 1);
	ck_assert_int_eq(consume("vd_once", NOW, NULL), 0);
	ck_assert_int_eq(consume("vd_once", NOW, NULL), STORE_E_EXPIRED);
}
END_TEST

START_TEST(test_expired_token_is_refused)
{
	add_token("vd_c", "acc4", NOW + 60, -1);
	ck_assert_int_eq(consume("vd_c", NOW + 59, NULL), 0);
	ck_assert_int_eq(consume("vd_c", NOW + 60, NULL), STORE_E_EXPIRED);
	ck_assert_int_eq(consume("vd_c", NOW + 3600, NULL), STORE_E_EXPIRED);
}
END_TEST

START_TEST(test_expired_token_keeps_its_uses)
{
	add_token("vd_c", "acc4", NOW, 3);
	ck_assert_int_eq(consume("vd_c", NOW + 1, NULL), STORE_E_EXPIRED);
	struct store_token t;
	ck_assert_int_eq(store_token_get(F.s, "acc4", &t), 0);
	ck_assert_int_eq(t.uses_left, 3);
	store_token_clear(&t);
}
END_TEST

START_TEST(test_revoked_token_is_refused)
{
	add_token("vd_d", "acc5", 0, -1);
	ck_assert_int_eq(store_token_revoke(F.s, "acc5"), 0);
	ck_assert_int_eq(consume("vd_d", NOW, NULL), STORE_E_REVOKED);
	struct store_token t;
	ck_assert_int_eq(store_token_get(F.s, "acc5", &t), 0);
	ck_assert(t.revoked);
	store_token_clear(&t);
	ck_assert_int_eq(store_token_revoke(F.s, "acc5"), 0); /* again: fine */
	ck_assert_int_eq(store_token_revoke(F.s, "nope"), STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_unknown_token_is_notfound)
{
	add_token("vd_e", "acc6", 0, -1);
	struct store_token t = {.uses_left = 42};
	uint8_t h[TOKEN_HASH_BYTES];
	token_hash("vd_f", h);
	ck_assert_int_eq(store_token_consume(F.s, h, NOW, &t), STORE_E_NOTFOUND);
	ck_assert_int_eq(t.uses_left, 42); /* untouched */
}
END_TEST

START_TEST(test_duplicate_token_accessor_or_hash_exists)
{
	add_token("vd_g", "acc7", 0, -1);
	struct store_token t = {.policies_json = "[]", .uses_left = -1};
	snprintf(t.accessor, sizeof(t.accessor), "acc7");
	token_hash("vd_other", t.hash);
	ck_assert_int_eq(store_token_put(F.s, &t), STORE_E_EXISTS);
	snprintf(t.accessor, sizeof(t.accessor), "acc8");
	token_hash("vd_g", t.hash);
	ck_assert_int_eq(store_token_put(F.s, &t), STORE_E_EXISTS);
}
END_TEST

START_TEST(test_token_put_rejects_bad_fields)
{
	struct store_token t = {.policies_json = "[]", .uses_left = -1};
	ck_assert_int_eq(store_token_put(F.s, &t), STORE_E_INVAL); /* empty accessor */
	snprintf(t.accessor, sizeof(t.accessor), "a b");
	ck_assert_int_eq(store_token_put(F.s, &t), STORE_E_INVAL);
	snprintf(t.accessor, sizeof(t.accessor), "ok");
	t.uses_left = -2;
	ck_assert_int_eq(store_token_put(F.s, &t), STORE_E_INVAL);
	t.uses_left = -1;
	t.policies_json = NULL;
	ck_assert_int_eq(store_token_put(F.s, &t), STORE_E_INVAL);
}
END_TEST

START_TEST(test_token_list_and_get)
{
	add_token("vd_1", "first", 0, -1);
	add_token("vd_2", "second", NOW + 100, 5);
	struct store_token_list *l;
	ck_assert_int_eq(store_token_list(F.s, &l), 0);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_str_eq(l->items[0].accessor, "first");
	ck_assert_str_eq(l->items[1].accessor, "second");
	ck_assert_int_eq(l->items[1].expires, NOW + 100);
	ck_assert_int_eq(l->items[1].uses_left, 5);
	ck_assert_str_eq(l->items[1].created_by, "uid=0");
	store_token_list_free(l);
	struct store_token t;
	ck_assert_int_eq(store_token_get(F.s, "second", &t), 0);
	uint8_t h[TOKEN_HASH_BYTES];
	token_hash("vd_2", h);
	ck_assert_mem_eq(t.hash, h, TOKEN_HASH_BYTES);
	store_token_clear(&t);
	ck_assert_int_eq(store_token_get(F.s, "third", &t), STORE_E_NOTFOUND);
}
END_TEST

#define CONSUMERS 4

struct consumer {
	int ok;
	int expired;
	int other;
};

static void *consumer_main(void *arg)
{
	struct consumer *c = arg;
	uint8_t h[TOKEN_HASH_BYTES];
	if (store_token_hash(F.s, "vd_shared", 9, h) != 0) {
		c->other++;
		return NULL;
	}
	for (int i = 0; i < 5; i++) {
		struct store_token t = {0};
		int r = store_token_consume(F.s, h, NOW, &t);
		store_token_clear(&t);
		if (r == 0)
			c->ok++;
		else if (r == STORE_E_EXPIRED)
			c->expired++;
		else
			c->other++;
	}
	return NULL;
}

START_TEST(test_concurrent_consumers_never_overspend)
{
	add_token("vd_shared", "shared", 0, 7);
	pthread_t th[CONSUMERS];
	struct consumer c[CONSUMERS];
	memset(c, 0, sizeof(c));
	for (int i = 0; i < CONSUMERS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, consumer_main, &c[i]), 0);
	int ok = 0, expired = 0;
	for (int i = 0; i < CONSUMERS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(c[i].other, 0);
		ok += c[i].ok;
		expired += c[i].expired;
	}
	ck_assert_int_eq(ok, 7);
	ck_assert_int_eq(expired, CONSUMERS * 5 - 7);
}
END_TEST

/* ---- policies ---- */

static const char *const POLICY =
    "{\"rules\":[{\"names\":\"app.*\",\"capabilities\":[\"read\",\"list\"]}]}";

START_TEST(test_policy_put_then_get)
{
	ck_assert_int_eq(store_policy_put(F.s, "app", POLICY), 0);
	char *doc = NULL;
	ck_assert_int_eq(store_policy_get(F.s, "app", &doc), 0);
	ck_assert_str_eq(doc, POLICY);
	free(doc);
}
END_TEST

START_TEST(test_policy_put_replaces)
{
	ck_assert_int_eq(store_policy_put(F.s, "app", POLICY), 0);
	ck_assert_int_eq(store_policy_put(F.s, "app", "{\"rules\":[]}"), 0);
	char *doc = NULL;
	ck_assert_int_eq(store_policy_get(F.s, "app", &doc), 0);
	ck_assert_str_eq(doc, "{\"rules\":[]}");
	free(doc);
}
END_TEST

START_TEST(test_policy_list_is_sorted)
{
	ck_assert_int_eq(store_policy_put(F.s, "web", POLICY), 0);
	ck_assert_int_eq(store_policy_put(F.s, "app", POLICY), 0);
	ck_assert_int_eq(store_policy_put(F.s, "db", POLICY), 0);
	char **names;
	size_t n;
	ck_assert_int_eq(store_policy_list(F.s, &names, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "app");
	ck_assert_str_eq(names[1], "db");
	ck_assert_str_eq(names[2], "web");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
END_TEST

START_TEST(test_policy_delete)
{
	ck_assert_int_eq(store_policy_put(F.s, "app", POLICY), 0);
	ck_assert_int_eq(store_policy_delete(F.s, "app"), 0);
	char *doc = NULL;
	ck_assert_int_eq(store_policy_get(F.s, "app", &doc), STORE_E_NOTFOUND);
	ck_assert_ptr_null(doc);
	ck_assert_int_eq(store_policy_delete(F.s, "app"), STORE_E_NOTFOUND);
}
END_TEST

START_TEST(test_policy_rejects_bad_input)
{
	ck_assert_int_eq(store_policy_put(F.s, "../x", POLICY), STORE_E_INVAL);
	ck_assert_int_eq(store_policy_put(F.s, "ok", NULL), STORE_E_INVAL);
	char *big = malloc(STORE_POLICY_MAX + 2);
	memset(big, ' ', STORE_POLICY_MAX + 1);
	big[STORE_POLICY_MAX + 1] = '\0';
	ck_assert_int_eq(store_policy_put(F.s, "ok", big), STORE_E_INVAL);
	free(big);
}
END_TEST

static Suite *records_suite(void)
{
	Suite *s = suite_create("store_records");
	TCase *tc = store_tcase("tokens", true);
	tcase_add_test(tc, test_token_hash_is_keyed_and_stable);
	tcase_add_test(tc, test_token_hash_rejects_bad_lengths);
	tcase_add_test(tc, test_token_plaintext_is_not_stored);
	tcase_add_test(tc, test_unlimited_token_is_not_counted);
	tcase_add_test(tc, test_token_uses_count_down_then_expire);
	tcase_add_test(tc, test_one_use_token_works_once);
	tcase_add_test(tc, test_expired_token_is_refused);
	tcase_add_test(tc, test_expired_token_keeps_its_uses);
	tcase_add_test(tc, test_revoked_token_is_refused);
	tcase_add_test(tc, test_unknown_token_is_notfound);
	tcase_add_test(tc, test_duplicate_token_accessor_or_hash_exists);
	tcase_add_test(tc, test_token_put_rejects_bad_fields);
	tcase_add_test(tc, test_token_list_and_get);
	tcase_add_test(tc, test_concurrent_consumers_never_overspend);
	suite_add_tcase(s, tc);

	tc = store_tcase("policies", true);
	tcase_add_test(tc, test_policy_put_then_get);
	tcase_add_test(tc, test_policy_put_replaces);
	tcase_add_test(tc, test_policy_list_is_sorted);
	tcase_add_test(tc, test_policy_delete);
	tcase_add_test(tc, test_policy_rejects_bad_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(records_suite());
}
