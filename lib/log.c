/* logfmt event lines: built in a fixed buffer (no allocation), written with
 * one write(2) each so lines from several threads never interleave. */
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "decimal.h"

static atomic_int log_level_cur = LOG_INFO;
static atomic_int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
	atomic_store(&log_level_cur, (int)level);
}

bool log_enabled(enum log_level level)
{
	return (int)level >= atomic_load(&log_level_cur);
}

int log_level_parse(const char *s, enum log_level *ret)
{
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
		if (s && strcmp(s, level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

/* Appends raw bytes; on overflow marks the line truncated and stops adding.
 * The last 16 bytes are kept free for " truncated=1\n". */
static void put(struct logline *l, const char *s, size_t n)
{
	const size_t room = LOG_LINE_MAX - 16;
	if (l->truncated)
		return;
	if (l->len + n > room) {
		l->truncated = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static bool needs_quotes(const char *v)
{
	if (*v == '\0')
		return true;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f)
			return true;
	return false;
}

void logfmt_append(struct logline *l, const char *key, const char *value)
{
	if (!value)
		value = "";
	if (l->len > 0)
		put(l, " ", 1);
	put(l, key, strlen(key));
	put(l, "=", 1);
	if (!needs_quotes(value)) {
		put(l, value, strlen(value));
		return;
	}
	put(l, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		char esc[8];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(l, esc, 2);
		} else if (*p < ' ' || *p == 0x7f) {
			int n = snprintf(esc, sizeof(esc), "\\x%02x", *p);
			put(l, esc, (size_t)n);
		} else {
			put(l, (const char *)p, 1);
		}
	}
	put(l, "\"", 1);
}

void log_timestamp(char out[LOG_TS_MAX])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(out, LOG_TS_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                 ts.tv_nsec / 1000000);
	if (n < 0 || n >= LOG_TS_MAX)
		out[0] = '\0';
}

void logline_start_at(struct logline *l, enum log_level level, const char *event, const char *ts)
{
	l->len = 0;
	l->truncated = false;
	logfmt_append(l, "ts", ts);
	unsigned lv = (unsigned)level <= LOG_ERROR ? (unsigned)level : LOG_ERROR;
	logfmt_append(l, "level", level_names[lv]);
	logfmt_append(l, "event", event);
}

void logline_start(struct logline *l, enum log_level level, const char *event)
{
	char ts[LOG_TS_MAX];
	log_timestamp(ts);
	logline_start_at(l, level, event, ts);
}

void logline_str(struct logline *l, const char *key, const char *value)
{
	logfmt_append(l, key, value);
}

void logline_int(struct logline *l, const char *key, long long value)
{
	char b[DECIMAL_MAX];
	decimal_i64(b, value);
	logfmt_append(l, key, b);
}

void logline_uint(struct logline *l, const char *key, unsigned long long value)
{
	char b[DECIMAL_MAX];
	decimal_u64(b, value);
	logfmt_append(l, key, b);
}

void logline_ms(struct logline *l, const char *key, double ms)
{
	char b[DECIMAL_MAX];
	/* rounded to the microsecond; a negative or absurd duration is a clock
	 * step, shown as 0 rather than as garbage */
	uint64_t us = ms > 0 && ms < 1e12 ? (uint64_t)(ms * 1000.0 + 0.5) : 0;
	decimal_milli(b, us);
	logfmt_append(l, key, b);
}

const char *logline_finish(struct logline *l, size_t *ret_len)
{
	/* put() kept 16 bytes free for exactly this. */
	static const char tail[] = " truncated=1";
	if (l->truncated) {
		memcpy(l->buf + l->len, tail, sizeof(tail) - 1);
		l->len += sizeof(tail) - 1;
		l->truncated = false; /* finishing twice must not append twice */
	}
	if (l->len == 0 || l->buf[l->len - 1] != '\n')
		l->buf[l->len++] = '\n';
	l->buf[l->len] = '\0'; /* also a C string */
	*ret_len = l->len;
	return l->buf;
}

void log_write_lines(const char *buf, size_t len)
{
	int fd = atomic_load(&log_fd);
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report a logging failure */
		}
		buf += w;
		len -= (size_t)w;
	}
}

void logline_emit(struct logline *l)
{
	size_t n;
	const char *s = logline_finish(l, &n);
	log_write_lines(s, n);
}

void log_msg(enum log_level level, const char *event, const char *msg)
{
	if (!log_enabled(level))
		return;
	struct logline l;
	logline_start(&l, level, event);
	if (msg)
		logline_str(&l, "msg", msg);
	logline_emit(&l);
}

void log_errno(enum log_level level, const char *event, int err, const char *msg)
{
	if (!log_enabled(level))
		return;
	struct logline l;
	logline_start(&l, level, event);
	if (msg)
		logline_str(&l, "msg", msg);
	char eb[128];
	int e = err < 0 ? -err : err;
	/* GNU strerror_r returns the string to use. */
	logline_str(&l, "err", strerror_r(e, eb, sizeof(eb)));
	logline_emit(&l);
}
