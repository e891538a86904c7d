/* /etc/passwd and /etc/group read directly (no NSS, no getpwnam): inject is
 * static and runs in images that have nothing but these two files. */
#ifndef INJECT_PASSWD_H
#define INJECT_PASSWD_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PASSWD_MAX_NAME 64
#define PASSWD_MAX_HOME 512
#define PASSWD_MAX_LINE (64u * 1024u) /* a group with many members is long */
#define PASSWD_MAX_GROUPS 256

struct pw_entry {
	char name[PASSWD_MAX_NAME];
	uid_t uid;
	gid_t gid;
	char home[PASSWD_MAX_HOME];
};

struct gr_entry {
	char name[PASSWD_MAX_NAME];
	gid_t gid;
};

/* One line of each format, modified in place (fields split at ':').
 * 0, or -EINVAL for a malformed line (too few fields, bad number, empty name). */
int passwd_parse_line(char *line, struct pw_entry *ret);
/* For group lines, *ret_members points at the comma-separated member list
 * inside line. */
int group_parse_line(char *line, struct gr_entry *ret, char **ret_members);

/* Looks up by name (name != NULL) or by id. 0 and *ret; -ENOENT when no line
 * matches (or the file does not exist); -errno if it cannot be read. Malformed
 * lines and comments are skipped. */
int passwd_lookup(const char *path, const char *name, uid_t uid, struct pw_entry *ret);
int group_lookup(const char *path, const char *name, gid_t gid, struct gr_entry *ret);

/* The supplementary groups of user (groups that list it as a member), plus
 * primary first, without duplicates, at most cap (-E2BIG beyond). A missing
 * group file gives just primary. 0, or -errno. */
int group_list_for_user(const char *path, const char *user, gid_t primary, gid_t *gids, size_t cap,
                        size_t *ret_n);

/* "123" -> 0 and *ret, for uid/gid specs; -EINVAL otherwise (also for
 * 4294967295, which means "no change" to the kernel). */
int passwd_parse_id(const char *s, unsigned *ret);

#endif
