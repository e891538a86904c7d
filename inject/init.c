/* PID 1 mode, shaped like tini: signals are blocked and collected
 * synchronously with sigtimedwait, forwarded to the command (or its group),
 * zombies are reaped after every wake-up, and the exit status is the
 * command's own or 128 + the signal that killed it. */
#include "init.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "exit_codes.h"
#include "monotime.h"
#include "msg.h"

#define INIT_WAKE_MS 1000 /* reap at least this often, whatever happens */

static sigset_t blocked, original;

void init_block_signals(void)
{
	/* Every signal, faults and terminal stops included (tini leaves those
	 * out): whatever another process sends is for the command. Blocking
	 * them costs inject nothing: the kernel forces a real fault on it
	 * whatever the mask (and abort() unblocks SIGABRT first), and while
	 * SIGTTIN/SIGTTOU are blocked the terminal never sends them to inject:
	 * its writes go through, a read would fail with EIO. */
	sigfillset(&blocked);
	sigprocmask(SIG_SETMASK, &blocked, &original);
}

const sigset_t *init_original_mask(void)
{
	return &original;
}

int init_exit_status(int ws)
{
	/* Emulate what sh and bash do: 128 + the signal number. */
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return WEXITSTATUS(ws);
}

struct state {
	pid_t child;
	bool exited;
	int wstatus;
	int64_t kill_at; /* 0: no grace deadline armed */
};

/* A signal inject brought on itself (SIGPIPE from writing its messages to
 * a closed pipe, SIGXFSZ) is no news for the command: forwarded, it would
 * kill it. */
static bool self_inflicted(const siginfo_t *info)
{
	return info->si_code == SI_USER && info->si_pid == getpid();
}

/* Waits up to ms for one signal; forwards it unless it is SIGCHLD. Once
 * the command has exited, its group (--group) still hears them while the
 * grace runs. */
static void wait_and_forward_signal(const struct init_opts *o, struct state *s, int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	siginfo_t info;
	int sig = sigtimedwait(&blocked, &info, &ts);
	if (sig <= 0 || sig == SIGCHLD || self_inflicted(&info))
		return; /* timeout, EINTR, or a child to reap */
	if (s->exited && !o->group)
		return; /* the command is gone and nobody else was to hear it */
	if (kill(o->group ? -s->child : s->child, sig) < 0 && errno != ESRCH)
		msg_err("cannot forward signal %d: %s", sig, errstr(errno));
	if (sig == SIGTERM && o->grace_ms > 0 && s->kill_at == 0)
		s->kill_at = mono_ms() + o->grace_ms;
}

static void reap_zombies(const struct init_opts *o, struct state *s)
{
	int ws;
	pid_t p;
	while ((p = waitpid(-1, &ws, WNOHANG)) > 0) {
		if (p == s->child) {
			s->exited = true;
			s->wstatus = ws;
		} else if (o->reaped) {
			o->reaped(p, ws, o->ctx);
		}
	}
}

static bool group_gone(pid_t pgid)
{
	return kill(-pgid, 0) < 0 && errno == ESRCH;
}

int init_run(const struct init_opts *o)
{
	/* Not PID 1 (e.g. under docker's own init): orphans of the command
	 * still come to us to be reaped, as with tini -s. */
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		msg_warn("cannot become a subreaper: %s", errstr(errno));
	struct state s = {0};
	s.child = exec_spawn(o->argv, o->envp, o->creds, &original, true);
	if (s.child < 0) {
		msg_err("cannot start %s: %s", o->argv[0], errstr((int)-s.child));
		return INJECT_EXIT_INTERNAL;
	}
	if (o->started)
		o->started(s.child, o->ctx);
	for (;;) {
		int ms = INIT_WAKE_MS;
		if (s.kill_at) {
			int64_t left = s.kill_at - mono_ms();
			ms = left <= 0 ? 0 : (left < ms ? (int)left : ms);
		}
		if (ms > 0)
			wait_and_forward_signal(o, &s, ms);
		reap_zombies(o, &s);
		if (s.kill_at && mono_ms() >= s.kill_at) {
			/* The grace is over: whatever is left of the group goes. */
			kill(-s.child, SIGKILL);
			s.kill_at = 0;
			continue;
		}
		/* After a graceful stop, wait for the rest of the group too (up
		 * to the deadline); otherwise the command's exit is the end. */
		if (s.exited && (!s.kill_at || group_gone(s.child)))
			break;
	}
	return init_exit_status(s.wstatus);
}
