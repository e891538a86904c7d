/* Stopping before the command runs: SIGTERM, SIGINT or SIGQUIT (docker stop,
 * Ctrl-C) while inject waits for vaultd ends inject at once, and the command
 * never starts. As PID 1 a signal without a handler would be dropped, so the
 * stop signals are blocked and waited for instead. */
#ifndef INJECT_STOP_H
#define INJECT_STOP_H
#include <stdint.h>

/* Exec mode: blocks the stop signals and remembers the mask to give back
 * (--init blocks every signal itself). Call before anything can wait. */
void stop_block(void);
/* Gives back the mask stop_block found: right before exec. */
void stop_unblock(void);
/* Sleeps ms, or less when a stop signal comes: its number, else 0. */
int stop_sleep(int64_t ms);
/* A stop signal that is already pending (taken): its number, else 0. */
int stop_pending(void);
/* The signal that stop_sleep or stop_pending took last, 0 if none. */
int stop_signal(void);

#endif
