/* lib/policy.c on hostile documents: "NAME\nDOCUMENT". A document that
 * parses is asked about the name for every capability, and beside a policy
 * that denies everything it never allows anything. */
#include <string.h>
#include "fuzz.h"
#include "hygiene.h"
#include "policy.h"

static struct policy *g_deny_all;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const char deny[] = "{\"rules\":[{\"names\":\"*\",\"capabilities\":[\"read\","
	                           "\"list\",\"write\",\"rotate\",\"delete\",\"admin\"],"
	                           "\"deny\":true}]}";
	char err[200];
	if (vault_init() < 0 ||
	    policy_parse(deny, sizeof(deny) - 1, NULL, &g_deny_all, err, sizeof(err)) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t nlen = nl ? (size_t)(nl - data) : 0;
	char *name = fuzz_cstr(data, nlen);
	const char *doc = nl ? (const char *)nl + 1 : (const char *)data;
	size_t dlen = nl ? size - nlen - 1 : size;
	struct policy *p = NULL;
	char err[200] = "";
	int rc = policy_parse(doc, dlen, NULL, &p, err, sizeof(err));
	FUZZ_CHECK((rc == 0) == (p != NULL));
	FUZZ_CHECK(rc == 0 || err[0] != '\0');
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (p) {
		const struct policy *ps[2] = {p, g_deny_all};
		for (unsigned cap = 1; cap <= CAP_ADMIN; cap <<= 1) {
			(void)policy_allows(ps, 1, cap, name);
			/* Whatever p allows, a deny of everything beside it wins. */
			FUZZ_CHECK(!policy_allows(ps, 2, cap, name));
		}
		(void)policy_any_allow(ps, 1, CAP_READ);
		policy_free(p);
	}
	free(name);
	return 0;
}
