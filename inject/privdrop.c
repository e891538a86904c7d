/* Privilege drop: --user resolved to uid, gid, groups and HOME from the
 * files, then setgroups, setgid, setuid (su-exec's order: groups while we may
 * still change them, the uid last) and a check that every one of them took. */
#include "privdrop.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int resolve_user(const char *user, const char *passwd_path, struct creds *c, char *err,
                        size_t cap)
{
	struct pw_entry pw;
	int r;
	if (all_digits(user)) {
		unsigned id;
		if (passwd_parse_id(user, &id) < 0)
			return errf(err, cap, -EINVAL, "--user %s: not a valid uid", user);
		c->uid = id;
		r = passwd_lookup(passwd_path, NULL, c->uid, &pw);
		if (r == -ENOENT) {
			/* No entry: the group is the uid's number, not root's. */
			c->gid = c->uid;
			snprintf(c->home, sizeof(c->home), "/");
			return 0;
		}
	} else {
		r = passwd_lookup(passwd_path, user, 0, &pw);
		if (r == -ENOENT)
			return errf(err, cap, -ENOENT, "--user %s: no such user in %s", user,
			            passwd_path);
	}
	if (r < 0)
		return errf(err, cap, r, "cannot read %s: %s", passwd_path, errstr(-r));
	c->uid = pw.uid;
	c->gid = pw.gid;
	memcpy(c->user, pw.name, sizeof(c->user));
	snprintf(c->home, sizeof(c->home), "%s", pw.home[0] ? pw.home : "/");
	return 0;
}

static int resolve_group(const char *group, const char *group_path, gid_t *gid, char *err,
                         size_t cap)
{
	if (all_digits(group)) {
		unsigned id;
		if (passwd_parse_id(group, &id) < 0)
			return errf(err, cap, -EINVAL, "--user ...:%s: not a valid gid", group);
		*gid = id;
		return 0;
	}
	struct gr_entry gr;
	int r = group_lookup(group_path, group, 0, &gr);
	if (r == -ENOENT)
		return errf(err, cap, -ENOENT, "--user ...:%s: no such group in %s", group,
		            group_path);
	if (r < 0)
		return errf(err, cap, r, "cannot read %s: %s", group_path, errstr(-r));
	*gid = gr.gid;
	return 0;
}

int privdrop_resolve(const char *spec, const char *passwd_path, const char *group_path,
                     struct creds *ret, char *err, size_t cap)
{
	char user[PASSWD_MAX_NAME], group[PASSWD_MAX_NAME];
	const char *colon = strchr(spec, ':');
	size_t ul = colon ? (size_t)(colon - spec) : strlen(spec);
	size_t gl = colon ? strlen(colon + 1) : 0;
	if (ul == 0 || ul >= sizeof(user) || gl >= sizeof(group) || (colon && gl == 0) ||
	    (colon && strchr(colon + 1, ':'))) /* USER:GROUP:MORE */
		return errf(err, cap, -EINVAL, "--user \"%.64s\": expected USER[:GROUP]", spec);
	memcpy(user, spec, ul);
	user[ul] = '\0';
	if (colon)
		memcpy(group, colon + 1, gl + 1);

	struct creds c = {.drop = true};
	int r = resolve_user(user, passwd_path, &c, err, cap);
	if (r < 0)
		return r;
	if (colon) {
		/* An explicit group is the only one, as with su-exec and docker. */
		r = resolve_group(group, group_path, &c.gid, err, cap);
		if (r < 0)
			return r;
		c.groups[0] = c.gid;
		c.n_groups = 1;
	} else if (c.user[0]) {
		r = group_list_for_user(group_path, c.user, c.gid, c.groups, PASSWD_MAX_GROUPS,
		                        &c.n_groups);
		if (r < 0)
			return r == -E2BIG
			           ? errf(err, cap, r, "%s is a member of more than %d groups in %s",
			                  c.user, PASSWD_MAX_GROUPS, group_path)
			           : errf(err, cap, r, "cannot read the groups of %s from %s: %s", c.user,
			                  group_path, errstr(-r));
	} else {
		c.groups[0] = c.gid;
		c.n_groups = 1;
	}
	*ret = c;
	return 0;
}

void privdrop_self(struct creds *ret)
{
	struct creds c = {.drop = false, .uid = geteuid(), .gid = getegid()};
	*ret = c;
}

static bool same_groups(const struct creds *c)
{
	gid_t now[PASSWD_MAX_GROUPS + 1];
	int n = getgroups(PASSWD_MAX_GROUPS + 1, now);
	if (n < 0 || (size_t)n != c->n_groups)
		return false;
	for (size_t i = 0; i < c->n_groups; i++) {
		bool found = false;
		for (int j = 0; j < n && !found; j++)
			found = now[j] == c->groups[i];
		if (!found)
			return false;
	}
	return true;
}

int privdrop_apply(const struct creds *c)
{
	if (!c->drop)
		return 0;
	if (setgroups(c->n_groups, c->groups) < 0)
		return -errno;
	if (setgid(c->gid) < 0)
		return -errno;
	if (setuid(c->uid) < 0)
		return -errno;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (ru != c->uid || eu != c->uid || su != c->uid || rg != c->gid || eg != c->gid ||
	    sg != c->gid || !same_groups(c))
		return -EPERM;
	/* A drop that can be undone is no drop (e.g. capabilities kept). */
	if (c->uid != 0 && setuid(0) == 0)
		return -EPERM;
	return 0;
}

/* ---- opening a file with c's rights ---- */

struct open_reply {
	int32_t dropped; /* 1 once privdrop_apply took */
	int32_t err;     /* 0 with a descriptor attached, else an errno */
};

/* The child's half: drop, open, send the outcome and the descriptor. Only
 * system calls: the parent is a static, single process, but stays safe. */
static void open_as_child(int sock, const struct creds *c, const char *path, int flags)
{
	struct open_reply rep = {0, 0};
	int fd = -1;
	int r = privdrop_apply(c);
	if (r < 0) {
		rep.err = -r;
	} else {
		rep.dropped = 1;
		fd = open(path, flags);
		if (fd < 0)
			rep.err = errno;
	}
	struct iovec iov = {.iov_base = &rep, .iov_len = sizeof(rep)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* The parent's half: the reply, and the descriptor if one came. */
static int open_as_reply(int sock, struct open_reply *rep, int *fd)
{
	struct iovec iov = {.iov_base = rep, .iov_len = sizeof(*rep)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
	                   .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(*rep))
		return -EPROTO; /* the child died before it answered */
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(h), sizeof(int));
	return 0;
}

int privdrop_open(const struct creds *c, const char *path, int flags, int *ret_fd,
                  bool *ret_drop_failed)
{
	*ret_drop_failed = false;
	flags |= O_CLOEXEC;
	if (!c->drop) {
		int fd = open(path, flags);
		if (fd < 0)
			return -errno;
		*ret_fd = fd;
		return 0;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(sv[0]);
		close(sv[1]);
		return e;
	}
	if (pid == 0) {
		close(sv[0]);
		open_as_child(sv[1], c, path, flags);
		_exit(0);
	}
	close(sv[1]);
	struct open_reply rep = {0, 0};
	int fd = -1;
	int r = open_as_reply(sv[0], &rep, &fd);
	close(sv[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && !rep.dropped) {
		*ret_drop_failed = true;
		r = -(rep.err ? rep.err : EPERM);
	} else if (r == 0 && rep.err) {
		r = -rep.err;
	} else if (r == 0 && fd < 0) {
		r = -EPROTO;
	}
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}
