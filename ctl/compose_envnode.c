/* Reading and editing a service's environment: in its mapping form or its
 * list-of-"KEY=value" form, keeping whichever form the file used. */
#include "compose_envnode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- what YAML makes of a plain scalar ----
 * docker-compose 1.29 loads the file with PyYAML (YAML 1.1), compose v2 with
 * yaml.v3 (YAML 1.2 plus some 1.1 forms): a plain scalar that either reads as
 * a number, bool, date or null reaches the container as the resolved value,
 * not as its text. The checks below are their union and err towards "not
 * text"; a false alarm costs a skipped row, a miss a wrong password. */

#define YAML_TAG_PREFIX "tag:yaml.org,2002:"
#define INT64_DIGITS 19

/* -?(0|[1-9][0-9]*) within int64: read as this same text by every loader. */
static bool is_plain_decimal(const char *s, size_t len)
{
	bool neg = len > 0 && s[0] == '-';
	const char *d = s + neg;
	size_t n = len - neg;
	if (n == 0 || (d[0] == '0' && (n > 1 || neg)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (d[i] < '0' || d[i] > '9')
			return false;
	if (n < INT64_DIGITS)
		return true;
	return n == INT64_DIGITS &&
	       memcmp(d, neg ? "9223372036854775808" : "9223372036854775807", n) <= 0;
}

/* Bools (YAML 1.1's y/n/yes/no/on/off and true/false, in any case: no
 * loader needs that, none is hurt by it), null, .inf, .nan, << and =. */
static bool is_yaml_word(const char *s, size_t len)
{
	static const char *const words[] = {
	    "y",    "yes",  "n",     "no",    "true", "false", "on", "off", "~",
	    "null", ".inf", "+.inf", "-.inf", ".nan", "<<",    "=",  NULL,
	};
	if (len == 0)
		return true;
	for (const char *const *w = words; *w; w++)
		if (strlen(*w) == len && strncasecmp(*w, s, len) == 0)
			return true;
	return false;
}

static bool in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* A cursor that steps over '_' (YAML 1.1 digit separators; yaml.v3 drops
 * every '_' before parsing a number). */
struct numcur {
	const char *p, *end;
};

static int num_peek(struct numcur *c)
{
	while (c->p < c->end && *c->p == '_')
		c->p++;
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static bool num_eat(struct numcur *c, const char *set)
{
	int ch = num_peek(c);
	if (ch < 0 || !in_set((char)ch, set))
		return false;
	c->p++;
	return true;
}

static size_t num_digits(struct numcur *c)
{
	size_t n = 0;
	while (num_eat(c, "0123456789"))
		n++;
	return n;
}

/* [-+]?0[xob]... with digits of that base or '_' (PyYAML, and Go's ParseInt
 * in yaml.v3, which also takes 0X, 0O, 0B). */
static bool is_prefixed_int(const char *s, size_t len)
{
	size_t i = (len > 0 && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
	if (len - i < 3 || s[i] != '0' || !in_set(s[i + 1], "xXoObB"))
		return false;
	const char *digits = in_set(s[i + 1], "xX")   ? "0123456789abcdefABCDEF_"
	                     : in_set(s[i + 1], "oO") ? "01234567_"
	                                              : "01_";
	for (i += 2; i < len; i++)
		if (!in_set(s[i], digits))
			return false;
	return true;
}

/* Sexagesimal tail after the first digits: (:[0-5]?[0-9])+ (\.[0-9]*)? */
static bool is_sexagesimal_tail(struct numcur *c)
{
	while (num_peek(c) == ':') {
		c->p++;
		size_t n = num_digits(c);
		if (n < 1 || n > 2)
			return false;
	}
	if (num_eat(c, "."))
		num_digits(c);
	return num_peek(c) < 0;
}

/* Decimal ints ([-+]?[0-9]+, leading zeros and 1.1 octals included),
 * floats (1.0, 1., .5, 1e3, 1.5E-3) and sexagesimals (1:20, 1:20.5). */
static bool is_decimal_number(const char *s, size_t len)
{
	if (len == 0 || s[0] == '_')
		return false;
	struct numcur c = {s, s + len};
	num_eat(&c, "+-");
	size_t whole = num_digits(&c);
	if (whole > 0 && num_peek(&c) == ':')
		return is_sexagesimal_tail(&c);
	size_t frac = 0;
	if (num_eat(&c, "."))
		frac = num_digits(&c);
	if (whole + frac == 0)
		return false;
	if (num_eat(&c, "eE")) {
		num_eat(&c, "+-");
		if (num_digits(&c) == 0)
			return false;
	}
	return num_peek(&c) < 0;
}

/* YYYY-M-D, alone or followed by a time: a timestamp in YAML 1.1 and yaml.v3. */
static bool is_date(const char *s, size_t len)
{
	size_t i = 0, n;
	for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		n++;
	if (n != 4 || i >= len || s[i++] != '-')
		return false;
	for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		n++;
	if (n < 1 || n > 2 || i >= len || s[i++] != '-')
		return false;
	for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		n++;
	return n >= 1 && n <= 2 && (i == len || in_set(s[i], "Tt \t"));
}

/* True when v, an environment value, would not reach compose as its text. */
static bool scalar_is_not_text(const struct cnode *v)
{
	if (v->tag) {
		/* An explicit yaml.org tag decides; other tags (compose's !reset,
		 * !override) leave the text alone. */
		if (strncmp(v->tag, YAML_TAG_PREFIX, strlen(YAML_TAG_PREFIX)) != 0)
			return false;
		const char *t = v->tag + strlen(YAML_TAG_PREFIX);
		return strcmp(t, "str") != 0 &&
		       !(strcmp(t, "int") == 0 && is_plain_decimal(v->str, v->len));
	}
	if (v->style != CSTYLE_PLAIN || is_plain_decimal(v->str, v->len))
		return false;
	return is_yaml_word(v->str, v->len) || is_prefixed_int(v->str, v->len) ||
	       is_decimal_number(v->str, v->len) || is_date(v->str, v->len);
}

/* ---- entries ---- */

size_t envnode_count(const struct cnode *env)
{
	if (!env || (env->kind != CNODE_MAP && env->kind != CNODE_SEQ))
		return 0;
	return env->n;
}

/* Entry i's name (len 0: none, or not a VAR / VAR=value / VAR: value
 * entry): envnode_entry's first step, and all envnode_find needs of an
 * entry, once per variable. */
static const char *entry_name(const struct cnode *env, size_t i, size_t *len)
{
	const struct cnode *n = env->kind == CNODE_MAP ? cnode_key(env, i) : env->items[i];
	*len = 0;
	if (n->kind != CNODE_SCALAR ||
	    (env->kind == CNODE_MAP && cnode_val(env, i)->kind != CNODE_SCALAR))
		return NULL;
	const char *eq = env->kind == CNODE_MAP ? NULL : memchr(n->str, '=', n->len);
	*len = eq ? (size_t)(eq - n->str) : n->len;
	return n->str;
}

bool envnode_entry(const struct cnode *env, size_t i, struct env_entry *ret)
{
	struct env_entry e = {0};
	size_t nlen;
	const char *name = entry_name(env, i, &nlen);
	/* A mapping key may be empty (an odd name, refused later); a list
	 * item "=x" has no name at all. */
	if (!name || nlen >= sizeof(e.name) || (env->kind == CNODE_SEQ && nlen == 0))
		return false;
	memcpy(e.name, name, nlen);
	e.name[nlen] = '\0';
	if (env->kind == CNODE_MAP) {
		const struct cnode *v = cnode_val(env, i);
		if (!cnode_is_null(v)) {
			e.has_value = true;
			e.value = v->str;
			e.len = v->len;
			e.not_text = scalar_is_not_text(v);
		}
	} else {
		const struct cnode *it = env->items[i];
		if (nlen < it->len) { /* VAR=value */
			e.has_value = true;
			e.value = it->str + nlen + 1;
			e.len = it->len - nlen - 1;
		}
	}
	*ret = e;
	return true;
}

long envnode_find(const struct cnode *env, const char *name)
{
	size_t want = strlen(name);
	if (want == 0 || want >= sizeof(((struct env_entry *)0)->name))
		return -1; /* envnode_entry refuses such names */
	for (size_t i = envnode_count(env); i-- > 0;) {
		size_t len;
		const char *s = entry_name(env, i, &len);
		if (s && len == want && memcmp(s, name, want) == 0)
			return (long)i;
	}
	return -1;
}

void envnode_remove(struct cnode *env, size_t i)
{
	if (env->kind == CNODE_MAP)
		cnode_map_remove(env, i);
	else
		cnode_seq_remove(env, i);
}

static struct cnode *list_item(const char *name, const char *value)
{
	size_t n = strlen(name) + 1 + strlen(value) + 1;
	char *s = malloc(n);
	if (!s)
		return NULL;
	snprintf(s, n, "%s=%s", name, value);
	struct cnode *c = cnode_new_str(s);
	free(s);
	return c;
}

int envnode_set_at(struct cnode *env, size_t i, const char *name, const char *value)
{
	if (env->kind == CNODE_MAP) {
		struct cnode *k = cnode_new_str(name), *v = cnode_new_str(value);
		if (!k || !v) {
			cnode_free(k);
			cnode_free(v);
			return -ENOMEM;
		}
		cnode_free(env->items[2 * i]);
		cnode_free(env->items[2 * i + 1]);
		env->items[2 * i] = k;
		env->items[2 * i + 1] = v;
		return 0;
	}
	struct cnode *it = list_item(name, value);
	if (!it)
		return -ENOMEM;
	cnode_seq_replace(env, i, it);
	return 0;
}

int envnode_put(struct cnode *env, const char *name, const char *value)
{
	long i = envnode_find(env, name);
	if (i >= 0)
		return envnode_set_at(env, (size_t)i, name, value);
	if (env->kind == CNODE_MAP)
		return cnode_map_insert(env, env->n, cnode_new_str(name), cnode_new_str(value));
	return cnode_seq_append(env, list_item(name, value));
}
