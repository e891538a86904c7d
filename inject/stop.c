/* Stop signals before the command starts, read from a signalfd so that they
 * work for PID 1 too and can interrupt a request (stop.h). */
#include "stop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

static const int g_stops[] = {SIGTERM, SIGINT, SIGQUIT};
static sigset_t g_saved;
static bool g_blocked;
static int g_fd = -1;
static int g_signal;

void stop_begin(bool block)
{
	sigset_t s;
	sigemptyset(&s);
	for (size_t i = 0; i < sizeof(g_stops) / sizeof(g_stops[0]); i++) {
		struct sigaction sa;
		if (sigaction(g_stops[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
			sigaddset(&s, g_stops[i]);
	}
	if (block && sigprocmask(SIG_BLOCK, &s, &g_saved) == 0)
		g_blocked = true;
	g_fd = signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
}

void stop_end(void)
{
	if (g_fd >= 0)
		close(g_fd);
	g_fd = -1;
	if (g_blocked)
		sigprocmask(SIG_SETMASK, &g_saved, NULL);
	g_blocked = false;
}

const int *stop_fd(void)
{
	return g_fd >= 0 ? &g_fd : NULL;
}

/* Waits up to ms (0: only looks) for a stop signal and takes it. Without a
 * signalfd (it could not be made) it only sleeps. */
static int take(int64_t ms)
{
	struct pollfd p = {.fd = g_fd, .events = POLLIN};
	int n = poll(&p, 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
	if (n <= 0 || g_fd < 0)
		return 0; /* time is up; EINTR (another signal) just ends the nap early */
	struct signalfd_siginfo si;
	if (read(g_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return g_signal = (int)si.ssi_signo;
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
