/* Writing what the compose generator produces: atomic replacement through a
 * temporary file in the same directory, the 0700 secrets directory with its
 * 0600 files (opened relative to the directory, never through a symlink),
 * and the .gitignore line. */
#include "compose_files.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_NAME_MAX 300
#define GITIGNORE_MAX_BYTES (1024u * 1024u)

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static void tmp_name(const char *base, char *out, size_t cap)
{
	unsigned char r[6];
	randombytes_buf(r, sizeof(r));
	snprintf(out, cap, ".%.200s.tmp-%02x%02x%02x%02x%02x%02x", base, r[0], r[1], r[2], r[3],
	         r[4], r[5]);
}

/* dirfd/base <- data via a temporary name; the rename is made durable. */
static int write_at(int dirfd, const char *base, const void *data, size_t len, mode_t mode)
{
	char tmp[TMP_NAME_MAX];
	tmp_name(base, tmp, sizeof(tmp));
	int fd =
	    openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return -errno;
	int rc =
	    fchmod(fd, mode & 07777) < 0 ? -errno : 0; /* umask must not loosen or tighten it */
	if (rc == 0)
		rc = write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, base) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dirfd, tmp, 0);
		return rc;
	}
	return fsync(dirfd) < 0 ? -errno : 0;
}

int compose_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char *d = strdup(path), *b = strdup(path);
	if (!d || !b) {
		free(d);
		free(b);
		return -ENOMEM;
	}
	int rc = 0;
	int dirfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		rc = -errno;
	else
		rc = write_at(dirfd, basename(b), data, len, mode);
	if (dirfd >= 0)
		close(dirfd);
	free(d);
	free(b);
	return rc;
}

int compose_secrets_dir_open(const char *dir, int *ret_fd)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ELOOP : -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || (st.st_uid != geteuid() && geteuid() != 0)) {
		close(fd);
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	*ret_fd = fd;
	return 0;
}

/* Whether dirfd/name already holds exactly value (compared in constant time). */
static bool same_content(int dirfd, const char *name, const struct secbuf *value)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	bool same = false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == value->len &&
	    (st.st_mode & 07777) == 0600) {
		struct secbuf *b = secbuf_new(value->len);
		size_t got = 0;
		while (b && got < value->len) {
			ssize_t n = read(fd, b->data + got, value->len - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		same =
		    b && got == value->len && sodium_memcmp(b->data, value->data, value->len) == 0;
		secbuf_free(b);
	}
	close(fd);
	return same;
}

int compose_secret_file_write(int dirfd, const char *name, const struct secbuf *value,
                              bool *ret_changed)
{
	if (strchr(name, '/') || name[0] == '.' || name[0] == '\0')
		return -EINVAL;
	if (same_content(dirfd, name, value)) {
		*ret_changed = false;
		return 0;
	}
	int rc = write_at(dirfd, name, value->data, value->len, 0600);
	if (rc == 0)
		*ret_changed = true;
	return rc;
}

static bool line_ignores(const char *line, size_t n, const char *entry)
{
	/* "secrets", "secrets/", "/secrets", "/secrets/" and the same with "*" all cover it. */
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\r'))
		n--;
	if (n > 0 && line[0] == '/') {
		line++;
		n--;
	}
	if (n >= 2 && line[n - 2] == '/' && line[n - 1] == '*')
		n -= 2;
	else if (n >= 1 && line[n - 1] == '/')
		n--;
	return n == strlen(entry) && strncmp(line, entry, n) == 0;
}

int compose_gitignore_add(const char *project_dir, const char *entry, bool *ret_added)
{
	*ret_added = false;
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/.gitignore", project_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)GITIGNORE_MAX_BYTES) {
		close(fd);
		return -EINVAL;
	}
	size_t len = (size_t)st.st_size;
	size_t cap = len + strlen(entry) + 8; /* room for "\n/<entry>/\n" */
	char *text = malloc(cap);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, text + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	for (size_t at = 0; at < got;) {
		const char *nl = memchr(text + at, '\n', got - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : got - at;
		if (line_ignores(text + at, n, entry)) {
			free(text);
			return 0;
		}
		at += n + 1;
	}
	size_t out = got;
	if (out > 0 && text[out - 1] != '\n')
		text[out++] = '\n';
	out += (size_t)snprintf(text + out, cap - out, "/%s/\n", entry); /* fits: see cap */
	int rc = compose_write_file(path, text, out, st.st_mode);
	free(text);
	if (rc == 0)
		*ret_added = true;
	return rc;
}
