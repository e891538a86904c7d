/* inject's exit statuses: one per cause of failure, so that a container's
 * exit code says what went wrong (docs/inject.md and --help list them). */
#ifndef INJECT_EXIT_CODES_H
#define INJECT_EXIT_CODES_H

/* Numbered after sysexits(3) where one fits. In exec mode a successful
 * start hands the exit status to the command; in --init mode inject exits
 * with the command's status, or 128 + the signal that killed it. */
enum inject_exit {
	INJECT_EXIT_OK = 0,
	INJECT_EXIT_USAGE = 64,           /* bad flag, INJECT_* value, name or spec; no command */
	INJECT_EXIT_TEMPLATE = 65,        /* template unreadable or malformed */
	INJECT_EXIT_NOT_FOUND = 66,       /* a requested secret does not exist (404) */
	INJECT_EXIT_NO_USER = 67,         /* --user names an unknown user or group */
	INJECT_EXIT_TOKEN = 68,           /* token file unreadable, empty or too large */
	INJECT_EXIT_UNREACHABLE = 69,     /* vaultd did not answer within --wait */
	INJECT_EXIT_INTERNAL = 70,        /* out of memory, fork failed, ... */
	INJECT_EXIT_PRIVDROP = 71,        /* setgroups/setgid/setuid failed or did not take */
	INJECT_EXIT_WRITE = 73,           /* a secret file could not be written */
	INJECT_EXIT_SEALED = 75,          /* vaultd stayed sealed for --wait */
	INJECT_EXIT_PROTOCOL = 76,        /* vaultd answered something unexpected */
	INJECT_EXIT_DENIED = 77,          /* unauthenticated (401), denied (403), socket EACCES */
	INJECT_EXIT_UNSAFE_DIR = 78,      /* --dir not tmpfs/ramfs, writable by others, symlinks */
	INJECT_EXIT_NOT_EXECUTABLE = 126, /* the command exists but cannot be executed */
	INJECT_EXIT_NO_COMMAND = 127,     /* the command was not found */
};

#endif
