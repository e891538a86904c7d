/* The leftover finder of compose migrate: which planned secret's value still
 * shows in a scalar, checked case by case and against the plain search it
 * replaced (one memmem per secret) on random values and scalars. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "check_support.h"
#include "compose_leftovers.h"

struct values {
	struct secbuf *v[64];
	const struct secbuf *view[64];
	size_t n;
};

static void add(struct values *vs, const char *s)
{
	vs->v[vs->n] = s ? secbuf_dup(s, strlen(s)) : NULL;
	ck_assert(!s || vs->v[vs->n]);
	vs->view[vs->n] = vs->v[vs->n];
	vs->n++;
}

static void drop(struct values *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		secbuf_free(vs->v[i]);
	vs->n = 0;
}

static long find(const struct leftovers *l, const char *s)
{
	return leftovers_find(l, s, strlen(s));
}

START_TEST(test_whole_part_short_and_lowest_index)
{
	struct values vs = {0};
	add(&vs, "abcdef"); /* 0 */
	add(&vs, "cdef");   /* 1 */
	add(&vs, "xy");     /* 2: short, whole scalars only */
	add(&vs, NULL);     /* 3: skipped */
	add(&vs, "abcdQ");  /* 4: same first four bytes as 0 */
	add(&vs, "");       /* 5: empty, matches the empty scalar only */
	struct leftovers *l = leftovers_new(vs.view, vs.n);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(find(l, "abcdef"), 0);
	ck_assert_int_eq(find(l, "--cdef--"), 1);
	ck_assert_int_eq(find(l, "zzcdefabcdef"), 0); /* the lowest index, not the first place */
	ck_assert_int_eq(find(l, "xy"), 2);
	ck_assert_int_eq(find(l, "axy"), -1);
	ck_assert_int_eq(find(l, "abcdQ"), 4);
	ck_assert_int_eq(find(l, "abcde"), -1); /* value 0 runs past the end */
	ck_assert_int_eq(find(l, "abcd"), -1);
	ck_assert_int_eq(find(l, ""), 5);
	ck_assert_int_eq(find(l, "nothing here"), -1);
	leftovers_free(l);
	drop(&vs);
}
END_TEST

/* What warn_leftovers did before the index: whole match for any value, a
 * substring for values of at least LEFTOVERS_MIN_BYTES, lowest index. */
static long plain(const struct values *vs, const char *s, size_t len)
{
	for (size_t i = 0; i < vs->n; i++) {
		const struct secbuf *v = vs->v[i];
		if (!v)
			continue;
		if (v->len == len && memcmp(s, v->data, len) == 0)
			return (long)i;
		for (size_t at = 0; v->len >= LEFTOVERS_MIN_BYTES && at + v->len <= len; at++)
			if (memcmp(s + at, v->data, v->len) == 0)
				return (long)i;
	}
	return -1;
}

/* Over a narrow alphabet many values share their first bytes (past the
 * table's crowd limit); long values are past its length limit: both go
 * the other way (one memmem each) and must answer the same. */
static const char *g_alpha = "abAB0-";

static void random_text(char *out, size_t len)
{
	size_t n = strlen(g_alpha);
	for (size_t i = 0; i < len; i++)
		out[i] = g_alpha[randombytes_uniform((uint32_t)n)];
	out[len] = '\0';
}

START_TEST(test_same_answers_as_one_search_per_value)
{
	for (int round = 0; round < 600; round++) {
		g_alpha = round % 3 == 0 ? "ab" : "abAB0-";
		size_t maxlen = round % 3 == 1 ? 90 : 9;
		struct values vs = {0};
		size_t n = 1 + randombytes_uniform(40);
		for (size_t i = 0; i < n; i++) {
			char t[100];
			random_text(t, randombytes_uniform((uint32_t)maxlen));
			add(&vs, randombytes_uniform(10) ? t : NULL);
		}
		struct leftovers *l = leftovers_new(vs.view, vs.n);
		ck_assert_ptr_nonnull(l);
		for (int k = 0; k < 50; k++) {
			char s[256];
			size_t len = randombytes_uniform(24);
			random_text(s, len);
			const struct secbuf *v = vs.v[randombytes_uniform((uint32_t)vs.n)];
			if (v && randombytes_uniform(2)) { /* plant a value, then more text */
				memcpy(s + len, v->data, v->len);
				len += v->len;
				size_t more = randombytes_uniform(8);
				random_text(s + len, more);
				len += more;
			}
			ck_assert_int_eq(leftovers_find(l, s, len), plain(&vs, s, len));
		}
		leftovers_free(l);
		drop(&vs);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compose-leftovers");
	TCase *t = tcase_create("leftovers");
	tcase_add_test(t, test_whole_part_short_and_lowest_index);
	tcase_add_test(t, test_same_answers_as_one_search_per_value);
	suite_add_tcase(s, t);
	return check_support_run(s);
}
