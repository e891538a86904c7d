/* Test fault injection, LD_PRELOADed into vaultd: fsync() of a SQLite WAL
 * (a name ending in "-wal") takes FSYNC_DELAY_MS longer, like a slow disk. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int is_wal(int fd)
{
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < 4)
		return 0;
	path[n] = '\0';
	return strcmp(path + n - 4, "-wal") == 0;
}

int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	const char *ms = getenv("FSYNC_DELAY_MS");
	long delay = ms ? strtol(ms, NULL, 10) : 0;
	if (delay > 0 && is_wal(fd)) {
		/* Said once per call, on stderr (vaultd's log): the test checks
		 * that the delay was in effect. */
		static const char msg[] = "fsync_delay: holding a WAL fsync\n";
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return real ? real(fd) : -1;
}
