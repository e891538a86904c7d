/* Authentication and authorisation: SO_PEERCRED admins, bearer tokens
 * (only their keyed hash is looked up), and policy decisions. Unlimited-use
 * tokens are cached with their parsed policies; any revoke, policy change
 * or seal invalidates the cache (an epoch keeps a racing insert out). */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "http.h"
#include "log.h"

#define TOKEN_CACHE_BUCKETS 1024u
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5; Debian 12's headers predate it */
#endif

/* A token's policies (at most AUTH_MAX_POLICIES, checked when it is made),
 * or every policy that binds a container's labels (no limit: dropping one
 * could drop a deny rule). */
struct policy_set {
	atomic_int ref;
	size_t n, cap;
	struct policy **p;
};

struct token_entry {
	uint8_t hash[TOKEN_HASH_BYTES];
	char accessor[AUDIT_ACCESSOR_MAX];
	int64_t expires;        /* unix seconds, 0 = never */
	struct policy_set *set; /* one reference held by the cache */
	struct token_entry *next;
};

static struct vaultd *g_vd;
static bool g_containers;                          /* --docker-socket given */
static char g_own_container[CONTAINER_ID_LEN + 1]; /* vaultd's own, if any */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct token_entry *g_buckets[TOKEN_CACHE_BUCKETS];
static size_t g_cached;
/* Bumped by every invalidation; a lookup that started before it must not
 * put what it found into the cache. */
static atomic_uint_fast64_t g_epoch;

/* ---- peers ---- */

/* The container of the process that connected on fd: container_id_of_pid,
 * made sure of where the kernel can (SO_PEERPIDFD, Linux 6.5): the file read
 * was that process's only if it is still there afterwards, since the pid of
 * one that exited may already be another's. -ESRCH when it is gone. */
static int peer_container(int fd, pid_t pid, char out[CONTAINER_ID_LEN + 1])
{
	if (pid <= 0)
		return -ESRCH; /* a peer in a pid namespace vaultd cannot see */
	int pidfd = -1;
	socklen_t len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
		/* Only a kernel without the option (before 6.5) falls back to the
		 * pid alone (docs/api.md); for a reaped peer 6.5-6.15 answer
		 * EINVAL, later ones ESRCH. */
		if (errno != ENOPROTOOPT)
			return -ESRCH;
		pidfd = -1;
	}
	int rc = container_id_of_pid(pid, out);
	if (pidfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno == ESRCH)
			rc = -ESRCH;
		close(pidfd);
	}
	return rc;
}

int peer_from_fd(int fd, struct peer *ret)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	struct peer p = {.pid = uc.pid, .uid = uc.uid, .gid = uc.gid, .known = true};
	socklen_t glen = sizeof(p.groups);
	/* Supplementary groups make --admin-gid work for members; a kernel
	 * without SO_PEERGROUPS (or too many groups) leaves the primary one.
	 * Nothing else looks at them: without --admin-gid, no system call. */
	if (g_vd && g_vd->cfg.n_admin_gids > 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p.groups, &glen) == 0)
		p.n_groups = glen / sizeof(gid_t);
	if (g_containers) {
		int rc = peer_container(fd, p.pid, p.container_id);
		/* A peer in vaultd's own container is local, not a client container. */
		if (rc == 0 && strcmp(p.container_id, g_own_container) != 0)
			p.in_container = true;
		/* Where it runs is unknown (the process is gone, or its pid may
		 * now name another): root in a container must not pass for a
		 * local admin that way. It may still send a token; its
		 * credentials stay in the audit entry. */
		else if (rc < 0 && rc != -ENODATA)
			p.unplaced = true;
	}
	*ret = p;
	return 0;
}

bool peer_is_admin(const struct vaultd *vd, const struct peer *p)
{
	if (!p || !p->known || p->unplaced)
		return false;
	if (p->uid == 0)
		return true;
	for (size_t i = 0; i < vd->cfg.n_admin_uids; i++)
		if (vd->cfg.admin_uids[i] == p->uid)
			return true;
	for (size_t i = 0; i < vd->cfg.n_admin_gids; i++) {
		if (vd->cfg.admin_gids[i] == p->gid)
			return true;
		for (size_t j = 0; j < p->n_groups; j++)
			if (vd->cfg.admin_gids[i] == p->groups[j])
				return true;
	}
	return false;
}

/* ---- policy sets ---- */

static struct policy_set *policy_set_ref(struct policy_set *s)
{
	if (s)
		atomic_fetch_add(&s->ref, 1);
	return s;
}

void policy_set_unref(struct policy_set *s)
{
	if (!s || atomic_fetch_sub(&s->ref, 1) != 1)
		return;
	for (size_t i = 0; i < s->n; i++)
		policy_free(s->p[i]);
	free(s->p);
	free(s);
}

/* Takes p (freed by the caller on failure). */
static int policy_set_add(struct policy_set *s, struct policy *p)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4;
		struct policy **np = realloc(s->p, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		s->p = np;
		s->cap = cap;
	}
	s->p[s->n++] = p;
	return 0;
}

/* Adds the policy called name to s; with labels, only when it binds them.
 * One that does not exist (yet, or any more) grants nothing; one that no
 * longer parses is skipped with a warning; a store that cannot be read
 * fails the whole set. */
static int policy_set_add_named(struct store *st, const char *name, const json_t *labels,
                                struct policy_set *s)
{
	char *doc = NULL;
	int r = store_policy_get(st, name, &doc);
	if (r == STORE_E_NOTFOUND)
		return 0;
	if (r < 0)
		return r;
	struct policy *p = NULL;
	char err[160];
	if (policy_parse(doc, strlen(doc), NULL, &p, err, sizeof(err)) != 0)
		log_msg(LOG_WARN, "policy_unusable", err);
	else if ((!labels || policy_binds_labels(p, labels)) && (r = policy_set_add(s, p)) == 0)
		p = NULL;
	policy_free(p);
	free(doc);
	return r;
}

/* Loads and parses the named policies (see policy_set_add_named). */
static int policy_set_build(struct store *st, const char *policies_json, struct policy_set **ret)
{
	json_t *names = json_loads(policies_json ? policies_json : "[]", 0, NULL);
	if (!json_is_array(names)) {
		json_decref(names);
		return -EINVAL;
	}
	struct policy_set *s = calloc(1, sizeof(*s));
	if (!s) {
		json_decref(names);
		return -ENOMEM;
	}
	atomic_init(&s->ref, 1);
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(names, i, v)
	{
		if (json_is_string(v) && (rc = policy_set_add_named(st, json_string_value(v), NULL, s)) < 0)
			break;
	}
	json_decref(names);
	if (rc < 0) {
		policy_set_unref(s);
		return rc;
	}
	*ret = s;
	return 0;
}

/* ---- the token cache ---- */

static unsigned bucket_of(const uint8_t hash[TOKEN_HASH_BYTES])
{
	/* The hash is keyed BLAKE2b: its bytes are already uniform. */
	return ((unsigned)hash[0] | (unsigned)hash[1] << 8) % TOKEN_CACHE_BUCKETS;
}

static void entry_free(struct token_entry *e)
{
	policy_set_unref(e->set);
	sodium_memzero(e, sizeof(*e));
	free(e);
}

static void cache_clear_locked(void)
{
	for (unsigned b = 0; b < TOKEN_CACHE_BUCKETS; b++) {
		struct token_entry *e = g_buckets[b];
		while (e) {
			struct token_entry *next = e->next;
			entry_free(e);
			e = next;
		}
		g_buckets[b] = NULL;
	}
	g_cached = 0;
}

/* A live cached entry for hash: copies accessor and takes a set reference. */
static bool cache_lookup(const uint8_t hash[TOKEN_HASH_BYTES], int64_t now, struct actor *a)
{
	bool hit = false;
	pthread_mutex_lock(&g_lock);
	struct token_entry **pp = &g_buckets[bucket_of(hash)];
	for (struct token_entry *e = *pp; e; pp = &e->next, e = e->next) {
		if (sodium_memcmp(e->hash, hash, TOKEN_HASH_BYTES) != 0)
			continue;
		if (e->expires != 0 && now >= e->expires) {
			*pp = e->next; /* expired: the store will say so */
			entry_free(e);
			g_cached--;
			break;
		}
		memcpy(a->accessor, e->accessor, sizeof(a->accessor));
		a->policies = policy_set_ref(e->set);
		hit = true;
		break;
	}
	pthread_mutex_unlock(&g_lock);
	return hit;
}

static void cache_insert(const uint8_t hash[TOKEN_HASH_BYTES], const char *accessor,
                         int64_t expires, struct policy_set *set, uint64_t epoch)
{
	struct token_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	memcpy(e->hash, hash, TOKEN_HASH_BYTES);
	snprintf(e->accessor, sizeof(e->accessor), "%s", accessor);
	e->expires = expires;
	e->set = policy_set_ref(set);
	pthread_mutex_lock(&g_lock);
	if (atomic_load(&g_epoch) != epoch) {
		/* Revoked or changed while we looked: do not resurrect it. */
		pthread_mutex_unlock(&g_lock);
		entry_free(e);
		return;
	}
	if (g_cached >= TOKEN_CACHE_MAX)
		cache_clear_locked();
	unsigned b = bucket_of(hash);
	e->next = g_buckets[b];
	g_buckets[b] = e;
	g_cached++;
	pthread_mutex_unlock(&g_lock);
}

static void invalidate(void)
{
	pthread_mutex_lock(&g_lock);
	atomic_fetch_add(&g_epoch, 1);
	cache_clear_locked();
	pthread_mutex_unlock(&g_lock);
}

void auth_token_revoked(const char *accessor)
{
	(void)accessor; /* revocations are rare: forget everything */
	invalidate();
}

void auth_policies_changed(void)
{
	invalidate();
}
void auth_flush(void)
{
	invalidate();
}

int auth_init(struct vaultd *vd)
{
	g_vd = vd;
	if (!vd->cfg.docker_socket)
		return 0;
	int rc = container_init(vd->cfg.docker_socket);
	if (rc < 0)
		return rc;
	if (container_id_of_pid(getpid(), g_own_container) < 0)
		g_own_container[0] = '\0';
	g_containers = true;
	return 0;
}

void auth_shutdown(void)
{
	invalidate();
	if (g_containers)
		container_shutdown();
	g_containers = false;
}

/* ---- identifying a request ---- */

void actor_clear(struct actor *a)
{
	policy_set_unref(a->policies);
	a->policies = NULL;
}

static int unauthenticated(struct req *r, const char *msg)
{
	reply_error(r, 401, "unauthenticated", msg);
	return -EACCES;
}

/* The token text after "Bearer ", or NULL when the header is not one. */
static char *bearer_token(const char *hdr, size_t *ret_len)
{
	if (strncasecmp(hdr, "Bearer ", 7) != 0)
		return NULL;
	const char *t = hdr + 7;
	while (*t == ' ')
		t++;
	size_t len = strlen(t);
	while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
		len--;
	*ret_len = len;
	return (char *)t;
}

/* A cache miss: the store checks the token (and consumes a use), then its
 * policies are loaded; unlimited tokens are cached for the next time. */
static int token_from_store(struct req *r, const uint8_t hash[TOKEN_HASH_BYTES], int64_t now)
{
	struct store *st = r->vd->store;
	struct actor *a = &r->actor;
	uint64_t epoch = atomic_load(&g_epoch);
	struct store_token t;
	memset(&t, 0, sizeof(t));
	int rc = store_token_consume(st, hash, now, &t);
	if (rc == STORE_E_EXPIRED || rc == STORE_E_REVOKED) /* the audit names the token */
		memcpy(a->accessor, t.accessor, sizeof(a->accessor));
	if (rc == STORE_E_NOTFOUND || rc == STORE_E_EXPIRED || rc == STORE_E_REVOKED)
		return unauthenticated(r, rc == STORE_E_NOTFOUND
		                              ? "unknown token"
		                              : "token expired, used up or revoked");
	if (rc < 0) {
		reply_store_error(r, rc, "looking up a token");
		return rc;
	}
	struct policy_set *set = NULL;
	rc = policy_set_build(st, t.policies_json, &set);
	if (rc < 0) {
		store_token_clear(&t);
		reply_store_error(r, rc, "loading a token's policies");
		return rc;
	}
	memcpy(a->accessor, t.accessor, sizeof(a->accessor));
	a->accessor[sizeof(a->accessor) - 1] = '\0';
	a->policies = set;
	/* A use was counted down in the store: the entry must be as durable. */
	if (t.uses_left >= 0)
		r->changed = true;
	/* Only unlimited tokens: a use count must be consumed in the store. */
	if (t.uses_left < 0)
		cache_insert(hash, t.accessor, t.expires, set, epoch);
	store_token_clear(&t);
	return 0;
}

/* The token text is hashed where libmicrohttpd parsed it (no copy of it is
 * made); the caller wipes it there right after. */
static int token_actor(struct req *r, const char *tok, size_t len)
{
	struct actor *a = &r->actor;
	uint8_t hash[TOKEN_HASH_BYTES];
	int rc = store_token_hash(r->vd->store, tok, len, hash);
	if (rc == STORE_E_SEALED) {
		reply_error(r, 503, "sealed",
		            "vaultd is sealed: tokens cannot be checked until unsealed");
		return rc;
	}
	if (rc < 0) {
		reply_store_error(r, rc, "hashing a token");
		return rc;
	}
	int64_t now = (int64_t)time(NULL);
	a->token = true;
	if (!cache_lookup(hash, now, a) && (rc = token_from_store(r, hash, now)) < 0)
		return rc;
	snprintf(a->actor, sizeof(a->actor), "tok=%s", a->accessor);
	return 0;
}

/* ---- container identity ---- */

/* The policies whose "containers" selectors match labels. */
static int policy_set_for_labels(struct store *st, const json_t *labels, struct policy_set **ret)
{
	char **names = NULL;
	size_t n = 0;
	int rc = store_policy_list(st, &names, &n);
	if (rc < 0)
		return rc;
	struct policy_set *s = calloc(1, sizeof(*s));
	if (s)
		atomic_init(&s->ref, 1);
	else
		rc = -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = policy_set_add_named(st, names[i], labels, s);
		free(names[i]);
	}
	free(names);
	if (rc < 0) {
		policy_set_unref(s);
		return rc;
	}
	*ret = s;
	return 0;
}

/* The cache key of a container's policy set (in the token cache). */
static void container_key(const char *id, uint8_t out[TOKEN_HASH_BYTES])
{
	static const char ctx[] = "vaultd/container/";
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, TOKEN_HASH_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)ctx, sizeof(ctx) - 1);
	crypto_generichash_update(&st, (const uint8_t *)id, strlen(id));
	crypto_generichash_final(&st, out, TOKEN_HASH_BYTES);
}

/* Judges a peer in a Docker container by the policies bound to its labels.
 * -ENOENT (nothing answered): the engine does not know that container, so
 * the peer is treated as a plain local process. */
static int container_actor(struct req *r)
{
	const char *id = r->peer->container_id;
	struct actor *a = &r->actor;
	uint8_t key[TOKEN_HASH_BYTES];
	container_key(id, key);
	int64_t now = (int64_t)time(NULL);
	if (!cache_lookup(key, now, a)) {
		uint64_t epoch = atomic_load(&g_epoch);
		json_t *labels = NULL;
		int rc = container_labels(id, &labels);
		if (rc == -ENOENT)
			return rc;
		if (rc < 0)
			return unauthenticated(r, "container identity: the Docker engine did not "
			                          "answer; retry or use a token");
		struct policy_set *set = NULL;
		rc = policy_set_for_labels(r->vd->store, labels, &set);
		json_decref(labels);
		if (rc < 0) {
			reply_store_error(r, rc, "loading policies for a container");
			return rc;
		}
		snprintf(a->accessor, sizeof(a->accessor), "ctr:%.12s", id);
		a->policies = set;
		/* Also a container that no policy binds: it is asked again later. */
		cache_insert(key, a->accessor, now + CONTAINER_CACHE_TTL_S, set, epoch);
	}
	a->container = true;
	snprintf(a->actor, sizeof(a->actor), "ctr=%.12s", id);
	if (!a->policies || a->policies->n == 0)
		return unauthenticated(r, "no policy binds this container's labels: add "
		                          "\"containers\" to a policy, or send a token");
	return 0;
}

int auth_identify(struct req *r)
{
	struct actor *a = &r->actor;
	const char *hdr =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!hdr) {
		if (r->peer && r->peer->in_container) {
			int rc = container_actor(r);
			if (rc != -ENOENT)
				return rc;
		}
		if (peer_is_admin(r->vd, r->peer)) {
			a->admin = true;
			snprintf(a->actor, sizeof(a->actor), "uid=%u", (unsigned)r->peer->uid);
			return 0;
		}
		return unauthenticated(r, "no credentials: send \"Authorization: Bearer vd_...\" "
		                          "or connect as an admin uid/gid");
	}
	size_t len = 0;
	char *t = bearer_token(hdr, &len);
	if (!t || len != TOKEN_TEXT_LEN || strncmp(t, TOKEN_PREFIX, 3) != 0) {
		sodium_memzero((void *)hdr, strlen(hdr));
		return unauthenticated(
		    r, "malformed token: expected \"Authorization: Bearer vd_...\"");
	}
	int rc = token_actor(r, t, len);
	/* The header lives in libmicrohttpd's read buffer: wipe it in place. */
	sodium_memzero((void *)hdr, strlen(hdr));
	return rc;
}

bool auth_allows(const struct req *r, unsigned cap, const char *name)
{
	const struct actor *a = &r->actor;
	if (a->admin)
		return true;
	if (!a->policies)
		return false;
	return policy_allows((const struct policy *const *)a->policies->p, a->policies->n, cap,
	                     name);
}

bool auth_any(const struct req *r, unsigned cap)
{
	const struct actor *a = &r->actor;
	if (a->admin)
		return true;
	if (!a->policies)
		return false;
	return policy_any_allow((const struct policy *const *)a->policies->p, a->policies->n, cap);
}

int auth_require(struct req *r, unsigned cap, const char *name)
{
	if (auth_allows(r, cap, name))
		return 0;
	char msg[256];
	if (cap == CAP_ADMIN || !name)
		snprintf(msg, sizeof(msg), "the token lacks the \"%s\" capability",
		         policy_cap_name(cap));
	else if (r->route.name_is_token) /* a DELETE of one an old vaultd stored */
		snprintf(msg, sizeof(msg), "the token lacks the \"%s\" capability on (a token)",
		         policy_cap_name(cap));
	else
		snprintf(msg, sizeof(msg), "the token lacks the \"%s\" capability on \"%s\"",
		         policy_cap_name(cap), name);
	reply_error(r, 403, "denied", msg);
	return -EACCES;
}

/* ---- new tokens ---- */

struct secbuf *auth_new_token(void)
{
	uint8_t raw[TOKEN_RAW_BYTES];
	struct secbuf *t = secbuf_new(TOKEN_TEXT_LEN);
	if (!t)
		return NULL;
	randombytes_buf(raw, sizeof(raw));
	memcpy(t->data, TOKEN_PREFIX, 3);
	/* 43 characters plus the NUL that secbuf keeps after len. */
	sodium_bin2base64((char *)t->data + 3, TOKEN_TEXT_LEN - 3 + 1, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	return t;
}

void auth_new_accessor(char out[AUDIT_ACCESSOR_MAX])
{
	uint8_t raw[16];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, AUDIT_ACCESSOR_MAX, raw, sizeof(raw));
}
