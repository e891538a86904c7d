/* Shared bits of the lib_crypto Check suites: hex helpers and a temp
 * directory (their main() is tests/support/check_support.h). */
#ifndef VAULT_CRYPTO_TEST_H
#define VAULT_CRYPTO_TEST_H
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hygiene.h"

/* Decodes exactly 2*n hex characters into out; aborts the test otherwise. */
static inline void hex_decode(const char *hex, uint8_t *out, size_t n)
{
	ck_assert_uint_eq(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* out must hold 2*n+1 bytes. Test data only: never used on secrets. */
static inline void hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A fresh 0700 directory under /tmp; caller removes it. */
static inline void make_tmpdir(char *buf, size_t cap)
{
	ck_assert_int_lt(snprintf(buf, cap, "/tmp/vault-crypto-test.XXXXXX"), (int)cap);
	ck_assert_ptr_nonnull(mkdtemp(buf));
}

#endif
