/* The ENTRYPOINT and CMD an image built from a Dockerfile ends up with, so
 * that inject can wrap services that have a build: section. */
#ifndef VAULTCTL_COMPOSE_DOCKERFILE_H
#define VAULTCTL_COMPOSE_DOCKERFILE_H
#include "compose_doc.h"

#define COMPOSE_MAX_DOCKERFILE_BYTES (1024u * 1024u)
#define COMPOSE_USER_MAX 128

/* Reads the Dockerfile at path and follows its stages (up to the stage named
 * target when target is non-NULL): FROM an earlier stage or an official image
 * from compose_images.h inherits its ENTRYPOINT/CMD; ENTRYPOINT resets an
 * inherited CMD but not one the stage sets itself (before or after it), as
 * Docker does; shell forms become [SHELL..., "text"].
 * On success *ret_ep and *ret_cmd are new sequences of strings (possibly
 * empty). ret_user (COMPOSE_USER_MAX bytes, may be NULL) gets the image's
 * USER (ARGs expanded as in FROM lines; "" when no stage sets one) also
 * when the result is -ENOENT: the result depends on a base image we do not
 * know. -errno on I/O; err names the reason. */
/* args: the build args from compose (a mapping or a list of "K=V"; may be
 * NULL); with the ARG defaults before the first FROM they expand $NAME and
 * ${NAME} in FROM lines, as docker build does. */
int compose_dockerfile_command(const char *path, const char *target, const struct cnode *args,
                               struct cnode **ret_ep, struct cnode **ret_cmd, char *ret_user,
                               char *err, size_t errcap);

/* Only the image's USER (into ret_user, COMPOSE_USER_MAX bytes; "" when no
 * stage sets one), whatever its ENTRYPOINT: for a service whose command
 * comes from elsewhere. 0, or -errno with err naming the reason. */
int compose_dockerfile_user(const char *path, const char *target, const struct cnode *args,
                            char *ret_user, char *err, size_t errcap);

/* Splits a command string the way compose does (shlex: quotes and
 * backslashes, no expansion) into a new sequence. -EINVAL on an unclosed quote. */
int compose_split_command(const char *s, struct cnode **ret);

#endif
