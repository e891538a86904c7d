/* vaultd/router.c on hostile request lines: "METHOD\nPATH". Whatever is
 * routed carries a valid name, and a token-shaped one only on a DELETE. */
#include <string.h>
#include "fuzz.h"
#include "names.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstr(data, size);
	char *nl = strchr(in, '\n');
	const char *method = nl ? in : "GET";
	const char *path = nl ? nl + 1 : in;
	if (nl)
		*nl = '\0';
	struct route r;
	int st = router_parse(method, path, &r);
	FUZZ_CHECK(st == r.status);
	FUZZ_CHECK(st == 0 || st == 400 || st == 404 || st == 405);
	if (st == 0) {
		FUZZ_CHECK(r.id != R_NONE);
		if (r.has_name) {
			size_t len = strnlen(r.name, sizeof(r.name));
			FUZZ_CHECK(len < sizeof(r.name));
			FUZZ_CHECK(name_is_valid(r.name, len) || accessor_is_valid(r.name, len));
			FUZZ_CHECK(!name_is_token(r.name, len) || r.name_is_token);
			FUZZ_CHECK(!r.name_is_token || r.deleting);
		}
	}
	/* url_decode never writes past its buffer or returns a longer length. */
	char out[64];
	size_t olen = 0;
	if (url_decode(path, strlen(path), out, sizeof(out), &olen) == 0)
		FUZZ_CHECK(olen < sizeof(out) && olen <= strlen(path));
	free(in);
	return 0;
}
