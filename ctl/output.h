/* What vaultctl prints: aligned tables for people, JSON for programs, and
 * secret values as their exact bytes. */
#ifndef VAULTCTL_OUTPUT_H
#define VAULTCTL_OUTPUT_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "secbuf.h"

#define TABLE_MAX_COLS 8
#define TABLE_MAX_CELL 256

/* A table of text cells (never secrets), printed with aligned columns. */
struct table;
struct table *table_new(size_t ncols, const char *const *headers); /* NULL on ENOMEM */
/* Appends a row of ncols cells (copied; control characters become '?' and
 * cells are cut at TABLE_MAX_CELL bytes). 0 or -ENOMEM (remembered by the
 * table: see table_finish). */
int table_add(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t); /* NULL ok */
/* Prints t on out unless a row could not be added, then frees it.
 * 0 or -ENOMEM (nothing printed). */
int table_finish(struct table *t, FILE *out);

/* Copies text from vaultd for a terminal: control characters become '?',
 * cut to fit cap (NUL included). Returns out. */
const char *out_clean(const char *in, char *out, size_t cap);

/* "2025-11-26T20:13:20Z" (UTC); "-" for 0. buf must hold 32 bytes. */
const char *fmt_time(int64_t unix_seconds, char *buf, size_t cap);

/* Prints o as indented JSON and a newline on stdout. 0 or -EIO. */
int out_json(const json_t *o);
/* Same, compact, serialised through guarded memory (o holds a secret). */
int out_json_secret(const json_t *o);
/* Writes the exact bytes of a value on stdout, plus a newline only when
 * stdout is a terminal (so `$(vaultctl get x)` and pipes get the bytes). */
int out_value(const struct secbuf *v);
/* write(2) until done, retrying on EINTR. 0 or -errno. */
int out_write_all(int fd, const void *p, size_t len);

/* Integer fields of API objects, with a fallback when absent or not an int. */
int64_t json_int_or(const json_t *o, const char *key, int64_t dflt);
/* A string field, or dflt. */
const char *json_str_or(const json_t *o, const char *key, const char *dflt);

#endif
