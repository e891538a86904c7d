/* Unseal material read by vaultctl: a passphrase or a key file, and the
 * request body that carries either. The functions print their own error
 * and return a vaultctl exit code. */
#ifndef VAULTCTL_KEYS_H
#define VAULTCTL_KEYS_H
#include <jansson.h>
#include <stdbool.h>
#include "secbuf.h"

/* One line from stdin (newline removed) or the terminal without echo; an
 * empty passphrase is a usage error. *ret is a new secbuf on CTL_OK. */
int keys_read_passphrase(bool from_stdin, struct secbuf **ret);
/* A passphrase that is about to become the store's (rekey): from stdin as
 * above, or asked twice on the terminal ("New passphrase:", "Repeat it:"),
 * a mismatch being a usage error. */
int keys_read_new_passphrase(bool from_stdin, struct secbuf **ret);
/* A 32-byte key file (mode 0600 enforced by kek_from_keyfile). */
int keys_read_key_file(const char *path, struct secbuf **ret);

/* The body of POST /v1/sys/unseal and /v1/sys/rekey: {"key": "<base64>"}
 * when is_key, else {"passphrase": "..."} (UTF-8 without NUL bytes, else a
 * usage error). The base64 is made in guarded memory; the copies jansson
 * makes are wiped when freed (vault_init's allocator), and ctl_call
 * serialises the body into guarded memory. *ret is a new object on CTL_OK. */
int keys_json_body(const struct secbuf *secret, bool is_key, json_t **ret);

#endif
