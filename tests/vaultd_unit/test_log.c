/* lib/log.c: logfmt lines. Values that could break a line or a field
 * (spaces, quotes, '=', newlines, control bytes) are quoted and escaped, a
 * long line is cut with truncated=1, and levels filter. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include "decimal.h"
#include "log.h"
#include "check_support.h"

static const char *field(const char *key, const char *value)
{
	static struct logline l;
	l.len = 0;
	l.truncated = false;
	logfmt_append(&l, key, value);
	l.buf[l.len] = '\0';
	return l.buf;
}

START_TEST(test_plain_values_are_bare)
{
	ck_assert_str_eq(field("route", "/v1/secrets/{name}"), "route=/v1/secrets/{name}");
	ck_assert_str_eq(field("status", "200"), "status=200");
}
END_TEST

START_TEST(test_values_that_need_it_are_quoted_and_escaped)
{
	ck_assert_str_eq(field("msg", "two words"), "msg=\"two words\"");
	ck_assert_str_eq(field("msg", ""), "msg=\"\"");
	ck_assert_str_eq(field("msg", NULL), "msg=\"\"");
	ck_assert_str_eq(field("msg", "a=b"), "msg=\"a=b\"");
	ck_assert_str_eq(field("msg", "say \"hi\""), "msg=\"say \\\"hi\\\"\"");
	ck_assert_str_eq(field("msg", "back\\slash"), "msg=\"back\\\\slash\"");
	/* A newline must not start a forged line. */
	ck_assert_str_eq(field("name", "x\nlevel=error"), "name=\"x\\x0alevel=error\"");
	ck_assert_str_eq(field("name", "tab\there"), "name=\"tab\\x09here\"");
}
END_TEST

/* Numbers are formatted by hand (lib/decimal.c) on this hot path: they
 * must read as printf's %lld, %llu and %.3f would have (durations round to
 * the microsecond from ms * 1000, so a value within a double's rounding
 * error of a half microsecond may end one digit apart: a log field). */
static const char *number_line(int kind, long long i, unsigned long long u, double ms)
{
	static struct logline l;
	l.len = 0;
	l.truncated = false;
	if (kind == 0)
		logline_int(&l, "n", i);
	else if (kind == 1)
		logline_uint(&l, "n", u);
	else
		logline_ms(&l, "n", ms);
	l.buf[l.len] = '\0';
	return l.buf;
}

START_TEST(test_numbers_read_as_printf_would_print_them)
{
	static const long long ints[] = {0, 1, -1, 9, 10, -10, 200, 123456789, INT64_MAX, INT64_MIN};
	char want[64];
	for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
		snprintf(want, sizeof(want), "n=%lld", ints[k]);
		ck_assert_str_eq(number_line(0, ints[k], 0, 0), want);
		snprintf(want, sizeof(want), "n=%llu", (unsigned long long)ints[k]);
		ck_assert_str_eq(number_line(1, 0, (unsigned long long)ints[k], 0), want);
	}
	static const double ms[] = {0, 0.001, 0.0004, 0.0006, 0.25, 1, 9.999, 12.3456, 1234.5};
	for (size_t k = 0; k < sizeof(ms) / sizeof(ms[0]); k++) {
		snprintf(want, sizeof(want), "n=%.3f", ms[k]);
		ck_assert_str_eq(number_line(2, 0, 0, ms[k]), want);
	}
	ck_assert_str_eq(number_line(2, 0, 0, -3.0), "n=0.000"); /* a clock step */
	char b[DECIMAL_MAX];
	ck_assert_uint_eq(decimal_milli(b, UINT64_MAX), strlen("18446744073709551.615"));
	ck_assert_str_eq(b, "18446744073709551.615");
}
END_TEST

START_TEST(test_line_has_ts_level_event_and_ends_with_newline)
{
	struct logline l;
	logline_start(&l, LOG_INFO, "request");
	logline_str(&l, "method", "GET");
	logline_int(&l, "status", -1);
	logline_uint(&l, "seq", 18446744073709551615ull);
	logline_ms(&l, "ms", 0.5);
	size_t n = 0;
	const char *s = logline_finish(&l, &n);
	ck_assert_uint_eq(n, strlen(s));
	ck_assert_msg(strncmp(s, "ts=", 3) == 0, "starts with ts=: %s", s);
	ck_assert_ptr_nonnull(strstr(s, " level=info event=request method=GET status=-1 "
	                                "seq=18446744073709551615 ms=0.500\n"));
	ck_assert_int_eq(s[n - 1], '\n');
	ck_assert_ptr_eq(strchr(s, '\n'), s + n - 1); /* one line, one newline */
}
END_TEST

START_TEST(test_long_lines_are_cut_and_marked)
{
	struct logline l;
	logline_start(&l, LOG_WARN, "big");
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	logline_str(&l, "a", big);
	logline_str(&l, "after", "y");
	size_t n = 0;
	const char *s = logline_finish(&l, &n);
	ck_assert_uint_le(n, LOG_LINE_MAX);
	ck_assert_msg(strstr(s, " truncated=1\n") != NULL, "marked truncated: ...%s", s + n - 20);
	ck_assert_ptr_null(strstr(s, "after="));
	/* Finishing again does not add a second marker. */
	size_t n2 = 0;
	logline_finish(&l, &n2);
	ck_assert_uint_eq(n2, n);
}
END_TEST

START_TEST(test_levels_filter_and_parse)
{
	enum log_level lv;
	ck_assert_int_eq(log_level_parse("warn", &lv), 0);
	ck_assert_int_eq(lv, LOG_WARN);
	ck_assert_int_lt(log_level_parse("loud", &lv), 0);
	log_set_level(LOG_WARN);
	ck_assert(!log_enabled(LOG_INFO));
	ck_assert(log_enabled(LOG_ERROR));
	log_set_level(LOG_INFO);
	ck_assert(log_enabled(LOG_INFO));
	ck_assert(!log_enabled(LOG_DEBUG));
}
END_TEST

START_TEST(test_log_msg_writes_one_line_to_the_fd)
{
	char path[] = "/tmp/vaultd-unit-log.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	log_set_fd(fd);
	log_msg(LOG_ERROR, "boom", "it broke");
	log_msg(LOG_DEBUG, "quiet", "dropped at info");
	log_errno(LOG_WARN, "io", -2, "opening");
	log_set_fd(2);
	char buf[1024] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "level=error event=boom msg=\"it broke\"\n"));
	ck_assert_ptr_null(strstr(buf, "quiet"));
	ck_assert_ptr_nonnull(
	    strstr(buf, "event=io msg=opening err=\"No such file or directory\"\n"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	tcase_add_test(tc, test_plain_values_are_bare);
	tcase_add_test(tc, test_values_that_need_it_are_quoted_and_escaped);
	tcase_add_test(tc, test_numbers_read_as_printf_would_print_them);
	tcase_add_test(tc, test_line_has_ts_level_event_and_ends_with_newline);
	tcase_add_test(tc, test_long_lines_are_cut_and_marked);
	tcase_add_test(tc, test_levels_filter_and_parse);
	tcase_add_test(tc, test_log_msg_writes_one_line_to_the_fd);
	suite_add_tcase(s, tc);
	return check_support_run(s);
}
