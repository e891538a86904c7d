/* The compose document tree: what libyaml reads becomes a tree that writes
 * back the same way (styles, tags, order), aliases and merge keys resolve as
 * YAML says, and every malformed or hostile input is refused with a message
 * that names the line. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_support.h"
#include "compose_doc.h"

static struct cnode *load_ok(const char *text)
{
	struct cnode *root = NULL;
	char err[256] = "";
	int rc = compose_yaml_load(text, strlen(text), &root, err, sizeof(err));
	ck_assert_msg(rc == 0, "expected the YAML to load, got %d: %s", rc, err);
	return root;
}

static char *emit_ok(const struct cnode *root)
{
	char *out = NULL;
	size_t len = 0;
	ck_assert_int_eq(compose_yaml_emit(root, NULL, &out, &len), 0);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

static int load_err(const char *text, char *err, size_t cap)
{
	struct cnode *root = NULL;
	int rc = compose_yaml_load(text, strlen(text), &root, err, cap);
	ck_assert_msg(rc < 0, "expected a refusal for (%zu bytes):\n%.300s", strlen(text), text);
	ck_assert_ptr_null(root);
	return rc;
}

static const char *const sample = "version: \"3.8\"\n"
                                  "services:\n"
                                  "  db:\n"
                                  "    image: postgres:16\n"
                                  "    ports: [\"5432:5432\", 80]\n"
                                  "    environment:\n"
                                  "      Q: 'yes'\n"
                                  "      N: 5432\n"
                                  "      E:\n"
                                  "    command: >\n"
                                  "      postgres -c a=b\n"
                                  "    labels: {a: 1, b: \"two\"}\n"
                                  "    x-tagged: !!str 123\n"
                                  "    healthcheck:\n"
                                  "      test: |\n"
                                  "        pg_isready\n"
                                  "  app:\n"
                                  "    environment:\n"
                                  "    - A=b\n"
                                  "    - \"C=d: e\"\n";

START_TEST(test_writing_what_was_read_gives_the_same_text)
{
	struct cnode *root = load_ok(sample);
	char *once = emit_ok(root);
	/* Block sequences inside mappings are written without extra indent;
	 * everything else is as in the source. */
	ck_assert_str_eq(once, sample);
	cnode_free(root);
	root = load_ok(once);
	char *twice = emit_ok(root);
	ck_assert_str_eq(twice, once);
	free(once);
	free(twice);
	cnode_free(root);
}
END_TEST

START_TEST(test_scalar_styles_and_tags_are_kept)
{
	struct cnode *root = load_ok(sample);
	struct cnode *db = cnode_map_get(cnode_map_get(root, "services"), "db");
	ck_assert_int_eq(cnode_map_get(cnode_map_get(db, "environment"), "Q")->style,
	                 CSTYLE_SINGLE);
	ck_assert_int_eq(cnode_map_get(cnode_map_get(db, "environment"), "N")->style, CSTYLE_PLAIN);
	ck_assert(cnode_is_null(cnode_map_get(cnode_map_get(db, "environment"), "E")));
	ck_assert_int_eq(cnode_map_get(db, "command")->style, CSTYLE_FOLDED);
	ck_assert_str_eq(cnode_map_get(db, "x-tagged")->tag, "tag:yaml.org,2002:str");
	ck_assert(cnode_map_get(db, "ports")->flow);
	cnode_free(root);
}
END_TEST

START_TEST(test_aliases_are_copies_and_merge_keys_never_override)
{
	const char *text = "x-env: &env\n"
	                   "  A: from-anchor\n"
	                   "  B: from-anchor\n"
	                   "x-more: &more {C: more, A: more}\n"
	                   "s:\n"
	                   "  <<: [*env, *more]\n"
	                   "  B: explicit\n"
	                   "t: *env\n";
	struct cnode *root = load_ok(text);
	struct cnode *s = cnode_map_get(root, "s");
	ck_assert_uint_eq(s->n, 3);
	/* Explicit keys win; among merged maps the earlier one wins. */
	ck_assert(cnode_is(cnode_map_get(s, "A"), "from-anchor"));
	ck_assert(cnode_is(cnode_map_get(s, "B"), "explicit"));
	ck_assert(cnode_is(cnode_map_get(s, "C"), "more"));
	ck_assert_int_lt(cnode_map_find(s, "A"), cnode_map_find(s, "B"));
	/* A copy: changing t leaves the anchor's other users alone. */
	struct cnode *t = cnode_map_get(root, "t");
	ck_assert_int_eq(cnode_map_set(t, "A", cnode_new_str("changed")), 0);
	ck_assert(cnode_is(cnode_map_get(cnode_map_get(root, "x-env"), "A"), "from-anchor"));
	char *out = emit_ok(root);
	ck_assert_ptr_null(strchr(out, '&'));
	ck_assert_ptr_null(strchr(out, '*'));
	ck_assert_ptr_null(strstr(out, "<<"));
	free(out);
	cnode_free(root);
}
END_TEST

START_TEST(test_new_strings_are_quoted_only_when_yaml_would_read_another_type)
{
	static const struct {
		const char *s;
		bool quoted;
	} cases[] = {
	    {"yes", true},
	    {"off", true},
	    {"123", true},
	    {"-1.5", true},
	    {"null", true},
	    {"~", true},
	    {"", true},
	    {".inf", true},
	    {"0x1f", true},
	    {"<<", true},
	    {"/run/secrets", false},
	    {"db_password", false},
	    {"docker-entrypoint.sh", false},
	    {"--", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cnode *root = cnode_new_map();
		ck_assert_int_eq(cnode_map_set(root, "k", cnode_new_str(cases[i].s)), 0);
		char *out = emit_ok(root);
		struct cnode *back = load_ok(out);
		const struct cnode *v = cnode_map_get(back, "k");
		ck_assert_msg(cnode_is(v, cases[i].s), "\"%s\" came back as \"%s\"", cases[i].s,
		              v->str);
		ck_assert_msg((v->style != CSTYLE_PLAIN) == cases[i].quoted,
		              "\"%s\": expected %s, got %s", cases[i].s,
		              cases[i].quoted ? "quoted" : "plain", out);
		free(out);
		cnode_free(back);
		cnode_free(root);
	}
}
END_TEST

START_TEST(test_malformed_yaml_is_refused_naming_the_line)
{
	char err[256];
	ck_assert_int_eq(load_err("services:\n  a: [1, 2\n", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "line 3") && strstr(err, "malformed YAML"), "got: %s", err);
	ck_assert_int_eq(load_err("a: b\n  c: d\n", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "line 2"), "got: %s", err);
}
END_TEST

START_TEST(test_duplicate_keys_are_refused)
{
	char err[256];
	ck_assert_int_eq(load_err("services:\n  a: {}\n  a: {}\n", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "duplicate key \"a\"") && strstr(err, "line 3"), "got: %s", err);
}
END_TEST

START_TEST(test_alias_expansion_stops_at_the_node_limit)
{
	char text[1024] = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
	const char *prev = "a";
	static const char *const names[] = {"b", "c", "d", "e", "f", "g"};
	for (size_t i = 0; i < 6; i++) {
		char line[128];
		snprintf(line, sizeof(line), "%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n",
		         names[i], names[i], prev, prev, prev, prev, prev, prev, prev, prev, prev,
		         prev);
		strncat(text, line, sizeof(text) - strlen(text) - 1);
		prev = names[i];
	}
	char err[256];
	ck_assert_int_eq(load_err(text, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "after expanding aliases"), "got: %s", err);
}
END_TEST

START_TEST(test_an_anchor_defined_again_names_the_new_node)
{
	struct cnode *root = load_ok("a: &x first\n"
	                             "b: *x\n"
	                             "c: &x [second, &y {k: *x}]\n"
	                             "d: *x\n"
	                             "e: *y\n");
	ck_assert(cnode_is(cnode_map_get(root, "b"), "first"));
	/* Inside its own redefinition, *x is still the old node. */
	ck_assert(cnode_is(cnode_map_get(cnode_map_get(root, "e"), "k"), "first"));
	const struct cnode *d = cnode_map_get(root, "d");
	ck_assert_uint_eq(d->n, 2);
	ck_assert(cnode_is(d->items[0], "second"));
	ck_assert(cnode_is(cnode_map_get(d->items[1], "k"), "first"));
	cnode_free(root);
}
END_TEST

/* ---- limits: the node budget bounds memory, and work stays linear ---- */

/* Big generated inputs: text that grows as it is written. */
struct text {
	char *s;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->s ? t->s + t->len : NULL, t->cap - t->len, fmt, ap);
		va_end(ap);
		ck_assert_int_ge(n, 0);
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap ? 2 * t->cap : 4096;
		t->s = realloc(t->s, t->cap);
		ck_assert_ptr_nonnull(t->s);
	}
}

/* "x: &a0 [&a1 [... [v,v,...]]]": every anchor keeps a copy of its node. */
static char *nested_anchors(unsigned levels, unsigned scalars)
{
	struct text t = {0};
	add(&t, "x: ");
	for (unsigned i = 0; i < levels; i++)
		add(&t, "&a%u [", i);
	for (unsigned i = 0; i < scalars; i++)
		add(&t, i ? ",v" : "v");
	for (unsigned i = 0; i < levels; i++)
		add(&t, "]");
	add(&t, "\n");
	return t.s;
}

START_TEST(test_anchor_copies_count_against_the_node_limit)
{
	/* About 5,000 nodes in the tree but 50 nested copies of them: 250,000
	 * nodes in memory, over the limit. */
	char *text = nested_anchors(50, 5000);
	char err[256];
	ck_assert_int_eq(load_err(text, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "more than 200000 YAML nodes"), "got: %s", err);
	free(text);
	/* A few nested anchors around a few thousand nodes are a real file. */
	text = nested_anchors(3, 5000);
	struct cnode *root = load_ok(text);
	ck_assert_uint_eq(cnode_map_get(root, "x")->items[0]->items[0]->n, 5000);
	cnode_free(root);
	free(text);
}
END_TEST

/* Few nodes, long text: a 32 KiB anchor aliased n times. */
static char *long_anchor(unsigned n)
{
	struct text t = {0};
	add(&t, "x: &big \"");
	for (unsigned i = 0; i < 32 * 1024; i++)
		add(&t, "b");
	add(&t, "\"\ny: [");
	for (unsigned i = 0; i < n; i++)
		add(&t, i ? ",*big" : "*big");
	add(&t, "]\n");
	return t.s;
}

/* 11,000 aliases are 11,000 nodes, far under the node limit, but 360 MB
 * of text (found in review of tests/fuzz/fuzz_compose_yaml): copies count
 * their bytes too. 100 aliases (3 MB) are a real file. */
START_TEST(test_alias_copies_count_their_text)
{
	char *text = long_anchor(11000);
	char err[256];
	ck_assert_int_eq(load_err(text, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "bytes of text after expanding aliases"), "got: %s", err);
	free(text);
	text = long_anchor(100);
	struct cnode *root = load_ok(text);
	ck_assert_uint_eq(cnode_map_get(root, "y")->n, 100);
	cnode_free(root);
	free(text);
}
END_TEST

static double cpu_seconds(void)
{
	struct timespec ts;
	ck_assert_int_eq(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The review's case: 60 nested anchors around 150,000 scalars (300 KB)
 * took 1 GB before; now the first anchor's copy crosses the limit. */
START_TEST(test_nested_anchors_around_a_big_list_are_refused)
{
	char *text = nested_anchors(60, 150000);
	char err[256];
	ck_assert_int_eq(load_err(text, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "more than 200000 YAML nodes"), "got: %s", err);
	free(text);
}
END_TEST

/* "x-big:" followed by keys k0..k<n-1> (each "  kI: v"), then extra. */
static char *big_mapping(unsigned keys, const char *extra)
{
	struct text t = {0};
	add(&t, "services: {}\nx-big:\n");
	for (unsigned i = 0; i < keys; i++)
		add(&t, "  k%u: v\n", i);
	add(&t, "%s", extra);
	return t.s;
}

/* Limits on time are CPU time and 50 times what the loader needs on a slow
 * machine: the quadratic duplicate-key check took minutes here. */
#define LINEAR_CPU_SECONDS 10.0

START_TEST(test_a_mapping_over_the_node_limit_is_refused_without_quadratic_work)
{
	char *text = big_mapping(150000, "");
	char err[256];
	double t0 = cpu_seconds();
	ck_assert_int_eq(load_err(text, err, sizeof(err)), -E2BIG);
	double spent = cpu_seconds() - t0;
	ck_assert_msg(strstr(err, "more than 200000 YAML nodes"), "got: %s", err);
	ck_assert_msg(spent < LINEAR_CPU_SECONDS, "refusing 150,000 keys took %.1f s of CPU",
	              spent);
	free(text);
}
END_TEST

START_TEST(test_a_mapping_under_the_node_limit_loads_in_linear_time)
{
	char *text = big_mapping(90000, "");
	double t0 = cpu_seconds();
	struct cnode *root = load_ok(text);
	double spent = cpu_seconds() - t0;
	ck_assert_msg(spent < LINEAR_CPU_SECONDS, "loading 90,000 keys took %.1f s of CPU", spent);
	const struct cnode *big = cnode_map_get(root, "x-big");
	ck_assert_uint_eq(big->n, 90000);
	ck_assert(cnode_is(cnode_key(big, 89999), "k89999"));
	cnode_free(root);
	free(text);
}
END_TEST

START_TEST(test_a_mapping_of_5000_keys_loads_and_still_refuses_a_duplicate)
{
	char *text = big_mapping(5000, "");
	struct cnode *root = load_ok(text);
	const struct cnode *big = cnode_map_get(root, "x-big");
	ck_assert_uint_eq(big->n, 5000);
	for (size_t i = 0; i < big->n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "k%zu", i);
		ck_assert_msg(cnode_is(cnode_key(big, i), want), "key %zu is %s", i,
		              cnode_key(big, i)->str);
		ck_assert_int_eq(cnode_key(big, i)->line, (int)i + 3);
	}
	cnode_free(root);
	free(text);
	/* The last key repeats the first: refused, naming the second one's line. */
	text = big_mapping(5000, "  k0: again\n");
	char err[256];
	ck_assert_int_eq(load_err(text, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "duplicate key \"k0\"") && strstr(err, "line 5003"), "got: %s",
	              err);
	free(text);
}
END_TEST

/* A merge (<<) checked each merged key against the whole mapping. */
START_TEST(test_merging_a_big_mapping_into_a_big_mapping_is_linear)
{
	const unsigned n = 45000;
	struct text t = {0};
	add(&t, "x:\n  <<: {");
	for (unsigned i = 0; i < n; i++)
		add(&t, "%sm%u: merged", i ? ", " : "", i);
	add(&t, ", e0: merged}\n");
	for (unsigned i = 0; i < n; i++)
		add(&t, "  e%u: explicit\n", i);
	char *text = t.s;
	double t0 = cpu_seconds();
	struct cnode *root = load_ok(text);
	double spent = cpu_seconds() - t0;
	ck_assert_msg(spent < LINEAR_CPU_SECONDS, "merging took %.1f s of CPU", spent);
	const struct cnode *x = cnode_map_get(root, "x");
	ck_assert_uint_eq(x->n, 2 * n);
	/* Merged pairs stand where << stood; the explicit e0 wins. */
	ck_assert(cnode_is(cnode_key(x, 0), "m0"));
	ck_assert(cnode_is(cnode_key(x, n - 1), "m44999"));
	ck_assert(cnode_is(cnode_key(x, n), "e0"));
	ck_assert(cnode_is(cnode_val(x, n), "explicit"));
	cnode_free(root);
	free(text);
}
END_TEST

/* Each alias looked its anchor up through every anchor defined before. */
START_TEST(test_many_anchors_and_aliases_resolve_in_linear_time)
{
	const unsigned n = 60000;
	struct text t = {0};
	add(&t, "a: [");
	for (unsigned i = 0; i < n; i++)
		add(&t, "%s&a%u v%u", i ? "," : "", i, i);
	add(&t, "]\nb: [");
	for (unsigned i = 0; i < n; i++)
		add(&t, "%s*a0", i ? "," : "");
	add(&t, "]\n");
	char *text = t.s;
	double t0 = cpu_seconds();
	struct cnode *root = load_ok(text);
	double spent = cpu_seconds() - t0;
	ck_assert_msg(spent < LINEAR_CPU_SECONDS, "resolving took %.1f s of CPU", spent);
	const struct cnode *b = cnode_map_get(root, "b");
	ck_assert_uint_eq(b->n, n);
	ck_assert(cnode_is(b->items[n - 1], "v0"));
	cnode_free(root);
	free(text);
}
END_TEST

START_TEST(test_deep_nesting_is_refused)
{
	char text[512];
	size_t n = 0;
	for (int i = 0; i < 100; i++)
		text[n++] = '[';
	for (int i = 0; i < 100; i++)
		text[n++] = ']';
	text[n] = '\0';
	char err[256];
	ck_assert_int_eq(load_err(text, err, sizeof(err)), -E2BIG);
	ck_assert_msg(strstr(err, "nested deeper"), "got: %s", err);
}
END_TEST

START_TEST(test_documents_that_are_not_one_mapping_file_are_refused)
{
	char err[256];
	load_err("", err, sizeof(err));
	ck_assert_msg(strstr(err, "empty"), "got: %s", err);
	load_err("a: 1\n---\nb: 2\n", err, sizeof(err));
	ck_assert_msg(strstr(err, "more than one YAML document"), "got: %s", err);
	load_err("a: *nowhere\n", err, sizeof(err));
	ck_assert_msg(strstr(err, "no anchor"), "got: %s", err);
	load_err("? [a, b]\n: c\n", err, sizeof(err));
	ck_assert_msg(strstr(err, "key must be a string"), "got: %s", err);
}
END_TEST

START_TEST(test_edits_keep_order)
{
	struct cnode *root = load_ok("a: 1\nb: 2\nc: 3\n");
	ck_assert_int_eq(cnode_map_set(root, "b", cnode_new_str("two")), 0);
	ck_assert_int_eq(cnode_map_set(root, "d", cnode_new_str("four")), 0);
	cnode_map_remove(root, 0);
	char *out = emit_ok(root);
	ck_assert_str_eq(out, "b: two\nc: 3\nd: four\n");
	free(out);
	cnode_free(root);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compose_yaml");
	TCase *tc = tcase_create("yaml");
	tcase_add_test(tc, test_writing_what_was_read_gives_the_same_text);
	tcase_add_test(tc, test_scalar_styles_and_tags_are_kept);
	tcase_add_test(tc, test_aliases_are_copies_and_merge_keys_never_override);
	tcase_add_test(tc, test_new_strings_are_quoted_only_when_yaml_would_read_another_type);
	tcase_add_test(tc, test_malformed_yaml_is_refused_naming_the_line);
	tcase_add_test(tc, test_duplicate_keys_are_refused);
	tcase_add_test(tc, test_alias_expansion_stops_at_the_node_limit);
	tcase_add_test(tc, test_deep_nesting_is_refused);
	tcase_add_test(tc, test_documents_that_are_not_one_mapping_file_are_refused);
	tcase_add_test(tc, test_edits_keep_order);
	tcase_add_test(tc, test_an_anchor_defined_again_names_the_new_node);
	tcase_add_test(tc, test_anchor_copies_count_against_the_node_limit);
	tcase_add_test(tc, test_alias_copies_count_their_text);
	suite_add_tcase(s, tc);
	/* Inputs of a few MB: more room than Check's default 4 s of wall time
	 * on a loaded machine (each test bounds its own CPU time). */
	TCase *limits = tcase_create("limits");
	tcase_set_timeout(limits, 30);
	tcase_add_test(limits, test_nested_anchors_around_a_big_list_are_refused);
	tcase_add_test(limits,
	               test_a_mapping_over_the_node_limit_is_refused_without_quadratic_work);
	tcase_add_test(limits, test_a_mapping_under_the_node_limit_loads_in_linear_time);
	tcase_add_test(limits, test_a_mapping_of_5000_keys_loads_and_still_refuses_a_duplicate);
	tcase_add_test(limits, test_merging_a_big_mapping_into_a_big_mapping_is_linear);
	tcase_add_test(limits, test_many_anchors_and_aliases_resolve_in_linear_time);
	suite_add_tcase(s, limits);
	return check_support_run(s);
}
