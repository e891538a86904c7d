/* Decimal formatting of integers for hot paths: snprintf's format parsing
 * was a few percent of a request's CPU once per log field. */
#include "decimal.h"

/* At most 20 digits and a NUL at out. */
static size_t put_u64(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

size_t decimal_u64(char out[DECIMAL_MAX], uint64_t v)
{
	return put_u64(out, v);
}

size_t decimal_i64(char out[DECIMAL_MAX], int64_t v)
{
	if (v >= 0)
		return decimal_u64(out, (uint64_t)v);
	out[0] = '-';
	/* -(v + 1) + 1 stays in range for INT64_MIN */
	return 1 + put_u64(out + 1, (uint64_t)(-(v + 1)) + 1);
}

size_t decimal_milli(char out[DECIMAL_MAX], uint64_t v)
{
	size_t n = put_u64(out, v / 1000);
	unsigned frac = (unsigned)(v % 1000);
	out[n++] = '.';
	out[n++] = (char)('0' + frac / 100);
	out[n++] = (char)('0' + frac / 10 % 10);
	out[n++] = (char)('0' + frac % 10);
	out[n] = '\0';
	return n;
}
