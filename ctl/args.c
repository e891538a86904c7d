/* Command-line parsing for vaultctl: the option scanner, number/duration/
 * label parsers, and --help output built from each command's spec. */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "output.h"

void args_init(struct args *a, int argc, char **argv, const struct args_opt *table1,
               const struct args_opt *table2)
{
	memset(a, 0, sizeof(*a));
	a->argc = argc;
	a->argv = argv;
	a->i = 1;
	a->tables[0] = table1;
	a->tables[1] = table2;
}

static const struct args_opt *find_long(const struct args *a, const char *name, size_t len)
{
	for (size_t t = 0; t < 2; t++) {
		for (const struct args_opt *o = a->tables[t]; o && o->name; o++) {
			if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
				return o;
		}
	}
	return NULL;
}

static const struct args_opt *find_short(const struct args *a, char c)
{
	for (size_t t = 0; t < 2; t++) {
		for (const struct args_opt *o = a->tables[t]; o && o->name; o++) {
			if (o->short_name == c)
				return o;
		}
	}
	return NULL;
}

__attribute__((format(printf, 2, 3))) static int fail(struct args *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
	return ARGS_ERROR;
}

/* "--name", "--name=value" or "--name value". */
static int next_long(struct args *a, const char *s)
{
	const char *eq = strchr(s, '=');
	size_t len = eq ? (size_t)(eq - s) : strlen(s);
	const struct args_opt *o = find_long(a, s, len);
	if (!o) {
		/* The name comes from argv: bound it so the message stays short. */
		return fail(a, "unknown option --%.*s", (int)(len < 48 ? len : 48), s);
	}
	if (!o->has_arg) {
		if (eq)
			return fail(a, "option --%s takes no value", o->name);
		a->arg = NULL;
		return o->id;
	}
	if (eq) {
		a->arg = eq + 1;
		return o->id;
	}
	if (a->i >= a->argc)
		return fail(a, "option --%s needs a value", o->name);
	a->arg = a->argv[a->i++];
	return o->id;
}

/* One letter of a "-abc" cluster; a letter that takes a value takes the
 * rest of the cluster, or the next argument. */
static int next_short(struct args *a)
{
	char c = *a->cluster++;
	const struct args_opt *o = find_short(a, c);
	if (!o) {
		a->cluster = NULL;
		return fail(a, "unknown option -%c", c);
	}
	if (!o->has_arg) {
		if (*a->cluster == '\0')
			a->cluster = NULL;
		a->arg = NULL;
		return o->id;
	}
	if (*a->cluster != '\0') {
		a->arg = a->cluster;
		a->cluster = NULL;
		return o->id;
	}
	a->cluster = NULL;
	if (a->i >= a->argc)
		return fail(a, "option --%s needs a value", o->name);
	a->arg = a->argv[a->i++];
	return o->id;
}

int args_next(struct args *a)
{
	if (a->cluster)
		return next_short(a);
	while (a->i < a->argc) {
		const char *s = a->argv[a->i++];
		if (a->operands_only || s[0] != '-' || strcmp(s, "-") == 0) {
			a->arg = s;
			return ARGS_OPERAND;
		}
		if (strcmp(s, "--") == 0) {
			a->operands_only = true;
			continue;
		}
		if (s[1] == '-')
			return next_long(a, s + 2);
		a->cluster = s + 1;
		return next_short(a);
	}
	return ARGS_DONE;
}

const struct args_opt common_opts[] = {
    {"socket", 0, true, COMMON_OPT_SOCKET, "PATH",
     "vaultd's socket (default $VAULTD_SOCKET, else "
     "/run/vaultd.sock)"},
    {"token-file", 0, true, COMMON_OPT_TOKEN_FILE, "FILE",
     "read the API token from FILE (default $VAULTD_TOKEN)"},
    {"json", 0, false, COMMON_OPT_JSON, NULL, "print JSON instead of a table"},
    {"help", 'h', false, COMMON_OPT_HELP, NULL, "show this help"},
    {0},
};

int args_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	if (!s || *s == '\0')
		return -EINVAL;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int64_t unit_seconds(char u)
{
	switch (u) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 7 * 86400;
	default:
		return 0;
	}
}

/* Durations beyond ten years are almost certainly a typo. */
#define ARGS_MAX_DURATION (10LL * 366 * 86400)

int args_parse_duration(const char *s, int64_t *ret_seconds)
{
	if (!s || *s == '\0')
		return -EINVAL;
	int64_t total = 0;
	bool parts = false;
	const char *p = s;
	while (*p) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		int64_t n = 0;
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (*p - '0');
			if (n > ARGS_MAX_DURATION)
				return -ERANGE;
			p++;
		}
		int64_t unit = 1;
		if (*p != '\0') {
			unit = unit_seconds(*p);
			if (unit == 0)
				return -EINVAL;
			p++;
		} else if (parts) {
			return -EINVAL; /* "1h30": a unitless tail is ambiguous */
		}
		parts = true;
		if (n > ARGS_MAX_DURATION / unit)
			return -ERANGE;
		total += n * unit;
		if (total > ARGS_MAX_DURATION)
			return -ERANGE;
	}
	*ret_seconds = total;
	return 0;
}

int args_split_label(const char *s, size_t *ret_key_len, const char **ret_value)
{
	const char *eq = s ? strchr(s, '=') : NULL;
	if (!eq || eq == s)
		return -EINVAL;
	*ret_key_len = (size_t)(eq - s);
	*ret_value = eq + 1;
	return 0;
}

static void help_opts(const struct args_opt *opts, FILE *out)
{
	for (const struct args_opt *o = opts; o && o->name; o++) {
		char left[64];
		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
			         o->has_arg ? " " : "", o->has_arg ? o->arg_name : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->has_arg ? " " : "",
			         o->has_arg ? o->arg_name : "");
		fprintf(out, "  %-26s %s\n", left, o->help);
	}
}

void cmd_help(const struct cmd_spec *s, FILE *out)
{
	fprintf(out, "Usage: vaultctl %s %s\n\n%s\n", s->name, s->usage, s->summary);
	if (s->opts && s->opts->name) {
		fprintf(out, "\nOptions:\n");
		help_opts(s->opts, out);
	}
	fprintf(out, "\nCommon options:\n");
	for (const struct args_opt *o = common_opts; o->name; o++) {
		if (o->id == COMMON_OPT_JSON && !s->json_output)
			continue;
		struct args_opt one[2] = {*o, {0}};
		help_opts(one, out);
	}
	if (s->details)
		fprintf(out, "\n%s\n", s->details);
	fprintf(out, "\n%s", CTL_EXIT_CODES_HELP);
}

int cmd_usage(const struct cmd_spec *s, const char *fmt, ...)
{
	char msg[ARGS_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char clean[sizeof(msg)]; /* it may echo what was typed: one line */
	fprintf(stderr, "vaultctl %s: %s\nRun `vaultctl %s --help` for usage.\n", s->name,
	        out_clean(msg, clean, sizeof(clean)), s->name);
	return 2; /* CTL_USAGE */
}
