/* --template rendering: {{ secret "NAME" }} replaced by the value, blanks
 * inside the braces allowed, every malformed directive refused with its line,
 * unknown names fail closed (nothing rendered), loading limits. */
#include "check_support.h"
#include "inject_test.h"
#include "template.h"

struct kv {
	const char *name;
	struct secbuf *value;
};

static struct kv VALUES[4];

static const struct secbuf *lookup(void *ctx, const char *name)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(VALUES) / sizeof(VALUES[0]); i++)
		if (VALUES[i].name && strcmp(VALUES[i].name, name) == 0)
			return VALUES[i].value;
	return NULL;
}

static void setup(void)
{
	VALUES[0] = (struct kv){"redis_password", secbuf_dup("s3cr3t", 6)};
	VALUES[1] = (struct kv){"pg.pass-1", secbuf_dup("p{{g}}", 6)};
	VALUES[2] = (struct kv){"bin", secbuf_dup("a\0b", 3)};
	VALUES[3] = (struct kv){"empty", secbuf_dup("", 0)};
}

static void teardown(void)
{
	for (size_t i = 0; i < sizeof(VALUES) / sizeof(VALUES[0]); i++)
		secbuf_free(VALUES[i].value);
	memset(VALUES, 0, sizeof(VALUES));
}

/* Renders text; returns the result's length and copies it into out. */
static int render(const char *text, char *out, size_t cap, size_t *len, char *err, size_t errcap)
{
	struct template *t = NULL;
	int r = template_parse(text, strlen(text), &t, err, errcap);
	if (r < 0)
		return r;
	struct secbuf *b = NULL;
	r = template_render(t, lookup, NULL, &b, err, errcap);
	template_free(t);
	if (r < 0)
		return r;
	ck_assert_uint_lt(b->len, cap);
	memcpy(out, b->data, b->len);
	out[b->len] = '\0';
	*len = b->len;
	secbuf_free(b);
	return 0;
}

START_TEST(test_directive_is_replaced_by_the_value)
{
	char out[256], err[256];
	size_t len;
	ck_assert_int_eq(render("port 0\nrequirepass {{ secret \"redis_password\" }}\nsave \"\"\n",
	                        out, sizeof(out), &len, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(out, "port 0\nrequirepass s3cr3t\nsave \"\"\n");
}
END_TEST

START_TEST(test_blanks_inside_braces_are_optional)
{
	char out[256], err[256];
	size_t len;
	ck_assert_int_eq(render("[{{secret \"redis_password\"}}][{{\tsecret\t \"pg.pass-1\"   }}]",
	                        out, sizeof(out), &len, err, sizeof(err)),
	                 0);
	ck_assert_str_eq(out, "[s3cr3t][p{{g}}]");
}
END_TEST

START_TEST(test_values_are_not_reparsed_and_may_hold_any_byte)
{
	char out[64], err[256];
	size_t len;
	/* The value "p{{g}}" contains braces: output as is, not a directive. */
	ck_assert_int_eq(
	    render("{{ secret \"bin\" }}|{{ secret \"pg.pass-1\" }}|{{ secret \"empty\" }}|", out,
	           sizeof(out), &len, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(len, 3 + 1 + 6 + 1 + 0 + 1);
	ck_assert_int_eq(memcmp(out, "a\0b|p{{g}}||", len), 0);
}
END_TEST

START_TEST(test_text_without_directives_is_copied)
{
	char out[64], err[256];
	size_t len;
	ck_assert_int_eq(render("plain } text }} {", out, sizeof(out), &len, err, sizeof(err)), 0);
	ck_assert_str_eq(out, "plain } text }} {");
	ck_assert_int_eq(render("", out, sizeof(out), &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_unknown_name_fails_closed)
{
	struct template *t = NULL;
	char err[256] = "";
	const char *text = "a\nb {{ secret \"redis_password\" }}\nc {{ secret \"nope\" }}\n";
	ck_assert_int_eq(template_parse(text, strlen(text), &t, err, sizeof(err)), 0);
	struct secbuf *b = (void *)0x1;
	ck_assert_int_eq(template_render(t, lookup, NULL, &b, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_eq(b, (void *)0x1);
	ck_assert_msg(strstr(err, "\"nope\"") && strstr(err, "line 3"), "err: %s", err);
	template_free(t);
}
END_TEST

struct bad {
	const char *text;
	int line;
};

static const struct bad malformed[] = {
    {"{{ secret \"a\"", 1},                /* unterminated */
    {"x\n{{ secret \"a\" }", 2},           /* one closing brace */
    {"x\ny\n{{ }}", 3},                    /* empty directive */
    {"{{ secrets \"a\" }}", 1},            /* wrong keyword */
    {"{{ env \"HOME\" }}", 1},             /* unknown directive */
    {"{{ secret a }}", 1},                 /* unquoted name */
    {"{{ secret 'a' }}", 1},               /* single quotes */
    {"{{ secret \"a }}", 1},               /* no closing quote */
    {"{{ secret \"a\nb\" }}", 1},          /* newline in name */
    {"{{ secret \"../etc/passwd\" }}", 1}, /* bad name */
    {"{{ secret \"\" }}", 1},              /* empty name */
    {"{{ secret \"a\" extra }}", 1},       /* trailing words */
    {"{{secret\"a\"}}", 1},                /* no blank after the keyword */
    {"ok {{ secret \"a\" }} then {{", 1},  /* a stray opener later */
};

START_TEST(test_malformed_template_is_refused_with_its_line)
{
	struct template *t = (void *)0x1;
	char err[256] = "";
	const char *text = malformed[_i].text;
	int r = template_parse(text, strlen(text), &t, err, sizeof(err));
	ck_assert_msg(r == -EINVAL, "case %d (%s): expected -EINVAL, got %d", _i, text, r);
	ck_assert_ptr_eq(t, (void *)0x1);
	char want[32];
	snprintf(want, sizeof(want), "line %d:", malformed[_i].line);
	ck_assert_msg(strstr(err, want) != NULL, "case %d: expected \"%s\" in \"%s\"", _i, want,
	              err);
}
END_TEST

START_TEST(test_names_are_listed_in_order)
{
	struct template *t = NULL;
	char err[256];
	const char *text = "{{ secret \"b\" }}x{{ secret \"a\" }}{{ secret \"b\" }}";
	ck_assert_int_eq(template_parse(text, strlen(text), &t, err, sizeof(err)), 0);
	const char *names[3];
	size_t n = 0;
	for (size_t i = 0; i < t->n_segs; i++)
		if (t->segs[i].is_secret)
			names[n++] = t->segs[i].name;
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "b");
	ck_assert_str_eq(names[1], "a");
	ck_assert_str_eq(names[2], "b");
	template_free(t);
}
END_TEST

/* template_read on path opened as inject opens templates (O_NONBLOCK). */
static int read_path(const char *path, struct template **t, char *err, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	int r = template_read(fd, t, err, cap);
	close(fd);
	return r;
}

START_TEST(test_read_takes_a_regular_file_and_refuses_huge_or_fifo)
{
	char dir[64], path[128], err[256];
	make_dir_in("/tmp", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/t", dir);
	write_text(path, "pass={{ secret \"redis_password\" }}\n");
	struct template *t = NULL;
	ck_assert_int_eq(read_path(path, &t, err, sizeof(err)), 0);
	struct secbuf *b = NULL;
	ck_assert_int_eq(template_render(t, lookup, NULL, &b, err, sizeof(err)), 0);
	ck_assert_str_eq((char *)b->data, "pass=s3cr3t\n");
	secbuf_free(b);
	template_free(t);

	/* A FIFO would block the read for ever (no writer): refused at once. */
	char fifo[160];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	t = NULL;
	ck_assert_int_eq(read_path(fifo, &t, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "not a regular file"), "%s", err);
	ck_assert_ptr_null(t);
	unlink(fifo);

	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, TEMPLATE_MAX_BYTES + 1), 0);
	close(fd);
	ck_assert_int_eq(read_path(path, &t, err, sizeof(err)), -EFBIG);
	remove_dir(dir);
}
END_TEST

START_TEST(test_too_many_directives_is_e2big)
{
	size_t one = strlen("{{ secret \"a\" }}");
	size_t n = TEMPLATE_MAX_REFS + 1;
	char *text = malloc(n * one + 1);
	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < n; i++)
		memcpy(text + i * one, "{{ secret \"a\" }}", one);
	text[n * one] = '\0';
	struct template *t = NULL;
	char err[256];
	ck_assert_int_eq(template_parse(text, n * one, &t, err, sizeof(err)), -E2BIG);
	ck_assert_int_eq(template_parse(text, (n - 1) * one, &t, err, sizeof(err)), 0);
	template_free(t);
	free(text);
}
END_TEST

static Suite *template_suite(void)
{
	Suite *s = suite_create("inject-template");
	TCase *t = tcase_create("template");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_directive_is_replaced_by_the_value);
	tcase_add_test(t, test_blanks_inside_braces_are_optional);
	tcase_add_test(t, test_values_are_not_reparsed_and_may_hold_any_byte);
	tcase_add_test(t, test_text_without_directives_is_copied);
	tcase_add_test(t, test_unknown_name_fails_closed);
	tcase_add_loop_test(t, test_malformed_template_is_refused_with_its_line, 0,
	                    (int)(sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(t, test_names_are_listed_in_order);
	tcase_add_test(t, test_read_takes_a_regular_file_and_refuses_huge_or_fifo);
	tcase_add_test(t, test_too_many_directives_is_e2big);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return check_support_run(template_suite());
}
