/* Compose's `$` interpolation. The result is never longer than the input
 * ($$ -> $, a reference -> its default), so it is written straight into one
 * guarded buffer of the input's size. */
#include "compose_interp.h"

#include <errno.h>
#include <string.h>

static bool name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* One `${...}` body (between the braces): the default it stands for, or
 * -ENOENT when the value needs the run-time environment. */
static int braced(const char *body, size_t n, const char **ret, size_t *ret_len)
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
	/* A default with a reference in it (${A:-${B:-x}}): compose 1.29 cuts
	 * it at the first brace, compose v2 resolves it from the environment.
	 * The two disagree, so neither reading may be frozen into a secret. */
	if (memchr(op, '$', rest))
		return -ENOENT;
	if (rest >= 2 && op[0] == ':' && op[1] == '-') {
		*ret = op + 2;
		*ret_len = rest - 2;
		return 0;
	}
	if (op[0] == '-') {
		*ret = op + 1;
		*ret_len = rest - 1;
		return 0;
	}
	if (op[0] == '?' || (rest >= 2 && op[0] == ':' && op[1] == '?'))
		return -ENOENT; /* required: only the environment can say */
	return -EINVAL;
}

int compose_interpolate(const char *s, size_t len, struct secbuf **ret)
{
	struct secbuf *b = secbuf_new(len);
	if (!b)
		return -ENOMEM;
	size_t o = 0;
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0;) {
		if (s[i] != '$') {
			b->data[o++] = (unsigned char)s[i++];
		} else if (i + 1 < len && s[i + 1] == '$') {
			b->data[o++] = '$';
			i += 2;
		} else if (i + 1 < len && s[i + 1] == '{') {
			const char *close = memchr(s + i + 2, '}', len - i - 2);
			const char *def = NULL;
			size_t dlen = 0;
			rc = close ? braced(s + i + 2, (size_t)(close - (s + i + 2)), &def, &dlen)
			           : -EINVAL;
			if (rc == 0) {
				memcpy(b->data + o, def, dlen);
				o += dlen;
				i = (size_t)(close - s) + 1;
			}
		} else if (i + 1 < len && name_start(s[i + 1])) {
			rc = -ENOENT; /* $VAR */
		} else {
			rc = -EINVAL; /* compose: "Invalid interpolation format" */
		}
	}
	if (rc < 0) {
		secbuf_free(b);
		return rc;
	}
	b->len = o; /* secbuf_free still wipes the whole region */
	b->data[o] = '\0';
	*ret = b;
	return 0;
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

bool compose_mentions_var(const char *s, size_t len, const char *name, bool dollar_escape)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '$')
			continue;
		if (dollar_escape && s[i + 1] == '$') {
			i++;
			continue;
		}
		size_t at = i + 1 + (s[i + 1] == '{');
		if (n > 0 && n <= len - at && memcmp(s + at, name, n) == 0 &&
		    (at + n == len || !name_char(s[at + n])))
			return true;
	}
	return false;
}
