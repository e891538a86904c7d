/* One command invocation: parsing the common options (--socket,
 * --token-file, --json, --help) and the operands, subcommand dispatch for the
 * families, and the shared error/token/list-printing helpers. */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "names.h"
#include "output.h"

void ctl_err(const char *fmt, ...)
{
	/* One line whatever the arguments hold: a file's key or a name with a
	 * newline or an escape sequence must not reach the terminal as such. */
	char line[4096], clean[sizeof(line)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vaultctl: %s\n", out_clean(line, clean, sizeof(clean)));
}

int ctl_load_token_file(const char *path, struct secbuf **ret)
{
	struct secbuf *t = NULL;
	int r = input_read_file(path, CTL_MAX_TOKEN_BYTES, &t);
	if (r < 0) {
		ctl_err("cannot read token file %s: %s", path,
		        r == -EFBIG ? "too large for a token" : strerror(-r));
		return r;
	}
	input_rstrip(t);
	if (t->len == 0 || memchr(t->data, '\n', t->len)) {
		ctl_err("token file %s must hold one token (as written by `vaultctl token create "
		        "--output-file`)",
		        path);
		secbuf_free(t);
		return -EINVAL;
	}
	*ret = t;
	return 0;
}

static int common_opt(struct ctl_cmd *x, int id, const char *arg)
{
	switch (id) {
	case COMMON_OPT_SOCKET:
		x->c.socket = arg;
		return CMD_RUN;
	case COMMON_OPT_TOKEN_FILE: {
		struct secbuf *t = NULL;
		if (ctl_load_token_file(arg, &t) < 0)
			return CTL_USAGE;
		secbuf_free(x->own_token);
		x->own_token = t;
		x->c.token = t;
		return CMD_RUN;
	}
	case COMMON_OPT_JSON:
		x->c.json = true;
		return CMD_RUN;
	case COMMON_OPT_HELP:
		cmd_help(x->spec, stdout);
		return CTL_OK;
	default:
		return cmd_usage(x->spec, "internal error: unhandled option %d", id);
	}
}

int cmd_parse(struct ctl_cmd *x, const struct ctl *c, const struct cmd_spec *spec, int argc,
              char **argv, cmd_opt_fn on_opt, void *state)
{
	memset(x, 0, sizeof(*x));
	x->c = *c;
	x->spec = spec;
	struct args a;
	args_init(&a, argc, argv, spec->opts, common_opts);
	int id;
	while ((id = args_next(&a)) != ARGS_DONE) {
		int r;
		if (id == ARGS_ERROR)
			return cmd_usage(spec, "%s", a.err);
		if (id == ARGS_OPERAND && spec->max_operands != CMD_ANY_OPERANDS) {
			if (x->n_operands >= spec->max_operands ||
			    x->n_operands >= ARGS_MAX_OPERANDS)
				return cmd_usage(spec, "too many arguments");
			x->operands[x->n_operands++] = a.arg;
			continue;
		}
		if (id >= COMMON_OPT_SOCKET)
			r = common_opt(x, id, a.arg);
		else
			r = on_opt ? on_opt(state, id, a.arg)
			           : cmd_usage(spec, "unexpected option");
		if (id < COMMON_OPT_SOCKET && r == 0)
			r = CMD_RUN;
		if (r != CMD_RUN)
			return r;
	}
	if (x->n_operands < spec->min_operands)
		return cmd_usage(spec, "missing argument (usage: vaultctl %s %s)", spec->name,
		                 spec->usage);
	return CMD_RUN;
}

void cmd_done(struct ctl_cmd *x)
{
	secbuf_free(x->own_token);
	x->own_token = NULL;
}

int cmd_check_name(const struct cmd_spec *s, const char *name)
{
	if (name_is_valid_str(name))
		return CMD_RUN;
	return cmd_usage(s, "invalid secret name: names are 1-128 characters of A-Z a-z 0-9 . _ -, "
	                    "start with a letter or digit and contain no \"..\"");
}

int cmd_print_list(const json_t *answer, const char *key, bool json,
                   int (*print)(const json_t *list))
{
	const json_t *list = json_object_get(answer, key);
	if (!json_is_array(list)) {
		ctl_err("vaultd's answer has no \"%s\" list", key);
		return CTL_ERROR;
	}
	if (json)
		return out_json(answer) < 0 ? CTL_ERROR : CTL_OK;
	if (print(list) < 0) {
		ctl_err("out of memory");
		return CTL_ERROR;
	}
	return CTL_OK;
}

static void family_help(const char *family, const struct ctl_subcommand *subs, FILE *out)
{
	fprintf(out, "Usage: vaultctl %s COMMAND [OPTIONS]\n\nCommands:\n", family);
	for (const struct ctl_subcommand *s = subs; s->name; s++)
		fprintf(out, "  %-10s %s\n", s->name, s->summary);
	fprintf(out, "\nRun `vaultctl %s COMMAND --help` for a command's options.\n", family);
	fprintf(out, "\n%s", CTL_EXIT_CODES_HELP);
}

/* How many words at argv[0..argc) are common options (common_opts, but
 * --help, which asks for the family's help): "vaultctl token --socket S
 * list" means what "vaultctl token list --socket S" does. */
static int leading_globals(int argc, char **argv)
{
	int i = 0;
	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		const char *a = argv[i] + 2;
		const struct args_opt *o = common_opts;
		size_t n = 0;
		for (; o->name; o++) {
			n = strlen(o->name);
			if (o->id != COMMON_OPT_HELP && strncmp(a, o->name, n) == 0 &&
			    (a[n] == '\0' || (o->has_arg && a[n] == '=')))
				break;
		}
		if (!o->name)
			break;
		/* past argc when the value is missing: the caller says so */
		i += o->has_arg && a[n] == '\0' ? 2 : 1;
	}
	return i;
}

int ctl_dispatch_family(const char *family, const struct ctl_subcommand *subs, const struct ctl *c,
                        int argc, char **argv)
{
	int g = leading_globals(argc - 1, argv + 1);
	if (g > argc - 1) {
		fprintf(stderr, "vaultctl %s: option %s needs a value\n", family, argv[argc - 1]);
		return CTL_USAGE;
	}
	int k = 1 + g; /* the subcommand */
	if (argc <= k) {
		family_help(family, subs, stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0 ||
	    strcmp(argv[k], "help") == 0) {
		family_help(family, subs, stdout);
		return CTL_OK;
	}
	for (const struct ctl_subcommand *s = subs; s->name; s++) {
		if (strcmp(argv[k], s->name) != 0)
			continue;
		/* The globals move behind the subcommand, where its parser takes them. */
		char **sub = calloc((size_t)argc, sizeof(*sub)); /* NULL-terminated, as argv */
		if (!sub) {
			ctl_err("out of memory");
			return CTL_ERROR;
		}
		sub[0] = argv[k];
		memcpy(sub + 1, argv + 1, (size_t)g * sizeof(*sub));
		memcpy(sub + 1 + g, argv + k + 1, (size_t)(argc - k - 1) * sizeof(*sub));
		int rc = s->fn(c, argc - 1, sub);
		free(sub);
		return rc;
	}
	fprintf(stderr, "vaultctl %s: unknown command \"%.64s\"\n", family, argv[k]);
	family_help(family, subs, stderr);
	return CTL_USAGE;
}
