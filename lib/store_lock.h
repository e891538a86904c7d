/* One process per store file: vaultd's caches (tokens, policies, revisions,
 * watches) assume nobody changes the store behind its back, so vaultd and
 * vaultctl's offline key commands each hold this lock while they use it. */
#ifndef VAULT_STORE_LOCK_H
#define VAULT_STORE_LOCK_H

/* Takes an exclusive flock on the store file, held until store_lock_release
 * (or exit). Returns the descriptor, -EWOULDBLOCK when another process
 * holds it, or another negative errno. */
int store_lock_take(const char *store_path);
void store_lock_release(int fd);

#endif
