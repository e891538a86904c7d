/* Secret files on a tmpfs: the directory is vetted once; each file is created
 * under a fresh temp name with O_EXCL|O_NOFOLLOW relative to the directory fd,
 * so no planted symlink is ever followed and nothing is written outside it. */
#include "tmpfs_files.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define TEMP_PREFIX ".inject-" /* a leading dot: never a valid secret name */
#define TEMP_RANDOM_BYTES 8
/* prefix, random hex, '-', the counter's digits, NUL */
_Static_assert(sizeof(TEMP_PREFIX) + 2 * TEMP_RANDOM_BYTES + 1 + 20 <= FILES_TEMP_NAME_MAX,
               "room for a temp name");

static bool has_group(const gid_t *groups, size_t n, gid_t g)
{
	for (size_t i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

static int check_dir(int fd, const char *path, bool allow_disk, const gid_t *cmd_groups,
                     size_t n_cmd_groups, char *err, size_t cap)
{
	struct statfs sf;
	struct stat st;
	if (fstatfs(fd, &sf) < 0 || fstat(fd, &st) < 0)
		return errf(err, cap, -errno, "%s: %s", path, errstr(errno));
	bool memfs = sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
	if (!memfs && !allow_disk)
		return errf(err, cap, -EXDEV,
		            "%s is not a tmpfs or ramfs: secrets would reach the disk; mount one "
		            "there (docker run --tmpfs %s:mode=0755) or pass --allow-disk",
		            path, path);
	if (st.st_mode & S_IWOTH)
		return errf(err, cap, -EPERM,
		            "%s is writable by others (mode %04o): anyone could swap the files; "
		            "mount it with mode=0755 or chmod o-w it",
		            path, (unsigned)(st.st_mode & 07777));
	/* A writable group is "others" too, unless it is root's or inject's own
	 * and the command is not in it (--user 1001:0, as on OpenShift, is):
	 * its members could swap the files or plant links at the targets. */
	bool cmd_in = has_group(cmd_groups, n_cmd_groups, st.st_gid);
	if ((st.st_mode & S_IWGRP) && (cmd_in || (st.st_gid != 0 && st.st_gid != getegid())))
		return errf(err, cap, -EPERM,
		            "%s is writable by group %u (mode %04o)%s: its members could swap the "
		            "files; mount it with mode=0755 or chmod g-w it",
		            path, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777),
		            cmd_in ? ", which the --user is in" : "");
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return errf(err, cap, -EPERM,
		            "%s belongs to uid %u, not to root or to inject (uid %u): its owner "
		            "could swap the files",
		            path, (unsigned)st.st_uid, (unsigned)geteuid());
	return 0;
}

/* O_NOFOLLOW guards the last component only: "/run/secrets/" and
 * "/run/secrets/." name the directory a symlink at /run/secrets points to.
 * The name without them must be the directory that fd has open. */
static int not_a_symlink(int fd, const char *path, char *err, size_t cap)
{
	char p[PATH_MAX];
	size_t n = strlen(path);
	if (n >= sizeof(p))
		return errf(err, cap, -ENAMETOOLONG, "%s: path too long", path);
	memcpy(p, path, n + 1);
	for (;;) {
		while (n > 1 && p[n - 1] == '/')
			p[--n] = '\0';
		if (n > 1 && p[n - 1] == '.' && p[n - 2] == '/') {
			p[--n] = '\0';
			continue;
		}
		break;
	}
	struct stat ls, fs;
	if (lstat(p, &ls) < 0 || fstat(fd, &fs) < 0)
		return errf(err, cap, -errno, "%s: %s", path, errstr(errno));
	if (S_ISLNK(ls.st_mode))
		return errf(err, cap, -ELOOP, "%s is a symlink: give the real directory", path);
	if (ls.st_dev != fs.st_dev || ls.st_ino != fs.st_ino)
		return errf(err, cap, -ELOOP, "%s changed while inject opened it", path);
	return 0;
}

int files_open_dir(const char *path, bool allow_disk, const gid_t *cmd_groups,
                   size_t n_cmd_groups, int *ret_fd, char *err, size_t cap)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP || e == ENOTDIR) {
			/* O_NOFOLLOW on a symlink gives ELOOP or ENOTDIR: ask which. */
			struct stat st;
			if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
				return errf(err, cap, -ELOOP,
				            "%s is a symlink: give the real directory", path);
			return errf(err, cap, -ENOTDIR, "%s is not a directory", path);
		}
		return errf(err, cap, -e, "cannot open %s: %s%s", path, errstr(e),
		            e == ENOENT ? " (mount a tmpfs there)" : "");
	}
	int r = not_a_symlink(fd, path, err, cap);
	if (r == 0)
		r = check_dir(fd, path, allow_disk, cmd_groups, n_cmd_groups, err, cap);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A target that exists must be a regular file we may replace. */
static int target_ok(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return S_ISREG(st.st_mode) ? 0 : -ELOOP;
}

/* Temp names: ".inject-<random>-<counter>". The random part is drawn once
 * per process (libsodium); O_EXCL still guards against any clash. */
int files_temp_create(int dirfd, struct files_temp *t)
{
	static char prefix[2 * TEMP_RANDOM_BYTES + 1];
	static unsigned long counter;
	if (!prefix[0]) {
		static const char hex[] = "0123456789abcdef";
		unsigned char rnd[TEMP_RANDOM_BYTES];
		randombytes_buf(rnd, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd); i++) {
			prefix[2 * i] = hex[rnd[i] >> 4];
			prefix[2 * i + 1] = hex[rnd[i] & 15];
		}
	}
	t->fd = -1;
	for (int attempt = 0; attempt < 8; attempt++) {
		snprintf(t->name, sizeof(t->name), TEMP_PREFIX "%s-%lu", prefix, counter++);
		/* Owner-only until fchown and fchmod have run: the file is never
		 * readable by the wrong user, whatever the umask or a default ACL. */
		int fd = openat(dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		                S_IRUSR | S_IWUSR);
		if (fd >= 0) {
			t->fd = fd;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

void files_temp_discard(int dirfd, struct files_temp *t)
{
	if (t->fd < 0)
		return;
	close(t->fd);
	unlinkat(dirfd, t->name, 0);
	t->fd = -1;
}

/* A fresh directory (a container's start) has no target yet: one rename
 * that refuses to replace anything does it. Otherwise, right before the
 * rename, the target must be a regular file: rename would replace a planted
 * symlink (it never follows one), but anything else there means someone
 * tampered with the directory, so inject refuses instead. */
static int rename_into_place(int dirfd, const char *tmp, const char *name)
{
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	/* EINVAL/ENOSYS: no RENAME_NOREPLACE here; EPERM: a seccomp profile
	 * that refuses renameat2. A real error comes back from renameat too. */
	if (errno != EEXIST && errno != EINVAL && errno != ENOSYS && errno != EPERM)
		return -errno;
	int r = target_ok(dirfd, name);
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	return r;
}

int files_write(int dirfd, struct files_temp *t, const char *name, const void *data, size_t len,
                mode_t mode, uid_t uid, gid_t gid)
{
	struct files_temp own = {.fd = -1};
	if (!t)
		t = &own;
	if (t->fd < 0) {
		int r = files_temp_create(dirfd, t);
		if (r < 0)
			return r;
	}
	int fd = t->fd;
	t->fd = -1; /* used up from here on, whatever happens */
	int r = write_all(fd, data, len);
	if (r == 0 && fchown(fd, uid, gid) < 0)
		r = -errno;
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0 && errno != EINTR)
		r = -errno;
	if (r == 0)
		r = rename_into_place(dirfd, t->name, name);
	if (r < 0)
		unlinkat(dirfd, t->name, 0);
	return r;
}

int files_remove(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode))
		return -ELOOP;
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
