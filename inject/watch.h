/* --watch: a watcher process beside PID 1 long-polls vaultd, rewrites the
 * files of secrets that changed (atomically, same rules as the first write),
 * and after --debounce sends --reload-signal to the command or runs
 * --on-change, once per burst. If vaultd goes away it keeps the last files
 * and retries; it never touches the command's life. */
#ifndef INJECT_WATCH_H
#define INJECT_WATCH_H
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "env.h"
#include "fetch.h"
#include "outputs.h"
#include "privdrop.h"

#define WATCH_POLL_S 60 /* server-side long-poll timeout */
#define WATCH_CLIENT_SLACK_MS 5000
#define WATCH_RETRY_FIRST_MS 100
#define WATCH_RETRY_MAX_MS 5000      /* backoff cap while vaultd is away */
#define WATCH_ON_CHANGE_MAX_MS 60000 /* an --on-change command gets this long */

struct watch {
	const struct inject_config *cfg;
	const struct fetch_target *target;
	const struct outputs *out;
	struct bundle *current; /* what the files hold now */
	const struct child_env *env;
	const struct creds *creds;
	pid_t child; /* the command: where reload signals go */
};

/* Forks the watcher. A process rather than a thread: PID 1 stays
 * single-threaded (fork-safe, and no threads in the static binary), and
 * stopping it is a SIGKILL. The pid, or -errno. */
pid_t watch_spawn(const struct watch *w);

/* The names --watch follows: those behind files (a --secret, --file-env or
 * template; not an --env-only name, which no rotation can reach), copied
 * into names unless NULL. Their count. */
size_t watch_names(const struct inject_config *cfg, struct template *const *templates,
                   char (*names)[VAULT_MAX_NAME_LEN + 1]);

/* Stops the watcher between two writes (it holds the directory lock while
 * writing) and reaps it. Returns with the lock held by out's descriptor, so
 * the caller can remove the files with nothing racing it. */
void watch_stop(pid_t watcher, const struct outputs *out);

#endif
