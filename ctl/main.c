/* vaultctl: secret hygiene first, then the global options, then one
 * command from the table below. Everything talks to vaultd through its API
 * except `restore` and `audit verify --store`, which work on a store file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "hygiene.h"

struct command {
	const char *name;
	int (*fn)(const struct ctl *c, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"status", cmd_status, "show whether vaultd is sealed, its version and size"},
    {"unseal", cmd_unseal, "unseal vaultd with the passphrase or key file"},
    {"seal", cmd_seal, "seal vaultd (wipes its keys from memory)"},
    {"set", cmd_set, "write a new version of a secret (value from stdin/prompt/file)"},
    {"get", cmd_get, "print a secret's value (current, --previous or --version N)"},
    {"list", cmd_list, "list secrets and their metadata (never values)"},
    {"history", cmd_history, "list a secret's versions"},
    {"rotate", cmd_rotate, "make a new current version (generated or from stdin)"},
    {"rollback", cmd_rollback, "make a new version carrying an old version's value"},
    {"rm", cmd_rm, "delete a secret (undo with undelete), or --destroy its values"},
    {"undelete", cmd_undelete, "bring back a deleted secret"},
    {"token", cmd_token, "create, list and revoke API tokens"},
    {"policy", cmd_policy, "put, get, list and remove access policies"},
    {"audit", cmd_audit, "show the audit log, verify its hash chain"},
    {"key", cmd_key, "rotate the data key, or rekey the store (new key file or passphrase)"},
    {"backup", cmd_backup, "write a consistent snapshot of the store to a file"},
    {"restore", cmd_restore, "restore a backup into a new store file (offline)"},
    {"import-env", cmd_import_env, "import a .env file's variables as secrets"},
    {"compose", cmd_compose, "move a docker-compose.yml's passwords into vaultd"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: vaultctl [--socket PATH] [--token-file FILE] COMMAND [ARGS...]\n\n"
	             "The admin CLI of vaultd. Commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-11s %s\n", c->name, c->summary);
	fprintf(out,
	        "\nRun `vaultctl COMMAND --help` for a command's options.\n\n"
	        "Global options (also accepted after the command):\n"
	        "  --socket PATH        vaultd's socket\n"
	        "  --token-file FILE    read the API token from FILE\n"
	        "  --json               JSON output for read commands\n"
	        "  -h, --help           this help\n"
	        "  --version            print vaultctl's version\n\n"
	        "Environment:\n"
	        "  VAULTD_SOCKET   socket path when --socket is not given (default %s)\n"
	        "  VAULTD_TOKEN    API token when --token-file is not given; without a token,\n"
	        "                  vaultd authorises by the caller's uid (root and admin uids)\n\n"
	        "%s",
	        CTL_DEFAULT_SOCKET, CTL_EXIT_CODES_HELP);
}

/* The options before the command. Returns the index of the command, or
 * -exitcode when vaultctl must stop. */
static int global_options(int argc, char **argv, struct ctl *c, struct secbuf **token)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return -CTL_OK;
		}
		if (strcmp(a, "--version") == 0) {
			printf("vaultctl %s\n", VAULT_VERSION);
			return -CTL_OK;
		}
		if (strcmp(a, "--json") == 0) {
			c->json = true;
			continue;
		}
		bool sock = strncmp(a, "--socket", 8) == 0 && (a[8] == '\0' || a[8] == '=');
		bool tokf = strncmp(a, "--token-file", 12) == 0 && (a[12] == '\0' || a[12] == '=');
		if (!sock && !tokf) {
			fprintf(stderr, "vaultctl: unknown option %.64s\nRun `vaultctl --help`.\n",
			        a);
			return -CTL_USAGE;
		}
		const char *eq = strchr(a, '=');
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, "vaultctl: option %s needs a value\n", a);
			return -CTL_USAGE;
		}
		if (sock) {
			c->socket = val;
		} else {
			struct secbuf *t = NULL;
			if (ctl_load_token_file(val, &t) < 0)
				return -CTL_USAGE;
			secbuf_free(*token);
			*token = t;
			c->token = t;
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	if (vault_init() < 0 || vault_harden_process() < 0) {
		fprintf(stderr, "vaultctl: cannot initialise libsodium or disable core dumps\n");
		return CTL_ERROR;
	}
	struct ctl c = {.socket = CTL_DEFAULT_SOCKET};
	const char *env_sock = getenv(CTL_ENV_SOCKET);
	if (env_sock && *env_sock)
		c.socket = env_sock;
	struct secbuf *token = NULL;
	const char *env_tok = getenv(CTL_ENV_TOKEN);
	if (env_tok && *env_tok) {
		token = secbuf_dup(env_tok, strlen(env_tok));
		c.token = token;
	}

	int rc;
	int i = global_options(argc, argv, &c, &token);
	if (i <= 0) {
		rc = -i;
	} else if (i >= argc) {
		usage(stderr);
		rc = CTL_USAGE;
	} else {
		const struct command *cmd = commands;
		while (cmd->name && strcmp(cmd->name, argv[i]) != 0)
			cmd++;
		if (strcmp(argv[i], "help") == 0) {
			usage(stdout);
			rc = CTL_OK;
		} else if (!cmd->name) {
			fprintf(stderr,
			        "vaultctl: unknown command \"%.64s\"\nRun `vaultctl --help`.\n",
			        argv[i]);
			rc = CTL_USAGE;
		} else {
			rc = cmd->fn(&c, argc - i, argv + i);
		}
	}
	secbuf_free(token);
	fflush(stdout);
	return rc;
}
