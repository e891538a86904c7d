/* vaultctl import-env: a .env file, read as docker compose reads an
 * env_file (dotenv.c), becomes secrets named PREFIX + lowercased key. Every
 * name is checked before anything is written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "dotenv.h"
#include "input.h"
#include "names.h"
#include "output.h"

enum { OPT_PREFIX = 1, OPT_DRY_RUN, OPT_NO_OVERWRITE, OPT_NO_INTERPOLATE };

static const struct args_opt import_opts[] = {
    {"prefix", 'p', true, OPT_PREFIX, "P", "prepend P to every name (e.g. app.)"},
    {"dry-run", 'n', false, OPT_DRY_RUN, NULL, "show the names, write nothing"},
    {"no-overwrite", 0, false, OPT_NO_OVERWRITE, NULL, "skip secrets that already exist"},
    {"no-interpolate", 0, false, OPT_NO_INTERPOLATE, NULL,
     "keep ${VAR} as written (docker-compose --no-interpolate)"},
    {0},
};

static const struct cmd_spec import_spec = {
    .name = "import-env",
    .usage = "FILE|- [--prefix P] [--dry-run] [--no-overwrite] [--no-interpolate]",
    .summary = "Import a .env file: each KEY=value becomes the secret PREFIX + lowercased KEY.",
    .details = "The file is read exactly as docker compose reads an env_file: # comments, "
               "blank lines,\n`export ` prefixes, 'single' and \"double\" quotes (escapes such "
               "as \\n in double quotes;\nboth may span lines), ` #` comments after unquoted "
               "values, empty values, and the\nlast of duplicate keys wins. ${VAR} and "
               "${VAR:-default} are replaced by an earlier key\nor the environment, as compose "
               "does (--no-interpolate keeps them). A key without '='\nis skipped (compose "
               "would take it from its environment), as are lines compose\ncannot parse. "
               "Values are written exactly, without a trailing newline.",
    .opts = import_opts,
    .min_operands = 1,
    .max_operands = 1,
    .json_output = true,
};

struct import_args {
	const char *prefix;
	bool dry_run, no_overwrite, no_interpolate;
};

static int import_opt(void *st, int id, const char *arg)
{
	struct import_args *a = st;
	switch (id) {
	case OPT_PREFIX:
		a->prefix = arg;
		break;
	case OPT_DRY_RUN:
		a->dry_run = true;
		break;
	case OPT_NO_OVERWRITE:
		a->no_overwrite = true;
		break;
	default:
		a->no_interpolate = true;
	}
	return 0;
}

static const char *env_lookup(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

/* prefix + lowercased key; false when it is not a valid secret name. */
static bool secret_name(const char *prefix, const char *key, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s%s", prefix ? prefix : "", key);
	if (n < 0 || (size_t)n >= cap)
		return false;
	for (char *p = out + (prefix ? strlen(prefix) : 0); *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return name_is_valid_str(out);
}

/* Reads and parses the file; warns about what compose would skip too. */
static int load(const char *file, const struct import_args *a, struct dotenv **ret)
{
	struct secbuf *text = NULL;
	int r = input_read_path(file, DOTENV_MAX_BYTES, &text);
	if (r < 0) {
		ctl_err("cannot read %s: %s", file,
		        r == -EFBIG ? "larger than 4 MiB" : strerror(-r));
		return r == -ENOENT ? CTL_NOT_FOUND : CTL_ERROR;
	}
	r = dotenv_parse(text->data, text->len, !a->no_interpolate, env_lookup, NULL, ret);
	secbuf_free(text);
	if (r < 0) {
		ctl_err("cannot read %s: %s", file, dotenv_strerror(r));
		return CTL_ERROR;
	}
	for (size_t i = 0; i < (*ret)->n_bad; i++)
		ctl_err(
		    "warning: %s line %u cannot be parsed (docker compose skips it too): skipped",
		    file, (*ret)->bad_lines[i]);
	return CTL_OK;
}

/* Every name checked, and no two keys mapping to the same name. Messages
 * name lines, not keys: in a malformed file (an unquoted multi-line value)
 * a "key" is a line of the value. */
static int check_names(const struct dotenv *d, const char *prefix,
                       char (*names)[VAULT_MAX_NAME_LEN + 1])
{
	int bad = 0;
	for (size_t i = 0; i < d->n; i++) {
		char buf[2 * VAULT_MAX_NAME_LEN + 2];
		if (!secret_name(prefix, d->items[i].key, buf, sizeof(buf))) {
			ctl_err("the key on line %u does not make a valid secret name: names are 1-128 "
			        "characters of A-Z a-z 0-9 . _ - without \"..\"",
			        d->items[i].line);
			bad++;
			continue;
		}
		memcpy(names[i], buf, strlen(buf) + 1);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(names[j], names[i]) == 0) {
				ctl_err("the keys on lines %u and %u both become the same secret name: "
				        "rename one",
				        d->items[j].line, d->items[i].line);
				bad++;
			}
		}
	}
	if (bad)
		ctl_err("nothing was imported");
	return bad ? CTL_USAGE : CTL_OK;
}

/* Writes one secret. *ret_version 0 when it was skipped (--no-overwrite). */
static int import_one(const struct ctl *c, const char *name, const struct secbuf *value,
                      bool no_overwrite, uint64_t *ret_version)
{
	*ret_version = 0;
	if (!no_overwrite)
		return ctl_secret_put(c, name, value, -1, NULL, ret_version);
	bool existed = false;
	return ctl_secret_create(c, name, value, NULL, ret_version, &existed);
}

static int import_all(const struct ctl *c, const struct dotenv *d,
                      char (*names)[VAULT_MAX_NAME_LEN + 1], const struct import_args *a)
{
	json_t *out = json_array();
	int rc = CTL_OK;
	size_t done = 0;
	for (size_t i = 0; i < d->n && rc == CTL_OK; i++) {
		const struct dotenv_entry *e = &d->items[i];
		if (!e->value) {
			/* Only the line: this "key" may be a line of a multi-line value. */
			ctl_err("warning: line %u has no value (docker compose would take it from its "
			        "environment; or is it part of an unquoted multi-line value?): skipped",
			        e->line);
			continue;
		}
		uint64_t version = 0;
		if (!a->dry_run)
			rc = import_one(c, names[i], e->value, a->no_overwrite, &version);
		if (rc != CTL_OK)
			break;
		done++;
		const char *what = a->dry_run ? "would be written"
		                   : version  ? "written"
		                              : "exists, skipped";
		json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:s}", "key", e->key, "name",
		                                     names[i], "version", (json_int_t)version,
		                                     "result", what));
		if (!c->json && version)
			printf("%s -> %s: version %llu\n", e->key, names[i],
			       (unsigned long long)version);
		else if (!c->json)
			printf("%s -> %s: %s\n", e->key, names[i], what);
	}
	if (c->json) {
		json_t *o = json_pack("{s:o}", "imported", out);
		out_json(o);
		json_decref(o);
	} else {
		json_decref(out);
	}
	if (rc != CTL_OK)
		ctl_err("stopped after %zu of %zu secrets", done, d->n);
	return rc;
}

int cmd_import_env(const struct ctl *c, int argc, char **argv)
{
	struct import_args a = {0};
	struct ctl_cmd x;
	struct dotenv *d = NULL;
	char(*names)[VAULT_MAX_NAME_LEN + 1] = NULL;
	int rc = cmd_parse(&x, c, &import_spec, argc, argv, import_opt, &a);
	if (rc != CMD_RUN)
		goto out;
	if ((rc = load(x.operands[0], &a, &d)) != CTL_OK)
		goto out;
	names = calloc(d->n ? d->n : 1, sizeof(*names));
	if (!names) {
		ctl_err("out of memory");
		rc = CTL_ERROR;
		goto out;
	}
	if ((rc = check_names(d, a.prefix, names)) != CTL_OK)
		goto out;
	rc = import_all(&x.c, d, names, &a);
out:
	free(names);
	dotenv_free(d);
	cmd_done(&x);
	return rc;
}
