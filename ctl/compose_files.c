/* Writing what the compose generator produces besides the compose file: the
 * 0700 secrets directory with its 0600 files (opened relative to the
 * directory, never through a symlink; atomic through files.c), and the
 * .gitignore line. */
#include "compose_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "fsutil.h"
#include "input.h"

#define GITIGNORE_MAX_BYTES (1024u * 1024u)

/* Whether the directory open at fd is path's. */
static bool same_dir(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int compose_secrets_dir_open(const char *dir, const char *project_dir, int *ret_fd)
{
	bool created = mkdir(dir, 0700) == 0;
	if (!created && errno != EEXIST)
		return -errno;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ELOOP : -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || (st.st_uid != geteuid() && geteuid() != 0)) {
		close(fd);
		return -EPERM;
	}
	/* A directory that was there already is the user's: its mode is not
	 * ours to change (it may be shared), and values must not go where
	 * others can read them. */
	if (!created && (st.st_mode & 077)) {
		close(fd);
		return -EACCES;
	}
	/* Whatever the spelling ("sub/..", an absolute path, "/."): plaintext
	 * files in the project directory itself would sit beside the compose
	 * file with no .gitignore entry; in / anywhere at all. */
	if (!created && (same_dir(fd, project_dir) || same_dir(fd, "/"))) {
		close(fd);
		return -EEXIST;
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
	struct stat st;
	int fd = fsutil_open_regular(dirfd, name, O_NOFOLLOW, &st);
	if (fd < 0)
		return false;
	struct secbuf *b = NULL;
	bool same = (size_t)st.st_size == value->len && (st.st_mode & 07777) == 0600 &&
	            input_read_fd(fd, value->len, &b) == 0 && secbuf_equal(b, value);
	secbuf_free(b);
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
	int rc = files_write_at(dirfd, name, value->data, value->len, 0600);
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
	struct stat st;
	int fd = fsutil_open_regular(AT_FDCWD, path, O_NOFOLLOW, &st);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd == -EISDIR ? -EINVAL : fd;
	if (st.st_size > (off_t)GITIGNORE_MAX_BYTES) {
		close(fd);
		return -EINVAL;
	}
	struct secbuf *have = NULL;
	int rc = input_read_fd(fd, GITIGNORE_MAX_BYTES, &have);
	close(fd);
	if (rc < 0)
		return rc;
	size_t got = have->len;
	size_t cap = got + strlen(entry) + 8; /* room for "\n/<entry>/\n" */
	char *text = malloc(cap);
	if (!text) {
		secbuf_free(have);
		return -ENOMEM;
	}
	memcpy(text, have->data, got);
	secbuf_free(have);
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
	rc = files_write_atomic(path, text, out, st.st_mode);
	free(text);
	if (rc == 0)
		*ret_added = true;
	return rc;
}
