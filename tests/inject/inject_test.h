/* Shared bits of inject's Check suites: temp directories and small file
 * helpers (their main() is tests/support/check_support.h). */
#ifndef INJECT_TEST_H
#define INJECT_TEST_H
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hygiene.h"

/* A fresh 0700 directory under base ("/tmp" is disk here, "/dev/shm" tmpfs). */
static inline void make_dir_in(const char *base, char *buf, size_t cap)
{
	ck_assert_int_lt(snprintf(buf, cap, "%s/inject-test.XXXXXX", base), (int)cap);
	ck_assert_ptr_nonnull(mkdtemp(buf));
}

static inline void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	size_t n = strlen(text);
	ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
	close(fd);
}

/* Reads a whole small file into buf (NUL-terminated); returns its length. */
static inline ssize_t read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Removes a flat directory the test made (files, links, empty subdirs). */
static inline void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    unlinkat(dirfd(d), e->d_name, 0) < 0)
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	closedir(d);
	rmdir(dir);
}

#endif
