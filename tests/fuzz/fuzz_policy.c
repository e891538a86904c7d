/* lib/policy.c on hostile documents: "NAME\nDOCUMENT". A document that
 * parses decides every capability on the name as a reference does: globs
 * matched by fnmatch(3) (the glob alphabet has no '[' or '\\', so '*' and
 * '?' mean the same there), deny winning over allow, admin ignoring globs. */
#include <fnmatch.h>
#include <string.h>
#include "fuzz.h"
#include "hygiene.h"
#include "policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return vault_init() < 0 ? 1 : 0;
}

/* The decision, written again from docs/api.md. */
static bool reference_allows(const struct policy *p, unsigned cap, const char *name)
{
	bool allow = false, deny = false;
	for (size_t i = 0; i < p->n; i++) {
		const struct policy_rule *r = &p->rules[i];
		bool hit = (r->caps & cap) && (cap == CAP_ADMIN || fnmatch(r->glob, name, 0) == 0);
		deny |= hit && r->deny;
		allow |= hit && !r->deny;
	}
	return allow && !deny;
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
		const struct policy *ps[1] = {p};
		for (size_t i = 0; i < p->n; i++)
			FUZZ_CHECK(policy_glob_match(p->rules[i].glob, name) ==
			           (fnmatch(p->rules[i].glob, name, 0) == 0));
		for (unsigned cap = 1; cap <= CAP_ADMIN; cap <<= 1) {
			bool allows = policy_allows(ps, 1, cap, name);
			FUZZ_CHECK(allows == reference_allows(p, cap, name));
			FUZZ_CHECK(!allows || policy_any_allow(ps, 1, cap));
		}
		policy_free(p);
	}
	free(name);
	return 0;
}
