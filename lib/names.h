/* The one validator for secret names, used by vaultd's API, the store,
 * vaultctl and inject (which also uses it for file names in --dir). */
#ifndef VAULT_NAMES_H
#define VAULT_NAMES_H
#include <stdbool.h>
#include <stddef.h>

#define VAULT_MAX_NAME_LEN 128
/* How many names one request may carry (docs/api.md): vaultd refuses more,
 * so its clients check them before asking. */
#define VAULT_MAX_BUNDLE_NAMES 256 /* POST /v1/bundle */
#define VAULT_MAX_WATCH_NAMES 64   /* GET /v1/watch */

/* vaultd's tokens: "vd_" and the base64url of 32 bytes. */
#define VAULT_TOKEN_PREFIX "vd_"
#define VAULT_TOKEN_TEXT_LEN 46

/* [A-Za-z0-9][A-Za-z0-9._-]{0,127} and no "..": len is the byte length, so an
 * embedded NUL (len > strlen) is rejected. The format only: the store and
 * the sealing use it, so a stored name stays valid forever. */
bool name_is_valid(const char *s, size_t len);
/* "vd_" in any case and 43 more name characters: a token pasted where a name
 * belongs. vaultd refuses such names where names come in, so that a token is
 * never stored, logged or audited; one stored before can still be deleted. */
bool name_is_token(const char *s, size_t len);
/* Convenience for NUL-terminated input. */
bool name_is_valid_str(const char *s);

#endif
