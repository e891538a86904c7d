/* Reading secrets into guarded memory: a no-echo prompt on /dev/tty, all of
 * a descriptor (stdin) or a file (every file vaultctl reads whole comes
 * through here). Nothing here prints a secret. */
#ifndef VAULTCTL_INPUT_H
#define VAULTCTL_INPUT_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include "secbuf.h"

/* A passphrase typed at a terminal is short; values may be longer. */
#define INPUT_MAX_PASSPHRASE 1024
/* The terminal's line discipline holds at most 4095 bytes per line. */
#define INPUT_MAX_TTY_LINE 4096

/* Prints prompt on /dev/tty and reads one line with echo off (restored even
 * when a signal arrives: the signal is re-raised afterwards). The newline is
 * not kept. -ENXIO when there is no terminal, -EFBIG over max bytes.
 * *ret is a new secbuf. */
int input_tty_secret(const char *prompt, size_t max, struct secbuf **ret);
/* input_tty_secret asked twice (prompt, then repeat), for a new secret that
 * a typo must not set. -ENODATA when the first answer is empty (repeat is
 * not asked), -EBADMSG when the two answers differ; otherwise as
 * input_tty_secret. */
int input_tty_secret_twice(const char *prompt, const char *repeat, size_t max, struct secbuf **ret);

/* Everything until EOF. -EFBIG over max bytes. *ret is a new secbuf. */
int input_read_fd(int fd, size_t max, struct secbuf **ret);
/* The whole file (or pipe; symlinks followed; -EISDIR for a directory).
 * -EFBIG over max. */
int input_read_file(const char *path, size_t max, struct secbuf **ret);
/* input_read_file for a path or "-" (stdin). */
int input_read_path(const char *path, size_t max, struct secbuf **ret);
/* The whole of a regular file (symlinks followed): -EINVAL for anything
 * else, -EFBIG over max. *ret_st (may be NULL) gets its fstat. */
int input_read_regular(const char *path, size_t max, struct secbuf **ret, struct stat *ret_st);
/* Whether a regular file with st's device and inode was read (by the two
 * above) in this process. */
bool input_was_read(const struct stat *st);

/* Removes one trailing "\n" or "\r\n" (what a line read leaves). */
void input_chomp(struct secbuf *b);
/* Removes all trailing ASCII whitespace (token files). */
void input_rstrip(struct secbuf *b);

/* True when stdin is a terminal. */
bool input_stdin_is_tty(void);

#endif
