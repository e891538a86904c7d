/* Unseal material read by vaultctl: a passphrase or a key file. Both
 * functions print their own error and return a vaultctl exit code. */
#ifndef VAULTCTL_KEYS_H
#define VAULTCTL_KEYS_H
#include <stdbool.h>
#include "secbuf.h"

/* One line from stdin (newline removed) or the terminal without echo; an
 * empty passphrase is a usage error. *ret is a new secbuf on CTL_OK. */
int keys_read_passphrase(bool from_stdin, struct secbuf **ret);
/* A 32-byte key file (mode 0600 enforced by kek_from_keyfile). */
int keys_read_key_file(const char *path, struct secbuf **ret);

#endif
