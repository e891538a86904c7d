/* Secret-looking variables: name patterns, and values that are URLs with a
 * password in them (DATABASE_URL=postgres://app:pw@db/app). */
#include "compose_detect.h"

#include <ctype.h>
#include <string.h>

#define NAME_CMP_MAX 256

static bool upper_copy(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);
	if (n >= cap)
		return false;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)toupper((unsigned char)in[i]);
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool compose_name_is_ours(const char *name)
{
	return strncmp(name, "INJECT_", 7) == 0 || strncmp(name, "VAULTD_", 7) == 0;
}

bool compose_name_is_file_ref(const char *name)
{
	char up[NAME_CMP_MAX];
	return upper_copy(name, up, sizeof(up)) && ends_with(up, "_FILE");
}

bool compose_name_is_secret(const char *name)
{
	static const char *const contains[] = {"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET",
	                                       "TOKEN",    "APIKEY", NULL};
	static const char *const suffixes[] = {"_KEY", "_PASS", NULL};
	static const char *const places[] = {"_FILE", "_PATH", "_DIR", "_FILENAME", NULL};
	char up[NAME_CMP_MAX];
	if (!upper_copy(name, up, sizeof(up)) || compose_name_is_ours(name))
		return false;
	for (const char *const *p = places; *p; p++)
		if (ends_with(up, *p))
			return false;
	for (const char *const *p = contains; *p; p++)
		if (strstr(up, *p))
			return true;
	for (const char *const *p = suffixes; *p; p++)
		if (ends_with(up, *p))
			return true;
	return false;
}

/* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static size_t scheme_len(const char *v, size_t len)
{
	size_t i = 0;
	if (len == 0 || !isalpha((unsigned char)v[0]))
		return 0;
	while (i < len &&
	       (isalnum((unsigned char)v[i]) || v[i] == '+' || v[i] == '-' || v[i] == '.'))
		i++;
	return i;
}

bool compose_value_has_url_password(const char *v, size_t len)
{
	size_t s = scheme_len(v, len);
	if (s == 0 || len - s < 3 || memcmp(v + s, "://", 3) != 0)
		return false;
	const char *auth = v + s + 3;
	size_t alen = len - s - 3;
	/* The authority ends at the first / ? # ; the userinfo at its last @. */
	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '/' || auth[i] == '?' || auth[i] == '#') {
			alen = i;
			break;
		}
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '@')
			at = auth + i;
	if (!at)
		return false;
	const char *colon = memchr(auth, ':', (size_t)(at - auth));
	return colon && colon + 1 < at; /* a non-empty password */
}
