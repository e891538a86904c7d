/* lib/jsonx.c: the strict body parser every endpoint uses, and the base64
 * decoder for values. A decoded value encodes back to exactly its input
 * (one spelling per value: nothing malleable reaches the store). */
#include <string.h>
#include "fuzz.h"
#include "hygiene.h"
#include "jsonx.h"
#include "secbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return vault_init() < 0 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o = NULL;
	char err[200] = "";
	int rc = jsonx_parse_object(data, size, 1u << 20, &o, err, sizeof(err));
	FUZZ_CHECK((rc == 0) == (o != NULL));
	FUZZ_CHECK(rc == 0 || err[0] != '\0');
	if (o) {
		FUZZ_CHECK(json_is_object(o));
		struct secbuf *v = NULL;
		if (jsonx_get_b64(o, "value", 1u << 19, &v) == 0) {
			FUZZ_CHECK(v != NULL);
			secbuf_free(v);
		}
		json_decref(o);
	}
	struct secbuf *bin = NULL;
	if (b64_decode_secret((const char *)data, size, &bin) == 0) {
		struct secbuf *back = b64_encode_secret(bin->data, bin->len);
		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(back->len == size && memcmp(back->data, data, size) == 0);
		secbuf_free(back);
		secbuf_free(bin);
	}
	return 0;
}
