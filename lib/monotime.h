/* The monotonic clock in milliseconds and nanoseconds: deadlines, backoffs
 * and latencies everywhere (never the wall clock, which can jump). */
#ifndef VAULT_MONOTIME_H
#define VAULT_MONOTIME_H
#include <stdint.h>
#include <time.h>

static inline int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A CLOCK_MONOTONIC time in ns as a timespec (pthread_cond_timedwait on a
 * condition whose clock is CLOCK_MONOTONIC). */
static inline struct timespec mono_timespec(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
	                         .tv_nsec = (long)(ns % 1000000000u)};
}

#endif
