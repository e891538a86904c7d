/* Follows a Dockerfile's stages to the ENTRYPOINT and CMD of the image it
 * builds (for services with build: that inject must wrap), and splits
 * command strings the way compose does. */
#include "compose_dockerfile.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose_images.h"
#include "input.h"

#define STAGE_NAME_MAX 128

struct stage {
	char name[STAGE_NAME_MAX];
	struct cnode *ep, *cmd; /* NULL = unknown (inherited from a base we do not know) */
	bool cmd_set;           /* this stage has its own CMD: ENTRYPOINT keeps it */
	struct cnode *shell;    /* SHELL; NULL: ["/bin/sh", "-c"]. A stage FROM an
	                         * earlier one inherits it, as it does ENTRYPOINT */
	char base[256];         /* for the error message */
	char user[COMPOSE_USER_MAX]; /* USER, "" = the base image's (root for
	                              * the images we know, and most others) */
};

struct dfile {
	struct stage *st;
	size_t n;
	struct cnode *args; /* mapping NAME -> value for FROM lines */
	const struct cnode *build_args;
};

#define FROM_LINE_MAX 1024

/* A global ARG (before the first FROM): its default, unless compose's
 * build args give the name a value. */
static int global_arg(struct dfile *d, const char *spec)
{
	char name[256];
	const char *eq = strchr(spec, '=');
	size_t n = eq ? (size_t)(eq - spec) : strlen(spec);
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, spec, n);
	name[n] = '\0';
	const char *val = eq ? eq + 1 : NULL;
	const struct cnode *ba = d->build_args;
	if (ba && ba->kind == CNODE_MAP && cnode_map_get(ba, name) &&
	    cnode_map_get(ba, name)->kind == CNODE_SCALAR)
		val = cnode_map_get(ba, name)->str;
	for (size_t i = 0; ba && ba->kind == CNODE_SEQ && i < ba->n; i++) {
		const struct cnode *it = ba->items[i];
		if (it->kind == CNODE_SCALAR && strncmp(it->str, name, n) == 0 && it->str[n] == '=')
			val = it->str + n + 1;
	}
	if (!val)
		return 0;
	if (!d->args && !(d->args = cnode_new_map()))
		return -ENOMEM;
	return cnode_map_set(d->args, name, cnode_new_str(val));
}

/* $NAME and ${NAME} from the global ARGs; an unknown one stays, so the
 * image name keeps a '$' and counts as unknown. */
static void expand_args(const struct dfile *d, const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = in; *p && o + 1 < cap;) {
		if (*p == '$') {
			bool brace = p[1] == '{';
			const char *s = p + 1 + brace;
			size_t n = 0;
			while (s[n] == '_' || isalnum((unsigned char)s[n]))
				n++;
			char name[256];
			const struct cnode *v = NULL;
			if (n > 0 && n < sizeof(name) && (!brace || s[n] == '}')) {
				memcpy(name, s, n);
				name[n] = '\0';
				v = cnode_map_get(d->args, name);
			}
			if (v && v->kind == CNODE_SCALAR) {
				for (const char *c = v->str; *c && o + 1 < cap; c++)
					out[o++] = *c;
				p = s + n + brace;
				continue;
			}
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
}

/* Bases that set no ENTRYPOINT: what their CMD is does not matter once the
 * Dockerfile sets its own. */
static bool base_without_entrypoint(const char *image)
{
	static const char *const bases[] = {
	    "scratch", "alpine",         "debian",    "ubuntu",          "busybox", "fedora",
	    "centos",  "rockylinux",     "almalinux", "amazonlinux",     "golang",  "rust",
	    "gcc",     "buildpack-deps", "openjdk",   "eclipse-temurin", NULL};
	char repo[256];
	snprintf(repo, sizeof(repo), "%s", image);
	char *p = strpbrk(repo, ":@");
	if (p)
		*p = '\0';
	const char *r = repo;
	if (strncmp(r, "docker.io/", 10) == 0)
		r += 10;
	if (strncmp(r, "library/", 8) == 0)
		r += 8;
	for (const char *const *b = bases; *b; b++)
		if (strcmp(r, *b) == 0)
			return true;
	return false;
}

static struct cnode *seq_of(const char *const *argv)
{
	struct cnode *s = cnode_new_seq(true);
	for (; s && argv && *argv; argv++)
		if (cnode_seq_append(s, cnode_new_str(*argv)) < 0) {
			cnode_free(s);
			return NULL;
		}
	return s;
}

int compose_split_command(const char *s, struct cnode **ret)
{
	struct cnode *seq = cnode_new_seq(true);
	size_t cap = strlen(s) + 1;
	char *word = malloc(cap);
	if (!seq || !word) {
		free(word);
		cnode_free(seq);
		return -ENOMEM;
	}
	int rc = 0;
	const char *p = s;
	while (rc == 0) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		size_t n = 0;
		char quote = 0;
		for (; *p && (quote || !isspace((unsigned char)*p)); p++) {
			if (quote == '\'') {
				if (*p == '\'')
					quote = 0;
				else
					word[n++] = *p;
			} else if (*p == '\\' && p[1] && (!quote || p[1] == '"' || p[1] == '\\')) {
				word[n++] = *++p;
			} else if (*p == '"' || (*p == '\'' && !quote)) {
				quote = quote ? 0 : *p;
			} else {
				word[n++] = *p;
			}
		}
		if (quote) {
			rc = -EINVAL;
			break;
		}
		rc = cnode_seq_append(seq, cnode_new_scalar(word, n, CSTYLE_AUTO));
	}
	free(word);
	if (rc < 0) {
		cnode_free(seq);
		return rc;
	}
	*ret = seq;
	return 0;
}

/* The exec form, a JSON array of strings, into *ret: 0, or -EINVAL when arg
 * is not one (docker build then reads the line as the shell form). */
static int exec_form(const char *arg, struct cnode **ret)
{
	json_t *a = arg[0] == '[' ? json_loads(arg, 0, NULL) : NULL;
	struct cnode *s = json_is_array(a) ? cnode_new_seq(true) : NULL;
	int rc = !json_is_array(a) ? -EINVAL : s ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < json_array_size(a); i++) {
		const json_t *v = json_array_get(a, i);
		if (!json_is_string(v))
			rc = -EINVAL;
		else if (cnode_seq_append(s, cnode_new_str(json_string_value(v))) < 0)
			rc = -ENOMEM;
	}
	json_decref(a);
	if (rc < 0) {
		cnode_free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

/* Exec form, or shell form (wrapped in SHELL); NULL only when out of memory. */
static struct cnode *parse_command(struct dfile *d, const char *arg)
{
	struct cnode *s = NULL;
	int rc = exec_form(arg, &s);
	if (rc != -EINVAL)
		return s;
	const struct cnode *shell = d->n ? d->st[d->n - 1].shell : NULL;
	s = shell ? cnode_dup(shell) : seq_of((const char *const[]){"/bin/sh", "-c", NULL});
	if (s && cnode_seq_append(s, cnode_new_str(arg)) < 0) {
		cnode_free(s);
		s = NULL;
	}
	return s;
}

static void stage_clear(struct stage *s)
{
	cnode_free(s->ep);
	cnode_free(s->cmd);
	cnode_free(s->shell);
	s->ep = s->cmd = NULL;
}

/* ENTRYPOINT resets the CMD the stage inherited (from its base image or an
 * earlier stage), as docker build and BuildKit do, but keeps a CMD this stage
 * set itself, before or after the ENTRYPOINT. */
static int stage_entrypoint(struct dfile *d, struct stage *s, const char *args)
{
	struct cnode *ep = parse_command(d, args);
	if (!ep)
		return -ENOMEM;
	cnode_free(s->ep);
	s->ep = ep;
	if (s->cmd_set)
		return 0;
	cnode_free(s->cmd);
	s->cmd = cnode_new_seq(true);
	return s->cmd ? 0 : -ENOMEM;
}

static int from(struct dfile *d, char *args)
{
	char *save = NULL, *image = NULL, *name = NULL;
	for (char *w = strtok_r(args, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (!image && strncmp(w, "--", 2) == 0)
			continue; /* --platform=... */
		if (!image)
			image = w;
		else if (strcasecmp(w, "AS") == 0)
			name = strtok_r(NULL, " \t", &save);
	}
	if (!image)
		return -EINVAL;
	struct stage *st = realloc(d->st, (d->n + 1) * sizeof(*st));
	if (!st)
		return -ENOMEM;
	d->st = st;
	struct stage *s = &d->st[d->n++];
	*s = (struct stage){0};
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	snprintf(s->base, sizeof(s->base), "%s", image);
	/* A stage FROM an earlier one inherits its CMD like any base image's:
	 * cmd_set stays false, so an ENTRYPOINT here resets it. */
	for (size_t i = d->n - 1; i-- > 0;)
		if (d->st[i].name[0] && strcasecmp(d->st[i].name, image) == 0) {
			snprintf(s->base, sizeof(s->base), "%s", d->st[i].base);
			snprintf(s->user, sizeof(s->user), "%s", d->st[i].user);
			s->ep = d->st[i].ep ? cnode_dup(d->st[i].ep) : NULL;
			s->cmd = d->st[i].cmd ? cnode_dup(d->st[i].cmd) : NULL;
			s->shell = d->st[i].shell ? cnode_dup(d->st[i].shell) : NULL;
			if ((d->st[i].ep && !s->ep) || (d->st[i].cmd && !s->cmd) ||
			    (d->st[i].shell && !s->shell))
				return -ENOMEM; /* not "unknown": the caller frees them */
			return 0;
		}
	const struct compose_image *img = strchr(image, '$') ? NULL : compose_image_find(image);
	if (img) {
		s->ep = seq_of(img->entrypoint);
		s->cmd = seq_of(img->cmd);
		return s->ep && s->cmd ? 0 : -ENOMEM;
	}
	if (!strchr(image, '$') && base_without_entrypoint(image))
		s->ep = seq_of(NULL);
	return 0;
}

static int instruction(struct dfile *d, char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	char *args = line;
	while (*args && !isspace((unsigned char)*args))
		args++;
	if (*args)
		*args++ = '\0';
	while (isspace((unsigned char)*args))
		args++;
	size_t n = strlen(args);
	while (n > 0 && isspace((unsigned char)args[n - 1]))
		args[--n] = '\0';
	if (strcasecmp(line, "FROM") == 0) {
		char expanded[FROM_LINE_MAX];
		expand_args(d, args, expanded, sizeof(expanded));
		return from(d, expanded);
	}
	if (d->n == 0)
		return strcasecmp(line, "ARG") == 0 ? global_arg(d, args) : 0;
	struct stage *s = &d->st[d->n - 1];
	if (strcasecmp(line, "SHELL") == 0) {
		/* docker build takes only the exec form here */
		struct cnode *sh = NULL;
		int rc = exec_form(args, &sh);
		if (rc == 0 && sh->n == 0) { /* SHELL []: docker build refuses it too */
			cnode_free(sh);
			rc = -EINVAL;
		}
		if (rc < 0)
			return rc == -EINVAL ? -EBADMSG : rc;
		cnode_free(s->shell);
		s->shell = sh;
	} else if (strcasecmp(line, "ENTRYPOINT") == 0) {
		return stage_entrypoint(d, s, args);
	} else if (strcasecmp(line, "CMD") == 0) {
		cnode_free(s->cmd);
		if (!(s->cmd = parse_command(d, args)))
			return -ENOMEM;
		s->cmd_set = true;
	} else if (strcasecmp(line, "USER") == 0) {
		expand_args(d, args, s->user, sizeof(s->user)); /* USER ${UID} */
	}
	return 0;
}

/* Joins continuation lines (backslash at the end) and drops comment lines,
 * calling instruction() for each logical line; stops after the target stage. */
static int walk(struct dfile *d, char *text, const char *target)
{
	char *logical = malloc(strlen(text) + 1);
	if (!logical)
		return -ENOMEM;
	size_t len = 0;
	int rc = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		const char *t = line;
		while (isspace((unsigned char)*t))
			t++;
		if (*t == '#' || (*t == '\0' && len == 0))
			continue;
		bool more = n > 0 && line[n - 1] == '\\';
		if (more)
			line[--n] = '\0';
		memcpy(logical + len, line, n);
		len += n;
		logical[len] = '\0';
		if (more)
			continue;
		/* A new FROM ends the target stage: stop before it. */
		const char *w = logical;
		while (isspace((unsigned char)*w))
			w++;
		if (target && d->n > 0 && strncasecmp(w, "FROM", 4) == 0 &&
		    isspace((unsigned char)w[4]) && strcasecmp(d->st[d->n - 1].name, target) == 0) {
			len = 0;
			break;
		}
		rc = instruction(d, logical);
		len = 0;
	}
	if (rc == 0 && len > 0)
		rc = instruction(d, logical);
	free(logical);
	return rc;
}

/* Reads path and walks its stages up to target into d (the caller frees
 * it with dfile_free, also on failure). -errno, err naming the reason. */
static int follow(const char *path, const char *target, const struct cnode *args, struct dfile *d,
                  char *err, size_t errcap)
{
	struct secbuf *text = NULL; /* ARG defaults may be private */
	int rc = input_read_regular(path, COMPOSE_MAX_DOCKERFILE_BYTES, &text, NULL);
	if (rc < 0) {
		snprintf(err, errcap, "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	*d = (struct dfile){.build_args = args};
	rc = walk(d, (char *)text->data, target);
	secbuf_free(text);
	struct stage *last = d->n ? &d->st[d->n - 1] : NULL;
	if (rc == -EBADMSG) {
		snprintf(
		    err, errcap,
		    "%s: SHELL is not a non-empty JSON array of strings (docker build refuses it)",
		    path);
	} else if (rc < 0) {
		snprintf(err, errcap, "cannot follow %s: %s", path, strerror(-rc));
	} else if (!last) {
		snprintf(err, errcap, "%s has no FROM line", path);
		rc = -EINVAL;
	} else if (target && strcasecmp(last->name, target) != 0) {
		snprintf(err, errcap, "%s has no stage named %s (build.target)", path, target);
		rc = -EINVAL;
	}
	return rc;
}

static void dfile_free(struct dfile *d)
{
	for (size_t i = 0; i < d->n; i++)
		stage_clear(&d->st[i]);
	free(d->st);
	cnode_free(d->args);
}

int compose_dockerfile_command(const char *path, const char *target, const struct cnode *args,
                               struct cnode **ret_ep, struct cnode **ret_cmd, char *ret_user,
                               char *err, size_t errcap)
{
	struct dfile d = {0};
	int rc = follow(path, target, args, &d, err, errcap);
	struct stage *last = rc == 0 ? &d.st[d.n - 1] : NULL;
	if (last && ret_user)
		memcpy(ret_user, last->user, sizeof(last->user));
	if (last && (!last->ep || !last->cmd)) {
		snprintf(err, errcap, "%s builds on %s, whose %s we do not know", path, last->base,
		         last->ep ? "CMD" : "ENTRYPOINT");
		rc = -ENOENT;
	}
	if (rc == 0) {
		*ret_ep = last->ep;
		*ret_cmd = last->cmd;
		last->ep = last->cmd = NULL;
	}
	dfile_free(&d);
	return rc;
}

int compose_dockerfile_user(const char *path, const char *target, const struct cnode *args,
                            char *ret_user, char *err, size_t errcap)
{
	struct dfile d = {0};
	int rc = follow(path, target, args, &d, err, errcap);
	if (rc == 0)
		memcpy(ret_user, d.st[d.n - 1].user, sizeof(d.st[d.n - 1].user));
	dfile_free(&d);
	return rc;
}
