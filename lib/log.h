/* logfmt lines on stderr (or any fd): one event per line,
 *   ts=2025-11-26T23:10:00.123Z level=info event=request method=GET status=200
 * Values are quoted when they need it. Never pass a secret value or a token. */
#ifndef VAULT_LOG_H
#define VAULT_LOG_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

#define LOG_LINE_MAX 1024 /* a longer line is cut and ends with truncated=1 */

/* Lines below level are dropped (default LOG_INFO). */
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
/* "debug", "info", "warn", "error" -> 0 and *ret; -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *ret);
/* Where lines go (default 2). The fd is not closed. */
void log_set_fd(int fd);

/* A line being built; add fields, then emit (or append to a batch). */
struct logline {
	char buf[LOG_LINE_MAX];
	size_t len;
	bool truncated;
};
/* Starts with ts (now), level and event. */
void logline_start(struct logline *l, enum log_level level, const char *event);
/* The same with a timestamp taken earlier by log_timestamp (many lines of
 * one batch share it: formatting the time is most of a line's cost). */
#define LOG_TS_MAX 32
void log_timestamp(char out[LOG_TS_MAX]);
void logline_start_at(struct logline *l, enum log_level level, const char *event, const char *ts);
void logline_str(struct logline *l, const char *key, const char *value); /* NULL -> "" */
void logline_int(struct logline *l, const char *key, long long value);
void logline_uint(struct logline *l, const char *key, unsigned long long value);
void logline_ms(struct logline *l, const char *key, double ms); /* 3 decimals */
/* Finishes the line with '\n' (NUL-terminated too) and returns its text and
 * length (for batching many lines into one write). */
const char *logline_finish(struct logline *l, size_t *ret_len);
/* Finishes and writes the line with one write(2). */
void logline_emit(struct logline *l);

/* One-call forms: event plus msg="...". log_errno adds err="strerror". */
void log_msg(enum log_level level, const char *event, const char *msg);
void log_errno(enum log_level level, const char *event, int err, const char *msg);
/* Writes a buffer of finished lines with one write (handles EINTR/short writes). */
void log_write_lines(const char *buf, size_t len);

/* Appends key=value to l, quoting and escaping value when it holds a space,
 * '=', '"', '\\' or a control byte (control bytes become \xNN). Exposed for
 * the unit tests. */
void logfmt_append(struct logline *l, const char *key, const char *value);

#endif
