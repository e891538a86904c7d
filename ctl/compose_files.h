/* The files the compose generator writes besides the compose file and
 * env_files (files_write_atomic, mode kept): the ./secrets directory (0700)
 * with one file per secret (0600, atomic, never through a symlink), and the
 * .gitignore entry that keeps that directory out of git. */
#ifndef VAULTCTL_COMPOSE_FILES_H
#define VAULTCTL_COMPOSE_FILES_H
#include <stdbool.h>
#include <stddef.h>
#include "secbuf.h"

/* Creates dir (mode 0700) if needed and opens it; refuses a symlink, a
 * non-directory, another user's directory, an existing one that group or
 * others may open (-EACCES: it is not ours to chmod), and project_dir or /
 * however spelled (-EEXIST). *ret_fd is an O_DIRECTORY descriptor; caller
 * closes. 0 or -errno. */
int compose_secrets_dir_open(const char *dir, const char *project_dir, int *ret_fd);
/* Writes value into dirfd/name (mode 0600) atomically; name must be a valid
 * secret name (no '/'). A file that already holds exactly value is left
 * alone (*ret_changed false). 0 or -errno. */
int compose_secret_file_write(int dirfd, const char *name, const struct secbuf *value,
                              bool *ret_changed);

/* When project_dir/.gitignore exists and does not already ignore
 * "/<entry>/", appends that line (atomically, mode kept). *ret_added tells
 * whether it did. 0 or -errno. */
int compose_gitignore_add(const char *project_dir, const char *entry, bool *ret_added);

#endif
