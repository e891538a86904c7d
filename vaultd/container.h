/* Container identity (optional, --docker-socket): the peer's pid -> its
 * Docker container id (from /proc/<pid>/cgroup) -> the container's labels
 * (GET /containers/{id}/json on the Docker socket, with libcurl), cached.
 * Policies bind to labels ("containers" in a policy document). */
#ifndef VAULTD_CONTAINER_H
#define VAULTD_CONTAINER_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CONTAINER_ID_LEN 64
#define CONTAINER_CACHE_TTL_S 60 /* labels are fixed for a container's life */
#define CONTAINER_CACHE_MAX 1024
#define CONTAINER_RESPONSE_MAX (1024u * 1024u)
#define CONTAINER_TIMEOUT_MS 2000

/* The last 64-hex-character path component run in cgroup text (cgroup v1
 * "...:/docker/<id>", v2 "0::/system.slice/docker-<id>.scope"). Pure. */
bool container_id_from_cgroup(const char *text, char out[CONTAINER_ID_LEN + 1]);
/* Reads /proc/<pid>/cgroup: 0, -ENODATA when it names no container, or
 * -errno when it could not be read (-ENOENT, -ESRCH: no such process). */
int container_id_of_pid(pid_t pid, char out[CONTAINER_ID_LEN + 1]);

/* The Labels object of container id, from the Docker engine's container
 * list on docker_socket (new reference; an empty object when it has none).
 * -ENOENT: no such container; -EIO: the engine did not answer usefully. */
int container_fetch_labels(const char *docker_socket, const char *id, json_t **ret);

/* Cached form of the above (per id, CONTAINER_CACHE_TTL_S). */
int container_init(const char *docker_socket);
void container_shutdown(void);
int container_labels(const char *id, json_t **ret);

#endif
