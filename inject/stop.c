/* Stop signals before the command starts, taken with sigtimedwait so that
 * they work for PID 1 too (stop.h). */
#include "stop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

static sigset_t g_saved;
static bool g_blocked;
static int g_signal;

static void stop_set(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIGTERM);
	sigaddset(s, SIGINT);
	sigaddset(s, SIGQUIT);
}

void stop_block(void)
{
	sigset_t s;
	stop_set(&s);
	if (sigprocmask(SIG_BLOCK, &s, &g_saved) == 0)
		g_blocked = true;
}

void stop_unblock(void)
{
	if (g_blocked)
		sigprocmask(SIG_SETMASK, &g_saved, NULL);
	g_blocked = false;
}

/* Waits up to ms (0: only looks) for a stop signal. */
static int take(int64_t ms)
{
	sigset_t s;
	stop_set(&s);
	struct timespec end, left = {ms / 1000, (long)(ms % 1000) * 1000000L};
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += left.tv_sec;
	end.tv_nsec += left.tv_nsec;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		int sig = sigtimedwait(&s, NULL, &left);
		if (sig > 0)
			return g_signal = sig;
		if (errno != EINTR)
			return 0; /* EAGAIN: the time is up */
		/* Another signal interrupted the wait: wait for what is left. */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t ns = (int64_t)(end.tv_sec - now.tv_sec) * 1000000000 + (end.tv_nsec - now.tv_nsec);
		if (ns <= 0)
			return 0;
		left.tv_sec = (time_t)(ns / 1000000000);
		left.tv_nsec = (long)(ns % 1000000000);
	}
}

int stop_sleep(int64_t ms)
{
	return take(ms > 0 ? ms : 0);
}

int stop_pending(void)
{
	return take(0);
}

int stop_signal(void)
{
	return g_signal;
}
