/* The secrets directory: checked once (tmpfs/ramfs, not writable by others,
 * not a symlink), then every file is written under a temp name with
 * O_CREAT|O_EXCL|O_NOFOLLOW, given its mode and owner, and renamed into place. */
#ifndef INJECT_TMPFS_FILES_H
#define INJECT_TMPFS_FILES_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Opens the directory (O_DIRECTORY|O_NOFOLLOW) and checks it. 0 and *ret_fd;
 * -ENOENT missing, -ELOOP a symlink, -ENOTDIR, -EXDEV not tmpfs/ramfs (unless
 * allow_disk), -EPERM writable by others, by a group the command is in
 * (cmd_groups: its gid and groups after --user; none without it) or owned by
 * another user; err says what and how to fix it. */
int files_open_dir(const char *path, bool allow_disk, const gid_t *cmd_groups,
                   size_t n_cmd_groups, int *ret_fd, char *err, size_t errcap);

#define FILES_TEMP_NAME_MAX 48

/* An empty temp file made ahead of its content: creating the inode is the
 * slow half of a write, and it needs no value, so inject does it while
 * vaultd prepares its answer. Owner-only and root's (or inject's) until
 * files_write has written it. */
struct files_temp {
	int fd; /* -1: none */
	char name[FILES_TEMP_NAME_MAX];
};

/* Creates t in dirfd. 0, or -errno with t->fd -1. */
int files_temp_create(int dirfd, struct files_temp *t);

/* Closes and removes t if it is still there; t->fd is -1 after. */
void files_temp_discard(int dirfd, struct files_temp *t);

/* Writes len bytes as dirfd/name (name: a validated name, never a path),
 * atomically: readers see the old file or the new one. Through t when it
 * holds a temp file (files_temp_create), else through one made now (t may
 * be NULL); t is used up either way: t->fd is -1 after. -ELOOP when name
 * exists as anything but a regular file (a planted symlink, a directory):
 * it is left alone. Other -errno from the system calls. */
int files_write(int dirfd, struct files_temp *t, const char *name, const void *data, size_t len,
                mode_t mode, uid_t uid, gid_t gid);

/* Removes dirfd/name if it is a regular file; a missing file is fine. */
int files_remove(int dirfd, const char *name);

#endif
