/* The one validator for secret names (API, store, vaultctl, inject file
 * names): [A-Za-z0-9][A-Za-z0-9._-]{0,127} with no ".." anywhere. */
#include "names.h"

#include <string.h>
#include <strings.h>

static bool is_alnum_ascii(unsigned char c)
{
	/* Not isalnum(): that depends on the locale. */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool name_is_valid(const char *s, size_t len)
{
	if (!s || len == 0 || len > VAULT_MAX_NAME_LEN)
		return false;
	if (!is_alnum_ascii((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* Byte by byte over len, so an embedded NUL is just a bad byte. */
		if (!is_alnum_ascii(c) && c != '.' && c != '_' && c != '-')
			return false;
		/* ".." is refused even where it could not traverse ("a..b"): one
		 * simple rule is easier to trust than a path-aware one. */
		if (c == '.' && s[i - 1] == '.')
			return false;
	}
	return true;
}

bool name_is_token(const char *s, size_t len)
{
	if (!s || len != VAULT_TOKEN_TEXT_LEN || strncasecmp(s, VAULT_TOKEN_PREFIX, 3) != 0)
		return false;
	for (size_t i = 3; i < len; i++)
		if (!is_alnum_ascii((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

bool name_is_valid_str(const char *s)
{
	if (!s)
		return false;
	/* strnlen bound: anything longer than the limit is invalid anyway. */
	return name_is_valid(s, strnlen(s, VAULT_MAX_NAME_LEN + 1));
}
