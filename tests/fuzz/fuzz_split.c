/* ctl/compose_dockerfile.c: splitting a command line the way compose does
 * (shlex). A split that succeeds yields a sequence of strings. */
#include "compose_doc.h"
#include "compose_dockerfile.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct cnode *seq = NULL;
	if (compose_split_command(s, &seq) == 0) {
		FUZZ_CHECK(seq != NULL);
		cnode_free(seq);
	}
	free(s);
	return 0;
}
