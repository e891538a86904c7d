/* inject: the container entrypoint. Reads its configuration, fetches every
 * secret in one request, writes them as files on a tmpfs, drops privileges
 * and execs the command, or stays PID 1 (--init) and follows rotations
 * (--watch). Any failure before the command starts is fatal: fail closed. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "env.h"
#include "exec.h"
#include "exit_codes.h"
#include "fetch.h"
#include "hygiene.h"
#include "init.h"
#include "msg.h"
#include "outputs.h"
#include "privdrop.h"
#include "stop.h"
#include "template.h"
#include "tmpfs_files.h"
#include "watch.h"

extern char **environ;

#define ERR_MAX 1024

/* Everything main builds, kept in one place so the steps read in order. */
struct run {
	struct inject_config cfg;
	struct secbuf *token;
	struct fetch_target target;
	struct template **templates;
	struct creds creds;
	struct outputs out;
	struct outputs_ahead ahead; /* temp files made while vaultd answers */
	struct bundle *bundle;
	struct child_env env;
	struct watch watch;
	pid_t watcher; /* --watch: the watcher process, 0 when none */
};

static int read_config(struct run *r, int argc, char **argv)
{
	char err[ERR_MAX];
	int e = config_parse(&r->cfg, argc, argv, environ, err, sizeof(err));
	if (e == -ENOMEM) {
		msg_err("out of memory");
		return INJECT_EXIT_INTERNAL;
	}
	if (e < 0) {
		msg_err("%s (see inject --help)", err);
		return INJECT_EXIT_USAGE;
	}
	for (size_t i = 0; i < r->cfg.n_envs; i++)
		msg_warn("--env %s=%s puts a secret into the environment, where it leaks "
		         "(/proc/PID/environ, docker inspect, child processes, crash reports); "
		         "prefer --file-env",
		         r->cfg.envs[i].var, r->cfg.envs[i].name);
	return 0;
}

/* The token comes from --token-file or INJECT_TOKEN; the variable's value
 * is wiped from the environment block either way. */
static int load_token(struct run *r)
{
	if (r->cfg.token_file && !*r->cfg.token_file) {
		env_scrub_token();
		msg_err("cannot use the token file: INJECT_TOKEN_FILE (or --token-file) is empty");
		return INJECT_EXIT_TOKEN;
	}
	int e = fetch_load_token(r->cfg.token_file, getenv(ENV_TOKEN_VAR), &r->token);
	env_scrub_token();
	if (e < 0) {
		msg_err("cannot use the token %s%s: %s", r->cfg.token_file ? "file " : "from ",
		        r->cfg.token_file ? r->cfg.token_file : ENV_TOKEN_VAR,
		        e == -EINVAL    ? "it is empty"
		        : e == -EILSEQ ? "it contains a blank or control character"
		        : e == -ESPIPE ? "it is not a regular file"
		                       : errstr(-e));
		return INJECT_EXIT_TOKEN;
	}
	r->target.socket = r->cfg.socket;
	r->target.token = r->token;
	return 0;
}

/* Templates are parsed before anything is fetched: a malformed one must not
 * cost a request, and the names they use join the bundle. */
static int load_templates(struct run *r)
{
	r->templates = calloc(r->cfg.n_templates + 1, sizeof(*r->templates));
	if (!r->templates)
		return INJECT_EXIT_INTERNAL;
	for (size_t i = 0; i < r->cfg.n_templates; i++) {
		const char *src = r->cfg.templates[i].src;
		/* Opened with the command's rights: its user may own the
		 * directory, and a symlink planted there must not let it read,
		 * through the rendered file, what it could not read itself. */
		int fd = -1;
		bool drop_failed = false;
		int e = privdrop_open(&r->creds, src, O_RDONLY | O_NOCTTY | O_NONBLOCK, &fd,
		                      &drop_failed);
		if (e < 0 && drop_failed) {
			msg_err("template %s: cannot open it as the --user: %s", src, errstr(-e));
			return INJECT_EXIT_PRIVDROP;
		}
		if (e < 0) {
			msg_err("template %s: cannot open%s: %s", src, r->creds.drop ? " as the --user" : "",
			        errstr(-e));
			return INJECT_EXIT_TEMPLATE;
		}
		char err[ERR_MAX];
		e = template_read(fd, &r->templates[i], err, sizeof(err));
		close(fd);
		if (e < 0) {
			msg_err("template %s: %s", src, err);
			return INJECT_EXIT_TEMPLATE;
		}
		const struct template *t = r->templates[i];
		for (size_t k = 0; k < t->n_segs; k++) {
			int a = t->segs[k].is_secret ? config_add_name(&r->cfg, t->segs[k].name) : 0;
			if (a == -E2BIG) {
				msg_err("template %s: more than %d different secrets in all: vaultd "
				        "answers at most %d in one bundle",
				        r->cfg.templates[i].src, INJECT_MAX_NAMES, VAULT_MAX_BUNDLE_NAMES);
				return INJECT_EXIT_USAGE;
			}
			if (a < 0)
				return INJECT_EXIT_INTERNAL;
		}
	}
	if (r->cfg.n_names == 0) {
		/* Only templates, none with a {{ secret }}: nothing to ask vaultd. */
		msg_err(
		    "no secrets requested: the templates name no secret ({{ secret \"NAME\" }}); "
		    "give --secret, --file-env, --env or a template that uses one");
		return INJECT_EXIT_USAGE;
	}
	return 0;
}

/* --watch follows the secrets behind files in one watch request: vaultd
 * takes at most VAULT_MAX_WATCH_NAMES names in one. Known once the
 * templates are read. */
static int check_watch(struct run *r)
{
	if (!r->cfg.watch)
		return 0;
	size_t n = watch_names(&r->cfg, r->templates, NULL);
	if (n == 0) {
		msg_err("--watch has nothing to follow: --env values cannot change in a running "
		        "process; use --secret, --file-env or --template (see inject --help)");
		return INJECT_EXIT_USAGE;
	}
	if (n > VAULT_MAX_WATCH_NAMES) {
		msg_err("--watch follows at most %d secrets (vaultd's limit for one watch) and %zu "
		        "back files here: watch fewer, or split them over more containers",
		        VAULT_MAX_WATCH_NAMES, n);
		return INJECT_EXIT_USAGE;
	}
	return 0;
}

static int resolve_user(struct run *r)
{
	if (!r->cfg.user) {
		privdrop_self(&r->creds);
		return 0;
	}
	char err[ERR_MAX];
	int e = privdrop_resolve(r->cfg.user, PRIVDROP_PASSWD_FILE, PRIVDROP_GROUP_FILE, &r->creds,
	                         err, sizeof(err));
	if (e < 0) {
		msg_err("%s", err);
		return e == -ENOENT || e == -E2BIG ? INJECT_EXIT_NO_USER
		       : e == -EINVAL              ? INJECT_EXIT_USAGE
		                                   : INJECT_EXIT_INTERNAL;
	}
	return 0;
}

static int open_dir(struct run *r)
{
	char err[ERR_MAX];
	r->out.dirfd = -1;
	/* The command's groups: a directory they may write is not safe. */
	gid_t groups[PASSWD_MAX_GROUPS + 1];
	size_t n = 0;
	if (r->creds.drop) {
		groups[n++] = r->creds.gid;
		for (size_t i = 0; i < r->creds.n_groups; i++)
			groups[n++] = r->creds.groups[i];
	}
	int e = files_open_dir(r->cfg.dir, r->cfg.allow_disk, groups, n, &r->out.dirfd, err,
	                       sizeof(err));
	if (e < 0) {
		msg_err("%s", err);
		return e == -EXDEV || e == -EPERM || e == -ELOOP || e == -ENOTDIR
		           ? INJECT_EXIT_UNSAFE_DIR
		           : INJECT_EXIT_WRITE;
	}
	r->out.cfg = &r->cfg;
	r->out.templates = r->templates;
	r->out.uid = r->creds.uid;
	r->out.gid = r->creds.gid;
	return 0;
}

/* While vaultd prepares the bundle: the files' inodes (each is most of a
 * file's cost, and a container waits for all of them before it starts). */
static void prepare_files(void *ctx)
{
	struct run *r = ctx;
	outputs_prepare(&r->out, &r->ahead);
}

/* A try that failed: no empty file waits through the backoff (a signal
 * that kills inject then would leave it behind). */
static void unprepare_files(void *ctx)
{
	struct run *r = ctx;
	outputs_ahead_discard(&r->out, &r->ahead);
}

static int fetch_secrets(struct run *r)
{
	static const int exit_for[] = {
	    [FETCH_OK] = INJECT_EXIT_OK,
	    [FETCH_UNREACHABLE] = INJECT_EXIT_UNREACHABLE,
	    [FETCH_SEALED] = INJECT_EXIT_SEALED,
	    [FETCH_DENIED] = INJECT_EXIT_DENIED,
	    [FETCH_NOT_FOUND] = INJECT_EXIT_NOT_FOUND,
	    [FETCH_PROTOCOL] = INJECT_EXIT_PROTOCOL,
	    [FETCH_NOMEM] = INJECT_EXIT_INTERNAL,
	    [FETCH_STOPPED] = INJECT_EXIT_INTERNAL, /* 128 + the signal, below */
	};
	char err[ERR_MAX];
	struct fetch_meanwhile mw = {.fn = prepare_files, .undo = unprepare_files, .ctx = r};
	enum fetch_status st =
	    fetch_bundle(&r->target, r->cfg.names, r->cfg.n_names, r->cfg.previous, r->cfg.wait_ms,
	                 &mw, &r->bundle, err, sizeof(err));
	if (st != FETCH_OK) {
		msg_err("%s", err);
		return st == FETCH_STOPPED ? 128 + stop_signal() : exit_for[st];
	}
	return 0;
}

/* A stop signal that came after the wait (while files were written) still
 * means "do not start": as if it had come a moment earlier. This is the
 * last look, right before the start: as PID 1 one that comes after
 * stop_end is dropped, so the window is kept to a few instructions. */
static int last_stop_check(struct run *r)
{
	int sig = stop_pending();
	stop_end();
	if (!sig)
		return 0;
	msg_err("stopped by SIG%s before the command started", sigabbrev_np(sig));
	if (r->cfg.init && !r->cfg.keep)
		outputs_remove_all(&r->out);
	return 128 + sig;
}

static int write_files(struct run *r)
{
	char err[ERR_MAX];
	int e = outputs_write(&r->out, r->bundle, NULL, &r->ahead, err, sizeof(err));
	if (e < 0) {
		msg_err("%s", err);
		outputs_remove_all(&r->out); /* no half-written set left behind */
		return e == -ELOOP    ? INJECT_EXIT_UNSAFE_DIR
		       : e == -ENOENT ? INJECT_EXIT_TEMPLATE
		                      : INJECT_EXIT_WRITE;
	}
	return 0;
}

static int build_env(struct run *r)
{
	int e = env_build(environ, &r->cfg, &r->creds, r->bundle, &r->env);
	if (e == -EINVAL) {
		msg_err("an --env secret contains a NUL byte and cannot be an environment value: "
		        "use --file-env");
		return INJECT_EXIT_USAGE;
	}
	if (e < 0) {
		msg_err("cannot build the environment: %s", errstr(-e));
		return INJECT_EXIT_INTERNAL;
	}
	return 0;
}

/* Exec mode: nothing of inject stays behind. Secrets are freed (wiped),
 * privileges dropped, then the command replaces us; the directory's
 * descriptor is close-on-exec. When the command does not start, the files
 * go (as far as the dropped user may remove them): nothing will read them. */
static int exec_mode(struct run *r)
{
	bundle_free(r->bundle);
	r->bundle = NULL;
	secbuf_free(r->token);
	r->token = NULL;
	int e = privdrop_apply(&r->creds);
	if (e < 0) {
		msg_err("cannot drop privileges to %s: %s", r->cfg.user, errstr(-e));
		e = INJECT_EXIT_PRIVDROP;
	}
	/* The command gets the signal mask inject started with. */
	if (e == 0 && !(e = last_stop_check(r)))
		e = exec_command(r->cfg.command, r->env.vec);
	if (!r->cfg.keep)
		outputs_remove_all(&r->out);
	close(r->out.dirfd);
	return e;
}

static void start_watcher(struct run *r, pid_t child)
{
	r->watch = (struct watch){
	    .cfg = &r->cfg,
	    .target = &r->target,
	    .out = &r->out,
	    .current = r->bundle,
	    .env = &r->env,
	    .creds = &r->creds,
	    .child = child,
	};
	pid_t pid = watch_spawn(&r->watch);
	if (pid < 0)
		msg_err("--watch: cannot start the watcher: %s; files will not follow rotations",
		        errstr((int)-pid));
	else
		r->watcher = pid;
	/* The watcher has its own copies; PID 1 keeps no secret from now on. */
	bundle_free(r->bundle);
	r->bundle = NULL;
	r->watch.current = NULL;
	secbuf_free(r->token);
	r->token = NULL;
}

static void started(pid_t child, void *ctx)
{
	struct run *r = ctx;
	if (r->cfg.watch)
		start_watcher(r, child);
	/* The command has its environment, the watcher (forked above) its own
	 * copy: PID 1 keeps no --env value either. */
	env_free(&r->env);
}

static void reaped(pid_t pid, int wstatus, void *ctx)
{
	struct run *r = ctx;
	if (pid != r->watcher || r->watcher == 0)
		return;
	r->watcher = 0;
	/* Its group (an --on-change command it left running) goes with it.
	 * The pgid cannot belong to anyone else yet: while the group has a
	 * member, its number is not handed out again. */
	kill(-pid, SIGKILL);
	msg_err("--watch: the watcher stopped (status %d); files no longer follow rotations",
	        init_exit_status(wstatus));
}

/* --init / --watch: PID 1 until the command exits, then the files go. */
static int init_mode(struct run *r)
{
	if (!r->cfg.watch) {
		/* Only --watch needs the values and the token after this point. */
		bundle_free(r->bundle);
		r->bundle = NULL;
		secbuf_free(r->token);
		r->token = NULL;
	}
	int s = last_stop_check(r);
	if (s)
		return s;
	struct init_opts o = {
	    .argv = r->cfg.command,
	    .envp = r->env.vec,
	    .creds = &r->creds,
	    .group = r->cfg.group,
	    .grace_ms = r->cfg.grace_ms,
	    .started = started,
	    .reaped = reaped,
	    .ctx = r,
	};
	int status = init_run(&o);
	if (r->watcher > 0)
		watch_stop(r->watcher, &r->out); /* no rewrite can race the removal */
	if (!r->cfg.keep)
		outputs_remove_all(&r->out);
	return status;
}

int main(int argc, char **argv)
{
	static struct run r;
	int s;
	if (vault_init() < 0) {
		msg_err("cannot initialise libsodium");
		return INJECT_EXIT_INTERNAL;
	}
	/* jansson would read /dev/urandom for its hash seed, which a scratch
	 * image may not have; libsodium uses getrandom(2). */
	json_object_seed(randombytes_random() | 1u);
	if (exec_core_dumps_off() < 0)
		msg_warn("cannot turn core dumps off: a crash of inject could dump its memory");
	if ((s = read_config(&r, argc, argv)))
		return s;
	if (r.cfg.action == CONFIG_HELP) {
		config_usage(STDOUT_FILENO);
		return 0;
	}
	if (r.cfg.action == CONFIG_VERSION) {
		static const char v[] = "inject " VAULT_VERSION "\n";
		return write(STDOUT_FILENO, v, sizeof(v) - 1) < 0 ? INJECT_EXIT_INTERNAL : 0;
	}
	/* In --init mode signals are blocked from the start, so none that
	 * arrives while secrets are fetched is lost; the command gets the
	 * original mask back. Either way a stop signal (stop.h) while inject
	 * waits for vaultd ends it without starting the command. */
	if (r.cfg.init)
		init_block_signals();
	stop_begin(!r.cfg.init);
	if ((s = load_token(&r)) || (s = resolve_user(&r)) || (s = load_templates(&r)) ||
	    (s = check_watch(&r)) || (s = open_dir(&r)))
		return s;
	if (!(s = fetch_secrets(&r)))
		s = write_files(&r);
	outputs_ahead_discard(&r.out, &r.ahead); /* what a failure left unused */
	if (s || (s = build_env(&r)))
		return s;
	if (!r.cfg.init)
		return exec_mode(&r);
	return init_mode(&r);
}
