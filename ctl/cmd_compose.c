/* vaultctl compose migrate / compose secrets: takes a docker-compose.yml off
 * env-var passwords. Order in migrate: parse and plan everything (any error:
 * nothing written), import into vaultd, fetch what files mode exports, then
 * write secrets, env_files and the compose file, then print the summary. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose_doc.h"
#include "compose_files.h"
#include "compose_migrate.h"
#include "ctl.h"
#include "files.h"
#include "input.h"
#include "jsonx.h"
#include "names.h"
#include "output.h"
#include "seal.h"

/* What COMPOSE_DEFAULT_INJECT_HOST reads: --inject-bin gives it another default. */
#define INJECT_ENV_VAR "VAULTD_INJECT"
#define OUTPUT_HEADER                                                                              \
	"# Written by `vaultctl compose migrate`: passwords come from vaultd, not from\n"          \
	"# environment variables. Comments of the original file are not carried over.\n"

enum {
	OPT_FILE = 1,
	OPT_OUTPUT,
	OPT_MODE,
	OPT_IMPORT,
	OPT_VAR,
	OPT_TEMPLATE,
	OPT_ENTRYPOINT,
	OPT_SECRETS_DIR,
	OPT_INJECT_BIN,
	OPT_DRY_RUN,
	OPT_DIR,
};

static const struct args_opt migrate_opts[] = {
    {"file", 'f', true, OPT_FILE, "FILE", "the compose file to migrate (required)"},
    {"output", 'o', true, OPT_OUTPUT, "OUT",
     "write the new compose file here (same directory; default: stdout)"},
    {"mode", 0, true, OPT_MODE, "MODE",
     "inject (default: vaultd serves at run time) or files (Docker secrets)"},
    {"import", 0, false, OPT_IMPORT, NULL, "store the values found in vaultd"},
    {"var", 0, true, OPT_VAR, "SERVICE.VAR", "also migrate this variable (repeatable)"},
    {"name-template", 0, true, OPT_TEMPLATE, "T", "secret names, default '{service}_{var}'"},
    {"entrypoint", 0, true, OPT_ENTRYPOINT, "SERVICE=CMD",
     "what SERVICE's image runs, for inject to wrap"},
    {"secrets-dir", 0, true, OPT_SECRETS_DIR, "DIR",
     "files mode: where the secret files go (./secrets)"},
    {"inject-bin", 0, true, OPT_INJECT_BIN, "PATH", "host path of the static inject binary"},
    {"dry-run", 'n', false, OPT_DRY_RUN, NULL,
     "print the summary only: write nothing, import nothing"},
    {0},
};

static const struct cmd_spec migrate_spec = {
    .name = "compose migrate",
    .usage = "-f FILE [-o OUT] [--mode inject|files] [--import] [--var SERVICE.VAR]...\n"
             "       [--name-template T] [--entrypoint SERVICE=CMD]... [--dry-run]",
    .summary =
        "Rewrite a compose file so that no password is an environment variable: each\n"
        "secret-looking variable (*PASSWORD*, *PASSWD*, *SECRET*, *TOKEN*, *_KEY, *APIKEY*,\n"
        "a URL with a password, every --var) becomes a vaultd secret, one per distinct value.",
    .details =
        "--mode inject: inject (mounted read-only with vaultd's socket) wraps the entrypoint,\n"
        "writes the secrets on a tmpfs at /run/secrets and sets VAR_FILE for images that read\n"
        "it, or VAR itself at exec for images that do not.\n"
        "--mode files: the values are exported to ./secrets/<name> (0700/0600, added to\n"
        ".gitignore) and given to containers as compose secrets with VAR_FILE; images that\n"
        "read no VAR_FILE still go through inject.\n\n"
        "Skipped: empty values, ${VAR} with no default (a ${VAR:-default} counts as its\n"
        "default) and variables that already have VAR_FILE. The output is a complete compose\n"
        "file, not an override (an override cannot remove a variable); comments are not\n"
        "carried over. Running it on its own output changes nothing. An env_file that held a\n"
        "migrated value is rewritten in place when OUT is FILE, else copied without it to\n"
        "<env_file>.migrated (also when the YAML goes to stdout).\n\n"
        "With --import, a secret that already exists with another value is a conflict (exit\n"
        "6); the same value is left alone. Malformed YAML or a service whose entrypoint is\n"
        "unknown (inject needs it): exit 1, nothing written. docs/docker.md walks through it.",
    .opts = migrate_opts,
    .max_operands = CMD_ANY_OPERANDS, /* refused with a hint by migrate_opt */
};

static const struct args_opt secrets_opts[] = {
    {"dir", 0, true, OPT_DIR, "DIR", "where the files go (default ./secrets)"},
    {0},
};

static const struct cmd_spec secrets_spec = {
    .name = "compose secrets",
    .usage = "NAME... [--dir ./secrets]",
    .summary = "Export secrets from vaultd to DIR/NAME (directory 0700, files 0600, written\n"
               "atomically; DIR is added to .gitignore when there is one) and print the top-level\n"
               "secrets: block that gives them to compose.",
    .details = "Add `secrets: [NAME]` to each service that needs NAME; it appears at "
               "/run/secrets/NAME in the container.",
    .opts = secrets_opts,
    .max_operands = CMD_ANY_OPERANDS,
};

struct migrate_args {
	struct ctl_cmd x; /* the common options */
	const char *file, *out, *template, *secrets_dir, *inject_bin;
	enum compose_mode mode;
	bool import, dry_run;
	char **vars, **entrypoints;
	size_t nvars, nentrypoints;
	const char **names; /* compose secrets */
	size_t nnames;
};

static void margs_free(struct migrate_args *m)
{
	cmd_done(&m->x);
	free(m->vars);
	free(m->entrypoints);
	free(m->names);
}

#define SECRETS_DIR_USAGE \
	"--secrets-dir/--dir must name a directory of its own, not the project directory or /"

/* The values' own directory: not the project directory (made 0700 and
 * filled with plaintext files next to the compose file, with no .gitignore
 * entry to keep them out of git) nor the filesystem root. */
static bool secrets_dir_ok(const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	while (n >= 2 && dir[0] == '.' && dir[1] == '/') {
		dir += 2;
		n -= 2;
		while (n > 0 && dir[0] == '/') {
			dir++;
			n--;
		}
	}
	return n > 0 && !(n == 1 && (dir[0] == '.' || dir[0] == '/'));
}

static int migrate_opt(void *st, int id, const char *arg)
{
	struct migrate_args *m = st;
	switch (id) {
	case ARGS_OPERAND:
		return cmd_usage(&migrate_spec,
		                 "unexpected argument \"%.64s\" (the compose file goes after -f)",
		                 arg);
	case OPT_FILE:
		m->file = arg;
		break;
	case OPT_OUTPUT:
		m->out = arg;
		break;
	case OPT_MODE:
		if (strcmp(arg, "inject") == 0)
			m->mode = COMPOSE_MODE_INJECT;
		else if (strcmp(arg, "files") == 0)
			m->mode = COMPOSE_MODE_FILES;
		else
			return cmd_usage(&migrate_spec, "--mode is inject or files, not \"%.32s\"",
			                 arg);
		break;
	case OPT_IMPORT:
		m->import = true;
		break;
	case OPT_VAR: {
		const char *dot = strrchr(arg, '.');
		if (!dot || dot == arg || !dot[1])
			return cmd_usage(&migrate_spec,
			                 "--var takes SERVICE.VAR, e.g. --var app.DB_URL");
		m->vars[m->nvars++] = (char *)arg;
		break;
	}
	case OPT_TEMPLATE:
		m->template = arg;
		break;
	case OPT_ENTRYPOINT: {
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg || !eq[1])
			return cmd_usage(&migrate_spec,
			                 "--entrypoint takes SERVICE=CMD, e.g. --entrypoint "
			                 "app=/usr/local/bin/app");
		m->entrypoints[m->nentrypoints++] = (char *)arg;
		break;
	}
	case OPT_SECRETS_DIR:
		if (!secrets_dir_ok(arg))
			return cmd_usage(&migrate_spec, SECRETS_DIR_USAGE);
		m->secrets_dir = arg;
		break;
	case OPT_INJECT_BIN:
		m->inject_bin = arg;
		break;
	case OPT_DRY_RUN:
		m->dry_run = true;
		break;
	default:
		return cmd_usage(&migrate_spec, "unexpected option");
	}
	return 0;
}

static int secrets_opt(void *st, int id, const char *arg)
{
	struct migrate_args *m = st;
	if (id == ARGS_OPERAND)
		m->names[m->nnames++] = arg;
	else if (!secrets_dir_ok(arg)) /* OPT_DIR */
		return cmd_usage(&secrets_spec, SECRETS_DIR_USAGE);
	else
		m->secrets_dir = arg;
	return 0;
}

/* cmd_parse for both subcommands; neither prints JSON. */
static int parse(struct migrate_args *m, const struct ctl *c, const struct cmd_spec *spec, int argc,
                 char **argv)
{
	m->template = COMPOSE_DEFAULT_TEMPLATE;
	m->secrets_dir = COMPOSE_DEFAULT_SECRETS_DIR;
	/* Each repeatable option or operand can occur at most argc times. */
	m->vars = calloc((size_t)argc + 1, sizeof(*m->vars));
	m->entrypoints = calloc((size_t)argc + 1, sizeof(*m->entrypoints));
	m->names = calloc((size_t)argc + 1, sizeof(*m->names));
	if (!m->vars || !m->entrypoints || !m->names) {
		ctl_err("out of memory");
		return CTL_ERROR;
	}
	int r = cmd_parse(&m->x, c, spec, argc, argv,
	                  spec == &secrets_spec ? secrets_opt : migrate_opt, m);
	if (r == CMD_RUN && m->x.c.json)
		r = cmd_usage(spec, "--json is not supported here");
	return r;
}

/* ---- reading ---- */

static int read_input(const char *path, struct secbuf **ret, struct stat *ret_st)
{
	/* The file holds the very passwords we are moving: guarded memory. */
	int r = input_read_regular(path, COMPOSE_MAX_FILE_BYTES, ret, ret_st);
	if (r == -EINVAL || r == -EFBIG)
		ctl_err("%s: not a regular file of at most %u bytes", path, COMPOSE_MAX_FILE_BYTES);
	else if (r < 0)
		ctl_err("cannot open %s: %s", path, strerror(-r));
	return r < 0 ? CTL_ERROR : CTL_OK;
}

/* The directory a path is in, made absolute. */
static int dir_of(const char *path, char *out, size_t cap)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	char *r = realpath(dirname(copy), NULL);
	free(copy);
	if (!r)
		return -errno;
	int n = snprintf(out, cap, "%s", r);
	free(r);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* The host side of a volume as "${VAR:-/absolute/path}" (the socket this
 * vaultctl talks to, --inject-bin): the variable still overrides it, and a
 * relative path means the same from any directory. */
static int volume_host(const char *var, const char *path, char *out, size_t cap)
{
	char abs[PATH_MAX];
	if (path[0] == '/') {
		snprintf(abs, sizeof(abs), "%s", path);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >= (int)sizeof(abs))
			return -ENAMETOOLONG;
	}
	if (strpbrk(abs, "$:}"))
		return -EINVAL; /* would break the volume syntax */
	int n = snprintf(out, cap, "${%s:-%s}", var, abs);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* ---- talking to vaultd ---- */

/* GET the current value; CTL_NOT_FOUND quietly when it does not exist. */
static int fetch_value(const struct ctl *c, const char *name, bool quiet_404, struct secbuf **ret)
{
	char path[512];
	if (ctl_secret_path(name, NULL, path, sizeof(path)) < 0)
		return CTL_USAGE;
	json_t *resp = NULL;
	int status = 0;
	int rc = ctl_call_ex(c, "GET", path, NULL, &resp, quiet_404 ? 404 : 0, &status);
	if (rc != CTL_OK)
		return rc;
	struct secbuf *v = NULL;
	int r = jsonx_get_b64(resp, "value", VAULT_MAX_VALUE_BYTES, &v);
	json_decref(resp);
	if (r < 0) {
		ctl_err("vaultd's answer for %s has no value", name);
		return CTL_ERROR;
	}
	*ret = v;
	return CTL_OK;
}

/* Whether vaultd's value (cur, freed here) is the compose file's; if not,
 * says so, with what to do. */
static bool holds(struct secbuf *cur, const char *name, const struct secbuf *v, const char *fix)
{
	bool same = secbuf_equal(cur, v);
	secbuf_free(cur);
	if (!same)
		ctl_err("secret %s already exists in vaultd with another value: %s", name, fix);
	return same;
}

static int describe(const struct compose_plan *p, size_t s, const char *file, json_t **ret)
{
	for (size_t r = 0; r < p->nrows; r++) {
		if (p->rows[r].skip != SKIP_NONE || p->rows[r].secret != s)
			continue;
		char desc[512];
		snprintf(desc, sizeof(desc), "from %s: %s.%s", file, p->rows[r].service,
		         p->rows[r].var);
		json_t *m = json_pack("{s:s}", "description", desc);
		if (!m)
			return -ENOMEM;
		*ret = m;
		return 0;
	}
	*ret = NULL;
	return 0;
}

/* Stores every value: absent secrets are created (cas 0); one that exists
 * with the same value is left alone; another value is a conflict, found
 * before anything is written. */
static int import_values(const struct ctl *c, const struct compose_plan *p, const char *file,
                         size_t *ret_new)
{
	bool *missing = calloc(p->nsecrets + 1, sizeof(bool));
	if (!missing)
		return CTL_ERROR;
	int rc = CTL_OK;
	size_t conflicts = 0;
	for (size_t s = 0; s < p->nsecrets && rc == CTL_OK; s++) {
		struct secbuf *cur = NULL;
		rc = fetch_value(c, p->secrets[s].name, true, &cur);
		if (rc == CTL_NOT_FOUND) {
			missing[s] = true;
			rc = CTL_OK;
			continue;
		}
		if (rc != CTL_OK)
			break;
		conflicts += !holds(cur, p->secrets[s].name, p->secrets[s].value,
		                    "remove it, choose another --name-template, or drop --import");
	}
	if (rc == CTL_OK && conflicts > 0)
		rc = CTL_CONFLICT;
	size_t added = 0;
	for (size_t s = 0; s < p->nsecrets && rc == CTL_OK; s++) {
		if (!missing[s])
			continue;
		json_t *meta = NULL;
		if (describe(p, s, file, &meta) < 0) {
			rc = CTL_ERROR;
			break;
		}
		rc = ctl_secret_put(c, p->secrets[s].name, p->secrets[s].value, 0, meta, NULL);
		json_decref(meta);
		if (rc == CTL_OK)
			added++;
	}
	free(missing);
	*ret_new = added;
	return rc;
}

/* ---- writing ---- */

static bool uses_docker_secret(const struct compose_plan *p, size_t s)
{
	for (size_t r = 0; r < p->nrows; r++)
		if (p->rows[r].skip == SKIP_NONE && p->rows[r].secret == s &&
		    p->rows[r].delivery == DELIVER_DOCKER_SECRET)
			return true;
	return false;
}

/* "./secrets/" -> "secrets"; NULL when dir is not inside the project. */
static const char *gitignore_entry(const char *dir, char *buf, size_t cap)
{
	while (dir[0] == '.' && dir[1] == '/')
		dir += 2;
	if (dir[0] == '/' || strncmp(dir, "..", 2) == 0 || !dir[0])
		return NULL;
	snprintf(buf, cap, "%s", dir);
	size_t n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return n ? buf : NULL;
}

/* Writes name -> value files into dir (relative to base_dir unless
 * absolute) and the .gitignore line. values[i] NULL: skip. */
static int write_secret_files(const char *base_dir, const char *dir, char *const *names,
                              struct secbuf *const *values, size_t n, FILE *report)
{
	char full[PATH_MAX];
	if ((dir[0] == '/'
	         ? snprintf(full, sizeof(full), "%s", dir)
	         : snprintf(full, sizeof(full), "%s/%s", base_dir, dir)) >= (int)sizeof(full)) {
		ctl_err("secrets directory path too long");
		return CTL_ERROR;
	}
	int dfd = -1;
	int r = compose_secrets_dir_open(full, base_dir, &dfd);
	if (r < 0) {
		ctl_err("cannot use %s as the secrets directory: %s", full,
		        r == -ELOOP   ? "it is a symlink"
		        : r == -EPERM ? "it belongs to another user"
		        : r == -EACCES
		            ? "group or others can open it (chmod 700 it, or name a new directory)"
		        : r == -EEXIST
		            ? "it is the project directory or /; name a directory of its own"
		            : strerror(-r));
		return CTL_ERROR;
	}
	size_t changed = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!values[i])
			continue;
		bool ch = false;
		r = compose_secret_file_write(dfd, names[i], values[i], &ch);
		if (r < 0)
			ctl_err("cannot write %s/%s: %s", full, names[i], strerror(-r));
		changed += ch;
	}
	close(dfd);
	if (r < 0)
		return CTL_ERROR;
	fprintf(report, "secrets directory %s: %zu file(s) written, mode 0600\n", dir, changed);
	char entry[PATH_MAX];
	bool added = false;
	if (gitignore_entry(dir, entry, sizeof(entry)) &&
	    (r = compose_gitignore_add(base_dir, entry, &added)) < 0) {
		ctl_err("cannot update %s/.gitignore: %s", base_dir, strerror(-r));
		return CTL_ERROR;
	}
	if (added)
		fprintf(report, "added /%s/ to .gitignore\n", entry);
	return CTL_OK;
}

/* The env_files rewritten in place (in_place) or their .migrated copies. */
static int write_envfiles(const struct compose_plan *p, bool in_place, FILE *report)
{
	for (size_t i = 0; i < p->nenvfiles; i++) {
		const struct compose_file_out *o = &p->envfiles[i];
		if (o->in_place != in_place)
			continue;
		/* Keep the original's mode: it may hold other private values. */
		char orig[PATH_MAX];
		snprintf(orig, sizeof(orig), "%s", o->path);
		if (!o->in_place)
			orig[strlen(orig) - strlen(COMPOSE_MIGRATED_SUFFIX)] = '\0';
		struct stat st;
		mode_t mode = stat(orig, &st) == 0 ? (st.st_mode & 0777) : 0600;
		int r = files_write_atomic(o->path, o->text->data, o->text->len, mode);
		if (r < 0) {
			/* Say what state the project is in: the run can be repeated. */
			ctl_err("cannot write %s: %s; %s", o->path, strerror(-r),
			        in_place ? "the new compose file is written and no longer reads the "
			                   "migrated variables from it"
			                 : "the compose file and env_files are unchanged; run it again "
			                   "once this file can be written");
			return CTL_ERROR;
		}
		fprintf(report, "env_file %s written without the migrated variables\n", o->shown);
	}
	return CTL_OK;
}

/* ---- the summary ---- */

static void summary(const struct compose_plan *p, const struct migrate_args *m, FILE *out)
{
	const char *head[] = {"SERVICE", "VARIABLE", "SECRET", "DELIVERY"};
	struct table *t = table_new(4, head);
	for (size_t r = 0; t && r < p->nrows; r++) {
		const struct compose_row *row = &p->rows[r];
		char var[300], how[300];
		if (row->source)
			snprintf(var, sizeof(var), "%s (%s)", row->var, row->source);
		else
			snprintf(var, sizeof(var), "%s", row->var);
		const char *name = row->skip == SKIP_NONE ? p->secrets[row->secret].name : "-";
		switch (row->delivery) {
		case DELIVER_INJECT_FILE:
			snprintf(how, sizeof(how), "inject: %s/%s, %s_FILE", COMPOSE_SECRETS_DIR,
			         name, row->var);
			break;
		case DELIVER_DOCKER_SECRET:
			snprintf(how, sizeof(how), "compose secret %s/%s, %s_FILE", m->secrets_dir,
			         name, row->var);
			break;
		case DELIVER_INJECT_ENV:
			snprintf(how, sizeof(how),
			         "inject: %s set at exec (image reads no %s_FILE)", row->var,
			         row->var);
			break;
		default:
			snprintf(how, sizeof(how), "%s", compose_skip_text(row->skip));
			break;
		}
		const char *cells[] = {row->service, var, name, how};
		table_add(t, cells);
	}
	if (p->nrows == 0)
		fprintf(out, "no secret-looking variables found\n");
	else if (t)
		table_print(t, out);
	table_free(t);
	char clean[2048];
	for (size_t i = 0; i < p->nnotes; i++)
		fprintf(out, "note: %s\n", out_clean(p->notes[i], clean, sizeof(clean)));
}

/* ---- migrate ---- */

struct migration {
	struct secbuf *input;
	struct cnode *root;
	struct compose_plan *plan;
	char *yaml;
	size_t yaml_len;
	struct secbuf **exports; /* files mode: per secret, NULL when not exported */
};

static void migration_free(struct migration *g)
{
	for (size_t i = 0; g->plan && g->exports && i < g->plan->nsecrets; i++)
		secbuf_free(g->exports[i]);
	free(g->exports);
	compose_plan_free(g->plan);
	cnode_free(g->root);
	if (g->yaml)
		sodium_memzero(g->yaml, g->yaml_len);
	free(g->yaml);
	secbuf_free(g->input);
}

/* -o must sit next to -f: compose resolves relative paths from the file's
 * directory, and the secrets directory lives there too. */
static int check_output(const struct migrate_args *m, const char *project, const struct stat *in_st,
                        bool *in_place)
{
	*in_place = false;
	if (!m->out || strcmp(m->out, "-") == 0)
		return CTL_OK;
	char outdir[PATH_MAX];
	if (dir_of(m->out, outdir, sizeof(outdir)) < 0 || strcmp(outdir, project) != 0)
		return cmd_usage(
		    &migrate_spec,
		    "-o %s must be in the same directory as -f %s (compose resolves relative "
		    "paths from the file's directory)",
		    m->out, m->file);
	struct stat st;
	if (lstat(m->out, &st) == 0) {
		/* The rename would replace the link, not the file it names: the
		 * original, with its plaintext, would stay behind. */
		if (S_ISLNK(st.st_mode))
			return cmd_usage(&migrate_spec, "-o %s is a symlink: give the file it points to",
			                 m->out);
		if (!S_ISREG(st.st_mode))
			return cmd_usage(&migrate_spec, "-o %s exists and is not a regular file",
			                 m->out);
		*in_place = st.st_dev == in_st->st_dev && st.st_ino == in_st->st_ino;
	}
	return CTL_OK;
}

/* Once the plan has read its env_files, .env and Dockerfiles: -o (other
 * than -f itself) must be none of them, or writing the YAML there would
 * destroy a file the plan keeps values from. */
static int check_output_not_read(const struct migrate_args *m, bool in_place)
{
	struct stat st;
	if (!m->out || strcmp(m->out, "-") == 0 || in_place || lstat(m->out, &st) != 0)
		return CTL_OK;
	if (input_was_read(&st))
		return cmd_usage(&migrate_spec,
		                 "-o %s is a file this migration reads (an env_file, .env or "
		                 "Dockerfile): writing the compose file there would destroy it",
		                 m->out);
	return CTL_OK;
}

static int plan_migration(struct migrate_args *m, struct migration *g, struct stat *in_st,
                          char *project, size_t projcap, bool *in_place)
{
	int rc = read_input(m->file, &g->input, in_st);
	if (rc != CTL_OK)
		return rc;
	if (dir_of(m->file, project, projcap) < 0) {
		ctl_err("cannot resolve the directory of %s", m->file);
		return CTL_ERROR;
	}
	if ((rc = check_output(m, project, in_st, in_place)) != CTL_OK)
		return rc;
	char err[512], sock[PATH_MAX + 32];
	if (compose_yaml_load((const char *)g->input->data, g->input->len, &g->root, err,
	                      sizeof(err)) < 0) {
		ctl_err("%s: %s; nothing written", m->file, err);
		return CTL_ERROR;
	}
	if (volume_host(CTL_ENV_SOCKET, m->x.c.socket, sock, sizeof(sock)) < 0) {
		ctl_err("the socket path %s cannot be used in a volume: spec", m->x.c.socket);
		return CTL_USAGE;
	}
	char inject[PATH_MAX + 32];
	if (!m->inject_bin)
		snprintf(inject, sizeof(inject), "%s", COMPOSE_DEFAULT_INJECT_HOST);
	else if (volume_host(INJECT_ENV_VAR, m->inject_bin, inject, sizeof(inject)) < 0) {
		ctl_err("the --inject-bin path %s cannot be used in a volume: spec", m->inject_bin);
		return CTL_USAGE;
	}
	struct compose_opts o = {
	    .mode = m->mode,
	    .name_template = m->template,
	    .vars = m->vars,
	    .nvars = m->nvars,
	    .entrypoints = m->entrypoints,
	    .nentrypoints = m->nentrypoints,
	    .project_dir = project,
	    .socket_host = sock,
	    .inject_host = inject,
	    .secrets_dir = m->secrets_dir,
	    .envfiles_in_place = *in_place,
	};
	if (compose_migrate(g->root, &o, &g->plan, err, sizeof(err)) < 0) {
		ctl_err("%s: %s; nothing written", m->file, err);
		return CTL_ERROR;
	}
	if ((rc = check_output_not_read(m, *in_place)) != CTL_OK)
		return rc;
	if (compose_yaml_emit(g->root, OUTPUT_HEADER, &g->yaml, &g->yaml_len) < 0) {
		ctl_err("cannot write the new compose file (YAML emitter failed); nothing written");
		return CTL_ERROR;
	}
	return CTL_OK;
}

/* Without --import the containers get whatever vaultd holds, so each
 * planned secret that is there must hold the compose file's value (else
 * exit 6). A rewrite in place removes the values from the user's files, so
 * it also needs every secret stored first (else exit 3, or 5 when vaultd
 * cannot be asked): nothing would be left to import from. A copy (-o
 * elsewhere) keeps the original, so there a missing secret, or a vaultd
 * that cannot be asked, only earns a reminder. *ret_missing: how many are
 * not stored, SIZE_MAX when vaultd could not be asked. Nothing is written
 * before this passes. */
static int check_stored(const struct ctl *c, const struct compose_plan *p, bool in_place,
                        const char *file, size_t *ret_missing)
{
	size_t conflicts = 0, missing = 0;
	*ret_missing = SIZE_MAX;
	for (size_t s = 0; s < p->nsecrets; s++) {
		struct secbuf *cur = NULL;
		int rc = fetch_value(c, p->secrets[s].name, true, &cur);
		if (rc == CTL_UNAVAILABLE && !in_place) {
			ctl_err("note: could not check that the secrets are in vaultd; the original "
			        "%s keeps the values for a later --import",
			        file);
			return CTL_OK;
		}
		if (rc == CTL_NOT_FOUND) {
			missing++;
			if (in_place)
				ctl_err("secret %s is not in vaultd, and rewriting %s in place would "
				        "remove the only copy of its value: run with --import (or `vaultctl "
				        "set %s` first); nothing written",
				        p->secrets[s].name, file, p->secrets[s].name);
			continue;
		}
		if (rc != CTL_OK) {
			ctl_err("cannot check the secrets in vaultd; nothing written");
			return rc;
		}
		conflicts += !holds(cur, p->secrets[s].name, p->secrets[s].value,
		                    "the containers would get it: remove it or choose another "
		                    "--name-template; nothing written");
	}
	*ret_missing = missing;
	if (conflicts > 0)
		return CTL_CONFLICT;
	return in_place && missing > 0 ? CTL_NOT_FOUND : CTL_OK;
}

static int export_values(const struct ctl *c, struct migration *g)
{
	g->exports = calloc(g->plan->nsecrets + 1, sizeof(*g->exports));
	if (!g->exports)
		return CTL_ERROR;
	for (size_t s = 0; s < g->plan->nsecrets; s++) {
		if (!uses_docker_secret(g->plan, s))
			continue;
		int rc = fetch_value(c, g->plan->secrets[s].name, true, &g->exports[s]);
		if (rc == CTL_NOT_FOUND)
			ctl_err("secret %s is not in vaultd: run with --import (or `vaultctl set "
			        "%s`); nothing "
			        "written",
			        g->plan->secrets[s].name, g->plan->secrets[s].name);
		if (rc != CTL_OK)
			return rc;
	}
	return CTL_OK;
}

static int write_outputs(const struct migrate_args *m, struct migration *g, const char *project,
                         const struct stat *in_st, FILE *report)
{
	const struct compose_plan *p = g->plan;
	if (m->mode == COMPOSE_MODE_FILES) {
		char **names = calloc(p->nsecrets + 1, sizeof(*names));
		if (!names)
			return CTL_ERROR;
		bool any = false;
		for (size_t s = 0; s < p->nsecrets; s++) {
			names[s] = (char *)p->secrets[s].name;
			any |= g->exports[s] != NULL;
		}
		int rc = any ? write_secret_files(project, m->secrets_dir, names, g->exports,
		                                  p->nsecrets, report)
		             : CTL_OK;
		free(names);
		if (rc != CTL_OK)
			return rc;
	}
	/* The new compose file reads the .migrated copies: they go first. The
	 * env_files rewritten in place go after it: if it cannot be written,
	 * they still hold what the old compose file reads from them, and a
	 * failure after it only leaves values that the new file no longer
	 * needs. */
	int rc = write_envfiles(p, false, report);
	if (rc != CTL_OK)
		return rc;
	if (!m->out || strcmp(m->out, "-") == 0) {
		if (out_write_all(STDOUT_FILENO, g->yaml, g->yaml_len) != 0)
			return CTL_ERROR;
	} else {
		int r = files_write_atomic(m->out, g->yaml, g->yaml_len, in_st->st_mode & 0777);
		if (r < 0) {
			ctl_err("cannot write %s: %s; the env_files are unchanged", m->out, strerror(-r));
			return CTL_ERROR;
		}
		fprintf(report, "wrote %s\n", m->out);
	}
	return write_envfiles(p, true, report);
}

static int compose_migrate_cmd(const struct ctl *c, int argc, char **argv)
{
	struct migrate_args m = {0};
	int rc = parse(&m, c, &migrate_spec, argc, argv);
	if (rc == CMD_RUN && !m.file)
		rc = cmd_usage(&migrate_spec, "-f FILE is required");
	if (rc != CMD_RUN) {
		margs_free(&m);
		return rc;
	}
	/* With the YAML on stdout, everything else goes to stderr. */
	FILE *report = (!m.out || strcmp(m.out, "-") == 0) ? stderr : stdout;
	struct migration g = {0};
	struct stat in_st;
	char project[PATH_MAX];
	bool in_place = false;
	size_t added = 0;
	rc = plan_migration(&m, &g, &in_st, project, sizeof(project), &in_place);
	if (rc == CTL_OK && m.dry_run) {
		summary(g.plan, &m, stdout);
		printf("dry run: nothing written, nothing imported\n");
		migration_free(&g);
		margs_free(&m);
		return CTL_OK;
	}
	size_t missing = SIZE_MAX;
	if (rc == CTL_OK && m.import && g.plan->nsecrets > 0)
		rc = import_values(&m.x.c, g.plan, m.file, &added);
	else if (rc == CTL_OK && g.plan->nsecrets > 0)
		rc = check_stored(&m.x.c, g.plan, in_place, m.file, &missing);
	if (rc == CTL_OK && m.mode == COMPOSE_MODE_FILES)
		rc = export_values(&m.x.c, &g);
	if (rc == CTL_OK)
		rc = write_outputs(&m, &g, project, &in_st, report);
	if (rc == CTL_OK) {
		summary(g.plan, &m, report);
		if (m.import)
			fprintf(report,
			        "imported into vaultd: %zu new secret(s), %zu already there\n",
			        added, g.plan->nsecrets - added);
		else if (g.plan->nsecrets > 0 && missing == 0)
			fprintf(report, "every secret is already in vaultd with the same value\n");
		else if (g.plan->nsecrets > 0 && m.mode == COMPOSE_MODE_INJECT)
			fprintf(report,
			        "not imported: run again with --import, or store each secret with "
			        "`vaultctl set NAME`, before starting the containers\n");
	}
	migration_free(&g);
	margs_free(&m);
	return rc;
}

/* ---- compose secrets ---- */

/* secrets: {NAME: {file: DIR/NAME}} through the emitter, so that any name
 * comes out as valid YAML. */
static int print_secrets_block(const char *dir, const char *const *names, size_t n)
{
	size_t dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	struct cnode *root = cnode_new_map(), *top = cnode_new_map();
	int r = root && top ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		char file[PATH_MAX];
		struct cnode *def = cnode_new_map();
		snprintf(file, sizeof(file), "%.*s/%s", (int)dlen, dir, names[i]);
		if (!def || cnode_map_set(def, "file", cnode_new_str(file)) < 0) {
			cnode_free(def);
			r = -ENOMEM;
			break;
		}
		r = cnode_map_set(top, names[i], def);
	}
	if (r == 0) {
		r = cnode_map_set(root, "secrets", top);
		top = NULL;
	}
	char *yaml = NULL;
	size_t len = 0;
	if (r == 0)
		r = compose_yaml_emit(root, NULL, &yaml, &len);
	if (r == 0)
		r = out_write_all(STDOUT_FILENO, yaml, len);
	free(yaml);
	cnode_free(top);
	cnode_free(root);
	if (r < 0) {
		ctl_err("cannot print the secrets: block: %s", strerror(-r));
		return CTL_ERROR;
	}
	return CTL_OK;
}

static int compose_secrets_cmd(const struct ctl *c, int argc, char **argv)
{
	struct migrate_args m = {0};
	int rc = parse(&m, c, &secrets_spec, argc, argv);
	if (rc == CMD_RUN && m.nnames == 0)
		rc = cmd_usage(&secrets_spec, "give at least one secret NAME");
	for (size_t i = 0; rc == CMD_RUN && i < m.nnames; i++)
		if (!name_is_valid_str(m.names[i]))
			rc = cmd_usage(&secrets_spec, "invalid secret name \"%.64s\"", m.names[i]);
	if (rc != CMD_RUN) {
		margs_free(&m);
		return rc;
	}
	struct secbuf **values = calloc(m.nnames, sizeof(*values));
	rc = values ? CTL_OK : CTL_ERROR;
	/* Every value first: a missing one means nothing is written. */
	for (size_t i = 0; i < m.nnames && rc == CTL_OK; i++)
		rc = fetch_value(&m.x.c, m.names[i], false, &values[i]);
	char cwd[PATH_MAX];
	if (rc == CTL_OK && !getcwd(cwd, sizeof(cwd)))
		rc = CTL_ERROR;
	if (rc == CTL_OK)
		rc = write_secret_files(cwd, m.secrets_dir, (char *const *)m.names, values,
		                        m.nnames, stderr);
	if (rc == CTL_OK)
		rc = print_secrets_block(m.secrets_dir, m.names, m.nnames);
	for (size_t i = 0; values && i < m.nnames; i++)
		secbuf_free(values[i]);
	free(values);
	margs_free(&m);
	return rc;
}

static const struct ctl_subcommand compose_subs[] = {
    {"migrate", compose_migrate_cmd, "rewrite a compose file so passwords come from vaultd"},
    {"secrets", compose_secrets_cmd, "export secrets as files plus a compose secrets: block"},
    {NULL, NULL, NULL},
};

int cmd_compose(const struct ctl *c, int argc, char **argv)
{
	return ctl_dispatch_family("compose", compose_subs, c, argc, argv);
}
