/* Tokens in the store: keyed hashes, lookup with use counting, expiry and
 * revocation. Only hashes are stored; the accessor names a token. */
#include "store.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"

/* ---- records ---- */

void store_token_clear(struct store_token *t)
{
	if (!t)
		return;
	free(t->policies_json);
	t->policies_json = NULL;
}

void store_token_list_free(struct store_token_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		store_token_clear(&l->items[i]);
	free(l->items);
	free(l);
}

/* Token accessors: 1..AUDIT_ACCESSOR_MAX-1 characters of [A-Za-z0-9._-]. */
static bool accessor_ok(const char *a)
{
	if (!a || !*a || strnlen(a, AUDIT_ACCESSOR_MAX) >= AUDIT_ACCESSOR_MAX)
		return false;
	for (const char *p = a; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* ---- tokens ---- */

int store_token_hash(struct store *s, const char *token, size_t len, uint8_t out[TOKEN_HASH_BYTES])
{
	if (!s || !token || !out || len == 0 || len > STORE_TOKEN_MAX)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	crypto_generichash(out, TOKEN_HASH_BYTES, (const uint8_t *)token, len, s->token_key->data,
	                   s->token_key->len);
	keys_release(s);
	return 0;
}

static int token_ok(const struct store_token *t)
{
	if (!t || !accessor_ok(t->accessor) || !t->policies_json ||
	    strnlen(t->policies_json, STORE_POLICY_MAX + 1) > STORE_POLICY_MAX ||
	    t->uses_left < -1 || t->expires < 0 ||
	    strnlen(t->created_by, STORE_ACTOR_MAX) >= STORE_ACTOR_MAX)
		return STORE_E_INVAL;
	return 0;
}

static int token_put_body(struct store *s, struct be_tx *tx, void *ctx)
{
	return s->ops->token_put(tx, ctx);
}

int store_token_put(struct store *s, const struct store_token *t)
{
	return store_token_put_audited(s, t, NULL);
}

int store_token_put_audited(struct store *s, const struct store_token *t,
                            struct audit_entry *audit)
{
	if (!s || token_ok(t) < 0)
		return STORE_E_INVAL;
	return store_run_audited_tx(s, token_put_body, (void *)t, audit);
}

struct token_ctx {
	const uint8_t *hash;
	const char *accessor;
	int64_t now;
	struct store_token t;
	bool loaded;
};

static void token_ctx_reset(struct token_ctx *c)
{
	if (c->loaded)
		store_token_clear(&c->t);
	c->loaded = false;
}

/* The index lookup by hash is not constant time, but the hash is keyed:
 * its timing tells nothing about a token. The stored hash is still compared
 * in constant time before anything is decided. */
static int token_check(struct token_ctx *c)
{
	if (sodium_memcmp(c->t.hash, c->hash, TOKEN_HASH_BYTES) != 0)
		return STORE_E_NOTFOUND;
	if (c->t.revoked)
		return STORE_E_REVOKED;
	if ((c->t.expires != 0 && c->now >= c->t.expires) || c->t.uses_left == 0)
		return STORE_E_EXPIRED;
	return 0;
}

static int token_find_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct token_ctx *c = ctx;
	token_ctx_reset(c);
	int r = s->ops->token_find(tx, c->hash, &c->t);
	c->loaded = r == 0;
	return r < 0 ? r : token_check(c);
}

static int token_use_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct token_ctx *c = ctx;
	int r = token_find_body(s, tx, c); /* again, under the write lock */
	if (r == 0 && c->t.uses_left > 0) {
		c->t.uses_left--;
		r = s->ops->token_update(tx, &c->t);
	}
	return r;
}

int store_token_consume(struct store *s, const uint8_t hash[TOKEN_HASH_BYTES], int64_t now,
                        struct store_token *ret)
{
	if (!s || !hash || !ret)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct token_ctx c = {.hash = hash, .now = now};
	/* Unlimited tokens are only read: the common path stays a cheap read. */
	r = store_run_tx(s, false, token_find_body, &c);
	if (r == 0 && c.t.uses_left > 0)
		r = store_run_tx(s, true, token_use_body, &c);
	keys_release(s);
	if (r == 0) {
		*ret = c.t;
		c.loaded = false;
	} else if ((r == STORE_E_REVOKED || r == STORE_E_EXPIRED) && c.loaded) {
		memset(ret, 0, sizeof(*ret)); /* the accessor alone, for the audit */
		memcpy(ret->accessor, c.t.accessor, sizeof(ret->accessor));
	}
	token_ctx_reset(&c);
	return r;
}

static int token_get_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct token_ctx *c = ctx;
	token_ctx_reset(c);
	int r = s->ops->token_get(tx, c->accessor, &c->t);
	c->loaded = r == 0;
	return r;
}

int store_token_get(struct store *s, const char *accessor, struct store_token *ret)
{
	if (!s || !ret || !accessor_ok(accessor))
		return STORE_E_INVAL;
	struct token_ctx c = {.accessor = accessor};
	int r = store_run_keyed_tx(s, false, token_get_body, &c);
	if (r == 0) {
		*ret = c.t;
		c.loaded = false;
	}
	token_ctx_reset(&c);
	return r;
}

static int token_list_body(struct store *s, struct be_tx *tx, void *ctx)
{
	return s->ops->token_list(tx, ctx);
}

int store_token_list(struct store *s, struct store_token_list **ret)
{
	if (!s || !ret)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct store_token_list *l = NULL;
	r = store_run_tx(s, false, token_list_body, &l);
	keys_release(s);
	if (r == 0)
		*ret = l;
	return r;
}

static int token_revoke_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct token_ctx *c = ctx;
	int r = token_get_body(s, tx, c);
	if (r == 0 && !c->t.revoked) {
		c->t.revoked = true;
		r = s->ops->token_update(tx, &c->t);
	}
	return r;
}

int store_token_revoke(struct store *s, const char *accessor)
{
	return store_token_revoke_audited(s, accessor, NULL);
}

int store_token_revoke_audited(struct store *s, const char *accessor, struct audit_entry *audit)
{
	if (!s || !accessor_ok(accessor))
		return STORE_E_INVAL;
	struct token_ctx c = {.accessor = accessor};
	int r = store_run_audited_tx(s, token_revoke_body, &c, audit);
	token_ctx_reset(&c);
	return r;
}
