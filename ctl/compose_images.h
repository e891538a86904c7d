/* What we know about official Docker images: the ENTRYPOINT and CMD their
 * Dockerfiles set (inject wraps them) and which variables their entrypoint
 * scripts also read from VAR_FILE (the "Docker Secrets" sections of their
 * documentation). */
#ifndef VAULTCTL_COMPOSE_IMAGES_H
#define VAULTCTL_COMPOSE_IMAGES_H
#include <stdbool.h>

struct compose_image {
	const char *repo;                   /* official repository name: "postgres" */
	bool (*tag_match)(const char *tag); /* NULL: every tag; else a variant */
	const char *const *entrypoint;      /* NULL-terminated; may be empty */
	const char *const *cmd;             /* NULL-terminated; may be empty */
	const char *const *file_vars;       /* variables read from VAR_FILE */
};

/* The entry for an image reference ("postgres", "postgres:16-alpine",
 * "docker.io/library/postgres@sha256:..."), or NULL when it is not an
 * official image we know. Registry docker.io and the library/ prefix are
 * accepted; any other registry or namespace is not an official image. */
const struct compose_image *compose_image_find(const char *ref);
/* Whether the image's entrypoint reads VAR from VAR_FILE. NULL img: false. */
bool compose_image_reads_file(const struct compose_image *img, const char *var);

#endif
