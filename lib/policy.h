/* Policy documents: parsing and validation, name globs, and the capability
 * decision over a token's set of policies (deny wins over allow). Pure code:
 * no store, no I/O, so vaultd and the unit tests share it. */
#ifndef VAULT_POLICY_H
#define VAULT_POLICY_H
#include <stdbool.h>
#include <stddef.h>

/* Capabilities as bits, so a rule can carry several. */
enum policy_cap {
	CAP_READ = 1u << 0,
	CAP_LIST = 1u << 1,
	CAP_WRITE = 1u << 2,
	CAP_ROTATE = 1u << 3,
	CAP_DELETE = 1u << 4,
	CAP_ADMIN = 1u << 5,
};
#define CAP_ALL (CAP_READ | CAP_LIST | CAP_WRITE | CAP_ROTATE | CAP_DELETE | CAP_ADMIN)

#define POLICY_MAX_RULES 256    /* rules in one document */
#define POLICY_MAX_GLOB_LEN 256 /* bytes in one "names" glob */
#define POLICY_MAX_DOC_BYTES (64u * 1024u)

struct policy_rule {
	char *glob;    /* owned; [A-Za-z0-9._-*?]{1,POLICY_MAX_GLOB_LEN} */
	unsigned caps; /* enum policy_cap bits, never 0 */
	bool deny;
};

#define POLICY_MAX_SELECTORS 32  /* entries of "containers" */
#define POLICY_MAX_LABELS 16     /* label matches in one selector */
#define POLICY_MAX_LABEL_LEN 256 /* bytes of a label key or value */

/* One entry of "containers": a container matches when it carries every
 * listed label with exactly that value. */
struct policy_selector {
	char **keys, **values; /* owned, n each */
	size_t n;
};

struct policy {
	struct policy_rule *rules; /* owned */
	size_t n;
	/* Container identity: the policy applies to Docker containers whose
	 * labels match any selector ({"com.docker.compose.service":"web"}). */
	struct policy_selector *selectors; /* owned */
	size_t n_selectors;
};

/* Parses and validates a policy document:
 *   {"rules":[{"names":"app.*","capabilities":["read"],"deny":false},...]}
 * An optional top-level "name" (as GET returns it) must equal expect_name
 * when expect_name is non-NULL; an optional "description" string is allowed;
 * an optional "containers" is an array of label selectors (objects of
 * string label values) binding the policy to Docker containers.
 * Any other key, a wrong type, an unknown capability, an empty capability
 * list or a glob with other characters is -EINVAL with a reason in err.
 * Duplicate keys are refused. *ret is freed with policy_free. */
int policy_parse(const char *json, size_t len, const char *expect_name, struct policy **ret,
                 char *err, size_t errcap);
void policy_free(struct policy *p); /* NULL ok */

/* Is a rule's glob a token's shape (a token pasted where a glob belongs)?
 * Its index in *ret_rule. PUT refuses such a document; policy_parse does
 * not, so that one an older vaultd stored still loads with its denies. */
bool policy_has_token_glob(const struct policy *p, size_t *ret_rule);

/* "read" -> CAP_READ, ...; 0 for an unknown word. */
unsigned policy_cap_from_string(const char *s);
/* The word for one capability bit ("read"), or "?" */
const char *policy_cap_name(unsigned cap);

/* Shell-like glob over a whole name: '*' any run of characters (also none),
 * '?' exactly one; every other byte matches itself. Linear time in practice
 * (single-star backtracking), no recursion. */
bool policy_glob_match(const char *glob, const char *name);

/* The decision for one capability on one name over n policies (NULL entries
 * are skipped): denied when any deny rule for cap matches, else allowed when
 * any allow rule for cap matches, else denied. CAP_ADMIN ignores the globs. */
bool policy_allows(const struct policy *const *ps, size_t n, unsigned cap, const char *name);

/* Whether a container with these labels (a JSON object of strings, NULL =
 * none) is bound to p by one of its selectors. */
struct json_t;
bool policy_binds_labels(const struct policy *p, const struct json_t *labels);

/* Whether any allow rule grants cap at all (to answer "no list rights" with
 * 403 rather than an empty list). */
bool policy_any_allow(const struct policy *const *ps, size_t n, unsigned cap);

#endif
