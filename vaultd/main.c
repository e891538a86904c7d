/* vaultd: `init` creates a store, `serve` runs the daemon in the foreground.
 * serve reads like its algorithm: open the store, load the key if there is
 * one, listen, start the writer/timer/HTTP threads, wait for a signal, then
 * stop in order (stop accepting, finish in-flight, wipe keys, remove the
 * socket) and exit 0. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "audit.h"
#include "auth.h"
#include "http.h"
#include "hygiene.h"
#include "keyring.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "offload.h"
#include "reseal.h"
#include "store.h"
#include "store_lock.h"
#include "vaultd.h"
#include "watch.h"

#define PASSPHRASE_MAX 1024
#define CREDENTIAL_NAME "vaultd.key"

static const char usage_text[] =
    "usage: vaultd init --store PATH (--key-file PATH | --passphrase-stdin)\n"
    "                   [--kdf moderate|interactive]\n"
    "       vaultd serve --store PATH --socket PATH [--key-file PATH]\n"
    "                   [--admin-uid N]... [--admin-gid N|NAME]... [--socket-group G]\n"
    "                   [--audit-log FILE] [--max-connections N] [--conn-timeout S]\n"
    "                   [--threads N] [--write-threads N] [--shutdown-grace S]\n"
    "                   [--log-level L] [--docker-socket PATH]\n"
    "                   [--audit-sync always|interval]\n"
    "       vaultd --help | --version\n"
    "\n"
    "init creates an encrypted store. With --key-file naming a missing file it\n"
    "generates a 32-byte key there (mode 0600); --passphrase-stdin derives the key\n"
    "from a passphrase read on stdin (Argon2id). It never overwrites a store.\n"
    "\n"
    "serve answers HTTP/JSON on the unix socket (mode 0660; see docs/api.md). With\n"
    "no key (--key-file, or $CREDENTIALS_DIRECTORY/vaultd.key) it starts sealed and\n"
    "waits for POST /v1/sys/unseal. uid 0 and the --admin-uid/--admin-gid peers are\n"
    "admins; everyone else needs a token. Defaults: --max-connections 1024,\n"
    "--conn-timeout 60, --threads = 2 x CPUs, --write-threads = 4 x CPUs,\n"
    "--shutdown-grace 10, --log-level info\n"
    "(warn drops the per-request lines). SIGTERM/SIGINT stop, SIGHUP reopens the\n"
    "audit log. systemd socket activation and sd_notify are supported.\n"
    "Audit entries of requests that change nothing (reads) are committed before\n"
    "the answer and fsync'd within 100 ms (--audit-sync interval, the default);\n"
    "--audit-sync always fsyncs them before the answer too. Changes and their\n"
    "entries are always fsync'd before the answer. One vaultd serves a store at a\n"
    "time: serve holds a lock on the store file and a second one exits 1.\n"
    "--docker-socket (e.g. /var/run/docker.sock) turns on container identity: a\n"
    "client in a Docker container gets the policies whose \"containers\" selectors\n"
    "match its labels, without a token (docs/api.md).\n";

static int usage(int status)
{
	fputs(usage_text, status ? stderr : stdout);
	return status;
}

static int fail(const char *what, int err, const char *fix)
{
	fprintf(stderr, "vaultd: %s: %s%s%s\n", what, err ? strerror(err < 0 ? -err : err) : "",
	        fix ? (err ? "; " : "") : "", fix ? fix : "");
	return 1;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > max || s[0] == '-')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* ---- init ---- */

/* The passphrase from stdin, one trailing newline removed. */
static int read_passphrase(struct secbuf **ret)
{
	struct secbuf *b = secbuf_new(PASSPHRASE_MAX + 1);
	if (!b)
		return -ENOMEM;
	size_t len = 0;
	while (len < b->len) {
		ssize_t n = read(0, b->data + len, b->len - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			secbuf_free(b);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > PASSPHRASE_MAX) {
		secbuf_free(b);
		return -E2BIG;
	}
	if (len > 0 && b->data[len - 1] == '\n')
		len--;
	if (len > 0 && b->data[len - 1] == '\r')
		len--;
	if (len == 0) {
		secbuf_free(b);
		return -ENODATA;
	}
	struct secbuf *p = secbuf_dup(b->data, len);
	secbuf_free(b);
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

static int init_with_passphrase(const char *store_path, bool interactive)
{
	struct secbuf *pass = NULL, *kek = NULL;
	int rc = read_passphrase(&pass);
	if (rc == -ENODATA)
		return fail("--passphrase-stdin", 0, "stdin held no passphrase");
	if (rc < 0)
		return fail("reading the passphrase from stdin", rc, "at most 1024 bytes");
	struct kdf_params p;
	kdf_params_new(&p, interactive);
	rc = kek_from_passphrase(pass, &p, &kek);
	secbuf_free(pass);
	if (rc < 0)
		return fail("deriving the key (Argon2id)", rc,
		            "try --kdf interactive on small machines");
	struct store *s = NULL;
	rc = store_create(store_path, KEK_PASSPHRASE, &p, kek, &s);
	secbuf_free(kek);
	if (rc < 0)
		return fail(store_path, 0, store_strerror(rc));
	store_close(s);
	printf("created store %s (passphrase; unseal with POST /v1/sys/unseal)\n", store_path);
	return 0;
}

static int init_with_keyfile(const char *store_path, const char *key_path)
{
	bool generated = false;
	if (access(key_path, F_OK) != 0) {
		int rc = kek_generate_keyfile(key_path);
		if (rc < 0)
			return fail(key_path, rc, "could not create the key file");
		generated = true;
	}
	struct secbuf *kek = NULL;
	int rc = kek_from_keyfile(key_path, &kek);
	if (rc == -EPERM) {
		fprintf(stderr, "vaultd: %s is readable by others: chmod 600 %s\n", key_path,
		        key_path);
		return 1;
	}
	if (rc < 0)
		return fail(key_path, rc, "a key file holds exactly 32 bytes");
	struct store *s = NULL;
	rc = store_create(store_path, KEK_KEYFILE, NULL, kek, &s);
	secbuf_free(kek);
	if (rc < 0) {
		if (generated)
			unlink(key_path); /* do not leave a key for a store that is not there */
		return fail(store_path, 0, store_strerror(rc));
	}
	store_close(s);
	printf("created store %s (key file %s%s)\n", store_path, key_path,
	       generated ? ", generated: keep it safe, 0600" : "");
	return 0;
}

static int cmd_init(int argc, char **argv)
{
	enum { O_STORE = 1, O_KEY, O_PASS, O_KDF, O_HELP };
	static const struct option opts[] = {
	    {"store", required_argument, NULL, O_STORE},
	    {"key-file", required_argument, NULL, O_KEY},
	    {"passphrase-stdin", no_argument, NULL, O_PASS},
	    {"kdf", required_argument, NULL, O_KDF},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *store_path = NULL, *key = NULL;
	bool pass = false, interactive = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_STORE:
			store_path = optarg;
			break;
		case O_KEY:
			key = optarg;
			break;
		case O_PASS:
			pass = true;
			break;
		case O_KDF:
			if (strcmp(optarg, "interactive") && strcmp(optarg, "moderate"))
				return fail("--kdf", 0, "use moderate or interactive");
			interactive = strcmp(optarg, "interactive") == 0;
			break;
		case O_HELP:
			return usage(0);
		default:
			return usage(2);
		}
	}
	if (!store_path || (!key == !pass) || optind != argc) {
		fprintf(stderr, "vaultd init: needs --store and exactly one of --key-file, "
		                "--passphrase-stdin\n");
		return usage(2);
	}
	if (access(store_path, F_OK) == 0)
		return fail(store_path, 0,
		            "a store (or file) is already there; refusing to overwrite");
	return pass ? init_with_passphrase(store_path, interactive)
	            : init_with_keyfile(store_path, key);
}

/* ---- serve ---- */

static int add_gid(struct vaultd_config *cfg, const char *s)
{
	unsigned long v;
	if (cfg->n_admin_gids == VAULTD_MAX_ADMIN_IDS)
		return -E2BIG;
	if (parse_uint(s, UINT_MAX - 1, &v) == 0) {
		cfg->admin_gids[cfg->n_admin_gids++] = (gid_t)v;
		return 0;
	}
	struct group gr, *res = NULL;
	char buf[4096];
	if (getgrnam_r(s, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	cfg->admin_gids[cfg->n_admin_gids++] = res->gr_gid;
	return 0;
}

static unsigned per_cpu(unsigned n, unsigned cpus)
{
	return n * cpus < VAULTD_MAX_THREADS ? n * cpus : VAULTD_MAX_THREADS;
}

/* libmicrohttpd threads never wait for a disk (writes go to the workers),
 * and each one polls the listening socket, so each one more is one more
 * woken for every new connection: two per CPU read best at 8 and 50
 * clients against one and four. A durable write holds its worker through
 * the fsync, and writes waiting together share one group commit
 * (lib/store_group.c): more workers than that. */
static void default_threads(struct vaultd_config *cfg)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cpus = n > 1 ? (unsigned)n : 1;
	if (cfg->threads == 0)
		cfg->threads = per_cpu(VAULTD_THREADS_PER_CPU, cpus);
	if (cfg->write_threads == 0)
		cfg->write_threads = per_cpu(VAULTD_WRITE_THREADS_PER_CPU, cpus);
}

static int parse_serve(int argc, char **argv, struct vaultd_config *cfg)
{
	enum {
		O_STORE = 1,
		O_SOCK,
		O_KEY,
		O_AUID,
		O_AGID,
		O_GROUP,
		O_AUDIT,
		O_MAXC,
		O_TIMEOUT,
		O_THREADS,
		O_WRITE_THREADS,
		O_GRACE,
		O_LEVEL,
		O_DOCKER,
		O_AUDIT_SYNC,
		O_HELP
	};
	static const struct option opts[] = {
	    {"store", required_argument, NULL, O_STORE},
	    {"socket", required_argument, NULL, O_SOCK},
	    {"key-file", required_argument, NULL, O_KEY},
	    {"admin-uid", required_argument, NULL, O_AUID},
	    {"admin-gid", required_argument, NULL, O_AGID},
	    {"socket-group", required_argument, NULL, O_GROUP},
	    {"audit-log", required_argument, NULL, O_AUDIT},
	    {"max-connections", required_argument, NULL, O_MAXC},
	    {"conn-timeout", required_argument, NULL, O_TIMEOUT},
	    {"threads", required_argument, NULL, O_THREADS},
	    {"write-threads", required_argument, NULL, O_WRITE_THREADS},
	    {"shutdown-grace", required_argument, NULL, O_GRACE},
	    {"log-level", required_argument, NULL, O_LEVEL},
	    {"docker-socket", required_argument, NULL, O_DOCKER},
	    {"audit-sync", required_argument, NULL, O_AUDIT_SYNC},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	int c;
	unsigned long v;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_STORE:
			cfg->store_path = optarg;
			break;
		case O_SOCK:
			cfg->socket_path = optarg;
			break;
		case O_KEY:
			cfg->key_file = optarg;
			break;
		case O_GROUP:
			cfg->socket_group = optarg;
			break;
		case O_AUDIT:
			cfg->audit_log_path = optarg;
			break;
		case O_DOCKER:
			cfg->docker_socket = optarg;
			break;
		case O_AUID:
			if (cfg->n_admin_uids == VAULTD_MAX_ADMIN_IDS ||
			    parse_uint(optarg, UINT_MAX - 1, &v))
				return fail("--admin-uid", 0, "a numeric uid (at most 32 of them)"),
				       2;
			cfg->admin_uids[cfg->n_admin_uids++] = (uid_t)v;
			break;
		case O_AGID:
			if (add_gid(cfg, optarg) < 0)
				return fail("--admin-gid", 0, "a gid or group name (at most 32)"),
				       2;
			break;
		case O_MAXC:
			if (parse_uint(optarg, 1000000, &v) || v == 0)
				return fail("--max-connections", 0, "1 to 1000000"), 2;
			cfg->max_connections = (unsigned)v;
			break;
		case O_TIMEOUT:
			if (parse_uint(optarg, 86400, &v) || v == 0)
				return fail("--conn-timeout", 0, "1 to 86400 seconds"), 2;
			cfg->conn_timeout_s = (unsigned)v;
			break;
		case O_THREADS:
			if (parse_uint(optarg, VAULTD_MAX_THREADS, &v))
				return fail("--threads", 0, "0 (= 2 per CPU) to 64"), 2;
			cfg->threads = (unsigned)v;
			break;
		case O_WRITE_THREADS:
			if (parse_uint(optarg, VAULTD_MAX_THREADS, &v))
				return fail("--write-threads", 0, "0 (= 4 per CPU) to 64"), 2;
			cfg->write_threads = (unsigned)v;
			break;
		case O_GRACE:
			if (parse_uint(optarg, 3600, &v))
				return fail("--shutdown-grace", 0, "0 to 3600 seconds"), 2;
			cfg->shutdown_grace_s = (unsigned)v;
			break;
		case O_LEVEL:
			if (log_level_parse(optarg, &cfg->log_level) < 0)
				return fail("--log-level", 0, "debug, info, warn or error"), 2;
			break;
		case O_AUDIT_SYNC:
			if (strcmp(optarg, "always") != 0 && strcmp(optarg, "interval") != 0)
				return fail("--audit-sync", 0, "always or interval"), 2;
			cfg->audit_sync_always = strcmp(optarg, "always") == 0;
			break;
		case O_HELP:
			return usage(0), -1;
		default:
			return usage(2);
		}
	}
	if (!cfg->store_path || !cfg->socket_path || optind != argc) {
		fprintf(stderr, "vaultd serve: --store and --socket are required\n");
		return usage(2);
	}
	default_threads(cfg);
	return 0;
}

/* The key: --key-file, else $CREDENTIALS_DIRECTORY/vaultd.key, else none
 * (start sealed). A key that is there but wrong is an error, not "sealed". */
static int load_key(struct vaultd *vd)
{
	char cred[PATH_MAX];
	const char *path = vd->cfg.key_file;
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (!path && dir) {
		int n = snprintf(cred, sizeof(cred), "%s/%s", dir, CREDENTIAL_NAME);
		if (n > 0 && (size_t)n < sizeof(cred) && access(cred, F_OK) == 0)
			path = cred;
	}
	if (!path) {
		log_msg(LOG_WARN, "sealed", "no key file: starting sealed; POST /v1/sys/unseal");
		return 0;
	}
	struct secbuf *kek = NULL;
	int rc = kek_from_keyfile(path, &kek);
	if (rc == -EPERM) {
		fprintf(stderr, "vaultd: %s is readable by others: chmod 600 %s\n", path, path);
		return rc;
	}
	if (rc < 0)
		return fail(path, rc, "a key file holds exactly 32 bytes"), rc;
	rc = store_unseal(vd->store, kek);
	secbuf_free(kek);
	if (rc < 0)
		return fail(path, 0, store_strerror(rc)), rc;
	return 0;
}

/* More descriptors for more connections: soft limit up to the hard one. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int open_socket(struct vaultd *vd, int *ret_fd)
{
	int fd = listener_from_systemd();
	if (fd >= 0) {
		vd->socket_from_systemd = true;
		*ret_fd = fd;
		return 0;
	}
	int rc = listener_open(vd->cfg.socket_path, vd->cfg.socket_group, ret_fd);
	if (rc == -EADDRINUSE)
		return fail(vd->cfg.socket_path, 0,
		            "another vaultd is answering there; stop it or pick another --socket"),
		       rc;
	if (rc == -EEXIST)
		return fail(vd->cfg.socket_path, 0, "exists and is not a socket; remove it"), rc;
	if (rc == -ESRCH)
		return fail("--socket-group", 0, "no such group"), rc;
	if (rc < 0)
		return fail(vd->cfg.socket_path, rc, "cannot listen there"), rc;
	return 0;
}

/* Blocks until SIGTERM/SIGINT; SIGHUP reopens the audit log. */
static int wait_for_stop(const sigset_t *set)
{
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			audit_request_reopen();
			continue;
		}
		return sig;
	}
}

/* Closes the store (wiping the keys), then lets go of its lock. */
static void release_store(struct vaultd *vd)
{
	store_close(vd->store);
	vd->store = NULL;
	store_lock_release(vd->lock_fd);
	vd->lock_fd = -1;
}

static void shutdown_in_order(struct vaultd *vd)
{
	notify_send("STOPPING=1");
	http_quiesce(); /* no new connections */
	watch_stop();   /* waiting watchers answer now (204) */
	unsigned grace_ms = vd->cfg.shutdown_grace_s * 1000u;
	if (!http_wait_idle(grace_ms))
		log_msg(LOG_WARN, "shutdown", "requests still in flight after the grace period");
	reseal_stop();  /* after its batch in hand; the next start goes on */
	offload_stop(); /* the workers finish their jobs (503 for those past the grace) */
	audit_stop();   /* commits whatever is still queued */
	if (!http_wait_answers_sent(VAULTD_ANSWER_FLUSH_MS))
		log_msg(LOG_WARN, "shutdown", "some answers were not sent before the connections closed");
	http_stop(); /* closes idle keep-alive connections */
	auth_shutdown();
	release_store(vd);
	if (!vd->socket_from_systemd)
		listener_remove(vd->cfg.socket_path);
}

static int start_threads(struct vaultd *vd, int listen_fd)
{
	int rc = auth_init(vd);
	if (rc < 0)
		return fail("--docker-socket", rc, "container identity could not start"), rc;
	if ((rc = audit_start(vd)) < 0)
		return fail(vd->cfg.audit_log_path, rc, "cannot open --audit-log"), rc;
	if (rc == 0 && (rc = watch_start()) < 0)
		return fail("watch timer", rc, NULL), rc;
	if (rc == 0 && (rc = offload_start(vd->cfg.write_threads)) < 0)
		return fail("write workers", rc, "could not start"), rc;
	if (rc == 0 && (rc = reseal_start(vd->store)) < 0)
		return fail("re-seal thread", rc, "could not start"), rc;
	if (rc == 0 && (rc = http_start(vd, listen_fd)) < 0)
		return fail("libmicrohttpd", rc, "could not start the HTTP server"), rc;
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	struct vaultd vd = {.cfg = {.max_connections = VAULTD_DEFAULT_MAX_CONNECTIONS,
	                            .conn_timeout_s = VAULTD_DEFAULT_CONN_TIMEOUT_S,
	                            .shutdown_grace_s = VAULTD_DEFAULT_SHUTDOWN_GRACE_S,
	                            .log_level = LOG_INFO},
	                    .lock_fd = -1};
	int rc = parse_serve(argc, argv, &vd.cfg);
	if (rc != 0)
		return rc < 0 ? 0 : rc;
	log_set_level(vd.cfg.log_level);
	raise_nofile();

	/* A missing store is store_open's to report (it never creates one). */
	vd.lock_fd = store_lock_take(vd.cfg.store_path);
	if (vd.lock_fd == -EWOULDBLOCK)
		return fail(vd.cfg.store_path, 0,
		            "another vaultd serves this store (it holds the store's lock); stop it "
		            "first");
	if (vd.lock_fd < 0 && vd.lock_fd != -ENOENT)
		return fail(vd.cfg.store_path, vd.lock_fd, "cannot lock the store");
	rc = store_open(vd.cfg.store_path, &vd.store);
	if (rc < 0) {
		store_lock_release(vd.lock_fd);
		return fail(vd.cfg.store_path, 0, store_strerror(rc));
	}
	/* A previous vaultd that died may have left a destroy's old pages in
	 * the WAL; on failure the first commits retry. */
	store_purge_residue(vd.store);
	if (load_key(&vd) < 0) {
		release_store(&vd);
		return 1;
	}
	/* Signals are taken synchronously by this thread: block them before
	 * any other thread exists so every thread inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int fd = -1;
	if (open_socket(&vd, &fd) < 0) {
		release_store(&vd);
		return 1;
	}
	if (start_threads(&vd, fd) < 0) {
		shutdown_in_order(&vd);
		return 1;
	}
	struct logline l;
	logline_start(&l, LOG_INFO, "ready");
	logline_str(&l, "socket", vd.cfg.socket_path);
	logline_str(&l, "store", vd.cfg.store_path);
	logline_int(&l, "sealed", store_is_sealed(vd.store));
	logline_str(&l, "version", VAULT_VERSION);
	logline_emit(&l);
	notify_send("READY=1");

	int sig = wait_for_stop(&set);
	logline_start(&l, LOG_INFO, "stopping");
	logline_str(&l, "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
	logline_emit(&l);
	shutdown_in_order(&vd);
	log_msg(LOG_INFO, "stopped",
	        vd.socket_from_systemd ? "keys wiped" : "keys wiped, socket removed");
	return 0;
}

int main(int argc, char **argv)
{
	if (vault_init() < 0)
		return fail("libsodium", 0, "initialisation failed");
	if (vault_harden_process() < 0)
		return fail("hardening (no core dumps)", errno, NULL);
	if (argc < 2)
		return usage(2);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(0);
	if (strcmp(argv[1], "--version") == 0) {
		printf("vaultd %s\n", VAULT_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	fprintf(stderr, "vaultd: unknown command \"%s\"\n", argv[1]);
	return usage(2);
}
