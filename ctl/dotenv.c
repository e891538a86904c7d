/* .env files read the way docker-compose 1.29 reads an env_file: it calls
 * python-dotenv 0.21 (dotenv/parser.py, then resolve_variables in
 * dotenv/main.py). Each rule below names the regular expression it mirrors,
 * including its backtracking where that decides the result. The parser
 * works on the text as Python's text mode delivers it; where each
 * assignment stood is mapped back to the caller's bytes at the end. */
#include "dotenv.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- text: UTF-8 checked, newlines normalised ---- */

/* Strict UTF-8 as Python's decoder wants it: no overlongs, no surrogates,
 * nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* Python opens the file in text mode: "\r\n" and "\r" become "\n" before
 * the parser sees anything (so quoted values keep "\n" only). The encoding
 * is utf-8-sig: one leading BOM is dropped. */
static struct secbuf *normalise(const unsigned char *in, size_t n)
{
	if (n >= 3 && in[0] == 0xef && in[1] == 0xbb && in[2] == 0xbf) {
		in += 3;
		n -= 3;
	}
	struct secbuf *b = secbuf_new(n);
	if (!b)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r') {
			b->data[o++] = '\n';
			if (i + 1 < n && in[i + 1] == '\n')
				i++;
		} else {
			b->data[o++] = in[i];
		}
	}
	b->data[o] = '\0';
	b->len = o;
	return b;
}

/* Bytes of the Unicode whitespace character at s[i] (Python's \s and
 * str.isspace), 0 if there is none. */
static size_t ws_len(const unsigned char *s, size_t n, size_t i)
{
	unsigned char c = s[i];
	if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f))
		return 1;
	if (c < 0x80)
		return 0;
	if (c == 0xc2 && i + 1 < n && (s[i + 1] == 0x85 || s[i + 1] == 0xa0))
		return 2; /* U+0085, U+00A0 */
	if (i + 2 >= n)
		return 0;
	unsigned char d = s[i + 1], e = s[i + 2];
	if ((c == 0xe1 && d == 0x9a && e == 0x80) || /* U+1680 */
	    (c == 0xe2 && d == 0x80 && (e <= 0x8a || e == 0xa8 || e == 0xa9 || e == 0xaf)) ||
	    (c == 0xe2 && d == 0x81 && e == 0x9f) || /* U+205F */
	    (c == 0xe3 && d == 0x80 && e == 0x80))   /* U+3000 */
		return 3;
	return 0;
}

/* [^\S\r\n]: whitespace other than a line break. */
static size_t hws_len(const unsigned char *s, size_t n, size_t i)
{
	return s[i] == '\n' ? 0 : ws_len(s, n, i);
}

/* ---- the grammar (dotenv/parser.py) ---- */

enum vkind { V_NONE, V_EMPTY, V_UNQUOTED, V_SINGLE, V_DOUBLE };

struct binding {
	bool error, has_key;
	bool nul_key; /* the error: a NUL inside the key (the file is refused) */
	size_t kstart, klen;
	enum vkind vk;
	size_t vstart, vlen;
	unsigned line;
	size_t start, end; /* from the start of the key's line to after the line break */
};

struct parser {
	const unsigned char *s;
	size_t n, pos;
	unsigned line;
};

static void advance(struct parser *p, size_t to)
{
	for (size_t i = p->pos; i < to; i++)
		if (p->s[i] == '\n')
			p->line++;
	p->pos = to;
}

static size_t skip_hws(const struct parser *p, size_t i)
{
	size_t w;
	while (i < p->n && (w = hws_len(p->s, p->n, i)) > 0)
		i += w;
	return i;
}

/* '((?:\\'|[^'])*)' and its double-quoted twin. Greedy: "\q" pairs are
 * consumed as escapes and the first unescaped quote closes. If none comes
 * before the end of the file, the regex backtracks into the last "\q" pair
 * and that quote closes (its backslash stays in the value); with no pair
 * the match fails. Quoted values may span lines. Returns the index of the
 * closing quote, or -1. */
static ssize_t scan_quoted(const struct parser *p, unsigned char q)
{
	ssize_t last_escaped = -1;
	size_t i = p->pos + 1;
	while (i < p->n) {
		if (p->s[i] == '\\' && i + 1 < p->n && p->s[i + 1] == q) {
			last_escaped = (ssize_t)(i + 1);
			i += 2;
		} else if (p->s[i] == q) {
			return (ssize_t)i;
		} else {
			i++;
		}
	}
	return last_escaped;
}

/* parse_value: a quoted value, nothing (end of line or file), or the rest
 * of the line. 0 or -1 (the line is an error). */
static int parse_value(struct parser *p, struct binding *b)
{
	if (p->pos >= p->n || p->s[p->pos] == '\n') {
		b->vk = V_EMPTY;
		return 0;
	}
	unsigned char c = p->s[p->pos];
	if (c == '\'' || c == '"') {
		ssize_t end = scan_quoted(p, c);
		if (end < 0)
			return -1;
		b->vk = c == '\'' ? V_SINGLE : V_DOUBLE;
		b->vstart = p->pos + 1;
		b->vlen = (size_t)end - b->vstart;
		advance(p, (size_t)end + 1);
		return 0;
	}
	size_t e = p->pos;
	while (e < p->n && p->s[e] != '\n')
		e++;
	b->vk = V_UNQUOTED;
	b->vstart = p->pos;
	b->vlen = e - p->pos;
	advance(p, e);
	return 0;
}

/* parse_key: '#' starts a comment (no key); '([^']+)' or ([^=\#\s]+). */
static int parse_key(struct parser *p, struct binding *b)
{
	const unsigned char *s = p->s;
	if (s[p->pos] == '#')
		return 0;
	size_t start = p->pos, end;
	if (s[p->pos] == '\'') {
		const unsigned char *q = memchr(s + start + 1, '\'', p->n - start - 1);
		if (!q || q == s + start + 1)
			return -1;
		b->kstart = start + 1;
		b->klen = (size_t)(q - s) - b->kstart;
		end = (size_t)(q - s) + 1;
	} else {
		end = start;
		while (end < p->n && s[end] != '=' && s[end] != '#' && ws_len(s, p->n, end) == 0)
			end++;
		if (end == start)
			return -1;
		b->kstart = start;
		b->klen = end - start;
	}
	/* A NUL inside a key cannot become a name or an environment variable
	 * (python-dotenv would keep it). Not skipped as a bad line either: a
	 * quoted key may span lines, and one that holds a NUL starts parsing
	 * differently once a line inside it goes, so the file vaultctl writes
	 * without its migrated lines could gain a key (tests/fuzz/fuzz_dotenv
	 * found one). The whole file is refused. */
	if (memchr(s + b->kstart, '\0', b->klen)) {
		b->nul_key = true;
		return -1;
	}
	b->has_key = true;
	advance(p, end);
	return 0;
}

/* (?:[^\S\r\n]*#[^\r\n]*)? then [^\S\r\n]*(?:\r\n|\n|\r|$). */
static int parse_line_end(struct parser *p)
{
	size_t i = skip_hws(p, p->pos);
	if (i < p->n && p->s[i] == '#') {
		while (i < p->n && p->s[i] != '\n')
			i++;
		advance(p, i);
	}
	i = skip_hws(p, p->pos);
	if (i == p->n) {
		advance(p, i);
		return 0;
	}
	if (p->s[i] != '\n')
		return -1;
	advance(p, i + 1);
	return 0;
}

/* parse_binding. Returns 1 with *b filled (perhaps an error or a comment),
 * 0 at the end of the text. */
static int parse_binding(struct parser *p, struct binding *b)
{
	memset(b, 0, sizeof(*b));
	size_t w;
	while (p->pos < p->n && (w = ws_len(p->s, p->n, p->pos)) > 0) /* \s* */
		advance(p, p->pos + w);
	if (p->pos >= p->n)
		return 0;
	b->line = p->line;
	b->start = p->pos;
	while (b->start > 0 && p->s[b->start - 1] != '\n')
		b->start--; /* only whitespace since the last binding: that line is ours */
	/* (?:export[^\S\r\n]+)? */
	if (p->n - p->pos > 6 && memcmp(p->s + p->pos, "export", 6) == 0) {
		size_t after = skip_hws(p, p->pos + 6);
		if (after > p->pos + 6)
			advance(p, after);
	}
	if (parse_key(p, b) < 0)
		goto error;
	advance(p, skip_hws(p, p->pos));
	b->vk = V_NONE;
	if (p->pos < p->n && p->s[p->pos] == '=') {
		advance(p, skip_hws(p, p->pos + 1)); /* =[^\S\r\n]* */
		if (parse_value(p, b) < 0)
			goto error;
	}
	if (parse_line_end(p) < 0)
		goto error;
	b->end = p->pos;
	return 1;
error:
	/* [^\r\n]*(?:\r|\n|\r\n)? from where the failure happened. */
	b->error = true;
	b->has_key = false;
	while (p->pos < p->n && p->s[p->pos] != '\n')
		advance(p, p->pos + 1);
	if (p->pos < p->n)
		advance(p, p->pos + 1);
	return 1;
}

/* ---- values ---- */

static int escape_char(unsigned char c, bool dbl)
{
	if (c == '\\' || c == '\'')
		return c;
	if (!dbl)
		return -1;
	switch (c) {
	case '"':
		return '"';
	case 'a':
		return '\a';
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'v':
		return '\v';
	default:
		return -1;
	}
}

/* decode_escapes: \\[\\'] (single) or \\[\\'"abfnrtv] (double), left to
 * right without overlap. The result is never longer than the input. */
static size_t unescape(const unsigned char *s, size_t n, bool dbl, unsigned char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int e = (s[i] == '\\' && i + 1 < n) ? escape_char(s[i + 1], dbl) : -1;
		if (e >= 0) {
			out[o++] = (unsigned char)e;
			i++;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

/* parse_unquoted_value: re.sub(r"\s+#.*", "", part).rstrip() — cut at the
 * first whitespace run followed by '#', then drop trailing whitespace. */
static size_t unquoted_len(const unsigned char *s, size_t n)
{
	size_t end = n, i = 0, w;
	while (i < n) {
		if ((w = ws_len(s, n, i)) == 0) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && (w = ws_len(s, n, j)) > 0)
			j += w;
		if (j < n && s[j] == '#') {
			end = i;
			break;
		}
		i = j;
	}
	size_t keep = 0;
	for (i = 0; i < end;) {
		w = ws_len(s, end, i);
		i += w ? w : 1;
		if (!w)
			keep = i;
	}
	return keep;
}

/* The binding's value as written, unescaped, in guarded memory. */
static struct secbuf *raw_value(const unsigned char *s, const struct binding *b)
{
	const unsigned char *v = s + b->vstart;
	if (b->vk == V_EMPTY)
		return secbuf_new(0);
	if (b->vk == V_UNQUOTED)
		return secbuf_dup(v, unquoted_len(v, b->vlen));
	struct secbuf *out = secbuf_new(b->vlen);
	if (!out)
		return NULL;
	out->len = unescape(v, b->vlen, b->vk == V_DOUBLE, out->data);
	out->data[out->len] = '\0';
	return out;
}

/* ---- where bindings stand in the caller's bytes ---- */

/* normalise() dropped a BOM and the "\n" of each "\r\n": walking both texts
 * side by side turns an offset in the parsed text back into one in the
 * caller's buffer. Offsets are asked for in increasing order. */
struct origmap {
	const unsigned char *in;
	size_t n;
	size_t orig, norm; /* the same place in both */
};

static void origmap_init(struct origmap *m, const unsigned char *in, size_t n)
{
	bool bom = n >= 3 && in[0] == 0xef && in[1] == 0xbb && in[2] == 0xbf;
	*m = (struct origmap){.in = in, .n = n, .orig = bom ? 3 : 0};
}

static size_t origmap_to(struct origmap *m, size_t norm)
{
	while (m->norm < norm && m->orig < m->n) {
		bool crlf =
		    m->in[m->orig] == '\r' && m->orig + 1 < m->n && m->in[m->orig + 1] == '\n';
		m->orig += crlf ? 2 : 1;
		m->norm++;
	}
	return m->orig;
}

/* ---- the result: unique keys, the last value wins ---- */

struct builder {
	struct dotenv *d;
	size_t cap, cap_spans;
	dotenv_lookup_fn lookup;
	void *ctx;
	struct origmap map;
	size_t grown; /* bytes of interpolated values so far */
};

const struct dotenv_entry *dotenv_find(const struct dotenv *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->items[i].key, key) == 0)
			return &d->items[i];
	return NULL;
}

/* What ${name} resolves to: an earlier key of the file first (a key without
 * a value counts as present and empty), then the environment. *needs_env is
 * set when the key it took needs the environment itself. */
static bool resolve(const struct builder *bl, const char *name, const unsigned char **ret,
                    size_t *ret_len, bool *needs_env)
{
	const struct dotenv_entry *e = dotenv_find(bl->d, name);
	if (e) {
		*ret = e->value ? e->value->data : (const unsigned char *)"";
		*ret_len = e->value ? e->value->len : 0;
		*needs_env |= e->needs_env;
		return true;
	}
	const char *env = bl->lookup ? bl->lookup(name, bl->ctx) : NULL;
	if (!env)
		return false;
	*ret = (const unsigned char *)env;
	*ret_len = strlen(env);
	return true;
}

/* One match of \$\{(?P<name>[^\}:]*)(?::-(?P<default>[^\}]*))?\} at s[i]:
 * returns its end, or 0 when there is none here. *has_def: the default
 * group matched (perhaps empty). */
static size_t match_var(const unsigned char *s, size_t n, size_t i, size_t *name_end,
                        size_t *def_start, size_t *def_end, bool *has_def)
{
	if (s[i] != '$' || i + 1 >= n || s[i + 1] != '{')
		return 0;
	size_t j = i + 2;
	while (j < n && s[j] != '}' && s[j] != ':')
		j++;
	*name_end = j;
	*def_start = *def_end = 0;
	*has_def = false;
	if (j < n && s[j] == '}')
		return j + 1;
	if (j + 1 < n && s[j] == ':' && s[j + 1] == '-') {
		size_t k = j + 2;
		while (k < n && s[k] != '}')
			k++;
		if (k < n) {
			*def_start = j + 2;
			*def_end = k;
			*has_def = true;
			return k + 1;
		}
	}
	return 0;
}

#define DOTENV_MAX_VAR_NAME 1024

/* Interpolates v into out (NULL: only measure, and set *needs_env when a
 * reference is found nowhere and has no default). Returns the length; a
 * measure stops as soon as it passes limit (and returns more than limit),
 * so that a million ${A} of 4 MiB each cannot overflow the count. */
static size_t interpolate(const struct builder *bl, const struct secbuf *v, unsigned char *out,
                          bool *needs_env, size_t limit)
{
	const unsigned char *s = v->data;
	size_t n = v->len, o = 0, i = 0;
	bool env = false;
	while (i < n) {
		size_t ne, ds, de;
		bool has_def;
		size_t end = match_var(s, n, i, &ne, &ds, &de, &has_def);
		if (end == 0) {
			if (out)
				out[o] = s[i];
			o++;
			i++;
			continue;
		}
		char name[DOTENV_MAX_VAR_NAME + 1];
		size_t nl = ne - (i + 2);
		const unsigned char *rep = NULL;
		size_t rlen = 0;
		bool found = false;
		if (nl <= DOTENV_MAX_VAR_NAME && !memchr(s + i + 2, '\0', nl)) {
			memcpy(name, s + i + 2, nl);
			name[nl] = '\0';
			found = resolve(bl, name, &rep, &rlen, &env);
		}
		if (!found && has_def) {
			rep = s + ds;
			rlen = de - ds;
		} else if (!found) {
			rlen = 0;
			env = true;
		}
		if (out && rlen)
			memcpy(out + o, rep, rlen);
		o += rlen;
		i = end;
		if (!out && o > limit)
			break;
	}
	if (!out)
		*needs_env = env;
	return o;
}

/* Replaces *v by its interpolation. Each ${A}${A} doubles A, so a small
 * file could ask for gigabytes (tests/fuzz/fuzz_dotenv found 1.6 KiB that
 * did): a value over DOTENV_MAX_BYTES, or all of them together over
 * DOTENV_MAX_GROWN, is -E2BIG. */
static int interpolated(struct builder *bl, struct secbuf **v, bool *needs_env)
{
	size_t room = DOTENV_MAX_GROWN - bl->grown;
	size_t n =
	    interpolate(bl, *v, NULL, needs_env, room < DOTENV_MAX_BYTES ? room : DOTENV_MAX_BYTES);
	if (n > DOTENV_MAX_BYTES || n > room)
		return -E2BIG;
	bl->grown += n;
	struct secbuf *out = secbuf_new(n);
	if (!out)
		return -ENOMEM;
	interpolate(bl, *v, out->data, NULL, n);
	secbuf_free(*v);
	*v = out;
	return 0;
}

/* Sets key to value (taking value; NULL = no value), keeping the key's
 * first position; *ret_index is its place in items. 0, -ENOMEM or -E2BIG. */
static int upsert(struct builder *bl, const unsigned char *key, size_t klen, struct secbuf *value,
                  bool needs_env, unsigned line, size_t *ret_index)
{
	struct dotenv *d = bl->d;
	char *k = strndup((const char *)key, klen);
	if (!k) {
		secbuf_free(value);
		return -ENOMEM;
	}
	struct dotenv_entry e = {.key = k, .value = value, .line = line, .needs_env = needs_env};
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(d->items[i].key, k) == 0) {
			free(d->items[i].key);
			secbuf_free(d->items[i].value);
			d->items[i] = e;
			*ret_index = i;
			return 0;
		}
	}
	if (d->n == DOTENV_MAX_ENTRIES || klen > DOTENV_MAX_KEY) {
		free(k);
		secbuf_free(value);
		return -E2BIG;
	}
	if (d->n == bl->cap) {
		size_t cap = bl->cap ? bl->cap * 2 : 16;
		struct dotenv_entry *it = realloc(d->items, cap * sizeof(*it));
		if (!it) {
			free(k);
			secbuf_free(value);
			return -ENOMEM;
		}
		d->items = it;
		bl->cap = cap;
	}
	*ret_index = d->n;
	d->items[d->n++] = e;
	return 0;
}

/* Where the binding for items[index] stands, in the caller's bytes. */
static int add_span(struct builder *bl, size_t index, const struct binding *b)
{
	struct dotenv *d = bl->d;
	if (d->n_spans == bl->cap_spans) {
		size_t cap = bl->cap_spans ? bl->cap_spans * 2 : 16;
		struct dotenv_span *sp = realloc(d->spans, cap * sizeof(*sp));
		if (!sp)
			return -ENOMEM;
		d->spans = sp;
		bl->cap_spans = cap;
	}
	size_t start = origmap_to(&bl->map, b->start);
	d->spans[d->n_spans++] = (struct dotenv_span){
	    .entry = index, .start = start, .end = origmap_to(&bl->map, b->end)};
	return 0;
}

static int note_bad_line(struct dotenv *d, unsigned line)
{
	if (d->n_bad >= DOTENV_MAX_ENTRIES)
		return -E2BIG;
	unsigned *b = realloc(d->bad_lines, (d->n_bad + 1) * sizeof(*b));
	if (!b)
		return -ENOMEM;
	d->bad_lines = b;
	d->bad_lines[d->n_bad++] = line;
	return 0;
}

/* One binding into the result (resolve_variables runs in file order). */
static int apply(struct builder *bl, const unsigned char *s, const struct binding *b, bool interp)
{
	if (b->error)
		return b->nul_key ? -EILSEQ : note_bad_line(bl->d, b->line);
	if (!b->has_key)
		return 0; /* a comment */
	struct secbuf *v = NULL;
	bool needs_env = false;
	if (b->vk != V_NONE) {
		v = raw_value(s, b);
		if (!v)
			return -ENOMEM;
		int r = interp ? interpolated(bl, &v, &needs_env) : 0;
		if (r < 0) {
			secbuf_free(v);
			return r;
		}
	}
	size_t index;
	int r = upsert(bl, s + b->kstart, b->klen, v, needs_env, b->line, &index);
	return r < 0 ? r : add_span(bl, index, b);
}

int dotenv_parse(const void *buf, size_t len, bool interp, dotenv_lookup_fn lookup, void *ctx,
                 struct dotenv **ret)
{
	if (len > DOTENV_MAX_BYTES)
		return -E2BIG;
	if (!utf8_valid(buf, len))
		return -EILSEQ;
	struct secbuf *text = normalise(buf, len);
	struct dotenv *d = calloc(1, sizeof(*d));
	if (!text || !d) {
		secbuf_free(text);
		free(d);
		return -ENOMEM;
	}
	struct builder bl = {.d = d, .lookup = lookup, .ctx = ctx};
	origmap_init(&bl.map, buf, len);
	struct parser p = {.s = text->data, .n = text->len, .line = 1};
	struct binding b;
	int r = 0;
	while (r == 0 && parse_binding(&p, &b) == 1)
		r = apply(&bl, text->data, &b, interp);
	secbuf_free(text);
	if (r < 0) {
		dotenv_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

void dotenv_free(struct dotenv *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].key);
		secbuf_free(d->items[i].value);
	}
	free(d->items);
	free(d->spans);
	free(d->bad_lines);
	free(d);
}

/* ---- rewriting ---- */

int dotenv_without(const struct dotenv *d, const void *text, size_t len, const bool *drop,
                   struct secbuf **ret)
{
	const unsigned char *t = text;
	struct secbuf *out = secbuf_new(len);
	if (!out)
		return -ENOMEM;
	size_t pos = 0, o = 0;
	for (size_t i = 0; i < d->n_spans; i++) {
		const struct dotenv_span *sp = &d->spans[i];
		if (!drop[sp->entry])
			continue;
		memcpy(out->data + o, t + pos, sp->start - pos);
		o += sp->start - pos;
		pos = sp->end;
	}
	memcpy(out->data + o, t + pos, len - pos);
	o += len - pos;
	out->len = o; /* shorter than allocated; secbuf_free wipes the whole region */
	out->data[o] = '\0';
	*ret = out;
	return 0;
}

const char *dotenv_strerror(int rc)
{
	if (rc == -EILSEQ)
		return "it is not UTF-8 text, or a key holds a NUL byte";
	if (rc == -E2BIG)
		return "over 4 MiB, 10,000 keys or 10,000 lines it cannot parse, a key over "
		       "1 KiB, or ${VAR} references that grow its values over 4 MiB (16 MiB in "
		       "all)";
	return strerror(-rc);
}
