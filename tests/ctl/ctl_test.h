/* Shared by the vaultctl and compose Check suites (tests/ctl, tests/compose):
 * running one suite after vault_init. */
#ifndef VAULTCTL_CTL_TEST_H
#define VAULTCTL_CTL_TEST_H
#include <check.h>
#include <stdio.h>

#include "hygiene.h"

/* Runs every test of s; the exit status for main(). */
static inline int run_suite(Suite *s)
{
	if (vault_init() != 0) {
		fprintf(stderr, "vault_init failed\n");
		return 1;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
