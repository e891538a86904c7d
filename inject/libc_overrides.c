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
