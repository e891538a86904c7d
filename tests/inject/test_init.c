/* Starting the command and PID 1 duties, in-process: tini's exec statuses
 * (127 not found, 126 not executable), exit statuses passed through or
 * 128 + signal, signals forwarded, the --grace SIGKILL of the group. Each
 * test runs in Check's forked child, which is the "PID 1" here. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "check_support.h"
#include "exec.h"
#include "init.h"
#include "inject_test.h"

static char *const ENVP[] = {"PATH=/usr/bin:/bin", NULL};

/* Runs exec_command in a child and returns the child's exit status. */
static int exec_status(char *const argv[])
{
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		_exit(exec_command(argv, ENVP));
	int ws;
	ck_assert_int_eq(waitpid(p, &ws, 0), p);
	ck_assert(WIFEXITED(ws));
	return WEXITSTATUS(ws);
}

START_TEST(test_missing_command_is_127)
{
	ck_assert_int_eq(exec_status((char *[]){"no-such-command-xyz", NULL}), 127);
	ck_assert_int_eq(exec_status((char *[]){"/no/such/path", NULL}), 127);
}
END_TEST

START_TEST(test_not_executable_is_126)
{
	char dir[64], path[128];
	make_dir_in("/tmp", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/script", dir);
	write_text(path, "#!/bin/sh\nexit 0\n"); /* mode 0600: not executable */
	ck_assert_int_eq(exec_status((char *[]){path, NULL}), 126);
	ck_assert_int_eq(exec_status((char *[]){dir, NULL}), 126); /* a directory */
	remove_dir(dir);
}
END_TEST

START_TEST(test_path_search_finds_the_command)
{
	ck_assert_int_eq(exec_status((char *[]){"true", NULL}), 0);
	ck_assert_int_eq(exec_status((char *[]){"sh", "-c", "exit 5", NULL}), 5);
}
END_TEST

START_TEST(test_exit_status_rules)
{
	ck_assert_int_eq(init_exit_status(0), 0);
	ck_assert_int_eq(init_exit_status(255 << 8), 255);
	ck_assert_int_eq(init_exit_status(SIGTERM), 128 + SIGTERM);
	ck_assert_int_eq(init_exit_status(SIGKILL), 137);
}
END_TEST

static int run(char *const argv[], int grace_ms)
{
	struct creds self;
	privdrop_self(&self);
	struct init_opts o = {.argv = argv, .envp = ENVP, .creds = &self, .grace_ms = grace_ms};
	return init_run(&o);
}

static const int codes[] = {0, 1, 2, 127, 255};

START_TEST(test_child_exit_code_passes_through)
{
	init_block_signals();
	char cmd[32];
	snprintf(cmd, sizeof(cmd), "exit %d", codes[_i]);
	ck_assert_int_eq(run((char *[]){"sh", "-c", cmd, NULL}, 0), codes[_i]);
}
END_TEST

START_TEST(test_child_killed_by_signal_gives_128_plus_signal)
{
	init_block_signals();
	ck_assert_int_eq(run((char *[]){"sh", "-c", "kill -USR1 $$", NULL}, 0), 128 + SIGUSR1);
}
END_TEST

/* A helper process that signals us (the PID 1 stand-in) after a pause. */
static void signal_me_later(int sig, int ms)
{
	pid_t me = getpid();
	if (fork() == 0) {
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		kill(me, sig);
		_exit(0);
	}
}

static const int forwarded[] = {SIGTERM, SIGINT, SIGUSR1, SIGHUP};

START_TEST(test_signal_is_forwarded_to_the_child)
{
	init_block_signals();
	signal_me_later(forwarded[_i], 200);
	/* The child dies of the forwarded signal (default action). */
	ck_assert_int_eq(run((char *[]){"sleep", "5", NULL}, 0), 128 + forwarded[_i]);
}
END_TEST

START_TEST(test_child_handling_the_signal_exits_its_own_way)
{
	init_block_signals();
	signal_me_later(SIGUSR2, 200);
	ck_assert_int_eq(
	    run((char *[]){"sh", "-c", "trap 'exit 7' USR2; while :; do sleep 0.05; done", NULL},
	        0),
	    7);
}
END_TEST

/* A shell's wait for a signal, bounded (10 s) so that a failing test
 * leaves no process behind for long. */
#define BOUNDED_WAIT "i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done"

/* Signals tini does not forward: the faults and the terminal stops, when
 * another process sends them. Their default actions would stop or dump
 * the shell, so it traps each one (by number) and exits 9. */
static const int unusual[] = {SIGTTIN, SIGTTOU, SIGSEGV, SIGABRT, SIGBUS,
                              SIGFPE,  SIGILL,  SIGTRAP, SIGSYS};

START_TEST(test_fault_and_terminal_signals_are_forwarded)
{
	init_block_signals();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "trap 'exit 9' %d; " BOUNDED_WAIT, unusual[_i]);
	signal_me_later(unusual[_i], 200);
	ck_assert_int_eq(run((char *[]){"sh", "-c", cmd, NULL}, 0), 9);
}
END_TEST

/* Once the command runs, inject writes to a pipe nobody reads, as it
 * would write a message to a closed stderr: the SIGPIPE that earns it is
 * inject's own and must not kill the command. */
static void write_to_a_closed_pipe(pid_t child, void *ctx)
{
	(void)child;
	(void)ctx;
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	ck_assert_int_eq(write(p[1], "x", 1), -1);
	close(p[1]);
}

START_TEST(test_a_signal_inject_brought_on_itself_is_not_forwarded)
{
	init_block_signals();
	struct creds self;
	privdrop_self(&self);
	struct init_opts o = {.argv = (char *[]){"sh", "-c", "sleep 0.4; exit 3", NULL},
	                      .envp = ENVP,
	                      .creds = &self,
	                      .started = write_to_a_closed_pipe};
	ck_assert_int_eq(init_run(&o), 3);
}
END_TEST

/* --group --grace: the command leaves on SIGTERM, a member of its group
 * that ignores SIGTERM stays; a later SIGUSR1 must still reach it (it
 * leaves on that) instead of waiting for the grace's SIGKILL. */
START_TEST(test_group_hears_signals_while_the_grace_runs)
{
	init_block_signals();
	char dir[64], mark[128], cmd[512];
	make_dir_in("/tmp", dir, sizeof(dir));
	snprintf(mark, sizeof(mark), "%s/heard", dir);
	snprintf(cmd, sizeof(cmd),
	         "sh -c 'trap \"\" TERM; trap \"echo usr1 > %s; exit 0\" USR1; "
	         BOUNDED_WAIT "' & trap 'exit 0' TERM; " BOUNDED_WAIT,
	         mark);
	struct creds self;
	privdrop_self(&self);
	struct init_opts o = {.argv = (char *[]){"sh", "-c", cmd, NULL},
	                      .envp = ENVP,
	                      .creds = &self,
	                      .group = true,
	                      .grace_ms = 4000};
	signal_me_later(SIGTERM, 300);
	signal_me_later(SIGUSR1, 700);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(init_run(&o), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ck_assert_msg(ms < 3000, "the group was left to the grace's SIGKILL: %ld ms", ms);
	ck_assert_msg(access(mark, F_OK) == 0, "the group member never got SIGUSR1");
	remove_dir(dir);
}
END_TEST

START_TEST(test_grace_kills_a_child_that_ignores_sigterm)
{
	init_block_signals();
	signal_me_later(SIGTERM, 100);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int st = run((char *[]){"sh", "-c", "trap '' TERM; sleep 10 & wait; sleep 10", NULL}, 300);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ck_assert_int_eq(st, 128 + SIGKILL);
	ck_assert_msg(ms >= 350 && ms < 3000, "took %ld ms", ms);
}
END_TEST

static Suite *init_suite(void)
{
	Suite *s = suite_create("inject-init");
	TCase *t = tcase_create("init");
	tcase_set_timeout(t, 20);
	tcase_add_test(t, test_missing_command_is_127);
	tcase_add_test(t, test_not_executable_is_126);
	tcase_add_test(t, test_path_search_finds_the_command);
	tcase_add_test(t, test_exit_status_rules);
	tcase_add_loop_test(t, test_child_exit_code_passes_through, 0,
	                    (int)(sizeof(codes) / sizeof(codes[0])));
	tcase_add_test(t, test_child_killed_by_signal_gives_128_plus_signal);
	tcase_add_loop_test(t, test_signal_is_forwarded_to_the_child, 0,
	                    (int)(sizeof(forwarded) / sizeof(forwarded[0])));
	tcase_add_test(t, test_child_handling_the_signal_exits_its_own_way);
	tcase_add_test(t, test_grace_kills_a_child_that_ignores_sigterm);
	tcase_add_loop_test(t, test_fault_and_terminal_signals_are_forwarded, 0,
	                    (int)(sizeof(unusual) / sizeof(unusual[0])));
	tcase_add_test(t, test_a_signal_inject_brought_on_itself_is_not_forwarded);
	tcase_add_test(t, test_group_hears_signals_while_the_grace_runs);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	/* These tests block signals and become subreapers: only in a forked
	 * child of Check, never in the runner itself. */
	const char *f = getenv("CK_FORK");
	if (f && strcmp(f, "no") == 0) {
		fprintf(stderr, "inject-init needs CK_FORK (each test is its own PID 1)\n");
		return 77;
	}
	return check_support_run(init_suite());
}
