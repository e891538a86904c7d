/* --template: parses {{ secret "NAME" }} directives into literal and secret
 * segments once, then renders them into guarded memory. Any "{{" must start a
 * well-formed directive: a typo fails loudly instead of leaking into a config. */
#include "template.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t skip_blanks(const char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* Parses the directive whose "{{" is at s[at]; on success *end is the offset
 * just past its "}}" and name holds the secret's name. */
static int parse_directive(const char *s, size_t len, size_t at, size_t line, size_t *end,
                           char *name, char *err, size_t cap)
{
	static const char kw[] = "secret";
	size_t i = skip_blanks(s, at + 2, len);
	size_t w = i;
	while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	if (i - w != sizeof(kw) - 1 || memcmp(s + w, kw, sizeof(kw) - 1) != 0)
		return errf(
		    err, cap, -EINVAL,
		    "line %zu: unknown directive \"%.*s\": the only one is {{ secret \"NAME\" }}",
		    line, (int)((i - w) > 32 ? 32 : (i - w)), s + w);
	size_t after_kw = i;
	i = skip_blanks(s, i, len);
	if (i == after_kw || i >= len || s[i] != '"')
		return errf(err, cap, -EINVAL,
		            "line %zu: expected {{ secret \"NAME\" }} with NAME in double quotes",
		            line);
	size_t n0 = ++i;
	while (i < len && s[i] != '"' && s[i] != '\n')
		i++;
	if (i >= len || s[i] != '"')
		return errf(err, cap, -EINVAL, "line %zu: the secret name has no closing quote",
		            line);
	size_t nlen = i - n0;
	if (!name_is_valid(s + n0, nlen))
		return errf(err, cap, -EINVAL, "line %zu: \"%.*s\" is not a valid secret name",
		            line, (int)(nlen > 64 ? 64 : nlen), s + n0);
	i = skip_blanks(s, i + 1, len);
	if (i + 1 >= len || s[i] != '}' || s[i + 1] != '}')
		return errf(err, cap, -EINVAL, "line %zu: \"{{\" without a closing \"}}\"", line);
	memcpy(name, s + n0, nlen);
	name[nlen] = '\0';
	*end = i + 2;
	return 0;
}

static int push(struct template *t, size_t *cap, const struct template_seg *seg)
{
	if (t->n_segs == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct template_seg *n = realloc(t->segs, nc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->segs = n;
		*cap = nc;
	}
	t->segs[t->n_segs++] = *seg;
	return 0;
}

static int parse_into(struct template *t, char *err, size_t errcap)
{
	const char *s = t->text;
	size_t len = t->len, cap = 0, refs = 0, i = 0, line = 1, counted = 0;
	for (;;) {
		const char *o = len - i >= 2 ? memmem(s + i, len - i, "{{", 2) : NULL;
		size_t at = o ? (size_t)(o - s) : len;
		if (at > i) {
			struct template_seg seg = {.off = i, .len = at - i};
			if (push(t, &cap, &seg) < 0)
				return -ENOMEM;
		}
		if (!o)
			return 0;
		for (; counted < at; counted++)
			line += s[counted] == '\n';
		struct template_seg seg = {.is_secret = true, .line = line};
		size_t end = 0;
		int r = parse_directive(s, len, at, line, &end, seg.name, err, errcap);
		if (r < 0)
			return r;
		if (++refs > TEMPLATE_MAX_REFS)
			return errf(err, errcap, -E2BIG, "more than %u {{ secret }} directives",
			            TEMPLATE_MAX_REFS);
		if (push(t, &cap, &seg) < 0)
			return -ENOMEM;
		i = end;
	}
}

int template_parse(const char *text, size_t len, struct template **ret, char *err, size_t errcap)
{
	if (err && errcap)
		err[0] = '\0';
	if (len > TEMPLATE_MAX_BYTES)
		return errf(err, errcap, -EFBIG, "larger than %u bytes", TEMPLATE_MAX_BYTES);
	struct template *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->text = malloc(len + 1);
	if (!t->text) {
		free(t);
		return -ENOMEM;
	}
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->len = len;
	int r = parse_into(t, err, errcap);
	if (r < 0) {
		template_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

int template_read(int fd, struct template **ret, char *err, size_t errcap)
{
	/* A FIFO or a device could block for ever or never end: a template is a
	 * file (the caller opens it O_NONBLOCK, so opening one did not block). */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errf(err, errcap, -errno, "cannot read: %s", errstr(errno));
	if (!S_ISREG(st.st_mode))
		return errf(err, errcap, -EINVAL, "not a regular file");
	char *buf = malloc(TEMPLATE_MAX_BYTES + 1);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;
	int r = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, TEMPLATE_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errf(err, errcap, -errno, "cannot read: %s", errstr(errno));
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > TEMPLATE_MAX_BYTES) {
			r = errf(err, errcap, -EFBIG, "larger than %u bytes", TEMPLATE_MAX_BYTES);
			break;
		}
	}
	if (r == 0)
		r = template_parse(buf, len, ret, err, errcap);
	free(buf);
	return r;
}

void template_free(struct template *t)
{
	if (!t)
		return;
	free(t->segs);
	free(t->text);
	free(t);
}

int template_render(const struct template *t, template_lookup_fn lookup, void *ctx,
                    struct secbuf **ret, char *err, size_t errcap)
{
	/* Two passes: size, then copy, so the output lives in one secbuf. */
	size_t total = 0;
	for (size_t i = 0; i < t->n_segs; i++) {
		const struct template_seg *g = &t->segs[i];
		size_t n = g->len;
		if (g->is_secret) {
			const struct secbuf *v = lookup(ctx, g->name);
			if (!v)
				return errf(err, errcap, -ENOENT,
				            "line %zu: no value for secret \"%s\"", g->line,
				            g->name);
			n = v->len;
		}
		if (n > SIZE_MAX - 1 - total)
			return -EOVERFLOW;
		total += n;
	}
	struct secbuf *out = secbuf_new(total);
	if (!out)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < t->n_segs; i++) {
		const struct template_seg *g = &t->segs[i];
		if (g->is_secret) {
			const struct secbuf *v = lookup(ctx, g->name);
			if (!v || o + v->len > total) { /* lookup must be stable */
				secbuf_free(out);
				return -EIO;
			}
			memcpy(out->data + o, v->data, v->len);
			o += v->len;
		} else {
			memcpy(out->data + o, t->text + g->off, g->len);
			o += g->len;
		}
	}
	*ret = out;
	return 0;
}
