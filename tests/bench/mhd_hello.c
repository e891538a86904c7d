/* mhd_hello: libmicrohttpd alone, started with vaultd's daemon flags and
 * thread count, answering every request 200 with a fixed small JSON body.
 * bench_vaultd.sh loads it like vaultd's no-op: the ceiling of the HTTP layer
 * DESIGN.md prescribes, before any auth, audit or store work. Not a test. */
#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char BODY[] = "{\"sealed\":false}";

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	/* The usual two steps (as vaultd does): the first call only notes the
	 * request; answering in it makes libmicrohttpd close the connection. */
	static int started;
	if (!*req_cls) {
		*req_cls = &started;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(sizeof(BODY) - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

static int listen_on(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, len + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* loadgen connects as nobody, as it does to vaultd. */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mhd_hello SOCKET THREADS\n");
		return 2;
	}
	unsigned threads = (unsigned)strtoul(argv[2], NULL, 10);
	int fd = listen_on(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "mhd_hello: %s: %s\n", argv[1], strerror(-fd));
		return 1;
	}
	/* The same flags and pool size as vaultd/http.c's http_start (the thread
	 * count comes from the caller: vaultd's default is 2 per CPU). */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, 0, NULL, NULL, answer, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
	    threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "mhd_hello: MHD_start_daemon failed\n");
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	close(fd);
	unlink(argv[1]);
	return 0;
}
