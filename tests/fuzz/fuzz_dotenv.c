/* ctl/dotenv.c: .env files as docker-compose reads them, with and without
 * interpolation. Every parsed key is found again, dropping nothing gives
 * back the text byte for byte, and dropping every key leaves none. */
#include <string.h>
#include "dotenv.h"
#include "fuzz.h"
#include "hygiene.h"
#include "secbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return vault_init() < 0 ? 1 : 0;
}

static const char *lookup(const char *name, void *ctx)
{
	(void)ctx;
	return strcmp(name, "HOME") == 0 ? "/root" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int interp = 0; interp < 2; interp++) {
		struct dotenv *d = NULL;
		if (dotenv_parse(data, size, interp, lookup, NULL, &d) != 0)
			continue;
		for (size_t i = 0; i < d->n; i++)
			FUZZ_CHECK(dotenv_find(d, d->items[i].key) == &d->items[i]);
		bool *drop = calloc(d->n + 1, sizeof(bool));
		struct secbuf *same = NULL;
		FUZZ_CHECK(drop && dotenv_without(d, data, size, drop, &same) == 0);
		FUZZ_CHECK(same->len == size && memcmp(same->data, data, size) == 0);
		secbuf_free(same);
		/* Dropping every key leaves a file that assigns none (how
		 * vaultctl compose rewrites an env_file it migrated). */
		for (size_t i = 0; i < d->n; i++)
			drop[i] = true;
		struct secbuf *rest = NULL;
		FUZZ_CHECK(dotenv_without(d, data, size, drop, &rest) == 0);
		struct dotenv *again = NULL;
		FUZZ_CHECK(dotenv_parse(rest->data, rest->len, interp, lookup, NULL, &again) == 0);
		FUZZ_CHECK(again->n == 0);
		dotenv_free(again);
		secbuf_free(rest);
		free(drop);
		dotenv_free(d);
	}
	return 0;
}
