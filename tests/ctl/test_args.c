/* vaultctl's argument parsing: the option scanner, number/duration/label
 * parsers and cmd_parse (common options, operand counts, usage errors). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "check_support.h"
#include "ctl.h"

enum { O_FLAG = 1, O_VALUE, O_OTHER };

static const struct args_opt opts[] = {
    {"flag", 'f', false, O_FLAG, NULL, "a flag"},
    {"value", 'v', true, O_VALUE, "X", "takes a value"},
    {"other", 'o', false, O_OTHER, NULL, "another flag"},
    {0},
};

/* Runs the scanner over a NULL-terminated argv; records "id:arg" tokens. */
static void scan(char **argv, char *out, size_t cap)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	struct args a;
	args_init(&a, argc, argv, opts, common_opts);
	out[0] = '\0';
	int id;
	while ((id = args_next(&a)) != ARGS_DONE) {
		char tok[ARGS_ERR_MAX + 16];
		if (id == ARGS_ERROR)
			snprintf(tok, sizeof(tok), "ERR(%s)", a.err);
		else if (id == ARGS_OPERAND)
			snprintf(tok, sizeof(tok), "op:%s", a.arg);
		else
			snprintf(tok, sizeof(tok), "%d:%s", id, a.arg ? a.arg : "-");
		size_t used = strlen(out);
		snprintf(out + used, cap - used, "%s ", tok);
		if (id == ARGS_ERROR)
			break;
	}
}

#define SCAN(expect, ...)                                                                          \
	do {                                                                                       \
		char *argv_[] = {"cmd", __VA_ARGS__, NULL};                                        \
		char got_[1024];                                                                   \
		scan(argv_, got_, sizeof(got_));                                                   \
		ck_assert_msg(strcmp(got_, expect) == 0, "expected [%s], got [%s]", expect, got_); \
	} while (0)

START_TEST(test_long_options_with_and_without_equals)
{
	SCAN("2:x 2:y 1:- ", "--value=x", "--value", "y", "--flag");
}
END_TEST

START_TEST(test_short_options_cluster_and_take_values)
{
	SCAN("1:- 3:- 2:z 2:w ", "-fo", "-vz", "-v", "w");
	SCAN("1:- 2:q ", "-fvq");
}
END_TEST

START_TEST(test_operands_mix_with_options)
{
	SCAN("op:name 1:- op:two ", "name", "--flag", "two");
}
END_TEST

START_TEST(test_double_dash_ends_options)
{
	SCAN("1:- op:--value op:-f ", "--flag", "--", "--value", "-f");
}
END_TEST

START_TEST(test_single_dash_is_an_operand)
{
	SCAN("op:- ", "-");
}
END_TEST

START_TEST(test_unknown_and_malformed_options_are_errors)
{
	SCAN("ERR(unknown option --nope) ", "--nope");
	SCAN("ERR(unknown option -x) ", "-x");
	SCAN("ERR(option --value needs a value) ", "--value");
	SCAN("ERR(option --flag takes no value) ", "--flag=1");
}
END_TEST

START_TEST(test_common_options_are_known_everywhere)
{
	char expect[128];
	snprintf(expect, sizeof(expect), "%d:/s %d:- %d:- ", COMMON_OPT_SOCKET, COMMON_OPT_JSON,
	         COMMON_OPT_HELP);
	SCAN(expect, "--socket", "/s", "--json", "-h");
}
END_TEST

START_TEST(test_u64_accepts_digits_in_range_only)
{
	uint64_t v = 99;
	ck_assert_int_eq(args_parse_u64("42", 1, 100, &v), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(args_parse_u64("0", 1, 100, &v), -ERANGE);
	ck_assert_int_eq(args_parse_u64("101", 1, 100, &v), -ERANGE);
	ck_assert_int_eq(args_parse_u64("-1", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(args_parse_u64("1x", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(args_parse_u64(" 1", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(args_parse_u64("", 0, 100, &v), -EINVAL);
	ck_assert_int_eq(args_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	ck_assert_uint_eq(v, 42); /* untouched on failure */
}
END_TEST

START_TEST(test_durations)
{
	int64_t s = -1;
	ck_assert_int_eq(args_parse_duration("90", &s), 0);
	ck_assert_int_eq(s, 90);
	ck_assert_int_eq(args_parse_duration("1h", &s), 0);
	ck_assert_int_eq(s, 3600);
	ck_assert_int_eq(args_parse_duration("1h30m", &s), 0);
	ck_assert_int_eq(s, 5400);
	ck_assert_int_eq(args_parse_duration("7d", &s), 0);
	ck_assert_int_eq(s, 7 * 86400);
	ck_assert_int_eq(args_parse_duration("2w", &s), 0);
	ck_assert_int_eq(s, 14 * 86400);
	ck_assert_int_eq(args_parse_duration("0", &s), 0);
	ck_assert_int_eq(s, 0);
	ck_assert_int_eq(args_parse_duration("1h30", &s), -EINVAL);
	ck_assert_int_eq(args_parse_duration("h", &s), -EINVAL);
	ck_assert_int_eq(args_parse_duration("1y", &s), -EINVAL);
	ck_assert_int_eq(args_parse_duration("", &s), -EINVAL);
	ck_assert_int_eq(args_parse_duration("-5m", &s), -EINVAL);
	ck_assert_int_eq(args_parse_duration("99999999999d", &s), -ERANGE);
	ck_assert_int_eq(s, 0);
}
END_TEST

START_TEST(test_labels_split_at_first_equals)
{
	size_t klen = 0;
	const char *v = NULL;
	ck_assert_int_eq(args_split_label("team=core=x", &klen, &v), 0);
	ck_assert_uint_eq(klen, 4);
	ck_assert_str_eq(v, "core=x");
	ck_assert_int_eq(args_split_label("k=", &klen, &v), 0);
	ck_assert_str_eq(v, "");
	ck_assert_int_eq(args_split_label("=v", &klen, &v), -EINVAL);
	ck_assert_int_eq(args_split_label("novalue", &klen, &v), -EINVAL);
}
END_TEST

/* ---- cmd_parse ---- */

static const struct cmd_spec spec = {
    .name = "demo",
    .usage = "NAME [--flag]",
    .summary = "a demo command",
    .opts = opts,
    .min_operands = 1,
    .max_operands = 2,
    .json_output = true,
};

static int seen_flag;
static int on_opt(void *st, int id, const char *arg)
{
	(void)st;
	(void)arg;
	if (id == O_FLAG)
		seen_flag++;
	if (id == O_VALUE && strcmp(arg, "bad") == 0)
		return cmd_usage(&spec, "bad value");
	return 0;
}

static int parse(struct ctl_cmd *x, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	struct ctl base = {.socket = "/base.sock"};
	return cmd_parse(x, &base, &spec, argc, argv, on_opt, NULL);
}

START_TEST(test_cmd_parse_collects_operands_and_common_options)
{
	char *argv[] = {"demo", "x", "--socket=/other.sock", "--json", "--flag", "y", NULL};
	struct ctl_cmd x;
	seen_flag = 0;
	ck_assert_int_eq(parse(&x, argv), CMD_RUN);
	ck_assert_int_eq(x.n_operands, 2);
	ck_assert_str_eq(x.operands[0], "x");
	ck_assert_str_eq(x.operands[1], "y");
	ck_assert_str_eq(x.c.socket, "/other.sock");
	ck_assert(x.c.json);
	ck_assert_int_eq(seen_flag, 1);
	cmd_done(&x);
}
END_TEST

START_TEST(test_cmd_parse_counts_operands)
{
	char *none[] = {"demo", NULL};
	char *three[] = {"demo", "a", "b", "c", NULL};
	struct ctl_cmd x;
	ck_assert_int_eq(parse(&x, none), CTL_USAGE);
	cmd_done(&x);
	ck_assert_int_eq(parse(&x, three), CTL_USAGE);
	cmd_done(&x);
}
END_TEST

START_TEST(test_cmd_parse_help_stops_with_success)
{
	char *argv[] = {"demo", "--help", NULL};
	struct ctl_cmd x;
	ck_assert_int_eq(parse(&x, argv), CTL_OK);
	cmd_done(&x);
}
END_TEST

START_TEST(test_cmd_parse_option_handler_can_refuse)
{
	char *argv[] = {"demo", "n", "--value", "bad", NULL};
	struct ctl_cmd x;
	ck_assert_int_eq(parse(&x, argv), CTL_USAGE);
	cmd_done(&x);
}
END_TEST

START_TEST(test_cmd_parse_loads_token_file_and_strips_newline)
{
	char path[] = "/tmp/vaultctl-test-token.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "vd_abc\n", 7), 7);
	close(fd);
	char opt[64];
	snprintf(opt, sizeof(opt), "--token-file=%s", path);
	char *argv[] = {"demo", "n", opt, NULL};
	struct ctl_cmd x;
	ck_assert_int_eq(parse(&x, argv), CMD_RUN);
	ck_assert_ptr_nonnull(x.c.token);
	ck_assert_uint_eq(x.c.token->len, 6);
	ck_assert_int_eq(memcmp(x.c.token->data, "vd_abc", 6), 0);
	cmd_done(&x);
	unlink(path);
}
END_TEST

START_TEST(test_cmd_parse_refuses_missing_token_file)
{
	char *argv[] = {"demo", "n", "--token-file", "/nonexistent/token", NULL};
	struct ctl_cmd x;
	ck_assert_int_eq(parse(&x, argv), CTL_USAGE);
	ck_assert_ptr_null(x.c.token);
	cmd_done(&x);
}
END_TEST

START_TEST(test_check_name_uses_the_shared_validator)
{
	ck_assert_int_eq(cmd_check_name(&spec, "db.password"), CMD_RUN);
	ck_assert_int_eq(cmd_check_name(&spec, "../etc"), CTL_USAGE);
	ck_assert_int_eq(cmd_check_name(&spec, ""), CTL_USAGE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("args");
	TCase *tc = tcase_create("args");
	tcase_add_test(tc, test_long_options_with_and_without_equals);
	tcase_add_test(tc, test_short_options_cluster_and_take_values);
	tcase_add_test(tc, test_operands_mix_with_options);
	tcase_add_test(tc, test_double_dash_ends_options);
	tcase_add_test(tc, test_single_dash_is_an_operand);
	tcase_add_test(tc, test_unknown_and_malformed_options_are_errors);
	tcase_add_test(tc, test_common_options_are_known_everywhere);
	tcase_add_test(tc, test_u64_accepts_digits_in_range_only);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_labels_split_at_first_equals);
	tcase_add_test(tc, test_cmd_parse_collects_operands_and_common_options);
	tcase_add_test(tc, test_cmd_parse_counts_operands);
	tcase_add_test(tc, test_cmd_parse_help_stops_with_success);
	tcase_add_test(tc, test_cmd_parse_option_handler_can_refuse);
	tcase_add_test(tc, test_cmd_parse_loads_token_file_and_strips_newline);
	tcase_add_test(tc, test_cmd_parse_refuses_missing_token_file);
	tcase_add_test(tc, test_check_name_uses_the_shared_validator);
	suite_add_tcase(s, tc);
	return check_support_run(s);
}
