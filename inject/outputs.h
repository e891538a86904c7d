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
#include "tmpfs_files.h"

struct outputs {
	int dirfd;
	const struct inject_config *cfg;
	struct template **templates; /* parsed, parallel to cfg->templates */
	uid_t uid;                   /* default owner: the target user */
	gid_t gid;
};

/* Temp files made ahead of the first write, while vaultd prepares its
 * answer: as many as there are --secret files and templates (a .previous
 * companion depends on the answer). All alike: each write takes the next. */
struct outputs_ahead {
	struct files_temp *temps; /* NULL until outputs_prepare */
	size_t n, used;
};

/* Makes the temp files of a first write; best effort: a file it could not
 * make is made (and its error reported) by outputs_write. Does nothing
 * when a holds files already. */
void outputs_prepare(const struct outputs *o, struct outputs_ahead *a);

/* Removes the temp files outputs_write did not use, and frees a. */
void outputs_ahead_discard(const struct outputs *o, struct outputs_ahead *a);

/* Writes what changed between old and b (old NULL: everything), through
 * ahead's temp files where there are some (ahead may be NULL). 0, or
 * -errno with err naming the file; -ELOOP when a target is not a regular
 * file (a planted symlink), -ENOENT when a value is missing. */
int outputs_write(const struct outputs *o, const struct bundle *b, const struct bundle *old,
                  struct outputs_ahead *ahead, char *err, size_t errcap);

/* True when name backs a file: a --secret (or --file-env) file or a
 * template. A name only --env uses backs none: its value sits in the
 * command's environment, where no rotation can reach it. */
bool outputs_uses(const struct inject_config *cfg, struct template *const *templates,
                  const char *name);

/* Removes every file outputs may have written. */
void outputs_remove_all(const struct outputs *o);

#endif
