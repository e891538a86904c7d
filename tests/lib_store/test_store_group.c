/* Group commit (lib/store_group.c): writers that queue behind a running
 * transaction share the next one; each keeps or loses only its own changes;
 * store_put_audited chains its entry in the write's own transaction. */
#include <pthread.h>
#include <time.h>

#include "check_support.h"
#include "store_private.h"
#include "store_test.h"

#define FOLLOWERS 7

struct op_arg {
	int id;
	bool hold; /* the first op: keep the leadership until the others queue */
	int result;
};

/* Writes policy p<id>, then refuses if id is odd: its own write must vanish
 * while the even ones in the same transaction stay. */
static int policy_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct op_arg *a = ctx;
	if (a->hold) {
		for (int i = 0; i < 5000 && store_group_queued(s) < FOLLOWERS; i++)
			nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	char name[16];
	snprintf(name, sizeof(name), "p%d", a->id);
	int r = s->ops->policy_put(tx, name, "{}");
	if (r == 0 && a->id % 2 == 1)
		return STORE_E_CONFLICT;
	return r;
}

static void *op_main(void *arg)
{
	struct op_arg *a = arg;
	a->result = store_run_grouped(F.s, policy_body, a);
	return NULL;
}

START_TEST(test_queued_writers_share_one_transaction)
{
	struct op_arg args[FOLLOWERS + 1];
	pthread_t th[FOLLOWERS + 1];
	uint64_t before = store_group_batches(F.s);
	args[0] = (struct op_arg){.id = 0, .hold = true};
	ck_assert_int_eq(pthread_create(&th[0], NULL, op_main, &args[0]), 0);
	while (store_group_batches(F.s) == before) /* thread 0 leads now */
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	for (int i = 1; i <= FOLLOWERS; i++) {
		args[i] = (struct op_arg){.id = i};
		ck_assert_int_eq(pthread_create(&th[i], NULL, op_main, &args[i]), 0);
	}
	for (int i = 0; i <= FOLLOWERS; i++)
		pthread_join(th[i], NULL);
	/* thread 0's own, then one for all seven that queued behind it */
	ck_assert_uint_eq(store_group_batches(F.s) - before, 2);
	for (int i = 0; i <= FOLLOWERS; i++) {
		char name[16], *json = NULL;
		snprintf(name, sizeof(name), "p%d", i);
		int r = store_policy_get(F.s, name, &json);
		if (i % 2 == 1) {
			ck_assert_int_eq(args[i].result, STORE_E_CONFLICT);
			ck_assert_int_eq(r, STORE_E_NOTFOUND);
		} else {
			ck_assert_int_eq(args[i].result, 0);
			ck_assert_int_eq(r, 0);
			ck_assert_str_eq(json, "{}");
		}
		free(json);
	}
}
END_TEST

START_TEST(test_sealed_store_fails_every_grouped_writer)
{
	store_seal(F.s);
	struct op_arg a = {.id = 2};
	ck_assert_int_eq(store_run_grouped(F.s, policy_body, &a), STORE_E_SEALED);
}
END_TEST

#define PUTTERS 8

struct putter {
	int id;
	int rounds;
	int conflicts, wins, errors;
};

/* Every thread writes its own secret and races the others for "shared"
 * with check-and-set on the version it read: a conflict in a shared
 * transaction must not undo the writes of its neighbours. */
static void *putter_main(void *arg)
{
	struct putter *p = arg;
	char name[32], val[32];
	snprintf(name, sizeof(name), "own%d", p->id);
	for (int i = 1; i <= p->rounds; i++) {
		snprintf(val, sizeof(val), "%d-%d", p->id, i);
		uint64_t v = 0;
		if (store_put(F.s, name, (const uint8_t *)val, strlen(val), -1, NULL, "t", &v) !=
		        0 ||
		    v != (uint64_t)i)
			p->errors++;
		struct secret_meta m;
		memset(&m, 0, sizeof(m));
		if (store_meta_get(F.s, "shared", &m) != 0) {
			p->errors++;
			continue;
		}
		int r = store_put(F.s, "shared", (const uint8_t *)val, strlen(val),
		                  (int64_t)m.current_version, NULL, "t", &v);
		secret_meta_clear(&m);
		if (r == 0)
			p->wins++;
		else if (r == STORE_E_CONFLICT)
			p->conflicts++;
		else
			p->errors++;
	}
	return NULL;
}

START_TEST(test_concurrent_puts_with_conflicts_lose_nothing)
{
	put_str(F.s, "shared", "start");
	int rounds = under_valgrind() ? 5 : 50;
	struct putter p[PUTTERS];
	pthread_t th[PUTTERS];
	for (int i = 0; i < PUTTERS; i++) {
		p[i] = (struct putter){.id = i, .rounds = rounds};
		ck_assert_int_eq(pthread_create(&th[i], NULL, putter_main, &p[i]), 0);
	}
	int wins = 0;
	for (int i = 0; i < PUTTERS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(p[i].errors == 0, "putter %d saw %d errors", i, p[i].errors);
		wins += p[i].wins;
	}
	for (int i = 0; i < PUTTERS; i++) {
		char name[32], val[32];
		snprintf(name, sizeof(name), "own%d", i);
		snprintf(val, sizeof(val), "%d-%d", i, rounds);
		assert_value(F.s, name, STAGE_CURRENT, 0, val, (uint64_t)rounds);
	}
	/* every win made exactly one version, every conflict none */
	struct secret_meta m;
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(store_meta_get(F.s, "shared", &m), 0);
	ck_assert_uint_eq(m.current_version, 1 + (uint64_t)wins);
	secret_meta_clear(&m);
	reopen(true); /* acknowledged means on disk */
	char val[32];
	snprintf(val, sizeof(val), "0-%d", rounds);
	assert_value(F.s, "own0", STAGE_CURRENT, 0, val, (uint64_t)rounds);
}
END_TEST

static void fill_entry(struct audit_entry *e, const char *action)
{
	memset(e, 0, sizeof(*e));
	e->time_ms = 1;
	e->uid = 1000;
	e->gid = 1000;
	e->pid = 42;
	snprintf(e->action, sizeof(e->action), "%s", action);
	snprintf(e->name, sizeof(e->name), "db");
	snprintf(e->result, sizeof(e->result), "ok");
	e->status = 200;
}

START_TEST(test_put_audited_chains_its_entry_with_the_write)
{
	struct audit_entry e;
	fill_entry(&e, "secret.write");
	uint64_t v = 0;
	ck_assert_int_eq(
	    store_put_audited(F.s, "db", (const uint8_t *)"one", 3, -1, NULL, "t", &e, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_uint_eq(e.seq, 1);
	struct audit_entry *got = NULL;
	size_t n = 0;
	ck_assert_int_eq(store_audit_read(F.s, 0, 10, &got, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(got[0].action, "secret.write");
	ck_assert_mem_eq(got[0].hash, e.hash, AUDIT_HASH_BYTES);
	free(got);
	ck_assert_int_eq(store_audit_verify(F.s, NULL, NULL), 0);
}
END_TEST

START_TEST(test_refused_put_audited_records_nothing)
{
	put_str(F.s, "db", "one");
	struct audit_entry e;
	fill_entry(&e, "secret.write");
	struct audit_entry before = e;
	uint64_t v = 0;
	ck_assert_int_eq(
	    store_put_audited(F.s, "db", (const uint8_t *)"two", 3, 7, NULL, "t", &e, &v),
	    STORE_E_CONFLICT);
	ck_assert_mem_eq(&e, &before, sizeof(e));
	struct audit_entry *got = NULL;
	size_t n = 9;
	ck_assert_int_eq(store_audit_read(F.s, 0, 10, &got, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(got);
	assert_value(F.s, "db", STAGE_CURRENT, 0, "one", 1);
}
END_TEST

static Suite *group_suite(void)
{
	Suite *s = suite_create("store_group");
	TCase *tc = store_tcase("group", true);
	tcase_add_test(tc, test_queued_writers_share_one_transaction);
	tcase_add_test(tc, test_sealed_store_fails_every_grouped_writer);
	tcase_add_test(tc, test_concurrent_puts_with_conflicts_lose_nothing);
	tcase_add_test(tc, test_put_audited_chains_its_entry_with_the_write);
	tcase_add_test(tc, test_refused_put_audited_records_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(group_suite());
}
