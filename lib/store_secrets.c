/* Secrets in the store: put (single, batch, check-and-set), rollback,
 * delete/undelete, destroy, stages and pruning of old versions; reads of
 * values, metadata, lists and history; the store revision. */
#include "store.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "store_private.h"

/* ---- records ---- */

void secret_meta_clear(struct secret_meta *m)
{
	if (!m)
		return;
	free(m->description);
	free(m->labels_json);
	m->description = NULL;
	m->labels_json = NULL;
}

void secret_meta_list_free(struct secret_meta_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		secret_meta_clear(&l->items[i]);
	free(l->items);
	free(l);
}

void secret_value_clear(struct secret_value *v)
{
	if (!v)
		return;
	secbuf_free(v->value);
	v->value = NULL;
}

void secret_version_list_free(struct secret_version_list *l)
{
	if (!l)
		return;
	free(l->items);
	free(l);
}

/* ---- helpers ---- */

/* A list prefix uses only name characters (the backend relies on it). */
static bool prefix_ok(const char *p)
{
	if (strnlen(p, VAULT_MAX_NAME_LEN + 1) > VAULT_MAX_NAME_LEN)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static void revision_seen(struct store *s, uint64_t rev)
{
	uint64_t cur = atomic_load(&s->revision);
	/* Commits are serialised but their callers race to publish: keep max. */
	while (cur < rev && !atomic_compare_exchange_weak(&s->revision, &cur, rev))
		;
}

/* Every change to a secret bumps the store revision in the same
 * transaction; *ret_rev is the new value. */
static int bump_revision(struct store *s, struct be_tx *tx, uint64_t *ret_rev)
{
	struct be_header h;
	int r = s->ops->header_get(tx, &h);
	if (r < 0)
		return r;
	h.revision++;
	r = s->ops->header_put(tx, &h);
	if (r < 0)
		return r;
	*ret_rev = h.revision;
	return 0;
}

/* ---- writes ---- */

static int meta_update_ok(const struct secret_meta_update *u)
{
	if (!u)
		return 0;
	if (u->description &&
	    strnlen(u->description, STORE_DESCRIPTION_MAX + 1) > STORE_DESCRIPTION_MAX)
		return STORE_E_INVAL;
	if (u->labels_json) {
		json_t *o;
		size_t len = strnlen(u->labels_json, STORE_LABELS_MAX + 1);
		if (len > STORE_LABELS_MAX ||
		    jsonx_parse_object(u->labels_json, len, STORE_LABELS_MAX, &o, NULL, 0) < 0)
			return STORE_E_INVAL;
		json_decref(o);
	}
	if (u->rotation_period < -1)
		return STORE_E_INVAL;
	if (u->max_versions != -1 &&
	    (u->max_versions < 1 || u->max_versions > STORE_MAX_VERSIONS_LIMIT))
		return STORE_E_INVAL;
	return 0;
}

static int replace_str(char **dst, const char *src)
{
	char *p = strdup(src);
	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

static int meta_apply(struct secret_meta *m, const struct secret_meta_update *u)
{
	int r = 0;
	if (u->description)
		r = replace_str(&m->description, u->description);
	if (r == 0 && u->labels_json)
		r = replace_str(&m->labels_json, u->labels_json);
	if (u->rotation_period >= 0)
		m->rotation_period = u->rotation_period;
	if (u->max_versions >= 1)
		m->max_versions = (uint32_t)u->max_versions;
	return r;
}

static int secret_init(struct be_secret *sec, const char *name, const char *actor, int64_t now)
{
	memset(sec, 0, sizeof(*sec));
	copy_text(sec->meta.name, sizeof(sec->meta.name), name);
	copy_text(sec->meta.created_by, sizeof(sec->meta.created_by), actor);
	sec->meta.created = now;
	sec->meta.max_versions = STORE_DEFAULT_MAX_VERSIONS;
	sec->meta.description = strdup("");
	sec->meta.labels_json = strdup("{}");
	if (!sec->meta.description || !sec->meta.labels_json) {
		secret_meta_clear(&sec->meta);
		return -ENOMEM;
	}
	return 0;
}

/* Drops the oldest versions beyond max_versions; current and previous are
 * never dropped, even if that keeps more than max_versions. */
static int prune(struct store *s, struct be_tx *tx, const struct secret_meta *m, uint64_t count)
{
	if (count <= m->max_versions)
		return 0;
	struct be_version *vs;
	size_t n;
	int r = s->ops->version_list(tx, m->name, &vs, &n);
	if (r < 0)
		return r;
	uint64_t excess = n > m->max_versions ? n - m->max_versions : 0;
	for (size_t i = 0; r == 0 && excess > 0 && i < n; i++) {
		uint64_t v = vs[i].version;
		if (v == m->current_version || v == m->previous_version)
			continue;
		r = s->ops->version_delete(tx, m->name, v);
		excess--;
	}
	free(vs);
	return r;
}

struct put_args {
	const char *name;
	const uint8_t *value;
	size_t len;
	int64_t cas;
	const struct secret_meta_update *meta;
	const char *actor;
};

/* cas 0 asks for "no current version": never written, deleted, or every
 * version destroyed (its metadata then shows current_version 0 too). */
static int cas_check(const struct be_secret *sec, bool exists, int64_t cas)
{
	bool live = exists && !sec->meta.deleted && sec->meta.current_version != 0;
	if (cas == 0 && live)
		return STORE_E_CONFLICT;
	if (cas > 0 && (!live || sec->meta.current_version != (uint64_t)cas))
		return STORE_E_CONFLICT;
	return 0;
}

/* One new version inside tx: it becomes current, the old current previous. */
static int put_one(struct store *s, struct be_tx *tx, const struct put_args *a, uint64_t rev,
                   int64_t now, uint64_t *ret_version)
{
	struct be_secret sec = {0};
	int r = s->ops->secret_get(tx, a->name, &sec);
	bool exists = r == 0;
	if (r == STORE_E_NOTFOUND)
		r = secret_init(&sec, a->name, a->actor, now);
	if (r == 0)
		r = cas_check(&sec, exists, a->cas);
	if (r == 0 && a->meta)
		r = meta_apply(&sec.meta, a->meta);
	struct be_version v = {.version = sec.latest_version + 1, .created = now};
	copy_text(v.created_by, sizeof(v.created_by), a->actor);
	if (r == 0)
		r = store_seal_into(s, a->name, &v, a->value, a->len);
	if (r == 0) {
		struct secret_meta *m = &sec.meta;
		m->previous_version = m->current_version;
		m->current_version = v.version;
		m->revision = rev;
		m->updated = now;
		copy_text(m->updated_by, sizeof(m->updated_by), a->actor);
		m->deleted = false;
		sec.latest_version = v.version;
		r = s->ops->secret_put(tx, &sec);
	}
	if (r == 0)
		r = s->ops->version_put(tx, a->name, &v);
	if (r == 0)
		r = prune(s, tx, &sec.meta, sec.meta.versions + 1);
	if (r == 0 && ret_version)
		*ret_version = v.version;
	be_version_clear(&v);
	secret_meta_clear(&sec.meta);
	return r;
}

static int put_args_ok(const struct put_args *a)
{
	if (!name_is_valid_str(a->name) || (!a->value && a->len > 0) || a->cas < -1)
		return STORE_E_INVAL;
	if (a->len > VAULT_MAX_VALUE_BYTES)
		return STORE_E_TOOBIG;
	return meta_update_ok(a->meta);
}

struct put_ctx {
	const struct put_args *items;
	size_t n;
	struct audit_entry *audit; /* NULL, or a copy to chain in the same transaction */
	uint64_t version;          /* of the last item */
	uint64_t revision;
};

static int put_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct put_ctx *c = ctx;
	int64_t now = now_s();
	int r = bump_revision(s, tx, &c->revision);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		r = put_one(s, tx, &c->items[i], c->revision, now, &c->version);
	if (r == 0 && c->audit)
		r = store_audit_append_tx(s, tx, c->audit, 1);
	return r;
}

static int run_put(struct store *s, const struct put_args *items, size_t n,
                   struct audit_entry *audit, uint64_t *ret_version)
{
	struct audit_entry copy;
	struct put_ctx c = {.items = items, .n = n, .audit = audit ? &copy : NULL};
	if (audit)
		copy = *audit;
	int r = store_run_grouped(s, put_body, &c);
	if (r < 0)
		return r;
	revision_seen(s, c.revision);
	if (audit)
		*audit = copy;
	if (ret_version)
		*ret_version = c.version;
	return 0;
}

int store_put(struct store *s, const char *name, const uint8_t *value, size_t len, int64_t cas,
              const struct secret_meta_update *meta, const char *actor, uint64_t *ret_version)
{
	return store_put_audited(s, name, value, len, cas, meta, actor, NULL, ret_version);
}

int store_put_audited(struct store *s, const char *name, const uint8_t *value, size_t len,
                      int64_t cas, const struct secret_meta_update *meta, const char *actor,
                      struct audit_entry *audit, uint64_t *ret_version)
{
	struct put_args a = {.name = name, .value = value, .len = len, .cas = cas, .meta = meta};
	if (!s || text_ok(actor, STORE_ACTOR_MAX, &a.actor) < 0)
		return STORE_E_INVAL;
	if (audit && !store_audit_entry_ok(audit))
		return STORE_E_INVAL;
	int r = put_args_ok(&a);
	return r < 0 ? r : run_put(s, &a, 1, audit, ret_version);
}

int store_put_batch(struct store *s, const struct store_put_item *items, size_t n,
                    const char *actor)
{
	if (!s || (!items && n > 0) || text_ok(actor, STORE_ACTOR_MAX, &actor) < 0)
		return STORE_E_INVAL;
	if (n == 0)
		return 0;
	struct put_args *a = calloc(n, sizeof(*a));
	if (!a)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		a[i] = (struct put_args){.name = items[i].name,
		                         .value = items[i].value,
		                         .len = items[i].len,
		                         .cas = -1,
		                         .actor = actor};
		r = put_args_ok(&a[i]);
	}
	if (r == 0)
		r = run_put(s, a, n, NULL, NULL);
	free(a);
	return r;
}

struct rollback_ctx {
	const char *name;
	uint64_t version;
	const char *actor;
	uint64_t new_version;
	uint64_t revision;
};

static int rollback_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct rollback_ctx *c = ctx;
	struct be_secret sec;
	int r = s->ops->secret_get(tx, c->name, &sec);
	if (r < 0)
		return r;
	bool deleted = sec.meta.deleted;
	secret_meta_clear(&sec.meta);
	if (deleted)
		return STORE_E_NOTFOUND;
	struct be_version v;
	r = s->ops->version_get(tx, c->name, c->version, &v);
	if (r < 0)
		return r;
	struct secbuf *pt = NULL;
	r = v.destroyed ? STORE_E_DESTROYED : store_open_version(s, c->name, &v, &pt);
	be_version_clear(&v);
	if (r == 0)
		r = bump_revision(s, tx, &c->revision);
	if (r == 0) {
		struct put_args a = {.name = c->name,
		                     .value = pt->data,
		                     .len = pt->len,
		                     .cas = -1,
		                     .actor = c->actor};
		r = put_one(s, tx, &a, c->revision, now_s(), &c->new_version);
	}
	secbuf_free(pt);
	return r;
}

int store_rollback(struct store *s, const char *name, uint64_t version, const char *actor,
                   uint64_t *ret_version)
{
	return store_rollback_audited(s, name, version, actor, NULL, ret_version);
}

int store_rollback_audited(struct store *s, const char *name, uint64_t version,
                           const char *actor, struct audit_entry *audit, uint64_t *ret_version)
{
	struct rollback_ctx c = {.name = name, .version = version};
	if (!s || !name_is_valid_str(name) || version == 0 ||
	    text_ok(actor, STORE_ACTOR_MAX, &c.actor) < 0)
		return STORE_E_INVAL;
	int r = store_run_audited_tx(s, rollback_body, &c, audit);
	if (r < 0)
		return r;
	revision_seen(s, c.revision);
	if (ret_version)
		*ret_version = c.new_version;
	return 0;
}

enum flag_op { OP_DELETE, OP_UNDELETE };

struct flag_ctx {
	const char *name;
	const char *actor;
	enum flag_op op;
	uint64_t revision; /* 0 when nothing changed */
};

static int flag_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct flag_ctx *c = ctx;
	struct be_secret sec;
	int r = s->ops->secret_get(tx, c->name, &sec);
	if (r < 0)
		return r;
	bool want = c->op == OP_DELETE;
	if (want && sec.meta.deleted)
		r = STORE_E_NOTFOUND;
	else if (sec.meta.deleted != want) {
		r = bump_revision(s, tx, &c->revision);
		sec.meta.deleted = want;
		sec.meta.revision = c->revision;
		sec.meta.updated = now_s();
		copy_text(sec.meta.updated_by, sizeof(sec.meta.updated_by), c->actor);
		if (r == 0)
			r = s->ops->secret_put(tx, &sec);
	}
	secret_meta_clear(&sec.meta);
	return r;
}

static int run_flag(struct store *s, const char *name, const char *actor, enum flag_op op,
                    struct audit_entry *audit)
{
	struct flag_ctx c = {.name = name, .op = op};
	if (!s || !name_is_valid_str(name) || text_ok(actor, STORE_ACTOR_MAX, &c.actor) < 0)
		return STORE_E_INVAL;
	int r = store_run_audited_tx(s, flag_body, &c, audit);
	if (r == 0)
		revision_seen(s, c.revision);
	return r;
}

int store_delete(struct store *s, const char *name, const char *actor)
{
	return run_flag(s, name, actor, OP_DELETE, NULL);
}

int store_delete_audited(struct store *s, const char *name, const char *actor,
                         struct audit_entry *audit)
{
	return run_flag(s, name, actor, OP_DELETE, audit);
}

int store_undelete(struct store *s, const char *name, const char *actor)
{
	return run_flag(s, name, actor, OP_UNDELETE, NULL);
}

int store_undelete_audited(struct store *s, const char *name, const char *actor,
                           struct audit_entry *audit)
{
	return run_flag(s, name, actor, OP_UNDELETE, audit);
}

struct destroy_ctx {
	const char *name;
	uint64_t version; /* 0 = all */
	const char *actor;
	uint64_t revision; /* 0 when nothing changed */
};

/* Wipes the matching versions' blobs; *ret_changed counts the wiped ones and
 * *ret_left the versions that still hold a value. */
static int wipe_versions(struct store *s, struct be_tx *tx, const struct destroy_ctx *c,
                         size_t *ret_changed, size_t *ret_left)
{
	struct be_version *vs;
	size_t n, changed = 0, left = 0;
	int r = s->ops->version_list(tx, c->name, &vs, &n);
	if (r < 0)
		return r;
	bool found = c->version == 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		bool match = c->version == 0 || vs[i].version == c->version;
		found |= match;
		if (match && !vs[i].destroyed) {
			vs[i].destroyed = true;
			r = s->ops->version_put(tx, c->name, &vs[i]);
			changed++;
		}
		left += !vs[i].destroyed;
	}
	free(vs);
	if (r == 0 && !found)
		r = STORE_E_NOTFOUND;
	if (r < 0)
		return r;
	*ret_changed = changed;
	*ret_left = left;
	return 0;
}

static int destroy_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct destroy_ctx *c = ctx;
	struct be_secret sec;
	int r = s->ops->secret_get(tx, c->name, &sec);
	if (r < 0)
		return r;
	size_t changed = 0, left = 0;
	r = wipe_versions(s, tx, c, &changed, &left);
	if (r == 0 && changed > 0) {
		r = bump_revision(s, tx, &c->revision);
		if (left == 0)
			sec.meta.current_version = sec.meta.previous_version = 0;
		sec.meta.revision = c->revision;
		sec.meta.updated = now_s();
		copy_text(sec.meta.updated_by, sizeof(sec.meta.updated_by), c->actor);
		if (r == 0)
			r = s->ops->secret_put(tx, &sec);
	}
	secret_meta_clear(&sec.meta);
	return r;
}

int store_destroy(struct store *s, const char *name, uint64_t version, const char *actor)
{
	return store_destroy_audited(s, name, version, actor, NULL);
}

int store_destroy_audited(struct store *s, const char *name, uint64_t version,
                          const char *actor, struct audit_entry *audit)
{
	struct destroy_ctx c = {.name = name, .version = version};
	if (!s || !name_is_valid_str(name) || text_ok(actor, STORE_ACTOR_MAX, &c.actor) < 0)
		return STORE_E_INVAL;
	int r = store_run_audited_tx(s, destroy_body, &c, audit);
	store_cache_evict(s->cache, name); /* stale already; its bytes must go too */
	if (r < 0)
		return r;
	revision_seen(s, c.revision);
	/* The rows no longer hold the blob; older page images may (WAL). */
	return s->ops->purge_residue(s->be, true);
}

uint64_t store_revision(struct store *s)
{
	return s ? atomic_load(&s->revision) : 0;
}

uint64_t store_cache_hit_count(struct store *s)
{
	return s ? store_cache_hits(s->cache) : 0;
}

/* ---- reads ---- */

struct get_ctx {
	const char *name;
	enum secret_stage stage;
	uint64_t version;
	struct be_version v;
};

static int get_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct get_ctx *c = ctx;
	int r = s->ops->value_get(tx, c->name, c->stage, c->version, &c->v);
	if (r == STORE_E_NOTFOUND && c->stage == STAGE_CURRENT) {
		/* current is 0 once every version was destroyed */
		struct be_secret sec;
		if (s->ops->secret_get(tx, c->name, &sec) == 0) {
			if (!sec.meta.deleted && sec.latest_version > 0)
				r = STORE_E_DESTROYED;
			secret_meta_clear(&sec.meta);
		}
	}
	if (r == 0 && c->v.destroyed) {
		be_version_clear(&c->v);
		r = STORE_E_DESTROYED;
	}
	return r;
}

int store_get(struct store *s, const char *name, enum secret_stage stage, uint64_t version,
              struct secret_value *ret)
{
	if (!s || !ret || !name_is_valid_str(name) ||
	    (stage != STAGE_CURRENT && stage != STAGE_PREVIOUS && stage != STAGE_VERSION) ||
	    (stage == STAGE_VERSION && version == 0))
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct get_ctx c = {.name = name, .stage = stage, .version = version};
	if (stage == STAGE_CURRENT && store_cache_get(s->cache, name, &c.v, NULL)) {
		store_cache_count_hit(s->cache);
		r = 0;
	} else {
		uint64_t gen = store_cache_gen(s->cache); /* before the snapshot */
		r = store_run_tx(s, false, get_body, &c);
		if (r == 0 && stage == STAGE_CURRENT)
			store_cache_put(s->cache, name, &c.v, gen);
	}
	struct secbuf *pt = NULL;
	if (r == 0)
		r = store_open_version(s, name, &c.v, &pt);
	keys_release(s);
	if (r == 0)
		*ret = (struct secret_value){
		    .version = c.v.version, .created = c.v.created, .value = pt};
	be_version_clear(&c.v);
	return r;
}

struct many_ctx {
	const char *const *names;
	size_t n;
	struct be_version *cur, *prev; /* prev NULL when not wanted */
	bool *missing;
	size_t nmissing;
};

static void many_free(struct many_ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		be_version_clear(&c->cur[i]);
		if (c->prev)
			be_version_clear(&c->prev[i]);
	}
}

static int many_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct many_ctx *c = ctx;
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->n; i++) {
		r = s->ops->value_get(tx, c->names[i], STAGE_CURRENT, 0, &c->cur[i]);
		if (r == STORE_E_NOTFOUND || (r == 0 && c->cur[i].destroyed)) {
			be_version_clear(&c->cur[i]);
			memset(&c->cur[i], 0, sizeof(c->cur[i]));
			c->missing[i] = true;
			c->nmissing++;
			r = 0;
			continue;
		}
		if (r == 0 && c->prev) {
			r = s->ops->value_get(tx, c->names[i], STAGE_PREVIOUS, 0, &c->prev[i]);
			if (r == STORE_E_NOTFOUND || (r == 0 && c->prev[i].destroyed)) {
				be_version_clear(&c->prev[i]);
				memset(&c->prev[i], 0, sizeof(c->prev[i])); /* version 0: none */
				r = 0;
			}
		}
	}
	return r;
}

/* Opens a record into out; version 0 (no previous) gives an empty value. */
static int many_open(struct store *s, const char *name, const struct be_version *v,
                     struct secret_value *out)
{
	struct secbuf *pt = NULL;
	if (v->version > 0) {
		int r = store_open_version(s, name, v, &pt);
		if (r < 0)
			return r;
	}
	*out = (struct secret_value){.version = v->version, .created = v->created, .value = pt};
	return 0;
}

static int many_open_all(struct store *s, struct many_ctx *c, struct secret_value *ret_cur,
                         struct secret_value *ret_prev)
{
	size_t i;
	int r = 0;
	for (i = 0; r == 0 && i < c->n; i++) {
		r = many_open(s, c->names[i], &c->cur[i], &ret_cur[i]);
		if (r == 0 && ret_prev) {
			r = many_open(s, c->names[i], &c->prev[i], &ret_prev[i]);
			if (r < 0)
				secret_value_clear(&ret_cur[i]);
		}
	}
	if (r < 0)
		for (size_t j = 0; j + 1 < i; j++) {
			secret_value_clear(&ret_cur[j]);
			if (ret_prev)
				secret_value_clear(&ret_prev[j]);
		}
	return r;
}

/* Every current version from the cache, all of one generation (so of one
 * state of the store, as one snapshot would give), or none of them. */
static bool many_from_cache(struct store *s, struct many_ctx *c)
{
	uint64_t g0 = 0, g = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (!store_cache_get(s->cache, c->names[i], &c->cur[i], &g) || (i > 0 && g != g0)) {
			for (size_t j = 0; j <= i; j++) {
				be_version_clear(&c->cur[j]);
				memset(&c->cur[j], 0, sizeof(c->cur[j]));
			}
			return false;
		}
		g0 = g;
	}
	store_cache_count_hit(s->cache);
	return true;
}

static void many_to_cache(struct store *s, const struct many_ctx *c, uint64_t gen)
{
	for (size_t i = 0; i < c->n; i++)
		if (!c->missing[i])
			store_cache_put(s->cache, c->names[i], &c->cur[i], gen);
}

int store_get_many(struct store *s, const char *const *names, size_t n,
                   struct secret_value *ret_cur, struct secret_value *ret_prev, bool *missing)
{
	if (!s || (n > 0 && (!names || !ret_cur)))
		return STORE_E_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!name_is_valid_str(names[i]))
			return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	struct many_ctx c = {.names = names, .n = n};
	c.cur = calloc(n ? n : 1, sizeof(*c.cur));
	c.prev = ret_prev ? calloc(n ? n : 1, sizeof(*c.prev)) : NULL;
	c.missing = calloc(n ? n : 1, sizeof(*c.missing));
	if (!c.cur || !c.missing || (ret_prev && !c.prev))
		r = -ENOMEM;
	/* With previous versions wanted, the store answers (they are not cached). */
	if (r == 0 && (ret_prev || n == 0 || !many_from_cache(s, &c))) {
		uint64_t gen = store_cache_gen(s->cache); /* before the snapshot */
		r = store_run_tx(s, false, many_body, &c);
		if (r == 0 && !ret_prev)
			many_to_cache(s, &c, gen);
	}
	if (r == 0 && c.nmissing > 0) {
		if (missing)
			memcpy(missing, c.missing, n * sizeof(*missing));
		r = STORE_E_NOTFOUND;
	}
	if (r == 0)
		r = many_open_all(s, &c, ret_cur, ret_prev);
	keys_release(s);
	if (c.cur)
		many_free(&c);
	free(c.cur);
	free(c.prev);
	free(c.missing);
	return r;
}

struct meta_ctx {
	const char *name;
	struct be_secret sec;
};

static int meta_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct meta_ctx *c = ctx;
	return s->ops->secret_get(tx, c->name, &c->sec);
}

int store_meta_get(struct store *s, const char *name, struct secret_meta *ret)
{
	if (!s || !ret || !name_is_valid_str(name))
		return STORE_E_INVAL;
	struct meta_ctx c = {.name = name};
	int r = store_run_keyed_tx(s, false, meta_body, &c);
	if (r == 0)
		*ret = c.sec.meta;
	return r;
}

struct list_ctx {
	const char *prefix;
	bool include_deleted;
	struct secret_meta_list *l;
};

static int list_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct list_ctx *c = ctx;
	return s->ops->secret_list(tx, c->prefix, c->include_deleted, &c->l);
}

int store_list(struct store *s, const char *prefix, bool include_deleted,
               struct secret_meta_list **ret)
{
	if (!prefix)
		prefix = "";
	if (!s || !ret || !prefix_ok(prefix))
		return STORE_E_INVAL;
	struct list_ctx c = {.prefix = prefix, .include_deleted = include_deleted};
	int r = store_run_keyed_tx(s, false, list_body, &c);
	if (r == 0)
		*ret = c.l;
	return r;
}

struct history_ctx {
	const char *name;
	struct be_secret sec;
	struct be_version *vs;
	size_t n;
};

static int history_body(struct store *s, struct be_tx *tx, void *ctx)
{
	struct history_ctx *c = ctx;
	int r = s->ops->secret_get(tx, c->name, &c->sec);
	if (r < 0)
		return r;
	r = s->ops->version_list(tx, c->name, &c->vs, &c->n);
	if (r < 0)
		secret_meta_clear(&c->sec.meta);
	return r;
}

int store_history(struct store *s, const char *name, struct secret_version_list **ret)
{
	if (!s || !ret || !name_is_valid_str(name))
		return STORE_E_INVAL;
	struct history_ctx c = {.name = name};
	int r = store_run_keyed_tx(s, false, history_body, &c);
	if (r < 0)
		return r;
	struct secret_version_list *l = calloc(1, sizeof(*l));
	if (l)
		l->items = calloc(c.n ? c.n : 1, sizeof(*l->items));
	if (!l || !l->items) {
		free(l);
		r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < c.n; i++) {
		struct secret_version *o = &l->items[i];
		const struct be_version *v = &c.vs[i];
		o->version = v->version;
		o->created = v->created;
		copy_text(o->created_by, sizeof(o->created_by), v->created_by);
		o->key_id = v->key_id;
		o->destroyed = v->destroyed;
		o->stage = v->version == c.sec.meta.current_version    ? "current"
		           : v->version == c.sec.meta.previous_version ? "previous"
		                                                       : NULL;
	}
	secret_meta_clear(&c.sec.meta);
	free(c.vs);
	if (r < 0)
		return r;
	l->n = c.n;
	*ret = l;
	return 0;
}

static int count_body(struct store *s, struct be_tx *tx, void *ctx)
{
	return s->ops->secret_count(tx, ctx);
}

int store_count(struct store *s, uint64_t *ret)
{
	if (!s || !ret)
		return STORE_E_INVAL;
	int r = keys_acquire(s);
	if (r < 0)
		return r;
	uint64_t n;
	r = store_run_tx(s, false, count_body, &n);
	keys_release(s);
	if (r == 0)
		*ret = n;
	return r;
}
