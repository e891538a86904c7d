/* System endpoints: health, status, metrics, seal/unseal, backup, and the
 * store's keys: data key rotation and KEK rekey. */
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
#include "audit.h"
#include "jsonx.h"
#include "keyring.h"
#include "log.h"
#include "metrics.h"
#include "reseal.h"
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
	/* The active data key and the versions the re-seal thread has left;
	 * both need the keys (null while sealed). */
	uint32_t key_id = 0;
	uint64_t pending = 0;
	bool keys = !sealed && store_key_status(st, &key_id, &pending) == 0;
	json_object_set_new(o, "key_id", keys ? json_integer((json_int_t)key_id) : json_null());
	json_object_set_new(o, "reseal_pending",
	                    keys ? json_integer((json_int_t)pending) : json_null());
	reply_json(r, 200, o);
}

static void reply_sealed_state(struct req *r, bool sealed)
{
	json_t *o = json_object();
	json_object_set_new(o, "sealed", json_boolean(sealed));
	reply_json(r, 200, o);
}

/* The key material of an unseal or rekey body: exactly one of
 * {"key":"<b64 32 bytes>"} and {"passphrase":"..."}, plus "kdf" when
 * allow_kdf. Answers and returns negative on bad input; else 0 with
 * exactly one of *ret_key and *ret_pass set (secbufs the caller frees). */
static int body_key_material(struct req *r, const json_t *o, bool allow_kdf,
                             struct secbuf **ret_key, struct secbuf **ret_pass)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		if (strcmp(k, "key") != 0 && strcmp(k, "passphrase") != 0 &&
		    !(allow_kdf && strcmp(k, "kdf") == 0)) {
			reply_error(r, 400, "bad_request",
			            allow_kdf ? "unknown field (send key, or passphrase and kdf)"
			                      : "unknown field (send key or passphrase)");
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
		if (secbuf_readonly(key) < 0) { /* a key is read-only once complete */
			secbuf_free(key);
			reply_error(r, 500, "internal", "cannot protect the key in memory");
			return -ENOMEM;
		}
		*ret_key = key;
		return 0;
	}
	const char *pass = NULL;
	json_t *pv = json_object_get(o, "passphrase");
	if (jsonx_get_string(o, "passphrase", &pass) < 0 || json_string_length(pv) == 0 ||
	    json_string_length(pv) > UNSEAL_PASSPHRASE_MAX) {
		reply_error(r, 400, "bad_value", "\"passphrase\" must be a non-empty string");
		return -EINVAL;
	}
	*ret_pass = secbuf_dup(pass, json_string_length(pv));
	if (!*ret_pass) {
		reply_error(r, 500, "internal", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Argon2id, one derivation at a time; answers on failure. */
static int derive_kek(struct req *r, const struct secbuf *pass, const struct kdf_params *kdf,
                      struct secbuf **ret)
{
	pthread_mutex_lock(&g_kdf_lock);
	int rc = kek_from_passphrase(pass, kdf, ret);
	pthread_mutex_unlock(&g_kdf_lock);
	if (rc < 0)
		reply_error(r, 500, "internal", "deriving the key from the passphrase failed");
	return rc;
}

/* The KEK an unseal body names, derived with the store's own parameters
 * for a passphrase (from *pass, which it frees). Answers and returns
 * negative on failure. */
static int unseal_kek(struct req *r, struct secbuf **pass, struct secbuf **ret)
{
	struct store_info info;
	int rc = store_info(r->vd->store, &info);
	if (rc < 0)
		reply_store_error(r, rc, "reading the store's key parameters");
	else if (info.kek_kind != KEK_PASSPHRASE) {
		reply_error(r, 400, "unseal_failed",
		            "this store is locked by a key file: send {\"key\":\"<base64>\"}");
		rc = -EINVAL;
	} else
		rc = derive_kek(r, *pass, &info.kdf, ret);
	secbuf_free(*pass);
	*pass = NULL;
	return rc;
}

void api_sys_unseal(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return;
	struct secbuf *kek = NULL, *pass = NULL;
	int rc = body_key_material(r, o, false, &kek, &pass);
	json_decref(o);
	if (rc < 0)
		return;
	/* Unsealed already: the answer is the state, whatever was sent. The
	 * key is not checked, so that a key and a passphrase are answered
	 * alike, and a passphrase costs no Argon2id. */
	if (!store_is_sealed(r->vd->store)) {
		secbuf_free(kek);
		secbuf_free(pass);
		reply_sealed_state(r, false);
		return;
	}
	if (pass && unseal_kek(r, &pass, &kek) < 0)
		return;
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
	reseal_kick(); /* a rotation may have work left from before the seal */
	reply_sealed_state(r, false);
}

void api_sys_rotate(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	uint32_t id = 0;
	audit_write_begin();
	int rc = store_dek_rotate_audited(r->vd->store, http_audit_prepare(r, 200), &id);
	audit_write_end();
	if (rc < 0) {
		reply_store_error(r, rc, "rotating the data key");
		return;
	}
	http_audit_committed(r);
	uint64_t pending = 0;
	store_key_status(r->vd->store, NULL, &pending);
	reseal_kick();
	struct logline l;
	logline_start(&l, LOG_INFO, "dek_rotated");
	logline_uint(&l, "key_id", id);
	logline_uint(&l, "reseal_pending", pending);
	logline_emit(&l);
	json_t *o = json_object();
	json_object_set_new(o, "key_id", json_integer((json_int_t)id));
	json_object_set_new(o, "reseal_pending", json_integer((json_int_t)pending));
	reply_json(r, 200, o);
}

/* The new KEK of a rekey body and how it is made: a key, or a passphrase
 * with fresh Argon2id parameters ("kdf": "moderate", the default, or
 * "interactive"). Answers and returns negative on bad input. */
static int rekey_kek(struct req *r, const json_t *o, enum kek_kind *kind, struct kdf_params *kdf,
                     struct secbuf **ret)
{
	struct secbuf *pass = NULL;
	int rc = body_key_material(r, o, true, ret, &pass);
	if (rc < 0)
		return rc;
	const char *cost = "moderate";
	json_t *kv = json_object_get(o, "kdf");
	if (kv && (!pass || jsonx_get_string(o, "kdf", &cost) < 0 ||
	           (strcmp(cost, "moderate") != 0 && strcmp(cost, "interactive") != 0))) {
		reply_error(r, 400, "bad_value",
		            "\"kdf\" goes with a passphrase: \"moderate\" or \"interactive\"");
		rc = -EINVAL;
	}
	*kind = pass ? KEK_PASSPHRASE : KEK_KEYFILE;
	if (rc == 0 && pass) {
		kdf_params_new(kdf, strcmp(cost, "interactive") == 0);
		rc = derive_kek(r, pass, kdf, ret);
	}
	secbuf_free(pass);
	if (rc < 0) {
		secbuf_free(*ret);
		*ret = NULL;
	}
	return rc;
}

void api_sys_rekey(struct req *r)
{
	if (auth_require(r, CAP_ADMIN, NULL) < 0)
		return;
	/* Before a passphrase costs a second of Argon2id for nothing. */
	if (store_is_sealed(r->vd->store)) {
		reply_store_error(r, STORE_E_SEALED, "rekeying");
		return;
	}
	json_t *o = NULL;
	if (req_json_body(r, &o) < 0)
		return;
	enum kek_kind kind = KEK_KEYFILE;
	struct kdf_params kdf;
	struct secbuf *kek = NULL;
	int rc = rekey_kek(r, o, &kind, &kdf, &kek);
	json_decref(o);
	if (rc < 0)
		return;
	audit_write_begin();
	rc = store_rekey_audited(r->vd->store, kind, kind == KEK_PASSPHRASE ? &kdf : NULL, kek,
	                         http_audit_prepare(r, 200));
	audit_write_end();
	secbuf_free(kek);
	if (rc < 0) {
		reply_store_error(r, rc, "rekeying");
		return;
	}
	http_audit_committed(r);
	log_msg(LOG_INFO, "rekeyed",
	        kind == KEK_PASSPHRASE ? "the store now unseals with the new passphrase"
	                               : "the store now unseals with the new key");
	json_t *out = json_object();
	json_object_set_new(out, "kek",
	                    json_string(kind == KEK_PASSPHRASE ? "passphrase" : "keyfile"));
	reply_json(r, 200, out);
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
