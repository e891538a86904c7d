/* Shared bits of the vaultd unit suites: a main that initialises libvault
 * and runs one suite. */
#ifndef VAULTD_UNIT_H
#define VAULTD_UNIT_H
#include <check.h>
#include <stdio.h>
#include "hygiene.h"

static inline int unit_run(Suite *s)
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
