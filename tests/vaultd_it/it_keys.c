/* The store's keys through the API: POST /v1/sys/rotate (a new data key, old
 * versions re-sealed in the background, also after a restart) and POST
 * /v1/sys/rekey (a new key file or passphrase; the old one stops working). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "keyring.h"
#include "secbuf.h"
#include "store.h"

#define VIA ((enum via)_i)
#define N_SECRETS 12

/* One number from the sqlite3 CLI (the store is read beside vaultd). */
static long long sql_count(const struct vd *v, const char *stmt)
{
	const char *argv[] = {bin_path("SQLITE3_BIN", "/usr/bin/sqlite3"), v->store, stmt, NULL};
	char *out = NULL;
	int rc = run_cmd(argv, NULL, &out);
	ck_assert_msg(rc == 0, "sqlite3 %s: exit %d: %s", stmt, rc, out);
	char *end = NULL;
	long long n = strtoll(out, &end, 10);
	ck_assert_msg(end != out, "sqlite3 %s: not a number: %s", stmt, out);
	free(out);
	return n;
}

/* Versions still holding a value under another key than key_id. */
static long long under_other_keys(const struct vd *v, long long key_id)
{
	char *q = xfmt("select count(*) from versions where value is not null and key_id <> %lld",
	               key_id);
	long long n = sql_count(v, q);
	free(q);
	return n;
}

static void status_keys(const struct vd *v, long long *key_id, long long *pending)
{
	struct vresp r;
	vd_call(v, VIA_LIB, "GET", "/v1/sys/status", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	*key_id = jint(r.json, "key_id");
	*pending = jint(r.json, "reseal_pending");
	vresp_clear(&r);
}

/* Waits (up to 5 s) for the re-seal thread to leave nothing behind. */
static void expect_resealed(const struct vd *v, long long key_id)
{
	long long id = -1, pending = -1;
	double t0 = now_ms();
	do {
		status_keys(v, &id, &pending);
		if (pending == 0)
			break;
		sleep_ms(20);
	} while (now_ms() - t0 < 5000);
	ck_assert_msg(pending == 0, "reseal_pending still %lld after 5 s", pending);
	ck_assert_int_eq(id, key_id);
	ck_assert_msg(vd_metric(v, "vaultd_reseal_pending") == 0, "vaultd_reseal_pending %g",
	              vd_metric(v, "vaultd_reseal_pending"));
	ck_assert_int_eq(under_other_keys(v, key_id), 0);
}

/* N_SECRETS secrets of two versions each (canary values kept in vals). */
static void fill(const struct vd *v, char vals[N_SECRETS][2][96])
{
	for (int i = 0; i < N_SECRETS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "k.s%02d", i);
		for (int k = 0; k < 2; k++) {
			canary(vals[i][k], 96, "keys");
			ck_assert_int_eq(vd_put(v, VIA_LIB, NULL, name, vals[i][k], NULL), k + 1);
		}
	}
}

static void expect_values(const struct vd *v, enum via via, char vals[N_SECRETS][2][96])
{
	for (int i = 0; i < N_SECRETS; i++) {
		for (int k = 0; k < 2; k++) {
			char what[48];
			snprintf(what, sizeof(what), "k.s%02d?version=%d", i, k + 1);
			int st = 0;
			char *got = vd_get(v, via, NULL, what, &st, NULL);
			ck_assert_msg(got && strcmp(got, vals[i][k]) == 0,
			              "%s: status %d, value %s", what, st,
			              got ? "differs" : "missing");
			free(got);
		}
	}
}

static long long audit_count(const struct vd *v, const char *action, const char *result)
{
	char *q = xfmt("select count(*) from audit where action = '%s' and result = '%s'", action,
	               result);
	long long n = sql_count(v, q);
	free(q);
	return n;
}

static void expect_chain_intact(const struct vd *v)
{
	struct vresp r;
	vd_call(v, VIA_LIB, "GET", "/v1/audit/verify", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	bool ok = false;
	ck_assert_msg(jbool(r.json, "ok", &ok) && ok, "audit chain: %s", r.body);
	vresp_clear(&r);
}

/* {"key":"<base64 of the 32 bytes>"}, malloc'd; key_body_free wipes it. */
static char *key_body(const void *key)
{
	char *kb = b64(key, 32);
	char *body = xfmt("{\"key\":\"%s\"}", kb);
	sodium_memzero(kb, strlen(kb));
	free(kb);
	return body;
}

static void key_body_free(char *body)
{
	sodium_memzero(body, strlen(body));
	free(body);
}

/* A store of N_SECRETS two-version secrets, rekeyed with body: the answer
 * names kek, the values still read, the rekey is in an intact chain. */
static void rekeyed_store(struct vd *v, const char *tag, char vals[N_SECRETS][2][96], enum via via,
                          const char *body, const char *kek)
{
	vd_up(v, tag);
	fill(v, vals);
	struct vresp r;
	vd_call(v, via, "POST", "/v1/sys/rekey", NULL, body, &r);
	EXPECT_STATUS(&r, 200);
	EXPECT_JSTR(&r, "kek", kek);
	vresp_clear(&r);
	expect_values(v, VIA_LIB, vals); /* the keys in memory went on working */
	ck_assert_int_eq(audit_count(v, "sys.rekey", "ok"), 1);
	expect_chain_intact(v);
}

/* A rotation: new writes use the new key at once, every older version moves
 * to it in the background, every value still reads back, the rotation is
 * in the chain. Twice (lib client, then curl): keys 2 and 3. */
START_TEST(test_rotate_makes_a_new_key_and_reseals_every_version)
{
	struct vd v;
	vd_up(&v, "keys-rotate");
	static char vals[N_SECRETS][2][96];
	fill(&v, vals);
	long long id = -1, pending = -1;
	status_keys(&v, &id, &pending);
	ck_assert_int_eq(id, 1);
	ck_assert_int_eq(pending, 0);
	for (int round = 0; round < 2; round++) {
		enum via via = round ? VIA_CURL : VIA_LIB;
		struct vresp r;
		vd_call(&v, via, "POST", "/v1/sys/rotate", NULL, round ? "{}" : NULL, &r);
		EXPECT_STATUS(&r, 200);
		EXPECT_JINT(&r, "key_id", 2 + round);
		long long reported = jint(r.json, "reseal_pending");
		/* The thread may have begun already; it cannot have had more (the
		 * secrets, and the previous round's new one). */
		ck_assert_msg(reported >= 0 && reported <= 2 * N_SECRETS + round,
		              "%s: reseal_pending %lld", r.what, reported);
		vresp_clear(&r);
		char fresh[96];
		canary(fresh, sizeof(fresh), "keys-new");
		char *name = xfmt("k.new%d", round);
		ck_assert_int_eq(vd_put(&v, via, NULL, name, fresh, NULL), 1);
		char *q = xfmt("select key_id from versions where secret_id = "
		               "(select id from secrets where name = '%s')",
		               name);
		ck_assert_int_eq(sql_count(&v, q), 2 + round);
		free(q);
		free(name);
		expect_resealed(&v, 2 + round);
		expect_values(&v, via, vals);
	}
	ck_assert_int_eq(audit_count(&v, "sys.rotate", "ok"), 2);
	/* Each rotation's completion is in the chain, after its rotation, by
	 * vaultd itself, and in the --audit-log copy. */
	ck_assert_int_eq(audit_count(&v, "sys.reseal", "ok"), 2);
	ck_assert_int_eq(sql_count(&v, "select count(*) from audit r where r.action = 'sys.reseal' "
	                               "and r.status = 0 and r.accessor = '' and r.seq > (select "
	                               "min(seq) from audit where action = 'sys.rotate')"),
	                 2);
	size_t len = 0;
	char *copy = NULL;
	for (int i = 0; i < 100; i++) { /* the writer copies it out after the commit */
		free(copy);
		copy = slurp(v.audit_log, &len);
		if (copy && strstr(copy, "\"sys.reseal\"") &&
		    strstr(strstr(copy, "\"sys.reseal\"") + 1, "\"sys.reseal\""))
			break;
		usleep(20000);
	}
	int copies = 0;
	for (const char *p = copy; p && (p = strstr(p, "\"action\":\"sys.reseal\"")); p++)
		copies++;
	ck_assert_msg(copies == 2, "sys.reseal in the --audit-log copy: %d lines, not 2", copies);
	free(copy);
	expect_chain_intact(&v);
	vd_stop(&v);
}
END_TEST

/* The store of a stopped vaultd, opened and unsealed with the lib. */
static struct store *open_offline(const struct vd *v)
{
	struct store *s = NULL;
	struct secbuf *kek = NULL;
	ck_assert_int_eq(store_open(v->store, &s), 0);
	ck_assert_int_eq(kek_from_keyfile(v->key, &kek), 0);
	ck_assert_int_eq(store_unseal(s, kek), 0);
	secbuf_free(kek);
	return s;
}

/* Rotates the data key with the lib while vaultd is stopped (so no re-seal
 * has run), which leaves `left` versions under older keys: the new key's id. */
static uint32_t rotate_offline(const struct vd *v, long long left)
{
	struct store *s = open_offline(v);
	uint32_t id = 0;
	ck_assert_int_eq(store_dek_rotate(s, &id), 0);
	store_close(s);
	ck_assert_int_eq(under_other_keys(v, id), left);
	return id;
}

/* A rotation whose re-seal had not run is finished by the next vaultd on
 * its own: at once when it starts unsealed, at the unseal when it starts
 * sealed. */
START_TEST(test_reseal_left_over_is_finished_at_start_or_unseal)
{
	struct vd v;
	vd_up(&v, "keys-leftover");
	static char vals[N_SECRETS][2][96];
	fill(&v, vals);
	vd_stop(&v);
	ck_assert_uint_eq(rotate_offline(&v, 2 * N_SECRETS), 2);
	vd_start(&v);
	expect_resealed(&v, 2);
	expect_values(&v, VIA_LIB, vals);
	vd_stop(&v);

	ck_assert_uint_eq(rotate_offline(&v, 2 * N_SECRETS), 3);
	v.use_key = false;
	vd_start(&v);
	sleep_ms(200); /* time enough to re-seal, were it not sealed */
	ck_assert_int_eq(under_other_keys(&v, 3), 2 * N_SECRETS);
	ck_assert_msg(vd_metric(&v, "vaultd_reseal_pending") == 0,
	              "vaultd_reseal_pending while sealed: %g",
	              vd_metric(&v, "vaultd_reseal_pending"));
	char *key = slurp(v.key, NULL);
	char *body = key_body(key);
	struct vresp r;
	vd_call(&v, VIA_CURL, "POST", "/v1/sys/unseal", NULL, body, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	expect_resealed(&v, 3);
	expect_values(&v, VIA_CURL, vals);
	vd_stop(&v);
	sodium_memzero(key, 32);
	free(key);
	key_body_free(body);
}
END_TEST

/* A new token whose one policy (named policy) grants caps (the inside of a
 * JSON array of strings: read","list) on every name; malloc'd. */
static char *token_for(const struct vd *v, const char *policy, const char *caps)
{
	struct vresp r;
	char *path = xfmt("/v1/policies/%s", policy);
	char *rules = xfmt("{\"rules\":[{\"names\":\"*\",\"capabilities\":[\"%s\"]}]}", caps);
	vd_call(v, VIA_LIB, "PUT", path, NULL, rules, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	free(path);
	free(rules);
	char *body = xfmt("{\"policies\":[\"%s\"]}", policy);
	vd_call(v, VIA_LIB, "POST", "/v1/tokens", NULL, body, &r);
	free(body);
	EXPECT_STATUS(&r, 201);
	char *token = strdup(jstr(r.json, "token"));
	vresp_clear(&r);
	return token;
}

/* A store that holds a token-shaped name (stored before vaultd refused such
 * names) still works: a rotation re-seals it, reading it by name is refused
 * (the token goes nowhere), and it can be deleted, audited as "(a token)". */
START_TEST(test_a_stored_token_shaped_name_is_resealed_and_can_be_deleted)
{
	static const char tok[] = "vd_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
	struct vd v;
	vd_up(&v, "keys-tokname");
	vd_stop(&v);
	struct store *s = open_offline(&v);
	uint64_t ver = 0;
	ck_assert_int_eq(store_put(s, tok, (const uint8_t *)"x", 1, -1, NULL, "uid=0", &ver), 0);
	store_close(s);
	vd_start(&v);
	struct vresp r;
	vd_call(&v, VIA_LIB, "POST", "/v1/sys/rotate", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	expect_resealed(&v, 2);
	char *path = xfmt("/v1/secrets/%s", tok);
	vd_call(&v, VIA_CURL, "GET", path, NULL, NULL, &r);
	EXPECT_ERROR(&r, 400, "bad_name");
	vresp_clear(&r);
	/* A token without "delete" is refused without the name echoed. */
	char *ro = token_for(&v, "ro", "read");
	struct vreq q = {.method = "DELETE", .path = path, .token = ro};
	vd_do(&v, VIA_CURL, &q, &r);
	EXPECT_ERROR(&r, 403, "denied");
	ck_assert_msg(strstr(r.body, "(a token)") && !strstr(r.body, tok + 3), "%s", r.body);
	vresp_clear(&r);
	free(ro);
	vd_call(&v, VIA_CURL, "DELETE", path, NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	free(path);
	vd_call(&v, VIA_LIB, "GET", "/v1/audit?last=1", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	ck_assert_msg(strstr(r.body, "\"(a token)\"") && !strstr(r.body, tok + 3), "%s", r.body);
	vresp_clear(&r);
	char *log = slurp(v.log, NULL);
	ck_assert_msg(log && !strstr(log, tok + 3), "the token's shape is in vaultd's log");
	free(log);
	vd_stop(&v);
}
END_TEST

/* Enough versions that vaultd's re-seal (64 a batch, 5 ms apart) takes a
 * third of a second at the least. */
#define BULK 4000

/* BULK secrets of one version each, in one transaction of the lib's. */
static void bulk_load(const struct vd *v, char (*vals)[96])
{
	struct store *s = open_offline(v);
	static char names[BULK][24];
	static struct store_put_item items[BULK];
	for (int i = 0; i < BULK; i++) {
		snprintf(names[i], sizeof(names[i]), "k.bulk%04d", i);
		canary(vals[i], 96, "bulk");
		items[i] =
		    (struct store_put_item){names[i], (const uint8_t *)vals[i], strlen(vals[i])};
	}
	ck_assert_int_eq(store_put_batch(s, items, BULK, "uid=0"), 0);
	store_close(s);
}

/* A re-seal in progress shows: right after vaultd starts on a store with
 * BULK versions under the old key, vaultd_reseal_pending and the status's
 * reseal_pending are above 0, never go up, and reach 0; the values read back. */
START_TEST(test_reseal_pending_counts_down_to_zero)
{
	struct vd v;
	vd_up(&v, "keys-pending");
	vd_stop(&v);
	static char vals[BULK][96];
	bulk_load(&v, vals);
	ck_assert_uint_eq(rotate_offline(&v, BULK), 2);
	vd_start(&v);
	double first = vd_metric(&v, "vaultd_reseal_pending"), last = first;
	ck_assert_msg(first > 0 && first <= BULK, "vaultd_reseal_pending at start: %g", first);
	long long id = -1, pending = -1;
	status_keys(&v, &id, &pending);
	ck_assert_msg(pending >= 0 && pending <= first, "status reseal_pending %lld after %g",
	              pending, first);
	double t0 = now_ms();
	for (; last > 0 && now_ms() - t0 < 60000; sleep_ms(20)) {
		double now = vd_metric(&v, "vaultd_reseal_pending");
		ck_assert_msg(now <= last, "vaultd_reseal_pending went up: %g after %g", now, last);
		last = now;
	}
	ck_assert_msg(last == 0, "vaultd_reseal_pending still %g after 60 s (from %g)", last,
	              first);
	printf("re-seal: %g of %d pending after the start, none %.0f ms later\n", first, BULK,
	       now_ms() - t0);
	expect_resealed(&v, 2);
	for (int i = 0; i < BULK; i += BULK / 8 - 1) {
		char name[24];
		snprintf(name, sizeof(name), "k.bulk%04d", i);
		char *got = vd_get(&v, VIA_LIB, NULL, name, NULL, NULL);
		ck_assert_msg(got && strcmp(got, vals[i]) == 0, "%s after the re-seal", name);
		free(got);
	}
	vd_stop(&v);
}
END_TEST

/* Rotate and rekey are for admins, need the keys, take only their own
 * fields; every refusal changes nothing and is in the chain. */
START_TEST(test_rotate_and_rekey_refusals)
{
	vd_need_root("requests as nobody");
	struct vd v;
	/* The socket is 0660 root:nogroup so that nobody can connect at all. */
	static const char *const flags[] = {"--socket-group", "nogroup", NULL};
	vd_up_with(&v, "keys-refused", flags);
	struct vresp r;
	/* A token with every capability but admin. */
	char *token =
	    token_for(&v, "all-but-admin", "read\",\"list\",\"write\",\"rotate\",\"delete");
	static const char *paths[] = {"/v1/sys/rotate", "/v1/sys/rekey"};
	unsigned char k[32];
	randombytes_buf(k, sizeof(k));
	char *key_json = key_body(k);
	for (size_t p = 0; p < 2; p++) {
		/* rotate takes no body (a body is 400 before the permission check) */
		struct vreq q = {.method = "POST", .path = paths[p], .body = p ? key_json : NULL};
		q.token = token;
		vd_do(&v, VIA_CURL, &q, &r);
		EXPECT_ERROR(&r, 403, "denied");
		vresp_clear(&r);
		q.token = NULL;
		q.as_nobody = true;
		vd_do(&v, VIA_LIB, &q, &r);
		EXPECT_ERROR(&r, 401, "unauthenticated");
		vresp_clear(&r);
	}
	static const struct {
		const char *path, *body, *code;
	} bad[] = {
	    {"/v1/sys/rotate", "{\"key_id\":7}", "bad_request"},
	    {"/v1/sys/rotate", "[1]", "bad_json"},
	    {"/v1/sys/rekey", "{}", "bad_request"},
	    {"/v1/sys/rekey", "{\"key\":\"AAAA\",\"passphrase\":\"x\"}", "bad_request"},
	    {"/v1/sys/rekey", "{\"key\":\"AAAA\"}", "bad_value"},
	    {"/v1/sys/rekey", "{\"passphrase\":\"\"}", "bad_value"},
	    {"/v1/sys/rekey", "{\"passphrase\":\"p\",\"kdf\":\"fast\"}", "bad_value"},
	    {"/v1/sys/rekey", "{\"passphrase\":\"p\",\"kdf\":7}", "bad_value"},
	    {"/v1/sys/rekey", "{\"passphrase\":\"p\",\"other\":1}", "bad_request"},
	    {"/v1/sys/rekey", "not json", "bad_json"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vd_call(&v, (enum via)(i % 2), "POST", bad[i].path, NULL, bad[i].body, &r);
		EXPECT_ERROR(&r, 400, bad[i].code);
		vresp_clear(&r);
	}
	/* {"key":...} with "kdf": the cost is a passphrase's only. */
	char *kdf_body = xfmt("%.*s,\"kdf\":\"moderate\"}", (int)strlen(key_json) - 1, key_json);
	vd_call(&v, VIA_LIB, "POST", "/v1/sys/rekey", NULL, kdf_body, &r);
	EXPECT_ERROR(&r, 400, "bad_value");
	vresp_clear(&r);
	free(kdf_body);
	vd_call(&v, VIA_LIB, "GET", "/v1/sys/rotate", NULL, NULL, &r);
	EXPECT_STATUS(&r, 405);
	vresp_clear(&r);
	/* Nothing changed: key 1 still, and the store still opens with its key file. */
	long long id = -1, pending = -1;
	status_keys(&v, &id, &pending);
	ck_assert_int_eq(id, 1);
	ck_assert_int_eq(sql_count(&v, "select count(*) from keys"), 2); /* MAC key + DEK 1 */
	/* Sealed: 503, and still nothing changed. */
	vd_call(&v, VIA_LIB, "POST", "/v1/sys/seal", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	for (size_t p = 0; p < 2; p++) {
		vd_call(&v, (enum via)p, "POST", paths[p], NULL, p ? key_json : NULL, &r);
		EXPECT_ERROR(&r, 503, "sealed");
		vresp_clear(&r);
	}
	vd_call(&v, VIA_CURL, "POST", "/v1/sys/rekey", NULL, "{\"passphrase\":\"p\"}", &r);
	EXPECT_ERROR(&r, 503, "sealed");
	vresp_clear(&r);
	vd_call(&v, VIA_LIB, "GET", "/v1/sys/status", NULL, NULL, &r);
	ck_assert_msg(jget(r.json, "key_id") && json_is_null(jget(r.json, "key_id")) &&
	                  json_is_null(jget(r.json, "reseal_pending")),
	              "sealed status: key_id and reseal_pending null: %s", r.body);
	vresp_clear(&r);
	ck_assert_int_eq(sql_count(&v, "select count(*) from keys"), 2);
	vd_stop(&v);
	vd_start(&v); /* the original key file still unseals */
	vd_call(&v, VIA_LIB, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	ck_assert_int_eq(
	    audit_count(&v, "sys.rotate", "denied") + audit_count(&v, "sys.rekey", "denied"), 2);
	ck_assert_int_eq(audit_count(&v, "sys.rotate", "ok") + audit_count(&v, "sys.rekey", "ok"),
	                 0);
	expect_chain_intact(&v);
	vd_stop(&v);
	key_body_free(key_json);
	free(token);
}
END_TEST

/* vaultd serve with this key file: the exit status when it does not stay
 * up (a key that does not unseal), 0 when it came up (then stopped). */
static int serve_with_key(struct vd *v, const char *key)
{
	const char *argv[] = {bin_path("VAULTD_BIN", NULL),
	                      "serve",
	                      "--store",
	                      v->store,
	                      "--socket",
	                      v->sock,
	                      "--key-file",
	                      key,
	                      NULL};
	char *out = NULL;
	int rc = run_cmd(argv, NULL, &out);
	ck_assert_msg(rc != 0 && strstr(out, key) && strchr(out, '\n') == out + strlen(out) - 1,
	              "serve with a stale key file: exit %d, want one line naming it: %s", rc, out);
	free(out);
	return rc;
}

static void write_key_file(const char *path, const unsigned char key[32])
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write_all(fd, key, 32), 0);
	close(fd);
}

/* Rekey to a new key: the answer says keyfile; the old key file no longer
 * opens the store (serve refuses it, an unseal with it fails); the new one
 * does and every value reads back. The key is in no log. */
START_TEST(test_rekey_to_a_new_key_retires_the_old_one)
{
	struct vd v;
	static char vals[N_SECRETS][2][96];
	unsigned char key[32];
	randombytes_buf(key, sizeof(key));
	char *kb = b64(key, sizeof(key));
	char *body = key_body(key);
	rekeyed_store(&v, "keys-rekey", vals, VIA_CURL, body, "keyfile");
	vd_stop(&v);
	struct vresp r;

	serve_with_key(&v, v.key);
	/* Started sealed, the old key does not unseal either. */
	v.use_key = false;
	vd_start(&v);
	char *old = slurp(v.key, NULL);
	char *old_body = key_body(old);
	vd_call(&v, VIA_LIB, "POST", "/v1/sys/unseal", NULL, old_body, &r);
	EXPECT_ERROR(&r, 400, "unseal_failed");
	vresp_clear(&r);
	vd_call(&v, VIA_CURL, "POST", "/v1/sys/unseal", NULL, body, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	expect_values(&v, VIA_CURL, vals);
	vd_stop(&v);

	char *newkey = xfmt("%s/new.key", v.dir);
	ck_assert_uint_lt(strlen(newkey), sizeof(v.key));
	write_key_file(newkey, key);
	memcpy(v.key, newkey, strlen(newkey) + 1);
	free(newkey);
	v.use_key = true;
	vd_start(&v);
	vd_call(&v, VIA_LIB, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	expect_values(&v, VIA_LIB, vals);
	vd_stop(&v);
	ck_assert_msg(vd_scan_file(v.log, false) == 0, "a canary in the log");
	char *log = slurp(v.log, NULL), *alog = slurp(v.audit_log, NULL);
	ck_assert_msg(log && !strstr(log, kb) && alog && !strstr(alog, kb),
	              "the new key's base64 is in the log or the audit log");
	free(log);
	free(alog);
	sodium_memzero(kb, strlen(kb));
	free(kb);
	key_body_free(body);
	free(old);
	key_body_free(old_body);
}
END_TEST

/* Rekey a key-file store to a passphrase (cheap Argon2id): status says
 * passphrase, a restart without a key starts sealed, the passphrase
 * unseals, the old key file is refused. */
START_TEST(test_rekey_to_a_passphrase)
{
	struct vd v;
	static char vals[N_SECRETS][2][96];
	char pass[96];
	canary(pass, sizeof(pass), "rekey-pass");
	char *body = xfmt("{\"passphrase\":\"%s\",\"kdf\":\"interactive\"}", pass);
	rekeyed_store(&v, "keys-pass", vals, VIA_LIB, body, "passphrase");
	struct vresp r;
	vd_call(&v, VIA_CURL, "GET", "/v1/sys/status", NULL, NULL, &r);
	EXPECT_JSTR(&r, "kek", "passphrase");
	vresp_clear(&r);
	vd_stop(&v);
	serve_with_key(&v, v.key);
	v.use_key = false;
	vd_start(&v);
	vd_call(&v, VIA_LIB, "GET", "/v1/health", NULL, NULL, &r);
	EXPECT_STATUS(&r, 503);
	vresp_clear(&r);
	vd_call(&v, VIA_LIB, "POST", "/v1/sys/unseal", NULL, "{\"passphrase\":\"not it\"}", &r);
	EXPECT_ERROR(&r, 400, "unseal_failed");
	vresp_clear(&r);
	char *unseal = xfmt("{\"passphrase\":\"%s\"}", pass);
	vd_call(&v, VIA_CURL, "POST", "/v1/sys/unseal", NULL, unseal, &r);
	EXPECT_STATUS(&r, 200);
	vresp_clear(&r);
	expect_values(&v, VIA_LIB, vals);
	vd_stop(&v);
	sodium_memzero(body, strlen(body));
	sodium_memzero(unseal, strlen(unseal));
	free(body);
	free(unseal);
}
END_TEST

int main(void)
{
	vd_global_init();
	Suite *s = suite_create("vaultd keys");
	TCase *tc = tcase_create("keys");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_rotate_makes_a_new_key_and_reseals_every_version);
	tcase_add_test(tc, test_reseal_left_over_is_finished_at_start_or_unseal);
	tcase_add_test(tc, test_a_stored_token_shaped_name_is_resealed_and_can_be_deleted);
	tcase_add_test(tc, test_reseal_pending_counts_down_to_zero);
	tcase_add_test(tc, test_rotate_and_rekey_refusals);
	tcase_add_test(tc, test_rekey_to_a_new_key_retires_the_old_one);
	tcase_add_test(tc, test_rekey_to_a_passphrase);
	suite_add_tcase(s, tc);
	return vd_run_suite(s);
}
