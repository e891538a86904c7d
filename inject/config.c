/* inject's configuration: INJECT_* variables first, then flags on top (a list
 * flag such as --secret replaces the list its variable gave), then checks
 * across fields: names, file collisions, mode combinations. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <unistd.h>

#include "msg.h"
#include "passwd.h"

#define MAX_FIELDS 5

/* ---- small parsers ---- */

int config_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"", "0", "false", "no", "off"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	return -EINVAL;
}

/* "30", "0.5", "1.250": seconds with up to millisecond precision. */
int config_parse_duration_ms(const char *s, int *ret)
{
	long ms = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		ms = ms * 10 + (*p - '0');
		if (ms > INJECT_MAX_DURATION_MS / 1000)
			return -EINVAL;
	}
	ms *= 1000;
	if (*p == '.') {
		p++;
		long scale = 100;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale == 0)
				return -EINVAL; /* finer than a millisecond */
			ms += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p != '\0' || ms > INJECT_MAX_DURATION_MS)
		return -EINVAL;
	*ret = (int)ms;
	return 0;
}

/* "HUP", "SIGHUP", "sighup" or "1". SIGKILL and SIGSTOP cannot be a
 * reload signal: they would end or freeze the program. */
int config_parse_signal(const char *s, int *ret)
{
	int sig = 0;
	if (isdigit((unsigned char)s[0])) {
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (errno || *end || v <= 0 || v >= NSIG)
			return -EINVAL;
		sig = (int)v;
	} else {
		const char *n = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
		for (int i = 1; i < NSIG && !sig; i++) {
			const char *abbrev = sigabbrev_np(i);
			if (abbrev && strcasecmp(abbrev, n) == 0)
				sig = i;
		}
		if (!sig)
			return -EINVAL;
	}
	if (sig == SIGKILL || sig == SIGSTOP)
		return -EINVAL;
	*ret = sig;
	return 0;
}

static bool var_is_valid(const char *s, size_t len)
{
	if (len == 0 || len > INJECT_MAX_VAR_LEN)
		return false;
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Splits a copy of s (at most INJECT_MAX_SPEC_LEN) on ':' into fields. */
static int split_fields(const char *s, char *buf, size_t cap, char *fields[MAX_FIELDS], size_t *n)
{
	size_t len = strnlen(s, cap);
	if (len >= cap)
		return -E2BIG;
	memcpy(buf, s, len + 1);
	*n = 0;
	char *p = buf;
	for (;;) {
		if (*n == MAX_FIELDS)
			return -EINVAL;
		fields[(*n)++] = p;
		char *c = strchr(p, ':');
		if (!c)
			return 0;
		*c = '\0';
		p = c + 1;
	}
}

/* FILE[:MODE[:UID:GID]] from fields[0..n), into out. what/spec for messages. */
static int parse_file_fields(char *const *f, size_t n, const char *deflt, struct file_spec *out,
                             const char *spec, char *err, size_t cap)
{
	struct file_spec o = {.mode = INJECT_DEFAULT_MODE};
	const char *file = (n >= 1 && f[0][0]) ? f[0] : deflt;
	if (!file || !name_is_valid_str(file))
		return errf(err, cap, -EINVAL,
		            "\"%s\": file name \"%s\" is not a valid name "
		            "([A-Za-z0-9][A-Za-z0-9._-]{0,127}, no \"..\", no \"/\")",
		            spec, file ? file : "");
	memcpy(o.file, file, strlen(file) + 1);
	if (n >= 2 && f[1][0]) {
		char *end;
		size_t ml = strlen(f[1]);
		errno = 0;
		unsigned long m = strtoul(f[1], &end, 8);
		if (ml > 4 || *end || errno || m > 0777 || !isdigit((unsigned char)f[1][0]))
			return errf(err, cap, -EINVAL,
			            "\"%s\": mode \"%s\" must be octal, at most 0777 (e.g. 0440)",
			            spec, f[1]);
		o.mode = (mode_t)m;
	}
	if (n == 3)
		return errf(err, cap, -EINVAL, "\"%s\": give both UID and GID (FILE:MODE:UID:GID)",
		            spec);
	if (n >= 4 && (f[2][0] || f[3][0])) {
		unsigned u, g;
		if (passwd_parse_id(f[2], &u) < 0 || passwd_parse_id(f[3], &g) < 0)
			return errf(err, cap, -EINVAL, "\"%s\": UID and GID must both be numbers",
			            spec);
		o.has_owner = true;
		o.uid = (uid_t)u;
		o.gid = (gid_t)g;
	}
	*out = o;
	return 0;
}

int config_parse_secret_spec(const char *s, struct secret_spec *ret, char *err, size_t cap)
{
	char buf[INJECT_MAX_SPEC_LEN];
	char *f[MAX_FIELDS];
	size_t n;
	if (split_fields(s, buf, sizeof(buf), f, &n) < 0)
		return errf(err, cap, -EINVAL,
		            "secret \"%.64s\": expected NAME[:FILE[:MODE[:UID:GID]]]", s);
	if (!name_is_valid_str(f[0]))
		return errf(err, cap, -EINVAL,
		            "secret \"%.64s\": \"%.64s\" is not a valid secret name "
		            "([A-Za-z0-9][A-Za-z0-9._-]{0,127}, no \"..\")",
		            s, f[0]);
	struct secret_spec o = {0};
	memcpy(o.name, f[0], strlen(f[0]) + 1);
	int r = parse_file_fields(f + 1, n - 1, o.name, &o.out, s, err, cap);
	if (r < 0)
		return r;
	*ret = o;
	return 0;
}

int config_parse_template_spec(const char *s, struct template_spec *ret, char *err, size_t cap)
{
	char buf[INJECT_MAX_SPEC_LEN];
	char *f[MAX_FIELDS];
	size_t n;
	if (split_fields(s, buf, sizeof(buf), f, &n) < 0 || n < 2 || !f[0][0] || !f[1][0])
		return errf(err, cap, -EINVAL,
		            "template \"%.64s\": expected SRC:DST[:MODE[:UID:GID]]", s);
	struct template_spec o = {0};
	if (strlen(f[0]) >= sizeof(o.src))
		return errf(err, cap, -EINVAL, "template \"%.64s\": source path too long", s);
	memcpy(o.src, f[0], strlen(f[0]) + 1);
	int r = parse_file_fields(f + 1, n - 1, NULL, &o.out, s, err, cap);
	if (r < 0)
		return r;
	*ret = o;
	return 0;
}

int config_parse_env_map(const char *s, struct env_map *ret, char *err, size_t cap)
{
	const char *eq = strchr(s, '=');
	if (!eq || !var_is_valid(s, (size_t)(eq - s)))
		return errf(err, cap, -EINVAL,
		            "\"%.64s\": expected VAR=NAME with VAR a variable name "
		            "([A-Za-z_][A-Za-z0-9_]*)",
		            s);
	if (!name_is_valid_str(eq + 1))
		return errf(err, cap, -EINVAL, "\"%.64s\": \"%.64s\" is not a valid secret name", s,
		            eq + 1);
	struct env_map o = {0};
	memcpy(o.var, s, (size_t)(eq - s));
	memcpy(o.name, eq + 1, strlen(eq + 1) + 1);
	*ret = o;
	return 0;
}

/* ---- lists ---- */

/* Makes room for one more element in *arr (n used, *cap allocated): the
 * lists start empty and grow, so a usual call touches little memory. */
static int reserve(void *arr, size_t *cap, size_t n, size_t elem)
{
	void **a = arr;
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 8;
	void *p = realloc(*a, nc * elem);
	if (!p)
		return -ENOMEM;
	*a = p;
	*cap = nc;
	return 0;
}

static int add_secret(struct inject_config *c, const char *spec, char *err, size_t cap)
{
	if (c->n_secrets == INJECT_MAX_SECRETS)
		return errf(err, cap, -EINVAL, "more than %d secrets", INJECT_MAX_SECRETS);
	struct secret_spec s;
	int r = config_parse_secret_spec(spec, &s, err, cap);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_secrets; i++)
		if (strcmp(c->secrets[i].name, s.name) == 0)
			return errf(err, cap, -EINVAL, "secret \"%s\" is listed twice", s.name);
	if (reserve(&c->secrets, &c->cap_secrets, c->n_secrets, sizeof(s)) < 0)
		return -ENOMEM;
	c->secrets[c->n_secrets++] = s;
	return 0;
}

static int add_template(struct inject_config *c, const char *spec, char *err, size_t cap)
{
	if (c->n_templates == INJECT_MAX_TEMPLATES)
		return errf(err, cap, -EINVAL, "more than %d templates", INJECT_MAX_TEMPLATES);
	struct template_spec t;
	int r = config_parse_template_spec(spec, &t, err, cap);
	if (r < 0)
		return r;
	if (reserve(&c->templates, &c->cap_templates, c->n_templates, sizeof(t)) < 0)
		return -ENOMEM;
	c->templates[c->n_templates++] = t;
	return 0;
}

static int add_map(struct env_map **list, size_t *n, size_t *alloc, const char *spec, char *err,
                   size_t cap)
{
	if (*n == INJECT_MAX_ENV_MAPS)
		return errf(err, cap, -EINVAL, "more than %d variables", INJECT_MAX_ENV_MAPS);
	struct env_map m;
	int r = config_parse_env_map(spec, &m, err, cap);
	if (r < 0)
		return r;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i].var, m.var) == 0)
			return errf(err, cap, -EINVAL, "variable %s is mapped twice", m.var);
	if (reserve(list, alloc, *n, sizeof(m)) < 0)
		return -ENOMEM;
	(*list)[(*n)++] = m;
	return 0;
}

enum list_kind { LIST_SECRETS, LIST_TEMPLATES, LIST_FILE_ENV, LIST_ENV };

static int add_item(struct inject_config *c, enum list_kind k, const char *item, char *err,
                    size_t cap)
{
	switch (k) {
	case LIST_SECRETS:
		return add_secret(c, item, err, cap);
	case LIST_TEMPLATES:
		return add_template(c, item, err, cap);
	case LIST_FILE_ENV:
		return add_map(&c->file_envs, &c->n_file_envs, &c->cap_file_envs, item, err, cap);
	case LIST_ENV:
		return add_map(&c->envs, &c->n_envs, &c->cap_envs, item, err, cap);
	}
	return -EINVAL;
}

/* An INJECT_* list: items separated by commas and/or whitespace. */
static int add_list(struct inject_config *c, enum list_kind k, const char *var, const char *v,
                    char *err, size_t cap)
{
	char item[INJECT_MAX_SPEC_LEN];
	const char *p = v;
	while (*p) {
		size_t skip = strspn(p, ", \t\r\n");
		p += skip;
		size_t len = strcspn(p, ", \t\r\n");
		if (len == 0)
			break;
		if (len >= sizeof(item))
			return errf(err, cap, -EINVAL, "%s: an item is longer than %d bytes", var,
			            INJECT_MAX_SPEC_LEN - 1);
		memcpy(item, p, len);
		item[len] = '\0';
		int r = add_item(c, k, item, err, cap);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			/* Say where the bad item came from. */
			char why[512];
			snprintf(why, sizeof(why), "%s", err ? err : "");
			return errf(err, cap, -EINVAL, "%s: %s", var, why);
		}
		p += len;
	}
	return 0;
}

static void clear_list(struct inject_config *c, enum list_kind k)
{
	switch (k) {
	case LIST_SECRETS:
		c->n_secrets = 0;
		break;
	case LIST_TEMPLATES:
		c->n_templates = 0;
		break;
	case LIST_FILE_ENV:
		c->n_file_envs = 0;
		break;
	case LIST_ENV:
		c->n_envs = 0;
		break;
	}
}

static int set_on_change(struct inject_config *c, const char *cmd, char *err, size_t cap)
{
	/* No shell: the command is split on blanks into argv. Put anything
	 * more involved into a script. */
	free(c->on_change_buf);
	c->on_change_buf = strdup(cmd);
	c->on_change[0] = NULL;
	if (!c->on_change_buf)
		return -ENOMEM;
	size_t n = 0;
	for (char *save = NULL, *w = strtok_r(c->on_change_buf, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save)) {
		if (n == INJECT_MAX_ON_CHANGE_ARGS)
			return errf(err, cap, -EINVAL, "--on-change: more than %d words",
			            INJECT_MAX_ON_CHANGE_ARGS);
		c->on_change[n++] = w;
	}
	c->on_change[n] = NULL;
	if (n == 0)
		return errf(err, cap, -EINVAL, "--on-change: empty command");
	return 0;
}

/* ---- environment ---- */

static const char *env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static int env_bool(char *const *envp, const char *var, bool *out, char *err, size_t cap)
{
	const char *v = env_lookup(envp, var);
	if (v && config_parse_bool(v, out) < 0)
		return errf(err, cap, -EINVAL,
		            "%s=\"%.32s\": expected 1/0, true/false, yes/no or on/off", var, v);
	return 0;
}

static int env_duration(char *const *envp, const char *var, int *out, char *err, size_t cap)
{
	const char *v = env_lookup(envp, var);
	if (v && config_parse_duration_ms(v, out) < 0)
		return errf(err, cap, -EINVAL,
		            "%s=\"%.32s\": expected seconds, e.g. 30 or 0.5 (at most %d)", var, v,
		            INJECT_MAX_DURATION_MS / 1000);
	return 0;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static int read_env(struct inject_config *c, char *const *envp, char *err, size_t cap)
{
	int r;
	const char *v;
	c->socket = nonempty(env_lookup(envp, "INJECT_SOCKET"));
	if (!c->socket)
		c->socket = nonempty(env_lookup(envp, "VAULTD_SOCKET"));
	if ((v = nonempty(env_lookup(envp, "INJECT_DIR"))))
		c->dir = v;
	c->user = nonempty(env_lookup(envp, "INJECT_USER"));
	/* Kept even when empty: INJECT_TOKEN_FILE: ${UNSET} is a token that went
	 * missing (exit 68 in main), not a request for peer credentials. */
	c->token_file = env_lookup(envp, "INJECT_TOKEN_FILE");
	static const struct {
		const char *var;
		enum list_kind kind;
	} lists[] = {{"INJECT_SECRETS", LIST_SECRETS},
	             {"INJECT_TEMPLATES", LIST_TEMPLATES},
	             {"INJECT_FILE_ENV", LIST_FILE_ENV},
	             {"INJECT_ENV", LIST_ENV}};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if ((v = env_lookup(envp, lists[i].var)) &&
		    (r = add_list(c, lists[i].kind, lists[i].var, v, err, cap)) < 0)
			return r;
	if ((r = env_bool(envp, "INJECT_INIT", &c->init, err, cap)) < 0 ||
	    (r = env_bool(envp, "INJECT_WATCH", &c->watch, err, cap)) < 0 ||
	    (r = env_bool(envp, "INJECT_GROUP", &c->group, err, cap)) < 0 ||
	    (r = env_bool(envp, "INJECT_KEEP", &c->keep, err, cap)) < 0 ||
	    (r = env_bool(envp, "INJECT_PREVIOUS", &c->previous, err, cap)) < 0 ||
	    (r = env_bool(envp, "INJECT_ALLOW_DISK", &c->allow_disk, err, cap)) < 0 ||
	    (r = env_duration(envp, "INJECT_WAIT", &c->wait_ms, err, cap)) < 0 ||
	    (r = env_duration(envp, "INJECT_DEBOUNCE", &c->debounce_ms, err, cap)) < 0 ||
	    (r = env_duration(envp, "INJECT_GRACE", &c->grace_ms, err, cap)) < 0)
		return r;
	if ((v = nonempty(env_lookup(envp, "INJECT_RELOAD_SIGNAL"))) &&
	    config_parse_signal(v, &c->reload_signal) < 0)
		return errf(err, cap, -EINVAL,
		            "INJECT_RELOAD_SIGNAL=\"%.32s\": not a signal (e.g. HUP, USR1)", v);
	if ((v = nonempty(env_lookup(envp, "INJECT_ON_CHANGE"))) &&
	    (r = set_on_change(c, v, err, cap)) < 0)
		return r;
	return 0;
}

/* ---- flags ---- */

enum {
	OPT_SOCKET = 256,
	OPT_SECRET,
	OPT_DIR,
	OPT_USER,
	OPT_FILE_ENV,
	OPT_TEMPLATE,
	OPT_ENV,
	OPT_INIT,
	OPT_WATCH,
	OPT_GROUP,
	OPT_KEEP,
	OPT_PREVIOUS,
	OPT_ALLOW_DISK,
	OPT_RELOAD_SIGNAL,
	OPT_ON_CHANGE,
	OPT_DEBOUNCE,
	OPT_GRACE,
	OPT_WAIT,
	OPT_TOKEN_FILE,
	OPT_HELP,
	OPT_VERSION,
};

/* Long options only, "--name value" or "--name=value" (and -h). Our own
 * loop rather than getopt_long: getopt drags glibc's wide-character printf
 * into the static binary. */
static const struct option_def {
	const char *name;
	bool has_arg;
	int id;
} options[] = {
    {"socket", true, OPT_SOCKET},
    {"secret", true, OPT_SECRET},
    {"dir", true, OPT_DIR},
    {"user", true, OPT_USER},
    {"file-env", true, OPT_FILE_ENV},
    {"template", true, OPT_TEMPLATE},
    {"env", true, OPT_ENV},
    {"init", false, OPT_INIT},
    {"watch", false, OPT_WATCH},
    {"group", false, OPT_GROUP},
    {"keep", false, OPT_KEEP},
    {"previous", false, OPT_PREVIOUS},
    {"allow-disk", false, OPT_ALLOW_DISK},
    {"reload-signal", true, OPT_RELOAD_SIGNAL},
    {"on-change", true, OPT_ON_CHANGE},
    {"debounce", true, OPT_DEBOUNCE},
    {"grace", true, OPT_GRACE},
    {"wait", true, OPT_WAIT},
    {"token-file", true, OPT_TOKEN_FILE},
    {"help", false, OPT_HELP},
    {"version", false, OPT_VERSION},
};

/* Matches argv[*i] against the table. Returns the option id (0: the end of
 * the options, *i at the command), sets *arg, advances *i; -EINVAL with a
 * reason on an unknown option or a missing value. */
static int next_option(int argc, char **argv, int *i, const char **arg, char *err, size_t cap)
{
	if (*i >= argc)
		return 0;
	const char *a = argv[*i];
	if (strcmp(a, "--") == 0) {
		(*i)++;
		return 0;
	}
	if (strcmp(a, "-h") == 0) {
		(*i)++;
		return OPT_HELP;
	}
	if (a[0] != '-')
		return 0; /* the command: stop here, as tini does */
	if (a[1] != '-')
		return errf(err, cap, -EINVAL, "unknown option %.64s", a);
	const char *name = a + 2, *eq = strchr(name, '=');
	size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
	for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
		const struct option_def *o = &options[k];
		if (strlen(o->name) != nlen || strncmp(o->name, name, nlen) != 0)
			continue;
		(*i)++;
		*arg = NULL;
		if (!o->has_arg) {
			if (eq)
				return errf(err, cap, -EINVAL, "--%s takes no value", o->name);
		} else if (eq) {
			*arg = eq + 1;
		} else if (*i < argc) {
			*arg = argv[(*i)++];
		} else {
			return errf(err, cap, -EINVAL, "--%s needs a value", o->name);
		}
		return o->id;
	}
	return errf(err, cap, -EINVAL, "unknown option --%.*s", (int)(nlen > 64 ? 64 : nlen), name);
}

static int flag_list(struct inject_config *c, enum list_kind k, bool *seen, const char *flag,
                     const char *arg, char *err, size_t cap)
{
	if (!*seen) {
		clear_list(c, k); /* the flags replace what the variable gave */
		*seen = true;
	}
	int r = add_item(c, k, arg, err, cap);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", err ? err : "");
		return errf(err, cap, -EINVAL, "--%s: %s", flag, why);
	}
	return 0;
}

static int flag_duration(const char *flag, const char *arg, int *out, char *err, size_t cap)
{
	if (config_parse_duration_ms(arg, out) < 0)
		return errf(err, cap, -EINVAL,
		            "--%s \"%.32s\": expected seconds, e.g. 30 or 0.5 (at most %d)", flag,
		            arg, INJECT_MAX_DURATION_MS / 1000);
	return 0;
}

static int read_flags(struct inject_config *c, int argc, char **argv, char *err, size_t cap)
{
	bool seen[4] = {false, false, false, false};
	int i = 1, o, r = 0;
	const char *a = NULL;
	while ((o = next_option(argc, argv, &i, &a, err, cap)) != 0) {
		switch (o) {
		case OPT_SOCKET:
			c->socket = a;
			break;
		case OPT_SECRET:
			r = flag_list(c, LIST_SECRETS, &seen[0], "secret", a, err, cap);
			break;
		case OPT_TEMPLATE:
			r = flag_list(c, LIST_TEMPLATES, &seen[1], "template", a, err, cap);
			break;
		case OPT_FILE_ENV:
			r = flag_list(c, LIST_FILE_ENV, &seen[2], "file-env", a, err, cap);
			break;
		case OPT_ENV:
			r = flag_list(c, LIST_ENV, &seen[3], "env", a, err, cap);
			break;
		case OPT_DIR:
			c->dir = a;
			break;
		case OPT_USER:
			c->user = a;
			break;
		case OPT_TOKEN_FILE:
			c->token_file = a;
			break;
		case OPT_INIT:
			c->init = true;
			break;
		case OPT_WATCH:
			c->watch = true;
			break;
		case OPT_GROUP:
			c->group = true;
			break;
		case OPT_KEEP:
			c->keep = true;
			break;
		case OPT_PREVIOUS:
			c->previous = true;
			break;
		case OPT_ALLOW_DISK:
			c->allow_disk = true;
			break;
		case OPT_RELOAD_SIGNAL:
			if (config_parse_signal(a, &c->reload_signal) < 0)
				r = errf(err, cap, -EINVAL,
				         "--reload-signal \"%.32s\": not a signal (e.g. HUP, USR1)",
				         a);
			break;
		case OPT_ON_CHANGE:
			r = set_on_change(c, a, err, cap);
			break;
		case OPT_DEBOUNCE:
			r = flag_duration("debounce", a, &c->debounce_ms, err, cap);
			break;
		case OPT_GRACE:
			r = flag_duration("grace", a, &c->grace_ms, err, cap);
			break;
		case OPT_WAIT:
			r = flag_duration("wait", a, &c->wait_ms, err, cap);
			break;
		case OPT_HELP:
			c->action = CONFIG_HELP;
			return 0;
		case OPT_VERSION:
			c->action = CONFIG_VERSION;
			return 0;
		default:
			return o; /* next_option's error */
		}
		if (r < 0)
			return r;
	}
	if (i >= argc)
		return errf(err, cap, -EINVAL,
		            "no command given: inject [OPTIONS] -- COMMAND [ARGS...]");
	c->command = argv + i;
	return 0;
}

/* ---- whole-config checks ---- */

static int find_secret(const struct inject_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_secrets; i++)
		if (strcmp(c->secrets[i].name, name) == 0)
			return (int)i;
	return -1;
}

int config_add_name(struct inject_config *c, const char *name)
{
	if (!name_is_valid_str(name))
		return -EINVAL;
	for (size_t i = 0; i < c->n_names; i++)
		if (strcmp(c->names[i], name) == 0)
			return 0;
	if (c->n_names == INJECT_MAX_NAMES)
		return -E2BIG;
	if (reserve(&c->names, &c->cap_names, c->n_names, sizeof(*c->names)) < 0)
		return -ENOMEM;
	memcpy(c->names[c->n_names++], name, strlen(name) + 1);
	return 0;
}

/* Every output file name must be unique, ".previous" companions included. */
static int check_collisions(const struct inject_config *c, char *err, size_t cap)
{
	size_t per = c->previous ? 2 : 1;
	size_t n = c->n_secrets * per + c->n_templates;
	char(*files)[VAULT_MAX_NAME_LEN + sizeof(INJECT_PREVIOUS_SUFFIX)] =
	    calloc(n + 1, sizeof(*files));
	if (!files)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < c->n_secrets; i++) {
		snprintf(files[k++], sizeof(files[0]), "%s", c->secrets[i].out.file);
		if (c->previous)
			snprintf(files[k++], sizeof(files[0]), "%s" INJECT_PREVIOUS_SUFFIX,
			         c->secrets[i].out.file);
	}
	for (size_t i = 0; i < c->n_templates; i++)
		snprintf(files[k++], sizeof(files[0]), "%s", c->templates[i].out.file);
	int r = 0;
	for (size_t i = 0; i < k && r == 0; i++) {
		if (!name_is_valid_str(files[i]))
			r = errf(err, cap, -EINVAL,
			         "file name \"%s\" is too long (with --previous)", files[i]);
		for (size_t j = i + 1; j < k && r == 0; j++)
			if (strcmp(files[i], files[j]) == 0)
				r = errf(err, cap, -EINVAL,
				         "two outputs would write the file \"%s\"", files[i]);
	}
	free(files);
	return r;
}

/* inject sets each variable of the command once: two settings of one
 * (--env X_FILE beside --file-env X, --env HOME beside --user) would give
 * it two entries, and getenv takes whichever comes first. */
static int check_env_collisions(const struct inject_config *c, char *err, size_t cap)
{
	for (size_t i = 0; i < c->n_envs; i++) {
		const char *v = c->envs[i].var;
		if (c->user && strcmp(v, "HOME") == 0)
			return errf(err, cap, -EINVAL,
			            "--env HOME=...: --user sets HOME (from its passwd entry)");
		for (size_t k = 0; k < c->n_file_envs; k++) {
			size_t n = strlen(c->file_envs[k].var);
			if (strncmp(v, c->file_envs[k].var, n) == 0 && strcmp(v + n, "_FILE") == 0)
				return errf(err, cap, -EINVAL, "--env %s=... and --file-env %s=... both set %s",
				            v, c->file_envs[k].var, v);
		}
	}
	return 0;
}

static int finish(struct inject_config *c, char *err, size_t cap)
{
	/* --file-env needs a file: a name not listed with --secret gets one
	 * with the defaults. */
	for (size_t i = 0; i < c->n_file_envs; i++) {
		if (find_secret(c, c->file_envs[i].name) >= 0)
			continue;
		if (c->n_secrets == INJECT_MAX_SECRETS)
			return errf(err, cap, -EINVAL, "more than %d secrets", INJECT_MAX_SECRETS);
		if (reserve(&c->secrets, &c->cap_secrets, c->n_secrets, sizeof(*c->secrets)) < 0)
			return -ENOMEM;
		struct secret_spec *s = &c->secrets[c->n_secrets++];
		memset(s, 0, sizeof(*s));
		memcpy(s->name, c->file_envs[i].name, sizeof(s->name));
		memcpy(s->out.file, s->name, sizeof(s->out.file));
		s->out.mode = INJECT_DEFAULT_MODE;
	}
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->n_secrets + c->n_envs; i++)
		r = config_add_name(c, i < c->n_secrets ? c->secrets[i].name
		                                        : c->envs[i - c->n_secrets].name);
	if (r == -E2BIG)
		return errf(err, cap, -EINVAL,
		            "more than %d different secrets: vaultd answers at most %d in one bundle",
		            INJECT_MAX_NAMES, VAULT_MAX_BUNDLE_NAMES);
	if (r < 0)
		return r;
	r = check_collisions(c, err, cap);
	if (r == 0)
		r = check_env_collisions(c, err, cap);
	if (r < 0)
		return r;
	if (c->watch)
		c->init = true; /* --watch stays alive to rewrite files: it is --init too */
	if (c->on_change[0] && !c->watch)
		return errf(err, cap, -EINVAL, "--on-change needs --watch");
	if (c->reload_signal && c->on_change[0])
		return errf(err, cap, -EINVAL, "give --reload-signal or --on-change, not both");
	if (!c->reload_signal)
		c->reload_signal = SIGHUP;
	if (c->grace_ms > 0 && !c->init)
		return errf(err, cap, -EINVAL, "--grace needs --init or --watch");
	if (c->group && !c->init)
		return errf(err, cap, -EINVAL, "--group needs --init or --watch");
	if (c->keep && !c->init)
		return errf(err, cap, -EINVAL,
		            "--keep needs --init or --watch (exec mode always keeps files)");
	if (c->n_secrets == 0 && c->n_envs == 0 && c->n_templates == 0)
		return errf(err, cap, -EINVAL,
		            "no secrets requested: give --secret, --file-env, --env or --template "
		            "(or INJECT_SECRETS)");
	if (!c->socket || !c->socket[0])
		c->socket = INJECT_DEFAULT_SOCKET;
	if (!c->dir[0])
		return errf(err, cap, -EINVAL, "--dir must not be empty");
	return 0;
}

int config_parse(struct inject_config *c, int argc, char **argv, char *const *envp, char *err,
                 size_t cap)
{
	memset(c, 0, sizeof(*c));
	if (err && cap)
		err[0] = '\0';
	c->dir = INJECT_DEFAULT_DIR;
	c->wait_ms = INJECT_DEFAULT_WAIT_MS;
	c->debounce_ms = INJECT_DEFAULT_DEBOUNCE_MS;
	int r = read_env(c, envp, err, cap);
	if (r == 0)
		r = read_flags(c, argc, argv, err, cap);
	if (r == 0 && c->action == CONFIG_RUN)
		r = finish(c, err, cap);
	return r;
}

void config_free(struct inject_config *c)
{
	if (!c)
		return;
	free(c->secrets);
	free(c->templates);
	free(c->file_envs);
	free(c->envs);
	free(c->names);
	free(c->on_change_buf);
	memset(c, 0, sizeof(*c));
}

void config_usage(int fd)
{
	static const char text[] =
	    "Usage: inject [OPTIONS] [--] COMMAND [ARGS...]\n"
	    "Fetch secrets from vaultd, write them as files on a tmpfs, drop privileges,\n"
	    "then exec COMMAND (default) or run it as PID 1 (--init, --watch).\n"
	    "Every option has an environment variable [in brackets]; an option wins.\n"
	    "\n"
	    "  --socket PATH          vaultd's socket (default /run/vaultd.sock)\n"
	    "                         [INJECT_SOCKET, else VAULTD_SOCKET]\n"
	    "  --secret NAME[:FILE[:MODE[:UID:GID]]]\n"
	    "                         fetch NAME into DIR/FILE; repeatable. FILE defaults\n"
	    "                         to NAME, MODE to 0400, owner to the --user\n"
	    "                         [INJECT_SECRETS=a,b:b.txt:0440:0:999]\n"
	    "  --dir DIR              where files go (default /run/secrets): a tmpfs or\n"
	    "                         ramfs not writable by others [INJECT_DIR]\n"
	    "  --allow-disk           accept a DIR that is not tmpfs/ramfs\n"
	    "                         [INJECT_ALLOW_DISK=1]\n"
	    "  --user USER[:GROUP]    run COMMAND as USER, a name or a number [INJECT_USER]\n"
	    "  --file-env VAR=NAME    set VAR_FILE=DIR/FILE of NAME [INJECT_FILE_ENV]\n"
	    "  --env VAR=NAME         put NAME's value in VAR (env vars leak: avoid)\n"
	    "                         [INJECT_ENV]\n"
	    "  --template SRC:DST[:MODE[:UID:GID]]\n"
	    "                         render SRC into DIR/DST; {{ secret \"NAME\" }} is\n"
	    "                         replaced by the value [INJECT_TEMPLATES]\n"
	    "  --previous             also write FILE.previous, the previous version\n"
	    "                         [INJECT_PREVIOUS=1]\n"
	    "  --token-file FILE      authenticate with a token (default: peer credentials)\n"
	    "                         [INJECT_TOKEN_FILE, or the token in INJECT_TOKEN]\n"
	    "  --wait SECONDS         wait this long for vaultd to be up and unsealed\n"
	    "                         (default 30) [INJECT_WAIT]\n"
	    "  --init                 stay PID 1: forward signals, reap zombies, remove the\n"
	    "                         files when COMMAND exits [INJECT_INIT=1]\n"
	    "  --group                forward signals to COMMAND's process group\n"
	    "                         [INJECT_GROUP=1]\n"
	    "  --grace SECONDS        SIGKILL the group this long after a forwarded SIGTERM\n"
	    "                         (default: never) [INJECT_GRACE]\n"
	    "  --keep                 keep the files when COMMAND exits [INJECT_KEEP=1]\n"
	    "  --watch                --init, and rewrite the files when secrets change\n"
	    "                         (up to 64 secrets behind files) [INJECT_WATCH=1]\n"
	    "  --reload-signal SIG    then signal COMMAND (default HUP)\n"
	    "                         [INJECT_RELOAD_SIGNAL]\n"
	    "  --on-change CMD        or run CMD instead (split on blanks, no shell)\n"
	    "                         [INJECT_ON_CHANGE]\n"
	    "  --debounce SECONDS     changes within this window give one reload\n"
	    "                         (default 1) [INJECT_DEBOUNCE]\n"
	    "  -h, --help             this text\n"
	    "  --version              inject's version\n"
	    "\n"
	    "Exit status: COMMAND's own; with --init its status or 128+signal.\n"
	    "When inject fails, COMMAND never starts, and the status says why:\n"
	    "  64 usage             65 template          66 secret not found\n"
	    "  67 unknown user      68 token             69 vaultd unreachable\n"
	    "  70 internal          71 privilege drop    73 cannot write a file\n"
	    "  75 vaultd sealed     76 protocol error    77 denied/unauthenticated\n"
	    "  78 unsafe --dir (not tmpfs/ramfs, writable by others, planted symlink)\n"
	    "  126 COMMAND not executable                127 COMMAND not found\n"
	    "  128+N: stopped by signal N (SIGTERM, SIGINT, SIGQUIT) before COMMAND ran\n";
	size_t off = 0;
	while (off < sizeof(text) - 1) {
		ssize_t n = write(fd, text + off, sizeof(text) - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}
