/* Linked into the static inject only. glibc's __assert_fail (reached from
 * jansson's internal asserts) pulls gettext, iconv and the dynamic loader
 * into a static binary; this one reports and aborts the same way, small. */
#include <assert.h>
#include <stdlib.h>

#include "msg.h"

void __assert_fail(const char *assertion, const char *file, unsigned int line, const char *function)
{
	(void)line;
	msg_raw((const char *const[]){"inject: internal assertion failed in ", function, " (", file,
	                              "): ", assertion, NULL});
	abort();
}

/* A static glibc asks for the program's directory at start-up ($ORIGIN,
 * for dlopen paths inject never uses): a readlink of /proc/self/exe that
 * builds /proc entries for the new pid, 6% of inject's CPU time. -1 is
 * glibc's own "unknown" answer. */
const char *_dl_get_origin(void);
const char *_dl_get_origin(void)
{
	return (const char *)-1;
}
