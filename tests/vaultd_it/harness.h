/* Integration-test harness: starts a real vaultd (fork/execve) in a per-test
 * directory on a temp socket and talks to it through the lib client
 * (lib/httpc.h) or the curl command, so every check can run both ways. */
#ifndef VDIT_HARNESS_H
#define VDIT_HARNESS_H
#include <check.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VD_PATH_MAX 256
#define VD_MAX_EXTRA 16
/* Every plaintext value the tests store starts with this; the canary test
 * scans the whole suite directory for it after all tests have run. */
#define VD_CANARY "VDIT-CANARY-"
/* base64 of VD_CANARY: every encoded canary value starts with it. */
#define VD_CANARY_B64 "VkRJVC1DQU5BUlkt"
#define VD_NOBODY 65534u /* uid and gid of nobody/nogroup on Debian */

struct vd {
	char dir[VD_PATH_MAX];
	char store[VD_PATH_MAX], key[VD_PATH_MAX], sock[VD_PATH_MAX];
	char log[VD_PATH_MAX], audit_log[VD_PATH_MAX];
	bool use_key;                      /* pass --key-file to serve */
	const char *extra[VD_MAX_EXTRA];   /* more serve flags, NULL-terminated */
	pid_t pid;
};

enum via { VIA_LIB = 0, VIA_CURL = 1 };
const char *via_name(enum via via);

struct vreq {
	const char *method;
	const char *path;        /* already escaped, may hold a query */
	const char *token;       /* "vd_..." or NULL */
	const char *body;        /* may be NULL */
	size_t body_len;         /* 0: strlen(body) */
	bool as_nobody;          /* run the client as uid/gid 65534 (in its own process:
	                          * with VIA_LIB the vdit_client helper) */
	gid_t supp_gid;          /* as_nobody with this supplementary group (0: none) */
	int timeout_ms;          /* <= 0: 15 s */
};

struct vresp {
	int status;              /* HTTP status; 0 when the transport failed */
	int err;                 /* 0 or -errno / curl exit code when status is 0 */
	char ctype[128];
	char *body;              /* malloc'd, NUL-terminated */
	size_t len;
	json_t *json;            /* parsed body when it is JSON, else NULL */
	double ms;               /* wall time of the whole request */
	char what[160];          /* "VIA METHOD PATH" for messages */
};

/* ---- suite and directories ---- */
/* vault_init() and friends; call first in main. */
void vd_global_init(void);
/* Runs the suite and returns the process exit status (0 = all passed). */
int vd_run_suite(Suite *s);
/* For tests that need another uid: returns only when running as root;
 * otherwise prints why and exits 77 (skip) or 1 when CI=true. */
void vd_need_root(const char *why);
/* Prints why the suite cannot run here and exits 77 (skip), or 1 when
 * CI=true (CI runs everything). */
void vd_cannot_run(const char *why) __attribute__((noreturn));
/* The directory every test of the suite writes under (see it_fixture). */
const char *vd_suite_root(void);

/* ---- daemon ---- */
/* Fresh directory <root>/<tag>.XXXXXX and paths inside it; no store yet. */
void vd_prepare(struct vd *v, const char *tag);
void vd_init_keyfile(struct vd *v);                       /* vaultd init --key-file */
void vd_init_passphrase(struct vd *v, const char *pass);  /* vaultd init --passphrase-stdin */
/* vaultd serve with the configured flags; waits until it answers HTTP. */
void vd_start(struct vd *v);
void vd_stop(struct vd *v);        /* SIGTERM and wait */
/* SIGTERM and wait; the exit status (128+signal if killed), -1 if not running. */
int vd_stop_status(struct vd *v);
/* Sends sig and waits: the exit status, 128+signal if killed. */
int vd_stop_with(struct vd *v, int sig); /* -1 if not running */
void vd_kill9(struct vd *v);
bool vd_alive(const struct vd *v);
/* Convenience: prepare + key-file store + start. */
void vd_up(struct vd *v, const char *tag);
/* The same, serving with these extra flags (NULL-terminated, at most
 * VD_MAX_EXTRA; they must outlive v). */
void vd_up_with(struct vd *v, const char *tag, const char *const *flags);

/* Runs argv (absolute program path first) with stdin_text (may be NULL); its
 * stdout and stderr go to *out (malloc'd) when out is non-NULL. Exit status. */
int run_cmd(const char *const *argv, const char *stdin_text, char **out);
const char *bin_path(const char *env, const char *dflt);
/* Starts argv in the background with pipes to its stdin and from its stdout
 * (and stderr); the caller closes them and reaps with wait_pid. */
pid_t run_bg(const char *const *argv, int *ret_in, int *ret_out);
int wait_pid(pid_t pid); /* exit status, 128+signal if killed */

/* ---- requests ---- */
/* Never aborts: a transport failure leaves status 0 and err set. */
void vd_do(const struct vd *v, enum via via, const struct vreq *q, struct vresp *r);
/* A request in its own process (curl, or vdit_client for VIA_LIB), started
 * by vd_begin and collected by vd_end (which also reaps it). With start_fd
 * >= 0 the client waits for EOF on start_fd before it connects (racers); such
 * a request takes no body. q->body must live until vd_end. */
struct vd_proc {
	pid_t pid;
	int in, out;             /* its stdin (the body) or -1, its stdout */
	const char *body;
	size_t blen;
	enum via via;
	double t0;
	char what[160];
};
void vd_begin(const struct vd *v, enum via via, const struct vreq *q, int start_fd,
              struct vd_proc *p);
void vd_end(struct vd_proc *p, struct vresp *r);
/* main() of the vdit_client helper (vdit_client.c). */
int vd_client_main(int argc, char **argv);
/* Shorthands; body is JSON text or NULL. */
void vd_call(const struct vd *v, enum via via, const char *method, const char *path,
             const char *token, const char *body, struct vresp *r);
void vresp_clear(struct vresp *r);

/* ---- common operations (admin unless token is set) ---- */
/* malloc'd printf. */
char *xfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* PUT /v1/secrets/NAME {"value":b64(plain)<extra>} where extra is more JSON
 * members (",\"cas\":1") or NULL. The version on 200, else -status. */
long long vd_put(const struct vd *v, enum via via, const char *token, const char *name,
                 const char *plain, const char *extra);
/* GET /v1/secrets/<what> (a name, maybe with a query): the plaintext
 * (malloc'd) on 200, else NULL; *status and *version when non-NULL. */
char *vd_get(const struct vd *v, enum via via, const char *token, const char *what, int *status,
             long long *version);
/* GET /v1/sys/status revision, -1 on failure. */
long long vd_revision(const struct vd *v);
/* The value of a /metrics sample without labels (exact name), -1 if absent. */
double vd_metric(const struct vd *v, const char *name);

/* ---- JSON ---- */
/* Path of object keys separated by '/', numbers index arrays: "error/names/0". */
json_t *jget(const json_t *j, const char *path);
const char *jstr(const json_t *j, const char *path);     /* NULL unless a string */
long long jint(const json_t *j, const char *path);        /* -999999 unless an integer */
bool jbool(const json_t *j, const char *path, bool *ret); /* false unless a bool */
/* Does the JSON array at path contain the string s? */
bool jarr_has(const json_t *j, const char *path, const char *s);

/* ---- values ---- */
char *b64(const void *p, size_t len);   /* malloc'd standard padded base64 */
char *b64s(const char *s);
char *unb64(const char *s, size_t *len); /* malloc'd NUL-terminated; NULL on error */
/* VD_CANARY + tag + "-" + 16 random hex chars into out. */
void canary(char *out, size_t cap, const char *tag);
/* The value of a secret read through r ("value" decoded), malloc'd or NULL. */
char *resp_value(const struct vresp *r);
double now_ms(void);
void sleep_ms(int ms);
/* Reads a whole file (malloc'd, NUL-terminated), NULL on error. */
char *slurp(const char *path, size_t *len);

/* ---- canary scan ---- */
/* Occurrences of VD_CANARY or VD_CANARY_B64 in one file (printed when loud);
 * an unreadable file counts as one. */
size_t vd_scan_file(const char *path, bool loud);
/* The same over every regular file under dir; *files and *stores (store.db
 * files) are counted when non-NULL. */
size_t vd_scan_dir(const char *dir, size_t *files, size_t *stores);

/* ---- a process's memory ---- */
/* Is needle in a writable mapping of pid (heap, stacks, buffers)? 1 or 0;
 * -errno when its memory cannot be read (needs root: vaultd is not
 * dumpable). Mappings over 256 MiB (sanitizer shadow) are skipped. */
int vd_mem_has(pid_t pid, const char *needle);

/* ---- raw connections (idle watchers, keep-alive) ---- */
int vd_connect(const struct vd *v);   /* -errno on failure */
/* Writes the whole buffer; 0 or -errno. */
int write_all(int fd, const void *p, size_t len);
/* Reads one response's status line within timeout_ms; status or -errno. */
int raw_read_status(int fd, int timeout_ms);

/* ---- assertions with messages that say what came ---- */
#define EXPECT_STATUS(r, st)                                                                    \
	ck_assert_msg((r)->status == (st), "%s: expected HTTP %d, got %d (err %d) body=%.400s",     \
	              (r)->what, (st), (r)->status, (r)->err, (r)->body ? (r)->body : "")
#define EXPECT_ERROR(r, st, code)                                                               \
	do {                                                                                        \
		EXPECT_STATUS(r, st);                                                                   \
		const char *c_ = jstr((r)->json, "error/code");                                         \
		ck_assert_msg(c_ && strcmp(c_, (code)) == 0,                                           \
		              "%s: expected error code %s, got %s body=%.400s", (r)->what, (code),      \
		              c_ ? c_ : "(none)", (r)->body ? (r)->body : "");                          \
	} while (0)
#define EXPECT_JSTR(r, path, want)                                                              \
	do {                                                                                        \
		const char *s_ = jstr((r)->json, (path));                                               \
		ck_assert_msg(s_ && strcmp(s_, (want)) == 0, "%s: %s expected \"%s\", got \"%s\"",     \
		              (r)->what, (path), (want), s_ ? s_ : "(absent)");                         \
	} while (0)
#define EXPECT_JINT(r, path, want)                                                              \
	do {                                                                                        \
		long long i_ = jint((r)->json, (path));                                                 \
		ck_assert_msg(i_ == (long long)(want), "%s: %s expected %lld, got %lld body=%.300s",    \
		              (r)->what, (path), (long long)(want), i_, (r)->body ? (r)->body : "");    \
	} while (0)

#endif
