/* The audit hash chain: hash = BLAKE2b-256 keyed with the audit subkey over
 * "vaultd/audit/v1" || prev_hash || canonical(entry); verification finds the
 * first changed, missing or out-of-order record. Layout: docs/security.md. */
#include "audit_chain.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_CONTEXT "vaultd/audit/v1"

_Static_assert(AUDIT_HASH_BYTES == crypto_generichash_BYTES, "audit hash size");

int64_t audit_time_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void audit_entry_self(struct audit_entry *e, const char *action)
{
	memset(e, 0, sizeof(*e));
	e->time_ms = audit_time_ms();
	e->uid = getuid();
	e->gid = getgid();
	e->pid = getpid();
	snprintf(e->action, sizeof(e->action), "%s", action);
	snprintf(e->result, sizeof(e->result), "%s", "ok");
}

static void hash_be(crypto_generichash_state *st, uint64_t v, size_t n)
{
	uint8_t b[8];
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	crypto_generichash_update(st, b, n);
}

/* u16be(length) || bytes; the length stops at the first NUL or the end of
 * the field, so a field without a terminator is still hashed in bounds. */
static void hash_str(crypto_generichash_state *st, const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	hash_be(st, len, 2);
	crypto_generichash_update(st, (const unsigned char *)s, len);
}

void audit_chain_hash(const struct secbuf *key, const struct audit_entry *e,
                      uint8_t out[AUDIT_HASH_BYTES])
{
	crypto_generichash_state st;
	/* A missing or wrongly sized key is a programming error, never input:
	 * an unkeyed chain would verify anything, so stop here. */
	if (!key || key->len < crypto_generichash_KEYBYTES_MIN ||
	    key->len > crypto_generichash_KEYBYTES_MAX ||
	    crypto_generichash_init(&st, key->data, key->len, AUDIT_HASH_BYTES) != 0)
		abort();
	crypto_generichash_update(&st, (const unsigned char *)AUDIT_CONTEXT,
	                          sizeof(AUDIT_CONTEXT) - 1);
	crypto_generichash_update(&st, e->prev_hash, AUDIT_HASH_BYTES);
	/* canonical(e): the fields in struct order, integers fixed-width
	 * big-endian (signed ones as two's complement), strings u16be-prefixed. */
	hash_be(&st, e->seq, 8);
	hash_be(&st, (uint64_t)e->time_ms, 8);
	hash_be(&st, (uint64_t)e->uid, 8);
	hash_be(&st, (uint64_t)e->gid, 8);
	hash_be(&st, (uint64_t)e->pid, 8);
	hash_str(&st, e->accessor, sizeof(e->accessor));
	hash_str(&st, e->action, sizeof(e->action));
	hash_str(&st, e->name, sizeof(e->name));
	hash_str(&st, e->result, sizeof(e->result));
	hash_be(&st, (uint32_t)(int32_t)e->status, 4);
	crypto_generichash_final(&st, out, AUDIT_HASH_BYTES);
}

int audit_chain_verify(const struct secbuf *key, uint64_t first_seq,
                       const uint8_t expect_prev[AUDIT_HASH_BYTES], const struct audit_entry *e,
                       size_t n, uint64_t *ret_first_bad)
{
	uint8_t prev[AUDIT_HASH_BYTES];
	memcpy(prev, expect_prev, AUDIT_HASH_BYTES);
	for (size_t i = 0; i < n; i++) {
		uint64_t want = first_seq + i;
		uint8_t h[AUDIT_HASH_BYTES];
		audit_chain_hash(key, &e[i], h);
		/* Seq gap or step back = dropped or reordered; prev_hash mismatch =
		 * spliced; hash mismatch = changed. All report position i. */
		if (e[i].seq != want ||
		    sodium_memcmp(e[i].prev_hash, prev, AUDIT_HASH_BYTES) != 0 ||
		    sodium_memcmp(e[i].hash, h, AUDIT_HASH_BYTES) != 0) {
			if (ret_first_bad)
				*ret_first_bad = want;
			return -EBADMSG;
		}
		memcpy(prev, h, AUDIT_HASH_BYTES);
	}
	return 0;
}
