/* Bench baseline, never installed: vaultd's own objects linked with
 * -Wl,--wrap=store_audit_append_unsynced, so the audit entries of reads are
 * numbered and everything else about them happens (the queue, the writer,
 * suspend and resume, the log lines, --audit-log), but they are never
 * committed to the store. bench_vaultd.sh loads it beside vaultd: the
 * difference is what committing one SQLite row per read costs. */
#include <stdatomic.h>
#include <stddef.h>

#include "store.h"

int __wrap_store_audit_append_unsynced(struct store *s, struct audit_entry *e, size_t n);

int __wrap_store_audit_append_unsynced(struct store *s, struct audit_entry *e, size_t n)
{
	static atomic_uint_fast64_t seq;
	(void)s;
	for (size_t i = 0; i < n; i++)
		e[i].seq = atomic_fetch_add(&seq, 1) + 1;
	return 0;
}
