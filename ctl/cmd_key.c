/* vaultctl key rotate / rekey: a new data key for new writes (vaultd
 * re-seals older versions in the background), or a new key-encryption key
 * from a key file or a passphrase, which travels in guarded memory only. */
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
#include "keys.h"
#include "output.h"

/* ---- rotate ---- */

static const struct cmd_spec rotate_spec = {
    .name = "key rotate",
    .usage = "[--json]",
    .summary = "Make a new data key active for new writes. vaultd re-seals the versions under "
               "older\ndata keys in the background; `vaultctl status` shows how many are left.",
    .details = "Use it routinely, or when a data key may have been exposed. Values keep their "
               "versions;\nnothing needs a restart.",
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

static int key_rotate(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *resp = NULL;
	int rc = cmd_parse(&x, c, &rotate_spec, argc, argv, NULL, NULL);
	if (rc == CMD_RUN)
		rc = ctl_call(&x.c, "POST", "/v1/sys/rotate", NULL, &resp);
	if (rc == CTL_OK)
		rc = print_rotated(x.c.json, resp);
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
    {0},
};

static const struct cmd_spec rekey_spec = {
    .name = "key rekey",
    .usage = "--new-key-file FILE | --new-passphrase-stdin [--kdf moderate|interactive]",
    .summary = "Rekey the store: from now on it unseals only with the new key file or "
               "passphrase;\nthe old one stops working. vaultd must be unsealed.",
    .details = "Without either option, on a terminal, the new passphrase is asked twice without "
               "echo.\nA key file that vaultctl created is removed again when vaultd refuses "
               "the rekey.\nAfter a rekey to a key file, point vaultd --key-file (or its "
               "vaultd.key credential)\nat the new file before vaultd restarts.",
    .opts = rekey_opts,
    .json_output = true,
};

struct rekey_args {
	const char *key_file;
	bool pass_stdin;
	const char *kdf; /* NULL: vaultd's default (moderate) */
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
		return CTL_USAGE;
	}
}

/* Exactly one source of the new key, checked before anything is read or
 * created. CMD_RUN or a usage error. */
static int rekey_check(const struct rekey_args *a)
{
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
