/* The --watch process. Files follow vaultd as soon as a change is seen; the
 * command hears about it once per --debounce window, so a burst of rotations
 * gives one reload. Failures are logged once per outage, never fatal. */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "init.h"
#include "monotime.h"
#include "msg.h"

static void sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct pending {
	bool armed;
	int64_t at;
	bool changed[INJECT_MAX_NAMES]; /* which names changed in the window */
};

/* Notes in p the names behind files whose versions differ between old and
 * b: a rotated --env-only value changes nothing the command can see. */
static bool note_changes(const struct watch *w, const struct bundle *old, const struct bundle *b,
                         struct pending *p)
{
	bool any = false;
	for (size_t i = 0; i < w->cfg->n_names; i++) {
		if (!outputs_uses(w->cfg, w->out->templates, w->cfg->names[i]))
			continue;
		const struct bundle_entry *e = bundle_find(b, w->cfg->names[i]);
		const struct bundle_entry *o = bundle_find(old, w->cfg->names[i]);
		if (e && o && e->version == o->version &&
		    e->previous_version == o->previous_version)
			continue;
		p->changed[i] = true;
		any = true;
	}
	return any;
}

/* Waits for an --on-change command, killing it when it overstays. */
static void wait_on_change(pid_t pid)
{
	int64_t deadline = mono_ms() + WATCH_ON_CHANGE_MAX_MS;
	int ws;
	for (;;) {
		pid_t r = waitpid(pid, &ws, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return;
		if (mono_ms() > deadline) {
			msg_err("--on-change %s: still running after %d s, killed", "command",
			        WATCH_ON_CHANGE_MAX_MS / 1000);
			kill(pid, SIGKILL);
			waitpid(pid, &ws, 0);
			return;
		}
		sleep_ms(10);
	}
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		msg_err("--on-change failed with status %d", init_exit_status(ws));
}

/* INJECT_CHANGED=a,b tells the command which secrets changed. */
static void run_on_change(const struct watch *w, const struct pending *p)
{
	/* Only watched names change (note_changes): all of them fit. */
	char list[VAULT_MAX_WATCH_NAMES * (VAULT_MAX_NAME_LEN + 1) + 1];
	size_t off = 0;
	list[0] = '\0';
	for (size_t i = 0; i < w->cfg->n_names && off < sizeof(list); i++)
		if (p->changed[i])
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
			                        off ? "," : "", w->cfg->names[i]);
	struct child_env env;
	if (env_with(w->env, "INJECT_CHANGED", list, &env) < 0) {
		msg_err("--on-change: out of memory");
		return;
	}
	pid_t pid = exec_spawn((char *const *)w->cfg->on_change, env.vec, w->creds,
	                       init_original_mask(), false);
	env_free(&env);
	if (pid < 0)
		msg_err("cannot run --on-change %s: %s", w->cfg->on_change[0], errstr((int)-pid));
	else
		wait_on_change(pid);
}

static void reload(const struct watch *w, struct pending *p)
{
	if (w->cfg->on_change[0])
		run_on_change(w, p);
	else if (kill(w->cfg->group ? -w->child : w->child, w->cfg->reload_signal) < 0 &&
	         errno != ESRCH)
		msg_err("cannot send the reload signal: %s", errstr(errno));
	memset(p, 0, sizeof(*p));
}

/* A change was announced: fetch the watched names (an --env-only name
 * deleted since the start must not stop the files following), rewrite what
 * changed. */
static bool refresh(struct watch *w, const struct outputs *out,
                    const char (*names)[VAULT_MAX_NAME_LEN + 1], size_t n, struct pending *p)
{
	char err[1024];
	struct bundle *nb = NULL;
	enum fetch_status st =
	    fetch_bundle(w->target, names, n, w->cfg->previous, 0, NULL, &nb, err, sizeof(err));
	if (st != FETCH_OK) {
		msg_err("--watch: %s (keeping the current files)", err);
		return false;
	}
	int r = outputs_write(out, nb, w->current, NULL, err, sizeof(err));
	if (r < 0) {
		msg_err("--watch: %s", err);
		bundle_free(nb);
		return false;
	}
	if (note_changes(w, w->current, nb, p) && !p->armed) {
		p->armed = true;
		p->at = mono_ms() + w->cfg->debounce_ms;
	}
	bundle_free(w->current);
	w->current = nb;
	return true;
}

size_t watch_names(const struct inject_config *cfg, struct template *const *templates,
                   char (*names)[VAULT_MAX_NAME_LEN + 1])
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_names; i++) {
		if (!outputs_uses(cfg, templates, cfg->names[i]))
			continue;
		if (names)
			memcpy(names[n], cfg->names[i], sizeof(names[0]));
		n++;
	}
	return n;
}

static void watch_loop(struct watch *w, const struct outputs *out)
{
	static char names[INJECT_MAX_NAMES][VAULT_MAX_NAME_LEN + 1];
	size_t n_names = watch_names(w->cfg, w->out->templates, names);
	struct pending p = {0};
	int64_t backoff = 0;
	bool reported = false;
	for (;;) {
		if (p.armed && p.at <= mono_ms()) {
			reload(w, &p);
			continue;
		}
		sleep_ms(p.armed && backoff > p.at - mono_ms() ? p.at - mono_ms() : backoff);
		int timeout_s = WATCH_POLL_S,
		    client_ms = WATCH_POLL_S * 1000 + WATCH_CLIENT_SLACK_MS;
		if (p.armed) {
			/* Keep watching during the window, but wake for the reload. */
			int64_t left = p.at - mono_ms();
			client_ms = left < 1 ? 1 : (int)left;
			timeout_s = (int)(left / 1000) + 1;
		}
		char err[1024];
		bool changed = false, ok = true;
		uint64_t rev; /* the bundle's own revision is what is kept */
		enum fetch_status st =
		    fetch_watch(w->target, (const char(*)[VAULT_MAX_NAME_LEN + 1])names, n_names,
		                w->current->revision,
		                timeout_s, client_ms, &changed, &rev, err, sizeof(err));
		if (st != FETCH_OK) {
			if (!reported)
				msg_err("--watch: %s; keeping the current files and retrying", err);
			ok = false;
		} else if (changed) {
			ok = refresh(w, out, (const char(*)[VAULT_MAX_NAME_LEN + 1])names, n_names, &p);
		}
		if (ok) {
			if (reported)
				msg_err("--watch: vaultd answers again");
			reported = false;
			backoff = 0;
			continue;
		}
		reported = true;
		backoff = backoff ? backoff * 2 : WATCH_RETRY_FIRST_MS;
		if (backoff > WATCH_RETRY_MAX_MS)
			backoff = WATCH_RETRY_MAX_MS;
	}
}

pid_t watch_spawn(const struct watch *w)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	/* The watcher leads a process group of its own, which its --on-change
	 * commands join: watch_stop ends them with it (set on both sides of
	 * the fork, so that it holds whichever runs first). */
	if (pid > 0)
		setpgid(pid, pid);
	if (pid != 0)
		return pid < 0 ? -errno : pid;
	setpgid(0, 0);
	/* The watcher: dies with PID 1 (also if PID 1 died before the prctl),
	 * and locks the directory through its own open file description
	 * (flock is per description, not per process). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* mlock is not inherited across fork: lock the inherited secrets again
	 * (later ones come from sodium_malloc, which locks them itself). Best
	 * effort, as in libsodium: a container may lack the memlock limit. */
	if (w->current && w->current->arena)
		mlock(w->current->arena->data, w->current->arena->len + 1);
	if (w->target->token)
		mlock(w->target->token->data, w->target->token->len + 1);
	struct watch mine = *w;
	struct outputs out = *w->out;
	out.dirfd = openat(w->out->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out.dirfd < 0) {
		msg_err("--watch: cannot reopen %s: %s", w->cfg->dir, errstr(errno));
		_exit(1);
	}
	watch_loop(&mine, &out);
	_exit(0);
}

void watch_stop(pid_t watcher, const struct outputs *out)
{
	flock(out->dirfd, LOCK_EX); /* waits for a write in progress */
	/* The group: an --on-change command still running must not outlive
	 * inject (outside a container nothing else would end it). */
	if (kill(-watcher, SIGKILL) < 0)
		kill(watcher, SIGKILL);
	while (waitpid(watcher, NULL, 0) < 0 && errno == EINTR)
		;
}
