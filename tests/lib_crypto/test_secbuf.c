/* secbuf and process hygiene: zeroed guarded buffers with a trailing NUL,
 * read-only protection that really refuses writes, a recycling pool that
 * hands out wiped buffers and keeps its caps under 8 threads, jansson's
 * wipe-on-free allocators installed, no core dumps after hardening. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_support.h"
#include "crypto_test.h"
#include "secbuf.h"

/* Whether the kernel may write into p: read(2) into a read-only page fails
 * with EFAULT instead of raising a signal, so this probes the protection. */
static int kernel_write_errno(void *p)
{
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ssize_t r = read(fd, p, 1);
	int e = r < 0 ? errno : 0;
	close(fd);
	return e;
}

START_TEST(test_new_is_zero_filled_with_trailing_nul)
{
	struct secbuf *b = secbuf_new(100);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->len, 100);
	for (size_t i = 0; i <= b->len; i++)
		ck_assert_msg(b->data[i] == 0, "byte %zu is %u, expected 0", i, b->data[i]);
	secbuf_free(b);
}
END_TEST

START_TEST(test_new_zero_length_is_an_empty_string)
{
	struct secbuf *b = secbuf_new(0);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->len, 0);
	ck_assert_str_eq((const char *)b->data, "");
	secbuf_free(b);
}
END_TEST

START_TEST(test_dup_copies_and_terminates)
{
	struct secbuf *b = secbuf_dup("hunter2", 7);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->len, 7);
	ck_assert_str_eq((const char *)b->data, "hunter2");
	secbuf_free(b);
}
END_TEST

START_TEST(test_equal_needs_same_length_and_bytes)
{
	struct secbuf *a = secbuf_dup("hunter2", 7), *b = secbuf_dup("hunter2", 7);
	struct secbuf *c = secbuf_dup("hunter3", 7), *d = secbuf_dup("hunter", 6);
	ck_assert(a && b && c && d);
	ck_assert(secbuf_equal(a, b));
	ck_assert(!secbuf_equal(a, c));
	ck_assert(!secbuf_equal(a, d)); /* a prefix is not the value */
	ck_assert(!secbuf_equal(d, a));
	secbuf_free(a);
	secbuf_free(b);
	secbuf_free(c);
	secbuf_free(d);
}
END_TEST

START_TEST(test_readonly_refuses_writes_and_readwrite_restores)
{
	struct secbuf *b = secbuf_dup("key", 3);
	ck_assert_int_eq(kernel_write_errno(b->data), 0);
	ck_assert_int_eq(secbuf_readonly(b), 0);
	ck_assert_int_eq(kernel_write_errno(b->data), EFAULT);
	ck_assert_int_eq(secbuf_readwrite(b), 0);
	ck_assert_int_eq(kernel_write_errno(b->data), 0);
	secbuf_free(b);
}
END_TEST

START_TEST(test_free_accepts_readonly_and_null)
{
	struct secbuf *b = secbuf_dup("key", 3);
	ck_assert_int_eq(secbuf_readonly(b), 0);
	secbuf_free(b); /* would crash if free did not make it writable first */
	secbuf_free(NULL);
	struct secbuf *c _cleanup_secbuf_ = secbuf_new(8);
	ck_assert_ptr_nonnull(c);
}
END_TEST

/* ---- the recycling pool ----
 * Every test starts from an empty pool: without CK_FORK (valgrind) the
 * tests share one process. */

/* Whether every byte of [p, p + n) is zero; the index of the first that is
 * not, or n. */
static size_t first_nonzero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return i;
	return n;
}

START_TEST(test_recycled_buffer_comes_back_zero_filled)
{
	secbuf_pool_drain();
	struct secbuf *a = secbuf_new(40);
	ck_assert_ptr_nonnull(a);
	memset(a->data, 0xaa, a->len);
	unsigned char *old = a->data;
	secbuf_free(a);
	ck_assert_uint_eq(secbuf_pool_cached(40), 1);

	struct secbuf *b = secbuf_new(40);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_eq(b->data, old); /* really the recycled region */
	ck_assert_uint_eq(secbuf_pool_cached(40), 0);
	ck_assert_uint_eq(first_nonzero(b->data, b->len + 1), b->len + 1);
	secbuf_free(b);
}
END_TEST

START_TEST(test_reuse_at_a_smaller_len_shows_no_stale_bytes)
{
	secbuf_pool_drain();
	struct secbuf *a = secbuf_new(60);
	memset(a->data, 0x5a, a->len);
	unsigned char *old = a->data, *end = a->data + a->len + 1;
	secbuf_free(a);

	/* Same class (64 B), so the same region; data now starts later. */
	struct secbuf *b = secbuf_new(10);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_eq(b->data + b->len + 1, end);
	ck_assert_uint_eq(b->data[b->len], 0);
	/* White box: the whole old range, not only the new len, is zero. */
	ck_assert_uint_eq(first_nonzero(old, (size_t)(end - old)), (size_t)(end - old));
	secbuf_free(b);
}
END_TEST

START_TEST(test_lowered_len_is_still_wiped_over_the_whole_class)
{
	secbuf_pool_drain();
	struct secbuf *a = secbuf_new(60);
	memset(a->data, 0x5a, a->len);
	unsigned char *old = a->data;
	a->len = 5; /* as dotenv does after unescaping in place */
	a->data[a->len] = 0;
	secbuf_free(a);

	struct secbuf *b = secbuf_new(60);
	ck_assert_ptr_eq(b->data, old);
	ck_assert_uint_eq(first_nonzero(b->data, 61), 61);
	secbuf_free(b);
}
END_TEST

/* Lengths at and around class edges, the largest pooled one and the first
 * that bypasses the pool. */
static const size_t edge_lens[] = {0, 1, 62, 63, 64, 127, 128, 1000, 4095, 4096, 65535,
                                   SECBUF_POOL_MAX_LEN, SECBUF_POOL_MAX_LEN + 1};

START_TEST(test_every_class_gives_len_zero_bytes_and_a_trailing_nul)
{
	size_t len = edge_lens[_i];
	for (int round = 0; round < 2; round++) { /* fresh, then recycled */
		struct secbuf *b = secbuf_new(len);
		ck_assert_ptr_nonnull(b);
		ck_assert_uint_eq(b->len, len);
		ck_assert_msg(first_nonzero(b->data, len + 1) == len + 1,
		              "len %zu round %d: not zero-filled", len, round);
		memset(b->data, 0xff, len);
		ck_assert_uint_eq(b->data[len], 0);
		secbuf_free(b);
	}
}
END_TEST

START_TEST(test_overrun_past_the_nul_hits_the_guard_page)
{
	size_t len = edge_lens[_i];
	for (int round = 0; round < 2; round++) {
		struct secbuf *b = secbuf_new(len);
		/* Exact length, not the class size: the buffer ends at the page. */
		ck_assert_int_eq(kernel_write_errno(b->data + len), 0);
		ck_assert_int_eq(kernel_write_errno(b->data + len + 1), EFAULT);
		b->data[len] = 0;
		secbuf_free(b);
	}
}
END_TEST

/* keep: the kept bytes end at the guard page, everything before them in
 * the region is wiped, and a bad range or a read-only buffer changes nothing. */
static const size_t keep_lens[] = {100, 5000, SECBUF_POOL_MAX_LEN + 1};

START_TEST(test_keep_moves_the_range_against_the_guard_page_and_wipes_the_rest)
{
	size_t len = keep_lens[_i];
	struct secbuf *b = secbuf_new(len);
	for (size_t i = 0; i < len; i++)
		b->data[i] = (unsigned char)(1 + i % 251);
	unsigned char *old = b->data;
	size_t off = len / 3, keep = len / 4;
	ck_assert_int_eq(secbuf_keep(b, off, keep), 0);
	ck_assert_uint_eq(b->len, keep);
	ck_assert_ptr_eq(b->data, old + (len - keep));
	for (size_t i = 0; i < keep; i++)
		ck_assert_uint_eq(b->data[i], (unsigned char)(1 + (off + i) % 251));
	ck_assert_uint_eq(b->data[keep], 0);
	ck_assert_int_eq(kernel_write_errno(b->data + keep + 1), EFAULT);
	size_t before = (size_t)(b->data - old);
	ck_assert_uint_eq(first_nonzero(old, before), before);
	secbuf_free(b);
}
END_TEST

START_TEST(test_keep_refuses_bad_ranges_and_read_only_buffers)
{
	struct secbuf *b = secbuf_dup("abcdef", 6);
	unsigned char *old = b->data;
	ck_assert_int_eq(secbuf_keep(b, 7, 0), -EINVAL);
	ck_assert_int_eq(secbuf_keep(b, 2, 5), -EINVAL);
	ck_assert_int_eq(secbuf_keep(NULL, 0, 0), -EINVAL);
	ck_assert_int_eq(secbuf_readonly(b), 0);
	ck_assert_int_eq(secbuf_keep(b, 0, 1), -EINVAL);
	ck_assert_int_eq(secbuf_readwrite(b), 0);
	ck_assert_ptr_eq(b->data, old);
	ck_assert_str_eq((const char *)b->data, "abcdef");
	ck_assert_int_eq(secbuf_keep(b, 6, 0), 0); /* the empty tail is a range */
	ck_assert_uint_eq(b->len, 0);
	ck_assert_uint_eq(b->data[0], 0);
	secbuf_free(b);
}
END_TEST

START_TEST(test_underrun_aborts_on_free)
{
	secbuf_pool_drain();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct secbuf *b = secbuf_new(10);
		b->data[-1] = 1; /* the byte before the buffer, inside its class */
		secbuf_free(b);
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
	              "free after an underrun did not abort (status %d)", st);
}
END_TEST

START_TEST(test_readonly_buffer_recycles_writable_and_wiped)
{
	secbuf_pool_drain();
	struct secbuf *a = secbuf_dup("0123456789abcdef0123456789abcdef", 32);
	unsigned char *old = a->data;
	ck_assert_int_eq(secbuf_readonly(a), 0);
	secbuf_free(a);
	ck_assert_uint_eq(secbuf_pool_cached(32), 1);

	struct secbuf *b = secbuf_new(32);
	ck_assert_ptr_eq(b->data, old);
	ck_assert_int_eq(kernel_write_errno(b->data), 0);
	ck_assert_uint_eq(first_nonzero(b->data, 33), 33);
	/* and the protection still works on the recycled region */
	ck_assert_int_eq(secbuf_readonly(b), 0);
	ck_assert_int_eq(kernel_write_errno(b->data), EFAULT);
	ck_assert_int_eq(secbuf_readwrite(b), 0);
	ck_assert_int_eq(kernel_write_errno(b->data), 0);
	ck_assert_int_eq(secbuf_readonly(b), 0);
	secbuf_free(b);
}
END_TEST

START_TEST(test_per_class_cap_is_respected)
{
	secbuf_pool_drain();
	enum { N = SECBUF_POOL_MAX_PER_CLASS + 8 };
	struct secbuf *b[N];
	for (int i = 0; i < N; i++)
		ck_assert_ptr_nonnull(b[i] = secbuf_new(32));
	for (int i = 0; i < N; i++)
		secbuf_free(b[i]);
	ck_assert_uint_eq(secbuf_pool_cached(32), SECBUF_POOL_MAX_PER_CLASS);
	ck_assert_uint_gt(secbuf_pool_bytes(), 0);
	ck_assert_uint_le(secbuf_pool_bytes(), SECBUF_POOL_MAX_BYTES);
}
END_TEST

START_TEST(test_total_bytes_cap_is_respected)
{
	secbuf_pool_drain();
	/* 24 buffers of the 256 KiB class hold more than the 4 MiB cap. */
	enum { N = 24, LEN = 200000 };
	_Static_assert((size_t)N * 262144u > SECBUF_POOL_MAX_BYTES, "must exceed the cap");
	struct secbuf *b[N];
	for (int i = 0; i < N; i++)
		ck_assert_ptr_nonnull(b[i] = secbuf_new(LEN));
	for (int i = 0; i < N; i++)
		secbuf_free(b[i]);
	size_t cached = secbuf_pool_cached(LEN);
	ck_assert_uint_gt(cached, 0);
	ck_assert_uint_lt(cached, N);
	ck_assert_uint_le(secbuf_pool_bytes(), SECBUF_POOL_MAX_BYTES);
	ck_assert_uint_ge(secbuf_pool_bytes(), cached * 262144u);
}
END_TEST

START_TEST(test_bypass_sizes_are_never_cached)
{
	secbuf_pool_drain();
	struct secbuf *b = secbuf_new(SECBUF_POOL_MAX_LEN + 1);
	ck_assert_ptr_nonnull(b);
	secbuf_free(b);
	ck_assert_uint_eq(secbuf_pool_cached(SECBUF_POOL_MAX_LEN + 1), 0);
	ck_assert_uint_eq(secbuf_pool_bytes(), 0);
}
END_TEST

START_TEST(test_drain_empties_the_pool)
{
	secbuf_pool_drain();
	for (size_t len = 1; len <= 4096; len *= 4)
		secbuf_free(secbuf_new(len));
	ck_assert_uint_gt(secbuf_pool_bytes(), 0);
	secbuf_pool_drain();
	ck_assert_uint_eq(secbuf_pool_bytes(), 0);
	for (size_t len = 1; len <= 4096; len *= 4)
		ck_assert_uint_eq(secbuf_pool_cached(len), 0);
	struct secbuf *b = secbuf_new(16); /* and it still works after */
	ck_assert_ptr_nonnull(b);
	secbuf_free(b);
}
END_TEST

#define CHURN_THREADS 8
#define CHURN_ROUNDS 3000
#define CHURN_MAX_LEN 3000

struct churn {
	unsigned char tag;
	atomic_int *errors;
};

/* Allocates, checks the zero fill, stamps its tag, yields so that others
 * run while it holds the buffer, and checks nobody else wrote into it. */
static void *churn_main(void *arg)
{
	struct churn *c = arg;
	for (int i = 0; i < CHURN_ROUNDS; i++) {
		size_t len = randombytes_uniform(CHURN_MAX_LEN);
		struct secbuf *b = secbuf_new(len);
		if (!b || first_nonzero(b->data, len + 1) != len + 1) {
			atomic_fetch_add(c->errors, 1);
			secbuf_free(b);
			continue;
		}
		memset(b->data, c->tag, len);
		if (i % 16 == 0)
			sched_yield();
		for (size_t k = 0; k < len; k++)
			if (b->data[k] != c->tag) {
				atomic_fetch_add(c->errors, 1);
				break;
			}
		secbuf_free(b);
	}
	return NULL;
}

START_TEST(test_eight_threads_alloc_and_free_concurrently)
{
	secbuf_pool_drain();
	atomic_int errors = 0;
	pthread_t th[CHURN_THREADS];
	struct churn c[CHURN_THREADS];
	for (int i = 0; i < CHURN_THREADS; i++) {
		c[i] = (struct churn){.tag = (unsigned char)(0xa0 + i), .errors = &errors};
		ck_assert_int_eq(pthread_create(&th[i], NULL, churn_main, &c[i]), 0);
	}
	for (int i = 0; i < CHURN_THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert_int_eq(atomic_load(&errors), 0);
	ck_assert_uint_gt(secbuf_pool_bytes(), 0);
	ck_assert_uint_le(secbuf_pool_bytes(), SECBUF_POOL_MAX_BYTES);
	for (size_t len = 1; len < CHURN_MAX_LEN; len *= 2)
		ck_assert_uint_le(secbuf_pool_cached(len), SECBUF_POOL_MAX_PER_CLASS);
	secbuf_pool_drain();
}
END_TEST

START_TEST(test_init_installs_wiping_allocators_for_jansson)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;
	json_get_alloc_funcs(&m, &f);
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(m != malloc && f != free, "jansson still uses plain malloc/free");
	/* And they work: a string with a secret round-trips through them. */
	json_t *o = json_pack("{s:s}", "value", "s3cret");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "value")), "s3cret");
	json_decref(o);
}
END_TEST

START_TEST(test_init_is_idempotent)
{
	ck_assert_int_eq(vault_init(), 0);
	ck_assert_int_eq(vault_init(), 0);
}
END_TEST

START_TEST(test_harden_process_disables_core_dumps)
{
	ck_assert_int_eq(vault_harden_process(), 0);
	ck_assert_int_eq(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	struct rlimit rl;
	ck_assert_int_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	ck_assert_uint_eq(rl.rlim_cur, 0);
	ck_assert_uint_eq(rl.rlim_max, 0);
}
END_TEST

static Suite *secbuf_suite(void)
{
	Suite *s = suite_create("secbuf");
	TCase *tc = tcase_create("secbuf");
	tcase_add_test(tc, test_new_is_zero_filled_with_trailing_nul);
	tcase_add_test(tc, test_new_zero_length_is_an_empty_string);
	tcase_add_test(tc, test_dup_copies_and_terminates);
	tcase_add_test(tc, test_equal_needs_same_length_and_bytes);
	tcase_add_test(tc, test_readonly_refuses_writes_and_readwrite_restores);
	tcase_add_test(tc, test_free_accepts_readonly_and_null);
	suite_add_tcase(s, tc);
	TCase *pool = tcase_create("pool");
	tcase_set_timeout(pool, 60);
	tcase_add_test(pool, test_recycled_buffer_comes_back_zero_filled);
	tcase_add_test(pool, test_reuse_at_a_smaller_len_shows_no_stale_bytes);
	tcase_add_test(pool, test_lowered_len_is_still_wiped_over_the_whole_class);
	int edges = (int)(sizeof(edge_lens) / sizeof(edge_lens[0]));
	tcase_add_loop_test(pool, test_every_class_gives_len_zero_bytes_and_a_trailing_nul, 0,
	                    edges);
	tcase_add_loop_test(pool, test_overrun_past_the_nul_hits_the_guard_page, 0, edges);
	tcase_add_test(pool, test_underrun_aborts_on_free);
	tcase_add_loop_test(pool, test_keep_moves_the_range_against_the_guard_page_and_wipes_the_rest,
	                    0, sizeof(keep_lens) / sizeof(keep_lens[0]));
	tcase_add_test(pool, test_keep_refuses_bad_ranges_and_read_only_buffers);
	tcase_add_test(pool, test_readonly_buffer_recycles_writable_and_wiped);
	tcase_add_test(pool, test_per_class_cap_is_respected);
	tcase_add_test(pool, test_total_bytes_cap_is_respected);
	tcase_add_test(pool, test_bypass_sizes_are_never_cached);
	tcase_add_test(pool, test_drain_empties_the_pool);
	tcase_add_test(pool, test_eight_threads_alloc_and_free_concurrently);
	suite_add_tcase(s, pool);
	TCase *hy = tcase_create("hygiene");
	tcase_add_test(hy, test_init_installs_wiping_allocators_for_jansson);
	tcase_add_test(hy, test_init_is_idempotent);
	tcase_add_test(hy, test_harden_process_disables_core_dumps);
	suite_add_tcase(s, hy);
	return s;
}

int main(void)
{
	return check_support_run(secbuf_suite());
}
