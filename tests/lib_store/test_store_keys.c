/* Keys of the store: create/open/seal/unseal, a wrong key file or passphrase
 * (BADKEY, file untouched), tampered wrapped keys, KEK rekey, DEK rotation and
 * resealing old versions under the active DEK. */
#include "check_support.h"
#include "store_test.h"

/* Libsodium's minimum Argon2id cost: passphrase tests stay fast. */
static void fast_kdf(struct kdf_params *p)
{
	kdf_params_new(p, true);
	p->opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
	p->memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
}

static struct secbuf *pass_kek(const char *pass, const struct kdf_params *p)
{
	struct secbuf *pw = secbuf_dup(pass, strlen(pass));
	ck_assert_ptr_nonnull(pw);
	struct secbuf *kek = NULL;
	ck_assert_int_eq(kek_from_passphrase(pw, p, &kek), 0);
	secbuf_free(pw);
	return kek;
}

static struct secbuf *other_keyfile_kek(void)
{
	char path[TEST_PATH_MAX];
	test_path(path, F.dir, "other.key");
	ck_assert_int_eq(kek_generate_keyfile(path), 0);
	struct secbuf *kek = NULL;
	ck_assert_int_eq(kek_from_keyfile(path, &kek), 0);
	return kek;
}

/* Closes the store and returns the database file's bytes. */
static uint8_t *close_and_snapshot(size_t *len)
{
	store_close(F.s);
	F.s = NULL;
	uint8_t *b = read_all(F.db, len);
	ck_assert_ptr_nonnull(b);
	return b;
}

static void assert_file_unchanged(const uint8_t *before, size_t len)
{
	size_t now_len;
	uint8_t *now = read_all(F.db, &now_len);
	ck_assert_uint_eq(now_len, len);
	ck_assert_msg(memcmp(now, before, len) == 0, "the store file changed");
	free(now);
}

START_TEST(test_create_refuses_existing_path)
{
	struct store *s2 = NULL;
	ck_assert_int_eq(store_create(F.db, KEK_KEYFILE, NULL, F.kek, &s2), STORE_E_EXISTS);
	ck_assert_ptr_null(s2);
	/* an unrelated file is neither overwritten nor removed */
	char other[TEST_PATH_MAX];
	test_path(other, F.dir, "notes.txt");
	int fd = open(other, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep me", 7), 7);
	close(fd);
	ck_assert_int_eq(store_create(other, KEK_KEYFILE, NULL, F.kek, &s2), STORE_E_EXISTS);
	ck_assert(file_contains(other, "keep me", 7));
}
END_TEST

START_TEST(test_create_refuses_bad_kek_arguments)
{
	char path[TEST_PATH_MAX];
	test_path(path, F.dir, "x.db");
	struct store *s2 = NULL;
	ck_assert_int_eq(store_create(path, KEK_PASSPHRASE, NULL, F.kek, &s2), STORE_E_INVAL);
	struct secbuf *short_kek = secbuf_new(16);
	ck_assert_int_eq(store_create(path, KEK_KEYFILE, NULL, short_kek, &s2), STORE_E_INVAL);
	secbuf_free(short_kek);
	ck_assert_int_eq(access(path, F_OK), -1); /* nothing left behind */
}
END_TEST

START_TEST(test_open_starts_sealed)
{
	put_str(F.s, "a", "x");
	reopen(false);
	ck_assert(store_is_sealed(F.s));
	assert_get_fails(F.s, "a", STAGE_CURRENT, 0, STORE_E_SEALED);
	ck_assert_int_eq(store_unseal(F.s, F.kek), 0);
	ck_assert(!store_is_sealed(F.s));
	assert_value(F.s, "a", STAGE_CURRENT, 0, "x", 1);
}
END_TEST

START_TEST(test_sealed_store_refuses_every_operation)
{
	put_str(F.s, "a", "x");
	store_seal(F.s);
	ck_assert(store_is_sealed(F.s));
	struct store *s = F.s;
	const uint8_t v[] = "y";
	ck_assert_int_eq(store_put(s, "a", v, 1, -1, NULL, "t", NULL), STORE_E_SEALED);
	struct store_put_item it = {"a", v, 1};
	ck_assert_int_eq(store_put_batch(s, &it, 1, "t"), STORE_E_SEALED);
	assert_get_fails(s, "a", STAGE_CURRENT, 0, STORE_E_SEALED);
	const char *names[] = {"a"};
	struct secret_value cur[1];
	ck_assert_int_eq(store_get_many(s, names, 1, cur, NULL, NULL), STORE_E_SEALED);
	struct secret_meta m;
	ck_assert_int_eq(store_meta_get(s, "a", &m), STORE_E_SEALED);
	struct secret_meta_list *l;
	ck_assert_int_eq(store_list(s, NULL, false, &l), STORE_E_SEALED);
	struct secret_version_list *h;
	ck_assert_int_eq(store_history(s, "a", &h), STORE_E_SEALED);
	ck_assert_int_eq(store_rollback(s, "a", 1, "t", NULL), STORE_E_SEALED);
	ck_assert_int_eq(store_delete(s, "a", "t"), STORE_E_SEALED);
	ck_assert_int_eq(store_undelete(s, "a", "t"), STORE_E_SEALED);
	ck_assert_int_eq(store_destroy(s, "a", 0, "t"), STORE_E_SEALED);
	uint64_t n;
	ck_assert_int_eq(store_count(s, &n), STORE_E_SEALED);
	uint8_t hash[TOKEN_HASH_BYTES];
	ck_assert_int_eq(store_token_hash(s, "vd_x", 4, hash), STORE_E_SEALED);
	struct store_token t = {.accessor = "acc", .policies_json = "[]", .uses_left = -1};
	ck_assert_int_eq(store_token_put(s, &t), STORE_E_SEALED);
	ck_assert_int_eq(store_token_consume(s, hash, 0, &t), STORE_E_SEALED);
	ck_assert_int_eq(store_policy_put(s, "p", "{}"), STORE_E_SEALED);
	struct audit_entry e = {.action = "x"};
	ck_assert_int_eq(store_audit_append(s, &e, 1), STORE_E_SEALED);
	uint64_t checked, bad;
	ck_assert_int_eq(store_audit_verify(s, &checked, &bad), STORE_E_SEALED);
	uint32_t id;
	ck_assert_int_eq(store_dek_rotate(s, &id), STORE_E_SEALED);
	size_t left;
	ck_assert_int_eq(store_reseal_step(s, 10, &left), STORE_E_SEALED);
	ck_assert_int_eq(store_rekey(s, KEK_KEYFILE, NULL, F.kek), STORE_E_SEALED);
}
END_TEST

START_TEST(test_seal_then_unseal_restores_access)
{
	put_str(F.s, "a", "x");
	store_seal(F.s);
	ck_assert_int_eq(store_unseal(F.s, F.kek), 0);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "x", 1);
	ck_assert_int_eq(store_unseal(F.s, F.kek), 0); /* again: still fine */
}
END_TEST

START_TEST(test_wrong_key_file_is_badkey_and_store_unchanged)
{
	put_str(F.s, "a", "x");
	size_t len;
	uint8_t *before = close_and_snapshot(&len);
	struct secbuf *wrong = other_keyfile_kek();
	ck_assert_int_eq(store_open(F.db, &F.s), 0);
	ck_assert_int_eq(store_unseal(F.s, wrong), STORE_E_BADKEY);
	ck_assert(store_is_sealed(F.s));
	store_close(F.s);
	F.s = NULL;
	assert_file_unchanged(before, len);
	free(before);
	secbuf_free(wrong);
	reopen(true);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "x", 1);
}
END_TEST

START_TEST(test_wrong_key_while_unsealed_keeps_keys)
{
	put_str(F.s, "a", "x");
	struct secbuf *wrong = other_keyfile_kek();
	ck_assert_int_eq(store_unseal(F.s, wrong), STORE_E_BADKEY);
	ck_assert(!store_is_sealed(F.s));
	assert_value(F.s, "a", STAGE_CURRENT, 0, "x", 1);
	secbuf_free(wrong);
}
END_TEST

START_TEST(test_short_kek_is_badkey)
{
	reopen(false);
	struct secbuf *k = secbuf_new(16);
	ck_assert_int_eq(store_unseal(F.s, k), STORE_E_BADKEY);
	secbuf_free(k);
}
END_TEST

START_TEST(test_passphrase_store_round_trip)
{
	struct kdf_params p;
	fast_kdf(&p);
	struct secbuf *kek = pass_kek("correct horse", &p);
	ck_assert_int_eq(store_create(F.db, KEK_PASSPHRASE, &p, kek, &F.s), 0);
	put_str(F.s, "a", "x");
	secbuf_free(kek);
	reopen(false);
	struct store_info info;
	ck_assert_int_eq(store_info(F.s, &info), 0);
	ck_assert_int_eq(info.kek_kind, KEK_PASSPHRASE);
	ck_assert_uint_eq(info.kdf.opslimit, p.opslimit);
	ck_assert_uint_eq(info.kdf.memlimit, p.memlimit);
	ck_assert_mem_eq(info.kdf.salt, p.salt, KDF_SALT_BYTES);
	kek = pass_kek("correct horse", &info.kdf);
	ck_assert_int_eq(store_unseal(F.s, kek), 0);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "x", 1);
	secbuf_free(kek);
}
END_TEST

START_TEST(test_wrong_passphrase_is_badkey_and_store_unchanged)
{
	struct kdf_params p;
	fast_kdf(&p);
	struct secbuf *kek = pass_kek("correct horse", &p);
	ck_assert_int_eq(store_create(F.db, KEK_PASSPHRASE, &p, kek, &F.s), 0);
	put_str(F.s, "a", "x");
	secbuf_free(kek);
	size_t len;
	uint8_t *before = close_and_snapshot(&len);
	ck_assert_int_eq(store_open(F.db, &F.s), 0);
	struct store_info info;
	ck_assert_int_eq(store_info(F.s, &info), 0);
	kek = pass_kek("Correct horse", &info.kdf);
	ck_assert_int_eq(store_unseal(F.s, kek), STORE_E_BADKEY);
	secbuf_free(kek);
	ck_assert(store_is_sealed(F.s));
	store_close(F.s);
	F.s = NULL;
	assert_file_unchanged(before, len);
	free(before);
}
END_TEST

START_TEST(test_info_reports_the_store)
{
	struct store_info a, b;
	ck_assert_int_eq(store_info(F.s, &a), 0);
	ck_assert_int_eq(a.kek_kind, KEK_KEYFILE);
	ck_assert_str_eq(a.backend, "sqlite");
	ck_assert_int_ge(a.schema_version, 1);
	reopen(false);
	ck_assert_int_eq(store_info(F.s, &b), 0); /* works while sealed */
	ck_assert_mem_eq(a.store_id, b.store_id, VAULT_STORE_ID_BYTES);
	uint8_t zero[VAULT_STORE_ID_BYTES] = {0};
	ck_assert(memcmp(a.store_id, zero, sizeof(zero)) != 0);
}
END_TEST

/* Replaces the wrapped key of key_id with the bytes in blob. */
static void raw_set_wrapped(uint32_t key_id, const uint8_t *blob, size_t len)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open_v2(F.db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(h, "UPDATE keys SET wrapped = ?1 WHERE key_id = ?2", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, key_id);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	ck_assert_int_eq(sqlite3_changes(h), 1);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static uint8_t *raw_wrapped(uint32_t key_id, size_t *len)
{
	char sql[96];
	snprintf(sql, sizeof(sql), "SELECT wrapped FROM keys WHERE key_id = %u", key_id);
	return raw_blob(F.db, sql, len);
}

START_TEST(test_tampered_wrapped_dek_is_badkey)
{
	put_str(F.s, "a", "x");
	store_close(F.s);
	F.s = NULL;
	size_t len;
	uint8_t *w = raw_wrapped(1, &len);
	ck_assert_uint_eq(len, WRAPPED_KEY_BYTES);
	w[len / 2] ^= 0x01;
	raw_set_wrapped(1, w, len);
	free(w);
	ck_assert_int_eq(store_open(F.db, &F.s), 0);
	ck_assert_int_eq(store_unseal(F.s, F.kek), STORE_E_BADKEY);
	ck_assert(store_is_sealed(F.s));
}
END_TEST

START_TEST(test_truncated_wrapped_dek_is_badkey)
{
	store_close(F.s);
	F.s = NULL;
	size_t len;
	uint8_t *w = raw_wrapped(1, &len);
	raw_set_wrapped(1, w, len - 1);
	free(w);
	ck_assert_int_eq(store_open(F.db, &F.s), 0);
	ck_assert_int_eq(store_unseal(F.s, F.kek), STORE_E_BADKEY);
}
END_TEST

START_TEST(test_swapped_wrapped_keys_are_badkey)
{
	store_close(F.s);
	F.s = NULL;
	size_t l0, l1;
	uint8_t *k0 = raw_wrapped(0, &l0);
	uint8_t *k1 = raw_wrapped(1, &l1);
	raw_set_wrapped(0, k1, l1);
	raw_set_wrapped(1, k0, l0);
	free(k0);
	free(k1);
	ck_assert_int_eq(store_open(F.db, &F.s), 0);
	ck_assert_int_eq(store_unseal(F.s, F.kek), STORE_E_BADKEY);
}
END_TEST

START_TEST(test_rekey_to_new_key_file)
{
	put_str(F.s, "a", "x");
	struct secbuf *new_kek = other_keyfile_kek();
	ck_assert_int_eq(store_rekey(F.s, KEK_KEYFILE, NULL, new_kek), 0);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "x", 1);
	reopen(false);
	ck_assert_int_eq(store_unseal(F.s, F.kek), STORE_E_BADKEY);
	ck_assert_int_eq(store_unseal(F.s, new_kek), 0);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "x", 1);
	secbuf_free(new_kek);
}
END_TEST

START_TEST(test_rekey_to_passphrase)
{
	put_str(F.s, "a", "x");
	struct kdf_params p;
	fast_kdf(&p);
	struct secbuf *kek = pass_kek("new pass", &p);
	ck_assert_int_eq(store_rekey(F.s, KEK_PASSPHRASE, &p, kek), 0);
	secbuf_free(kek);
	reopen(false);
	struct store_info info;
	ck_assert_int_eq(store_info(F.s, &info), 0);
	ck_assert_int_eq(info.kek_kind, KEK_PASSPHRASE);
	kek = pass_kek("new pass", &info.kdf);
	ck_assert_int_eq(store_unseal(F.s, kek), 0);
	secbuf_free(kek);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "x", 1);
}
END_TEST

/* Rekey answers a leaked KEK: no key wrapped under the old one may stay in
 * the database file or its WAL. */
START_TEST(test_rekey_leaves_no_old_wrapped_key_in_the_files)
{
	put_str(F.s, "a", "x");
	size_t n;
	uint8_t *old = raw_blob(F.db, "SELECT wrapped FROM keys ORDER BY key_id LIMIT 1", &n);
	ck_assert_uint_eq(n, WRAPPED_KEY_BYTES);
	ck_assert_str_ne(store_files_containing(F.db, old, n), ""); /* the test can see it */
	struct secbuf *new_kek = other_keyfile_kek();
	ck_assert_int_eq(store_rekey(F.s, KEK_KEYFILE, NULL, new_kek), 0);
	const char *where = store_files_containing(F.db, old, n);
	ck_assert_msg(!where[0], "a key wrapped under the old KEK is still in %s", where);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "x", 1);
	free(old);
	secbuf_free(new_kek);
}
END_TEST

START_TEST(test_rekey_does_not_touch_values)
{
	put_str(F.s, "a", "x");
	size_t l1, l2;
	uint8_t *before = raw_blob(F.db, "SELECT value FROM versions", &l1);
	struct secbuf *new_kek = other_keyfile_kek();
	ck_assert_int_eq(store_rekey(F.s, KEK_KEYFILE, NULL, new_kek), 0);
	uint8_t *after = raw_blob(F.db, "SELECT value FROM versions", &l2);
	ck_assert_uint_eq(l1, l2);
	ck_assert(memcmp(before, after, l1) == 0);
	free(before);
	free(after);
	secbuf_free(new_kek);
}
END_TEST

static uint32_t version_key_id(const char *name, uint64_t version)
{
	struct secret_version_list *h;
	ck_assert_int_eq(store_history(F.s, name, &h), 0);
	uint32_t id = 0;
	for (size_t i = 0; i < h->n; i++)
		if (h->items[i].version == version)
			id = h->items[i].key_id;
	secret_version_list_free(h);
	ck_assert_uint_ne(id, 0);
	return id;
}

START_TEST(test_dek_rotate_new_writes_use_new_key)
{
	put_str(F.s, "a", "old");
	uint32_t id = 0;
	ck_assert_int_eq(store_dek_rotate(F.s, &id), 0);
	ck_assert_uint_eq(id, 2);
	put_str(F.s, "a", "new");
	ck_assert_uint_eq(version_key_id("a", 1), 1);
	ck_assert_uint_eq(version_key_id("a", 2), 2);
	assert_value(F.s, "a", STAGE_PREVIOUS, 0, "old", 1);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "new", 2);
	reopen(true); /* the new DEK was stored wrapped */
	assert_value(F.s, "a", STAGE_PREVIOUS, 0, "old", 1);
	assert_value(F.s, "a", STAGE_CURRENT, 0, "new", 2);
}
END_TEST

/* Two handles on one store: the second to rotate or rekey sees keys it did
 * not load, and refuses (before, it overwrote the other's key, or left it
 * under the old KEK: the store could not be unsealed again). */
START_TEST(test_rotate_or_rekey_with_a_stale_keyring_is_refused)
{
	struct store *b = NULL;
	ck_assert_int_eq(store_open(F.db, &b), 0);
	ck_assert_int_eq(store_unseal(b, F.kek), 0);
	uint32_t id = 0;
	ck_assert_int_eq(store_dek_rotate(b, &id), 0);
	ck_assert_uint_eq(id, 2);
	put_str(b, "y", "written under key 2");
	ck_assert_int_eq(store_dek_rotate(F.s, &id), STORE_E_CONFLICT);
	struct secbuf *new_kek = other_keyfile_kek();
	ck_assert_int_eq(store_rekey(F.s, KEK_KEYFILE, NULL, new_kek), STORE_E_CONFLICT);
	store_close(b);
	reopen(true); /* still the old KEK, and key 2 is b's */
	assert_value(F.s, "y", STAGE_CURRENT, 0, "written under key 2", 1);
	/* A fresh handle knows every key: both work again. */
	ck_assert_int_eq(store_dek_rotate(F.s, &id), 0);
	ck_assert_uint_eq(id, 3);
	ck_assert_int_eq(store_rekey(F.s, KEK_KEYFILE, NULL, new_kek), 0);
	store_close(F.s);
	ck_assert_int_eq(store_open(F.db, &F.s), 0);
	ck_assert_int_eq(store_unseal(F.s, new_kek), 0);
	assert_value(F.s, "y", STAGE_CURRENT, 0, "written under key 2", 1);
	/* A rekey elsewhere keeps the ids but not the KEK: a handle still on
	 * the old KEK must not add a key wrapped under it. */
	ck_assert_int_eq(store_open(F.db, &b), 0);
	ck_assert_int_eq(store_unseal(b, new_kek), 0);
	char third_path[TEST_PATH_MAX];
	test_path(third_path, F.dir, "third.key");
	ck_assert_int_eq(kek_generate_keyfile(third_path), 0);
	struct secbuf *third = NULL;
	ck_assert_int_eq(kek_from_keyfile(third_path, &third), 0);
	ck_assert_int_eq(store_rekey(b, KEK_KEYFILE, NULL, third), 0);
	store_close(b);
	ck_assert_int_eq(store_dek_rotate(F.s, &id), STORE_E_CONFLICT);
	store_close(F.s);
	ck_assert_int_eq(store_open(F.db, &F.s), 0);
	ck_assert_int_eq(store_unseal(F.s, third), 0);
	assert_value(F.s, "y", STAGE_CURRENT, 0, "written under key 2", 1);
	secbuf_free(third);
	secbuf_free(new_kek);
}
END_TEST

START_TEST(test_reseal_moves_old_versions_to_active_key)
{
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		put_str(F.s, name, name);
	}
	put_str(F.s, "gone", "x");
	ck_assert_int_eq(store_destroy(F.s, "gone", 0, "t"), 0); /* nothing to reseal */
	uint32_t id;
	ck_assert_int_eq(store_dek_rotate(F.s, &id), 0);
	size_t left = 99;
	ck_assert_int_eq(store_reseal_step(F.s, 0, &left), 0);
	ck_assert_uint_eq(left, 5);
	ck_assert_int_eq(store_reseal_step(F.s, 2, &left), 0);
	ck_assert_uint_eq(left, 3);
	ck_assert_int_eq(store_reseal_step(F.s, 10, &left), 0);
	ck_assert_uint_eq(left, 0);
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		ck_assert_uint_eq(version_key_id(name, 1), id);
		assert_value(F.s, name, STAGE_CURRENT, 0, name, 1);
	}
	reopen(true);
	assert_value(F.s, "s3", STAGE_CURRENT, 0, "s3", 1);
}
END_TEST

static void key_entry(struct audit_entry *e, const char *action)
{
	memset(e, 0, sizeof(*e));
	e->time_ms = 1700000000000;
	snprintf(e->accessor, sizeof(e->accessor), "root");
	snprintf(e->action, sizeof(e->action), "%s", action);
	snprintf(e->result, sizeof(e->result), "ok");
	e->status = 200;
}

/* The last audit entry's action and seq; 0 when the log is empty. */
static uint64_t last_audit(char *action, size_t cap)
{
	struct audit_entry *got = NULL;
	size_t n = 0;
	ck_assert_int_eq(store_audit_read(F.s, 0, 1000, &got, &n), 0);
	uint64_t seq = n ? got[n - 1].seq : 0;
	snprintf(action, cap, "%s", n ? got[n - 1].action : "");
	free(got);
	return seq;
}

/* The audited rotate and rekey chain their entry with the change: the entry
 * is there (with its seq handed back) and the chain verifies; a refused
 * change (sealed) leaves no entry. */
START_TEST(test_audited_rotate_and_rekey_chain_their_entry)
{
	put_str(F.s, "a", "one");
	char action[AUDIT_ACTION_MAX];
	uint64_t before = last_audit(action, sizeof(action));
	struct audit_entry e;
	key_entry(&e, "sys.rotate");
	uint32_t id = 0;
	ck_assert_int_eq(store_dek_rotate_audited(F.s, &e, &id), 0);
	ck_assert_uint_eq(id, 2);
	ck_assert_uint_eq(e.seq, before + 1);
	ck_assert_uint_eq(last_audit(action, sizeof(action)), before + 1);
	ck_assert_str_eq(action, "sys.rotate");

	struct secbuf *new_kek = other_keyfile_kek();
	key_entry(&e, "sys.rekey");
	ck_assert_int_eq(store_rekey_audited(F.s, KEK_KEYFILE, NULL, new_kek, &e), 0);
	ck_assert_uint_eq(e.seq, before + 2);
	ck_assert_uint_eq(last_audit(action, sizeof(action)), before + 2);
	ck_assert_str_eq(action, "sys.rekey");
	uint64_t checked = 0, bad = 1;
	ck_assert_int_eq(store_audit_verify(F.s, &checked, &bad), 0);
	ck_assert_uint_eq(checked, before + 2);

	store_seal(F.s);
	key_entry(&e, "sys.rotate");
	ck_assert_int_eq(store_dek_rotate_audited(F.s, &e, &id), STORE_E_SEALED);
	ck_assert_int_eq(store_rekey_audited(F.s, KEK_KEYFILE, NULL, new_kek, &e), STORE_E_SEALED);
	ck_assert_int_eq(store_unseal(F.s, new_kek), 0);
	ck_assert_uint_eq(last_audit(action, sizeof(action)), before + 2);
	/* An entry that is not NUL-terminated is refused before anything changes. */
	memset(e.action, 'x', sizeof(e.action));
	ck_assert_int_eq(store_dek_rotate_audited(F.s, &e, &id), STORE_E_INVAL);
	uint32_t active = 0;
	ck_assert_int_eq(store_key_status(F.s, &active, NULL), 0);
	ck_assert_uint_eq(active, 2);
	secbuf_free(new_kek);
}
END_TEST

/* The audited re-seal chains its entry with the step that re-seals the
 * last version, and only then: not with an earlier step, not with a step
 * that found nothing to do. */
START_TEST(test_audited_reseal_chains_its_entry_with_the_last_step)
{
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "r%d", i);
		put_str(F.s, name, name);
	}
	char action[AUDIT_ACTION_MAX];
	uint32_t id = 0;
	ck_assert_int_eq(store_dek_rotate(F.s, &id), 0);
	uint64_t before = last_audit(action, sizeof(action));
	struct audit_entry e;
	key_entry(&e, "sys.reseal");
	size_t left = 99;
	ck_assert_int_eq(store_reseal_step_audited(F.s, 2, &left, &e), 0);
	ck_assert_uint_eq(left, 1);
	ck_assert_uint_eq(e.seq, 0);
	ck_assert_uint_eq(last_audit(action, sizeof(action)), before);
	key_entry(&e, "sys.reseal");
	ck_assert_int_eq(store_reseal_step_audited(F.s, 2, &left, &e), 0);
	ck_assert_uint_eq(left, 0);
	ck_assert_uint_eq(e.seq, before + 1);
	ck_assert_uint_eq(last_audit(action, sizeof(action)), before + 1);
	ck_assert_str_eq(action, "sys.reseal");
	key_entry(&e, "sys.reseal");
	ck_assert_int_eq(store_reseal_step_audited(F.s, 2, &left, &e), 0);
	ck_assert_uint_eq(e.seq, 0);
	ck_assert_uint_eq(last_audit(action, sizeof(action)), before + 1);
	uint64_t checked = 0, bad = 1;
	ck_assert_int_eq(store_audit_verify(F.s, &checked, &bad), 0);
	ck_assert_uint_eq(checked, before + 1);
}
END_TEST

/* store_key_status counts what the reseal has left, never a destroyed one. */
START_TEST(test_key_status_counts_versions_under_older_keys)
{
	uint32_t active = 0;
	uint64_t pending = 99;
	ck_assert_int_eq(store_key_status(F.s, &active, &pending), 0);
	ck_assert_uint_eq(active, 1);
	ck_assert_uint_eq(pending, 0);
	put_str(F.s, "a", "one");
	put_str(F.s, "a", "two");
	put_str(F.s, "b", "three");
	put_str(F.s, "gone", "x");
	ck_assert_int_eq(store_destroy(F.s, "gone", 0, "t"), 0);
	uint32_t id;
	ck_assert_int_eq(store_dek_rotate(F.s, &id), 0);
	ck_assert_int_eq(store_key_status(F.s, &active, &pending), 0);
	ck_assert_uint_eq(active, id);
	ck_assert_uint_eq(pending, 3);
	put_str(F.s, "c", "under the new key");
	size_t left = 0;
	ck_assert_int_eq(store_reseal_step(F.s, 2, &left), 0);
	ck_assert_int_eq(store_key_status(F.s, &active, &pending), 0);
	ck_assert_uint_eq(pending, 1);
	ck_assert_uint_eq(pending, left);
	store_seal(F.s);
	ck_assert_int_eq(store_key_status(F.s, &active, &pending), STORE_E_SEALED);
}
END_TEST

static Suite *keys_suite(void)
{
	Suite *s = suite_create("store_keys");
	TCase *tc = store_tcase("lifecycle", true);
	tcase_add_test(tc, test_create_refuses_existing_path);
	tcase_add_test(tc, test_create_refuses_bad_kek_arguments);
	tcase_add_test(tc, test_open_starts_sealed);
	tcase_add_test(tc, test_sealed_store_refuses_every_operation);
	tcase_add_test(tc, test_seal_then_unseal_restores_access);
	tcase_add_test(tc, test_info_reports_the_store);
	suite_add_tcase(s, tc);

	tc = store_tcase("bad_keys", true);
	tcase_add_test(tc, test_wrong_key_file_is_badkey_and_store_unchanged);
	tcase_add_test(tc, test_wrong_key_while_unsealed_keeps_keys);
	tcase_add_test(tc, test_short_kek_is_badkey);
	tcase_add_test(tc, test_tampered_wrapped_dek_is_badkey);
	tcase_add_test(tc, test_truncated_wrapped_dek_is_badkey);
	tcase_add_test(tc, test_swapped_wrapped_keys_are_badkey);
	suite_add_tcase(s, tc);

	tc = store_tcase("passphrase", false);
	tcase_add_test(tc, test_passphrase_store_round_trip);
	tcase_add_test(tc, test_wrong_passphrase_is_badkey_and_store_unchanged);
	suite_add_tcase(s, tc);

	tc = store_tcase("rotation", true);
	tcase_add_test(tc, test_rekey_to_new_key_file);
	tcase_add_test(tc, test_rekey_to_passphrase);
	tcase_add_test(tc, test_rekey_leaves_no_old_wrapped_key_in_the_files);
	tcase_add_test(tc, test_rekey_does_not_touch_values);
	tcase_add_test(tc, test_dek_rotate_new_writes_use_new_key);
	tcase_add_test(tc, test_rotate_or_rekey_with_a_stale_keyring_is_refused);
	tcase_add_test(tc, test_reseal_moves_old_versions_to_active_key);
	tcase_add_test(tc, test_audited_rotate_and_rekey_chain_their_entry);
	tcase_add_test(tc, test_audited_reseal_chains_its_entry_with_the_last_step);
	tcase_add_test(tc, test_key_status_counts_versions_under_older_keys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(keys_suite());
}
