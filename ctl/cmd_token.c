/* vaultctl token create / list / revoke. A new token is shown once: on
 * stdout, or only in a 0600 file written atomically (--output-file). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "files.h"
#include "httpc.h"
#include "output.h"

enum { OPT_POLICY = 1, OPT_TTL, OPT_USES, OPT_OUTPUT_FILE };

#define MAX_POLICIES 32
#define MAX_POLICY_NAME 128

/* ---- create ---- */

static const struct args_opt create_opts[] = {
    {"policy", 'p', true, OPT_POLICY, "NAME", "grant this policy (repeatable, or comma-separated)"},
    {"ttl", 0, true, OPT_TTL, "DURATION", "expire after DURATION (90, 15m, 1h, 7d; 0 = never)"},
    {"uses", 0, true, OPT_USES, "N", "valid for N requests only (1 = one-use token)"},
    {"output-file", 'o', true, OPT_OUTPUT_FILE, "FILE",
     "write the token to FILE (mode 0600, atomically) instead of stdout"},
    {0},
};

static const struct cmd_spec create_spec = {
    .name = "token create",
    .usage = "--policy NAME... [--ttl DURATION] [--uses N] [--output-file FILE]",
    .summary = "Create an API token. The token is shown once: printed on stdout (details on "
               "stderr),\nor written to --output-file (details on stdout).",
    .details = "Give it to a client with VAULTD_TOKEN or --token-file (inject: "
               "--token-file / INJECT_TOKEN_FILE).",
    .opts = create_opts,
    .json_output = true,
};

struct create_args {
	json_t *policies;
	int64_t ttl;
	int64_t uses;
	const char *output_file;
};

static int add_policies(struct create_args *a, const char *list)
{
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n == 0 || n > MAX_POLICY_NAME)
			return cmd_usage(&create_spec,
			                 "--policy needs policy names (a,b or repeated)");
		if (json_array_size(a->policies) >= MAX_POLICIES)
			return cmd_usage(&create_spec, "at most %d policies", MAX_POLICIES);
		if (json_array_append_new(a->policies, json_stringn(p, n)) < 0)
			return cmd_usage(&create_spec, "policy names must be UTF-8 text");
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int create_opt(void *st, int id, const char *arg)
{
	struct create_args *a = st;
	uint64_t v;
	switch (id) {
	case OPT_POLICY:
		return add_policies(a, arg);
	case OPT_TTL:
		if (args_parse_duration(arg, &a->ttl) < 0)
			return cmd_usage(
			    &create_spec,
			    "--ttl needs a duration such as 3600, 30m, 1h, 7d (0 = never)");
		return 0;
	case OPT_USES:
		if (args_parse_u64(arg, 1, INT32_MAX, &v) < 0)
			return cmd_usage(&create_spec, "--uses needs a count of 1 or more");
		a->uses = (int64_t)v;
		return 0;
	case OPT_OUTPUT_FILE:
		a->output_file = arg;
		return 0;
	default:
		return CTL_USAGE;
	}
}

static void print_details(FILE *out, const json_t *o)
{
	char when[32];
	json_t *pol = json_object_get(o, "policies");
	fprintf(out, "accessor: %s\npolicies: ", json_str_or(o, "accessor", "?"));
	size_t i;
	json_t *p;
	json_array_foreach(pol, i, p)
	{
		fprintf(out, "%s%s", i ? "," : "", json_string_value(p));
	}
	int64_t uses = json_int_or(o, "uses", -1);
	fprintf(out, "\nexpires:  %s\n",
	        fmt_time(json_int_or(o, "expires", 0), when, sizeof(when)));
	if (uses > 0)
		fprintf(out, "uses:     %lld\n", (long long)uses);
	else
		fprintf(out, "uses:     unlimited\n");
}

/* Shows the token once: in the file, or on stdout. */
static int deliver(const struct ctl *c, const struct create_args *a, json_t *o)
{
	const char *token = json_str_or(o, "token", NULL);
	if (!token) {
		ctl_err("vaultd's answer has no token");
		return CTL_ERROR;
	}
	if (a->output_file) {
		int r = files_write_atomic(a->output_file, token, strlen(token), 0600);
		if (r < 0) {
			ctl_err(
			    "cannot write %s: %s (the token was created; revoke it with `vaultctl "
			    "token revoke %s`)",
			    a->output_file, strerror(-r), json_str_or(o, "accessor", "?"));
			return CTL_ERROR;
		}
		json_object_del(o, "token");
		if (c->json)
			out_json(o);
		else
			print_details(stdout, o);
		return CTL_OK;
	}
	if (c->json)
		return out_json_secret(o) == 0 ? CTL_OK : CTL_ERROR;
	struct secbuf *line = secbuf_new(strlen(token) + 1);
	if (!line)
		return CTL_ERROR;
	memcpy(line->data, token, line->len - 1);
	line->data[line->len - 1] = '\n';
	fflush(stdout);
	int r = out_write_all(1, line->data, line->len);
	secbuf_free(line);
	print_details(stderr, o);
	return r == 0 ? CTL_OK : CTL_ERROR;
}

static int token_create(const struct ctl *c, int argc, char **argv)
{
	struct create_args a = {.policies = json_array(), .uses = -1};
	struct ctl_cmd x;
	json_t *body = NULL, *resp = NULL;
	int rc = cmd_parse(&x, c, &create_spec, argc, argv, create_opt, &a);
	if (rc != CMD_RUN)
		goto out;
	if (json_array_size(a.policies) == 0) {
		rc = cmd_usage(&create_spec, "give at least one --policy");
		goto out;
	}
	body = json_pack("{s:O}", "policies", a.policies);
	if (a.ttl > 0)
		json_object_set_new(body, "ttl", json_integer(a.ttl));
	if (a.uses > 0)
		json_object_set_new(body, "uses", json_integer(a.uses));
	rc = ctl_call(&x.c, "POST", "/v1/tokens", body, &resp);
	if (rc == CTL_OK)
		rc = deliver(&x.c, &a, resp);
out:
	json_decref(a.policies);
	json_decref(body);
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

/* ---- list ---- */

static const struct cmd_spec list_spec = {
    .name = "token list",
    .usage = "[--json]",
    .summary = "List tokens by accessor (never the tokens themselves).",
    .json_output = true,
};

static int print_token_table(const json_t *arr)
{
	static const char *const head[] = {"ACCESSOR", "POLICIES",  "CREATED",
	                                   "EXPIRES",  "USES_LEFT", "CREATED_BY"};
	struct table *t = table_new(6, head);
	if (!t)
		return -1;
	size_t i;
	json_t *tok;
	json_array_foreach(arr, i, tok)
	{
		char pol[256] = "", created[32], expires[32], uses[24];
		size_t j, off = 0;
		json_t *p;
		json_array_foreach(json_object_get(tok, "policies"), j, p)
		{
			int n = snprintf(pol + off, sizeof(pol) - off, "%s%s", j ? "," : "",
			                 json_string_value(p) ? json_string_value(p) : "?");
			if (n < 0 || (size_t)n >= sizeof(pol) - off)
				break;
			off += (size_t)n;
		}
		int64_t left = json_int_or(tok, "uses_left", -1);
		if (left >= 0)
			snprintf(uses, sizeof(uses), "%lld", (long long)left);
		else
			snprintf(uses, sizeof(uses), "unlimited");
		const char *row[] = {json_str_or(tok, "accessor", "?"),
		                     pol,
		                     fmt_time(json_int_or(tok, "created", 0), created, 32),
		                     fmt_time(json_int_or(tok, "expires", 0), expires, 32),
		                     uses,
		                     json_str_or(tok, "created_by", "")};
		table_add(t, row);
	}
	return table_finish(t, stdout);
}

static int token_list(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *resp = NULL;
	int rc = cmd_parse(&x, c, &list_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN) { /* --help (exit 0) or a usage error */
		cmd_done(&x);
		return rc;
	}
	rc = ctl_call(&x.c, "GET", "/v1/tokens", NULL, &resp);
	if (rc == CTL_OK)
		rc = cmd_print_list(resp, "tokens", x.c.json, print_token_table);
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

/* ---- revoke ---- */

static const struct cmd_spec revoke_spec = {
    .name = "token revoke",
    .usage = "ACCESSOR",
    .summary = "Revoke a token by its accessor (see `vaultctl token list`).",
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

static int token_revoke(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *resp = NULL;
	int rc = cmd_parse(&x, c, &revoke_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN)
		goto out;
	char esc[256], path[320];
	if (httpc_escape(x.operands[0], esc, sizeof(esc)) < 0 || x.operands[0][0] == '\0') {
		rc = cmd_usage(&revoke_spec, "that is not an accessor");
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/tokens/%s", esc);
	rc = ctl_call(&x.c, "DELETE", path, NULL, &resp);
	if (rc != CTL_OK)
		goto out;
	if (x.c.json)
		out_json(resp);
	else
		printf("token %s revoked\n", esc);
out:
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

static const struct ctl_subcommand token_subs[] = {
    {"create", token_create, "create a token bound to policies"},
    {"list", token_list, "list tokens (accessors, policies, expiry, uses left)"},
    {"revoke", token_revoke, "revoke a token by accessor"},
    {NULL, NULL, NULL},
};

int cmd_token(const struct ctl *c, int argc, char **argv)
{
	return ctl_dispatch_family("token", token_subs, c, argc, argv);
}
