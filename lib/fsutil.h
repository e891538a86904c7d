/* Small file helpers shared by the programs: fsync a path and the directory
 * that holds a new name, and open a file that must be a regular one. */
#ifndef VAULT_FSUTIL_H
#define VAULT_FSUTIL_H
#include <sys/stat.h>

/* Opens path read-only with extra open flags (e.g. O_DIRECTORY) and fsyncs
 * it. 0 or -errno. */
int fsutil_fsync_path(const char *path, int flags);
/* fsyncs the directory holding path, so that a just-created or renamed name
 * is itself durable. 0 or -errno (-ENAMETOOLONG for an oversized path). */
int fsutil_fsync_parent(const char *path);

/* Opens dirfd/path (AT_FDCWD, or a directory's descriptor) for reading,
 * with extra open flags (e.g. O_NOFOLLOW), and keeps it only when it is a
 * regular file: -EISDIR for a directory, -EINVAL for anything else. The open
 * does not wait: a FIFO planted at path is refused, not waited on. Returns
 * the descriptor (close-on-exec), *st filled when non-NULL, or -errno. */
int fsutil_open_regular(int dirfd, const char *path, int flags, struct stat *st);

#endif
