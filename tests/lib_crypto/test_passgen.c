/* Password generator: exact lengths at the limits, only charset members, the
 * argument checks, and a chi-square test that a modulo-biased generator fails. */
#include <errno.h>
#include <math.h>

#include "check_support.h"
#include "crypto_test.h"
#include "passgen.h"

struct cs {
	const char *name;
	const char *chars;
};

static const struct cs sets[] = {
    {"alnum", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"},
    {"hex", "0123456789abcdef"},
    {"base64url", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"},
    {"ascii", "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
              "abcdefghijklmnopqrstuvwxyz{|}~"},
};

START_TEST(test_lengths_1_and_4096_are_exact)
{
	const size_t lens[] = {PASSGEN_MIN_LEN, PASSGEN_MAX_LEN};
	for (size_t i = 0; i < 2; i++) {
		struct secbuf *p = NULL;
		ck_assert_int_eq(passgen_generate(lens[i], NULL, &p), 0);
		ck_assert_uint_eq(p->len, lens[i]);
		ck_assert_uint_eq(p->data[p->len], 0);
		ck_assert_uint_eq(strlen((const char *)p->data), lens[i]);
		secbuf_free(p);
	}
}
END_TEST

START_TEST(test_lengths_out_of_range_are_refused)
{
	struct secbuf *p = NULL;
	ck_assert_int_eq(passgen_generate(0, "alnum", &p), -EINVAL);
	ck_assert_int_eq(passgen_generate(PASSGEN_MAX_LEN + 1, "alnum", &p), -EINVAL);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_unknown_charset_is_refused)
{
	struct secbuf *p = NULL;
	ck_assert_int_eq(passgen_generate(16, "emoji", &p), -EINVAL);
	ck_assert_int_eq(passgen_generate(16, "", &p), -EINVAL);
	ck_assert_int_eq(passgen_generate(16, "ALNUM", &p), -EINVAL);
	ck_assert_ptr_null(p);
}
END_TEST

/* Every character is in the set, and in 4096 draws every member shows up
 * (all sets have <= 94 members: a miss has probability < 94 * e^-43). */
START_TEST(test_output_uses_exactly_the_charset)
{
	const struct cs *c = &sets[_i];
	struct secbuf *p = NULL;
	ck_assert_int_eq(passgen_generate(PASSGEN_MAX_LEN, c->name, &p), 0);
	bool seen[256] = {false};
	for (size_t i = 0; i < p->len; i++) {
		ck_assert_msg(p->data[i] != 0 && strchr(c->chars, p->data[i]),
		              "%s: byte 0x%02x is not in the charset", c->name, p->data[i]);
		seen[p->data[i]] = true;
	}
	for (const char *q = c->chars; *q; q++)
		ck_assert_msg(seen[(unsigned char)*q], "%s: '%c' never drawn", c->name, *q);
	secbuf_free(p);
}
END_TEST

START_TEST(test_null_charset_means_alnum)
{
	struct secbuf *p = NULL;
	ck_assert_int_eq(passgen_generate(PASSGEN_MAX_LEN, NULL, &p), 0);
	for (size_t i = 0; i < p->len; i++)
		ck_assert(strchr(sets[0].chars, p->data[i]) != NULL);
	secbuf_free(p);
}
END_TEST

/* Chi-square over DRAWS characters against the uniform distribution. The
 * bound is df + 8 * sqrt(2 df) (a fair generator exceeds it with probability
 * < 1e-8). "byte % n", the usual biased shortcut, makes 8 alnum characters
 * (256 % 62 = 8) 25% likelier and 68 ascii ones 50% likelier, which puts its
 * statistic near 1300 and 5300 at this draw count (bounds: 149 and 202). */
#define DRAWS (48 * PASSGEN_MAX_LEN)

static double chi_square(const char *charset, size_t n)
{
	size_t count[256] = {0};
	for (size_t done = 0; done < DRAWS; done += PASSGEN_MAX_LEN) {
		struct secbuf *p = NULL;
		ck_assert_int_eq(passgen_generate(PASSGEN_MAX_LEN, charset, &p), 0);
		for (size_t i = 0; i < p->len; i++)
			count[p->data[i]]++;
		secbuf_free(p);
	}
	double expect = (double)DRAWS / (double)n, chi = 0;
	for (int b = 0; b < 256; b++) {
		if (count[b] == 0)
			continue;
		double d = (double)count[b] - expect;
		chi += d * d / expect;
	}
	return chi;
}

/* The same statistic for the biased shortcut, to show the bound catches it. */
static double chi_square_of_modulo_bias(size_t n)
{
	double chi = 0, expect = (double)DRAWS / (double)n;
	for (size_t k = 0; k < n; k++) {
		double p = (double)(256 / n + (k < 256 % n ? 1 : 0)) / 256.0;
		double d = p * DRAWS - expect;
		chi += d * d / expect;
	}
	return chi;
}

START_TEST(test_distribution_is_uniform_not_modulo_biased)
{
	const struct cs *c = &sets[_i == 0 ? 0 : 3]; /* alnum and ascii: 256 % n != 0 */
	size_t n = strlen(c->chars);
	double df = (double)(n - 1);
	double bound = df + 8 * sqrt(2 * df);
	double chi = chi_square(c->name, n);
	ck_assert_msg(chi < bound, "%s: chi-square %.1f over bound %.1f (df %.0f): biased", c->name,
	              chi, bound, df);
	ck_assert_msg(chi_square_of_modulo_bias(n) > 4 * bound,
	              "%s: the test could not tell a modulo-biased generator apart", c->name);
}
END_TEST

static Suite *passgen_suite(void)
{
	Suite *s = suite_create("passgen");
	TCase *tc = tcase_create("generate");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lengths_1_and_4096_are_exact);
	tcase_add_test(tc, test_lengths_out_of_range_are_refused);
	tcase_add_test(tc, test_unknown_charset_is_refused);
	tcase_add_loop_test(tc, test_output_uses_exactly_the_charset, 0,
	                    (int)(sizeof(sets) / sizeof(sets[0])));
	tcase_add_test(tc, test_null_charset_means_alnum);
	tcase_add_loop_test(tc, test_distribution_is_uniform_not_modulo_biased, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(passgen_suite());
}
