/* Stopping before the command runs: SIGTERM, SIGINT or SIGQUIT (docker stop,
 * Ctrl-C) while inject waits for vaultd ends inject at once, and the command
 * never starts. As PID 1 a signal without a handler would be dropped, so the
 * stop signals are blocked and read from a signalfd, which also cuts short a
 * request in flight (httpc's cancel_fd). */
#ifndef INJECT_STOP_H
#define INJECT_STOP_H
#include <stdbool.h>
#include <stdint.h>

/* Starts listening for the stop signals that are not ignored (an ignored
 * SIGINT, as a background job gets, stays ignored). block: block them first
 * and give the mask back in stop_end (exec mode; --init blocks every signal
 * itself). Call before anything can wait. */
void stop_begin(bool block);
/* Stops listening (closes the signalfd) and gives back the mask stop_begin
 * found: right before the command starts. */
void stop_end(void);
/* The signalfd, or NULL when there is none: for httpc_request.cancel_fd. */
const int *stop_fd(void);
/* Sleeps ms, or less when a stop signal comes: its number, else 0. */
int stop_sleep(int64_t ms);
/* A stop signal that is already pending (taken): its number, else 0. */
int stop_pending(void);
/* The signal that stop_sleep or stop_pending took last, 0 if none. */
int stop_signal(void);

#endif
