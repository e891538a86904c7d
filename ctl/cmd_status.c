/* vaultctl status: GET /v1/sys/status as a short report; exit 5 when sealed
 * so that scripts can test it. */
#include <stdio.h>

#include "ctl.h"
#include "output.h"

static const struct cmd_spec status_spec = {
    .name = "status",
    .usage = "[--json]",
    .summary = "Show whether vaultd is sealed, its version, store backend, number of secrets,\n"
               "active data key and versions still to re-seal.",
    .details = "Exits 0 when vaultd is unsealed and 5 when it is sealed or unreachable.",
    .max_operands = 0,
    .json_output = true,
};

/* The active data key and the versions still sealed under older ones
 * (`vaultctl key rotate`); vaultd sends null for both while sealed, and an
 * older vaultd sends neither. */
static void print_keys(const json_t *o)
{
	int64_t id = json_int_or(o, "key_id", -1);
	int64_t pending = json_int_or(o, "reseal_pending", -1);
	if (id >= 0)
		printf("data key:  %lld\n", (long long)id);
	if (pending >= 0)
		printf("re-seal:   %lld version%s pending\n", (long long)pending,
		       pending == 1 ? "" : "s");
}

int cmd_status(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	int rc = cmd_parse(&x, c, &status_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN)
		goto out;
	json_t *o = NULL;
	rc = ctl_call(&x.c, "GET", "/v1/sys/status", NULL, &o);
	if (rc != CTL_OK)
		goto out;
	json_t *sealed = json_object_get(o, "sealed");
	bool is_sealed = !json_is_false(sealed);
	if (x.c.json) {
		out_json(o);
	} else {
		printf("sealed:    %s\n", is_sealed ? "yes (run `vaultctl unseal`)" : "no");
		printf("version:   %s\n", json_str_or(o, "version", "?"));
		printf("backend:   %s\n", json_str_or(o, "backend", "?"));
		if (!is_sealed) {
			printf("secrets:   %lld\n", (long long)json_int_or(o, "secrets", 0));
			printf("revision:  %lld\n", (long long)json_int_or(o, "revision", 0));
			print_keys(o);
		}
		printf("socket:    %s\n", x.c.socket);
	}
	json_decref(o);
	rc = is_sealed ? CTL_UNAVAILABLE : CTL_OK;
out:
	cmd_done(&x);
	return rc;
}
