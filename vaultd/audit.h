/* Auditing every request with group commit: request threads queue entries
 * and suspend; one writer thread appends everything pending in one store
 * transaction, resumes the waiting connections, then writes the request
 * lines to the log and the entries to --audit-log. */
#ifndef VAULTD_AUDIT_H
#define VAULTD_AUDIT_H
#include <stdbool.h>
#include <stdint.h>
#include "audit_chain.h"
#include "log.h"

#define AUDIT_BATCH_MAX 4096 /* entries in one store transaction */

struct vaultd;
struct req;

struct audit_item {
	struct audit_entry e;
	struct req *req;     /* resumed through http_audited() once recorded */
	bool chain_required; /* handled unsealed: it may carry a secret, so it
	                      * cannot fall back to the log-only path */
	bool seal_after;     /* POST /v1/sys/seal: seal once this is committed */
	bool durable;        /* the request changed something: its entry is fsync'd
	                      * before the answer, whatever --audit-sync says */
	bool direct;         /* audited by its own thread (audit_try_direct): the
	                      * connection was never suspended */
	bool prechained;     /* e is already committed with its write
	                      * (store_put_audited): only logged and resumed */
	bool has_pre;        /* pre was committed with the write but the answer
	                      * differs: e records the answer, both are logged */
	struct audit_entry pre;
	bool chained;       /* out: committed to the store's chain */
	bool has_late_line; /* out: late_line waits for audit_answered() */
	struct logline late_line;
	struct audit_item *next;
};

/* Opens --audit-log (if any) and starts the writer thread. */
int audit_start(struct vaultd *vd);
/* Queues an item; the writer calls http_audited(item->req, ok) later. */
void audit_submit(struct audit_item *it);
/* An entry another thread chained in its own transaction (the re-seal's
 * completion) goes to --audit-log too, written by the writer. */
void audit_copy_chained(const struct audit_entry *e);
/* When nothing is queued and nobody is committing, records the item on the
 * caller's thread instead (http_audited is called before this returns) and
 * returns true: a lone request saves two thread hand-offs. Otherwise
 * false, and the caller suspends and queues it as usual. */
bool audit_try_direct(struct audit_item *it);
/* Once the answer of an item recorded by audit_try_direct is sent (or its
 * connection is gone): writes its request log line. Its entry is on the
 * chain, which is the record; the line is not on the answer's path. */
void audit_answered(struct audit_item *it);
/* Around a durable store write (PUT, rotate, rollback, ...): while any is in
 * flight the writer waits briefly to gather their entries into one commit. */
void audit_write_begin(void);
void audit_write_end(void);
/* SIGHUP: reopen --audit-log before the next batch. */
void audit_request_reopen(void);
/* Writes everything queued, then stops the thread and closes the log. */
void audit_stop(void);

/* Counters for metrics. */
uint64_t audit_failures(void);
uint64_t audit_entries(void);
uint64_t audit_batches(void);
/* Deferred fsyncs of read entries (--audit-sync interval). */
uint64_t audit_syncs(void);

#endif
