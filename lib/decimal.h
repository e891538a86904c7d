/* Decimal formatting of integers for hot paths (every request's log line
 * and audit-log line): no format string to parse, no locale, no stdio. */
#ifndef VAULT_DECIMAL_H
#define VAULT_DECIMAL_H
#include <stddef.h>
#include <stdint.h>

#define DECIMAL_MAX 24 /* UINT64_MAX thousandths as "18446744073709551.615" and a NUL */

/* Write v into out (NUL-terminated); return the length. */
size_t decimal_u64(char out[DECIMAL_MAX], uint64_t v);
size_t decimal_i64(char out[DECIMAL_MAX], int64_t v);
/* v thousandths as "<v/1000>.<3 digits>", what "%.3f" gives for v/1000.0. */
size_t decimal_milli(char out[DECIMAL_MAX], uint64_t v);

#endif
