/* The numbered SQL migrations from schema/, embedded at build time by
 * cmake/embed_schema.cmake; the SQLite backend applies them in order. */
#ifndef VAULT_SCHEMA_H
#define VAULT_SCHEMA_H
#include <stddef.h>

struct schema_migration {
	int version;      /* NNN of schema/NNN_name.sql; PRAGMA user_version after it */
	const char *file; /* file name, for error messages */
	const char *sql;  /* whole file, NUL-terminated */
};

extern const struct schema_migration schema_migrations[];
extern const size_t schema_migrations_count;

#endif
