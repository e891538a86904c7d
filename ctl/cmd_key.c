/* vaultctl key rotate / rekey: a new data key for new writes (vaultd
 * re-seals older versions in the background), or a new key-encryption key
 * from a key file or a passphrase, which travels in guarded memory only.
 * With --store, both are made on the store file itself (key_offline.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "input.h"
#include "jsonx.h"
#include "keyring.h"
#include "key_offline.h"
#include "keys.h"
#include "output.h"

/* The options that name a store file and its current key, shared by both
 * commands; their ids stay clear of each command's own. */
enum { OPT_STORE = 100, OPT_KEY_FILE, OPT_PASS_STDIN };
/* clang-format off */
#define STORE_OPTS                                                                          \
	{"store", 0, true, OPT_STORE, "PATH",                                                 \
	 "work on this store file, with no vaultd serving it (a backup, or a stopped one)"},  \
	{"key-file", 0, true, OPT_KEY_FILE, "FILE", "with --store: the store's key file"},    \
	{"passphrase-stdin", 0, false, OPT_PASS_STDIN, NULL,                                  \
	 "with --store: read the store's passphrase from stdin"}
/* clang-format on */
#define STORE_USAGE "[--store PATH [--key-file FILE | --passphrase-stdin]]"

struct store_args {
	const char *store; /* NULL: ask vaultd */
	struct offline_key key;
};

/* Takes the store options; 1 when id is not one of them. */
static int store_opt(struct store_args *a, int id, const char *arg)
{
	if (id == OPT_STORE)
		a->store = arg;
	else if (id == OPT_KEY_FILE)
		a->key.key_file = arg;
	else if (id == OPT_PASS_STDIN)
		a->key.pass_stdin = true;
	else
		return 1;
	return 0;
}

/* The current key goes with --store, and is one of the two. */
static int store_check(const struct cmd_spec *spec, const struct store_args *a)
{
	if (!a->store && (a->key.key_file || a->key.pass_stdin))
		return cmd_usage(spec, "--key-file and --passphrase-stdin go with --store");
	if (a->key.key_file && a->key.pass_stdin)
		return cmd_usage(spec, "use either --key-file or --passphrase-stdin, not both");
	return CMD_RUN;
}

/* ---- rotate ---- */

static const struct args_opt rotate_opts[] = {STORE_OPTS, {0}};

static const struct cmd_spec rotate_spec = {
    .name = "key rotate",
    .usage = STORE_USAGE " [--json]",
    .summary = "Make a new data key active for new writes. vaultd re-seals the versions under "
               "older\ndata keys in the background; `vaultctl status` shows how many are left.",
    .details = "Use it routinely, or when a data key may have been exposed. Values keep their "
               "versions;\nnothing needs a restart. With --store the store file is changed "
               "directly (vaultd must\nnot be serving it) and its versions are re-sealed "
               "before the command returns.",
    .opts = rotate_opts,
    .json_output = true,
};

static int print_rotated(bool json, const json_t *o)
{
	int64_t id = 0, pending = 0;
	if (jsonx_get_int(o, "key_id", &id) < 0 || id < 1 ||
	    jsonx_get_int(o, "reseal_pending", &pending) < 0 || pending < 0) {
		ctl_err("vaultd's answer to the rotation has no key_id or reseal_pending");
		return CTL_ERROR;
	}
	if (json)
		return out_json(o) < 0 ? CTL_ERROR : CTL_OK;
	if (pending == 0)
		printf("data key %lld is active; nothing to re-seal\n", (long long)id);
	else
		printf("data key %lld is active; %lld version%s being re-sealed in the "
		       "background\n",
		       (long long)id, (long long)pending, pending == 1 ? " is" : "s are");
	return CTL_OK;
}

static int rotate_opt(void *st, int id, const char *arg)
{
	return store_opt(st, id, arg) == 0 ? 0 : CTL_USAGE;
}

static int rotate_offline(bool json, const struct store_args *a)
{
	struct key_offline o;
	int rc = key_offline_begin(a->store, &a->key, &o);
	if (rc != CTL_OK)
		return rc;
	uint32_t id = 0;
	uint64_t resealed = 0;
	rc = key_offline_rotate(&o, &id, &resealed);
	key_offline_end(&o);
	if (rc != CTL_OK)
		return rc;
	if (json) {
		json_t *out = json_pack("{s:I, s:i, s:I}", "key_id", (json_int_t)id,
		                        "reseal_pending", 0, "resealed", (json_int_t)resealed);
		rc = out && out_json(out) == 0 ? CTL_OK : CTL_ERROR;
		json_decref(out);
		return rc;
	}
	printf("data key %u is active in %s; %llu version%s re-sealed under it\n", (unsigned)id,
	       a->store, (unsigned long long)resealed, resealed == 1 ? "" : "s");
	return CTL_OK;
}

static int key_rotate(const struct ctl *c, int argc, char **argv)
{
	struct store_args a = {0};
	struct ctl_cmd x;
	json_t *resp = NULL;
	int rc = cmd_parse(&x, c, &rotate_spec, argc, argv, rotate_opt, &a);
	if (rc == CMD_RUN)
		rc = store_check(&rotate_spec, &a);
	if (rc == CMD_RUN && a.store) {
		rc = rotate_offline(x.c.json, &a);
	} else if (rc == CMD_RUN) {
		rc = ctl_call(&x.c, "POST", "/v1/sys/rotate", NULL, &resp);
		if (rc == CTL_OK)
			rc = print_rotated(x.c.json, resp);
	}
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

/* ---- rekey ---- */

enum { OPT_NEW_KEY_FILE = 1, OPT_NEW_PASS_STDIN, OPT_KDF };

static const struct args_opt rekey_opts[] = {
    {"new-key-file", 0, true, OPT_NEW_KEY_FILE, "FILE",
     "the new key file; created if absent (32 random bytes, mode 0600)"},
    {"new-passphrase-stdin", 0, false, OPT_NEW_PASS_STDIN, NULL,
     "read the new passphrase from stdin (one line)"},
    {"kdf", 0, true, OPT_KDF, "COST",
     "Argon2id cost for the passphrase: moderate (default) or interactive"},
    STORE_OPTS,
    {0},
};

static const struct cmd_spec rekey_spec = {
    .name = "key rekey",
    .usage = "--new-key-file FILE | --new-passphrase-stdin [--kdf moderate|interactive]\n"
             "       " STORE_USAGE,
    .summary = "Rekey the store: from now on it unseals only with the new key file or "
               "passphrase;\nthe old one stops working. vaultd must be unsealed.",
    .details = "Without either option, on a terminal, the new passphrase is asked twice without "
               "echo.\nA key file that vaultctl created is removed again when vaultd refuses "
               "the rekey.\nAfter a rekey to a key file, point vaultd --key-file (or its "
               "vaultd.key credential)\nat the new file before vaultd restarts. With --store "
               "the store file is rekeyed directly\n(vaultd must not be serving it), after "
               "its current key unseals it; stdin holds one\npassphrase at most, so "
               "--passphrase-stdin and --new-passphrase-stdin do not go together.",
    .opts = rekey_opts,
    .json_output = true,
};

struct rekey_args {
	const char *key_file;
	bool pass_stdin;
	const char *kdf; /* NULL: vaultd's default (moderate) */
	struct store_args st;
};

static int rekey_opt(void *st, int id, const char *arg)
{
	struct rekey_args *a = st;
	switch (id) {
	case OPT_NEW_KEY_FILE:
		a->key_file = arg;
		return 0;
	case OPT_NEW_PASS_STDIN:
		a->pass_stdin = true;
		return 0;
	case OPT_KDF:
		if (strcmp(arg, "moderate") != 0 && strcmp(arg, "interactive") != 0)
			return cmd_usage(&rekey_spec, "--kdf is moderate or interactive");
		a->kdf = arg;
		return 0;
	default:
		return store_opt(&a->st, id, arg) == 0 ? 0 : CTL_USAGE;
	}
}

/* Exactly one source of the new key, checked before anything is read or
 * created. CMD_RUN or a usage error. */
static int rekey_check(const struct rekey_args *a)
{
	int rc = store_check(&rekey_spec, &a->st);
	if (rc != CMD_RUN)
		return rc;
	if (a->pass_stdin && a->st.key.pass_stdin)
		return cmd_usage(&rekey_spec, "stdin holds one passphrase: give the current one on "
		                              "the terminal or the new one as --new-key-file");
	if (a->key_file && a->pass_stdin)
		return cmd_usage(&rekey_spec,
		                 "use either --new-key-file or --new-passphrase-stdin, not both");
	if (a->key_file && a->kdf)
		return cmd_usage(&rekey_spec,
		                 "--kdf is the cost of a passphrase: it does not go with "
		                 "--new-key-file");
	if (!a->key_file && !a->pass_stdin && !input_stdin_is_tty())
		return cmd_usage(&rekey_spec, "stdin is not a terminal: pass --new-key-file FILE "
		                              "or --new-passphrase-stdin");
	return CMD_RUN;
}

/* A key file that vaultctl created for a rekey that did not happen is a
 * key for nothing. */
static void remove_created(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		ctl_err("cannot remove %s, which vaultctl created for this rekey: %s (it unseals "
		        "nothing: remove it)",
		        path, strerror(errno));
	else
		ctl_err("removed %s, which vaultctl created for this rekey: the store still "
		        "unseals with its old key",
		        path);
}

/* The new key file: created when it does not exist (*ret_created), then
 * read like any key file (32 bytes, not readable by group or others).
 * O_EXCL decides "exists", so there is no window between a check and the
 * creation. Returns an exit code. */
static int new_key_file(const char *path, struct secbuf **ret, bool *ret_created)
{
	int r = kek_generate_keyfile(path);
	if (r < 0 && r != -EEXIST) {
		ctl_err("cannot create key file %s: %s", path, strerror(-r));
		return r == -EACCES ? CTL_DENIED : CTL_ERROR;
	}
	int rc = keys_read_key_file(path, ret);
	if (rc != CTL_OK && r == 0)
		remove_created(path);
	if (rc == CTL_OK)
		*ret_created = r == 0;
	return rc;
}

/* {"key": base64} or {"passphrase": ..., "kdf"?}; *ret_created says that
 * vaultctl made the key file. Returns an exit code. */
static int rekey_body(const struct rekey_args *a, json_t **ret, bool *ret_created)
{
	struct secbuf *secret = NULL;
	bool created = false;
	int rc = a->key_file ? new_key_file(a->key_file, &secret, &created)
	                     : keys_read_new_passphrase(a->pass_stdin, &secret);
	if (rc != CTL_OK)
		return rc;
	json_t *body = NULL;
	rc = keys_json_body(secret, a->key_file != NULL, &body);
	secbuf_free(secret);
	if (rc == CTL_OK && a->kdf && json_object_set_new(body, "kdf", json_string(a->kdf)) < 0) {
		ctl_err("out of memory");
		rc = CTL_ERROR;
	}
	if (rc != CTL_OK) {
		json_decref(body);
		if (created)
			remove_created(a->key_file);
		return rc;
	}
	*ret = body;
	*ret_created = created;
	return CTL_OK;
}

/* After a failed rekey to a key file vaultctl created: remove the file when
 * vaultd certainly did not rekey (it answered with an error, or never got
 * the whole request). Otherwise the file may be the only key that unseals
 * the store now, and it stays. */
static void after_failed_rekey(const char *path, int status, bool sent)
{
	bool refused = status >= 300 || (status == 0 && !sent);
	if (refused)
		remove_created(path);
	else
		ctl_err("kept %s: vaultd may have rekeyed the store to it without a proper answer "
		        "(see vaultd's log)",
		        path);
}

static int print_rekeyed(bool json, const struct rekey_args *a, const json_t *o)
{
	if (json)
		return o && out_json(o) == 0 ? CTL_OK : CTL_ERROR;
	if (!a->key_file) {
		printf("store rekeyed: it unseals only with the new passphrase now\n");
		return CTL_OK;
	}
	/* vaultd's --key-file must name the file wherever vaultd runs from. */
	char abs[PATH_MAX];
	const char *shown = realpath(a->key_file, abs) ? abs : a->key_file;
	printf("store rekeyed: it unseals only with %s now; point vaultd --key-file (or its "
	       "vaultd.key credential) at it before vaultd restarts\n",
	       shown);
	return CTL_OK;
}

/* The new KEK itself, for a rekey made here: the key file's bytes, or the
 * passphrase through Argon2id with fresh parameters (*kdf). Exit code. */
static int offline_new_kek(const struct rekey_args *a, struct kdf_params *kdf, struct secbuf **ret,
                           bool *ret_created)
{
	if (a->key_file)
		return new_key_file(a->key_file, ret, ret_created);
	struct secbuf *pass = NULL;
	int rc = keys_read_new_passphrase(a->pass_stdin, &pass);
	if (rc != CTL_OK)
		return rc;
	kdf_params_new(kdf, a->kdf && strcmp(a->kdf, "interactive") == 0);
	int r = kek_from_passphrase(pass, kdf, ret);
	secbuf_free(pass);
	if (r < 0) {
		ctl_err("cannot derive the key from the new passphrase: %s", strerror(-r));
		return CTL_ERROR;
	}
	return CTL_OK;
}

/* Unseals the store file with its current key first, so that a wrong one
 * costs no new key file and no Argon2id. */
static int rekey_offline(bool json, const struct rekey_args *a)
{
	struct key_offline o;
	int rc = key_offline_begin(a->st.store, &a->st.key, &o);
	if (rc != CTL_OK)
		return rc;
	struct kdf_params kdf;
	struct secbuf *kek = NULL;
	bool created = false;
	rc = offline_new_kek(a, &kdf, &kek, &created);
	if (rc == CTL_OK)
		rc = key_offline_rekey(&o, a->key_file ? KEK_KEYFILE : KEK_PASSPHRASE, &kdf, kek);
	secbuf_free(kek);
	key_offline_end(&o);
	if (rc != CTL_OK) {
		if (created)
			remove_created(a->key_file);
		return rc;
	}
	json_t *out = json_pack("{s:s}", "kek", a->key_file ? "keyfile" : "passphrase");
	rc = print_rekeyed(json, a, out);
	json_decref(out);
	return rc;
}

static int key_rekey(const struct ctl *c, int argc, char **argv)
{
	struct rekey_args a = {0};
	struct ctl_cmd x;
	json_t *body = NULL, *resp = NULL;
	bool created = false, sent = false;
	int status = 0;
	int rc = cmd_parse(&x, c, &rekey_spec, argc, argv, rekey_opt, &a);
	if (rc != CMD_RUN || (rc = rekey_check(&a)) != CMD_RUN)
		goto out;
	if (a.st.store) {
		rc = rekey_offline(x.c.json, &a);
		goto out;
	}
	rc = rekey_body(&a, &body, &created);
	if (rc != CTL_OK)
		goto out;
	rc = ctl_call_tracked(&x.c, "POST", "/v1/sys/rekey", body, &resp, &status, &sent);
	if (rc != CTL_OK && created)
		after_failed_rekey(a.key_file, status, sent);
	if (rc == CTL_OK)
		rc = print_rekeyed(x.c.json, &a, resp);
out:
	json_decref(body);
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

static const struct ctl_subcommand key_subs[] = {
    {"rotate", key_rotate, "make a new data key active; older versions are re-sealed"},
    {"rekey", key_rekey, "make the store unseal only with a new key file or passphrase"},
    {NULL, NULL, NULL},
};

int cmd_key(const struct ctl *c, int argc, char **argv)
{
	return ctl_dispatch_family("key", key_subs, c, argc, argv);
}
