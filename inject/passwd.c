/* Reads /etc/passwd and /etc/group line by line without NSS: a static
 * binary must not depend on libnss_*.so, and images often have only files. */
#include "passwd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

int passwd_parse_id(const char *s, unsigned *ret)
{
	if (!s || !*s || strlen(s) > 10)
		return -EINVAL;
	unsigned long long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v >= UINT32_MAX)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* Splits line at ':' into at most n fields; returns how many there are. */
static size_t split(char *line, char **f, size_t n)
{
	size_t k = 0;
	char *p = line;
	while (k < n) {
		f[k++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	return k;
}

static bool skip_line(const char *line)
{
	/* Comments, blank lines and NIS compat entries ("+", "-") are not users. */
	return line[0] == '\0' || line[0] == '#' || line[0] == '+' || line[0] == '-';
}

int passwd_parse_line(char *line, struct pw_entry *ret)
{
	char *f[8]; /* one more than needed: an extra ':' is malformed */
	if (skip_line(line) || split(line, f, 8) != 7)
		return -EINVAL;
	struct pw_entry e = {0};
	unsigned uid, gid;
	size_t nl = strlen(f[0]), hl = strlen(f[5]);
	if (nl == 0 || nl >= sizeof(e.name) || hl >= sizeof(e.home) ||
	    passwd_parse_id(f[2], &uid) < 0 || passwd_parse_id(f[3], &gid) < 0)
		return -EINVAL;
	memcpy(e.name, f[0], nl + 1);
	memcpy(e.home, f[5], hl + 1);
	e.uid = uid;
	e.gid = gid;
	*ret = e;
	return 0;
}

int group_parse_line(char *line, struct gr_entry *ret, char **ret_members)
{
	char *f[5];
	if (skip_line(line) || split(line, f, 5) != 4)
		return -EINVAL;
	struct gr_entry e = {0};
	unsigned gid;
	size_t nl = strlen(f[0]);
	if (nl == 0 || nl >= sizeof(e.name) || passwd_parse_id(f[2], &gid) < 0)
		return -EINVAL;
	memcpy(e.name, f[0], nl + 1);
	e.gid = gid;
	*ret = e;
	*ret_members = f[3];
	return 0;
}

/* Calls fn on each line of path (without its newline) until fn returns
 * non-zero, which is returned. Plain read(2), no stdio: the static binary
 * stays small. Over-long lines and lines with a NUL are skipped whole. */
static int each_line(const char *path, int (*fn)(char *line, void *ctx), void *ctx)
{
	/* A regular file only: a FIFO planted in the image must not hang the
	 * container's start. */
	int fd = fsutil_open_regular(AT_FDCWD, path, 0, NULL);
	if (fd < 0)
		return fd;
	char *buf = malloc(PASSWD_MAX_LINE + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	size_t len = 0;
	bool skipping = false, eof = false;
	int r = 0;
	while (r == 0 && !(eof && len == 0)) {
		char *nl = memchr(buf, '\n', len);
		if (!nl && !eof && len < PASSWD_MAX_LINE) {
			ssize_t n = read(fd, buf + len, PASSWD_MAX_LINE - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				break;
			}
			eof = n == 0;
			len += (size_t)n;
			continue;
		}
		/* A whole line (or the last one, or a too-long piece). */
		size_t ll = nl ? (size_t)(nl - buf) : len;
		bool whole = nl || eof;
		if (whole && !skipping) {
			buf[ll] = '\0';
			if (strlen(buf) == ll)
				r = fn(buf, ctx);
		}
		skipping = !whole;
		size_t used = nl ? ll + 1 : len;
		memmove(buf, buf + used, len - used);
		len -= used;
	}
	free(buf);
	close(fd);
	return r;
}

struct pw_query {
	const char *name;
	uid_t uid;
	struct pw_entry *ret;
};

static int pw_match(char *line, void *ctx)
{
	struct pw_query *q = ctx;
	struct pw_entry e;
	if (passwd_parse_line(line, &e) < 0)
		return 0;
	if (q->name ? strcmp(e.name, q->name) == 0 : e.uid == q->uid) {
		*q->ret = e;
		return 1; /* first match wins, as with getpwnam */
	}
	return 0;
}

int passwd_lookup(const char *path, const char *name, uid_t uid, struct pw_entry *ret)
{
	struct pw_entry e;
	struct pw_query q = {.name = name, .uid = uid, .ret = &e};
	int r = each_line(path, pw_match, &q);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	*ret = e;
	return 0;
}

struct gr_query {
	const char *name;
	gid_t gid;
	struct gr_entry *ret;
};

static int gr_match(char *line, void *ctx)
{
	struct gr_query *q = ctx;
	struct gr_entry e;
	char *members;
	if (group_parse_line(line, &e, &members) < 0)
		return 0;
	if (q->name ? strcmp(e.name, q->name) == 0 : e.gid == q->gid) {
		*q->ret = e;
		return 1;
	}
	return 0;
}

int group_lookup(const char *path, const char *name, gid_t gid, struct gr_entry *ret)
{
	struct gr_entry e;
	struct gr_query q = {.name = name, .gid = gid, .ret = &e};
	int r = each_line(path, gr_match, &q);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	*ret = e;
	return 0;
}

struct member_query {
	const char *user;
	gid_t *gids;
	size_t cap, n;
};

static int add_gid(struct member_query *q, gid_t g)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->gids[i] == g)
			return 0;
	if (q->n == q->cap)
		return -E2BIG;
	q->gids[q->n++] = g;
	return 0;
}

static int member_match(char *line, void *ctx)
{
	struct member_query *q = ctx;
	struct gr_entry e;
	char *members;
	if (group_parse_line(line, &e, &members) < 0)
		return 0;
	for (char *save = NULL, *m = strtok_r(members, ",", &save); m;
	     m = strtok_r(NULL, ",", &save))
		if (strcmp(m, q->user) == 0)
			return add_gid(q, e.gid);
	return 0;
}

int group_list_for_user(const char *path, const char *user, gid_t primary, gid_t *gids, size_t cap,
                        size_t *ret_n)
{
	gid_t tmp[PASSWD_MAX_GROUPS];
	struct member_query q = {
	    .user = user, .gids = tmp, .cap = cap < PASSWD_MAX_GROUPS ? cap : PASSWD_MAX_GROUPS};
	int r = add_gid(&q, primary);
	if (r < 0)
		return r;
	r = each_line(path, member_match, &q);
	if (r == -ENOENT)
		r = 0; /* no group file: just the primary group */
	if (r < 0)
		return r;
	memcpy(gids, tmp, q.n * sizeof(gid_t));
	*ret_n = q.n;
	return 0;
}
