/* Where `set` and `rotate` take a value from (never from argv). */
#ifndef VAULTCTL_VALUE_SOURCE_H
#define VAULTCTL_VALUE_SOURCE_H
#include "secbuf.h"

/* file (from --file; "-" = stdin) when non-NULL, else stdin when it is not a
 * terminal (every byte until EOF, kept exactly), else a no-echo prompt on
 * /dev/tty asked twice (answers must match and not be empty). Prints its own
 * error; returns a vaultctl exit code, *ret a new secbuf on CTL_OK. */
int value_read(const char *name, const char *file, struct secbuf **ret);

#endif
