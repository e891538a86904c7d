/* The listening unix socket: systemd socket activation, or one we create
 * with mode 0660 from the first instant (umask before bind). */
#ifndef VAULTD_LISTENER_H
#define VAULTD_LISTENER_H
#include <stdbool.h>

#define LISTENER_BACKLOG 1024

/* A listening socket from systemd (LISTEN_PID/LISTEN_FDS), or -ENOENT when
 * there is none; the variables are unset so children do not inherit them. */
int listener_from_systemd(void);
/* Creates path as a listening socket, mode 0660 with no window, group
 * `group` (a name or a number; NULL keeps ours). A stale socket file (nobody
 * answers: ECONNREFUSED) is replaced; a live one is -EADDRINUSE, one we
 * cannot probe (-EACCES, ...) is left alone and its error returned, and a
 * file that is not a socket is -EEXIST. *ret is the fd (close-on-exec,
 * non-blocking). -ESRCH: no such group. */
int listener_open(const char *path, const char *group, int *ret);
/* Removes the socket file we created. */
void listener_remove(const char *path);

#endif
