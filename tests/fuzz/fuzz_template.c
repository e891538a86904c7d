/* inject/template.c: {{ secret "NAME" }} templates. A template that parses
 * renders with every name known, and fails closed (-ENOENT) with none. */
#include <errno.h>
#include <string.h>
#include "fuzz.h"
#include "hygiene.h"
#include "secbuf.h"
#include "template.h"

static struct secbuf *g_value;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (vault_init() < 0 || !(g_value = secbuf_new(5)))
		abort();
	memcpy(g_value->data, "v4lue", 5);
	return 0;
}

static const struct secbuf *known(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return g_value;
}

static const struct secbuf *unknown(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct template *t = NULL;
	char err[256] = "";
	if (template_parse((const char *)data, size, &t, err, sizeof(err)) != 0) {
		FUZZ_CHECK(t == NULL && err[0] != '\0');
		return 0;
	}
	struct secbuf *out = NULL;
	FUZZ_CHECK(template_render(t, known, NULL, &out, err, sizeof(err)) == 0);
	FUZZ_CHECK(out != NULL);
	secbuf_free(out);
	out = NULL;
	bool has_refs = false;
	for (size_t i = 0; i < t->n_segs; i++)
		has_refs |= t->segs[i].is_secret;
	int rc = template_render(t, unknown, NULL, &out, err, sizeof(err));
	FUZZ_CHECK(has_refs ? (rc == -ENOENT && out == NULL) : rc == 0);
	secbuf_free(out);
	template_free(t);
	return 0;
}
