/* vaultctl key rotate/rekey --store: the same key changes as vaultd's, made
 * on a store file while no vaultd serves it (a backup, or the live store
 * during a stop), under the store lock and with their own audit entries. */
#ifndef VAULTCTL_KEY_OFFLINE_H
#define VAULTCTL_KEY_OFFLINE_H
#include <stdint.h>
#include "keyring.h"
#include "offline.h"
#include "store.h"

struct key_offline {
	struct store *s;
	int lock_fd;
	const char *path;
};

/* Locks the store file against vaultd and other vaultctls (CTL_CONFLICT
 * when one holds it), then opens and unseals it with k. Prints its own
 * errors and returns an exit code; on CTL_OK close with key_offline_end. */
int key_offline_begin(const char *path, const struct offline_key *k, struct key_offline *ret);
void key_offline_end(struct key_offline *o);

/* Rewraps the store's keys under kek (kind, and kdf for a passphrase), in
 * one transaction with an audit entry "offline.rekey". Exit code. */
int key_offline_rekey(struct key_offline *o, enum kek_kind kind, const struct kdf_params *kdf,
                      const struct secbuf *kek);
/* A new data key (audit entry "offline.rotate"), then every version under
 * an older one re-sealed with it before returning, as vaultd would do in
 * the background. Exit code; the new key's id and the count re-sealed. */
int key_offline_rotate(struct key_offline *o, uint32_t *ret_key_id, uint64_t *ret_resealed);

#endif
