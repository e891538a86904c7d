/* The main() of every Check suite: initialise libvault, run one suite, turn
 * the result into the exit status (shared by all tests/<area> suites). */
#ifndef VAULT_CHECK_SUPPORT_H
#define VAULT_CHECK_SUPPORT_H
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "hygiene.h"

/* Runs every test of s (and frees s); 0 when all passed, else 1. The fork
 * mode is Check's default, which honours CK_FORK=no: the valgrind runs set
 * it so that the tests run inside the valgrind'd process itself. */
static inline int check_support_run(Suite *s)
{
	int r = vault_init();
	if (r != 0) {
		fprintf(stderr, "vault_init failed: %s (libsodium could not start)\n",
		        strerror(-r));
		return 1;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
