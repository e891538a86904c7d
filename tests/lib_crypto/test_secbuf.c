/* secbuf and process hygiene: zeroed guarded buffers with a trailing NUL,
 * read-only protection that really refuses writes, jansson's wipe-on-free
 * allocators installed, no core dumps after hardening. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

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
	tcase_add_test(tc, test_readonly_refuses_writes_and_readwrite_restores);
	tcase_add_test(tc, test_free_accepts_readonly_and_null);
	suite_add_tcase(s, tc);
	TCase *hy = tcase_create("hygiene");
	tcase_add_test(hy, test_init_installs_wiping_allocators_for_jansson);
	tcase_add_test(hy, test_init_is_idempotent);
	tcase_add_test(hy, test_harden_process_disables_core_dumps);
	suite_add_tcase(s, hy);
	return s;
}

int main(void)
{
	return run_suite(secbuf_suite());
}
