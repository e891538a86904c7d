/* The migration itself, in the order a reader would do it by hand: read every
 * service's variables (environment: and env_file:), pick the secret-looking
 * ones that have a value, name one secret per distinct value, then rewrite
 * each service (compose_service.c) and the env_files, and warn about any
 * copy of a value left elsewhere in the file. */
#include "compose_migrate.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose_detect.h"
#include "compose_envnode.h"
#include "compose_interp.h"
#include "compose_leftovers.h"
#include "compose_service.h"
#include "dotenv.h"
#include "input.h"
#include "strtab.h"

#define PATH_MAX_LEN 4096
#define NOTE_MAX 512
#define MAX_ENVFILES 32

struct envcache {
	char *shown;         /* as env_file: names it */
	char *path;          /* as we open it */
	struct secbuf *text; /* the file as read */
	struct dotenv *f;    /* read as compose reads it: no environment known */
	bool *drop;          /* per key (f->items): its lines go */
	/* Per key: why a key some service would migrate stays (SKIP_NONE: it
	 * does not, or no one wants it). */
	enum compose_skip *kept;
	bool dropped_any;
	bool project_dotenv; /* also the file compose interpolates ${VAR} from */
	dev_t dev;           /* which file: "a.env" and "./a.env" are one */
	ino_t ino;
	/* The names it has (realpath of each spelling: a symlink's target, each
	 * hard link): a rewrite in place replaces every one, not a link. */
	char **real;
	size_t nreal;
};

struct ctx {
	struct cnode *root, *services;
	const struct compose_opts *o;
	struct compose_plan *p;
	struct secbuf **values; /* per row while naming: the value found */
	size_t capvalues;
	struct envcache *env;
	size_t nenv;
	/* The project's .env (NULL: none): compose fills ${VAR:-default} in the
	 * compose file from it, so such a value is not its default. */
	struct secbuf *dotenv_text;
	struct dotenv *dotenv;
	bool *var_used;     /* per --var: matched something */
	char *project_real; /* realpath of the project directory, NULL unknown */
	/* Each secret's value -> its index (filled by name_secrets): the
	 * values are distinct by then. Its hash key is guarded, as keyed
	 * hashes of the values sit in plain memory. */
	struct strtab by_value;
	struct secbuf *seed;
	char *err;
	size_t errcap;
};

static int fail(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct ctx *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->err, x->errcap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int note(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int note(struct ctx *x, const char *fmt, ...)
{
	char buf[NOTE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	char **n = realloc(x->p->notes, (x->p->nnotes + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	x->p->notes = n;
	if (!(n[x->p->nnotes] = strdup(buf)))
		return -ENOMEM;
	x->p->nnotes++;
	return 0;
}

/* ---- which variables ---- */

static bool var_flagged(struct ctx *x, const char *svc, const char *var)
{
	bool hit = false;
	for (size_t i = 0; i < x->o->nvars; i++) {
		const char *v = x->o->vars[i];
		const char *dot = strrchr(v, '.');
		if (dot && strcmp(dot + 1, var) == 0 && strlen(svc) == (size_t)(dot - v) &&
		    strncmp(v, svc, (size_t)(dot - v)) == 0) {
			x->var_used[i] = true;
			hit = true;
		}
	}
	return hit;
}

static bool wanted_name(struct ctx *x, const char *svc, const char *var)
{
	bool flagged = var_flagged(x, svc, var);
	return flagged || compose_name_is_secret(var);
}

/* VAR_FILE whose VAR we would have migrated: worth a line in the summary. */
static bool wanted_file_ref(struct ctx *x, const char *svc, const char *var)
{
	char stem[COMPOSE_MAX_VAR_NAME];
	size_t n = strlen(var);
	if (!compose_name_is_file_ref(var) || n - 5 >= sizeof(stem))
		return false;
	memcpy(stem, var, n - 5);
	stem[n - 5] = '\0';
	return wanted_name(x, svc, stem);
}

static int add_row(struct ctx *x, const char *svc, const char *var, const char *source,
                   enum compose_skip skip, struct secbuf *value)
{
	struct compose_plan *p = x->p;
	struct compose_row *r = realloc(p->rows, (p->nrows + 1) * sizeof(*r));
	if (!r) {
		secbuf_free(value);
		return -ENOMEM;
	}
	p->rows = r;
	if (p->nrows + 1 > x->capvalues) {
		size_t cap = x->capvalues ? 2 * x->capvalues : 16;
		struct secbuf **v = realloc(x->values, cap * sizeof(*v));
		if (!v) {
			secbuf_free(value);
			return -ENOMEM;
		}
		x->values = v;
		x->capvalues = cap;
	}
	r = &p->rows[p->nrows];
	*r = (struct compose_row){.skip = skip};
	r->service = strdup(svc);
	r->var = strdup(var);
	r->source = source ? strdup(source) : NULL;
	x->values[p->nrows] = value;
	p->nrows++; /* counted before checking so that plan_free frees it all */
	if (!r->service || !r->var || (source && !r->source))
		return -ENOMEM;
	return 0;
}

/* A reference in s to a variable the project's .env sets. */
static bool reads_dotenv(const struct ctx *x, const char *s, size_t len)
{
	for (size_t i = 0; x->dotenv && i < x->dotenv->n; i++)
		if (compose_mentions_var(s, len, x->dotenv->items[i].key, true))
			return true;
	return false;
}

/* 0 with *ret (a value) or a skip reason > 0; -ENOMEM. */
static int classify(const struct ctx *x, const struct env_entry *e, struct secbuf **ret)
{
	if (!e->has_value)
		return SKIP_RUNTIME;
	if (e->not_text)
		return SKIP_NOT_TEXT; /* compose passes what YAML made of it: do not guess */
	struct secbuf *v = NULL;
	int rc = compose_interpolate(e->value, e->len, &v);
	if (rc == -ENOENT || (rc == 0 && reads_dotenv(x, e->value, e->len))) {
		secbuf_free(v); /* ${VAR:-default} with VAR in .env: not the default */
		return SKIP_RUNTIME;
	}
	if (rc == -EINVAL)
		return SKIP_INVALID;
	if (rc < 0)
		return rc;
	if (v->len == 0) {
		secbuf_free(v);
		return SKIP_EMPTY;
	}
	*ret = v;
	return SKIP_NONE;
}

static int has_file_sibling(struct ctx *x, const char *svc, const struct cnode *service,
                            const char *var, bool *ret);

/* A list environment may name a variable twice; compose takes the last. */
static bool shadowed(const struct cnode *env, size_t i, const char *name)
{
	for (size_t j = i + 1; j < envnode_count(env); j++) {
		struct env_entry e;
		if (envnode_entry(env, j, &e) && strcmp(e.name, name) == 0)
			return true;
	}
	return false;
}

static int environment_rows(struct ctx *x, const char *svc, const struct cnode *service)
{
	const struct cnode *env = cnode_map_get(service, "environment");
	for (size_t i = 0; i < envnode_count(env); i++) {
		struct env_entry e;
		if (!envnode_entry(env, i, &e) || compose_name_is_ours(e.name) ||
		    shadowed(env, i, e.name))
			continue;
		if (compose_name_is_file_ref(e.name)) {
			if (wanted_file_ref(x, svc, e.name)) {
				int rc = add_row(x, svc, e.name, NULL, SKIP_ALREADY_FILE, NULL);
				if (rc < 0)
					return rc;
			}
			continue;
		}
		struct secbuf *v = NULL;
		int skip = classify(x, &e, &v);
		if (skip < 0)
			return skip;
		bool want = wanted_name(x, svc, e.name) ||
		            (v && compose_value_has_url_password((const char *)v->data, v->len));
		if (!want) {
			secbuf_free(v);
			continue;
		}
		bool sibling = false;
		int rc =
		    skip == SKIP_NONE ? has_file_sibling(x, svc, service, e.name, &sibling) : 0;
		if (rc < 0 || sibling) {
			/* The user's VAR_FILE stays the one the image reads. */
			secbuf_free(v);
			v = NULL;
			skip = SKIP_ALREADY_FILE;
		}
		if (rc < 0 || (rc = add_row(x, svc, e.name, NULL, (enum compose_skip)skip, v)) < 0)
			return rc;
	}
	return 0;
}

/* ---- env_file ---- */

/* The project's .env is also what compose interpolates ${VAR} in the compose
 * file from (docker-compose 1.29 and v2 alike). */
static bool is_project_dotenv(const struct ctx *x, const char *path)
{
	char dotenv[PATH_MAX_LEN];
	struct stat a, b;
	if (!x->o->project_dir || (size_t)snprintf(dotenv, sizeof(dotenv), "%s/.env",
	                                           x->o->project_dir) >= sizeof(dotenv))
		return false;
	return stat(path, &a) == 0 && stat(dotenv, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Where an env_file entry's file is (compose resolves a relative one from
 * the project directory); malloc'd, NULL on ENOMEM. */
static char *envfile_path(const struct ctx *x, const char *spelling)
{
	char *path = NULL;
	if (spelling[0] == '/')
		return strdup(spelling);
	return asprintf(&path, "%s/%s", x->o->project_dir, spelling) < 0 ? NULL : path;
}

/* Records realpath(path) among c's names (once). */
static int add_real_name(struct envcache *c, const char *path)
{
	char *real = realpath(path, NULL);
	if (!real)
		return errno == ENOMEM ? -ENOMEM : 0; /* unreadable: reported where it is read */
	for (size_t i = 0; i < c->nreal; i++)
		if (strcmp(c->real[i], real) == 0) {
			free(real);
			return 0;
		}
	char **n = realloc(c->real, (c->nreal + 1) * sizeof(*n));
	if (!n) {
		free(real);
		return -ENOMEM;
	}
	c->real = n;
	c->real[c->nreal++] = real;
	return 0;
}

static int envcache_get(struct ctx *x, const char *svc, const struct cnode *item, size_t *ret)
{
	if (item->kind != CNODE_SCALAR)
		return fail(x, "service %s: env_file: entries must be paths (strings)", svc);
	char *path = envfile_path(x, item->str);
	if (!path)
		return -ENOMEM;
	/* One cache entry per file, however it is spelt: two would decide
	 * apart which lines go, and the last one written would win. */
	struct stat st;
	bool known = stat(path, &st) == 0;
	for (size_t i = 0; i < x->nenv; i++)
		if (strcmp(x->env[i].shown, item->str) == 0 ||
		    (known && x->env[i].text && x->env[i].dev == st.st_dev &&
		     x->env[i].ino == st.st_ino)) {
			int rc = add_real_name(&x->env[i], path);
			free(path);
			*ret = i;
			return rc;
		}
	struct envcache *c = realloc(x->env, (x->nenv + 1) * sizeof(*c));
	if (!c) {
		free(path);
		return -ENOMEM;
	}
	x->env = c;
	c = &x->env[x->nenv];
	*c = (struct envcache){.path = path};
	if (!(c->shown = strdup(item->str))) {
		free(c->path);
		return -ENOMEM;
	}
	x->nenv++;
	int rc = input_read_regular(c->path, COMPOSE_MAX_ENVFILE_BYTES, &c->text, &st);
	if (rc == 0) {
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		rc = add_real_name(c, c->path);
	}
	if (rc == 0)
		rc = dotenv_parse(c->text->data, c->text->len, true, NULL, NULL, &c->f);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return fail(x, "service %s: cannot read env_file %s: %s", svc, c->path,
		            rc == -EFBIG    ? "larger than 1 MiB"
		            : rc == -EINVAL ? "not a regular file"
		                            : dotenv_strerror(rc));
	if (!(c->drop = calloc(c->f->n ? c->f->n : 1, sizeof(bool))) ||
	    !(c->kept = calloc(c->f->n ? c->f->n : 1, sizeof(*c->kept))))
		return -ENOMEM;
	/* Lines compose skips stay as they are, unread: say so, as one may
	 * hold a secret (an unterminated quote, say). */
	for (size_t i = 0; i < c->f->n_bad && rc == 0; i++)
		rc = note(x,
		          "line %u of env_file %s is not env_file syntax (compose skips it): it "
		          "stays as written; if it holds a secret, move it by hand",
		          c->f->bad_lines[i], c->shown);
	if (rc < 0)
		return rc;
	c->project_dotenv = is_project_dotenv(x, c->path);
	*ret = x->nenv - 1;
	return 0;
}

/* The service's env_files as indexes into the cache, in order. */
static int service_envfiles(struct ctx *x, const char *svc, const struct cnode *service,
                            size_t *idx, size_t cap, size_t *ret_n)
{
	const struct cnode *ef = cnode_map_get(service, "env_file");
	size_t n = 0;
	if (ef && !cnode_is_null(ef)) {
		size_t count = ef->kind == CNODE_SEQ ? ef->n : 1;
		if (count > cap)
			return fail(x, "service %s: more than %zu env_file entries", svc, cap);
		for (size_t i = 0; i < count; i++) {
			int rc = envcache_get(x, svc, ef->kind == CNODE_SEQ ? ef->items[i] : ef,
			                      &idx[n]);
			if (rc < 0)
				return rc;
			n++;
		}
	}
	*ret_n = n;
	return 0;
}

/* True (in *ret) when the service already sets VAR_FILE, in environment: or
 * in one of its env_files: then VAR is not migrated, and VAR_FILE, the one the
 * image reads, is left as the user wrote it. */
static int has_file_sibling(struct ctx *x, const char *svc, const struct cnode *service,
                            const char *var, bool *ret)
{
	char fvar[DOTENV_MAX_KEY + sizeof("_FILE")];
	size_t idx[MAX_ENVFILES], n = 0;
	if ((size_t)snprintf(fvar, sizeof(fvar), "%s_FILE", var) >= sizeof(fvar)) {
		*ret = false; /* no variable has such a name */
		return 0;
	}
	int rc = service_envfiles(x, svc, service, idx, MAX_ENVFILES, &n);
	if (rc < 0)
		return rc;
	bool found = envnode_find(cnode_map_get(service, "environment"), fvar) >= 0;
	for (size_t k = 0; k < n && !found; k++)
		found = dotenv_find(x->env[idx[k]].f, fvar) != NULL;
	*ret = found;
	return 0;
}

static bool is_dropped(const struct envcache *c, const char *key)
{
	const struct dotenv_entry *e = dotenv_find(c->f, key);
	return e && c->drop[e - c->f->items];
}

static enum compose_skip kept_reason(const struct envcache *c, const char *key)
{
	const struct dotenv_entry *e = dotenv_find(c->f, key);
	return e ? c->kept[e - c->f->items] : SKIP_NONE;
}

/* A value the file itself settles: present, and no ${VAR} left to the
 * environment compose runs in. */
static bool known_value(const struct dotenv_entry *e)
{
	return e->value && !e->needs_env;
}

/* An env_file key the service would migrate. */
static bool wanted_line(struct ctx *x, const char *svc, const struct dotenv_entry *e)
{
	if (!known_value(e) || e->value->len == 0 || compose_name_is_ours(e->key) ||
	    compose_name_is_file_ref(e->key))
		return false;
	return wanted_name(x, svc, e->key) ||
	       compose_value_has_url_password((const char *)e->value->data, e->value->len);
}

static bool tree_mentions(const struct cnode *n, const char *var)
{
	if (n->kind == CNODE_SCALAR)
		return compose_mentions_var(n->str, n->len, var, true);
	size_t slots = n->kind == CNODE_MAP ? 2 * n->n : n->n;
	for (size_t i = 0; i < slots; i++)
		if (tree_mentions(n->items[i], var))
			return true;
	return false;
}

/* Who still reads key once c's line for it goes: an env_file line that stays
 * ($KEY or ${KEY}: python-dotenv and compose v2 interpolate env_files; any
 * file, as v2 also looks in earlier env_files and .env), or, when c is the
 * project's .env, the compose file itself. Names it into where. */
static bool still_referenced(const struct ctx *x, const struct envcache *c, const char *key,
                             char *where, size_t cap)
{
	if (c->project_dotenv && tree_mentions(x->root, key)) {
		snprintf(where, cap, "the compose file (compose interpolates it from %s)",
		         c->shown);
		return true;
	}
	for (size_t k = 0; k < x->nenv; k++) {
		const struct envcache *d = &x->env[k];
		for (size_t s = 0; s < d->f->n_spans; s++) {
			const struct dotenv_span *sp = &d->f->spans[s];
			const char *text = (const char *)d->text->data + sp->start;
			if (d->drop[sp->entry] ||
			    !compose_mentions_var(text, sp->end - sp->start, key, false))
				continue;
			snprintf(where, cap, "%s in %s", d->f->items[sp->entry].key, d->shown);
			return true;
		}
	}
	return false;
}

/* Keeps every line something that stays refers to: without it, compose would
 * silently read an empty value there. Keeping one line may keep the lines it
 * refers to in turn, hence the loop until nothing changes. */
static int keep_referenced(struct ctx *x)
{
	for (bool again = true; again;) {
		again = false;
		for (size_t k = 0; k < x->nenv; k++) {
			struct envcache *c = &x->env[k];
			for (size_t i = 0; i < c->f->n; i++) {
				char where[NOTE_MAX];
				const char *key = c->f->items[i].key;
				if (!c->drop[i] ||
				    !still_referenced(x, c, key, where, sizeof(where)))
					continue;
				c->drop[i] = false;
				c->kept[i] = SKIP_REFERENCED;
				again = true;
				int rc = note(x,
				              "%s (%s) is not migrated: %s refers to it, and would "
				              "get an empty value; migrate it by hand",
				              key, c->shown, where);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

/* Whether any name of c (a symlink's target included) is outside the
 * project directory: such a file may be shared with other projects, which
 * still read the lines a migration would take out of it. */
static bool outside_project(const struct ctx *x, const struct envcache *c)
{
	const char *proj = x->project_real;
	size_t n = proj ? strlen(proj) : 0;
	bool out = false;
	for (size_t i = 0; proj && i < c->nreal && !out; i++)
		out = strncmp(c->real[i], proj, n) != 0 || (c->real[i][n] != '/' && n > 1);
	return out;
}

/* Marks, in every env_file, the lines whose values move into vaultd: one
 * service wanting a variable takes it out of the file for all who share it,
 * unless one of them already sets VAR_FILE or something that stays refers to
 * it (then it stays for all, and each says why in the summary). */
static int mark_drops(struct ctx *x)
{
	for (size_t s = 0; s < x->services->n; s++) {
		const char *svc = cnode_key(x->services, s)->str;
		const struct cnode *service = cnode_val(x->services, s);
		size_t idx[MAX_ENVFILES], n = 0;
		int rc = service_envfiles(x, svc, service, idx, MAX_ENVFILES, &n);
		if (rc < 0)
			return rc;
		for (size_t k = 0; k < n; k++) {
			struct envcache *c = &x->env[idx[k]];
			bool outside = outside_project(x, c);
			for (size_t i = 0; i < c->f->n; i++) {
				bool sibling = false;
				if (!wanted_line(x, svc, &c->f->items[i]))
					continue;
				if (outside) {
					c->kept[i] = SKIP_OUTSIDE;
					continue;
				}
				if ((rc = has_file_sibling(x, svc, service, c->f->items[i].key,
				                           &sibling)) < 0)
					return rc;
				if (sibling)
					c->kept[i] = SKIP_ALREADY_FILE;
				else
					c->drop[i] = true;
			}
		}
	}
	for (size_t k = 0; k < x->nenv; k++)
		for (size_t i = 0; i < x->env[k].f->n; i++)
			x->env[k].drop[i] &= x->env[k].kept[i] == SKIP_NONE;
	int rc = keep_referenced(x);
	for (size_t k = 0; k < x->nenv; k++)
		for (size_t i = 0; i < x->env[k].f->n; i++)
			x->env[k].dropped_any |= x->env[k].drop[i];
	return rc;
}

/* A line kept for another service's VAR_FILE: this one has no VAR_FILE, so
 * its row alone would not explain the skip. */
static int note_shared_file_var(struct ctx *x, const char *svc, const struct cnode *service,
                                const char *key, const struct envcache *c, enum compose_skip kept)
{
	bool sibling = false;
	int rc = kept == SKIP_ALREADY_FILE ? has_file_sibling(x, svc, service, key, &sibling) : 0;
	if (rc < 0 || kept != SKIP_ALREADY_FILE || sibling)
		return rc;
	return note(x,
	            "service %s: %s (%s) is not migrated: another service that reads %s already "
	            "sets %s_FILE",
	            svc, key, c->shown, c->shown, key);
}

static int envfile_rows(struct ctx *x, const char *svc, const struct cnode *service)
{
	size_t idx[MAX_ENVFILES], n = 0;
	int rc = service_envfiles(x, svc, service, idx, MAX_ENVFILES, &n);
	if (rc < 0)
		return rc;
	const struct cnode *env = cnode_map_get(service, "environment");
	/* Each key once, in the order first seen; the last file defining it wins. */
	for (size_t k = 0; k < n; k++) {
		const struct envcache *c = &x->env[idx[k]];
		for (size_t i = 0; i < c->f->n; i++) {
			const char *key = c->f->items[i].key;
			bool seen = false;
			for (size_t kk = 0; kk < k && !seen; kk++)
				seen = dotenv_find(x->env[idx[kk]].f, key) != NULL;
			if (seen || compose_name_is_ours(key) || envnode_find(env, key) >= 0)
				continue; /* environment: overrides env_file */
			size_t last = k;
			for (size_t kk = k + 1; kk < n; kk++)
				if (dotenv_find(x->env[idx[kk]].f, key))
					last = kk;
			const struct envcache *lc = &x->env[idx[last]];
			const struct dotenv_entry *e = dotenv_find(lc->f, key);
			if (compose_name_is_file_ref(key)) {
				if (wanted_file_ref(x, svc, key) &&
				    (rc = add_row(x, svc, key, lc->shown, SKIP_ALREADY_FILE,
				                  NULL)) < 0)
					return rc;
				continue;
			}
			enum compose_skip kept = kept_reason(lc, key);
			if (is_dropped(lc, key) && known_value(e)) {
				struct secbuf *v = secbuf_dup(e->value->data, e->value->len);
				if (!v || (rc = add_row(x, svc, key, lc->shown, SKIP_NONE, v)) < 0)
					return v ? rc : -ENOMEM;
			} else if (kept != SKIP_NONE) {
				if ((rc = add_row(x, svc, key, lc->shown, kept, NULL)) < 0 ||
				    (rc = note_shared_file_var(x, svc, service, key, lc, kept)) < 0)
					return rc;
			} else if (wanted_name(x, svc, key)) {
				enum compose_skip skip = known_value(e) ? SKIP_EMPTY : SKIP_RUNTIME;
				if ((rc = add_row(x, svc, key, lc->shown, skip, NULL)) < 0)
					return rc;
			}
		}
	}
	return 0;
}

/* ---- naming ---- */

static int expand_template(const char *tpl, const char *svc, const char *var, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *t = tpl; *t;) {
		const char *add = NULL;
		bool lower = false;
		if (strncmp(t, "{service}", 9) == 0) {
			add = svc;
			t += 9;
		} else if (strncmp(t, "{var}", 5) == 0) {
			add = var;
			lower = true;
			t += 5;
		}
		if (add) {
			for (; *add; add++) {
				if (n + 1 >= cap)
					return -ENAMETOOLONG;
				out[n++] = lower ? (char)tolower((unsigned char)*add) : *add;
			}
			continue;
		}
		if (n + 1 >= cap)
			return -ENAMETOOLONG;
		out[n++] = *t++;
	}
	out[n] = '\0';
	return 0;
}

/* A new secret for row r's value, named from the template. The value
 * moves into the plan. */
static int add_secret(struct ctx *x, size_t r, struct strtab *by_name)
{
	struct compose_plan *p = x->p;
	char name[VAULT_MAX_NAME_LEN + 2];
	if (expand_template(x->o->name_template, p->rows[r].service, p->rows[r].var, name,
	                    sizeof(name)) < 0 ||
	    !name_is_valid_str(name))
		return fail(x,
		            "--name-template %s gives an invalid secret name for %s.%s: names are "
		            "1-128 "
		            "characters of A-Z a-z 0-9 . _ - and start with a letter or digit",
		            x->o->name_template, p->rows[r].service, p->rows[r].var);
	if (strtab_get(by_name, name, strlen(name)))
		return fail(x,
		            "two different values would both be secret %s (%s.%s "
		            "is one): put {service} "
		            "and {var} in --name-template",
		            name, p->rows[r].service, p->rows[r].var);
	struct compose_secret *ns = &p->secrets[p->nsecrets];
	memcpy(ns->name, name, strlen(name) + 1); /* valid: at most 128 bytes */
	ns->value = x->values[r];
	x->values[r] = NULL;
	p->rows[r].secret = p->nsecrets++;
	if (strtab_put(&x->by_value, (const char *)ns->value->data, ns->value->len,
	               p->rows[r].secret) < 0 ||
	    strtab_put(by_name, ns->name, strlen(ns->name), p->rows[r].secret) < 0)
		return -ENOMEM;
	return 0;
}

static int name_secrets(struct ctx *x)
{
	struct compose_plan *p = x->p;
	/* Room for a secret per row at once: the sets keep pointers into it. */
	p->secrets = calloc(p->nrows ? p->nrows : 1, sizeof(*p->secrets));
	if (!p->secrets)
		return -ENOMEM;
	struct strtab by_name = {.seed = x->seed->data};
	int rc = 0;
	for (size_t r = 0; r < p->nrows && rc == 0; r++) {
		struct secbuf *v = x->values[r];
		if (!v)
			continue;
		/* One secret per distinct value, named after its first use. */
		const size_t *same = strtab_get(&x->by_value, (const char *)v->data, v->len);
		if (same) {
			p->rows[r].secret = *same;
			secbuf_free(v);
			x->values[r] = NULL;
			continue;
		}
		rc = add_secret(x, r, &by_name);
	}
	strtab_free(&by_name); /* it pointed into p->secrets */
	/* Give back the room of the rows that named no new secret. */
	struct compose_secret *fit =
	    realloc(p->secrets, (p->nsecrets ? p->nsecrets : 1) * sizeof(*fit));
	if (fit)
		p->secrets = fit;
	return rc;
}

/* ---- rewriting ---- */

static const char *flag_entrypoint(const struct ctx *x, const char *svc)
{
	const char *found = NULL;
	for (size_t i = 0; i < x->o->nentrypoints; i++) {
		const char *e = x->o->entrypoints[i];
		const char *eq = strchr(e, '=');
		if (eq && strlen(svc) == (size_t)(eq - e) && strncmp(e, svc, (size_t)(eq - e)) == 0)
			found = eq + 1; /* the last one given wins */
	}
	return found;
}

/* Removes every entry of var but the last (the one compose uses): they are
 * dead, and may hold an older plaintext value. */
static void drop_shadowed(struct cnode *env, const char *var)
{
	for (size_t i = 0; i < envnode_count(env);) {
		struct env_entry e;
		if (envnode_entry(env, i, &e) && strcmp(e.name, var) == 0 && shadowed(env, i, var))
			envnode_remove(env, i);
		else
			i++;
	}
}

static int set_file_var(struct cnode *env, const struct compose_row *r, const char *path)
{
	char fvar[COMPOSE_MAX_VAR_NAME + 8];
	snprintf(fvar, sizeof(fvar), "%s_FILE", r->var);
	long at = r->source ? -1 : envnode_find(env, r->var);
	if (at >= 0 && envnode_find(env, fvar) < 0)
		return envnode_set_at(env, (size_t)at, fvar, path); /* same place as VAR was */
	if (at >= 0)
		envnode_remove(env, (size_t)at);
	return envnode_put(env, fvar, path);
}

static int strv_add_unique(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int deliver_row(struct ctx *x, const char *svc, struct cnode *service, struct cnode *env,
                       struct compose_row *r, char ***files, size_t *nfiles, char ***pairs,
                       size_t *npairs)
{
	const char *name = x->p->secrets[r->secret].name;
	char path[PATH_MAX_LEN];
	snprintf(path, sizeof(path), "%s/%s", COMPOSE_SECRETS_DIR, name);
	int rc = 0;
	bool delivered = r->delivery == DELIVER_INJECT_FILE ||
	                 r->delivery == DELIVER_DOCKER_SECRET || r->delivery == DELIVER_INJECT_ENV;
	if (delivered && !r->source)
		drop_shadowed(env, r->var);
	switch (r->delivery) {
	case DELIVER_INJECT_FILE:
		if ((rc = set_file_var(env, r, path)) == 0)
			rc = strv_add_unique(files, nfiles, name);
		break;
	case DELIVER_DOCKER_SECRET:
		if ((rc = set_file_var(env, r, path)) == 0)
			rc = service_add_docker_secret(x->root, svc, service, name,
			                               x->o->secrets_dir, x->err, x->errcap);
		break;
	case DELIVER_INJECT_ENV: {
		long at = r->source ? -1 : envnode_find(env, r->var);
		if (at >= 0)
			envnode_remove(env, (size_t)at);
		char pair[COMPOSE_MAX_VAR_NAME + VAULT_MAX_NAME_LEN + 2];
		snprintf(pair, sizeof(pair), "%s=%s", r->var, name);
		rc = strv_add_unique(pairs, npairs, pair);
		break;
	}
	default:
		break;
	}
	return rc;
}

static int rewrite_service(struct ctx *x, const char *svc, struct cnode *service, size_t first,
                           size_t end)
{
	bool any = false;
	for (size_t r = first; r < end; r++)
		any |= x->p->rows[r].skip == SKIP_NONE;
	if (!any)
		return 0;
	struct service_cmd c;
	int rc = service_command(svc, service, flag_entrypoint(x, svc), x->o->project_dir, &c);
	if (rc < 0)
		return rc;
	struct cnode *env = service_environment(service);
	char **files = NULL, **pairs = NULL, *warn = NULL;
	size_t nfiles = 0, npairs = 0;
	if (!env)
		rc = -ENOMEM;
	for (size_t i = first; i < end && rc == 0; i++) {
		struct compose_row *r = &x->p->rows[i];
		if (r->skip != SKIP_NONE)
			continue;
		bool reads = service_reads_file(&c, r->var);
		if (x->o->mode == COMPOSE_MODE_FILES)
			r->delivery = reads ? DELIVER_DOCKER_SECRET : DELIVER_INJECT_ENV;
		else
			r->delivery = reads ? DELIVER_INJECT_FILE : DELIVER_INJECT_ENV;
		rc = deliver_row(x, svc, service, env, r, &files, &nfiles, &pairs, &npairs);
	}
	char user[COMPOSE_USER_MAX];
	service_user(service, &c, user, sizeof(user));
	if (rc == 0 && (nfiles > 0 || npairs > 0))
		rc = service_wrap_inject(svc, service, &c, user, x->o, files, nfiles, pairs, npairs,
		                         &warn, x->err, x->errcap);
	if (rc == 0 && warn)
		rc = note(x, "%s", warn);
	if (rc == 0 && (nfiles > 0 || npairs > 0) && !service_user_is_root(user))
		rc = note(
		    x,
		    "service %s runs as user \"%s\"%s: vaultd makes only root peers (and its "
		    "--admin-uid/--admin-gid) admins, so its inject needs a token (vaultctl token "
		    "create --policy P --output-file F, mounted and named by INJECT_TOKEN_FILE) "
		    "or a policy bound to its container (vaultd --docker-socket); see "
		    "docs/docker.md",
		    svc, user, cnode_map_get(service, "user") ? "" : " (its Dockerfile's USER)");
	free(warn);
	strv_free(files, nfiles);
	strv_free(pairs, npairs);
	service_cmd_clear(&c);
	return rc;
}

/* Whether env_file entry item names c's file, however it is spelt. */
static bool names_envfile(const struct ctx *x, const struct cnode *item,
                          const struct envcache *c)
{
	if (item->kind != CNODE_SCALAR)
		return false;
	if (cnode_is(item, c->shown))
		return true;
	char *path = envfile_path(x, item->str);
	struct stat st;
	bool same = path && stat(path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino;
	free(path);
	return same;
}

/* Adds an env_file output; takes text. */
static int add_output(struct compose_plan *p, const char *path, const char *shown,
                      struct secbuf *text, bool in_place)
{
	struct compose_file_out *o = realloc(p->envfiles, (p->nenvfiles + 1) * sizeof(*o));
	if (!o) {
		secbuf_free(text);
		return -ENOMEM;
	}
	p->envfiles = o;
	o = &p->envfiles[p->nenvfiles++];
	*o = (struct compose_file_out){.in_place = in_place, .text = text};
	if (!(o->path = strdup(path)) || !(o->shown = strdup(shown)))
		return -ENOMEM; /* compose_plan_free frees what is there */
	return 0;
}

/* Points every env_file entry that names c's file at its copy, shown. */
static int point_at_copy(struct ctx *x, const struct envcache *c, const char *shown)
{
	for (size_t s = 0; s < x->services->n; s++) {
		struct cnode *ef = cnode_map_get(cnode_val(x->services, s), "env_file");
		size_t count = ef && ef->kind == CNODE_SEQ ? ef->n : (ef ? 1 : 0);
		for (size_t k = 0; k < count; k++) {
			struct cnode *item = ef->kind == CNODE_SEQ ? ef->items[k] : ef;
			if (!names_envfile(x, item, c))
				continue;
			struct cnode *nv = cnode_new_scalar(shown, strlen(shown), item->style);
			if (!nv)
				return -ENOMEM;
			if (ef->kind == CNODE_SEQ)
				cnode_seq_replace(ef, k, nv);
			else if (cnode_map_set(cnode_val(x->services, s), "env_file", nv) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Sanitized env_files. In place (the output replaces the input): every name
 * the file has is rewritten, the target of a symlink rather than the link,
 * each hard link. Otherwise one copy next to the first spelling, with a
 * suffix, and every spelling of the file points at it. */
static int envfile_outputs(struct ctx *x)
{
	bool in_place = x->o->envfiles_in_place;
	for (size_t i = 0; i < x->nenv; i++) {
		struct envcache *c = &x->env[i];
		if (!c->dropped_any)
			continue;
		struct secbuf *text = NULL;
		int rc = dotenv_without(c->f, c->text->data, c->text->len, c->drop, &text);
		if (rc < 0)
			return rc;
		if (!in_place) {
			char *path = NULL, *shown = NULL;
			if (asprintf(&path, "%s%s", c->path, COMPOSE_MIGRATED_SUFFIX) < 0)
				path = NULL;
			if (asprintf(&shown, "%s%s", c->shown, COMPOSE_MIGRATED_SUFFIX) < 0)
				shown = NULL;
			if (path && shown)
				rc = add_output(x->p, path, shown, text, false); /* takes text */
			else {
				secbuf_free(text);
				rc = -ENOMEM;
			}
			if (rc == 0)
				rc = point_at_copy(x, c, shown);
			free(path);
			free(shown);
			if (rc < 0)
				return rc;
			continue;
		}
		for (size_t k = 0; rc == 0 && k < (c->nreal ? c->nreal : 1); k++) {
			const char *path = c->nreal ? c->real[k] : c->path;
			struct secbuf *t = secbuf_dup(text->data, text->len);
			rc = t ? add_output(x->p, path, k == 0 ? c->shown : path, t, true) : -ENOMEM;
		}
		secbuf_free(text);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- copies of values left behind ---- */

/* The secret whose value this scalar is (whole, or after "KEY="), or -1. */
static long scalar_is_value(const struct ctx *x, const struct cnode *n)
{
	const size_t *whole = strtab_get(&x->by_value, n->str, n->len);
	const char *eq = memchr(n->str, '=', n->len);
	const size_t *tail =
	    eq ? strtab_get(&x->by_value, eq + 1, n->len - (size_t)(eq + 1 - n->str)) : NULL;
	if (whole && tail)
		return (long)(*whole < *tail ? *whole : *tail);
	return whole ? (long)*whole : tail ? (long)*tail : -1;
}

static long subtree_value(const struct ctx *x, const struct cnode *n)
{
	if (n->kind == CNODE_SCALAR)
		return scalar_is_value(x, n);
	size_t slots = n->kind == CNODE_MAP ? 2 * n->n : n->n;
	for (size_t i = 0; i < slots; i++) {
		long s = subtree_value(x, n->items[i]);
		if (s >= 0)
			return s;
	}
	return -1;
}

/* x-* blocks are only there for anchors, which are expanded now: one that
 * holds a migrated value is dropped rather than left with the plaintext. */
static int drop_extension_blocks(struct ctx *x)
{
	for (size_t i = 0; i < x->root->n;) {
		const struct cnode *k = cnode_key(x->root, i);
		long s =
		    strncmp(k->str, "x-", 2) == 0 ? subtree_value(x, cnode_val(x->root, i)) : -1;
		if (s < 0) {
			i++;
			continue;
		}
		int rc =
		    note(x,
		         "removed the top-level %s block: it held the value of secret %s, and the "
		         "anchors that used it are expanded in the output",
		         k->str, x->p->secrets[s].name);
		if (rc < 0)
			return rc;
		cnode_map_remove(x->root, i);
	}
	return 0;
}

static int warn_leftovers(struct ctx *x, const struct leftovers *l, const struct cnode *n,
                          const char *where)
{
	if (n->kind == CNODE_SCALAR) {
		long s = leftovers_find(l, n->str, n->len);
		if (s >= 0)
			return note(x,
			            "the value of secret %s still appears in %s (line %d "
			            "of the input): "
			            "move it out by hand",
			            x->p->secrets[s].name, where, n->line);
		return 0;
	}
	for (size_t i = 0; i < n->n; i++) {
		char sub[PATH_MAX_LEN];
		const struct cnode *child = n->kind == CNODE_MAP ? cnode_val(n, i) : n->items[i];
		int rc = 0;
		if (n->kind == CNODE_MAP) {
			/* A key that holds a value is named by where it is, never
			 * spelled out: the note, and every path under it, would
			 * print the value. */
			const struct cnode *k = cnode_key(n, i);
			long s = leftovers_find(l, k->str, k->len);
			if (s >= 0)
				rc = note(x,
				          "the value of secret %s still appears in a key of %s "
				          "(line %d of the input): move it out by hand",
				          x->p->secrets[s].name, *where ? where : "the top level",
				          k->line);
			snprintf(sub, sizeof(sub), "%s%s%s", where, *where ? "." : "",
			         s >= 0 ? "<that key>" : k->str);
		} else {
			snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
		}
		if (rc == 0)
			rc = warn_leftovers(x, l, child, sub);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int warn_all_leftovers(struct ctx *x)
{
	const struct secbuf **values = calloc(x->p->nsecrets + 1, sizeof(*values));
	if (!values)
		return -ENOMEM;
	for (size_t s = 0; s < x->p->nsecrets; s++)
		values[s] = x->p->secrets[s].value;
	struct leftovers *l = leftovers_new(values, x->p->nsecrets);
	int rc = l ? warn_leftovers(x, l, x->root, "") : -ENOMEM;
	leftovers_free(l);
	free(values);
	return rc;
}

/* ---- the whole migration ---- */

static int check_document(struct ctx *x)
{
	if (x->root->kind != CNODE_MAP)
		return fail(x, "the top level is a %s, not a mapping: this is not a compose file",
		            x->root->kind == CNODE_SEQ ? "list" : "single value");
	x->services = cnode_map_get(x->root, "services");
	if (!x->services || x->services->kind != CNODE_MAP)
		return fail(
		    x, "no services: mapping at the top level: this is not a compose file (or a "
		       "version 1 file, which vaultctl does not migrate)");
	for (size_t s = 0; s < x->services->n; s++)
		if (cnode_val(x->services, s)->kind != CNODE_MAP)
			return fail(x, "service %s is not a mapping",
			            cnode_key(x->services, s)->str);
	const struct cnode *v = cnode_map_get(x->root, "version");
	if (x->o->mode == COMPOSE_MODE_FILES && v && v->kind == CNODE_SCALAR) {
		/* secrets: (with long syntax) came with file format 3.1. */
		char *end;
		double ver = strtod(v->str, &end);
		if (end != v->str && ver < 3.1 - 1e-9)
			return fail(x,
			            "--mode files needs compose file format 3.1 or later for "
			            "secrets:, and this "
			            "file says version %s: use --mode inject, or raise version:",
			            v->str);
	}
	return 0;
}

static int unmatched_flags(struct ctx *x)
{
	int rc = 0;
	for (size_t i = 0; i < x->o->nvars && rc == 0; i++)
		if (!x->var_used[i])
			rc = note(x, "--var %s matched no variable", x->o->vars[i]);
	for (size_t i = 0; i < x->o->nentrypoints && rc == 0; i++) {
		const char *e = x->o->entrypoints[i];
		size_t n = strcspn(e, "=");
		bool found = false;
		for (size_t s = 0; s < x->services->n && !found; s++) {
			const struct cnode *k = cnode_key(x->services, s);
			found = k->len == n && strncmp(k->str, e, n) == 0;
		}
		if (!found)
			rc = note(x, "--entrypoint %.*s=...: there is no service %.*s", (int)n, e,
			          (int)n, e);
	}
	return rc;
}

/* Reads the project's .env, if there is one, for reads_dotenv. */
static int load_dotenv(struct ctx *x)
{
	char *path = NULL;
	if (!x->o->project_dir || asprintf(&path, "%s/.env", x->o->project_dir) < 0)
		return x->o->project_dir ? -ENOMEM : 0;
	int rc = input_read_regular(path, COMPOSE_MAX_ENVFILE_BYTES, &x->dotenv_text, NULL);
	if (rc == 0)
		rc = dotenv_parse(x->dotenv_text->data, x->dotenv_text->len, true, NULL, NULL,
		                  &x->dotenv);
	if (rc == -ENOENT)
		rc = 0; /* no .env: nothing to read from */
	else if (rc < 0 && rc != -ENOMEM)
		rc = fail(x, "cannot read %s, which compose reads too: %s", path,
		          dotenv_strerror(rc));
	free(path);
	return rc;
}

static int run(struct ctx *x)
{
	int rc = check_document(x);
	if (rc == 0)
		rc = load_dotenv(x);
	if (rc == 0)
		rc = mark_drops(x);
	if (rc < 0)
		return rc;
	size_t *first = calloc(x->services->n + 1, sizeof(*first));
	if (!first)
		return -ENOMEM;
	for (size_t s = 0; s < x->services->n && rc == 0; s++) {
		const char *svc = cnode_key(x->services, s)->str;
		const struct cnode *service = cnode_val(x->services, s);
		first[s] = x->p->nrows;
		rc = environment_rows(x, svc, service);
		if (rc == 0)
			rc = envfile_rows(x, svc, service);
	}
	first[x->services->n] = x->p->nrows;
	if (rc == 0)
		rc = name_secrets(x);
	for (size_t s = 0; s < x->services->n && rc == 0; s++)
		rc = rewrite_service(x, cnode_key(x->services, s)->str, cnode_val(x->services, s),
		                     first[s], first[s + 1]);
	free(first);
	if (rc == 0)
		rc = envfile_outputs(x);
	if (rc == 0)
		rc = drop_extension_blocks(x);
	if (rc == 0)
		rc = warn_all_leftovers(x);
	if (rc == 0)
		rc = unmatched_flags(x);
	return rc;
}

int compose_migrate(struct cnode *root, const struct compose_opts *o, struct compose_plan **ret,
                    char *err, size_t errcap)
{
	struct ctx x = {.root = root, .o = o, .err = err, .errcap = errcap};
	x.seed = secbuf_new(crypto_shorthash_KEYBYTES);
	if (x.seed) {
		crypto_shorthash_keygen(x.seed->data);
		x.by_value.seed = x.seed->data;
	}
	x.p = calloc(1, sizeof(*x.p));
	x.var_used = calloc(o->nvars ? o->nvars : 1, sizeof(bool));
	x.project_real = o->project_dir ? realpath(o->project_dir, NULL) : NULL;
	int rc = x.p && x.var_used && x.seed ? run(&x) : -ENOMEM;
	if (rc == -ENOMEM)
		snprintf(err, errcap, "out of memory");
	for (size_t i = 0; x.p && i < x.p->nrows; i++)
		secbuf_free(x.values[i]);
	free(x.values);
	for (size_t i = 0; i < x.nenv; i++) {
		free(x.env[i].shown);
		free(x.env[i].path);
		for (size_t k = 0; k < x.env[i].nreal; k++)
			free(x.env[i].real[k]);
		free(x.env[i].real);
		dotenv_free(x.env[i].f);
		secbuf_free(x.env[i].text);
		free(x.env[i].drop);
		free(x.env[i].kept);
	}
	free(x.env);
	dotenv_free(x.dotenv);
	secbuf_free(x.dotenv_text);
	free(x.var_used);
	free(x.project_real);
	strtab_free(&x.by_value);
	secbuf_free(x.seed);
	if (rc < 0) {
		compose_plan_free(x.p);
		return rc;
	}
	*ret = x.p;
	return 0;
}

void compose_plan_free(struct compose_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrows; i++) {
		free(p->rows[i].service);
		free(p->rows[i].var);
		free(p->rows[i].source);
	}
	free(p->rows);
	for (size_t i = 0; i < p->nsecrets; i++)
		secbuf_free(p->secrets[i].value);
	free(p->secrets);
	for (size_t i = 0; i < p->nenvfiles; i++) {
		free(p->envfiles[i].path);
		free(p->envfiles[i].shown);
		secbuf_free(p->envfiles[i].text);
	}
	free(p->envfiles);
	for (size_t i = 0; i < p->nnotes; i++)
		free(p->notes[i]);
	free(p->notes);
	free(p);
}

const char *compose_delivery_text(enum compose_delivery d)
{
	switch (d) {
	case DELIVER_INJECT_FILE:
		return "inject: file, VAR_FILE";
	case DELIVER_INJECT_ENV:
		return "inject: env at exec";
	case DELIVER_DOCKER_SECRET:
		return "docker secret, VAR_FILE";
	default:
		return "-";
	}
}

const char *compose_skip_text(enum compose_skip s)
{
	switch (s) {
	case SKIP_EMPTY:
		return "skipped: empty value";
	case SKIP_RUNTIME:
		return "skipped: value comes from the shell or .env at run time";
	case SKIP_INVALID:
		return "skipped: a $ reference compose rejects";
	case SKIP_ALREADY_FILE:
		return "skipped: already a _FILE variable";
	case SKIP_NOT_TEXT:
		return "skipped: unquoted value YAML reads as a number or boolean: "
		       "quote it and run again";
	case SKIP_REFERENCED:
		return "skipped: referenced as ${...} elsewhere: migrate by hand";
	case SKIP_OUTSIDE:
		return "skipped: env_file outside the project (maybe shared): migrate by hand";
	default:
		return "";
	}
}
