/* A stand-in for vaultd that answers every request at once with the same
 * bundle of s01..s20 (32-byte values): bench_inject.sh uses it to separate
 * inject's own start-up cost from vaultd's time to serve the bundle. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REQUEST 65536
#define SECRETS 20

static char response[8192];
static size_t response_len;

static void build_response(void)
{
	char body[6144];
	size_t off = (size_t)snprintf(body, sizeof(body), "{\"revision\":1,\"secrets\":{");
	for (int i = 1; i <= SECRETS; i++)
		off += (size_t)snprintf(body + off, sizeof(body) - off,
					"%s\"s%02d\":{\"version\":1,\"value\":"
					"\"eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=\",\"previous\":null}",
					i > 1 ? "," : "", i);
	off += (size_t)snprintf(body + off, sizeof(body) - off, "}}");
	response_len = (size_t)snprintf(response, sizeof(response),
					"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					"Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
					off, body);
}

/* Reads the head and Content-Length bytes of body (the request is ignored). */
static void drain_request(int fd)
{
	static char buf[MAX_REQUEST + 1];
	size_t len = 0;
	while (len < MAX_REQUEST) {
		ssize_t n = read(fd, buf + len, MAX_REQUEST - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		char *cl = strcasestr(buf, "Content-Length:");
		size_t want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
		if (len >= (size_t)(end + 4 - buf) + want)
			return;
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench_inject_server SOCKET\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	build_response();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(argv[1]) >= sizeof(sa.sun_path))
		return 2;
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	unlink(argv[1]);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 128) < 0) {
		perror("bench_inject_server");
		return 1;
	}
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		drain_request(c);
		ssize_t w = write(c, response, response_len);
		(void)w;
		close(c);
	}
}
