/* Atomic files for vaultctl: temp name in the same directory, fsync, rename
 * (optionally refusing to replace), fsync of the directory. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "output.h"

int tmpfile_open(struct tmpfile *t, const char *path)
{
	t->fd = -1;
	t->final_path = path;
	int n = snprintf(t->tmp, sizeof(t->tmp), "%s" FILES_TMP_SUFFIX, path);
	if (n < 0 || (size_t)n >= sizeof(t->tmp))
		return -ENAMETOOLONG;
	/* mkostemp creates the file 0600 with O_EXCL: no other process can
	 * have it open, whatever the umask. */
	int fd = mkostemp(t->tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0) {
		int r = -errno;
		close(fd);
		unlink(t->tmp);
		return r;
	}
	t->fd = fd;
	return 0;
}

void tmpfile_abort(struct tmpfile *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	unlink(t->tmp);
}

int tmpfile_commit(struct tmpfile *t, bool noreplace)
{
	int r = 0;
	if (t->fd >= 0) {
		if (fsync(t->fd) < 0)
			r = -errno;
		if (close(t->fd) < 0 && r == 0)
			r = -errno;
		t->fd = -1;
	}
	if (r == 0) {
		if (noreplace) {
			r = renameat2(AT_FDCWD, t->tmp, AT_FDCWD, t->final_path, RENAME_NOREPLACE);
			/* Filesystems without RENAME_NOREPLACE: link() refuses an
			 * existing name just the same. */
			if (r < 0 && errno == EINVAL && (r = link(t->tmp, t->final_path)) == 0)
				unlink(t->tmp);
		} else {
			r = rename(t->tmp, t->final_path);
		}
		r = r < 0 ? -errno : 0;
	}
	if (r < 0) {
		unlink(t->tmp);
		return r;
	}
	return fsutil_fsync_parent(t->final_path);
}

#define FILES_TMP_NAME_MAX 300

int files_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	unsigned char r[6];
	char tmp[FILES_TMP_NAME_MAX];
	randombytes_buf(r, sizeof(r));
	snprintf(tmp, sizeof(tmp), ".%.200s.tmp-%02x%02x%02x%02x%02x%02x", name, r[0], r[1], r[2],
	         r[3], r[4], r[5]);
	int fd =
	    openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return -errno;
	int rc =
	    fchmod(fd, mode & 07777) < 0 ? -errno : 0; /* umask must not loosen or tighten it */
	if (rc == 0)
		rc = out_write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dirfd, tmp, 0);
		return rc;
	}
	return fsync(dirfd) < 0 ? -errno : 0;
}

int files_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char d[FILES_PATH_MAX], b[FILES_PATH_MAX];
	int n = snprintf(d, sizeof(d), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(d))
		return -ENAMETOOLONG;
	memcpy(b, d, (size_t)n + 1);
	int dirfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	int rc = files_write_at(dirfd, basename(b), data, len, mode);
	close(dirfd);
	return rc;
}
