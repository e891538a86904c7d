/* A fake Docker engine for tests: a thread answering
 * GET /containers/{id}/json on a unix socket with canned labels. */
#ifndef VAULTD_FAKE_DOCKER_H
#define VAULTD_FAKE_DOCKER_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct fake_docker {
	char path[108];
	int fd;
	pthread_t thread;
	atomic_int requests;
	/* The known container and its Labels JSON; others answer 404. */
	char id[65];
	char labels_json[512];
	int status_override; /* non-zero: answer this status to everything */
};

static void fake_docker_answer(struct fake_docker *fd, int c)
{
	char req[4096];
	size_t len = 0;
	while (len < sizeof(req) - 1) {
		ssize_t n = read(c, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[len] = '\0';
	atomic_fetch_add(&fd->requests, 1);
	char want[128];
	snprintf(want, sizeof(want), "GET /containers/%s/json ", fd->id);
	char body[1024];
	int status;
	if (fd->status_override) {
		status = fd->status_override;
		snprintf(body, sizeof(body), "{\"message\":\"broken\"}");
	} else if (strncmp(req, want, strlen(want)) == 0) {
		status = 200;
		snprintf(
		    body, sizeof(body),
		    "{\"Id\":\"%s\",\"Name\":\"/web\",\"Config\":{\"Image\":\"x\",\"Labels\":%s}}",
		    fd->id, fd->labels_json);
	} else {
		status = 404;
		snprintf(body, sizeof(body), "{\"message\":\"No such container\"}");
	}
	char resp[2048];
	int n = snprintf(resp, sizeof(resp),
	                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
	                 "%zu\r\nConnection: close\r\n\r\n%s",
	                 status, strlen(body), body);
	if (n > 0 && write(c, resp, (size_t)n) < 0)
		perror("fake docker write");
}

static void *fake_docker_main(void *arg)
{
	struct fake_docker *fd = arg;
	for (;;) {
		int c = accept(fd->fd, NULL, NULL);
		if (c < 0)
			return NULL; /* closed: stop */
		fake_docker_answer(fd, c);
		close(c);
	}
}

static inline int fake_docker_start(struct fake_docker *fd, const char *path, const char *id,
                                    const char *labels_json)
{
	memset(fd, 0, sizeof(*fd));
	size_t plen = strlen(path);
	if (plen >= sizeof(fd->path))
		return -1;
	memcpy(fd->path, path, plen + 1);
	snprintf(fd->id, sizeof(fd->id), "%s", id);
	snprintf(fd->labels_json, sizeof(fd->labels_json), "%s", labels_json);
	fd->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, plen + 1);
	unlink(path);
	if (fd->fd < 0 || bind(fd->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd->fd, 16) < 0)
		return -1;
	return pthread_create(&fd->thread, NULL, fake_docker_main, fd) == 0 ? 0 : -1;
}

static inline void fake_docker_stop(struct fake_docker *fd)
{
	shutdown(fd->fd, SHUT_RDWR);
	close(fd->fd);
	pthread_join(fd->thread, NULL);
	unlink(fd->path);
}

#endif
