/* Who is asking and what may they do: peer credentials (SO_PEERCRED) make
 * admins, everyone else presents a bearer token whose policies are checked.
 * Unlimited-use tokens and their parsed policies are cached in memory. */
#ifndef VAULTD_AUTH_H
#define VAULTD_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "audit_chain.h"
#include "container.h"
#include "names.h"
#include "policy.h"
#include "store.h"

#define PEER_MAX_GROUPS 64
#define AUTH_MAX_POLICIES 32 /* policies on one token */
#define TOKEN_PREFIX VAULT_TOKEN_PREFIX /* names.h: a name never has this shape */
#define TOKEN_RAW_BYTES 32
#define TOKEN_TEXT_LEN VAULT_TOKEN_TEXT_LEN /* "vd_" + 43 base64url characters */
#define TOKEN_CACHE_MAX 4096 /* cached unlimited-use tokens */

struct vaultd;
struct req;

/* Per connection: who is on the other end, read once at accept. */
struct peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[PEER_MAX_GROUPS]; /* supplementary groups (SO_PEERGROUPS) */
	size_t n_groups;
	bool known; /* false when SO_PEERCRED failed */
	/* With --docker-socket: vaultd could not tell whether it runs in a
	 * container (never an admin by its ids then). */
	bool unplaced;
	/* With --docker-socket: the peer's container (not vaultd's own). */
	char container_id[CONTAINER_ID_LEN + 1];
	bool in_container;
};

/* Reads SO_PEERCRED (and, with --admin-gid, SO_PEERGROUPS where the kernel has it) of fd,
 * and with container identity on, the peer's container id. */
int peer_from_fd(int fd, struct peer *ret);
/* uid 0, a configured admin uid, or primary/supplementary group in admin gids. */
bool peer_is_admin(const struct vaultd *vd, const struct peer *p);

/* Parsed policies of one token, shared by requests (reference counted). */
struct policy_set;
void policy_set_unref(struct policy_set *s); /* NULL ok */

struct actor {
	bool admin;                        /* an admin peer without a token */
	bool token;                        /* authenticated by a token */
	bool container;                    /* judged by container identity */
	char accessor[AUDIT_ACCESSOR_MAX]; /* token accessor, "ctr:<id12>", "" for peers */
	char actor[STORE_ACTOR_MAX];       /* "uid=0", "tok=<accessor>", "ctr=<id12>" */
	struct policy_set *policies;       /* owned reference; NULL for admins */
};

/* Fills r->actor from the peer and the Authorization header. A request that
 * carries a token is judged by the token, even from an admin peer. Without
 * a token, a peer in a Docker container (container identity on, another
 * container than vaultd's own) is judged by the policies bound to its
 * labels, never by its uid; other peers by uid/gid. On failure it has
 * answered (401 unauthenticated, 503 sealed, 500) and returns a negative
 * value. */
int auth_identify(struct req *r);
/* Admin peers may do anything; a token needs cap on name (CAP_ADMIN ignores
 * the name). On denial answers 403 and returns -EACCES. */
int auth_require(struct req *r, unsigned cap, const char *name);
/* The same decision without answering. */
bool auth_allows(const struct req *r, unsigned cap, const char *name);
/* Whether any rule of the actor grants cap at all (admins: true). */
bool auth_any(const struct req *r, unsigned cap);
void actor_clear(struct actor *a);

/* Cache control. */
int auth_init(struct vaultd *vd);
void auth_shutdown(void);
void auth_token_revoked(const char *accessor); /* drop it from the cache */
void auth_policies_changed(void);              /* rebuild policy sets lazily */
void auth_flush(void);                         /* on seal: forget every token */

/* A fresh token ("vd_" + base64url of 32 random bytes) in guarded memory,
 * and a random accessor (32 hex characters). */
struct secbuf *auth_new_token(void);
void auth_new_accessor(char out[AUDIT_ACCESSOR_MAX]);

#endif
