/* Long-poll watchers: a GET /v1/watch request registers its names and its
 * connection stays suspended (no thread held) until a write handler reports
 * a change to one of them, its timeout passes, or the daemon stops. */
#ifndef VAULTD_WATCH_H
#define VAULTD_WATCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "names.h"

#define WATCH_DEFAULT_TIMEOUT_S 30
#define WATCH_MAX_TIMEOUT_S 300

struct req;

struct watch {
	char (*names)[VAULT_MAX_NAME_LEN + 1]; /* n names, owned */
	size_t n;
	uint64_t since;
	int64_t deadline_ms; /* CLOCK_MONOTONIC */
	uint64_t notified;   /* bit i: names[i] was reported changed */
	bool fired, timed_out;
	struct req *req;
	struct watch *prev, *next; /* registry links while waiting */
};

int watch_start(void);
/* Fires every waiter (as timed out) and stops the timer thread. */
void watch_stop(void);
/* Registers w (whose connection the caller has just suspended), then asks
 * changed(w, ctx) under the registry lock whether a change slipped in
 * before registration; if so w fires at once. No notification is lost
 * between the caller's own check and the registration. */
void watch_add(struct watch *w, bool (*changed)(struct watch *w, void *ctx), void *ctx);
/* Reports a change to name: fires every watcher of it. */
void watch_notify(const char *name);
size_t watch_count(void);
void watch_free(struct watch *w); /* NULL ok; w must not be registered */

#endif
