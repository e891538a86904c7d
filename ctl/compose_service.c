/* One service's wiring: what its container runs, and the edits that put
 * inject in front of it (entrypoint, socket and binary mounts, tmpfs,
 * INJECT_* variables) or give it Docker secrets. Every edit is idempotent so
 * that migrating a migrated file changes nothing. */
#include "compose_service.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose_dockerfile.h"
#include "compose_interp.h"
#include "compose_envnode.h"

#define MOUNT_SPEC_MAX 1024
#define LIST_VALUE_MAX 8192

static struct cnode *seq_of(const char *const *argv, bool flow)
{
	struct cnode *s = cnode_new_seq(flow);
	for (; s && argv && *argv; argv++)
		if (cnode_seq_append(s, cnode_new_str(*argv)) < 0) {
			cnode_free(s);
			return NULL;
		}
	return s;
}

/* A command given as a string or a list, as a new list of strings. */
static int as_argv(const struct cnode *n, struct cnode **ret)
{
	if (n->kind == CNODE_SCALAR)
		return compose_split_command(n->str, ret);
	if (n->kind != CNODE_SEQ)
		return -EINVAL;
	for (size_t i = 0; i < n->n; i++)
		if (n->items[i]->kind != CNODE_SCALAR)
			return -EINVAL;
	struct cnode *c = cnode_dup(n);
	if (!c)
		return -ENOMEM;
	*ret = c;
	return 0;
}

static int parse_flag_command(const char *s, struct cnode **ret)
{
	if (s[0] != '[')
		return compose_split_command(s, ret);
	json_t *a = json_loads(s, 0, NULL);
	struct cnode *seq = json_is_array(a) ? cnode_new_seq(true) : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!seq || !json_is_string(v) ||
		    cnode_seq_append(seq, cnode_new_str(json_string_value(v))) < 0) {
			cnode_free(seq);
			seq = NULL;
			break;
		}
	}
	json_decref(a);
	if (!seq)
		return -EINVAL;
	*ret = seq;
	return 0;
}

static char *image_ref(const struct cnode *service)
{
	const struct cnode *img = cnode_map_get(service, "image");
	if (!img || img->kind != CNODE_SCALAR)
		return NULL;
	struct secbuf *v = NULL;
	if (compose_interpolate(img->str, img->len, &v) < 0)
		return strdup(img->str);
	char *s = strdup((const char *)v->data);
	secbuf_free(v);
	return s;
}

/* Where build: says the Dockerfile is, its target and args. false with
 * why set when it is not a local file we can read. */
static bool dockerfile_of(const struct cnode *build, const char *project_dir, char *path,
                          size_t cap, const char **target, const struct cnode **args, char *why,
                          size_t whycap)
{
	const char *context = NULL, *dockerfile = "Dockerfile";
	*target = NULL;
	*args = build->kind == CNODE_MAP ? cnode_map_get(build, "args") : NULL;
	if (build->kind == CNODE_SCALAR) {
		context = build->str;
	} else if (build->kind == CNODE_MAP) {
		const struct cnode *n;
		if ((n = cnode_map_get(build, "context")) && n->kind == CNODE_SCALAR)
			context = n->str;
		if ((n = cnode_map_get(build, "dockerfile")) && n->kind == CNODE_SCALAR)
			dockerfile = n->str;
		if ((n = cnode_map_get(build, "target")) && n->kind == CNODE_SCALAR)
			*target = n->str;
	}
	if (!context)
		context = ".";
	if (strstr(context, "://") || strchr(context, '$') || strchr(dockerfile, '$')) {
		snprintf(why, whycap, "its build context %s is not a local directory", context);
		return false;
	}
	int n;
	if (dockerfile[0] == '/')
		n = snprintf(path, cap, "%s", dockerfile);
	else if (context[0] == '/')
		n = snprintf(path, cap, "%s/%s", context, dockerfile);
	else
		n = snprintf(path, cap, "%s/%s/%s", project_dir, context, dockerfile);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(why, whycap, "the path of its Dockerfile is too long");
		return false;
	}
	return true;
}

static void from_build(const struct cnode *build, const char *project_dir, struct service_cmd *c)
{
	char path[4096];
	const char *target;
	const struct cnode *args;
	if (!dockerfile_of(build, project_dir, path, sizeof(path), &target, &args, c->why,
	                   sizeof(c->why)))
		return;
	if (compose_dockerfile_command(path, target, args, &c->ep, &c->cmd, c->image_user, c->why,
	                               sizeof(c->why)) == 0)
		c->from = "its Dockerfile";
}

/* The USER of a build: service whose command came from elsewhere (an
 * unreadable Dockerfile leaves it "": the migration cannot know). */
static void user_from_build(const struct cnode *build, const char *project_dir,
                            struct service_cmd *c)
{
	char path[4096], why[SERVICE_WHY_MAX];
	const char *target;
	const struct cnode *args;
	if (dockerfile_of(build, project_dir, path, sizeof(path), &target, &args, why, sizeof(why)))
		compose_dockerfile_user(path, target, args, c->image_user, why, sizeof(why));
}

/* Docker's words as compose must write them: compose fills in a $VAR (from
 * the host's shell and .env) that Docker passes on as it is, so $ is $$. */
static int escape_for_compose(struct cnode *seq)
{
	for (size_t i = 0; seq && i < seq->n; i++) {
		const struct cnode *w = seq->items[i];
		if (w->kind != CNODE_SCALAR || !memchr(w->str, '$', w->len))
			continue;
		char *s = malloc(2 * w->len + 1);
		if (!s)
			return -ENOMEM;
		size_t o = 0;
		for (size_t k = 0; k < w->len; k++) {
			s[o++] = w->str[k];
			if (w->str[k] == '$')
				s[o++] = '$';
		}
		s[o] = '\0';
		struct cnode *n = cnode_new_str(s);
		free(s);
		if (!n)
			return -ENOMEM;
		cnode_free(seq->items[i]);
		seq->items[i] = n;
	}
	return 0;
}

int service_command(const char *svc, const struct cnode *service, const char *flag_cmd,
                    const char *project_dir, struct service_cmd *ret)
{
	struct service_cmd c = {0};
	char *ref = image_ref(service);
	const struct cnode *build = cnode_map_get(service, "build");
	if (build && cnode_is_null(build))
		build = NULL; /* build: ~ builds nothing; it is not the directory "~" */
	const struct cnode *ep = cnode_map_get(service, "entrypoint");
	int rc = 0;
	/* With build:, image: names what gets built, not an official image. */
	c.img = build ? NULL : compose_image_find(ref);
	struct cnode *argv = NULL;
	if (ep && !cnode_is_null(ep) && as_argv(ep, &argv) == 0 && argv->n > 0 &&
	    cnode_is(argv->items[0], COMPOSE_INJECT_PATH)) {
		/* Already ours: [/inject, --, the real entrypoint...]. */
		c.wrapped = true;
		c.from = "an earlier migration";
		/* inject's own options end at "--"; without one, only /inject goes. */
		size_t drop = 1;
		for (size_t i = 1; i < argv->n; i++)
			if (cnode_is(argv->items[i], "--")) {
				drop = i + 1;
				break;
			}
		while (drop-- > 0)
			cnode_seq_remove(argv, 0);
		c.ep = argv;
		argv = NULL;
	} else if (flag_cmd) {
		if (parse_flag_command(flag_cmd, &c.ep) < 0)
			snprintf(c.why, sizeof(c.why),
			         "--entrypoint %s=... is not a command line or a JSON list", svc);
		c.from = "--entrypoint";
	} else if (ep && !cnode_is_null(ep)) {
		if (as_argv(ep, &c.ep) < 0)
			snprintf(c.why, sizeof(c.why),
			         "its entrypoint: is neither a string nor a list of strings");
		c.from = "entrypoint: in the file";
	} else if (build) {
		from_build(build, project_dir, &c);
		c.from_build = true;
		if (escape_for_compose(c.ep) < 0 || escape_for_compose(c.cmd) < 0)
			rc = -ENOMEM;
	} else if (c.img) {
		c.ep = seq_of(c.img->entrypoint, true);
		c.cmd = seq_of(c.img->cmd, true);
		c.from = "the official image";
		if (!c.ep || !c.cmd)
			rc = -ENOMEM;
	} else {
		snprintf(c.why, sizeof(c.why),
		         "its image %s is not an official image whose entrypoint vaultctl knows",
		         ref ? ref : "(none)");
	}
	if (build && !c.from_build)
		user_from_build(build, project_dir, &c);
	cnode_free(argv);
	free(ref);
	if (rc < 0) {
		service_cmd_clear(&c);
		return rc;
	}
	*ret = c;
	return 0;
}

void service_cmd_clear(struct service_cmd *c)
{
	cnode_free(c->ep);
	cnode_free(c->cmd);
	c->ep = c->cmd = NULL;
}

bool service_reads_file(const struct service_cmd *c, const char *var)
{
	if (!c->img || !c->ep || !compose_image_reads_file(c->img, var))
		return false;
	/* Only the image's own entrypoint script reads VAR_FILE. */
	size_t n = 0;
	while (c->img->entrypoint[n])
		n++;
	if (c->ep->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!cnode_is(c->ep->items[i], c->img->entrypoint[i]))
			return false;
	return true;
}

struct cnode *service_environment(struct cnode *service)
{
	struct cnode *env = cnode_map_get(service, "environment");
	if (env && (env->kind == CNODE_MAP || env->kind == CNODE_SEQ))
		return env;
	if (cnode_map_set(service, "environment", cnode_new_map()) < 0)
		return NULL;
	return cnode_map_get(service, "environment");
}

/* The container path of a short-syntax volume "SRC:DST[:MODE]" or a tmpfs
 * "DST[:OPTS]" (first_is_target), copied into out. */
static void mount_target(const char *spec, bool first_is_target, char *out, size_t cap)
{
	char buf[MOUNT_SPEC_MAX];
	snprintf(buf, sizeof(buf), "%s", spec);
	if (first_is_target) {
		char *colon = strchr(buf, ':');
		if (colon)
			*colon = '\0';
		snprintf(out, cap, "%s", buf);
		return;
	}
	/* From the right: a last field that is not a path is the mode. */
	char *last = strrchr(buf, ':');
	if (last && last[1] != '/') {
		*last = '\0';
		last = strrchr(buf, ':');
	}
	snprintf(out, cap, "%s", last ? last + 1 : buf);
}

static bool has_mount(const struct cnode *list, const char *target, bool tmpfs_syntax)
{
	if (!list)
		return false;
	if (list->kind == CNODE_SCALAR) {
		char t[MOUNT_SPEC_MAX];
		mount_target(list->str, tmpfs_syntax, t, sizeof(t));
		return strcmp(t, target) == 0;
	}
	if (list->kind != CNODE_SEQ)
		return false;
	for (size_t i = 0; i < list->n; i++) {
		const struct cnode *it = list->items[i];
		if (it->kind == CNODE_SCALAR && has_mount(it, target, tmpfs_syntax))
			return true;
		if (it->kind == CNODE_MAP && cnode_is(cnode_map_get(it, "target"), target))
			return true;
	}
	return false;
}

/* The service's list under key, created (block style) when absent; a single
 * string becomes a one-item list. NULL when the key holds something else. */
static struct cnode *service_list(struct cnode *service, const char *key)
{
	struct cnode *n = cnode_map_get(service, key);
	if (n && n->kind == CNODE_SEQ)
		return n;
	if (n && n->kind != CNODE_SCALAR)
		return NULL;
	struct cnode *seq = cnode_new_seq(false);
	if (!seq)
		return NULL;
	if (n && !cnode_is_null(n) && cnode_seq_append(seq, cnode_dup(n)) < 0) {
		cnode_free(seq);
		return NULL;
	}
	if (cnode_map_set(service, key, seq) < 0)
		return NULL;
	return cnode_map_get(service, key);
}

static int add_volume(struct cnode *service, const char *host, const char *target)
{
	struct cnode *vols = cnode_map_get(service, "volumes");
	if (has_mount(vols, target, false))
		return 0;
	if (!(vols = service_list(service, "volumes")))
		return -EINVAL;
	char spec[MOUNT_SPEC_MAX];
	if (snprintf(spec, sizeof(spec), "%s:%s:ro", host, target) >= (int)sizeof(spec))
		return -ENAMETOOLONG;
	return cnode_seq_append(vols, cnode_new_str(spec));
}

/* "1000" or "1000:1000": the tmpfs must belong to the user inject runs as. */
static bool numeric_user(const char *u, char *uid, char *gid, size_t cap)
{
	char buf[64];
	if (snprintf(buf, sizeof(buf), "%s", u) >= (int)sizeof(buf))
		return false;
	char *colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	const char *g = colon ? colon + 1 : buf;
	if (!*buf || strspn(buf, "0123456789") != strlen(buf) || !*g ||
	    strspn(g, "0123456789") != strlen(g))
		return false;
	snprintf(uid, cap, "%s", buf);
	snprintf(gid, cap, "%s", g);
	return true;
}

void service_user(const struct cnode *service, const struct service_cmd *c, char *out, size_t cap)
{
	const struct cnode *user = cnode_map_get(service, "user");
	if (!user || user->kind != CNODE_SCALAR) {
		snprintf(out, cap, "%s", c->image_user);
		return;
	}
	struct secbuf *v = NULL; /* user: "${UID}:${GID}", as compose reads it */
	if (compose_interpolate(user->str, user->len, &v) < 0) {
		snprintf(out, cap, "%s", user->str);
		return;
	}
	snprintf(out, cap, "%s", (const char *)v->data);
	secbuf_free(v);
}

bool service_user_is_root(const char *user)
{
	size_t n = strcspn(user, ":");
	if (n == 0 || (n == 4 && strncmp(user, "root", 4) == 0))
		return true;
	/* A uid of digits only: 0, 00, ... */
	return strspn(user, "0") == n;
}

static int add_tmpfs(const char *svc, struct cnode *service, const char *user, char **note)
{
	if (has_mount(cnode_map_get(service, "tmpfs"), COMPOSE_SECRETS_DIR, true) ||
	    has_mount(cnode_map_get(service, "volumes"), COMPOSE_SECRETS_DIR, false))
		return 0;
	char spec[MOUNT_SPEC_MAX], uid[64], gid[64];
	int n;
	if (numeric_user(user, uid, gid, sizeof(uid))) {
		n = snprintf(spec, sizeof(spec), "%s:%s,uid=%s,gid=%s", COMPOSE_SECRETS_DIR,
		             COMPOSE_TMPFS_OPTS, uid, gid);
	} else {
		n = snprintf(spec, sizeof(spec), "%s:%s", COMPOSE_SECRETS_DIR, COMPOSE_TMPFS_OPTS);
		if (!service_user_is_root(user) && note && !*note &&
		    asprintf(note,
		             "service %s runs as user \"%s\": inject must be able to write %s; use "
		             "a numeric "
		             "user: (uid[:gid]) or move it to INJECT_USER so inject drops to it",
		             svc, user, COMPOSE_SECRETS_DIR) < 0)
			*note = NULL;
	}
	if (n < 0 || (size_t)n >= sizeof(spec))
		return -ENAMETOOLONG;
	struct cnode *list = service_list(service, "tmpfs");
	if (!list)
		return -EINVAL;
	return cnode_seq_append(list, cnode_new_str(spec));
}

/* Adds each item to a comma-separated list variable; with pairs, an item
 * "VAR=name" replaces an existing "VAR=..." item. */
static int merge_list_var(struct cnode *env, const char *var, char *const *items, size_t n,
                          bool pairs)
{
	if (n == 0)
		return 0;
	char out[LIST_VALUE_MAX] = "";
	long at = envnode_find(env, var);
	struct env_entry e;
	if (at >= 0 && envnode_entry(env, (size_t)at, &e) && e.has_value &&
	    snprintf(out, sizeof(out), "%.*s", (int)e.len, e.value) >= (int)sizeof(out))
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		size_t keylen = strlen(items[i]);
		if (pairs && strchr(items[i], '='))
			keylen = (size_t)(strchr(items[i], '=') - items[i]) + 1;
		/* Is an item with the same key (or the same name) there already? */
		char *p = out;
		bool found = false;
		while (*p && !found) {
			size_t len = strcspn(p, ",");
			if (len >= keylen && strncmp(p, items[i], keylen) == 0 &&
			    (pairs || len == keylen))
				found = true;
			else
				p += len + (p[len] == ',');
		}
		if (found && pairs) {
			size_t len = strcspn(p, ",");
			char rest[LIST_VALUE_MAX];
			snprintf(rest, sizeof(rest), "%s", p + len);
			*p = '\0';
			if (snprintf(p, sizeof(out) - (size_t)(p - out), "%s%s", items[i], rest) >=
			    (int)(sizeof(out) - (size_t)(p - out)))
				return -ENAMETOOLONG;
		} else if (!found) {
			size_t used = strlen(out);
			if (snprintf(out + used, sizeof(out) - used, "%s%s", used ? "," : "",
			             items[i]) >= (int)(sizeof(out) - used))
				return -ENAMETOOLONG;
		}
	}
	return envnode_put(env, var, out);
}

static int wrap_entrypoint(const char *svc, struct cnode *service, const struct service_cmd *c,
                           char **note, char *err, size_t errcap)
{
	if (c->wrapped)
		return 0;
	if (!c->ep) {
		snprintf(err, errcap,
		         "service %s: cannot wrap its entrypoint with inject: %s; pass "
		         "--entrypoint %s=CMD "
		         "(the image's ENTRYPOINT, as `docker image inspect` shows it) or set "
		         "entrypoint: "
		         "in the file",
		         svc, c->why, svc);
		return -EINVAL;
	}
	struct cnode *ep = seq_of((const char *const[]){COMPOSE_INJECT_PATH, "--", NULL}, true);
	if (!ep)
		return -ENOMEM;
	for (size_t i = 0; i < c->ep->n; i++)
		if (cnode_seq_append(ep, cnode_dup(c->ep->items[i])) < 0) {
			cnode_free(ep);
			return -ENOMEM;
		}
	if (cnode_map_set(service, "entrypoint", ep) < 0) /* takes ep */
		return -ENOMEM;
	const struct cnode *cmd = cnode_map_get(service, "command");
	if (cmd && !cnode_is_null(cmd))
		return 0;
	/* Docker drops the image's CMD once entrypoint: is set: carry it over. */
	if (c->cmd && c->cmd->n > 0) {
		struct cnode *copy = cnode_dup(c->cmd);
		if (!copy)
			return -ENOMEM;
		copy->flow = true;
		return cnode_map_set(service, "command", copy);
	}
	if (c->cmd == NULL && note && !*note &&
	    asprintf(
	        note,
	        "service %s has no command: and Docker ignores the image's CMD once entrypoint: is "
	        "set; add command: if the image needs its CMD",
	        svc) < 0)
		*note = NULL;
	return 0;
}

int service_wrap_inject(const char *svc, struct cnode *service, const struct service_cmd *c,
                        const char *user, const struct compose_opts *o, char *const *files,
                        size_t nfiles, char *const *env_pairs, size_t nenv, char **note, char *err,
                        size_t errcap)
{
	int rc = wrap_entrypoint(svc, service, c, note, err, errcap);
	if (rc < 0)
		return rc;
	if ((rc = add_volume(service, o->socket_host, COMPOSE_SOCKET_PATH)) < 0 ||
	    (rc = add_volume(service, o->inject_host, COMPOSE_INJECT_PATH)) < 0 ||
	    (rc = add_tmpfs(svc, service, user, note)) < 0) {
		snprintf(err, errcap,
		         "service %s: its volumes: or tmpfs: is not a list or a string", svc);
		return rc;
	}
	struct cnode *env = service_environment(service);
	if (!env)
		return -ENOMEM;
	if ((rc = merge_list_var(env, COMPOSE_ENV_SECRETS, files, nfiles, false)) < 0 ||
	    (rc = merge_list_var(env, COMPOSE_ENV_ENV, env_pairs, nenv, true)) < 0) {
		snprintf(err, errcap, "service %s: %s or %s would be too long", svc,
		         COMPOSE_ENV_SECRETS, COMPOSE_ENV_ENV);
		return rc;
	}
	return 0;
}

static bool service_has_secret(const struct cnode *list, const char *name)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct cnode *it = list->items[i];
		if (cnode_is(it, name) ||
		    (it->kind == CNODE_MAP && cnode_is(cnode_map_get(it, "source"), name)))
			return true;
	}
	return false;
}

int service_add_docker_secret(struct cnode *root, const char *svc, struct cnode *service,
                              const char *name, const char *secrets_dir, char *err, size_t errcap)
{
	char file[MOUNT_SPEC_MAX];
	if (snprintf(file, sizeof(file), "%s/%s", secrets_dir, name) >= (int)sizeof(file))
		return -ENAMETOOLONG;
	struct cnode *top = cnode_map_get(root, "secrets");
	if (!top || cnode_is_null(top)) {
		if (cnode_map_set(root, "secrets", cnode_new_map()) < 0)
			return -ENOMEM;
		top = cnode_map_get(root, "secrets");
	}
	if (top->kind != CNODE_MAP) {
		snprintf(err, errcap, "the top-level secrets: is not a mapping");
		return -EINVAL;
	}
	struct cnode *def = cnode_map_get(top, name);
	if (def && !(def->kind == CNODE_MAP && cnode_is(cnode_map_get(def, "file"), file))) {
		snprintf(err, errcap,
		         "the top-level secret %s already exists with another definition: choose "
		         "another --name-template",
		         name);
		return -EINVAL;
	}
	if (!def) {
		struct cnode *m = cnode_new_map();
		if (!m || cnode_map_set(m, "file", cnode_new_str(file)) < 0) {
			cnode_free(m);
			return -ENOMEM;
		}
		if (cnode_map_set(top, name, m) < 0) /* takes m, also on failure */
			return -ENOMEM;
	}
	struct cnode *list = service_list(service, "secrets");
	if (!list) {
		snprintf(err, errcap, "service %s: its secrets: is not a list", svc);
		return -EINVAL;
	}
	if (service_has_secret(list, name))
		return 0;
	struct cnode *item = cnode_new_map();
	if (!item || cnode_map_set(item, "source", cnode_new_str(name)) < 0 ||
	    cnode_map_set(item, "target", cnode_new_str(name)) < 0) {
		cnode_free(item);
		return -ENOMEM;
	}
	return cnode_seq_append(list, item);
}
