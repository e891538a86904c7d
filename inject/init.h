/* --init: inject stays PID 1 like tini. It forwards every catchable signal
 * but SIGCHLD to the command, reaps every zombie, and exits with the
 * command's status (128 + signal when a signal killed it). */
#ifndef INJECT_INIT_H
#define INJECT_INIT_H
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "privdrop.h"

struct init_opts {
	char *const *argv;
	char *const *envp;
	const struct creds *creds;
	bool group;   /* forward to the command's process group */
	int grace_ms; /* > 0: SIGKILL the group this long after a forwarded SIGTERM */
	/* Called once the command runs (starts --watch), and for every reaped
	 * process that is not the command (--on-change commands). May be NULL. */
	void (*started)(pid_t child, void *ctx);
	void (*reaped)(pid_t pid, int status, void *ctx);
	void *ctx;
};

/* Blocks the signals inject will wait for and remembers the mask it had.
 * Call before any thread starts, so every thread inherits the block. */
void init_block_signals(void);
/* The mask inject started with: what a command gets back before exec. */
const sigset_t *init_original_mask(void);

/* Runs the command and supervises it until it exits; returns the status
 * to exit with. INJECT_EXIT_INTERNAL if it could not be started. */
int init_run(const struct init_opts *o);

/* The exit status for a wait status: the code, or 128 + the signal. */
int init_exit_status(int wstatus);

#endif
