/* A fake Docker engine for tests: a thread answering the container list
 * (GET /containers/json?filters=...) and inspect on a unix socket. */
#ifndef VAULTD_FAKE_DOCKER_H
#define VAULTD_FAKE_DOCKER_H
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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
	atomic_int inspects; /* GET /containers/{id}/json: the answer holds Config.Env */
	/* The known container and its Labels JSON; others are not listed. */
	char id[65];
	char labels_json[512];
	int status_override; /* non-zero: answer this status to everything */
	char listed_id[65];  /* non-empty: the Id a matching list entry shows */
};

/* The inspect answer's environment: a password, as in a real container. */
#define FAKE_DOCKER_ENV_SECRET "FAKE-DOCKER-ENV-PASSWORD-9b1f"

/* %XX-decodes [s, s+n) into out (cap bytes), stopping at '&' or the end. */
static void fake_docker_unescape(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (; *s && *s != '&' && *s != ' ' && o + 1 < cap; s++) {
		unsigned v;
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2]) &&
		    sscanf(s + 1, "%2x", &v) == 1) {
			out[o++] = (char)v;
			s += 2;
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

/* Does the list filter's "id" array hold a prefix of our id (the engine's
 * id filter matches prefixes)? filters is the decoded JSON text. */
static bool fake_docker_id_listed(const struct fake_docker *fd, const char *filters)
{
	const char *p = strstr(filters, "\"id\"");
	p = p ? strchr(p, '[') : NULL;
	while (p && *p && *p != ']') {
		const char *q = strchr(p, '"');
		const char *e = q ? strchr(q + 1, '"') : NULL;
		if (!e)
			return false;
		size_t n = (size_t)(e - q - 1);
		if (n > 0 && n <= strlen(fd->id) && strncmp(fd->id, q + 1, n) == 0)
			return true;
		p = e + 1;
	}
	return false;
}

static int fake_docker_body(struct fake_docker *fd, const char *req, char *body, size_t cap)
{
	char inspect[128];
	snprintf(inspect, sizeof(inspect), "GET /containers/%s/json ", fd->id);
	if (fd->status_override) {
		snprintf(body, cap, "{\"message\":\"broken\"}");
		return fd->status_override;
	}
	if (strncmp(req, "GET /containers/json?", 21) == 0) {
		const char *f = strstr(req, "filters=");
		char filters[512] = "";
		if (f)
			fake_docker_unescape(f + 8, filters, sizeof(filters));
		if (!fake_docker_id_listed(fd, filters)) {
			snprintf(body, cap, "[]");
			return 200;
		}
		snprintf(body, cap,
		         "[{\"Id\":\"%s\",\"Names\":[\"/web\"],\"Image\":\"x\",\"Command\":\"sh\","
		         "\"Labels\":%s,\"State\":\"running\",\"Status\":\"Up 2 minutes\"}]",
		         fd->listed_id[0] ? fd->listed_id : fd->id, fd->labels_json);
		return 200;
	}
	if (strncmp(req, inspect, strlen(inspect)) == 0) {
		atomic_fetch_add(&fd->inspects, 1);
		snprintf(body, cap,
		         "{\"Id\":\"%s\",\"Name\":\"/web\",\"Config\":{\"Image\":\"x\","
		         "\"Env\":[\"DB_PASSWORD=" FAKE_DOCKER_ENV_SECRET "\"],\"Labels\":%s}}",
		         fd->id, fd->labels_json);
		return 200;
	}
	if (strncmp(req, "GET /containers/", 16) == 0) {
		snprintf(body, cap, "{\"message\":\"No such container\"}");
		return 404;
	}
	snprintf(body, cap, "{\"message\":\"page not found\"}");
	return 404;
}

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
	char body[1024];
	int status = fake_docker_body(fd, req, body, sizeof(body));
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
