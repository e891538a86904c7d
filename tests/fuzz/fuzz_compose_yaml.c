/* ctl/compose_yaml.c: compose files through libyaml. A mapping vaultctl
 * writes after loading it loads again (a migrated file stays readable). */
#include <errno.h>
#include <string.h>
#include "compose_doc.h"
#include "fuzz.h"
#include "hygiene.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return vault_init() < 0 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cnode *root = NULL;
	char err[256] = "";
	if (compose_yaml_load((const char *)data, size, &root, err, sizeof(err)) != 0) {
		FUZZ_CHECK(root == NULL && err[0] != '\0');
		return 0;
	}
	/* vaultctl refuses any other top level before it would write one. */
	char *out = NULL;
	size_t len = 0;
	if (root->kind == CNODE_MAP && compose_yaml_emit(root, NULL, &out, &len) == 0) {
		struct cnode *again = NULL;
		int rc = compose_yaml_load(out, len, &again, err, sizeof(err));
		if (rc != 0 && len <= 4096)
			fprintf(stderr, "reload: %s\n--- emitted:\n%.*s\n", err, (int)len, out);
		/* Expanded aliases may make it longer than a file vaultctl reads. */
		FUZZ_CHECK(rc == 0 || (rc == -E2BIG && len > COMPOSE_MAX_FILE_BYTES));
		cnode_free(again);
		free(out);
	}
	cnode_free(root);
	return 0;
}
