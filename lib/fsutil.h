/* Small durable-file helpers shared by the key file writer and the store's
 * backup: fsync a path, and fsync the directory that holds a new name. */
#ifndef VAULT_FSUTIL_H
#define VAULT_FSUTIL_H

/* Opens path read-only with extra open flags (e.g. O_DIRECTORY) and fsyncs
 * it. 0 or -errno. */
int fsutil_fsync_path(const char *path, int flags);
/* fsyncs the directory holding path, so that a just-created or renamed name
 * is itself durable. 0 or -errno (-ENAMETOOLONG for an oversized path). */
int fsutil_fsync_parent(const char *path);

#endif
