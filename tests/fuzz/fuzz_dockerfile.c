/* ctl/compose_dockerfile.c: the Dockerfile of a service with build:, read
 * from the user's project. Stages, ARG expansion, shell and JSON forms: an
 * answer is a pair of string sequences and a USER that fits its buffer. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "compose_doc.h"
#include "compose_dockerfile.h"
#include "fuzz.h"
#include "hygiene.h"

static int g_fd = -1;
static char g_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* An in-memory file, so that each input costs no disk write. */
	g_fd = memfd_create("Dockerfile", MFD_CLOEXEC);
	if (vault_init() < 0 || g_fd < 0)
		abort();
	snprintf(g_path, sizeof(g_path), "/proc/self/fd/%d", g_fd);
	return 0;
}

static void check_seq(const struct cnode *n)
{
	FUZZ_CHECK(n && n->kind == CNODE_SEQ);
	for (size_t i = 0; i < n->n; i++)
		FUZZ_CHECK(n->items[i]->kind == CNODE_SCALAR && n->items[i]->str);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(g_fd, 0) < 0 || pwrite(g_fd, data, size, 0) != (ssize_t)size)
		abort();
	static const char *const targets[] = {NULL, "build"};
	for (size_t t = 0; t < 2; t++) {
		struct cnode *ep = NULL, *cmd = NULL;
		char user[COMPOSE_USER_MAX];
		memset(user, 'u', sizeof(user));
		char err[256] = "";
		int rc = compose_dockerfile_command(g_path, targets[t], NULL, &ep, &cmd, user, err,
		                                    sizeof(err));
		if (rc == 0) {
			check_seq(ep);
			check_seq(cmd);
			FUZZ_CHECK(memchr(user, '\0', sizeof(user)) != NULL);
		} else {
			FUZZ_CHECK(ep == NULL && cmd == NULL && err[0] != '\0');
		}
		cnode_free(ep);
		cnode_free(cmd);
	}
	return 0;
}
