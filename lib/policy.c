/* Policy documents: strict parsing into rules, name globs, and the decision
 * "may these policies do CAP on NAME" where a matching deny always wins. */
#include "policy.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonx.h"
#include "names.h"

static const struct {
	const char *word;
	unsigned cap;
} cap_words[] = {
    {"read", CAP_READ},     {"list", CAP_LIST},     {"write", CAP_WRITE},
    {"rotate", CAP_ROTATE}, {"delete", CAP_DELETE}, {"admin", CAP_ADMIN},
};

unsigned policy_cap_from_string(const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < sizeof(cap_words) / sizeof(cap_words[0]); i++)
		if (strcmp(s, cap_words[i].word) == 0)
			return cap_words[i].cap;
	return 0;
}

const char *policy_cap_name(unsigned cap)
{
	for (size_t i = 0; i < sizeof(cap_words) / sizeof(cap_words[0]); i++)
		if (cap == cap_words[i].cap)
			return cap_words[i].word;
	return "?";
}

static void selector_clear(struct policy_selector *sel)
{
	for (size_t i = 0; i < sel->n; i++) {
		free(sel->keys[i]);
		free(sel->values[i]);
	}
	free(sel->keys);
	free(sel->values);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->rules[i].glob);
	free(p->rules);
	for (size_t i = 0; i < p->n_selectors; i++)
		selector_clear(&p->selectors[i]);
	free(p->selectors);
	free(p);
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errcap, const char *fmt,
                                                      ...)
{
	if (err && errcap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Globs use the name alphabet plus the two wildcards, so a glob can never
 * smuggle a byte that a name could not hold. */
static bool glob_is_valid(const char *g, size_t len)
{
	if (len == 0 || len > POLICY_MAX_GLOB_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = g[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '*' ||
		          c == '?';
		if (!ok)
			return false;
	}
	return true;
}

static int parse_caps(const json_t *arr, size_t idx, unsigned *ret, char *err, size_t errcap)
{
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return fail(err, errcap, "rule %zu: \"capabilities\" must be a non-empty array",
		            idx);
	unsigned caps = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		unsigned c = json_is_string(v) ? policy_cap_from_string(json_string_value(v)) : 0;
		if (c == 0)
			return fail(err, errcap,
			            "rule %zu: unknown capability (use read, list, write, rotate, "
			            "delete, admin)",
			            idx);
		caps |= c;
	}
	*ret = caps;
	return 0;
}

static int parse_rule(const json_t *o, size_t idx, struct policy_rule *ret, char *err,
                      size_t errcap)
{
	if (!json_is_object(o))
		return fail(err, errcap, "rule %zu must be an object", idx);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v)
	{
		if (strcmp(key, "names") != 0 && strcmp(key, "capabilities") != 0 &&
		    strcmp(key, "deny") != 0)
			return fail(err, errcap,
			            "rule %zu: unknown key (allowed: names, capabilities, deny)",
			            idx);
	}
	json_t *names = json_object_get(o, "names");
	if (!json_is_string(names) ||
	    !glob_is_valid(json_string_value(names), json_string_length(names)))
		return fail(err, errcap,
		            "rule %zu: \"names\" must be a glob of [A-Za-z0-9._-*?], 1-256 bytes",
		            idx);
	unsigned caps = 0;
	int r = parse_caps(json_object_get(o, "capabilities"), idx, &caps, err, errcap);
	if (r < 0)
		return r;
	bool deny = false;
	r = jsonx_get_bool(o, "deny", &deny);
	if (r == -EINVAL)
		return fail(err, errcap, "rule %zu: \"deny\" must be true or false", idx);
	char *g = strdup(json_string_value(names));
	if (!g)
		return -ENOMEM;
	*ret = (struct policy_rule){.glob = g, .caps = caps, .deny = deny};
	return 0;
}

static int check_top_keys(const json_t *doc, const char *expect_name, char *err, size_t errcap)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)doc, key, v)
	{
		if (strcmp(key, "rules") == 0)
			continue;
		if (strcmp(key, "description") == 0 && json_is_string(v))
			continue;
		if (strcmp(key, "containers") == 0)
			continue; /* checked by parse_selectors */
		if (strcmp(key, "name") == 0 && json_is_string(v)) {
			if (expect_name && strcmp(json_string_value(v), expect_name) != 0)
				return fail(err, errcap,
				            "\"name\" differs from the name in the path");
			continue;
		}
		return fail(err, errcap,
		            "unknown or mistyped top-level key (allowed: rules, name, description, "
		            "containers)");
	}
	return 0;
}

static bool label_text_ok(const char *s, size_t len)
{
	return len > 0 && len <= POLICY_MAX_LABEL_LEN && strlen(s) == len;
}

static int parse_selector(const json_t *o, size_t idx, struct policy_selector *sel, char *err,
                          size_t errcap)
{
	size_t n = json_is_object(o) ? json_object_size(o) : 0;
	if (n == 0 || n > POLICY_MAX_LABELS)
		return fail(err, errcap, "containers[%zu]: an object of 1 to %d labels", idx,
		            POLICY_MAX_LABELS);
	sel->keys = calloc(n, sizeof(char *));
	sel->values = calloc(n, sizeof(char *));
	if (!sel->keys || !sel->values)
		return -ENOMEM;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (!json_is_string(v) || !label_text_ok(k, strlen(k)) ||
		    !label_text_ok(json_string_value(v), json_string_length(v)))
			return fail(
			    err, errcap,
			    "containers[%zu]: label keys and values are strings of 1-%d bytes", idx,
			    POLICY_MAX_LABEL_LEN);
		sel->keys[sel->n] = strdup(k);
		sel->values[sel->n] = strdup(json_string_value(v));
		sel->n++;
		if (!sel->keys[sel->n - 1] || !sel->values[sel->n - 1])
			return -ENOMEM;
	}
	return 0;
}

static int parse_selectors(const json_t *arr, struct policy *p, char *err, size_t errcap)
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > POLICY_MAX_SELECTORS)
		return fail(err, errcap, "\"containers\": an array of at most %d label selectors",
		            POLICY_MAX_SELECTORS);
	p->selectors = calloc(n ? n : 1, sizeof(*p->selectors));
	if (!p->selectors)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		p->n_selectors = i + 1; /* counted before parsing: freed on failure */
		int r = parse_selector(json_array_get(arr, i), i, &p->selectors[i], err, errcap);
		if (r < 0)
			return r;
	}
	return 0;
}

bool policy_binds_labels(const struct policy *p, const struct json_t *labels)
{
	if (!p || !json_is_object(labels))
		return false;
	for (size_t i = 0; i < p->n_selectors; i++) {
		const struct policy_selector *sel = &p->selectors[i];
		bool all = sel->n > 0;
		for (size_t j = 0; all && j < sel->n; j++) {
			json_t *v = json_object_get(labels, sel->keys[j]);
			all =
			    json_is_string(v) && strcmp(json_string_value(v), sel->values[j]) == 0;
		}
		if (all)
			return true;
	}
	return false;
}

static int parse_rules(const json_t *arr, struct policy *p, char *err, size_t errcap)
{
	if (!json_is_array(arr))
		return fail(err, errcap, "\"rules\" must be an array");
	size_t n = json_array_size(arr);
	if (n > POLICY_MAX_RULES)
		return fail(err, errcap, "too many rules (at most %d)", POLICY_MAX_RULES);
	p->rules = calloc(n ? n : 1, sizeof(*p->rules));
	if (!p->rules)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r = parse_rule(json_array_get(arr, i), i, &p->rules[i], err, errcap);
		if (r < 0)
			return r;
		p->n = i + 1;
	}
	return 0;
}

int policy_parse(const char *json, size_t len, const char *expect_name, struct policy **ret,
                 char *err, size_t errcap)
{
	if (err && errcap > 0)
		err[0] = '\0';
	json_t *doc = NULL;
	int r = jsonx_parse_object(json, len, POLICY_MAX_DOC_BYTES, &doc, err, errcap);
	if (r < 0)
		return r == -EMSGSIZE ? fail(err, errcap, "policy document over %u bytes",
		                             POLICY_MAX_DOC_BYTES)
		                      : r;
	struct policy *p = calloc(1, sizeof(*p));
	if (!p) {
		json_decref(doc);
		return -ENOMEM;
	}
	r = check_top_keys(doc, expect_name, err, errcap);
	if (r == 0) {
		json_t *rules = json_object_get(doc, "rules");
		r = rules ? parse_rules(rules, p, err, errcap)
		          : fail(err, errcap, "\"rules\" is missing");
	}
	json_t *containers = json_object_get(doc, "containers");
	if (r == 0 && containers)
		r = parse_selectors(containers, p, err, errcap);
	json_decref(doc);
	if (r < 0) {
		policy_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

bool policy_glob_match(const char *glob, const char *name)
{
	const char *g = glob, *n = name;
	const char *star = NULL, *resume = NULL;
	while (*n) {
		if (*g == '*') {
			/* Remember the star; first try it matching nothing. */
			star = g++;
			resume = n;
		} else if (*g && (*g == '?' || *g == *n)) {
			g++;
			n++;
		} else if (star) {
			/* Mismatch after a star: let the star eat one more byte. */
			g = star + 1;
			n = ++resume;
		} else {
			return false;
		}
	}
	while (*g == '*')
		g++;
	return *g == '\0';
}

static bool rule_matches(const struct policy_rule *r, unsigned cap, const char *name)
{
	if (!(r->caps & cap))
		return false;
	if (cap == CAP_ADMIN)
		return true;
	return name && policy_glob_match(r->glob, name);
}

bool policy_allows(const struct policy *const *ps, size_t n, unsigned cap, const char *name)
{
	bool allowed = false;
	for (size_t i = 0; i < n; i++) {
		if (!ps[i])
			continue;
		for (size_t j = 0; j < ps[i]->n; j++) {
			const struct policy_rule *r = &ps[i]->rules[j];
			if (!rule_matches(r, cap, name))
				continue;
			if (r->deny)
				return false; /* deny wins, whatever else allows */
			allowed = true;
		}
	}
	return allowed;
}

bool policy_any_allow(const struct policy *const *ps, size_t n, unsigned cap)
{
	for (size_t i = 0; i < n; i++) {
		if (!ps[i])
			continue;
		for (size_t j = 0; j < ps[i]->n; j++)
			if (!ps[i]->rules[j].deny && (ps[i]->rules[j].caps & cap))
				return true;
	}
	return false;
}

bool policy_has_token_glob(const struct policy *p, size_t *ret_rule)
{
	for (size_t i = 0; p && i < p->n; i++) {
		if (name_is_token(p->rules[i].glob, strlen(p->rules[i].glob))) {
			*ret_rule = i;
			return true;
		}
	}
	return false;
}
