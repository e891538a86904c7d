/* Test helper: prints what ctl/dotenv.c makes of a .env file, one
 * "KEY<TAB>HEX" line per key ("-" for a key without a value), so that
 * dotenv_vs_python.py can compare it with python-dotenv byte for byte. */
#include <stdio.h>
#include <stdlib.h>

#include "dotenv.h"
#include "hygiene.h"
#include "input.h"

static const char *env_lookup(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

int main(int argc, char **argv)
{
	if (argc != 2 || vault_init() != 0)
		return 2;
	struct secbuf *text = NULL;
	struct dotenv *d = NULL;
	if (input_read_file(argv[1], DOTENV_MAX_BYTES, &text) < 0)
		return 2;
	int r = dotenv_parse(text->data, text->len, true, env_lookup, NULL, &d);
	secbuf_free(text);
	if (r < 0)
		return 3;
	for (size_t i = 0; i < d->n; i++) {
		printf("%s\t", d->items[i].key);
		if (!d->items[i].value)
			putchar('-');
		for (size_t j = 0; d->items[i].value && j < d->items[i].value->len; j++)
			printf("%02x", d->items[i].value->data[j]);
		putchar('\n');
	}
	dotenv_free(d);
	return 0;
}
