/* The offline commands (restore, audit verify --store) open a store file
 * directly with lib/store.h and unseal it with a key file or passphrase. */
#ifndef VAULTCTL_OFFLINE_H
#define VAULTCTL_OFFLINE_H
#include <stdbool.h>
#include "store.h"

struct offline_key {
	const char *key_file; /* --key-file, for key-file stores */
	bool pass_stdin;      /* --passphrase-stdin, else the terminal is asked */
};

/* Opens the existing store at path and unseals it with what k says (the
 * store records whether it wants a key file or a passphrase). Prints its
 * own errors, naming the store as shown (NULL: path); returns a vaultctl
 * exit code (4 when the key does not unseal it). *ret is open and unsealed
 * on CTL_OK; close with store_close. */
int offline_open(const char *path, const char *shown, const struct offline_key *k,
                 struct store **ret);

#endif
