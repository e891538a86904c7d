/* The .env parser (import-env and compose env_file:) against what
 * docker-compose 1.29 (python-dotenv 0.21) returns for the same text. Every
 * expected value below was produced by python-dotenv's dotenv_values on this
 * machine; the rest is what compose's migration needs on top: which values
 * only the run-time environment knows, and where each line stands. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_support.h"
#include "dotenv.h"

struct kv {
	const char *key;
	const char *value; /* NULL: a key without '=' */
};

struct env_case {
	const char *name;
	const char *text;
	struct kv want[12];
	unsigned bad_lines[4];
};

static const char *fake_env(const char *name, void *ctx)
{
	(void)ctx;
	return strcmp(name, "HT") == 0 ? "h" : NULL;
}

static const struct env_case cases[] = {
    {"basic", "A=1\nB=2", {{"A", "1"}, {"B", "2"}}, {0}},
    {"comments_and_inline_comments",
     "# c\nA=1 # inline\nB=x#notcomment\n  # indented\n",
     {{"A", "1"}, {"B", "x#notcomment"}},
     {0}},
    {"blank_lines_and_spaces_around_equals",
     "\n\n  A=1\n\t\nB = 2\n",
     {{"A", "1"}, {"B", "2"}},
     {0}},
    {"export_prefix",
     "export A=1\nexport  B='x y'\nexport\n",
     {{"A", "1"}, {"B", "x y"}, {"export", NULL}},
     {0}},
    {"single_quotes_decode_only_backslash_and_quote",
     "A='a \"b\" \\n c \\' \\\\ d'",
     {{"A", "a \"b\" \\n c ' \\ d"}},
     {0}},
    {"double_quotes_decode_escapes",
     "A=\"l1\\nl2\\t\\\"q\\\" \\\\ \\x \\$\"",
     {{"A", "l1\nl2\t\"q\" \\ \\x \\$"}},
     {0}},
    {"quoted_values_span_lines",
     "A=\"line1\nline2\"\nB='s1\ns2'\nC=3",
     {{"A", "line1\nline2"}, {"B", "s1\ns2"}, {"C", "3"}},
     {0}},
    {"comment_after_quoted_value", "A=\"x\" # c\nB='y'   \n", {{"A", "x"}, {"B", "y"}}, {0}},
    {"empty_values",
     "A=\nB=''\nC=\"\"\nD\nE= \n",
     {{"A", ""}, {"B", ""}, {"C", ""}, {"D", NULL}, {"E", ""}},
     {0}},
    {"duplicate_keys_last_wins_first_position", "A=1\nB=2\nA=3", {{"A", "3"}, {"B", "2"}}, {0}},
    {"unquoted_trailing_whitespace_dropped",
     "A=abc   \nB=a b c\t\n",
     {{"A", "abc"}, {"B", "a b c"}},
     {0}},
    {"unparsable_lines_skipped",
     "A=1\n=bad\nB=2\nC=\"x\"junk\nD=4\nE='open\nF=5",
     {{"A", "1"}, {"B", "2"}, {"D", "4"}, {"F", "5"}},
     {2, 4, 6}},
    {"interpolation_like_compose",
     "A=x\nB=${A}y\nC=${NOPE:-def}\nD='${A}'\nE=${HT}\nF=${A:-z}${}\nG=$A\nH=${A:b}\nI=${B}",
     {{"A", "x"},
      {"B", "xy"},
      {"C", "def"},
      {"D", "x"},
      {"E", "h"},
      {"F", "x"},
      {"G", "$A"},
      {"H", "${A:b}"},
      {"I", "xy"}},
     {0}},
    {"bom_and_crlf_as_text_mode_reads_them",
     "\xef\xbb\xbf"
     "A=1\r\nB=\"x\r\ny\"\r\nC=2\rD=3",
     {{"A", "1"}, {"B", "x\ny"}, {"C", "2"}, {"D", "3"}},
     {0}},
    {"unclosed_quote_backtracks_to_last_escaped_quote",
     "A=\"x\\\"\nB=2\n",
     {{"A", "x\\"}, {"B", "2"}},
     {0}},
    {"quote_closing_on_next_line_makes_an_error", "A=\"a\\\"b\\\" \nB=\"c\n", {{0}}, {1}},
    {"single_quoted_keys", "'A B'=1\n'C'=2", {{"A B", "1"}, {"C", "2"}}, {0}},
    {"hash_right_after_equals_is_a_value",
     "A= # comment\nB=#x\nC=a  #b #c\n",
     {{"A", "# comment"}, {"B", "#x"}, {"C", "a"}},
     {0}},
    {"unicode_whitespace_counts",
     "A=x\xc2\xa0#c\nB=y\xe2\x80\x83\n",
     {{"A", "x"}, {"B", "y"}},
     {0}},
    {"bare_key_shadows_environment_in_interpolation",
     "A\nB=${A:-d}\n",
     {{"A", NULL}, {"B", ""}},
     {0}},
    {"escaped_backslash_before_quote", "A=\"a\\\\\"\nB=1\n", {{"A", "a\\"}, {"B", "1"}}, {0}},
};

START_TEST(test_dotenv_reads_like_docker_compose)
{
	const struct env_case *c = &cases[_i];
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse(c->text, strlen(c->text), true, fake_env, NULL, &d), 0);
	size_t want_n = 0;
	while (want_n < 12 && c->want[want_n].key)
		want_n++;
	ck_assert_msg(d->n == want_n, "%s: expected %zu keys, got %zu", c->name, want_n, d->n);
	for (size_t i = 0; i < want_n; i++) {
		const struct dotenv_entry *e = &d->items[i];
		ck_assert_msg(strcmp(e->key, c->want[i].key) == 0,
		              "%s: key %zu: expected %s, got %s", c->name, i, c->want[i].key,
		              e->key);
		if (!c->want[i].value) {
			ck_assert_msg(e->value == NULL, "%s: %s should have no value", c->name,
			              e->key);
			continue;
		}
		ck_assert_msg(e->value != NULL, "%s: %s has no value", c->name, e->key);
		ck_assert_msg(e->value->len == strlen(c->want[i].value) &&
		                  memcmp(e->value->data, c->want[i].value, e->value->len) == 0,
		              "%s: %s: expected [%s], got [%.*s]", c->name, e->key,
		              c->want[i].value, (int)e->value->len, (const char *)e->value->data);
	}
	size_t bad_n = 0;
	while (bad_n < 4 && c->bad_lines[bad_n])
		bad_n++;
	ck_assert_msg(d->n_bad == bad_n, "%s: expected %zu bad lines, got %zu", c->name, bad_n,
	              d->n_bad);
	for (size_t i = 0; i < bad_n; i++)
		ck_assert_uint_eq(d->bad_lines[i], c->bad_lines[i]);
	dotenv_free(d);
}
END_TEST

START_TEST(test_without_interpolation_values_stay_as_written)
{
	const char *text = "A=x\nB=${A}y\nC=${HT:-d}\n";
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse(text, strlen(text), false, fake_env, NULL, &d), 0);
	ck_assert_uint_eq(d->n, 3);
	ck_assert_str_eq((const char *)d->items[1].value->data, "${A}y");
	ck_assert_str_eq((const char *)d->items[2].value->data, "${HT:-d}");
	dotenv_free(d);
}
END_TEST

START_TEST(test_invalid_utf8_is_refused)
{
	struct dotenv *d = NULL;
	const char *bad[] = {"A=\xff\n", "A=\xc0\xaf\n", "A=\xed\xa0\x80\n", "A=\xe2\x82\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(dotenv_parse(bad[i], strlen(bad[i]), true, NULL, NULL, &d),
		                 -EILSEQ);
	ck_assert_ptr_null(d);
}
END_TEST

/* A key with a NUL (here a quoted key across three lines, found by
 * tests/fuzz/fuzz_dotenv) refuses the file: skipped as a bad line, it came
 * back as a key once vaultctl removed the line with C from it. */
START_TEST(test_a_nul_in_a_key_refuses_the_file)
{
	static const char text[] = "'\nC=\0\n'";
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse(text, sizeof(text) - 1, true, NULL, NULL, &d), -EILSEQ);
	ck_assert_ptr_null(d);
	static const char unquoted[] = "A\0B=1\n";
	ck_assert_int_eq(dotenv_parse(unquoted, sizeof(unquoted) - 1, true, NULL, NULL, &d),
	                 -EILSEQ);
}
END_TEST

START_TEST(test_values_may_hold_nul_bytes)
{
	const char text[] = "A=\"x\0y\"\n";
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse(text, sizeof(text) - 1, true, NULL, NULL, &d), 0);
	ck_assert_uint_eq(d->n, 1);
	ck_assert_uint_eq(d->items[0].value->len, 3);
	ck_assert_int_eq(memcmp(d->items[0].value->data, "x\0y", 3), 0);
	dotenv_free(d);
}
END_TEST

/* ${A}${A} doubles A: 30 such lines would ask for gigabytes (found by
 * tests/fuzz/fuzz_dotenv); past 4 MiB a value is refused. Without
 * interpolation the file is small and fine. */
/* Appends n copies of line to the text in buf (cap bytes); fails the test
 * rather than cut it short. */
static void repeat_line(char *buf, size_t cap, int n, const char *line)
{
	for (int i = 0; i < n; i++) {
		size_t len = strlen(buf);
		int w = snprintf(buf + len, cap - len, "%s", line);
		ck_assert(w > 0 && (size_t)w < cap - len);
	}
}

START_TEST(test_interpolation_that_explodes_is_refused)
{
	char text[2048] = "A=xxxxxxxxxxxxxxxx\n";
	repeat_line(text, sizeof(text), 30, "A=${A}${A}\n");
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse(text, strlen(text), true, NULL, NULL, &d), -E2BIG);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(dotenv_parse(text, strlen(text), false, NULL, NULL, &d), 0);
	dotenv_free(d);
	/* Many values each under the cap still add up: 16 MiB in all. */
	char many[4096] = "A=xxxxxxxxxxxxxxxx\n";
	repeat_line(many, sizeof(many), 17, "A=${A}${A}\n"); /* A reaches 2 MiB */
	repeat_line(many, sizeof(many), 9, "B=${A}\n");      /* 9 more copies of 2 MiB */
	ck_assert_int_eq(dotenv_parse(many, strlen(many), true, NULL, NULL, &d), -E2BIG);
}
END_TEST

START_TEST(test_oversized_file_is_refused_before_parsing)
{
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse("A=1", DOTENV_MAX_BYTES + 1, true, NULL, NULL, &d), -E2BIG);
}
END_TEST

/* ---- compose env_file: no environment known, where each line stands ---- */

/* What compose_migrate makes of an entry read without a lookup. */
enum known { KNOWN_VALUE, KNOWN_AT_RUN_TIME, NO_EQUALS };

static enum known known(const struct dotenv_entry *e)
{
	if (!e->value)
		return NO_EQUALS;
	return e->needs_env ? KNOWN_AT_RUN_TIME : KNOWN_VALUE;
}

static const char *const envtext = "# c\n"
                                   "A=1 # inline\n"
                                   "B=x#notcomment\n"
                                   "export C='s3nd mail!'\n"
                                   "D=\"x\\ny\"\n"
                                   "E=${A}-${UNSET_X:-dflt}\n"
                                   "F='${A}'\n"
                                   "G=${UNSET_X}\n"
                                   "H\n"
                                   "I=\n"
                                   "J=\"multi\n"
                                   "line\"\n"
                                   "'K'=k\n"
                                   "L = spaced  \n"
                                   "M=#hash\n"
                                   "N= #c\n";

static const struct {
	const char *key;
	enum known state;
	const char *value;
} envwant[] = {
    {"A", KNOWN_VALUE, "1"},          {"B", KNOWN_VALUE, "x#notcomment"},
    {"C", KNOWN_VALUE, "s3nd mail!"}, {"D", KNOWN_VALUE, "x\ny"},
    {"E", KNOWN_VALUE, "1-dflt"},     {"F", KNOWN_VALUE, "1"},
    {"G", KNOWN_AT_RUN_TIME, NULL},   {"H", NO_EQUALS, NULL},
    {"I", KNOWN_VALUE, ""},           {"J", KNOWN_VALUE, "multi\nline"},
    {"K", KNOWN_VALUE, "k"},          {"L", KNOWN_VALUE, "spaced"},
    {"M", KNOWN_VALUE, "#hash"},      {"N", KNOWN_VALUE, "#c"},
};

START_TEST(test_env_file_without_environment_tells_what_only_run_time_knows)
{
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse(envtext, strlen(envtext), true, NULL, NULL, &d), 0);
	ck_assert_uint_eq(d->n, sizeof(envwant) / sizeof(envwant[0]));
	for (size_t i = 0; i < d->n; i++) {
		ck_assert_str_eq(d->items[i].key, envwant[i].key);
		ck_assert_msg(known(&d->items[i]) == envwant[i].state, "%s: state %d, expected %d",
		              envwant[i].key, known(&d->items[i]), envwant[i].state);
		if (envwant[i].value)
			ck_assert_str_eq((const char *)d->items[i].value->data, envwant[i].value);
	}
	dotenv_free(d);
}
END_TEST

START_TEST(test_a_key_built_from_a_run_time_key_is_run_time_too)
{
	const char *text = "A=${UNSET_X}\nB=${A}x\nC=${A:-d}\nD=${UNSET_X:-d}\n";
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse(text, strlen(text), true, NULL, NULL, &d), 0);
	ck_assert(dotenv_find(d, "A")->needs_env);
	ck_assert(dotenv_find(d, "B")->needs_env);
	ck_assert(dotenv_find(d, "C")->needs_env); /* A is defined: its default is not used */
	ck_assert(!dotenv_find(d, "D")->needs_env);
	ck_assert_str_eq((const char *)dotenv_find(d, "D")->value->data, "d");
	dotenv_free(d);
	/* With a lookup that knows the name, nothing is left to run time. */
	ck_assert_int_eq(dotenv_parse("A=${HT}\n", 8, true, fake_env, NULL, &d), 0);
	ck_assert(!d->items[0].needs_env);
	dotenv_free(d);
}
END_TEST

static struct secbuf *without(const char *text, const char *const *keys)
{
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse(text, strlen(text), true, NULL, NULL, &d), 0);
	bool *drop = calloc(d->n + 1, sizeof(bool));
	ck_assert_ptr_nonnull(drop);
	for (; *keys; keys++) {
		const struct dotenv_entry *e = dotenv_find(d, *keys);
		ck_assert_ptr_nonnull(e);
		drop[e - d->items] = true;
	}
	struct secbuf *out = NULL;
	ck_assert_int_eq(dotenv_without(d, text, strlen(text), drop, &out), 0);
	free(drop);
	dotenv_free(d);
	return out;
}

START_TEST(test_env_file_without_some_keys_keeps_every_other_byte)
{
	const char *text = "# head\n\nA=1\nB=two # c\nexport C='x'\r\nJ=\"multi\nline\"\nK=k";
	struct secbuf *out = without(text, (const char *const[]){"B", "J", "C", NULL});
	ck_assert_str_eq((const char *)out->data, "# head\n\nA=1\nK=k");
	ck_assert_uint_eq(out->len, strlen("# head\n\nA=1\nK=k"));
	secbuf_free(out);
	/* Every assignment of a key goes; a BOM, blank lines, comments, lines
	 * dotenv cannot parse and indentation of kept lines stay. */
	text = "\xef\xbb\xbfT=1\r\n\n  # note\r\n=bad\rT=2 # again\n  K=k\n\tT\n";
	out = without(text, (const char *const[]){"T", NULL});
	ck_assert_str_eq((const char *)out->data, "\xef\xbb\xbf\n  # note\r\n=bad\r  K=k\n");
	secbuf_free(out);
}
END_TEST

START_TEST(test_the_last_definition_wins_and_each_keeps_its_place)
{
	const char *text = "\xEF\xBB\xBFTOKEN=a\nTOKEN=b\n";
	struct dotenv *d = NULL;
	ck_assert_int_eq(dotenv_parse(text, strlen(text), true, NULL, NULL, &d), 0);
	const struct dotenv_entry *e = dotenv_find(d, "TOKEN");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq((const char *)e->value->data, "b");
	ck_assert_uint_eq(e->line, 2);
	ck_assert_ptr_null(dotenv_find(d, "B"));
	ck_assert_uint_eq(d->n, 1);
	ck_assert_uint_eq(d->n_spans, 2);        /* both assignments are where they were */
	ck_assert_uint_eq(d->spans[0].start, 3); /* the BOM is nobody's */
	ck_assert_uint_eq(d->spans[0].end, 11);
	ck_assert_uint_eq(d->spans[1].start, 11);
	ck_assert_uint_eq(d->spans[1].end, strlen(text));
	dotenv_free(d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dotenv");
	TCase *tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_dotenv_reads_like_docker_compose, 0,
	                    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_without_interpolation_values_stay_as_written);
	tcase_add_test(tc, test_invalid_utf8_is_refused);
	tcase_add_test(tc, test_values_may_hold_nul_bytes);
	tcase_add_test(tc, test_a_nul_in_a_key_refuses_the_file);
	tcase_add_test(tc, test_interpolation_that_explodes_is_refused);
	tcase_add_test(tc, test_oversized_file_is_refused_before_parsing);
	tcase_add_test(tc, test_env_file_without_environment_tells_what_only_run_time_knows);
	tcase_add_test(tc, test_a_key_built_from_a_run_time_key_is_run_time_too);
	tcase_add_test(tc, test_env_file_without_some_keys_keeps_every_other_byte);
	tcase_add_test(tc, test_the_last_definition_wins_and_each_keeps_its_place);
	suite_add_tcase(s, tc);
	return check_support_run(s);
}
