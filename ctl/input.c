/* Reading secrets into guarded memory: the no-echo terminal prompt (termios
 * on /dev/tty, restored on signals), stdin until EOF, and files. */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "fsutil.h"

static int write_str(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Signals that would leave the terminal without echo if they killed us. */
static const int tty_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define N_TTY_SIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))
static volatile sig_atomic_t tty_caught;

static void on_tty_signal(int sig)
{
	tty_caught = sig;
}

/* Reads one line (up to max bytes) from fd into b. Returns the length, or
 * -EINTR when a signal arrived, -EFBIG when the line is too long. */
static ssize_t read_line(int fd, struct secbuf *b, size_t max)
{
	size_t len = 0;
	for (;;) {
		unsigned char ch;
		ssize_t n = read(fd, &ch, 1);
		if (n < 0) {
			if (errno == EINTR && !tty_caught)
				continue;
			return -errno;
		}
		if (n == 0 || ch == '\n')
			return (ssize_t)len;
		if (len >= max)
			return -EFBIG;
		b->data[len++] = ch;
	}
}

int input_tty_secret(const char *prompt, size_t max, struct secbuf **ret)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -ENXIO;
	struct termios saved, quiet;
	if (tcgetattr(fd, &saved) < 0) {
		close(fd);
		return -ENXIO;
	}
	struct secbuf *b = secbuf_new(max);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	/* No SA_RESTART: a signal interrupts read() so that we can restore
	 * echo before acting on it. */
	struct sigaction sa = {.sa_handler = on_tty_signal}, old[N_TTY_SIGNALS];
	sigemptyset(&sa.sa_mask);
	tty_caught = 0;
	for (size_t i = 0; i < N_TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &sa, &old[i]);

	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	ssize_t got = -EIO;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0 && write_str(fd, prompt) == 0)
		got = read_line(fd, b, max);
	tcsetattr(fd, TCSAFLUSH, &saved);
	(void)write_str(fd, "\n"); /* the newline the user typed was not echoed */
	close(fd);

	for (size_t i = 0; i < N_TTY_SIGNALS; i++)
		sigaction(tty_signals[i], &old[i], NULL);
	if (tty_caught) {
		secbuf_free(b);
		raise(tty_caught);
		return -EINTR;
	}
	if (got < 0) {
		secbuf_free(b);
		return (int)got;
	}
	struct secbuf *out = secbuf_dup(b->data, (size_t)got);
	secbuf_free(b);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}

int input_tty_secret_twice(const char *prompt, const char *repeat, size_t max, struct secbuf **ret)
{
	struct secbuf *a = NULL, *b = NULL;
	int r = input_tty_secret(prompt, max, &a);
	if (r < 0)
		return r;
	if (a->len == 0) {
		secbuf_free(a);
		return -ENODATA;
	}
	r = input_tty_secret(repeat, max, &b);
	if (r < 0) {
		secbuf_free(a);
		return r;
	}
	bool same = secbuf_equal(a, b);
	secbuf_free(b);
	if (!same) {
		secbuf_free(a);
		return -EBADMSG;
	}
	*ret = a;
	return 0;
}

int input_read_fd(int fd, size_t max, struct secbuf **ret)
{
	/* One guarded buffer of the maximum size (plus one byte to notice an
	 * oversized input), then an exact-size copy: no realloc leaves pieces
	 * of the secret in freed memory. */
	struct secbuf *b = secbuf_new(max + 1);
	if (!b)
		return -ENOMEM;
	size_t len = 0;
	while (len <= max) {
		ssize_t n = read(fd, b->data + len, max + 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			secbuf_free(b);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		secbuf_free(b);
		return -EFBIG;
	}
	struct secbuf *out = secbuf_dup(b->data, len);
	secbuf_free(b);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}

/* Opens path for reading whole: -EISDIR for a directory, -EINVAL for
 * anything but a regular file when regular_only, -EFBIG for a regular file
 * over max. 0 with *ret_fd and *st, or -errno. */
static int open_whole(const char *path, size_t max, bool regular_only, struct stat *st, int *ret_fd)
{
	int fd = -1, r = 0;
	if (regular_only) { /* and a FIFO refused, not waited on */
		fd = fsutil_open_regular(AT_FDCWD, path, 0, st);
		if (fd < 0)
			return fd == -EISDIR ? -EINVAL : fd;
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		return -errno;
	}
	if (!regular_only && fstat(fd, st) < 0)
		r = -errno;
	else if (S_ISDIR(st->st_mode))
		r = -EISDIR;
	else if (S_ISREG(st->st_mode) && (uint64_t)st->st_size > max)
		r = -EFBIG;
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* Every regular file this process has read: an output must not be one of
 * them (compose migrate's -o naming its own env_file destroys a value). */
struct file_id {
	dev_t dev;
	ino_t ino;
};
static struct file_id *g_read;
static size_t g_nread, g_capread;

static void remember_read(const struct stat *st)
{
	if (!S_ISREG(st->st_mode) || input_was_read(st))
		return;
	if (g_nread == g_capread) {
		size_t cap = g_capread ? 2 * g_capread : 16;
		struct file_id *n = realloc(g_read, cap * sizeof(*n));
		if (!n)
			return; /* only a guard: the read itself succeeded */
		g_read = n;
		g_capread = cap;
	}
	g_read[g_nread++] = (struct file_id){st->st_dev, st->st_ino};
}

bool input_was_read(const struct stat *st)
{
	for (size_t i = 0; i < g_nread; i++)
		if (g_read[i].dev == st->st_dev && g_read[i].ino == st->st_ino)
			return true;
	return false;
}

static int read_whole(const char *path, size_t max, bool regular_only, struct secbuf **ret,
                      struct stat *ret_st)
{
	struct stat st;
	int fd = -1;
	int r = open_whole(path, max, regular_only, &st, &fd);
	if (r < 0)
		return r;
	r = input_read_fd(fd, max, ret);
	close(fd);
	if (r == 0)
		remember_read(&st);
	if (r == 0 && ret_st)
		*ret_st = st;
	return r;
}

int input_read_file(const char *path, size_t max, struct secbuf **ret)
{
	/* Pipes are fine (--file <(command)); directories are not. */
	return read_whole(path, max, false, ret, NULL);
}

int input_read_path(const char *path, size_t max, struct secbuf **ret)
{
	if (strcmp(path, "-") == 0)
		return input_read_fd(STDIN_FILENO, max, ret);
	return input_read_file(path, max, ret);
}

int input_read_regular(const char *path, size_t max, struct secbuf **ret, struct stat *ret_st)
{
	return read_whole(path, max, true, ret, ret_st);
}

void input_chomp(struct secbuf *b)
{
	if (b->len > 0 && b->data[b->len - 1] == '\n') {
		b->data[--b->len] = '\0';
		if (b->len > 0 && b->data[b->len - 1] == '\r')
			b->data[--b->len] = '\0';
	}
}

void input_rstrip(struct secbuf *b)
{
	while (b->len > 0 && strchr(" \t\r\n\v\f", b->data[b->len - 1]) && b->data[b->len - 1])
		b->data[--b->len] = '\0';
}

bool input_stdin_is_tty(void)
{
	return isatty(STDIN_FILENO) == 1;
}
