/* inject's messages: one line on stderr per event, prefixed "inject:", written
 * with one write(2) so that lines from inject and its child do not interleave. */
#include "msg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MSG_MAX 1024

__attribute__((format(printf, 2, 0))) static void emit(const char *prefix, const char *fmt,
                                                       va_list ap)
{
	char line[MSG_MAX];
	int n = snprintf(line, sizeof(line), "%s", prefix);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2; /* cut, but still one line */
	/* ...and only one line: a name or a user with a newline or an escape
	 * sequence in it shows as '?', not as a second line or a colour. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[len++] = '\n';
	ssize_t w;
	do
		w = write(STDERR_FILENO, line, len);
	while (w < 0 && errno == EINTR);
}

const char *errstr(int err)
{
	const char *d = strerrordesc_np(err);
	return d ? d : "unknown error";
}

int errf(char *err, size_t cap, int code, const char *fmt, ...)
{
	if (err && cap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return code;
}

void msg_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("inject: ", fmt, ap);
	va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("inject: warning: ", fmt, ap);
	va_end(ap);
}

void msg_raw(const char *const parts[])
{
	char line[MSG_MAX];
	size_t len = 0;
	for (size_t i = 0; parts[i]; i++) {
		size_t n = strlen(parts[i]);
		if (n > sizeof(line) - 1 - len)
			n = sizeof(line) - 1 - len;
		memcpy(line + len, parts[i], n);
		len += n;
	}
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
