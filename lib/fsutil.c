/* File helpers: fsync of a path and of the directory holding a name (so a
 * new key file or backup survives a crash right after it was reported), and
 * the open of a file that must be regular (not a FIFO that hangs a read). */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

int fsutil_fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int fsutil_fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		return fsutil_fsync_path(".", O_DIRECTORY);
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return fsutil_fsync_path(dir, O_DIRECTORY);
}

int fsutil_open_regular(int dirfd, const char *path, int flags, struct stat *st)
{
	/* O_NONBLOCK: opening a FIFO for reading waits for a writer; it has no
	 * effect on the regular file we keep. */
	int fd = openat(dirfd, path, flags | O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat own;
	struct stat *s = st ? st : &own;
	int r = fstat(fd, s) < 0       ? -errno
	        : S_ISDIR(s->st_mode)  ? -EISDIR
	        : !S_ISREG(s->st_mode) ? -EINVAL
	                               : 0;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}
