/* The deferred fsync of committed audit entries (--audit-sync interval), on
 * a thread of its own so that commits go on while the disk flushes. */
#ifndef VAULTD_AUDIT_SYNC_H
#define VAULTD_AUDIT_SYNC_H
#include <stdbool.h>
#include <stdint.h>

struct store;

/* Starts the thread. 0 or -errno. */
int audit_sync_start(struct store *s);
/* Asks for an fsync that covers every commit made before this call; returns
 * at once. Asked while one runs, another follows it (the running one may
 * have begun before those commits). */
void audit_sync_request(void);
/* Finishes an fsync asked for, then stops the thread. */
void audit_sync_stop(void);
/* An fsync failed: it is not retried (Linux may have dropped the pages it
 * could not write and report the next attempt as a success), so every
 * audit commit must be fsync'd itself from then on. */
bool audit_sync_failed(void);
/* Deferred fsyncs done, for metrics. */
uint64_t audit_sync_count(void);

#endif
