/* Files vaultctl writes (token files, backups, restored stores, the compose
 * generator's output): created under a temporary name in the target's
 * directory, fsync'd, then renamed into place, so a reader never sees a
 * partial file. */
#ifndef VAULTCTL_FILES_H
#define VAULTCTL_FILES_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FILES_TMP_SUFFIX ".tmp-XXXXXX"
#define FILES_PATH_MAX 4096

struct tmpfile {
	int fd;                   /* -1 when closed */
	char tmp[FILES_PATH_MAX]; /* the temporary path */
	const char *final_path;
};

/* Creates "<path>.tmp-XXXXXX" (mode 0600, O_CLOEXEC). 0 or -errno. */
int tmpfile_open(struct tmpfile *t, const char *path);
/* fsync, close, rename to the final path (noreplace: fail with -EEXIST if
 * it exists), fsync the directory. On failure the temp file is removed. */
int tmpfile_commit(struct tmpfile *t, bool noreplace);
/* Closes and removes the temp file (after a failure). */
void tmpfile_abort(struct tmpfile *t);

/* The whole of data into dirfd/name atomically: a temporary name in the
 * same directory (O_EXCL|O_NOFOLLOW, exactly mode whatever the umask),
 * fsync, rename, fsync of the directory. Never writes through a symlink.
 * 0 or -errno. */
int files_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* files_write_at in path's directory. */
int files_write_atomic(const char *path, const void *data, size_t len, mode_t mode);


#endif
