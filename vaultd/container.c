/* Container identity: which Docker container a peer process runs in, and
 * that container's labels from the Docker engine API (libcurl over the
 * engine's unix socket), cached briefly so a busy container costs one
 * engine call a minute. */
#include "container.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

#define CGROUP_FILE_MAX 16384

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool container_id_from_cgroup(const char *text, char out[CONTAINER_ID_LEN + 1])
{
	bool found = false;
	for (const char *p = text; *p;) {
		if (!is_hex(*p)) {
			p++;
			continue;
		}
		const char *start = p;
		while (is_hex(*p))
			p++;
		/* Exactly 64 hex characters, delimited (not part of a longer word). */
		bool left_ok = start == text || !((start[-1] >= 'g' && start[-1] <= 'z') ||
		                                  (start[-1] >= 'A' && start[-1] <= 'Z'));
		bool right_ok = !((*p >= 'g' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'));
		if (p - start == CONTAINER_ID_LEN && left_ok && right_ok) {
			memcpy(out, start, CONTAINER_ID_LEN);
			out[CONTAINER_ID_LEN] = '\0';
			found = true; /* keep going: the innermost (last) one wins */
		}
	}
	return found;
}

int container_id_of_pid(pid_t pid, char out[CONTAINER_ID_LEN + 1])
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[CGROUP_FILE_MAX];
	size_t len = 0;
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno; /* ESRCH: the process exited after the open */
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	if (rc < 0)
		return rc;
	/* A live process always has a cgroup line: an empty file is no answer. */
	if (len == 0)
		return -ESRCH;
	buf[len] = '\0';
	return container_id_from_cgroup(buf, out) ? 0 : -ENODATA;
}

/* ---- the Docker engine API ---- */

struct body {
	char *p;
	size_t len;
	bool too_big;
};

static void body_wipe(struct body *b)
{
	if (b->p)
		sodium_memzero(b->p, b->len);
	free(b->p);
	b->p = NULL;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	if (b->len + add > CONTAINER_RESPONSE_MAX) {
		b->too_big = true;
		return 0; /* aborts the transfer */
	}
	/* Not realloc: a list entry carries the container's command line, which
	 * may hold a password; no copy of it is left behind unwiped. */
	char *np = malloc(b->len + add + 1);
	if (!np)
		return 0;
	if (b->len)
		memcpy(np, b->p, b->len);
	body_wipe(b);
	memcpy(np + b->len, data, add);
	b->p = np;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* The list answer is an array of the containers the filter matched. The
 * engine's "id" filter matches prefixes too, so the entry must be ours. */
static int labels_of(const char *json, size_t len, const char *id, json_t **ret)
{
	json_t *doc = json_loadb(json, len, 0, NULL);
	int rc = json_is_array(doc) ? -ENOENT : -EIO;
	size_t i;
	json_t *c;
	json_array_foreach(doc, i, c)
	{
		const char *cid = json_string_value(json_object_get(c, "Id"));
		if (!cid || strcmp(cid, id) != 0)
			continue;
		json_t *labels = json_object_get(c, "Labels");
		*ret = json_is_object(labels) ? json_incref(labels) : json_object();
		rc = *ret ? 0 : -ENOMEM;
		break;
	}
	json_decref(doc);
	return rc;
}

/* The list endpoint filtered to one id, not GET /containers/{id}/json: the
 * inspect answer carries the container's whole Config.Env (often its
 * passwords), which vaultd must never hold; a list entry has no Env. */
int container_fetch_labels(const char *docker_socket, const char *id, json_t **ret)
{
	char url[256];
	snprintf(url, sizeof(url),
	         "http://localhost/containers/json?all=1&filters=%%7B%%22id%%22%%3A%%5B%%22%.64s"
	         "%%22%%5D%%7D",
	         id);
	CURL *c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	struct body b = {0};
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, docker_socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)CONTAINER_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	CURLcode cc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	int rc = 0;
	if (cc != CURLE_OK || status != 200) {
		char msg[160];
		snprintf(msg, sizeof(msg), "docker engine: %s (HTTP %ld)", curl_easy_strerror(cc),
		         status);
		log_msg(LOG_WARN, "container_lookup", msg);
		rc = -EIO;
	} else {
		rc = labels_of(b.p ? b.p : "", b.len, id, ret);
		if (rc == -EIO)
			log_msg(LOG_WARN, "container_lookup",
			        "docker engine: the answer is not a list");
	}
	body_wipe(&b);
	return rc;
}

/* ---- the cache ---- */

struct entry {
	char id[CONTAINER_ID_LEN + 1];
	json_t *labels; /* NULL: not a container the engine knows */
	time_t fetched;
	struct entry *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *g_head;
static size_t g_count;
static char *g_socket;

int container_init(const char *docker_socket)
{
	if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
		return -EIO;
	g_socket = strdup(docker_socket);
	return g_socket ? 0 : -ENOMEM;
}

static void clear_locked(void)
{
	while (g_head) {
		struct entry *e = g_head;
		g_head = e->next;
		json_decref(e->labels);
		free(e);
	}
	g_count = 0;
}

void container_shutdown(void)
{
	pthread_mutex_lock(&g_lock);
	clear_locked();
	pthread_mutex_unlock(&g_lock);
	free(g_socket);
	g_socket = NULL;
	curl_global_cleanup();
}

/* A fresh cached answer for id: 1 (labels or NULL in *ret), 0 when none. */
static int lookup(const char *id, time_t now, json_t **ret)
{
	int hit = 0;
	pthread_mutex_lock(&g_lock);
	for (struct entry *e = g_head; e; e = e->next) {
		if (strcmp(e->id, id) == 0 && now - e->fetched < CONTAINER_CACHE_TTL_S) {
			*ret = e->labels ? json_incref(e->labels) : NULL;
			hit = 1;
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
	return hit;
}

static void remember(const char *id, json_t *labels, time_t now)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	memcpy(e->id, id, CONTAINER_ID_LEN + 1);
	e->labels = labels ? json_incref(labels) : NULL;
	e->fetched = now;
	pthread_mutex_lock(&g_lock);
	/* Small and short-lived: a full cache simply starts over. */
	if (g_count >= CONTAINER_CACHE_MAX)
		clear_locked();
	e->next = g_head;
	g_head = e;
	g_count++;
	pthread_mutex_unlock(&g_lock);
}

int container_labels(const char *id, json_t **ret)
{
	if (!g_socket)
		return -ENOENT;
	time_t now = time(NULL);
	json_t *labels = NULL;
	if (lookup(id, now, &labels))
		return labels ? (*ret = labels, 0) : -ENOENT;
	int rc = container_fetch_labels(g_socket, id, &labels);
	if (rc == -EIO)
		return rc; /* not cached: the engine may be back soon */
	remember(id, rc == 0 ? labels : NULL, now);
	if (rc < 0)
		return rc;
	*ret = labels;
	return 0;
}
