/* Computes variable values as docker-compose 1.29 does: `$` interpolation in
 * the compose file, and env_file entries as python-dotenv 0.21 parses them. */
#include "compose_env.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A growable plain buffer for building a value; it is wiped when released
 * because what it builds is a secret. */
struct vbuf {
	char *p;
	size_t len, cap;
};

static int vbuf_put(struct vbuf *b, const char *s, size_t n)
{
	if (n + 1 > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 64;
		while (n + 1 > cap - b->len)
			cap *= 2;
		/* Not realloc: the old block must be wiped, not just released. */
		char *p = malloc(cap);
		if (!p)
			return -ENOMEM;
		if (b->p) {
			memcpy(p, b->p, b->len);
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void vbuf_wipe(struct vbuf *b)
{
	if (b->p) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	*b = (struct vbuf){0};
}

static int vbuf_take(struct vbuf *b, struct secbuf **ret)
{
	struct secbuf *s = secbuf_dup(b->p ? b->p : "", b->len);
	vbuf_wipe(b);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static bool name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* One `${...}` body (between the braces): appends the default or says the
 * value needs the run-time environment. */
static int braced(struct vbuf *b, const char *body, size_t n)
{
	size_t i = 0;
	if (n == 0 || !name_start(body[0]))
		return -EINVAL;
	while (i < n && name_char(body[i]))
		i++;
	if (i == n)
		return -ENOENT; /* ${VAR} */
	const char *op = body + i;
	size_t rest = n - i;
	if (rest >= 2 && op[0] == ':' && op[1] == '-')
		return vbuf_put(b, op + 2, rest - 2);
	if (op[0] == '-')
		return vbuf_put(b, op + 1, rest - 1);
	if (op[0] == '?' || (rest >= 2 && op[0] == ':' && op[1] == '?'))
		return -ENOENT; /* required: only the environment can say */
	return -EINVAL;
}

int compose_interpolate(const char *s, size_t len, struct secbuf **ret)
{
	struct vbuf b = {0};
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0;) {
		if (s[i] != '$') {
			size_t j = i;
			while (j < len && s[j] != '$')
				j++;
			rc = vbuf_put(&b, s + i, j - i);
			i = j;
		} else if (i + 1 < len && s[i + 1] == '$') {
			rc = vbuf_put(&b, "$", 1);
			i += 2;
		} else if (i + 1 < len && s[i + 1] == '{') {
			const char *close = memchr(s + i + 2, '}', len - i - 2);
			if (!close) {
				rc = -EINVAL;
				break;
			}
			rc = braced(&b, s + i + 2, (size_t)(close - (s + i + 2)));
			i = (size_t)(close - s) + 1;
		} else if (i + 1 < len && name_start(s[i + 1])) {
			rc = -ENOENT; /* $VAR */
		} else {
			rc = -EINVAL; /* compose: "Invalid interpolation format" */
		}
	}
	if (rc < 0) {
		vbuf_wipe(&b);
		return rc;
	}
	return vbuf_take(&b, ret);
}

bool compose_has_reference(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '$')
			continue;
		if (i + 1 < len && s[i + 1] == '$') {
			i++;
			continue;
		}
		return true;
	}
	return false;
}

/* ---- env_file, as python-dotenv 0.21's parser reads it ---- */

struct scan {
	const char *s;
	size_t len, pos;
};

static bool is_eol(char c)
{
	return c == '\n' || c == '\r';
}

static bool is_blank(char c) /* whitespace except newlines */
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

static void skip_blank(struct scan *sc)
{
	while (sc->pos < sc->len && is_blank(sc->s[sc->pos]))
		sc->pos++;
}

static void skip_rest_of_line(struct scan *sc)
{
	while (sc->pos < sc->len && !is_eol(sc->s[sc->pos]))
		sc->pos++;
	if (sc->pos < sc->len && sc->s[sc->pos] == '\r')
		sc->pos++;
	if (sc->pos < sc->len && sc->s[sc->pos] == '\n')
		sc->pos++;
}

/* Optional trailing comment and the end of the line; false if other text follows. */
static bool end_of_line(struct scan *sc)
{
	skip_blank(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == '#') {
		skip_rest_of_line(sc);
		return true;
	}
	if (sc->pos == sc->len)
		return true;
	if (!is_eol(sc->s[sc->pos]))
		return false;
	skip_rest_of_line(sc);
	return true;
}

static int quoted_value(struct scan *sc, char q, struct vbuf *b)
{
	size_t i = sc->pos + 1;
	while (i < sc->len && sc->s[i] != q) {
		char c = sc->s[i];
		if (c == '\\' && i + 1 < sc->len) {
			char e = sc->s[i + 1];
			char out = 0;
			if (q == '\'') {
				if (e == '\\' || e == '\'')
					out = e;
			} else {
				switch (e) {
				case '\\':
				case '\'':
				case '"':
					out = e;
					break;
				case 'a':
					out = '\a';
					break;
				case 'b':
					out = '\b';
					break;
				case 'f':
					out = '\f';
					break;
				case 'n':
					out = '\n';
					break;
				case 'r':
					out = '\r';
					break;
				case 't':
					out = '\t';
					break;
				case 'v':
					out = '\v';
					break;
				default:
					break;
				}
			}
			if (out) {
				if (vbuf_put(b, &out, 1) < 0)
					return -ENOMEM;
				i += 2;
				continue;
			}
		}
		if (vbuf_put(b, &c, 1) < 0)
			return -ENOMEM;
		i++;
	}
	if (i >= sc->len)
		return -EINVAL; /* no closing quote */
	sc->pos = i + 1;
	return 0;
}

static int unquoted_value(struct scan *sc, struct vbuf *b)
{
	size_t start = sc->pos, end = start;
	while (end < sc->len && !is_eol(sc->s[end]))
		end++;
	/* dotenv drops a comment that follows whitespace, then trailing space. */
	size_t cut = end;
	for (size_t i = start; i < end; i++)
		if (sc->s[i] == '#' && i > start && (is_blank(sc->s[i - 1]))) {
			cut = i;
			break;
		}
	while (cut > start && is_blank(sc->s[cut - 1]))
		cut--;
	sc->pos = end;
	return vbuf_put(b, sc->s + start, cut - start);
}

static void entry_clear(struct envfile_entry *e)
{
	free(e->key);
	secbuf_free(e->value);
}

void envfile_free(struct envfile *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		entry_clear(&f->e[i]);
	free(f->e);
	secbuf_free(f->text);
	free(f);
}

const struct envfile_entry *envfile_get(const struct envfile *f, const char *key)
{
	for (size_t i = f->n; i-- > 0;)
		if (strcmp(f->e[i].key, key) == 0)
			return &f->e[i];
	return NULL;
}

/* dotenv expands ${NAME} and ${NAME:-default} in values, from names defined
 * earlier in the file or the environment; we only know the file. */
static int expand(const struct envfile *f, const struct vbuf *raw, struct envfile_entry *e)
{
	struct vbuf b = {0};
	const char *s = raw->p ? raw->p : "";
	size_t len = raw->len;
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0;) {
		const char *close = NULL;
		if (s[i] == '$' && i + 1 < len && s[i + 1] == '{')
			close = memchr(s + i + 2, '}', len - i - 2);
		if (!close) {
			rc = vbuf_put(&b, s + i, 1);
			i++;
			continue;
		}
		const char *name = s + i + 2;
		size_t n = 0;
		while (name + n < close && name[n] != ':')
			n++;
		char key[COMPOSE_MAX_VAR_NAME];
		const struct envfile_entry *def = NULL;
		if (n < sizeof(key)) {
			memcpy(key, name, n);
			key[n] = '\0';
			def = envfile_get(f, key);
		}
		bool has_default = name + n + 1 < close && name[n + 1] == '-';
		if (def && def->state == ENVFILE_VALUE)
			rc = vbuf_put(&b, (const char *)def->value->data, def->value->len);
		else if (has_default)
			rc = vbuf_put(&b, name + n + 2, (size_t)(close - (name + n + 2)));
		else
			rc = -ENOENT;
		i = (size_t)(close - s) + 1;
	}
	if (rc == -ENOENT) {
		vbuf_wipe(&b);
		e->state = ENVFILE_RUNTIME;
		return 0;
	}
	if (rc < 0) {
		vbuf_wipe(&b);
		return rc;
	}
	e->state = ENVFILE_VALUE;
	return vbuf_take(&b, &e->value);
}

static int add_entry(struct envfile *f, const char *key, size_t keylen, size_t start, size_t end,
                     bool has_value, struct vbuf *raw)
{
	struct envfile_entry *e = realloc(f->e, (f->n + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	f->e = e;
	e = &f->e[f->n];
	*e = (struct envfile_entry){.start = start, .end = end};
	e->key = strndup(key, keylen);
	if (!e->key)
		return -ENOMEM;
	int rc = 0;
	/* python-dotenv 0.21 expands quoted values too, single quotes included. */
	if (!has_value)
		e->state = ENVFILE_NO_EQUALS;
	else
		rc = expand(f, raw, e);
	if (rc < 0) {
		entry_clear(e);
		return rc;
	}
	f->n++;
	return 0;
}

/* One binding; on a syntax error the rest of the line is skipped, as dotenv does. */
static int parse_binding(struct envfile *f, struct scan *sc, size_t start)
{
	const char *s = sc->s;
	struct vbuf raw = {0};
	if (sc->len - sc->pos >= 7 && memcmp(s + sc->pos, "export", 6) == 0 &&
	    is_blank(s[sc->pos + 6])) {
		sc->pos += 6;
		skip_blank(sc);
	}
	const char *key = s + sc->pos;
	size_t keylen = 0;
	if (s[sc->pos] == '\'') {
		const char *q = memchr(s + sc->pos + 1, '\'', sc->len - sc->pos - 1);
		if (!q || q == key + 1 || memchr(key + 1, '\n', (size_t)(q - key - 1)))
			goto bad;
		key++;
		keylen = (size_t)(q - key);
		sc->pos = (size_t)(q - s) + 1;
	} else {
		while (sc->pos < sc->len && s[sc->pos] != '=' && s[sc->pos] != '#' &&
		       s[sc->pos] != ' ' && s[sc->pos] != '\t' && !is_eol(s[sc->pos]))
			sc->pos++;
		keylen = (size_t)(s + sc->pos - key);
		if (keylen == 0)
			goto bad;
	}
	skip_blank(sc);
	bool has_value = sc->pos < sc->len && s[sc->pos] == '=';
	if (has_value) {
		sc->pos++;
		skip_blank(sc);
		int rc = 0;
		if (sc->pos < sc->len && (s[sc->pos] == '\'' || s[sc->pos] == '"')) {
			rc = quoted_value(sc, s[sc->pos], &raw);
		} else {
			rc = unquoted_value(sc, &raw);
		}
		if (rc == -EINVAL) {
			vbuf_wipe(&raw);
			goto bad;
		}
		if (rc < 0) {
			vbuf_wipe(&raw);
			return rc;
		}
	}
	if (!end_of_line(sc)) {
		vbuf_wipe(&raw);
		goto bad;
	}
	int rc = add_entry(f, key, keylen, start, sc->pos, has_value, &raw);
	vbuf_wipe(&raw);
	return rc;
bad:
	vbuf_wipe(&raw);
	sc->pos = start;
	skip_rest_of_line(sc);
	return 0;
}

int envfile_parse(const char *text, size_t len, struct envfile **ret)
{
	struct envfile *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->text = secbuf_dup(text, len);
	if (!f->text) {
		free(f);
		return -ENOMEM;
	}
	struct scan sc = {.s = (const char *)f->text->data, .len = len};
	/* compose opens env_files as utf-8-sig: a BOM is not part of the first key. */
	if (len >= 3 && memcmp(sc.s, "\xEF\xBB\xBF", 3) == 0)
		sc.pos = 3;
	int rc = 0;
	while (rc == 0 && sc.pos < sc.len) {
		/* An entry owns its line from the start: whitespace-only lines
		 * before it stay where they are. */
		size_t line_start = sc.pos;
		while (sc.pos < sc.len && (is_blank(sc.s[sc.pos]) || is_eol(sc.s[sc.pos]))) {
			if (is_eol(sc.s[sc.pos]))
				line_start = sc.pos + 1;
			sc.pos++;
		}
		if (sc.pos == sc.len)
			break;
		if (sc.s[sc.pos] == '#') {
			skip_rest_of_line(&sc);
			continue;
		}
		rc = parse_binding(f, &sc, line_start);
	}
	if (rc < 0) {
		envfile_free(f);
		return rc;
	}
	*ret = f;
	return 0;
}

int envfile_load(const char *path, struct envfile **ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)COMPOSE_MAX_ENVFILE_BYTES) {
		int rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		close(fd);
		return rc;
	}
	struct secbuf *buf = secbuf_new((size_t)st.st_size);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < buf->len) {
		ssize_t r = read(fd, buf->data + got, buf->len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	int rc = envfile_parse((const char *)buf->data, got, ret);
	secbuf_free(buf);
	return rc;
}

int envfile_without(const struct envfile *f, bool (*drop)(const char *key, void *ctx), void *ctx,
                    struct secbuf **ret)
{
	struct secbuf *out = secbuf_new(f->text->len);
	if (!out)
		return -ENOMEM;
	size_t pos = 0, len = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (!drop(f->e[i].key, ctx))
			continue;
		memcpy(out->data + len, f->text->data + pos, f->e[i].start - pos);
		len += f->e[i].start - pos;
		pos = f->e[i].end;
	}
	memcpy(out->data + len, f->text->data + pos, f->text->len - pos);
	len += f->text->len - pos;
	out->len = len; /* shorter than allocated; secbuf_free wipes the whole region */
	out->data[len] = '\0';
	*ret = out;
	return 0;
}
