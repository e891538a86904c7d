/* Key changes on a store file without vaultd: locked like vaultd locks it,
 * unsealed with the current key, changed by the library calls vaultd uses,
 * each change committed with its audit entry. */
#include "key_offline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit_chain.h"
#include "ctl.h"
#include "store_lock.h"

/* Versions re-sealed per transaction: nobody waits on an offline store, so
 * the batches are larger than vaultd's and run back to back. */
#define OFFLINE_RESEAL_BATCH 256

int key_offline_begin(const char *path, const struct offline_key *k, struct key_offline *ret)
{
	*ret = (struct key_offline){.lock_fd = -1, .path = path};
	int fd = store_lock_take(path);
	if (fd == -EWOULDBLOCK) {
		ctl_err(
		    "store %s is in use (vaultd serves it, or another vaultctl changes it): stop "
		    "it, or run the command without --store to ask vaultd",
		    path);
		return CTL_CONFLICT;
	}
	if (fd < 0) {
		/* O_NOFOLLOW, as vaultd opens it: a symbolic link is ELOOP here. */
		ctl_err("%s %s: %s", fd == -ENOENT ? "no store at" : "cannot lock store", path,
		        strerror(-fd));
		return fd == -ENOENT ? CTL_NOT_FOUND : CTL_ERROR;
	}
	int rc = offline_open(path, NULL, k, &ret->s);
	if (rc != CTL_OK) {
		store_lock_release(fd);
		return rc;
	}
	ret->lock_fd = fd;
	return CTL_OK;
}

void key_offline_end(struct key_offline *o)
{
	store_close(o->s); /* before the lock: see lib/store_lock.c */
	o->s = NULL;
	store_lock_release(o->lock_fd);
	o->lock_fd = -1;
}

int key_offline_rekey(struct key_offline *o, enum kek_kind kind, const struct kdf_params *kdf,
                      const struct secbuf *kek)
{
	struct audit_entry e;
	audit_entry_self(&e, "offline.rekey");
	int r = store_rekey_audited(o->s, kind, kind == KEK_PASSPHRASE ? kdf : NULL, kek, &e);
	if (r < 0) {
		ctl_err("cannot rekey store %s: %s (it still unseals with its old key)", o->path,
		        store_strerror(r));
		return CTL_ERROR;
	}
	return CTL_OK;
}

/* Re-seals until nothing is left under an older data key; the last step
 * chains offline.reseal, the record that the rotation is complete. */
static int reseal_all(struct key_offline *o)
{
	size_t left = 1;
	while (left > 0) {
		struct audit_entry done;
		audit_entry_self(&done, "offline.reseal");
		int r = store_reseal_step_audited(o->s, OFFLINE_RESEAL_BATCH, &left, &done);
		if (r < 0) {
			ctl_err(
			    "re-sealing the versions of store %s stopped: %s (the new data key is "
			    "active; vaultd finishes the re-seal when it next serves the store)",
			    o->path, store_strerror(r));
			return CTL_ERROR;
		}
	}
	return CTL_OK;
}

int key_offline_rotate(struct key_offline *o, uint32_t *ret_key_id, uint64_t *ret_resealed)
{
	struct audit_entry e;
	audit_entry_self(&e, "offline.rotate");
	int r = store_dek_rotate_audited(o->s, &e, ret_key_id);
	if (r < 0) {
		ctl_err("cannot rotate the data key of store %s: %s", o->path, store_strerror(r));
		return CTL_ERROR;
	}
	uint32_t active = 0;
	uint64_t pending = 0;
	r = store_key_status(o->s, &active, &pending);
	if (r < 0) {
		ctl_err("cannot count the versions to re-seal in store %s: %s", o->path,
		        store_strerror(r));
		return CTL_ERROR;
	}
	*ret_resealed = pending;
	return reseal_all(o);
}
