/* Process-wide secret hygiene: libsodium init, jansson allocators that wipe
 * every block they free, and no core dumps. */
#include "hygiene.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* jansson's free callback gets no size, so each block starts with a header
 * that remembers it; the header is max_align_t-sized to keep the user part
 * aligned for any type. */
union wipe_hdr {
	size_t size;
	max_align_t align;
};

static void *wipe_malloc(size_t size)
{
	if (size > SIZE_MAX - sizeof(union wipe_hdr))
		return NULL;
	union wipe_hdr *h = malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	return h + 1;
}

static void wipe_free(void *p)
{
	if (!p)
		return;
	union wipe_hdr *h = (union wipe_hdr *)p - 1;
	/* jansson copies every string it is given, values and tokens included. */
	sodium_memzero(h, sizeof(*h) + h->size);
	free(h);
}

int vault_init(void)
{
	if (sodium_init() < 0)
		return -EIO;
	/* Must run before the first jansson allocation: a block allocated with
	 * plain malloc would be handed to wipe_free later. */
	json_set_alloc_funcs(wipe_malloc, wipe_free);
	return 0;
}

int vault_harden_process(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	struct rlimit rl = {.rlim_cur = 0, .rlim_max = 0};
	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return -errno;
	return 0;
}
