/* inject's messages: one line on stderr, "inject: ...". Never pass a secret. */
#ifndef INJECT_MSG_H
#define INJECT_MSG_H
#include <stddef.h>

/* The description of an errno value, untranslated: strerror would pull
 * gettext and the locale machinery into the static binary. */
const char *errstr(int err);

void msg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes a one-line reason into err (cap bytes; err may be NULL) and
 * returns code: for functions that report a cause to their caller. */
int errf(char *err, size_t cap, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Async-signal-safe variant for the time between fork and exec: writes the
 * NULL-terminated list of parts as one line with one write(2). */
void msg_raw(const char *const parts[]);

#endif
