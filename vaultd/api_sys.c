/* System endpoints: health, status, metrics, seal/unseal and backup. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "api.h"
#include "jsonx.h"
#include "keyring.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define UNSEAL_PASSPHRASE_MAX 1024

/* Argon2id takes hundreds of MiB: one derivation at a time. */
static pthread_mutex_t g_kdf_lock = PTHREAD_MUTEX_INITIALIZER;

void api_health(struct req *r)
{
	bool sealed = store_is_sealed(r->vd->store);
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string(sealed ? "sealed" : "ok"));
	json_object_set_new(o, "sealed", json_boolean(sealed));
	reply_json(r, sealed ? 503 : 200, o);
	if (sealed)
		r->result = "sealed";
}

void api_metrics(struct req *r)
{
	size_t len = 0;
	char *text = metrics_render(r->vd, &len);
	if (!text) {
		reply_error(r, 500, "internal", "out of memory rendering metrics");
		return;
	}
	reply_text(r, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

void api_sys_status(struct req *r)
{
	struct store *st = r->vd->store;
	bool sealed = store_is_sealed(st);
	uint64_t count = 0;
	struct store_info info = {.kek_kind = KEK_KEYFILE};
	const char *backend = store_info(st, &info) == 0 && info.backend ? info.backend : "sqlite";
	json_t *o = json_object();
	json_object_set_new(o, "sealed", json_boolean(sealed));
	json_object_set_new(o, "version", json_string(VAULT_VERSION));
	json_object_set_new(o, "backend", json_string(backend));
	/* Counting needs the keys; sealed, the count is unknown (null). */
	if (!sealed && store_count(st, &count) == 0)
		json_object_set_new(o, "secrets", json_integer((json_int_t)count));
	else
		json_object_set_new(o, "secrets", json_null());
	json_object_set_new(o, "revision", json_integer((json_int_t)store_revision(st)));
	json_object_set_new(
	    o, "kek", json_string(info.kek_kind == KEK_PASSPHRASE ? "passphrase" : "keyfile"));
	reply_json(r, 200, o);
}

static void reply_sealed_state(struct req *r, bool sealed)
{
	json_t *o = json_object();
	json_object_set_new(o, "sealed", json_boolean(sealed));
	reply_json(r, 200, o);
}

/* The KEK from {"key":"<b64 32 bytes>"} or {"passphrase":"..."}; answers
 * and returns negative on bad input. */
static int unseal_kek(struct req *r, const json_t *o, struct secbuf **ret)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcmp(k, "key") != 0 && strcmp(k, "passphrase") != 0) {
			reply_error(r, 400, "bad_request",
			            "unknown field (send key or passphrase)");
			return -EINVAL;
		}
	}
	bool has_key = json_object_get(o, "key"), has_pass = json_object_get(o, "passphrase");
	if (has_key == has_pass) {
		reply_error(r, 400, "bad_request",
		            "send exactly one of \"key\" and \"passphrase\"");
		return -EINVAL;
	}
	if (has_key) {
		struct secbuf *key = NULL;
		int rc = jsonx_get_b64(o, "key", VAULT_KEY_BYTES, &key);
		if (rc < 0 || key->len != VAULT_KEY_BYTES) {
			secbuf_free(key);
			reply_error(r, 400, "bad_value",
			            "\"key\" must be the base64 of the 32-byte key");
			return -EINVAL;
		}
		*ret = key;
		return 0;
	}
	const char *pass = NULL;
	json_t *pv = json_object_get(o, "passphrase");
	if (jsonx_get_string(o, "passphrase", &pass) < 0 || json_string_length(pv) == 0 ||
	    json_string_length(pv) > UNSEAL_PASSPHRASE_MAX) {
		reply_error(r, 400, "bad_value", "\"passphrase\" must be a non-empty string");
		return -EINVAL;
	}
	struct store_info info;
	int rc = store_info(r->vd->store, &info);
	if (rc < 0) {
		reply_store_error(r, rc, "reading the store's key parameters");
		return rc;
	}
	if (info.kek_kind != KEK_PASSPHRASE) {
		reply_error(r, 400, "unseal_failed",
		            "this store is locked by a key file: send {\"key\":\"<base64>\"}");
		return -EINVAL;
	}
	struct secbuf *pb = secbuf_dup(pass, json_string_length(pv));
	if (!pb) {
		reply_error(r, 500, "internal", "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&g_kdf_lock);
	rc = kek_from_passphrase(pb, &info.kdf, ret);
	pthread_mutex_unlock(&g_kdf_lock);
	secbuf_free(pb);
	if (rc < 0) {
		reply_error(r, 500, "internal", "deriving the key from the passphrase failed");
		return rc;
	}
	return 0;
}

void api_sys_unseal(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return;
	struct secbuf *kek = NULL;
	int rc = unseal_kek(r, o, &kek);
	json_decref(o);
	if (rc < 0)
		return;
	if (!store_is_sealed(r->vd->store)) {
		secbuf_free(kek);
		reply_sealed_state(r, false);
		return;
	}
	rc = store_unseal(r->vd->store, kek);
	secbuf_free(kek);
	if (rc == STORE_E_BADKEY) {
		reply_error(r, 400, "unseal_failed", "wrong key or passphrase; still sealed");
		return;
	}
	if (rc < 0) {
		reply_store_error(r, rc, "unsealing");
		return;
	}
	log_msg(LOG_INFO, "unsealed", "keys loaded by request");
	reply_sealed_state(r, false);
}

void api_sys_seal(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	/* The audit writer seals once this request's entry is in the chain
	 * (sealing first would leave the request unrecordable). */
	if (!store_is_sealed(r->vd->store))
		r->seal_after_audit = true;
	reply_sealed_state(r, true);
}

/* A fresh name next to the store for the snapshot file. */
static int backup_path(const char *store_path, char *out, size_t cap)
{
	uint8_t rnd[8];
	char hex[sizeof(rnd) * 2 + 1];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	int n = snprintf(out, cap, "%s.backup-%s.tmp", store_path, hex);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

void api_sys_backup(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	char path[4096];
	if (backup_path(r->vd->cfg.store_path, path, sizeof(path)) < 0) {
		reply_error(r, 500, "internal", "store path too long for a backup file name");
		return;
	}
	int rc = store_backup(r->vd->store, path);
	if (rc < 0) {
		unlink(path);
		reply_store_error(r, rc, "writing a backup snapshot");
		return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int err = errno;
	/* The open descriptor keeps the data; the name goes at once. */
	unlink(path);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		log_errno(LOG_ERROR, "backup", fd < 0 ? err : errno, "reading the snapshot back");
		reply_error(r, 500, "internal", "the snapshot could not be read back");
		return;
	}
	reply_fd(r, 200, fd, (uint64_t)st.st_size, "application/octet-stream");
}
