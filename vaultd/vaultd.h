/* The daemon's shared state: its configuration (from the command line) and
 * the open store. One per process; every module reaches it through req->vd
 * or the pointer it was started with. */
#ifndef VAULTD_VAULTD_H
#define VAULTD_VAULTD_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "log.h"

#define VAULTD_MAX_ADMIN_IDS 32
#define VAULTD_MAX_BODY (1024u * 1024u) /* request body cap (413 above) */
/* A refused body is read and wiped rather than left in libmicrohttpd's
 * buffer (http.c), up to this much: one declared larger is refused at once,
 * and an undeclared (chunked) one that runs past it is cut off. */
#define VAULTD_MAX_DRAIN (8u * 1024u * 1024u)
#define VAULTD_DEFAULT_MAX_CONNECTIONS 1024u
#define VAULTD_DEFAULT_CONN_TIMEOUT_S 60u   /* idle / slow connection */
#define VAULTD_DEFAULT_SHUTDOWN_GRACE_S 10u /* in-flight requests at SIGTERM */
#define VAULTD_ANSWER_FLUSH_MS 1000u        /* then: answers made but not sent yet */
#define VAULTD_MAX_THREADS 64u
#define VAULTD_THREADS_PER_CPU 2u       /* default --threads per online CPU */
#define VAULTD_WRITE_THREADS_PER_CPU 4u /* default --write-threads per online CPU */
/* Each connection's libmicrohttpd memory pool (request line, headers, read
 * buffer, response headers). libmicrohttpd zeroes the whole pool before
 * every request on a connection: its 32 KiB default was 7% of the CPU of a
 * read. Request headers over VAULTD_MAX_HEADER_BYTES get 431 from vaultd,
 * which leaves room in the pool for that answer's own headers (with nearly
 * full pools libmicrohttpd could answer nothing; over it, it answers 431). */
#define VAULTD_CONN_MEMORY (16u * 1024u)
#define VAULTD_MAX_HEADER_BYTES (12u * 1024u)

struct vaultd_config {
	const char *store_path;
	const char *socket_path;
	const char *key_file;       /* NULL: $CREDENTIALS_DIRECTORY/vaultd.key, else sealed */
	const char *audit_log_path; /* JSON-lines copy of the audit; NULL = none */
	const char *socket_group;   /* name or number; NULL = the process's group */
	const char *docker_socket;  /* container identity on when set */
	uid_t admin_uids[VAULTD_MAX_ADMIN_IDS];
	size_t n_admin_uids;
	gid_t admin_gids[VAULTD_MAX_ADMIN_IDS];
	size_t n_admin_gids;
	unsigned max_connections;
	unsigned conn_timeout_s;
	unsigned shutdown_grace_s;
	unsigned threads;       /* libmicrohttpd threads; 0 until defaulted: 2 per CPU */
	unsigned write_threads; /* write workers (offload.c); 0 until defaulted: 4 per CPU */
	bool audit_sync_always; /* --audit-sync always: fsync every audit commit */
	enum log_level log_level;
};

struct store;

struct vaultd {
	struct vaultd_config cfg;
	struct store *store;
	bool socket_from_systemd; /* then the socket file is not ours to remove */
	int lock_fd;              /* store_lock.c: held while we serve the store */
};

#endif
