/* What a bundle turns into on the tmpfs. A file is rewritten only when the
 * version behind it changed, so a --watch rewrite touches only what rotated;
 * a template is re-rendered when any secret it names changed. */
#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "msg.h"
#include "tmpfs_files.h"

static void owner_of(const struct outputs *o, const struct file_spec *f, uid_t *u, gid_t *g)
{
	*u = f->has_owner ? f->uid : o->uid;
	*g = f->has_owner ? f->gid : o->gid;
}

/* A temp file made ahead, or NULL (none made, or all used): they are all
 * alike, so each write takes the next. */
static struct files_temp *next_temp(struct outputs_ahead *a)
{
	return a && a->temps && a->used < a->n ? &a->temps[a->used++] : NULL;
}

static int put_file(const struct outputs *o, const struct file_spec *f, const char *file,
                    const struct secbuf *v, struct outputs_ahead *ahead, char *err, size_t cap)
{
	uid_t u;
	gid_t g;
	owner_of(o, f, &u, &g);
	int r = files_write(o->dirfd, next_temp(ahead), file, v->data, v->len, f->mode, u, g);
	if (r == -ELOOP)
		snprintf(err, cap,
		         "%s/%s exists and is not a regular file (a planted symlink?): refusing "
		         "to write through it; remove it",
		         o->cfg->dir, file);
	else if (r < 0)
		snprintf(err, cap, "cannot write %s/%s: %s%s", o->cfg->dir, file, errstr(-r),
		         r == -EPERM ? " (inject needs to run as root to give files to --user)"
		                     : "");
	return r;
}

static int write_secret(const struct outputs *o, const struct secret_spec *s,
                        const struct bundle_entry *e, const struct bundle_entry *was,
                        struct outputs_ahead *ahead, char *err, size_t cap)
{
	int r = 0;
	if (!was || was->version != e->version)
		r = put_file(o, &s->out, s->out.file, e->value, ahead, err, cap);
	if (r < 0 || !o->cfg->previous || (was && was->previous_version == e->previous_version))
		return r;
	char prev[VAULT_MAX_NAME_LEN + sizeof(INJECT_PREVIOUS_SUFFIX)];
	snprintf(prev, sizeof(prev), "%s" INJECT_PREVIOUS_SUFFIX, s->out.file);
	if (e->previous)
		return put_file(o, &s->out, prev, e->previous, ahead, err, cap);
	/* No previous version (any more): no stale companion either. */
	r = files_remove(o->dirfd, prev);
	if (r < 0)
		snprintf(err, cap, "cannot remove %s/%s: %s", o->cfg->dir, prev, errstr(-r));
	return r;
}

static const struct secbuf *lookup(void *ctx, const char *name)
{
	const struct bundle_entry *e = bundle_find(ctx, name);
	return e ? e->value : NULL;
}

static bool template_changed(const struct template *t, const struct bundle *b,
                             const struct bundle *old)
{
	if (!old)
		return true;
	for (size_t i = 0; i < t->n_segs; i++) {
		if (!t->segs[i].is_secret)
			continue;
		const struct bundle_entry *e = bundle_find(b, t->segs[i].name);
		const struct bundle_entry *w = bundle_find(old, t->segs[i].name);
		if (!e || !w || e->version != w->version)
			return true;
	}
	return false;
}

static int write_template(const struct outputs *o, size_t i, const struct bundle *b,
                          struct outputs_ahead *ahead, char *err, size_t cap)
{
	const struct template_spec *ts = &o->cfg->templates[i];
	struct secbuf *out = NULL;
	char why[256];
	int r = template_render(o->templates[i], lookup, (void *)b, &out, why, sizeof(why));
	if (r < 0) {
		snprintf(err, cap, "template %s: %s", ts->src, why);
		return r;
	}
	r = put_file(o, &ts->out, ts->out.file, out, ahead, err, cap);
	secbuf_free(out);
	return r;
}

void outputs_prepare(const struct outputs *o, struct outputs_ahead *a)
{
	if (a->temps)
		return; /* made already */
	size_t n = o->cfg->n_secrets + o->cfg->n_templates;
	a->temps = calloc(n, sizeof(*a->temps));
	if (!a->temps)
		return;
	a->n = n;
	a->used = 0;
	for (size_t i = 0; i < n; i++)
		a->temps[i].fd = -1;
	for (size_t i = 0; i < n; i++)
		if (files_temp_create(o->dirfd, &a->temps[i]) < 0)
			break; /* out of descriptors, say: the rest the usual way */
}

void outputs_ahead_discard(const struct outputs *o, struct outputs_ahead *a)
{
	for (size_t i = 0; a->temps && i < a->n; i++)
		files_temp_discard(o->dirfd, &a->temps[i]);
	free(a->temps);
	a->temps = NULL;
	a->n = a->used = 0;
}

int outputs_write(const struct outputs *o, const struct bundle *b, const struct bundle *old,
                  struct outputs_ahead *ahead, char *err, size_t cap)
{
	int r = 0;
	/* Exclusive against the cleanup at exit (see watch_stop). */
	flock(o->dirfd, LOCK_EX);
	for (size_t i = 0; r == 0 && i < o->cfg->n_secrets; i++) {
		const struct secret_spec *s = &o->cfg->secrets[i];
		const struct bundle_entry *e = bundle_find(b, s->name);
		if (!e) {
			snprintf(err, cap, "no value for %s in vaultd's answer", s->name);
			r = -ENOENT;
			break;
		}
		r = write_secret(o, s, e, bundle_find(old, s->name), ahead, err, cap);
	}
	for (size_t i = 0; r == 0 && i < o->cfg->n_templates; i++)
		if (template_changed(o->templates[i], b, old))
			r = write_template(o, i, b, ahead, err, cap);
	flock(o->dirfd, LOCK_UN);
	return r;
}

bool outputs_uses(const struct inject_config *cfg, struct template *const *templates,
                  const char *name)
{
	for (size_t i = 0; i < cfg->n_secrets; i++)
		if (strcmp(cfg->secrets[i].name, name) == 0)
			return true;
	for (size_t i = 0; i < cfg->n_templates; i++)
		for (size_t k = 0; k < templates[i]->n_segs; k++)
			if (templates[i]->segs[k].is_secret && strcmp(templates[i]->segs[k].name, name) == 0)
				return true;
	return false;
}

void outputs_remove_all(const struct outputs *o)
{
	char prev[VAULT_MAX_NAME_LEN + sizeof(INJECT_PREVIOUS_SUFFIX)];
	for (size_t i = 0; i < o->cfg->n_secrets; i++) {
		files_remove(o->dirfd, o->cfg->secrets[i].out.file);
		snprintf(prev, sizeof(prev), "%s" INJECT_PREVIOUS_SUFFIX,
		         o->cfg->secrets[i].out.file);
		if (o->cfg->previous)
			files_remove(o->dirfd, prev);
	}
	for (size_t i = 0; i < o->cfg->n_templates; i++)
		files_remove(o->dirfd, o->cfg->templates[i].out.file);
}
