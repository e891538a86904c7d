/* Opening a store file without vaultd (restore, audit verify --store): the
 * store says which kind of key it wants; the key is read into guarded
 * memory and used once to unseal. */
#include "offline.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "keyring.h"
#include "keys.h"

/* The KEK for the store's kind of key. Returns an exit code. */
static int offline_kek(const char *path, const struct store_info *info, const struct offline_key *k,
                       struct secbuf **ret)
{
	if (info->kek_kind == KEK_KEYFILE) {
		if (!k->key_file) {
			ctl_err("store %s is sealed with a key file: give --key-file", path);
			return CTL_USAGE;
		}
		return keys_read_key_file(k->key_file, ret);
	}
	if (k->key_file) {
		ctl_err("store %s is sealed with a passphrase, not a key file: use "
		        "--passphrase-stdin or the prompt",
		        path);
		return CTL_USAGE;
	}
	struct secbuf *pass = NULL;
	int rc = keys_read_passphrase(k->pass_stdin, &pass);
	if (rc != CTL_OK)
		return rc;
	int r = kek_from_passphrase(pass, &info->kdf, ret);
	secbuf_free(pass);
	if (r < 0) {
		ctl_err("cannot derive the key from the passphrase: %s", strerror(-r));
		return CTL_ERROR;
	}
	return CTL_OK;
}

int offline_open(const char *path, const char *shown, const struct offline_key *k,
                 struct store **ret)
{
	const char *name = shown ? shown : path;
	/* store_open must not create a store where there is none. */
	struct stat st;
	if (stat(path, &st) < 0) {
		ctl_err("no store at %s: %s", name, strerror(errno));
		return errno == ENOENT ? CTL_NOT_FOUND : CTL_ERROR;
	}
	struct store *s = NULL;
	int r = store_open(path, &s);
	if (r < 0) {
		ctl_err("cannot open store %s: %s", name, store_strerror(r));
		return CTL_ERROR;
	}
	struct store_info info;
	r = store_info(s, &info);
	if (r < 0) {
		ctl_err("cannot read store %s: %s", name, store_strerror(r));
		store_close(s);
		return CTL_ERROR;
	}
	struct secbuf *kek = NULL;
	int rc = offline_kek(name, &info, k, &kek);
	if (rc != CTL_OK) {
		store_close(s);
		return rc;
	}
	r = store_unseal(s, kek);
	secbuf_free(kek);
	if (r < 0) {
		if (r == STORE_E_BADKEY)
			ctl_err("the %s does not unseal store %s",
			        k->key_file ? "key file" : "passphrase", name);
		else
			ctl_err("cannot unseal store %s: %s", name, store_strerror(r));
		store_close(s);
		return r == STORE_E_BADKEY ? CTL_DENIED : CTL_ERROR;
	}
	*ret = s;
	return CTL_OK;
}
