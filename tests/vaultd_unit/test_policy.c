/* lib/policy.c: strict parsing of policy documents, glob matching, and the
 * capability decision where a matching deny always wins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "policy.h"
#include "check_support.h"

static struct policy *parse_ok(const char *json)
{
	struct policy *p = NULL;
	char err[200];
	int rc = policy_parse(json, strlen(json), NULL, &p, err, sizeof(err));
	ck_assert_msg(rc == 0, "expected %s to parse, got %d (%s)", json, rc, err);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void parse_bad(const char *json, const char *expect_name, const char *why)
{
	struct policy *p = (struct policy *)0x1;
	char err[200] = "";
	int rc = policy_parse(json, strlen(json), expect_name, &p, err, sizeof(err));
	ck_assert_msg(rc < 0, "%s: expected %s to be refused", why, json);
	ck_assert_msg(p == (struct policy *)0x1, "%s: *ret must be untouched on failure", why);
	ck_assert_msg(err[0] != '\0', "%s: a reason is given", why);
}

START_TEST(test_parse_reads_rules_caps_and_deny)
{
	struct policy *p =
	    parse_ok("{\"rules\":[{\"names\":\"app.*\",\"capabilities\":[\"read\",\"list\"]},"
	             "{\"names\":\"app.root\",\"capabilities\":[\"read\"],\"deny\":true}]}");
	ck_assert_uint_eq(p->n, 2);
	ck_assert_str_eq(p->rules[0].glob, "app.*");
	ck_assert_uint_eq(p->rules[0].caps, CAP_READ | CAP_LIST);
	ck_assert(!p->rules[0].deny);
	ck_assert_str_eq(p->rules[1].glob, "app.root");
	ck_assert_uint_eq(p->rules[1].caps, CAP_READ);
	ck_assert(p->rules[1].deny);
	policy_free(p);
}
END_TEST

START_TEST(test_parse_accepts_every_capability_word)
{
	struct policy *p =
	    parse_ok("{\"rules\":[{\"names\":\"*\",\"capabilities\":[\"read\",\"list\","
	             "\"write\",\"rotate\",\"delete\",\"admin\"]}]}");
	ck_assert_uint_eq(p->rules[0].caps, CAP_ALL);
	policy_free(p);
}
END_TEST

START_TEST(test_parse_accepts_the_document_get_returns)
{
	/* GET /v1/policies/{name} adds "name": putting it back must work. */
	const char *doc = "{\"name\":\"app\",\"description\":\"x\",\"rules\":[]}";
	struct policy *p = NULL;
	ck_assert_int_eq(policy_parse(doc, strlen(doc), "app", &p, NULL, 0), 0);
	ck_assert_uint_eq(p->n, 0);
	policy_free(p);
	parse_bad(doc, "other", "a name that differs from the path");
}
END_TEST

START_TEST(test_parse_refuses_malformed_documents)
{
	parse_bad("", NULL, "empty");
	parse_bad("[]", NULL, "not an object");
	parse_bad("{}", NULL, "no rules");
	parse_bad("{\"rules\":\"all\"}", NULL, "rules not an array");
	parse_bad("{\"rules\":[1]}", NULL, "rule not an object");
	parse_bad("{\"rules\":[{\"names\":\"a\",\"capabilities\":[]}]}", NULL, "no capability");
	parse_bad("{\"rules\":[{\"names\":\"a\",\"capabilities\":[\"fly\"]}]}", NULL,
	          "unknown capability");
	parse_bad("{\"rules\":[{\"names\":\"a\",\"capabilities\":[\"Read\"]}]}", NULL,
	          "capabilities are case-sensitive");
	parse_bad("{\"rules\":[{\"names\":\"a\",\"capabilities\":[1]}]}", NULL,
	          "number capability");
	parse_bad("{\"rules\":[{\"names\":5,\"capabilities\":[\"read\"]}]}", NULL, "number glob");
	parse_bad("{\"rules\":[{\"names\":\"\",\"capabilities\":[\"read\"]}]}", NULL, "empty glob");
	parse_bad("{\"rules\":[{\"names\":\"a/b\",\"capabilities\":[\"read\"]}]}", NULL,
	          "slash in glob");
	parse_bad("{\"rules\":[{\"names\":\"a[b]\",\"capabilities\":[\"read\"]}]}", NULL,
	          "brackets in glob");
	parse_bad("{\"rules\":[{\"names\":\"a\",\"capabilities\":[\"read\"],\"deny\":\"yes\"}]}",
	          NULL, "deny not a bool");
	parse_bad("{\"rules\":[{\"names\":\"a\",\"capabilities\":[\"read\"],\"extra\":1}]}", NULL,
	          "unknown rule key");
	parse_bad("{\"rules\":[],\"rulez\":[]}", NULL, "unknown top-level key");
	parse_bad("{\"rules\":[],\"rules\":[]}", NULL, "duplicate keys");
	parse_bad("{\"rules\":[]} x", NULL, "trailing bytes");
}
END_TEST

/* A token pasted as a glob is found (PUT refuses it), yet a document that
 * holds one still parses: one an older vaultd stored keeps its rules, and
 * its denies keep denying. A glob one character off is an ordinary glob. */
START_TEST(test_a_token_shaped_glob_is_found_and_still_loads)
{
	static const char tok[] = "vd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
	char json[256];
	snprintf(json, sizeof(json),
	         "{\"rules\":[{\"names\":\"*\",\"capabilities\":[\"read\"]},"
	         "{\"names\":\"%s\",\"capabilities\":[\"read\"],\"deny\":true}]}",
	         tok);
	struct policy *p = parse_ok(json);
	size_t rule = 99;
	ck_assert(policy_has_token_glob(p, &rule));
	ck_assert_uint_eq(rule, 1);
	const struct policy *ps[] = {p};
	ck_assert(!policy_allows(ps, 1, CAP_READ, tok));
	ck_assert(policy_allows(ps, 1, CAP_READ, "db"));
	policy_free(p);
	snprintf(json, sizeof(json),
	         "{\"rules\":[{\"names\":\"%.45s\",\"capabilities\":[\"read\"]}]}", tok);
	p = parse_ok(json);
	ck_assert(!policy_has_token_glob(p, &rule));
	policy_free(p);
}
END_TEST

START_TEST(test_parse_caps_glob_length_and_rule_count)
{
	char glob[POLICY_MAX_GLOB_LEN + 2];
	memset(glob, 'a', sizeof(glob) - 1);
	glob[sizeof(glob) - 1] = '\0';
	char doc[1024];
	snprintf(doc, sizeof(doc), "{\"rules\":[{\"names\":\"%s\",\"capabilities\":[\"read\"]}]}",
	         glob);
	parse_bad(doc, NULL, "a glob one byte over the limit");
	glob[POLICY_MAX_GLOB_LEN] = '\0';
	snprintf(doc, sizeof(doc), "{\"rules\":[{\"names\":\"%s\",\"capabilities\":[\"read\"]}]}",
	         glob);
	policy_free(parse_ok(doc));

	/* POLICY_MAX_RULES + 1 rules. */
	size_t cap = (POLICY_MAX_RULES + 1) * 48 + 32;
	char *big = malloc(cap);
	size_t len = (size_t)snprintf(big, cap, "{\"rules\":[");
	for (int i = 0; i <= POLICY_MAX_RULES; i++)
		len += (size_t)snprintf(big + len, cap - len,
		                        "%s{\"names\":\"a\",\"capabilities\":[\"read\"]}",
		                        i ? "," : "");
	snprintf(big + len, cap - len, "]}");
	parse_bad(big, NULL, "one rule too many");
	free(big);
}
END_TEST

struct glob_case {
	const char *glob, *name;
	bool match;
};

static const struct glob_case globs[] = {
    {"*", "anything", true},
    {"*", "a", true},
    {"app.*", "app.db", true},
    {"app.*", "app.", true},
    {"app.*", "app", false},
    {"app.*", "xapp.db", false},
    {"*.db", "prod.db", true},
    {"*.db", "prod.dbx", false},
    {"a*b*c", "abc", true},
    {"a*b*c", "aXXbYYc", true},
    {"a*b*c", "aXXbYY", false},
    {"a*b*c", "acb", false},
    {"?", "a", true},
    {"?", "ab", false},
    {"a?c", "abc", true},
    {"a?c", "ac", false},
    {"exact", "exact", true},
    {"exact", "exactly", false},
    {"exact", "exac", false},
    {"**", "x", true},
    {"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    {"app.*.key", "app.x.y.key", true},
};

START_TEST(test_glob_star_and_question_mark)
{
	const struct glob_case *c = &globs[_i];
	ck_assert_msg(policy_glob_match(c->glob, c->name) == c->match, "glob %s on %s: expected %s",
	              c->glob, c->name, c->match ? "match" : "no match");
}
END_TEST

static const struct policy *const *one(const struct policy **slot, const struct policy *p)
{
	slot[0] = p;
	return slot;
}

START_TEST(test_allow_needs_a_matching_rule_for_that_capability)
{
	struct policy *p =
	    parse_ok("{\"rules\":[{\"names\":\"app.*\",\"capabilities\":[\"read\"]}]}");
	const struct policy *s[1];
	ck_assert(policy_allows(one(s, p), 1, CAP_READ, "app.db"));
	ck_assert(!policy_allows(one(s, p), 1, CAP_WRITE, "app.db"));
	ck_assert(!policy_allows(one(s, p), 1, CAP_READ, "other.db"));
	ck_assert(!policy_allows(one(s, p), 1, CAP_ADMIN, NULL));
	policy_free(p);
}
END_TEST

START_TEST(test_deny_wins_within_one_policy)
{
	struct policy *p =
	    parse_ok("{\"rules\":[{\"names\":\"app.*\",\"capabilities\":[\"read\"]},"
	             "{\"names\":\"app.root\",\"capabilities\":[\"read\"],\"deny\":true}]}");
	const struct policy *s[1];
	ck_assert(policy_allows(one(s, p), 1, CAP_READ, "app.db"));
	ck_assert_msg(!policy_allows(one(s, p), 1, CAP_READ, "app.root"), "deny beats allow");
	policy_free(p);
}
END_TEST

START_TEST(test_deny_wins_across_policies_in_any_order)
{
	struct policy *allow = parse_ok(
	    "{\"rules\":[{\"names\":\"app.root\",\"capabilities\":[\"read\",\"write\"]}]}");
	struct policy *deny = parse_ok(
	    "{\"rules\":[{\"names\":\"app.*\",\"capabilities\":[\"read\"],\"deny\":true}]}");
	const struct policy *ab[2] = {allow, deny}, *ba[2] = {deny, allow};
	ck_assert(!policy_allows(ab, 2, CAP_READ, "app.root"));
	ck_assert(!policy_allows(ba, 2, CAP_READ, "app.root"));
	/* The deny names only read: write stays allowed. */
	ck_assert(policy_allows(ab, 2, CAP_WRITE, "app.root"));
	policy_free(allow);
	policy_free(deny);
}
END_TEST

START_TEST(test_admin_ignores_the_glob_and_can_be_denied)
{
	struct policy *p = parse_ok("{\"rules\":[{\"names\":\"nothing.matches\",\"capabilities\":"
	                            "[\"admin\"]}]}");
	struct policy *d = parse_ok("{\"rules\":[{\"names\":\"x\",\"capabilities\":[\"admin\"],"
	                            "\"deny\":true}]}");
	const struct policy *s[2] = {p, NULL};
	ck_assert(policy_allows(s, 1, CAP_ADMIN, NULL));
	ck_assert_msg(policy_allows(s, 2, CAP_ADMIN, "whatever"), "NULL entries are skipped");
	s[1] = d;
	ck_assert(!policy_allows(s, 2, CAP_ADMIN, NULL));
	policy_free(p);
	policy_free(d);
}
END_TEST

START_TEST(test_no_policies_allow_nothing)
{
	ck_assert(!policy_allows(NULL, 0, CAP_READ, "a"));
	ck_assert(!policy_any_allow(NULL, 0, CAP_LIST));
}
END_TEST

START_TEST(test_any_allow_ignores_deny_rules)
{
	struct policy *p =
	    parse_ok("{\"rules\":[{\"names\":\"*\",\"capabilities\":[\"list\"],"
	             "\"deny\":true},{\"names\":\"a.*\",\"capabilities\":[\"read\"]}]}");
	const struct policy *s[1];
	ck_assert(!policy_any_allow(one(s, p), 1, CAP_LIST));
	ck_assert(policy_any_allow(one(s, p), 1, CAP_READ));
	policy_free(p);
}
END_TEST

START_TEST(test_cap_words_round_trip)
{
	const unsigned caps[] = {CAP_READ, CAP_LIST, CAP_WRITE, CAP_ROTATE, CAP_DELETE, CAP_ADMIN};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		ck_assert_uint_eq(policy_cap_from_string(policy_cap_name(caps[i])), caps[i]);
	ck_assert_uint_eq(policy_cap_from_string("root"), 0);
	ck_assert_uint_eq(policy_cap_from_string(NULL), 0);
}
END_TEST

START_TEST(test_containers_selectors_bind_by_all_labels_of_one_selector)
{
	struct policy *p =
	    parse_ok("{\"rules\":[],\"containers\":[{\"com.docker.compose.service\":\"web\","
	             "\"env\":\"prod\"},{\"app\":\"worker\"}]}");
	ck_assert_uint_eq(p->n_selectors, 2);
	json_t *web = json_pack("{ss ss ss}", "com.docker.compose.service", "web", "env", "prod",
	                        "other", "x");
	json_t *web_dev = json_pack("{ss ss}", "com.docker.compose.service", "web", "env", "dev");
	json_t *worker = json_pack("{ss}", "app", "worker");
	json_t *none = json_object();
	ck_assert(policy_binds_labels(p, web));
	ck_assert_msg(!policy_binds_labels(p, web_dev), "every label of a selector must match");
	ck_assert(policy_binds_labels(p, worker));
	ck_assert(!policy_binds_labels(p, none));
	ck_assert(!policy_binds_labels(p, NULL));
	json_decref(web);
	json_decref(web_dev);
	json_decref(worker);
	json_decref(none);
	policy_free(p);

	struct policy *q = parse_ok("{\"rules\":[]}");
	json_t *any = json_pack("{ss}", "app", "worker");
	ck_assert_msg(!policy_binds_labels(q, any), "no selectors: bound to no container");
	json_decref(any);
	policy_free(q);
}
END_TEST

START_TEST(test_containers_selectors_are_validated)
{
	parse_bad("{\"rules\":[],\"containers\":{}}", NULL, "not an array");
	parse_bad("{\"rules\":[],\"containers\":[{}]}", NULL, "empty selector");
	parse_bad("{\"rules\":[],\"containers\":[{\"a\":1}]}", NULL, "number label value");
	parse_bad("{\"rules\":[],\"containers\":[{\"a\":\"\"}]}", NULL, "empty label value");
	parse_bad("{\"rules\":[],\"containers\":[\"web\"]}", NULL, "string selector");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");
	tcase_add_test(tc, test_parse_reads_rules_caps_and_deny);
	tcase_add_test(tc, test_parse_accepts_every_capability_word);
	tcase_add_test(tc, test_parse_accepts_the_document_get_returns);
	tcase_add_test(tc, test_parse_refuses_malformed_documents);
	tcase_add_test(tc, test_a_token_shaped_glob_is_found_and_still_loads);
	tcase_add_test(tc, test_parse_caps_glob_length_and_rule_count);
	tcase_add_loop_test(tc, test_glob_star_and_question_mark, 0,
	                    (int)(sizeof(globs) / sizeof(globs[0])));
	tcase_add_test(tc, test_allow_needs_a_matching_rule_for_that_capability);
	tcase_add_test(tc, test_deny_wins_within_one_policy);
	tcase_add_test(tc, test_deny_wins_across_policies_in_any_order);
	tcase_add_test(tc, test_admin_ignores_the_glob_and_can_be_denied);
	tcase_add_test(tc, test_no_policies_allow_nothing);
	tcase_add_test(tc, test_any_allow_ignores_deny_rules);
	tcase_add_test(tc, test_cap_words_round_trip);
	tcase_add_test(tc, test_containers_selectors_bind_by_all_labels_of_one_selector);
	tcase_add_test(tc, test_containers_selectors_are_validated);
	suite_add_tcase(s, tc);
	return check_support_run(s);
}
