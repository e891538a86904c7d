/* The audit log in the store: appending records to the hash chain, reading
 * them back, verifying the chain, and the keyed MAC of its head that makes
 * a cut tail detectable (layout in docs/security.md "Audit head"). */
#include "store.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"

#define AUDIT_VERIFY_CHUNK 1024 /* entries read per step of store_audit_verify */
#define AUDIT_HEAD_CONTEXT "vaultd/audit-head/v1"

/* Keyed MAC over the audit head, so a log whose tail was cut cannot be
 * passed off as complete by rewriting the head to an earlier entry. */
void store_audit_head_tag(const struct secbuf *key, uint64_t seq,
                          const uint8_t hash[AUDIT_HASH_BYTES], uint8_t out[AUDIT_HASH_BYTES])
{
	crypto_generichash_state st;
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(seq >> (56 - 8 * i));
	crypto_generichash_init(&st, key->data, key->len, AUDIT_HASH_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)AUDIT_HEAD_CONTEXT,
	                          sizeof(AUDIT_HEAD_CONTEXT) - 1);
	crypto_generichash_update(&st, be, sizeof(be));
	crypto_generichash_update(&st, hash, AUDIT_HASH_BYTES);
	crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

/* ---- append, read, verify ---- */

struct audit_ctx {
	struct audit_entry *e; /* a copy: the caller's entries change only on success */
	size_t n;
};

int store_audit_append_tx(struct store *s, struct be_tx *tx, struct audit_entry *e, size_t n)
{
	struct be_header h;
	int r = s->ops->header_get(tx, &h);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		e[i].seq = h.audit_seq + 1 + i;
		memcpy(e[i].prev_hash, i == 0 ? h.audit_hash : e[i - 1].hash, AUDIT_HASH_BYTES);
		audit_chain_hash(s->audit_key, &e[i], e[i].hash);
	}
	r = s->ops->audit_insert(tx, e, n);
	if (r < 0)
		return r;
	h.audit_seq = e[n - 1].seq;
	memcpy(h.audit_hash, e[n - 1].hash, AUDIT_HASH_BYTES);
	store_audit_head_tag(s->audit_key, h.audit_seq, h.audit_hash, h.audit_tag);
	return s->ops->header_put(tx, &h);
}

static int audit_append_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct audit_ctx *c = ctx;
	return store_audit_append_tx(s, tx, c->e, c->n);
}

bool store_audit_entry_ok(const struct audit_entry *e)
{
	return memchr(e->accessor, '\0', sizeof(e->accessor)) &&
	       memchr(e->action, '\0', sizeof(e->action)) &&
	       memchr(e->name, '\0', sizeof(e->name)) && memchr(e->result, '\0', sizeof(e->result));
}

struct audited_ctx {
	tx_body body;
	void *ctx;
	struct audit_entry *e; /* a copy, or NULL */
};

static int audited_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct audited_ctx *c = ctx;
	int r = c->body(s, tx, c->ctx);
	return r < 0 || !c->e ? r : store_audit_append_tx(s, tx, c->e, 1);
}

int store_run_audited_tx(struct store *s, tx_body body, void *ctx, struct audit_entry *audit)
{
	if (audit && !store_audit_entry_ok(audit))
		return STORE_E_INVAL;
	struct audit_entry copy;
	struct audited_ctx c = {.body = body, .ctx = ctx, .e = audit ? &copy : NULL};
	if (audit)
		copy = *audit;
	int r = store_run_keyed_tx(s, true, audited_body, &c);
	if (r == 0 && audit)
		*audit = copy;
	return r;
}

static int audit_append(struct store *s, struct audit_entry *e, size_t n, bool synced)
{
	if (!s || (!e && n > 0))
		return STORE_E_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!store_audit_entry_ok(&e[i]))
			return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	if (n == 0) {
		keys_release(s);
		return 0;
	}
	struct audit_ctx c = {.e = malloc(n * sizeof(*e)), .n = n};
	if (!c.e)
		r = -ENOMEM;
	if (r == 0) {
		memcpy(c.e, e, n * sizeof(*e));
		r = store_run_audit_tx(s, synced, audit_append_body, &c);
	}
	keys_release(s);
	if (r == 0)
		memcpy(e, c.e, n * sizeof(*e));
	free(c.e);
	return r;
}

int store_audit_append(struct store *s, struct audit_entry *e, size_t n)
{
	return audit_append(s, e, n, true);
}

int store_audit_append_unsynced(struct store *s, struct audit_entry *e, size_t n)
{
	return audit_append(s, e, n, false);
}

int store_audit_append_seal(struct store *s, struct audit_entry *e, size_t n)
{
	if (!s || !e || n == 0)
		return STORE_E_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!store_audit_entry_ok(&e[i]))
			return STORE_E_INVAL;
	struct audit_ctx c = {.e = malloc(n * sizeof(*e)), .n = n};
	if (!c.e)
		return -ENOMEM;
	memcpy(c.e, e, n * sizeof(*e));
	/* Exclusive: every write in flight ends first, and those waiting find
	 * the store sealed, so none is chained after the seal's entry. */
	pthread_rwlock_wrlock(&s->keys);
	int r = s->kr ? store_run_audit_tx(s, true, audit_append_body, &c) : STORE_E_SEALED;
	if (r == 0)
		store_seal_locked(s);
	pthread_rwlock_unlock(&s->keys);
	if (r == 0)
		memcpy(e, c.e, n * sizeof(*e));
	free(c.e);
	return r;
}

struct audit_read_ctx {
	uint64_t since;
	size_t limit;
	bool last; /* since counts back from the head instead */
	struct audit_entry *e;
	size_t n;
};

static int audit_read_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct audit_read_ctx *c = ctx;
	if (c->last) {
		struct be_header h;
		int r = s->ops->header_get(tx, &h);
		if (r < 0)
			return r;
		c->since = h.audit_seq > c->limit ? h.audit_seq - c->limit : 0;
	}
	return s->ops->audit_read(tx, c->since, c->limit, &c->e, &c->n);
}

static int read_entries(struct store *s, struct audit_read_ctx *c, struct audit_entry **ret,
                        size_t *ret_n)
{
	if (!s || !ret || !ret_n)
		return STORE_E_INVAL;
	int r = store_run_keyed_tx(s, false, audit_read_body, c);
	if (r == 0) {
		*ret = c->e;
		*ret_n = c->n;
	}
	return r;
}

int store_audit_read(struct store *s, uint64_t since, size_t limit, struct audit_entry **ret,
                     size_t *ret_n)
{
	struct audit_read_ctx c = {.since = since, .limit = limit};
	return read_entries(s, &c, ret, ret_n);
}

int store_audit_read_last(struct store *s, size_t limit, struct audit_entry **ret, size_t *ret_n)
{
	struct audit_read_ctx c = {.limit = limit, .last = true};
	return read_entries(s, &c, ret, ret_n);
}

struct verify_ctx {
	uint64_t checked;
	uint64_t first_bad; /* 0 while intact */
};

/* Where the rows end must be where the MAC'd head says the chain ends. */
static void verify_head(struct store *s, const struct be_header *h, uint64_t last,
                        const uint8_t last_hash[AUDIT_HASH_BYTES], struct verify_ctx *c)
{
	uint8_t tag[AUDIT_HASH_BYTES];
	store_audit_head_tag(s->audit_key, h->audit_seq, h->audit_hash, tag);
	bool tag_ok = sodium_memcmp(tag, h->audit_tag, AUDIT_HASH_BYTES) == 0;
	if (h->audit_seq < last)
		c->first_bad = h->audit_seq + 1; /* rows past the recorded end */
	else if (!tag_ok || h->audit_seq > last)
		c->first_bad = last + 1; /* the tail is gone (or the head was forged) */
	else if (sodium_memcmp(h->audit_hash, last_hash, AUDIT_HASH_BYTES) != 0)
		c->first_bad = last; /* the last row is not the one the head saw */
}

static int audit_verify_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct verify_ctx *c = ctx;
	struct be_header h;
	int r = s->ops->header_get(tx, &h);
	if (r < 0)
		return r;
	uint8_t prev[AUDIT_HASH_BYTES] = {0};
	uint64_t last = 0;
	c->checked = 0;
	c->first_bad = 0;
	for (;;) {
		struct audit_entry *e;
		size_t n;
		r = s->ops->audit_read(tx, last, AUDIT_VERIFY_CHUNK, &e, &n);
		if (r < 0)
			return r;
		uint64_t bad = 0;
		if (n > 0 && audit_chain_verify(s->audit_key, last + 1, prev, e, n, &bad) < 0)
			c->first_bad = bad;
		if (n > 0 && c->first_bad == 0) {
			last = e[n - 1].seq;
			memcpy(prev, e[n - 1].hash, AUDIT_HASH_BYTES);
			c->checked += n;
		}
		free(e);
		if (c->first_bad != 0) {
			c->checked = c->first_bad - 1;
			return 0;
		}
		if (n < AUDIT_VERIFY_CHUNK)
			break;
	}
	verify_head(s, &h, last, prev, c);
	if (c->first_bad != 0 && c->checked >= c->first_bad)
		c->checked = c->first_bad - 1;
	return 0;
}

int store_audit_verify(struct store *s, uint64_t *ret_checked, uint64_t *ret_first_bad)
{
	if (!s)
		return STORE_E_INVAL;
	struct verify_ctx c = {0};
	int r = store_run_keyed_tx(s, false, audit_verify_body, &c);
	if (r < 0)
		return r;
	if (ret_checked)
		*ret_checked = c.checked;
	if (c.first_bad == 0)
		return 0;
	if (ret_first_bad)
		*ret_first_bad = c.first_bad;
	return -EBADMSG;
}
