/* Group commit for the audit chain. Request threads queue their entry and
 * suspend their connection; this writer takes everything queued, appends it
 * in one store transaction (fsync'd at once when a change is in it, within
 * AUDIT_SYNC_NS otherwise, by a thread of its own), resumes the connections, then
 * logs the request lines and copies the entries to --audit-log, one write
 * each. While sealed the chain key is gone: entries of requests answered
 * while sealed (never carrying a secret) go to the logs only; entries of
 * requests answered while unsealed fail with 500 audit_failed. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "auth.h"
#include "bgthread.h"
#include "http.h"
#include "jsonw.h"
#include "log.h"
#include "monotime.h"
#include "store.h"
#include "vaultd.h"

#define LOG_BATCH_BYTES (256u * 1024u)
/* While durable writes are in flight the store's write lock is busy with
 * their fsyncs anyway: wait up to this long (or until the batch is this
 * big) so that one audit commit covers their entries too, instead of one
 * commit (one more fsync) per entry. Reads alone never wait. */
#define AUDIT_LINGER_US 2000
#define AUDIT_LINGER_BATCH 64
#define AUDIT_BUSY_LINGER_US 200
#define AUDIT_DIRECT_LOG_BYTES 4096 /* one entry's lines: both are bounded well below */
/* Entries of requests that changed nothing are committed before their
 * answers but fsync'd at most this much later (--audit-sync interval): an
 * fsync per batch was most of a lone read's latency. */
#define AUDIT_SYNC_NS (100u * 1000u * 1000u)
/* Sealed-time entries kept for the chain: a client hammering a sealed
 * vaultd must not grow it without bound; beyond this they are counted in
 * one audit.sealed_dropped entry (their log lines remain). */
#define AUDIT_KEEP_SEALED_MAX 1024u

static struct vaultd *g_vd;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond; /* monotonic: the linger and fsync deadlines */
static struct audit_item *g_head, *g_tail;
static size_t g_qlen;
static size_t g_last_batch;  /* entries in the previous batch */
static bool g_lingering;     /* the writer waits for a fuller batch */
static atomic_int g_writers; /* requests inside a durable store write */
static bool g_stop;
static struct bgthread g_bg = {.lock = &g_lock, .cond = &g_cond, .stop = &g_stop};
static void sync_entries(void);
/* The deferred fsync's thread; an fsync asked for before the stop is owed. */
static struct bgjob g_sync = BGJOB_INIT(g_sync, sync_entries, true);
static atomic_bool g_reopen;
static int g_fd = -1; /* --audit-log; after start only whoever holds g_busy touches it */
static atomic_uint_fast64_t g_failures, g_entries, g_batches, g_syncs;
/* Under g_lock: someone (the writer thread, or a request thread auditing
 * its own entry directly) is committing or reopening the log; only one at
 * a time touches the chain and g_fd. The deferred fsync (g_sync) runs
 * beside them. */
static bool g_busy;
static uint64_t g_unsynced_ns;    /* under g_lock: oldest commit not fsync'd, 0 = none */
static atomic_bool g_sync_failed; /* an fsync failed, so every commit syncs */
static bool g_exited;             /* under g_lock: the writer takes no more work */
/* Entries of requests answered while sealed: the chain key was gone, so
 * they wait here and join the chain, ahead of anything else, with the
 * first commit after the unseal. Only whoever holds g_busy touches them. */
static struct audit_entry *g_kept;
static size_t g_nkept;
static uint64_t g_kept_dropped; /* sealed-time entries that found no room */
static bool g_writer_parked;    /* under g_lock: the writer waits with no deadline */
/* Entries another thread chained itself (the re-seal's completion), whose
 * --audit-log lines the writer owes; under g_lock. Rare: a few slots do. */
#define AUDIT_OWED_MAX 8u
static struct audit_entry g_owed[AUDIT_OWED_MAX];
static size_t g_nowed;

uint64_t audit_failures(void)
{
	return atomic_load(&g_failures);
}
uint64_t audit_entries(void)
{
	return atomic_load(&g_entries);
}
uint64_t audit_batches(void)
{
	return atomic_load(&g_batches);
}
uint64_t audit_syncs(void)
{
	return atomic_load(&g_syncs);
}

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	return fd < 0 ? -errno : fd;
}

static void reopen_log(void)
{
	if (!g_vd->cfg.audit_log_path)
		return;
	int fd = open_log(g_vd->cfg.audit_log_path);
	if (fd < 0) {
		log_errno(LOG_ERROR, "audit_log_reopen", fd,
		          "cannot reopen --audit-log; still writing to the old file");
		return;
	}
	if (g_fd >= 0)
		close(g_fd);
	g_fd = fd;
	log_msg(LOG_INFO, "audit_log_reopened", g_vd->cfg.audit_log_path);
}

/* How many entries a lingering writer waits for: a full batch, but never
 * more than there are connections to send them (with 8 clients all 8
 * waiting is the whole batch, and lingering on costs each of them the
 * rest of the linger). */
static size_t linger_target(void)
{
	long conns = http_open_connections();
	if (conns < 1)
		conns = 1;
	return (size_t)conns < AUDIT_LINGER_BATCH ? (size_t)conns : AUDIT_LINGER_BATCH;
}

void audit_submit(struct audit_item *it)
{
	it->next = NULL;
	it->chained = false;
	pthread_mutex_lock(&g_lock);
	if (g_exited) {
		/* Past the shutdown grace: nobody will record it, so it must
		 * not be answered as if it were. An entry committed with its
		 * change (prechained) is recorded already. */
		pthread_mutex_unlock(&g_lock);
		http_audited(it->req, it->prechained, NULL, NULL);
		return;
	}
	if (g_tail)
		g_tail->next = it;
	else
		g_head = it;
	g_tail = it;
	g_qlen++;
	/* A lingering writer wants a full batch, not a wake-up per entry. */
	if (!g_lingering || g_qlen >= linger_target())
		pthread_cond_signal(&g_cond);
	pthread_mutex_unlock(&g_lock);
}

void audit_write_begin(void)
{
	atomic_fetch_add(&g_writers, 1);
}

void audit_write_end(void)
{
	if (atomic_fetch_sub(&g_writers, 1) != 1)
		return;
	/* The last write is done: a lingering writer thread can commit now. */
	pthread_mutex_lock(&g_lock);
	pthread_cond_signal(&g_cond);
	pthread_mutex_unlock(&g_lock);
}

void audit_request_reopen(void)
{
	atomic_store(&g_reopen, true);
	pthread_mutex_lock(&g_lock);
	pthread_cond_signal(&g_cond);
	pthread_mutex_unlock(&g_lock);
}

/* Takes up to AUDIT_BATCH_MAX queued items, lingering first when busy.
 * Called with g_lock held and g_head non-empty. */
static struct audit_item *take_batch_locked(void)
{
	bool writing = atomic_load(&g_writers) > 0;
	/* Busy (the last batch had company): wait a moment for the entries of
	 * requests being handled right now, so that one commit (and one reset
	 * of the readers' page caches) serves many. A lone client never waits. */
	bool busy = g_last_batch > 1;
	size_t want = linger_target();
	if ((writing || busy) && g_qlen < want) {
		struct timespec end = mono_timespec(
		    mono_ns() + (writing ? AUDIT_LINGER_US : AUDIT_BUSY_LINGER_US) * 1000u);
		g_lingering = true;
		while (g_qlen < linger_target() && !g_stop &&
		       (atomic_load(&g_writers) > 0 || !writing) &&
		       pthread_cond_timedwait(&g_cond, &g_lock, &end) == 0)
			;
		g_lingering = false;
	}
	struct audit_item *batch = g_head, *last = NULL;
	size_t n = 0;
	for (struct audit_item *it = g_head; it && n < AUDIT_BATCH_MAX; it = it->next) {
		last = it;
		n++;
	}
	g_head = last->next;
	if (!g_head)
		g_tail = NULL;
	last->next = NULL;
	g_qlen -= n;
	g_last_batch = n;
	return batch;
}

enum work { WORK_BATCH, WORK_REOPEN, WORK_OWED, WORK_STOP };

/* Waits for the writer's next job: a log to reopen, a batch to commit, or
 * the end (stopping, nothing queued, nothing unsynced). Meanwhile it hands
 * an fsync that is due (or owed before stopping) to g_sync's thread.
 * Claims g_busy for every job but the end. */
static enum work next_work(struct audit_item **ret_batch)
{
	enum work w;
	pthread_mutex_lock(&g_lock);
	for (;;) {
		/* Due first, busy or not: under constant load the queue is never
		 * empty, and the 100 ms promise must still hold. */
		if (g_unsynced_ns && (g_stop || mono_ns() >= g_unsynced_ns + AUDIT_SYNC_NS)) {
			/* Commits from here on may miss this fsync: the next covers them. */
			g_unsynced_ns = 0;
			bgjob_kick(&g_sync);
		}
		if (!g_busy) {
			if (atomic_exchange(&g_reopen, false)) {
				w = WORK_REOPEN;
				break;
			}
			if (g_nowed) {
				w = WORK_OWED;
				break;
			}
			if (g_head) {
				*ret_batch = take_batch_locked();
				w = WORK_BATCH;
				break;
			}
			if (g_stop && !g_unsynced_ns) {
				/* Under the same lock: an entry submitted after this is
				 * refused at once instead of waiting for nobody. */
				g_exited = true;
				w = WORK_STOP;
				break;
			}
		}
		if (g_unsynced_ns) {
			struct timespec ts = mono_timespec(g_unsynced_ns + AUDIT_SYNC_NS);
			pthread_cond_timedwait(&g_cond, &g_lock, &ts);
		} else {
			g_writer_parked = true;
			pthread_cond_wait(&g_cond, &g_lock);
			g_writer_parked = false;
		}
	}
	if (w != WORK_STOP)
		g_busy = true;
	pthread_mutex_unlock(&g_lock);
	return w;
}

/* What a commit did to the not-yet-fsync'd state. */
enum commit { COMMIT_NONE, COMMIT_SYNCED, COMMIT_UNSYNCED };

/* Releases g_busy after a job, noting what its commit left unsynced, and
 * wakes the writer when it has something to do: entries queued meanwhile, a
 * stop or reopen it saw while busy, or an fsync deadline it has not armed.
 * A writer already sleeping until that deadline is left alone: waking it
 * after every lone request cost a context switch on the answer's path. */
static void work_done(enum commit c, uint64_t began_ns)
{
	pthread_mutex_lock(&g_lock);
	if (c == COMMIT_SYNCED)
		g_unsynced_ns = 0; /* that fsync carried every earlier commit too */
	else if (c == COMMIT_UNSYNCED && !g_unsynced_ns)
		g_unsynced_ns = began_ns; /* the fsync's deadline counts from before the commit */
	g_busy = false;
	if (g_head || g_stop || g_nowed || atomic_load(&g_reopen) ||
	    (g_unsynced_ns && g_writer_parked))
		pthread_cond_signal(&g_cond);
	pthread_mutex_unlock(&g_lock);
}

static void write_all_fd(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return; /* the chain is the record; this copy is best effort */
		p += w;
		len -= (size_t)w;
	}
}

struct json_line {
	const struct audit_entry *e;
	bool chained, ok;
	const char *hash; /* hex, "" when not chained */
};

/* key is the literal text before the value: ",\"uid\":" */
static void int_member(struct jsonw *w, const char *key, int64_t v)
{
	jsonw_lit(w, key);
	jsonw_i64(w, v);
}

static void str_member(struct jsonw *w, const char *key, const char *s)
{
	jsonw_lit(w, key);
	jsonw_str(w, s);
}

/* One line of the --audit-log copy. Audit fields are names, accessors and
 * fixed words, but they are escaped anyway: the copy must stay JSON. */
static void json_line_doc(struct jsonw *w, const void *ctx)
{
	const struct json_line *l = ctx;
	const struct audit_entry *e = l->e;
	jsonw_lit(w, "{\"seq\":");
	jsonw_u64(w, l->chained ? e->seq : 0);
	int_member(w, ",\"time_ms\":", e->time_ms);
	int_member(w, ",\"uid\":", e->uid);
	int_member(w, ",\"gid\":", e->gid);
	int_member(w, ",\"pid\":", e->pid);
	str_member(w, ",\"accessor\":", e->accessor);
	str_member(w, ",\"action\":", e->action);
	str_member(w, ",\"name\":", e->name);
	str_member(w, ",\"result\":", l->ok ? e->result : "audit_failed");
	int_member(w, ",\"status\":", l->ok ? e->status : 500);
	jsonw_lit(w,
	          l->chained ? ",\"chained\":true,\"hash\":\"" : ",\"chained\":false,\"hash\":\"");
	jsonw_lit(w, l->hash);
	jsonw_lit(w, "\"}\n");
}

/* Appends one JSON line of the --audit-log copy to buf (cap bytes),
 * flushing it first when it would not fit. Formatted by hand: this runs
 * for every request on the one writer thread. */
static void add_json_line(const struct audit_entry *e, bool chained, bool ok, char *buf, size_t cap,
                          size_t *used)
{
	char hash[AUDIT_HASH_BYTES * 2 + 1] = "";
	if (chained)
		sodium_bin2hex(hash, sizeof(hash), e->hash, AUDIT_HASH_BYTES);
	struct json_line l = {.e = e, .chained = chained, .ok = ok, .hash = hash};
	struct jsonw count = {.p = NULL, .n = 0};
	json_line_doc(&count, &l);
	if (count.n > cap)
		return; /* never write half a line */
	if (*used + count.n > cap) {
		write_all_fd(g_fd, buf, *used);
		*used = 0;
	}
	struct jsonw fill = {.p = (unsigned char *)buf + *used, .n = 0};
	json_line_doc(&fill, &l);
	*used += fill.n;
}

/* After a seal request's entry is in the chain (append_batch sealed the
 * store with that commit, before anyone is told {"sealed":true}): the
 * token cache goes too. */
static void seal_if_asked(struct audit_item *batch, bool chained)
{
	if (!chained)
		return;
	for (struct audit_item *it = batch; it; it = it->next) {
		if (it->seal_after) {
			auth_flush();
			log_msg(LOG_INFO, "sealed", "sealed by request; keys wiped");
			return;
		}
	}
}

/* Appends the batch's entries that are not in the chain yet, as one store
 * transaction; copies seq and hash back into their items. */
static int append_batch(struct audit_item *batch, struct audit_entry *arr, enum commit *ret)
{
	*ret = COMMIT_NONE;
	size_t m = 0;
	for (struct audit_item *it = batch; it; it = it->next)
		if (!it->prechained)
			arr[m++] = it->e;
	if (m == 0)
		return 0;
	if (store_is_sealed(g_vd->store))
		return STORE_E_SEALED;
	bool sync = g_vd->cfg.audit_sync_always || atomic_load(&g_sync_failed);
	bool seal = false;
	for (struct audit_item *it = batch; it; it = it->next) {
		sync |= it->durable && !it->prechained;
		seal |= it->seal_after && !it->prechained;
	}
	/* POST /v1/sys/seal: sealed in the same exclusive step as its entry's
	 * commit, so no write lands in the chain after it. */
	int rc = seal   ? store_audit_append_seal(g_vd->store, arr, m)
	         : sync ? store_audit_append(g_vd->store, arr, m)
	                : store_audit_append_unsynced(g_vd->store, arr, m);
	if (rc == 0 && seal)
		sync = true;
	if (rc < 0)
		return rc;
	*ret = sync ? COMMIT_SYNCED : COMMIT_UNSYNCED;
	m = 0;
	for (struct audit_item *it = batch; it; it = it->next)
		if (!it->prechained)
			it->e = arr[m++];
	return 0;
}

/* An entry that could not join the chain because the store was sealed,
 * recorded as the client was answered. */
static void keep_sealed(const struct audit_entry *e, bool ok)
{
	if (!g_kept)
		g_kept = calloc(AUDIT_KEEP_SEALED_MAX, sizeof(*g_kept));
	/* The last slot stays free for the count of the ones not kept. */
	if (!g_kept || g_nkept == AUDIT_KEEP_SEALED_MAX - 1) {
		g_kept_dropped++;
		return;
	}
	struct audit_entry *k = &g_kept[g_nkept++];
	*k = *e;
	if (!ok) {
		snprintf(k->result, sizeof(k->result), "%s", "audit_failed");
		k->status = 500;
	}
}

/* The count of the sealed-time entries there was no room for, as an entry
 * of its own: its name is the count. */
static void add_dropped_entry(void)
{
	struct audit_entry *d = &g_kept[g_nkept++];
	memset(d, 0, sizeof(*d));
	d->time_ms = audit_time_ms();
	d->uid = d->gid = d->pid = -1;
	snprintf(d->action, sizeof(d->action), "%s", "audit.sealed_dropped");
	snprintf(d->name, sizeof(d->name), "%" PRIu64, g_kept_dropped);
	snprintf(d->result, sizeof(d->result), "%s", "dropped");
}

/* The --audit-log lines of n entries another step put on the chain, with
 * one write (or a few, when many). */
static void write_chained_lines(const struct audit_entry *e, size_t n, char *logbuf, size_t cap)
{
	size_t used = 0;
	for (size_t i = 0; g_fd >= 0 && i < n; i++)
		add_json_line(&e[i], true, true, logbuf, cap, &used);
	if (used)
		write_all_fd(g_fd, logbuf, used);
}

/* Once unsealed, puts the kept sealed-time entries on the chain in a
 * transaction of their own, before the batch at hand (they were answered
 * first), fsync'd at once: it happens once per unseal. A failure keeps
 * them for the next batch. Their --audit-log copy, written as they were
 * answered (chained:false), gets its chained twin here. */
static void chain_kept(char *logbuf, size_t cap)
{
	if ((!g_nkept && !g_kept_dropped) || store_is_sealed(g_vd->store))
		return;
	if (!g_kept)
		g_kept = calloc(AUDIT_KEEP_SEALED_MAX, sizeof(*g_kept));
	if (!g_kept)
		return; /* out of memory: try again with the next batch */
	if (g_kept_dropped)
		add_dropped_entry();
	size_t n = g_nkept;
	int rc = store_audit_append(g_vd->store, g_kept, n);
	if (rc < 0) {
		g_nkept -= g_kept_dropped ? 1 : 0; /* the count entry is made again next time */
		log_errno(LOG_ERROR, "audit_failed", rc,
		          "entries of requests answered while sealed could not join the chain yet");
		return;
	}
	write_chained_lines(g_kept, n, logbuf, cap);
	atomic_fetch_add(&g_entries, n);
	g_nkept = 0;
	g_kept_dropped = 0;
	free(g_kept);
	g_kept = NULL;
}

/* An entry for --audit-log, copied out of its request: the copy is written
 * after the answers leave, and a request is gone once its connection
 * resumes. */
struct json_copy {
	struct audit_entry e;
	bool chained, ok;
};

/* What process_batch works in: room for a batch of n items. */
struct scratch {
	struct audit_entry *arr; /* n: the entries for the store */
	bool *oks;               /* n: each item's verdict */
	struct json_copy *json;  /* 2n: an item's change entry and its answer's */
	char *logbuf;            /* the lines, written cap bytes at a time */
	size_t cap;
};

/* The --audit-log copy of a batch, with one write (or a few, when large). */
static void write_json_copies(const struct json_copy *json, size_t n, char *logbuf, size_t cap)
{
	size_t used = 0;
	for (size_t k = 0; k < n; k++)
		add_json_line(&json[k].e, json[k].chained, json[k].ok, logbuf, cap, &used);
	if (used)
		write_all_fd(g_fd, logbuf, used);
}

/* Commits a batch, hands every request its verdict (which resumes it), and
 * then copies the batch to the log and --audit-log: the chain in the store
 * is the record, and the answers need not wait for the copies. Needs
 * g_busy. */
static enum commit process_batch(struct audit_item *batch, const struct scratch *sc)
{
	enum commit done;
	chain_kept(sc->logbuf, sc->cap);
	int rc = append_batch(batch, sc->arr, &done);
	bool chained = rc == 0;
	size_t failed = 0, recorded = 0, njson = 0;
	size_t i = 0;
	for (struct audit_item *it = batch; it; it = it->next, i++) {
		it->chained = chained || it->prechained;
		sc->oks[i] = it->chained || (rc == STORE_E_SEALED && !it->chain_required);
		failed += !sc->oks[i];
		recorded += it->chained;
		if (g_fd >= 0 && it->has_pre)
			sc->json[njson++] =
			    (struct json_copy){.e = it->pre, .chained = true, .ok = true};
		if (g_fd >= 0)
			sc->json[njson++] = (struct json_copy){
			    .e = it->e, .chained = it->chained, .ok = sc->oks[i]};
		if (!it->chained && rc == STORE_E_SEALED)
			keep_sealed(&it->e, sc->oks[i]);
	}
	if (rc < 0 && rc != STORE_E_SEALED)
		log_errno(LOG_ERROR, "audit_failed", rc,
		          "audit entries could not be committed; their requests answer 500");
	atomic_fetch_add(&g_entries, recorded);
	atomic_fetch_add(&g_batches, 1);
	atomic_fetch_add(&g_failures, failed);
	seal_if_asked(batch, chained);

	size_t used = 0;
	bool info = log_enabled(LOG_INFO);
	char ts[LOG_TS_MAX];
	log_timestamp(ts); /* one timestamp for the batch's lines */
	i = 0;
	for (struct audit_item *it = batch, *next; it; it = next, i++) {
		next = it->next; /* it lives inside the request: gone after http_audited */
		struct logline line;
		/* Off the chain, the log line is the only record: always write it. */
		bool want = info || !it->chained;
		/* A lone request's line goes out after its answer (audit_answered):
		 * the write to a log file was on the path of every lone read. */
		bool late = want && it->direct && it->chained;
		it->has_late_line = late;
		http_audited(it->req, sc->oks[i], want ? (late ? &it->late_line : &line) : NULL,
		             ts);
		if (!want || late)
			continue;
		size_t len;
		const char *s = logline_finish(&line, &len);
		if (used + len > sc->cap) {
			log_write_lines(sc->logbuf, used);
			used = 0;
		}
		memcpy(sc->logbuf + used, s, len);
		used += len;
	}
	if (used)
		log_write_lines(sc->logbuf, used);
	write_json_copies(sc->json, njson, sc->logbuf, sc->cap);
	return done;
}

/* The --audit-log lines of entries chained by other threads. Needs g_busy. */
static void write_owed(char *logbuf, size_t cap)
{
	struct audit_entry owed[AUDIT_OWED_MAX];
	pthread_mutex_lock(&g_lock);
	size_t n = g_nowed;
	memcpy(owed, g_owed, n * sizeof(*owed));
	g_nowed = 0;
	pthread_mutex_unlock(&g_lock);
	write_chained_lines(owed, n, logbuf, cap);
}

void audit_copy_chained(const struct audit_entry *e)
{
	pthread_mutex_lock(&g_lock);
	if (g_vd->cfg.audit_log_path && g_nowed < AUDIT_OWED_MAX && !g_exited) {
		g_owed[g_nowed++] = *e;
		pthread_cond_signal(&g_cond);
	}
	pthread_mutex_unlock(&g_lock);
}

/* The fsync owed to committed entries of reads, on g_sync's thread: on the
 * writer it held up every commit, so every answer, for its length (2-8 ms
 * here). next_work has already cleared g_unsynced_ns, so a commit that
 * lands during it is owed the next. A failed fsync is not retried: Linux
 * may have dropped the pages it could not write and report the next
 * attempt as a success. Every later commit is fsync'd instead (as with
 * --audit-sync always). */
static void sync_entries(void)
{
	int rc = store_sync(g_vd->store);
	if (rc == 0) {
		atomic_fetch_add(&g_syncs, 1);
		return;
	}
	atomic_store(&g_sync_failed, true);
	log_errno(LOG_ERROR, "audit_sync_failed", rc,
	          "recent audit entries of reads may not be on disk; every audit commit is "
	          "fsync'd from now on");
}

static void *writer_main(void *arg)
{
	(void)arg;
	struct scratch sc = {
	    .arr = calloc(AUDIT_BATCH_MAX, sizeof(*sc.arr)),
	    .oks = calloc(AUDIT_BATCH_MAX, sizeof(*sc.oks)),
	    .json = calloc(2 * AUDIT_BATCH_MAX, sizeof(*sc.json)),
	    .logbuf = malloc(LOG_BATCH_BYTES),
	    .cap = LOG_BATCH_BYTES,
	};
	if (!sc.arr || !sc.oks || !sc.json || !sc.logbuf) {
		log_msg(LOG_ERROR, "audit_writer", "out of memory: the audit writer cannot run");
		abort(); /* no audit, no service: never answer unaudited */
	}
	for (;;) {
		struct audit_item *batch = NULL;
		enum work w = next_work(&batch);
		if (w == WORK_STOP)
			break;
		if (w == WORK_REOPEN) {
			reopen_log();
			work_done(COMMIT_NONE, 0);
		} else if (w == WORK_OWED) {
			write_owed(sc.logbuf, sc.cap);
			work_done(COMMIT_NONE, 0);
		} else {
			uint64_t t = mono_ns();
			work_done(process_batch(batch, &sc), t);
		}
	}
	free(sc.arr);
	free(sc.oks);
	free(sc.json);
	free(sc.logbuf);
	return NULL;
}

bool audit_try_direct(struct audit_item *it)
{
	pthread_mutex_lock(&g_lock);
	bool mine = !g_busy && !g_head && !g_stop && !g_lingering;
	if (mine) {
		g_busy = true;
		g_last_batch = 1;
	}
	pthread_mutex_unlock(&g_lock);
	if (!mine)
		return false;
	struct audit_entry e;
	bool ok;
	struct json_copy json[2];
	char logbuf[AUDIT_DIRECT_LOG_BYTES];
	struct scratch sc = {
	    .arr = &e, .oks = &ok, .json = json, .logbuf = logbuf, .cap = sizeof(logbuf)};
	it->next = NULL;
	it->chained = false;
	it->direct = true;
	uint64_t t = mono_ns();
	work_done(process_batch(it, &sc), t);
	return true;
}

void audit_answered(struct audit_item *it)
{
	if (!it->has_late_line)
		return;
	it->has_late_line = false;
	logline_emit(&it->late_line);
}

int audit_start(struct vaultd *vd)
{
	g_vd = vd;
	if (vd->cfg.audit_log_path) {
		int fd = open_log(vd->cfg.audit_log_path);
		if (fd < 0)
			return fd;
		g_fd = fd;
	}
	int rc = bgjob_start(&g_sync, false);
	if (rc == 0 && (rc = bgthread_start(&g_bg, writer_main, NULL)) < 0)
		bgjob_stop(&g_sync);
	if (rc < 0) {
		if (g_fd >= 0)
			close(g_fd);
		g_fd = -1;
	}
	return rc;
}

void audit_stop(void)
{
	if (!g_bg.running)
		return;
	bgthread_stop(&g_bg);
	bgjob_stop(&g_sync); /* after the writer: it asks for the last fsync as it stops */
	if (g_fd >= 0)
		close(g_fd);
	g_fd = -1;
	free(g_kept); /* stopped while sealed: the log lines are their record */
	g_kept = NULL;
	g_nkept = 0;
}
