/* Which environment variables look like secrets: by name (PASSWORD, SECRET,
 * TOKEN, ..._KEY, ...) or by value (a URL carrying a password). */
#ifndef VAULTCTL_COMPOSE_DETECT_H
#define VAULTCTL_COMPOSE_DETECT_H
#include <stdbool.h>
#include <stddef.h>

/* *PASSWORD*, *PASSWD*, *PASSPHRASE*, *SECRET*, *TOKEN*, *APIKEY*, *_KEY,
 * *_PASS (case-insensitive), unless the name ends in _FILE, _PATH, _DIR or
 * _FILENAME (those name a place, not a value) or is one of ours. */
bool compose_name_is_secret(const char *name);
/* VAR_FILE: the variable already points at a file. */
bool compose_name_is_file_ref(const char *name);
/* INJECT_* and VAULTD_*: the configuration this migration writes. */
bool compose_name_is_ours(const char *name);
/* scheme://user:password@host...: a connection string with a password. */
bool compose_value_has_url_password(const char *v, size_t len);

#endif
