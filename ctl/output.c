/* What vaultctl prints: aligned tables, UTC times, JSON, and values as exact
 * bytes. Text from vaultd is cleaned of control characters before it reaches
 * a terminal. */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonx.h"

struct table {
	int err; /* a failed table_add */
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, row-major; row 0 is the header */
	size_t width[TABLE_MAX_COLS];
};

static char *clean_copy(const char *s)
{
	size_t n = s ? strnlen(s, TABLE_MAX_CELL) : 0;
	char *out = malloc(n + 1);
	return out ? (char *)out_clean(s, out, n + 1) : NULL;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t display_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

struct table *table_new(size_t ncols, const char *const *headers)
{
	if (ncols == 0 || ncols > TABLE_MAX_COLS)
		return NULL;
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	if (table_add(t, headers) < 0) {
		table_free(t);
		return NULL;
	}
	return t;
}

int table_add(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **n = realloc(t->cells, cap * t->ncols * sizeof(*n));
		if (!n)
			return t->err = -ENOMEM;
		t->cells = n;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = clean_copy(cells[i]);
		if (!row[i]) {
			while (i > 0)
				free(row[--i]);
			return t->err = -ENOMEM;
		}
	}
	for (size_t i = 0; i < t->ncols; i++) {
		size_t w = display_width(row[i]);
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
	return 0;
}

void table_print(const struct table *t, FILE *out)
{
	for (size_t r = 0; r < t->nrows; r++) {
		char **row = t->cells + r * t->ncols;
		for (size_t i = 0; i < t->ncols; i++) {
			bool last = i + 1 == t->ncols;
			fputs(row[i], out);
			if (!last) {
				size_t pad = t->width[i] - display_width(row[i]) + 2;
				for (size_t k = 0; k < pad; k++)
					fputc(' ', out);
			}
		}
		fputc('\n', out);
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

int table_finish(struct table *t, FILE *out)
{
	int r = t->err;
	if (r == 0)
		table_print(t, out);
	table_free(t);
	return r;
}

const char *out_clean(const char *in, char *out, size_t cap)
{
	size_t j = 0;
	for (size_t i = 0; in && in[i] && j + 1 < cap; i++) {
		unsigned char ch = (unsigned char)in[i];
		out[j++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (cap > 0)
		out[j] = '\0';
	return out;
}

const char *fmt_time(int64_t unix_seconds, char *buf, size_t cap)
{
	if (unix_seconds <= 0) {
		snprintf(buf, cap, "-");
		return buf;
	}
	time_t tt = (time_t)unix_seconds;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%lld", (long long)unix_seconds);
	return buf;
}

int out_write_all(int fd, const void *p, size_t len)
{
	const unsigned char *c = p;
	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int out_json(const json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!s)
		return -ENOMEM;
	fflush(stdout);
	int r = out_write_all(STDOUT_FILENO, s, strlen(s));
	if (r == 0)
		r = out_write_all(STDOUT_FILENO, "\n", 1);
	/* json_dumps allocates with jansson's allocator (the wiping one). */
	json_free_t jfree = NULL;
	json_get_alloc_funcs(NULL, &jfree);
	jfree(s);
	return r;
}

int out_json_secret(const json_t *o)
{
	struct secbuf *b = jsonx_dump_secret(o);
	if (!b)
		return -ENOMEM;
	/* Straight to the descriptor: stdio's buffer would keep a copy. */
	fflush(stdout);
	int r = out_write_all(STDOUT_FILENO, b->data, b->len);
	if (r == 0)
		r = out_write_all(STDOUT_FILENO, "\n", 1);
	secbuf_free(b);
	return r;
}

int out_value(const struct secbuf *v)
{
	fflush(stdout);
	int r = out_write_all(STDOUT_FILENO, v->data, v->len);
	if (r == 0 && isatty(STDOUT_FILENO) == 1)
		r = out_write_all(STDOUT_FILENO, "\n", 1);
	return r;
}

int64_t json_int_or(const json_t *o, const char *key, int64_t dflt)
{
	int64_t v;
	return jsonx_get_int(o, key, &v) == 0 ? v : dflt;
}

const char *json_str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *v;
	return jsonx_get_string(o, key, &v) == 0 ? v : dflt;
}
