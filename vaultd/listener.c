/* The unix listening socket. Its mode is right from bind() on: the umask
 * is set before bind (chmod after bind would leave a window). A leftover
 * socket file is replaced only when nothing answers on it. */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "log.h"

#define SD_LISTEN_FDS_START 3

int listener_from_systemd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds)
		return -ENOENT;
	char *end = NULL;
	long p = strtol(pid, &end, 10);
	if (*end || p != (long)getpid())
		return -ENOENT;
	long n = strtol(fds, &end, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (*end || n < 1)
		return -ENOENT;
	int fd = SD_LISTEN_FDS_START;
	int listening = 0;
	socklen_t len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
		return -ENOTSOCK;
	/* systemd hands it over without close-on-exec; libmicrohttpd wants it
	 * non-blocking. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return fd;
}

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}

/* Probes path: 0 when nothing answers there (ECONNREFUSED: a stale file),
 * -EADDRINUSE when something accepts, -errno when we cannot tell (then the
 * file is left alone: it may belong to a live daemon we may not talk to). */
static int probe_socket(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc;
	do
		rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	while (rc < 0 && errno == EINTR);
	int err = rc < 0 ? errno : 0;
	close(fd);
	if (rc == 0)
		return -EADDRINUSE;
	return err == ECONNREFUSED || err == ENOENT ? 0 : -err;
}

/* Clears the way for bind(): a stale socket file is removed. */
static int clear_path(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	int rc = probe_socket(sa);
	if (rc < 0)
		return rc;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	log_msg(LOG_INFO, "socket_stale_removed", path);
	return 0;
}

static int resolve_group(const char *group, gid_t *ret)
{
	char *end = NULL;
	unsigned long v = strtoul(group, &end, 10);
	if (*group && !*end) {
		*ret = (gid_t)v;
		return 0;
	}
	struct group gr, *res = NULL;
	char buf[4096];
	if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	*ret = res->gr_gid;
	return 0;
}

int listener_open(const char *path, const char *group, int *ret)
{
	struct sockaddr_un sa;
	int rc = fill_addr(path, &sa);
	if (rc < 0)
		return rc;
	gid_t gid = (gid_t)-1;
	if (group && resolve_group(group, &gid) < 0)
		return -ESRCH;
	rc = clear_path(path, &sa);
	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* 0660 from the first instant: no other thread runs yet, so changing
	 * the process umask around bind() is safe. */
	mode_t old = umask(0117);
	rc = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
	int bind_errno = errno;
	umask(old);
	if (rc < 0) {
		close(fd);
		return -bind_errno;
	}
	/* The group can only narrow who may connect during this window: the
	 * file starts with our own group. */
	if (gid != (gid_t)-1 && lchown(path, (uid_t)-1, gid) < 0) {
		rc = -errno;
		unlink(path);
		close(fd);
		return rc;
	}
	if (listen(fd, LISTENER_BACKLOG) < 0) {
		rc = -errno;
		unlink(path);
		close(fd);
		return rc;
	}
	*ret = fd;
	return 0;
}

void listener_remove(const char *path)
{
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_errno(LOG_WARN, "socket_remove", errno, path);
}
