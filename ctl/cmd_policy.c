/* vaultctl policy put / get / list / rm: policy documents are JSON
 * ({"rules":[{"names":"app.*","capabilities":["read"]}]}), checked locally
 * for syntax before they are sent. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "httpc.h"
#include "input.h"
#include "jsonx.h"
#include "output.h"

/* The API's body limit. */
#define POLICY_MAX_BYTES (1024u * 1024u)

/* "/v1/policies/<escaped name>" or a usage error. */
static int policy_path(const struct cmd_spec *s, const char *name, char *buf, size_t cap)
{
	char esc[3 * 128 + 1];
	if (!*name || strlen(name) > 128 || httpc_escape(name, esc, sizeof(esc)) < 0)
		return cmd_usage(s, "a policy name is 1-128 characters");
	snprintf(buf, cap, "/v1/policies/%s", esc);
	return CMD_RUN;
}

/* ---- put ---- */

static const struct cmd_spec put_spec = {
    .name = "policy put",
    .usage = "NAME FILE|-",
    .summary = "Create or replace a policy from a JSON file (- = stdin).",
    .details = "Example document:\n"
               "  {\"rules\": [{\"names\": \"app.*\", \"capabilities\": [\"read\", \"list\"]},\n"
               "             {\"names\": \"app.root\", \"capabilities\": [\"read\"], "
               "\"deny\": true}]}\n"
               "Capabilities: read, list, write, rotate, delete, admin. Globs: * and ?. "
               "Deny wins.",
    .min_operands = 2,
    .max_operands = 2,
    .json_output = true,
};

static int load_document(const char *file, json_t **ret)
{
	struct secbuf *text = NULL;
	int r = input_read_path(file, POLICY_MAX_BYTES, &text);
	if (r < 0) {
		ctl_err("cannot read policy %s: %s", file,
		        r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return CTL_ERROR;
	}
	char err[160];
	json_t *doc = NULL;
	r = jsonx_parse_object(text->data, text->len, POLICY_MAX_BYTES, &doc, err, sizeof(err));
	secbuf_free(text);
	if (r < 0) {
		ctl_err("policy %s is not a JSON object: %s", file, err);
		return CTL_USAGE;
	}
	if (!json_is_array(json_object_get(doc, "rules"))) {
		json_decref(doc);
		ctl_err("policy %s needs a \"rules\" array (see `vaultctl policy put --help`)",
		        file);
		return CTL_USAGE;
	}
	*ret = doc;
	return CTL_OK;
}

static int policy_put(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *doc = NULL, *resp = NULL;
	char path[512];
	int rc = cmd_parse(&x, c, &put_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN ||
	    (rc = policy_path(&put_spec, x.operands[0], path, sizeof(path))) != CMD_RUN)
		goto out;
	if ((rc = load_document(x.operands[1], &doc)) != CTL_OK)
		goto out;
	rc = ctl_call(&x.c, "PUT", path, doc, &resp);
	if (rc != CTL_OK)
		goto out;
	if (x.c.json)
		out_json(resp);
	else
		printf("policy %s saved\n", x.operands[0]);
out:
	json_decref(doc);
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

/* ---- get ---- */

static const struct cmd_spec get_spec = {
    .name = "policy get",
    .usage = "NAME",
    .summary = "Print a policy document (JSON, with its name).",
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

static int policy_get(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *resp = NULL;
	char path[512];
	int rc = cmd_parse(&x, c, &get_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN ||
	    (rc = policy_path(&get_spec, x.operands[0], path, sizeof(path))) != CMD_RUN)
		goto out;
	rc = ctl_call(&x.c, "GET", path, NULL, &resp);
	if (rc == CTL_OK)
		out_json(resp);
out:
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

/* ---- list ---- */

static const struct cmd_spec list_spec = {
    .name = "policy list",
    .usage = "[--json]",
    .summary = "List policy names, one per line.",
    .json_output = true,
};

static int print_names(const json_t *list)
{
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
	{
		if (json_is_string(p))
			printf("%s\n", json_string_value(p));
	}
	return 0;
}

static int policy_list(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *resp = NULL;
	int rc = cmd_parse(&x, c, &list_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN) { /* --help (exit 0) or a usage error */
		cmd_done(&x);
		return rc;
	}
	rc = ctl_call(&x.c, "GET", "/v1/policies", NULL, &resp);
	if (rc == CTL_OK)
		rc = cmd_print_list(resp, "policies", x.c.json, print_names);
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

/* ---- rm ---- */

static const struct cmd_spec rm_spec = {
    .name = "policy rm",
    .usage = "NAME",
    .summary = "Remove a policy (tokens bound to it lose what it granted).",
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

static int policy_rm(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *resp = NULL;
	char path[512];
	int rc = cmd_parse(&x, c, &rm_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN ||
	    (rc = policy_path(&rm_spec, x.operands[0], path, sizeof(path))) != CMD_RUN)
		goto out;
	rc = ctl_call(&x.c, "DELETE", path, NULL, &resp);
	if (rc != CTL_OK)
		goto out;
	if (x.c.json && resp)
		out_json(resp);
	else if (x.c.json)
		printf("{\"name\": \"%s\", \"deleted\": true}\n", path + strlen("/v1/policies/"));
	else
		printf("policy %s removed\n", x.operands[0]);
out:
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

static const struct ctl_subcommand policy_subs[] = {
    {"put", policy_put, "create or replace a policy from a JSON file"},
    {"get", policy_get, "print a policy document"},
    {"list", policy_list, "list policy names"},
    {"rm", policy_rm, "remove a policy"},
    {NULL, NULL, NULL},
};

int cmd_policy(const struct ctl *c, int argc, char **argv)
{
	return ctl_dispatch_family("policy", policy_subs, c, argc, argv);
}
