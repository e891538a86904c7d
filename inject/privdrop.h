/* --user USER[:GROUP]: resolved from /etc/passwd and /etc/group before
 * anything runs, applied like su-exec (setgroups, setgid, setuid, in that
 * order, each verified) just before exec. */
#ifndef INJECT_PRIVDROP_H
#define INJECT_PRIVDROP_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "passwd.h"

#define PRIVDROP_PASSWD_FILE "/etc/passwd"
#define PRIVDROP_GROUP_FILE "/etc/group"

struct creds {
	bool drop; /* false: keep inject's own ids (no --user) */
	uid_t uid;
	gid_t gid;
	gid_t groups[PASSWD_MAX_GROUPS];
	size_t n_groups;
	char user[PASSWD_MAX_NAME]; /* "" for a numeric uid without a passwd entry */
	char home[PASSWD_MAX_HOME];
};

/* Resolves spec. USER is a name or a number; a number without a passwd
 * entry gets gid = uid (never a silent gid 0) and HOME "/". GROUP, when
 * given, is the only group; otherwise the primary group plus the groups
 * that list the user. -EINVAL bad spec, -ENOENT unknown user or group (err
 * says which), other -errno reading the files. */
int privdrop_resolve(const char *spec, const char *passwd_path, const char *group_path,
                     struct creds *ret, char *err, size_t errcap);

/* inject's own effective ids: what files are owned by without --user. */
void privdrop_self(struct creds *ret);

/* Drops to c and verifies that it took (getres[ug]id, getgroups, and that
 * root cannot be regained). Only system calls: safe between fork and exec.
 * 0, or -errno (-EPERM when a verification failed). No-op if !c->drop. */
int privdrop_apply(const struct creds *c);

/* Opens path with c's rights: a child drops to c, opens it and hands the
 * descriptor back, so that a file c could not open (a symlink its user
 * planted towards a root-only file, say) stays closed to inject too. The
 * descriptor is close-on-exec. Without c->drop, a plain open. 0 or -errno;
 * *ret_drop_failed says when the drop itself failed (then the errno is the
 * drop's). */
int privdrop_open(const struct creds *c, const char *path, int flags, int *ret_fd,
                  bool *ret_drop_failed);

#endif
