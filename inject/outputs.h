/* Everything inject writes into --dir for one bundle: each secret's file,
 * its FILE.previous (--previous), each rendered template. Shared by the
 * first write and the --watch rewrites; a write holds flock on the
 * directory so that the --init cleanup never races a rewrite. */
#ifndef INJECT_OUTPUTS_H
#define INJECT_OUTPUTS_H
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "fetch.h"
#include "template.h"

struct outputs {
	int dirfd;
	const struct inject_config *cfg;
	struct template **templates; /* parsed, parallel to cfg->templates */
	uid_t uid;                   /* default owner: the target user */
	gid_t gid;
};

/* Writes what changed between old and b (old NULL: everything). 0, or
 * -errno with err naming the file; -ELOOP when a target is not a regular
 * file (a planted symlink), -ENOENT when a value is missing. */
int outputs_write(const struct outputs *o, const struct bundle *b, const struct bundle *old,
                  char *err, size_t errcap);

/* True when name backs a file: a --secret (or --file-env) file or a
 * template. A name only --env uses backs none: its value sits in the
 * command's environment, where no rotation can reach it. */
bool outputs_uses(const struct inject_config *cfg, struct template *const *templates,
                  const char *name);

/* Removes every file outputs may have written. */
void outputs_remove_all(const struct outputs *o);

#endif
