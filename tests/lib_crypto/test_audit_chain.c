/* The audit hash chain: an intact chain verifies; a changed, dropped,
 * reordered or spliced record is found and its sequence number reported;
 * every canonical field is covered by the hash. */
#include <errno.h>
#include <sodium.h>

#include "audit_chain.h"
#include "check_support.h"
#include "crypto_test.h"

#define N 10
static struct secbuf *key;
static struct audit_entry chain[N];
static const uint8_t zeros[AUDIT_HASH_BYTES];

static void fill(struct audit_entry *e, uint64_t seq)
{
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	e->time_ms = 1700000000000 + (int64_t)seq;
	e->uid = 1000;
	e->gid = 1000;
	e->pid = 4242;
	snprintf(e->accessor, sizeof(e->accessor), "acc%llu", (unsigned long long)seq);
	snprintf(e->action, sizeof(e->action), "secret.read");
	snprintf(e->name, sizeof(e->name), "db_password");
	snprintf(e->result, sizeof(e->result), "ok");
	e->status = 200;
}

/* Links entries [0, n) as store_audit_append would, starting at prev. */
static void link_chain(struct audit_entry *e, size_t n, const uint8_t prev[AUDIT_HASH_BYTES])
{
	for (size_t i = 0; i < n; i++) {
		memcpy(e[i].prev_hash, i == 0 ? prev : e[i - 1].hash, AUDIT_HASH_BYTES);
		audit_chain_hash(key, &e[i], e[i].hash);
	}
}

static void setup(void)
{
	key = secbuf_new(32);
	randombytes_buf(key->data, key->len);
	for (size_t i = 0; i < N; i++)
		fill(&chain[i], i + 1);
	link_chain(chain, N, zeros);
}

static void teardown(void)
{
	secbuf_free(key);
	key = NULL;
}

static void assert_bad_at(const struct audit_entry *e, size_t n, uint64_t want, const char *what)
{
	uint64_t bad = 0;
	int r = audit_chain_verify(key, 1, zeros, e, n, &bad);
	ck_assert_msg(r == -EBADMSG, "%s: expected -EBADMSG, got %d", what, r);
	ck_assert_msg(bad == want, "%s: first bad seq %llu, expected %llu", what,
	              (unsigned long long)bad, (unsigned long long)want);
}

START_TEST(test_intact_chain_verifies)
{
	uint64_t bad = 77;
	ck_assert_int_eq(audit_chain_verify(key, 1, zeros, chain, N, &bad), 0);
	ck_assert_uint_eq(bad, 77);
	ck_assert_int_eq(audit_chain_verify(key, 1, zeros, chain, 0, &bad), 0);
	/* A window in the middle verifies against the hash before it. */
	ck_assert_int_eq(audit_chain_verify(key, 4, chain[2].hash, chain + 3, 5, &bad), 0);
}
END_TEST

START_TEST(test_changed_entry_is_reported)
{
	struct audit_entry e[N];
	memcpy(e, chain, sizeof(e));
	snprintf(e[4].result, sizeof(e[4].result), "denied");
	assert_bad_at(e, N, 5, "result changed in seq 5");
	memcpy(e, chain, sizeof(e));
	e[6].status = 403;
	assert_bad_at(e, N, 7, "status changed in seq 7");
	memcpy(e, chain, sizeof(e));
	e[0].hash[0] ^= 1;
	assert_bad_at(e, N, 1, "stored hash of seq 1 changed");
}
END_TEST

START_TEST(test_dropped_entry_is_reported)
{
	struct audit_entry e[N - 1];
	memcpy(e, chain, 3 * sizeof(e[0]));
	memcpy(e + 3, chain + 4, (N - 4) * sizeof(e[0]));
	assert_bad_at(e, N - 1, 4, "seq 4 dropped");
	/* Renumbering after the drop does not help: the links no longer match. */
	for (size_t i = 3; i < N - 1; i++)
		e[i].seq = i + 1;
	assert_bad_at(e, N - 1, 4, "seq 4 dropped and renumbered");
}
END_TEST

START_TEST(test_reordered_entries_are_reported)
{
	struct audit_entry e[N];
	memcpy(e, chain, sizeof(e));
	e[5] = chain[6];
	e[6] = chain[5];
	assert_bad_at(e, N, 6, "seq 6 and 7 swapped");
	/* Swapping the sequence numbers back does not help either. */
	e[5].seq = 6;
	e[6].seq = 7;
	assert_bad_at(e, N, 6, "swapped with seqs rewritten");
}
END_TEST

START_TEST(test_wrong_key_or_start_fails_at_the_first_entry)
{
	struct secbuf *other = secbuf_new(32);
	randombytes_buf(other->data, other->len);
	uint64_t bad = 0;
	ck_assert_int_eq(audit_chain_verify(other, 1, zeros, chain, N, &bad), -EBADMSG);
	ck_assert_uint_eq(bad, 1);
	secbuf_free(other);
	uint8_t prev[AUDIT_HASH_BYTES] = {1};
	ck_assert_int_eq(audit_chain_verify(key, 1, prev, chain, N, &bad), -EBADMSG);
	ck_assert_uint_eq(bad, 1);
	ck_assert_int_eq(audit_chain_verify(key, 2, zeros, chain, N, &bad), -EBADMSG);
	ck_assert_uint_eq(bad, 2);
}
END_TEST

START_TEST(test_rehashed_forgery_without_the_key_is_found)
{
	/* An attacker who edits an entry and recomputes the rest of the chain
	 * with another key still fails at the edited entry. */
	struct audit_entry e[N];
	memcpy(e, chain, sizeof(e));
	snprintf(e[2].action, sizeof(e[2].action), "secret.list");
	struct secbuf *saved = key;
	key = secbuf_new(32);
	randombytes_buf(key->data, key->len);
	link_chain(e + 2, N - 2, e[1].hash);
	secbuf_free(key);
	key = saved;
	assert_bad_at(e, N, 3, "seq 3 forged and re-chained with another key");
}
END_TEST

/* Changing any one field changes the hash: all of them are covered. */
START_TEST(test_every_field_is_covered_by_the_hash)
{
	struct audit_entry e = chain[0];
	uint8_t h[AUDIT_HASH_BYTES];
	struct audit_entry v[12];
	for (int i = 0; i < 12; i++)
		v[i] = e;
	v[0].seq++;
	v[1].time_ms++;
	v[2].uid = -1;
	v[3].gid++;
	v[4].pid++;
	v[5].accessor[0] = 'X';
	v[6].action[0] = 'X';
	v[7].name[0] = 'X';
	v[8].result[0] = 'X';
	v[9].status = 500;
	v[10].prev_hash[31] ^= 1;
	/* Moving a byte across a string boundary: "acc1" "secret.read" versus
	 * "acc1s" "ecret.read" differ thanks to the length prefixes. */
	snprintf(v[11].accessor, sizeof(v[11].accessor), "acc1s");
	snprintf(v[11].action, sizeof(v[11].action), "ecret.read");
	for (int i = 0; i < 12; i++) {
		audit_chain_hash(key, &v[i], h);
		ck_assert_msg(memcmp(h, e.hash, AUDIT_HASH_BYTES) != 0,
		              "variant %d hashes the same", i);
	}
	/* The stored hash field itself is not an input. */
	struct audit_entry w = e;
	memset(w.hash, 0xff, sizeof(w.hash));
	audit_chain_hash(key, &w, h);
	ck_assert(memcmp(h, e.hash, AUDIT_HASH_BYTES) == 0);
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("audit_chain");
	TCase *tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_intact_chain_verifies);
	tcase_add_test(tc, test_changed_entry_is_reported);
	tcase_add_test(tc, test_dropped_entry_is_reported);
	tcase_add_test(tc, test_reordered_entries_are_reported);
	tcase_add_test(tc, test_wrong_key_or_start_fails_at_the_first_entry);
	tcase_add_test(tc, test_rehashed_forgery_without_the_key_is_found);
	tcase_add_test(tc, test_every_field_is_covered_by_the_hash);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(audit_suite());
}
