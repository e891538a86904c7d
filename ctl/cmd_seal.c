/* vaultctl unseal / seal: the passphrase (no-echo prompt or stdin) or the
 * key file travels to POST /v1/sys/unseal in guarded memory only. */
#include <stdio.h>

#include "ctl.h"
#include "keys.h"
#include "output.h"

enum { OPT_PASS_STDIN = 1, OPT_KEY_FILE };

static const struct args_opt unseal_opts[] = {
    {"passphrase-stdin", 0, false, OPT_PASS_STDIN, NULL,
     "read the passphrase from stdin (one line) instead of the terminal"},
    {"key-file", 0, true, OPT_KEY_FILE, "FILE",
     "unseal a key-file store with this 32-byte key file (mode 0600)"},
    {0},
};

static const struct cmd_spec unseal_spec = {
    .name = "unseal",
    .usage = "[--passphrase-stdin | --key-file FILE]",
    .summary = "Unseal vaultd: it derives the key from the passphrase (asked on the terminal "
               "without echo, or read from stdin) or reads it from a key file.",
    .details = "A wrong passphrase or key exits 4. On a vaultd that is unsealed already it "
               "prints so and exits 0, the key unchecked.",
    .opts = unseal_opts,
    .json_output = true,
};

struct unseal_args {
	bool pass_stdin;
	const char *key_file;
};

static int unseal_opt(void *st, int id, const char *arg)
{
	struct unseal_args *u = st;
	if (id == OPT_PASS_STDIN)
		u->pass_stdin = true;
	else if (id == OPT_KEY_FILE)
		u->key_file = arg;
	return 0;
}

/* {"passphrase": ...} or {"key": base64}, the secret read into guarded
 * memory and wiped once it is in the body. */
static int unseal_body(const struct unseal_args *u, json_t **ret)
{
	struct secbuf *secret = NULL;
	int rc = u->key_file ? keys_read_key_file(u->key_file, &secret)
	                     : keys_read_passphrase(u->pass_stdin, &secret);
	if (rc != CTL_OK)
		return rc;
	rc = keys_json_body(secret, u->key_file != NULL, ret);
	secbuf_free(secret);
	return rc;
}

int cmd_unseal(const struct ctl *c, int argc, char **argv)
{
	struct unseal_args u = {0};
	struct ctl_cmd x;
	json_t *body = NULL, *o = NULL;
	int rc = cmd_parse(&x, c, &unseal_spec, argc, argv, unseal_opt, &u);
	if (rc != CMD_RUN)
		goto out;
	if (u.pass_stdin && u.key_file) {
		rc = cmd_usage(&unseal_spec, "use either --passphrase-stdin or --key-file");
		goto out;
	}
	rc = unseal_body(&u, &body);
	if (rc != CTL_OK)
		goto out;
	rc = ctl_call(&x.c, "POST", "/v1/sys/unseal", body, &o);
	if (rc != CTL_OK)
		goto out;
	if (x.c.json)
		out_json(o);
	else
		printf("vaultd is unsealed\n");
out:
	json_decref(body);
	json_decref(o);
	cmd_done(&x);
	return rc;
}

static const struct cmd_spec seal_spec = {
    .name = "seal",
    .usage = "",
    .summary = "Seal vaultd: it wipes its keys and refuses secret requests until "
               "`vaultctl unseal`.",
    .json_output = true,
};

int cmd_seal(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *o = NULL;
	int rc = cmd_parse(&x, c, &seal_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN) { /* --help (exit 0) or a usage error */
		cmd_done(&x);
		return rc;
	}
	rc = ctl_call(&x.c, "POST", "/v1/sys/seal", NULL, &o);
	if (rc == CTL_OK) {
		if (x.c.json)
			out_json(o);
		else
			printf("vaultd is sealed\n");
	}
	json_decref(o);
	cmd_done(&x);
	return rc;
}
