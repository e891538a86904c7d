/* Writes the document tree back as YAML with libyaml's emitter: original
 * scalar styles and tags kept, new strings quoted only when YAML would read
 * them as something else (a number, a bool, null). */
#include "compose_doc.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct out {
	char *p;
	size_t len, cap;
	int err;
};

/* The text can hold values migrate left in place (skipped, or beside a
 * VAR_FILE): no copy of it is freed unwiped, as in the loader. */
static void out_wipe_free(struct out *o)
{
	if (o->p)
		sodium_memzero(o->p, o->cap);
	free(o->p);
	o->p = NULL;
}

static int out_put(struct out *o, const void *data, size_t size)
{
	if (size + 1 > o->cap - o->len) {
		size_t cap = o->cap ? o->cap : 4096;
		while (size + 1 > cap - o->len)
			cap *= 2;
		char *p = malloc(cap); /* not realloc: the old block is wiped first */
		if (!p) {
			o->err = -ENOMEM;
			return -ENOMEM;
		}
		if (o->p)
			memcpy(p, o->p, o->len);
		out_wipe_free(o);
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, data, size);
	o->len += size;
	o->p[o->len] = '\0';
	return 0;
}

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	return out_put(data, buffer, size) == 0;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* True when a plain scalar with this text would not load as a string under
 * YAML 1.1 (PyYAML, which docker-compose 1.29 uses) or 1.2. */
static bool reads_as_non_string(const char *s, size_t len)
{
	static const char *const words[] = {
	    "",      "~",   "null", "Null", "NULL", "true", "True", "TRUE", "false", "False",
	    "FALSE", "yes", "Yes",  "YES",  "no",   "No",   "NO",   "on",   "On",    "ON",
	    "off",   "Off", "OFF",  "y",    "Y",    "n",    "N",    "<<",   "=",     NULL,
	};
	if (strlen(s) != len || in_list(s, words))
		return true;
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	/* Numbers in any base, floats, .inf/.nan and sexagesimals all start
	 * like this; quoting a string that merely looks similar is harmless. */
	return (*p >= '0' && *p <= '9') || (*p == '.' && p[1] != '\0' && p[1] != '/');
}

static yaml_scalar_style_t emit_style(const struct cnode *n)
{
	switch (n->style) {
	case CSTYLE_PLAIN:
		return YAML_PLAIN_SCALAR_STYLE;
	case CSTYLE_SINGLE:
		return YAML_SINGLE_QUOTED_SCALAR_STYLE;
	case CSTYLE_DOUBLE:
		return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	case CSTYLE_LITERAL:
		return YAML_LITERAL_SCALAR_STYLE;
	case CSTYLE_FOLDED:
		return YAML_FOLDED_SCALAR_STYLE;
	default:
		return reads_as_non_string(n->str, n->len) ? YAML_SINGLE_QUOTED_SCALAR_STYLE
		                                           : YAML_PLAIN_SCALAR_STYLE;
	}
}

static int emit_event(yaml_emitter_t *e, yaml_event_t *ev)
{
	/* yaml_emitter_emit takes the event in every case. */
	return yaml_emitter_emit(e, ev) ? 0 : -EINVAL;
}

static int emit_node(yaml_emitter_t *e, const struct cnode *n)
{
	yaml_event_t ev;
	const yaml_char_t *tag = (const yaml_char_t *)n->tag;
	int implicit = n->tag == NULL;
	int ok;
	switch (n->kind) {
	case CNODE_SCALAR:
		ok = yaml_scalar_event_initialize(&ev, NULL, tag, (const yaml_char_t *)n->str,
		                                  (int)n->len, implicit, implicit, emit_style(n));
		return ok ? emit_event(e, &ev) : -ENOMEM;
	case CNODE_SEQ:
		ok = yaml_sequence_start_event_initialize(&ev, NULL, tag, implicit,
		                                          n->flow ? YAML_FLOW_SEQUENCE_STYLE
		                                                  : YAML_BLOCK_SEQUENCE_STYLE);
		if (!ok || emit_event(e, &ev) < 0)
			return -EINVAL;
		for (size_t i = 0; i < n->n; i++)
			if (emit_node(e, n->items[i]) < 0)
				return -EINVAL;
		yaml_sequence_end_event_initialize(&ev);
		return emit_event(e, &ev);
	case CNODE_MAP:
		ok = yaml_mapping_start_event_initialize(&ev, NULL, tag, implicit,
		                                         n->flow ? YAML_FLOW_MAPPING_STYLE
		                                                 : YAML_BLOCK_MAPPING_STYLE);
		if (!ok || emit_event(e, &ev) < 0)
			return -EINVAL;
		for (size_t i = 0; i < 2 * n->n; i++)
			if (emit_node(e, n->items[i]) < 0)
				return -EINVAL;
		yaml_mapping_end_event_initialize(&ev);
		return emit_event(e, &ev);
	}
	return -EINVAL;
}

static int emit_document(yaml_emitter_t *e, const struct cnode *root)
{
	yaml_event_t ev;
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (emit_event(e, &ev) < 0)
		return -EINVAL;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (emit_event(e, &ev) < 0 || emit_node(e, root) < 0)
		return -EINVAL;
	yaml_document_end_event_initialize(&ev, 1);
	if (emit_event(e, &ev) < 0)
		return -EINVAL;
	yaml_stream_end_event_initialize(&ev);
	return emit_event(e, &ev);
}

int compose_yaml_emit(const struct cnode *root, const char *header, char **ret, size_t *ret_len)
{
	struct out o = {0};
	if (header && out_put(&o, header, strlen(header)) < 0)
		return -ENOMEM;
	yaml_emitter_t e;
	if (!yaml_emitter_initialize(&e)) {
		out_wipe_free(&o);
		return -ENOMEM;
	}
	yaml_emitter_set_output(&e, write_handler, &o);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_indent(&e, 2);
	yaml_emitter_set_width(&e, -1); /* never fold long lines */
	int rc = emit_document(&e, root);
	if (rc == 0 && !yaml_emitter_flush(&e))
		rc = -EINVAL;
	/* libyaml frees its output buffers without wiping them. */
	compose_wipe_range(e.buffer.start, e.buffer.end);
	compose_wipe_range(e.raw_buffer.start, e.raw_buffer.end);
	yaml_emitter_delete(&e);
	if (o.err)
		rc = o.err;
	if (rc < 0) {
		out_wipe_free(&o);
		return rc;
	}
	*ret = o.p;
	*ret_len = o.len;
	return 0;
}
