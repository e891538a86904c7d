/* vaultctl get / list / history: reading secrets and their metadata. Only
 * `get` sees a value, and it writes the exact bytes (guarded memory to fd). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "httpc.h"
#include "jsonx.h"
#include "names.h"
#include "output.h"
#include "seal.h"

/* ---- get ---- */

enum { OPT_VERSION = 1, OPT_PREVIOUS, OPT_PREFIX, OPT_DELETED };

static const struct args_opt get_opts[] = {
    {"version", 'v', true, OPT_VERSION, "N", "print version N instead of the current one"},
    {"previous", 0, false, OPT_PREVIOUS, NULL,
     "print the previous version (the one before the last rotation)"},
    {0},
};

static const struct cmd_spec get_spec = {
    .name = "get",
    .usage = "NAME [--version N | --previous] [--json]",
    .summary = "Print a secret's value: its exact bytes, with a newline only when stdout is "
               "a terminal.",
    .details = "--json prints vaultd's answer: name, version, stage, created and the value in "
               "base64.",
    .opts = get_opts,
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

struct get_args {
	uint64_t version;
	bool previous;
};

static int get_opt(void *st, int id, const char *arg)
{
	struct get_args *g = st;
	if (id == OPT_PREVIOUS) {
		g->previous = true;
		return 0;
	}
	if (args_parse_u64(arg, 1, INT64_MAX, &g->version) < 0)
		return cmd_usage(&get_spec, "--version needs a version number (1, 2, ...)");
	return 0;
}

int cmd_get(const struct ctl *c, int argc, char **argv)
{
	struct get_args g = {0};
	struct ctl_cmd x;
	json_t *o = NULL;
	struct secbuf *value = NULL;
	int rc = cmd_parse(&x, c, &get_spec, argc, argv, get_opt, &g);
	if (rc != CMD_RUN || (rc = cmd_check_name(&get_spec, x.operands[0])) != CMD_RUN)
		goto out;
	if (g.previous && g.version) {
		rc = cmd_usage(&get_spec, "use either --version or --previous");
		goto out;
	}
	char query[48] = "", what[48] = "";
	if (g.version) {
		snprintf(query, sizeof(query), "?version=%llu", (unsigned long long)g.version);
		snprintf(what, sizeof(what), "version %llu", (unsigned long long)g.version);
	} else if (g.previous) {
		snprintf(query, sizeof(query), "?stage=previous");
		snprintf(what, sizeof(what), "previous version");
	}
	char path[512];
	ctl_secret_path(x.operands[0], query, path, sizeof(path));
	rc = ctl_call_secret(&x.c, "GET", path, NULL, &o, x.operands[0], what[0] ? what : NULL);
	if (rc != CTL_OK)
		goto out;
	if (x.c.json) {
		rc = out_json_secret(o) == 0 ? CTL_OK : CTL_ERROR;
		goto out;
	}
	if (jsonx_get_b64(o, "value", VAULT_MAX_VALUE_BYTES, &value) < 0) {
		ctl_err("vaultd's answer for %s has no valid value", x.operands[0]);
		rc = CTL_ERROR;
		goto out;
	}
	rc = out_value(value) == 0 ? CTL_OK : CTL_ERROR;
out:
	secbuf_free(value);
	json_decref(o);
	cmd_done(&x);
	return rc;
}

/* ---- list ---- */

static const struct args_opt list_opts[] = {
    {"prefix", 'p', true, OPT_PREFIX, "P", "only names that start with P"},
    {"deleted", 0, false, OPT_DELETED, NULL, "include deleted secrets"},
    {0},
};

static const struct cmd_spec list_spec = {
    .name = "list",
    .usage = "[--prefix P] [--deleted] [--json]",
    .summary = "List secrets with their current and previous versions and metadata; never "
               "values.",
    .opts = list_opts,
    .json_output = true,
};

struct list_args {
	const char *prefix;
	bool deleted;
};

static int list_opt(void *st, int id, const char *arg)
{
	struct list_args *l = st;
	if (id == OPT_PREFIX)
		l->prefix = arg;
	else
		l->deleted = true;
	return 0;
}

static void version_cell(const json_t *o, const char *key, char *buf, size_t cap)
{
	int64_t v = json_int_or(o, key, 0);
	if (v > 0)
		snprintf(buf, cap, "%lld", (long long)v);
	else
		snprintf(buf, cap, "-");
}

static int print_secret_table(const json_t *arr)
{
	static const char *const head[] = {"NAME",    "CURRENT",    "PREVIOUS",
	                                   "UPDATED", "UPDATED_BY", "DESCRIPTION"};
	struct table *t = table_new(6, head);
	if (!t)
		return -1;
	size_t i;
	json_t *m;
	json_array_foreach(arr, i, m)
	{
		char cur[24], prev[24], when[32], name[VAULT_MAX_NAME_LEN + 16];
		version_cell(m, "current_version", cur, sizeof(cur));
		version_cell(m, "previous_version", prev, sizeof(prev));
		fmt_time(json_int_or(m, "updated", 0), when, sizeof(when));
		bool deleted = json_is_true(json_object_get(m, "deleted"));
		snprintf(name, sizeof(name), "%s%s", json_str_or(m, "name", "?"),
		         deleted ? " (deleted)" : "");
		const char *row[] = {name,
		                     cur,
		                     prev,
		                     when,
		                     json_str_or(m, "updated_by", ""),
		                     json_str_or(m, "description", "")};
		table_add(t, row);
	}
	return table_finish(t, stdout);
}

int cmd_list(const struct ctl *c, int argc, char **argv)
{
	struct list_args l = {0};
	struct ctl_cmd x;
	json_t *o = NULL;
	int rc = cmd_parse(&x, c, &list_spec, argc, argv, list_opt, &l);
	if (rc != CMD_RUN)
		goto out;
	char esc[3 * VAULT_MAX_NAME_LEN + 1] = "";
	if (l.prefix && httpc_escape(l.prefix, esc, sizeof(esc)) < 0) {
		rc = cmd_usage(&list_spec, "--prefix is longer than a name can be");
		goto out;
	}
	char path[512];
	snprintf(path, sizeof(path), "/v1/secrets%s%s%s", l.prefix ? "?prefix=" : "", esc,
	         l.deleted ? (l.prefix ? "&deleted=1" : "?deleted=1") : "");
	rc = ctl_call(&x.c, "GET", path, NULL, &o);
	if (rc != CTL_OK)
		goto out;
	rc = cmd_print_list(o, "secrets", x.c.json, print_secret_table);
out:
	json_decref(o);
	cmd_done(&x);
	return rc;
}

/* ---- history ---- */

static const struct cmd_spec history_spec = {
    .name = "history",
    .usage = "NAME [--json]",
    .summary = "List a secret's versions: number, stage (current/previous), creation time "
               "and author, and whether the value was destroyed.",
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

static int print_history_table(const json_t *arr)
{
	static const char *const head[] = {"VERSION", "STAGE", "CREATED", "CREATED_BY",
	                                   "DESTROYED"};
	struct table *t = table_new(5, head);
	if (!t)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		char ver[24], when[32];
		snprintf(ver, sizeof(ver), "%lld", (long long)json_int_or(v, "version", 0));
		fmt_time(json_int_or(v, "created", 0), when, sizeof(when));
		const char *row[] = {ver, json_str_or(v, "stage", "-"), when,
		                     json_str_or(v, "created_by", ""),
		                     json_is_true(json_object_get(v, "destroyed")) ? "yes" : "no"};
		table_add(t, row);
	}
	return table_finish(t, stdout);
}

int cmd_history(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *o = NULL;
	int rc = cmd_parse(&x, c, &history_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN || (rc = cmd_check_name(&history_spec, x.operands[0])) != CMD_RUN)
		goto out;
	char path[512];
	ctl_secret_path(x.operands[0], "/versions", path, sizeof(path));
	rc = ctl_call_secret(&x.c, "GET", path, NULL, &o, x.operands[0], NULL);
	if (rc != CTL_OK)
		goto out;
	rc = cmd_print_list(o, "versions", x.c.json, print_history_table);
out:
	json_decref(o);
	cmd_done(&x);
	return rc;
}
