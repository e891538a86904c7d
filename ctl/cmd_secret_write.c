/* vaultctl set / rotate / rollback / rm / undelete: the commands that make
 * new versions or change a secret's state. Values come from stdin, a file
 * or a prompt, never from argv, and are never printed unless asked (--show). */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "jsonx.h"
#include "output.h"
#include "passgen.h"
#include "seal.h"
#include "value_source.h"

enum {
	OPT_FILE = 1,
	OPT_DESCRIPTION,
	OPT_LABEL,
	OPT_CAS,
	OPT_GENERATE,
	OPT_CHARSET,
	OPT_SHOW,
	OPT_DESTROY,
	OPT_VERSION,
};

#define MAX_LABELS 64

/* ---- set ---- */

static const struct args_opt set_opts[] = {
    {"file", 'f', true, OPT_FILE, "FILE", "read the value from FILE (exact bytes; - = stdin)"},
    {"description", 'd', true, OPT_DESCRIPTION, "TEXT", "set the secret's description"},
    {"label", 'l', true, OPT_LABEL, "KEY=VALUE", "set a label (repeatable)"},
    {"cas", 0, true, OPT_CAS, "N",
     "check-and-set: write only if the current version is N (0: only if it does not exist)"},
    {0},
};

static const struct cmd_spec set_spec = {
    .name = "set",
    .usage = "NAME [--file FILE] [--description TEXT] [--label KEY=VALUE]... [--cas N]",
    .summary = "Write a new version of a secret; it becomes current, the old current becomes "
               "previous.",
    .details = "The value is read from --file, else from stdin when stdin is not a terminal "
               "(every byte,\nincluding a trailing newline: use printf '%s'), else asked "
               "twice on the terminal\nwithout echo. It is never taken from the command line. "
               "A failed --cas exits 6.",
    .opts = set_opts,
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

struct set_args {
	const char *file;
	const char *description;
	const char *labels[MAX_LABELS];
	size_t n_labels;
	int64_t cas;
};

static int set_opt(void *st, int id, const char *arg)
{
	struct set_args *s = st;
	uint64_t v;
	size_t klen;
	const char *val;
	switch (id) {
	case OPT_FILE:
		s->file = arg;
		return 0;
	case OPT_DESCRIPTION:
		s->description = arg;
		return 0;
	case OPT_LABEL:
		if (args_split_label(arg, &klen, &val) < 0)
			return cmd_usage(&set_spec, "--label needs KEY=VALUE");
		if (s->n_labels == MAX_LABELS)
			return cmd_usage(&set_spec, "at most %d labels", MAX_LABELS);
		s->labels[s->n_labels++] = arg;
		return 0;
	case OPT_CAS:
		if (args_parse_u64(arg, 0, INT64_MAX, &v) < 0)
			return cmd_usage(&set_spec,
			                 "--cas needs a version number (0 = create only)");
		s->cas = (int64_t)v;
		return 0;
	default:
		return CTL_USAGE;
	}
}

/* {"description":..., "labels":{...}} or NULL when neither was given. */
static int set_metadata(const struct set_args *s, json_t **ret)
{
	*ret = NULL;
	if (!s->description && s->n_labels == 0)
		return CTL_OK;
	json_t *m = json_object();
	if (!m)
		return CTL_ERROR;
	if (s->description && json_object_set_new(m, "description", json_string(s->description))) {
		json_decref(m);
		ctl_err("the description must be UTF-8 text");
		return CTL_USAGE;
	}
	if (s->n_labels > 0) {
		json_t *labels = json_object();
		json_object_set_new(m, "labels", labels);
		for (size_t i = 0; i < s->n_labels; i++) {
			size_t klen;
			const char *val;
			args_split_label(s->labels[i], &klen, &val);
			if (!labels || json_object_setn_new(labels, s->labels[i], klen,
			                                    json_string(val)) < 0) {
				json_decref(m);
				ctl_err("labels must be UTF-8 text");
				return CTL_USAGE;
			}
		}
	}
	*ret = m;
	return CTL_OK;
}

int cmd_set(const struct ctl *c, int argc, char **argv)
{
	struct set_args s = {.cas = -1};
	struct ctl_cmd x;
	struct secbuf *value = NULL;
	json_t *meta = NULL;
	int rc = cmd_parse(&x, c, &set_spec, argc, argv, set_opt, &s);
	if (rc != CMD_RUN || (rc = cmd_check_name(&set_spec, x.operands[0])) != CMD_RUN)
		goto out;
	const char *name = x.operands[0];
	if ((rc = set_metadata(&s, &meta)) != CTL_OK)
		goto out;
	if ((rc = value_read(name, s.file, &value)) != CTL_OK)
		goto out;
	uint64_t version = 0;
	rc = ctl_secret_put(&x.c, name, value, s.cas, meta, &version);
	if (rc != CTL_OK)
		goto out;
	if (x.c.json) {
		json_t *o = json_pack("{s:s, s:I}", "name", name, "version", (json_int_t)version);
		out_json(o);
		json_decref(o);
	} else
		printf("%s: version %llu\n", name, (unsigned long long)version);
out:
	secbuf_free(value);
	json_decref(meta);
	cmd_done(&x);
	return rc;
}

/* ---- rotate ---- */

static const struct args_opt rotate_opts[] = {
    {"generate", 'g', true, OPT_GENERATE, "LEN", "let vaultd generate a LEN-character value"},
    {"charset", 0, true, OPT_CHARSET, "SET",
     "characters for --generate: alnum (default), hex, base64url, ascii"},
    {"file", 'f', true, OPT_FILE, "FILE", "read the new value from FILE (- = stdin)"},
    {"show", 0, false, OPT_SHOW, NULL, "also print the new value"},
    {0},
};

static const struct cmd_spec rotate_spec = {
    .name = "rotate",
    .usage = "NAME (--generate LEN [--charset SET] | --file FILE | < value) [--show]",
    .summary = "Make a new current version; the old current becomes previous (consumers may "
               "accept both\nduring a rollout). Prints the new version number; the value only "
               "with --show.",
    .details = "Without --generate the value is read like `vaultctl set` reads it.",
    .opts = rotate_opts,
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

struct rotate_args {
	uint64_t generate;
	const char *charset;
	const char *file;
	bool show;
};

static int rotate_opt(void *st, int id, const char *arg)
{
	struct rotate_args *r = st;
	switch (id) {
	case OPT_GENERATE:
		if (args_parse_u64(arg, PASSGEN_MIN_LEN, PASSGEN_MAX_LEN, &r->generate) < 0)
			return cmd_usage(&rotate_spec, "--generate needs a length from %d to %d",
			                 PASSGEN_MIN_LEN, PASSGEN_MAX_LEN);
		return 0;
	case OPT_CHARSET:
		if (strcmp(arg, "alnum") && strcmp(arg, "hex") && strcmp(arg, "base64url") &&
		    strcmp(arg, "ascii"))
			return cmd_usage(&rotate_spec,
			                 "--charset is one of alnum, hex, base64url, ascii");
		r->charset = arg;
		return 0;
	case OPT_FILE:
		r->file = arg;
		return 0;
	case OPT_SHOW:
		r->show = true;
		return 0;
	default:
		return CTL_USAGE;
	}
}

/* The rotate request body: {"generate":{...}} or {"value":"<b64>"}. */
static int rotate_body(const struct rotate_args *r, const char *name, json_t **ret)
{
	json_t *body = json_object();
	if (!body)
		return CTL_ERROR;
	if (r->generate) {
		json_t *g = json_pack("{s:I, s:s}", "length", (json_int_t)r->generate, "charset",
		                      r->charset ? r->charset : "alnum");
		if (!g || json_object_set_new(body, "generate", g) < 0) {
			json_decref(body);
			return CTL_ERROR;
		}
		*ret = body;
		return CTL_OK;
	}
	struct secbuf *value = NULL, *b64 = NULL;
	int rc = value_read(name, r->file, &value);
	if (rc != CTL_OK) {
		json_decref(body);
		return rc;
	}
	b64 = b64_encode_secret(value->data, value->len);
	secbuf_free(value);
	if (!b64 || json_object_set_new(body, "value", json_string((char *)b64->data)) < 0) {
		secbuf_free(b64);
		json_decref(body);
		return CTL_ERROR;
	}
	secbuf_free(b64);
	*ret = body;
	return CTL_OK;
}

/* GET the new version's value for --show. */
static int fetch_version(const struct ctl *c, const char *name, int64_t version, json_t **ret)
{
	char q[48], path[512];
	snprintf(q, sizeof(q), "?version=%lld", (long long)version);
	ctl_secret_path(name, q, path, sizeof(path));
	return ctl_call(c, "GET", path, NULL, ret);
}

static int rotate_show(const struct ctl *c, const char *name, json_t *resp, int64_t version)
{
	json_t *got = NULL;
	struct secbuf *value = NULL;
	int rc = fetch_version(c, name, version, &got);
	if (rc != CTL_OK)
		return rc;
	if (c->json) {
		json_object_set(resp, "value", json_object_get(got, "value"));
		rc = out_json_secret(resp) == 0 ? CTL_OK : CTL_ERROR;
	} else if (jsonx_get_b64(got, "value", VAULT_MAX_VALUE_BYTES, &value) == 0) {
		printf("%s: version %lld (previous %lld)\n", name, (long long)version,
		       (long long)json_int_or(resp, "previous_version", 0));
		rc = out_value(value) == 0 ? CTL_OK : CTL_ERROR;
	} else {
		ctl_err("vaultd's answer for %s has no valid value", name);
		rc = CTL_ERROR;
	}
	secbuf_free(value);
	json_decref(got);
	return rc;
}

int cmd_rotate(const struct ctl *c, int argc, char **argv)
{
	struct rotate_args r = {0};
	struct ctl_cmd x;
	json_t *body = NULL, *resp = NULL;
	int rc = cmd_parse(&x, c, &rotate_spec, argc, argv, rotate_opt, &r);
	if (rc != CMD_RUN || (rc = cmd_check_name(&rotate_spec, x.operands[0])) != CMD_RUN)
		goto out;
	const char *name = x.operands[0];
	if (r.generate && r.file) {
		rc = cmd_usage(&rotate_spec, "use either --generate or --file");
		goto out;
	}
	if (r.charset && !r.generate) {
		rc = cmd_usage(&rotate_spec, "--charset goes with --generate");
		goto out;
	}
	if ((rc = rotate_body(&r, name, &body)) != CTL_OK)
		goto out;
	char path[512];
	ctl_secret_path(name, "/rotate", path, sizeof(path));
	rc = ctl_call_secret(&x.c, "POST", path, body, &resp, name, NULL);
	if (rc != CTL_OK)
		goto out;
	int64_t version = json_int_or(resp, "version", 0);
	if (r.show)
		rc = rotate_show(&x.c, name, resp, version);
	else if (x.c.json)
		out_json(resp);
	else
		printf("%s: version %lld (previous %lld)\n", name, (long long)version,
		       (long long)json_int_or(resp, "previous_version", 0));
out:
	json_decref(body);
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

/* ---- rollback ---- */

static const struct cmd_spec rollback_spec = {
    .name = "rollback",
    .usage = "NAME VERSION",
    .summary = "Make a new version carrying VERSION's value (history is kept: rolling back "
               "from 3 to 1\ncreates version 4).",
    .min_operands = 2,
    .max_operands = 2,
    .json_output = true,
};

int cmd_rollback(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *body = NULL, *resp = NULL;
	int rc = cmd_parse(&x, c, &rollback_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN || (rc = cmd_check_name(&rollback_spec, x.operands[0])) != CMD_RUN)
		goto out;
	uint64_t v;
	if (args_parse_u64(x.operands[1], 1, INT64_MAX, &v) < 0) {
		rc = cmd_usage(&rollback_spec, "VERSION must be a version number (1, 2, ...)");
		goto out;
	}
	body = json_pack("{s:I}", "version", (json_int_t)v);
	char path[512];
	char what[48];
	snprintf(what, sizeof(what), "version %llu", (unsigned long long)v);
	ctl_secret_path(x.operands[0], "/rollback", path, sizeof(path));
	rc = ctl_call_secret(&x.c, "POST", path, body, &resp, x.operands[0], what);
	if (rc != CTL_OK)
		goto out;
	if (x.c.json)
		out_json(resp);
	else
		printf("%s: version %lld (the value of version %llu)\n", x.operands[0],
		       (long long)json_int_or(resp, "version", 0), (unsigned long long)v);
out:
	json_decref(body);
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

/* ---- rm ---- */

static const struct args_opt rm_opts[] = {
    {"destroy", 0, false, OPT_DESTROY, NULL,
     "wipe the values for good (every version, or --version N)"},
    {"version", 'v', true, OPT_VERSION, "N", "with --destroy: only version N"},
    {0},
};

static const struct cmd_spec rm_spec = {
    .name = "rm",
    .usage = "NAME [--destroy [--version N]]",
    .summary = "Delete a secret. Without --destroy the deletion is soft: `vaultctl undelete "
               "NAME`\nbrings it back. --destroy wipes the stored values; that cannot be "
               "undone.",
    .opts = rm_opts,
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

struct rm_args {
	bool destroy;
	uint64_t version;
};

static int rm_opt(void *st, int id, const char *arg)
{
	struct rm_args *r = st;
	if (id == OPT_DESTROY) {
		r->destroy = true;
		return 0;
	}
	if (args_parse_u64(arg, 1, INT64_MAX, &r->version) < 0)
		return cmd_usage(&rm_spec, "--version needs a version number (1, 2, ...)");
	return 0;
}

int cmd_rm(const struct ctl *c, int argc, char **argv)
{
	struct rm_args r = {0};
	struct ctl_cmd x;
	json_t *resp = NULL;
	int rc = cmd_parse(&x, c, &rm_spec, argc, argv, rm_opt, &r);
	if (rc != CMD_RUN || (rc = cmd_check_name(&rm_spec, x.operands[0])) != CMD_RUN)
		goto out;
	if (r.version && !r.destroy) {
		rc = cmd_usage(&rm_spec, "--version goes with --destroy");
		goto out;
	}
	char q[64] = "", path[512];
	if (r.destroy && r.version)
		snprintf(q, sizeof(q), "?destroy=1&version=%llu", (unsigned long long)r.version);
	else if (r.destroy)
		snprintf(q, sizeof(q), "?destroy=1");
	char what[48];
	snprintf(what, sizeof(what), "version %llu", (unsigned long long)r.version);
	ctl_secret_path(x.operands[0], q, path, sizeof(path));
	rc = ctl_call_secret(&x.c, "DELETE", path, NULL, &resp, x.operands[0],
	                     r.version ? what : NULL);
	if (rc != CTL_OK)
		goto out;
	if (x.c.json)
		out_json(resp);
	else if (r.destroy && r.version)
		printf("%s: version %llu destroyed\n", x.operands[0],
		       (unsigned long long)r.version);
	else if (r.destroy)
		printf("%s: every version destroyed\n", x.operands[0]);
	else
		printf("%s: deleted (`vaultctl undelete %s` brings it back)\n", x.operands[0],
		       x.operands[0]);
out:
	json_decref(resp);
	cmd_done(&x);
	return rc;
}

/* ---- undelete ---- */

static const struct cmd_spec undelete_spec = {
    .name = "undelete",
    .usage = "NAME",
    .summary = "Bring back a secret deleted with `vaultctl rm` (not one whose values were "
               "destroyed).",
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

int cmd_undelete(const struct ctl *c, int argc, char **argv)
{
	struct ctl_cmd x;
	json_t *resp = NULL;
	int rc = cmd_parse(&x, c, &undelete_spec, argc, argv, NULL, NULL);
	if (rc != CMD_RUN || (rc = cmd_check_name(&undelete_spec, x.operands[0])) != CMD_RUN)
		goto out;
	char path[512];
	ctl_secret_path(x.operands[0], "/undelete", path, sizeof(path));
	rc = ctl_call_secret(&x.c, "POST", path, NULL, &resp, x.operands[0], NULL);
	if (rc != CTL_OK)
		goto out;
	if (x.c.json)
		out_json(resp);
	else
		printf("%s: restored\n", x.operands[0]);
out:
	json_decref(resp);
	cmd_done(&x);
	return rc;
}
