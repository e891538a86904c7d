/* inject/passwd.c: /etc/passwd and /etc/group lines from an image nobody
 * vetted. A parsed line gives NUL-terminated fields that fit their arrays. */
#include <string.h>
#include "fuzz.h"
#include "passwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstr(data, size);
	struct pw_entry pw;
	if (passwd_parse_line(line, &pw) == 0) {
		FUZZ_CHECK(memchr(pw.name, '\0', sizeof(pw.name)) != NULL);
		FUZZ_CHECK(memchr(pw.home, '\0', sizeof(pw.home)) != NULL);
	}
	free(line);
	line = fuzz_cstr(data, size);
	struct gr_entry gr;
	char *members = NULL;
	if (group_parse_line(line, &gr, &members) == 0)
		FUZZ_CHECK(memchr(gr.name, '\0', sizeof(gr.name)) != NULL);
	free(line);
	line = fuzz_cstr(data, size);
	unsigned id;
	(void)passwd_parse_id(line, &id);
	free(line);
	return 0;
}
