/* One vaultd per store: its caches (tokens, policies, revisions, watches)
 * assume no other process changes the store behind its back. */
#ifndef VAULTD_STORE_LOCK_H
#define VAULTD_STORE_LOCK_H

/* Takes an exclusive flock on the store file, held until store_lock_release
 * (or exit). Returns the descriptor, -EWOULDBLOCK when another process
 * holds it, or another negative errno. */
int store_lock_take(const char *store_path);
void store_lock_release(int fd);

#endif
