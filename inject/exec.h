/* Starting the command: a PATH search with tini's statuses (127 not found,
 * 126 not executable), in place (exec mode) or in a forked child (--init,
 * --on-change) with the original signal mask and the privilege drop. */
#ifndef INJECT_EXEC_H
#define INJECT_EXEC_H
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "privdrop.h"

#define EXEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* No core dump of inject, which holds the token and values: not dumpable,
 * core file soft limit 0. exec_command gives the command the limit inject
 * found. 0 or -errno. */
int exec_core_dumps_off(void);

/* execve()s argv[0] (searched in envp's PATH when it has no '/'). Returns
 * only on failure, with 127 (not found) or 126 (found, not executable),
 * after one line on stderr. Async-signal-safe: usable after fork. */
int exec_command(char *const argv[], char *const envp[]);

/* Forks a child that restores mask, optionally becomes a process group
 * leader (and takes the terminal), drops to cr and execs. The child _exits
 * 126/127, or 71 when the privilege drop fails. The pid, or -errno. */
pid_t exec_spawn(char *const argv[], char *const envp[], const struct creds *cr,
                 const sigset_t *mask, bool new_group);

#endif
