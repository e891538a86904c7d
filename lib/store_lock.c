/* One process per store: an exclusive flock on the database file itself.
 * flock and SQLite's fcntl locks do not interact on Linux; the descriptor
 * stays open until after the store is closed, because closing any
 * descriptor of a file drops the process's fcntl locks on it. */
#include "store_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

int store_lock_take(const char *store_path)
{
	int fd = open(store_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		close(fd);
		return err;
	}
	return fd;
}

void store_lock_release(int fd)
{
	if (fd >= 0)
		close(fd); /* after store_close: see the top of this file */
}
