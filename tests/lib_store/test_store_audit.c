/* The audit log in the store: batched appends build the keyed hash chain,
 * reads page through it, and verify names the first changed, deleted or
 * reordered entry, also a deleted tail. Tampering is raw SQL on the file. */
#include <signal.h>
#include <sys/wait.h>

#include "check_support.h"
#include "store_test.h"

#define ENTRIES 8

static void fill_entry(struct audit_entry *e, int i)
{
	memset(e, 0, sizeof(*e));
	e->time_ms = 1700000000000 + i;
	e->uid = 1000 + i;
	e->gid = 1000;
	e->pid = 4242;
	snprintf(e->accessor, sizeof(e->accessor), "acc%d", i % 3);
	snprintf(e->action, sizeof(e->action), "secret.read");
	snprintf(e->name, sizeof(e->name), "db%d", i);
	snprintf(e->result, sizeof(e->result), i % 2 ? "denied" : "ok");
	e->status = i % 2 ? 403 : 200;
}

/* Appends ENTRIES entries in batches of 3 (group commit as vaultd does). */
static void append_entries(int n)
{
	struct audit_entry e[3];
	for (int i = 0; i < n;) {
		int k = n - i < 3 ? n - i : 3;
		for (int j = 0; j < k; j++)
			fill_entry(&e[j], i + j);
		ck_assert_int_eq(store_audit_append(F.s, e, (size_t)k), 0);
		i += k;
	}
}

static void assert_verify_ok(uint64_t want_checked)
{
	uint64_t checked = 999, bad = 999;
	int r = store_audit_verify(F.s, &checked, &bad);
	ck_assert_msg(r == 0, "verify: %d, first bad %llu", r, (unsigned long long)bad);
	ck_assert_uint_eq(checked, want_checked);
}

static void assert_verify_bad(uint64_t want_bad)
{
	uint64_t checked = 999, bad = 0;
	ck_assert_int_eq(store_audit_verify(F.s, &checked, &bad), -EBADMSG);
	ck_assert_msg(bad == want_bad, "first bad: want %llu, got %llu",
	              (unsigned long long)want_bad, (unsigned long long)bad);
	ck_assert_uint_eq(checked, want_bad - 1);
}

START_TEST(test_append_assigns_seq_and_chains_hashes)
{
	struct audit_entry e[3];
	for (int i = 0; i < 3; i++)
		fill_entry(&e[i], i);
	ck_assert_int_eq(store_audit_append(F.s, e, 3), 0);
	uint8_t zero[AUDIT_HASH_BYTES] = {0};
	ck_assert_uint_eq(e[0].seq, 1);
	ck_assert_uint_eq(e[2].seq, 3);
	ck_assert_mem_eq(e[0].prev_hash, zero, AUDIT_HASH_BYTES);
	ck_assert_mem_eq(e[1].prev_hash, e[0].hash, AUDIT_HASH_BYTES);
	ck_assert_mem_eq(e[2].prev_hash, e[1].hash, AUDIT_HASH_BYTES);
	ck_assert(memcmp(e[0].hash, zero, AUDIT_HASH_BYTES) != 0);
	struct audit_entry more;
	fill_entry(&more, 3);
	ck_assert_int_eq(store_audit_append(F.s, &more, 1), 0);
	ck_assert_uint_eq(more.seq, 4);
	ck_assert_mem_eq(more.prev_hash, e[2].hash, AUDIT_HASH_BYTES);
}
END_TEST

START_TEST(test_append_refuses_unterminated_fields_and_writes_nothing)
{
	struct audit_entry e[2];
	fill_entry(&e[0], 0);
	fill_entry(&e[1], 1);
	memset(e[1].action, 'x', sizeof(e[1].action));
	ck_assert_int_eq(store_audit_append(F.s, e, 2), STORE_E_INVAL);
	ck_assert_uint_eq(e[0].seq, 0);
	struct audit_entry *got;
	size_t n;
	ck_assert_int_eq(store_audit_read(F.s, 0, 100, &got, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(got);
}
END_TEST

START_TEST(test_read_returns_entries_after_since)
{
	append_entries(ENTRIES);
	struct audit_entry *got;
	size_t n;
	ck_assert_int_eq(store_audit_read(F.s, 0, 100, &got, &n), 0);
	ck_assert_uint_eq(n, ENTRIES);
	ck_assert_uint_eq(got[0].seq, 1);
	ck_assert_str_eq(got[1].result, "denied");
	ck_assert_int_eq(got[1].status, 403);
	ck_assert_str_eq(got[2].name, "db2");
	ck_assert_int_eq(got[2].uid, 1002);
	free(got);
	ck_assert_int_eq(store_audit_read(F.s, 5, 2, &got, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(got[0].seq, 6);
	ck_assert_uint_eq(got[1].seq, 7);
	free(got);
	ck_assert_int_eq(store_audit_read(F.s, ENTRIES, 10, &got, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(got);
}
END_TEST

START_TEST(test_read_last_returns_the_newest_entries_in_order)
{
	struct audit_entry *got;
	size_t n = 99;
	ck_assert_int_eq(store_audit_read_last(F.s, 3, &got, &n), 0);
	ck_assert_uint_eq(n, 0); /* an empty log */
	free(got);
	append_entries(ENTRIES);
	ck_assert_int_eq(store_audit_read_last(F.s, 3, &got, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(got[i].seq, ENTRIES - 2 + i);
	ck_assert_str_eq(got[2].name, "db7");
	free(got);
	ck_assert_int_eq(store_audit_read_last(F.s, ENTRIES + 5, &got, &n), 0);
	ck_assert_uint_eq(n, ENTRIES); /* more than there are: all, from 1 */
	ck_assert_uint_eq(got[0].seq, 1);
	free(got);
}
END_TEST

START_TEST(test_verify_of_empty_log_is_ok)
{
	assert_verify_ok(0);
}
END_TEST

START_TEST(test_verify_of_intact_log_is_ok)
{
	append_entries(ENTRIES);
	assert_verify_ok(ENTRIES);
	reopen(true);
	assert_verify_ok(ENTRIES);
}
END_TEST

START_TEST(test_chain_continues_after_reopen)
{
	append_entries(3);
	reopen(true);
	append_entries(2);
	assert_verify_ok(5);
}
END_TEST

START_TEST(test_verify_detects_changed_entry)
{
	append_entries(ENTRIES);
	raw_exec(F.db, "UPDATE audit SET result = 'ok' WHERE seq = 4");
	assert_verify_bad(4);
}
END_TEST

START_TEST(test_verify_detects_changed_hash)
{
	append_entries(ENTRIES);
	raw_exec(F.db, "UPDATE audit SET hash = zeroblob(32) WHERE seq = 6");
	assert_verify_bad(6);
}
END_TEST

START_TEST(test_verify_detects_deleted_entry)
{
	append_entries(ENTRIES);
	raw_exec(F.db, "DELETE FROM audit WHERE seq = 5");
	assert_verify_bad(5);
}
END_TEST

START_TEST(test_verify_detects_swapped_entries)
{
	append_entries(ENTRIES);
	raw_exec(F.db, "UPDATE audit SET seq = 1000 WHERE seq = 3;"
	               "UPDATE audit SET seq = 3 WHERE seq = 6;"
	               "UPDATE audit SET seq = 6 WHERE seq = 1000");
	assert_verify_bad(3);
}
END_TEST

START_TEST(test_verify_detects_deleted_last_entry)
{
	append_entries(ENTRIES);
	raw_exec(F.db, "DELETE FROM audit WHERE seq = 8");
	assert_verify_bad(8);
}
END_TEST

START_TEST(test_verify_detects_cut_tail_with_rewritten_head)
{
	append_entries(ENTRIES);
	/* cut two entries and point the head at the new last one: without the
	 * audit key the head's tag cannot be made to match */
	raw_exec(F.db, "DELETE FROM audit WHERE seq > 6;"
	               "UPDATE store SET audit_seq = 6,"
	               " audit_hash = (SELECT hash FROM audit WHERE seq = 6)");
	assert_verify_bad(7);
}
END_TEST

START_TEST(test_verify_detects_every_entry_deleted)
{
	append_entries(ENTRIES);
	raw_exec(F.db, "DELETE FROM audit");
	assert_verify_bad(1);
}
END_TEST

START_TEST(test_verify_detects_appended_forgery)
{
	append_entries(ENTRIES);
	raw_exec(F.db,
	         "INSERT INTO audit SELECT seq + 1, time_ms, uid, gid, pid, accessor,"
	         " action, name, result, status, hash, zeroblob(32) FROM audit WHERE seq = 8");
	assert_verify_bad(9);
}
END_TEST

START_TEST(test_verify_reads_long_logs_in_chunks)
{
	/* more than one verify chunk (1024) */
	int n = under_valgrind() ? 1100 : 2500;
	struct audit_entry *e = calloc((size_t)n, sizeof(*e));
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < n; i++)
		fill_entry(&e[i], i);
	ck_assert_int_eq(store_audit_append(F.s, e, (size_t)n), 0);
	free(e);
	assert_verify_ok((uint64_t)n);
	raw_exec(F.db, "DELETE FROM audit WHERE seq = 1025");
	assert_verify_bad(1025);
}
END_TEST

/* Unsynced appends (vaultd's read entries) are committed at once: a process
 * killed right after loses none of them, durable writes in between keep
 * their place in the chain, and store_sync succeeds. */
START_TEST(test_unsynced_entries_survive_the_process_dying)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct audit_entry e[3];
		for (int j = 0; j < 3; j++)
			fill_entry(&e[j], j);
		bool ok = store_audit_append_unsynced(F.s, e, 3) == 0 && e[2].seq == 3;
		uint64_t v = 0;
		ok = ok && store_put(F.s, "db", (const uint8_t *)"v", 1, -1, NULL, "t", &v) == 0;
		for (int j = 0; j < 3; j++)
			fill_entry(&e[j], 3 + j);
		ok = ok && store_audit_append_unsynced(F.s, e, 3) == 0 && e[0].seq == 4;
		if (!ok)
			_exit(1);
		raise(SIGKILL); /* no close, no checkpoint */
		_exit(2);
	}
	int st = 0;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %d", st);
	reopen(true);
	struct audit_entry *got = NULL;
	size_t n = 0;
	ck_assert_int_eq(store_audit_read(F.s, 0, 100, &got, &n), 0);
	ck_assert_uint_eq(n, 6);
	for (size_t k = 0; k < n; k++)
		ck_assert_uint_eq(got[k].seq, k + 1);
	ck_assert_str_eq(got[5].name, "db5");
	free(got);
	assert_verify_ok(6);
	assert_value(F.s, "db", STAGE_CURRENT, 0, "v", 1);
	ck_assert_int_eq(store_sync(F.s), 0);
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("store_audit");
	TCase *tc = store_tcase("append_read", true);
	tcase_add_test(tc, test_append_assigns_seq_and_chains_hashes);
	tcase_add_test(tc, test_append_refuses_unterminated_fields_and_writes_nothing);
	tcase_add_test(tc, test_read_returns_entries_after_since);
	tcase_add_test(tc, test_read_last_returns_the_newest_entries_in_order);
	tcase_add_test(tc, test_chain_continues_after_reopen);
	tcase_add_test(tc, test_unsynced_entries_survive_the_process_dying);
	suite_add_tcase(s, tc);

	tc = store_tcase("verify", true);
	tcase_add_test(tc, test_verify_of_empty_log_is_ok);
	tcase_add_test(tc, test_verify_of_intact_log_is_ok);
	tcase_add_test(tc, test_verify_detects_changed_entry);
	tcase_add_test(tc, test_verify_detects_changed_hash);
	tcase_add_test(tc, test_verify_detects_deleted_entry);
	tcase_add_test(tc, test_verify_detects_swapped_entries);
	tcase_add_test(tc, test_verify_detects_deleted_last_entry);
	tcase_add_test(tc, test_verify_detects_cut_tail_with_rewritten_head);
	tcase_add_test(tc, test_verify_detects_every_entry_deleted);
	tcase_add_test(tc, test_verify_detects_appended_forgery);
	tcase_add_test(tc, test_verify_reads_long_logs_in_chunks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(audit_suite());
}
