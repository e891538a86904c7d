/* Running the command. Between fork and exec only async-signal-safe work
 * happens: the mask, the process group, the privilege drop, the PATH search
 * on a stack buffer, and messages built with msg_raw. */
#include "exec.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include "exit_codes.h"
#include "msg.h"

static const char *path_of(char *const envp[])
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return EXEC_DEFAULT_PATH;
}

static int status_for(int err)
{
	/* As sh and tini: 127 when nothing was found, 126 when something was
	 * found and could not be run. */
	return (err == ENOENT || err == ENOTDIR) ? INJECT_EXIT_NO_COMMAND
	                                         : INJECT_EXIT_NOT_EXECUTABLE;
}

static void report(const char *cmd, int err)
{
	const char *why = strerrordesc_np(err);
	msg_raw((const char *const[]){"inject: cannot execute ", cmd, ": ", why ? why : "error",
	                              err == ENOENT ? " (not found in PATH or the image)" : "",
	                              NULL});
}

/* The command's core file limit, as inject found it. */
static struct rlimit g_core;
static bool g_core_saved;

int exec_core_dumps_off(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || getrlimit(RLIMIT_CORE, &g_core) < 0)
		return -errno;
	g_core_saved = true;
	/* Only the soft limit: the command gets it back before execve. */
	struct rlimit off = {.rlim_cur = 0, .rlim_max = g_core.rlim_max};
	return setrlimit(RLIMIT_CORE, &off) < 0 ? -errno : 0;
}

int exec_command(char *const argv[], char *const envp[])
{
	const char *cmd = argv[0];
	/* The command keeps its own core dump policy; execve resets the
	 * dumpable flag by itself. setrlimit is not on POSIX's list of
	 * async-signal-safe calls, but glibc's is the bare prlimit64 system
	 * call, safe after fork. */
	if (g_core_saved)
		(void)setrlimit(RLIMIT_CORE, &g_core);
	if (!cmd[0]) { /* no name to look for: "" + PATH would name directories */
		report(cmd, ENOENT);
		return status_for(ENOENT);
	}
	if (strchr(cmd, '/')) {
		execve(cmd, argv, envp);
		int e = errno;
		report(cmd, e);
		return status_for(e);
	}
	char buf[PATH_MAX];
	size_t clen = strlen(cmd);
	int seen = ENOENT; /* the most telling error seen on the way */
	for (const char *p = path_of(envp);;) {
		const char *colon = strchr(p, ':');
		size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
		if (dlen == 0) {
			dlen = 1; /* an empty entry means the current directory */
			p = ".";
		}
		if (dlen + 1 + clen < sizeof(buf)) {
			memcpy(buf, p, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, cmd, clen + 1);
			execve(buf, argv, envp);
			if (errno != ENOENT && errno != ENOTDIR)
				seen = errno;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	report(cmd, seen);
	return status_for(seen);
}

static void child(char *const argv[], char *const envp[], const struct creds *cr,
                  const sigset_t *mask, bool new_group)
{
	if (new_group) {
		setpgid(0, 0);
		/* Take the terminal like a shell's job would; SIGTTOU is still
		 * blocked here (init_block_signals), so this cannot stop us. */
		if (isatty(STDIN_FILENO))
			tcsetpgrp(STDIN_FILENO, getpgrp());
	}
	sigprocmask(SIG_SETMASK, mask, NULL);
	int r = privdrop_apply(cr);
	if (r < 0) {
		const char *why = strerrordesc_np(-r);
		msg_raw((const char *const[]){
		    "inject: cannot drop privileges: ", why ? why : "error", NULL});
		_exit(INJECT_EXIT_PRIVDROP);
	}
	_exit(exec_command(argv, envp));
}

pid_t exec_spawn(char *const argv[], char *const envp[], const struct creds *cr,
                 const sigset_t *mask, bool new_group)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(argv, envp, cr, mask, new_group);
	if (new_group)
		setpgid(pid, pid); /* also here: no window where the group does not exist */
	return pid;
}
