/* KEK sources, DEK wrapping and the keyring: key files are refused unless
 * private and exactly 32 bytes, a wrapped key opens only under its KEK, store
 * id and key id, the passphrase KDF is deterministic per salt, and keys stay
 * read-only in memory. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_support.h"
#include "crypto_test.h"
#include "keyring.h"

static char dir[64];
static char path[128];
static struct secbuf *kek;
static struct secbuf *dek;
static uint8_t store_id[VAULT_STORE_ID_BYTES];

static struct secbuf *random_key(void)
{
	struct secbuf *k = secbuf_new(VAULT_KEY_BYTES);
	ck_assert_ptr_nonnull(k);
	randombytes_buf(k->data, k->len);
	return k;
}

static void setup(void)
{
	make_tmpdir(dir, sizeof(dir));
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/vaultd.key", dir), (int)sizeof(path));
	kek = random_key();
	dek = random_key();
	randombytes_buf(store_id, sizeof(store_id));
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
	secbuf_free(kek);
	secbuf_free(dek);
	kek = dek = NULL;
}

static void write_file(const char *p, const void *data, size_t n, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Whether the kernel may write into p (read(2) into a read-only page fails
 * with EFAULT instead of raising a signal). */
static int kernel_write_errno(const void *p)
{
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	ssize_t r = read(fd, (void *)p, 1);
	int e = r < 0 ? errno : 0;
	close(fd);
	return e;
}

/* ---- key files ---- */

START_TEST(test_generated_keyfile_is_private_and_reads_back)
{
	ck_assert_int_eq(kek_generate_keyfile(path), 0);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, KEYFILE_BYTES);
	struct secbuf *k = NULL;
	ck_assert_int_eq(kek_from_keyfile(path, &k), 0);
	ck_assert_uint_eq(k->len, KEYFILE_BYTES);
	/* Same bytes as on disk. */
	uint8_t raw[KEYFILE_BYTES];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(read(fd, raw, sizeof(raw)), (ssize_t)sizeof(raw));
	close(fd);
	ck_assert(sodium_memcmp(raw, k->data, sizeof(raw)) == 0);
	ck_assert_int_eq(kernel_write_errno(k->data), EFAULT);
	secbuf_free(k);
}
END_TEST

START_TEST(test_generate_never_overwrites_an_existing_file)
{
	write_file(path, "x", 1, 0600);
	ck_assert_int_eq(kek_generate_keyfile(path), -EEXIST);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 1);
}
END_TEST

START_TEST(test_generate_does_not_follow_a_planted_symlink)
{
	char target[160];
	snprintf(target, sizeof(target), "%s/target", dir);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_lt(kek_generate_keyfile(path), 0);
	ck_assert_int_eq(access(target, F_OK), -1);
	unlink(target);
}
END_TEST

START_TEST(test_keyfile_readable_by_group_or_world_is_refused)
{
	uint8_t key[KEYFILE_BYTES];
	randombytes_buf(key, sizeof(key));
	const mode_t bad[] = {0644, 0640, 0604, 0660, 0610, 0601, 0700 | 070};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, key, sizeof(key), bad[i]);
		struct secbuf *k = NULL;
		ck_assert_msg(kek_from_keyfile(path, &k) == -EPERM, "mode %o accepted", bad[i]);
		ck_assert_ptr_null(k);
	}
	write_file(path, key, sizeof(key), 0400);
	struct secbuf *k = NULL;
	ck_assert_int_eq(kek_from_keyfile(path, &k), 0);
	secbuf_free(k);
}
END_TEST

START_TEST(test_keyfile_of_wrong_size_is_refused)
{
	uint8_t key[KEYFILE_BYTES + 1] = {0};
	const size_t sizes[] = {0, 1, KEYFILE_BYTES - 1, KEYFILE_BYTES + 1};
	for (size_t i = 0; i < 4; i++) {
		write_file(path, key, sizes[i], 0600);
		struct secbuf *k = NULL;
		ck_assert_msg(kek_from_keyfile(path, &k) == -EINVAL, "size %zu accepted", sizes[i]);
		ck_assert_ptr_null(k);
	}
}
END_TEST

START_TEST(test_keyfile_missing_or_directory_is_refused)
{
	struct secbuf *k = NULL;
	ck_assert_int_eq(kek_from_keyfile(path, &k), -ENOENT);
	ck_assert_int_eq(kek_from_keyfile(dir, &k), -EINVAL);
	ck_assert_ptr_null(k);
}
END_TEST

START_TEST(test_keyfile_that_is_a_fifo_is_refused_without_blocking)
{
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	struct secbuf *k = NULL;
	ck_assert_int_eq(kek_from_keyfile(path, &k), -EINVAL);
	ck_assert_ptr_null(k);
}
END_TEST

/* ---- passphrase KDF (libsodium's minimum cost keeps this fast) ---- */

static struct kdf_params cheap_params(uint8_t salt_byte)
{
	struct kdf_params p = {.opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN,
	                       .memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN};
	memset(p.salt, salt_byte, sizeof(p.salt));
	return p;
}

START_TEST(test_passphrase_kdf_is_deterministic_for_same_params)
{
	struct secbuf *pass = secbuf_dup("correct horse", 13);
	struct kdf_params p = cheap_params(1);
	struct secbuf *a = NULL, *b = NULL;
	ck_assert_int_eq(kek_from_passphrase(pass, &p, &a), 0);
	ck_assert_int_eq(kek_from_passphrase(pass, &p, &b), 0);
	ck_assert_uint_eq(a->len, VAULT_KEY_BYTES);
	ck_assert(sodium_memcmp(a->data, b->data, VAULT_KEY_BYTES) == 0);
	/* It is Argon2id13 with exactly these parameters. */
	uint8_t want[VAULT_KEY_BYTES];
	ck_assert_int_eq(crypto_pwhash(want, sizeof(want), "correct horse", 13, p.salt, p.opslimit,
	                               p.memlimit, crypto_pwhash_ALG_ARGON2ID13),
	                 0);
	ck_assert(sodium_memcmp(a->data, want, VAULT_KEY_BYTES) == 0);
	ck_assert_int_eq(kernel_write_errno(a->data), EFAULT);
	secbuf_free(a);
	secbuf_free(b);
	secbuf_free(pass);
}
END_TEST

START_TEST(test_passphrase_kdf_differs_for_other_salt_passphrase_or_cost)
{
	struct secbuf *pass = secbuf_dup("correct horse", 13);
	struct secbuf *pass2 = secbuf_dup("correct horsf", 13);
	struct kdf_params p = cheap_params(1), q = cheap_params(2), r = cheap_params(1);
	r.opslimit += 1;
	struct secbuf *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	ck_assert_int_eq(kek_from_passphrase(pass, &p, &a), 0);
	ck_assert_int_eq(kek_from_passphrase(pass, &q, &b), 0);
	ck_assert_int_eq(kek_from_passphrase(pass2, &p, &c), 0);
	ck_assert_int_eq(kek_from_passphrase(pass, &r, &d), 0);
	ck_assert(sodium_memcmp(a->data, b->data, VAULT_KEY_BYTES) != 0);
	ck_assert(sodium_memcmp(a->data, c->data, VAULT_KEY_BYTES) != 0);
	ck_assert(sodium_memcmp(a->data, d->data, VAULT_KEY_BYTES) != 0);
	secbuf_free(a);
	secbuf_free(b);
	secbuf_free(c);
	secbuf_free(d);
	secbuf_free(pass);
	secbuf_free(pass2);
}
END_TEST

START_TEST(test_passphrase_kdf_refuses_params_below_minimum)
{
	struct secbuf *pass = secbuf_dup("pw", 2);
	struct kdf_params p = cheap_params(1);
	p.opslimit = 0;
	struct secbuf *k = NULL;
	ck_assert_int_eq(kek_from_passphrase(pass, &p, &k), -EINVAL);
	p = cheap_params(1);
	p.memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN - 1;
	ck_assert_int_eq(kek_from_passphrase(pass, &p, &k), -EINVAL);
	ck_assert_ptr_null(k);
	secbuf_free(pass);
}
END_TEST

START_TEST(test_kdf_params_new_uses_named_costs_and_fresh_salts)
{
	struct kdf_params a, b;
	kdf_params_new(&a, true);
	kdf_params_new(&b, false);
	ck_assert_uint_eq(a.opslimit, crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
	ck_assert_uint_eq(a.memlimit, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
	ck_assert_uint_eq(b.opslimit, crypto_pwhash_argon2id_OPSLIMIT_MODERATE);
	ck_assert_uint_eq(b.memlimit, crypto_pwhash_argon2id_MEMLIMIT_MODERATE);
	ck_assert(memcmp(a.salt, b.salt, KDF_SALT_BYTES) != 0);
}
END_TEST

/* ---- wrapping ---- */

static void assert_unwrap_rejected(const struct secbuf *k, const uint8_t *sid, uint32_t id,
                                   const uint8_t *w, size_t n, const char *what)
{
	struct secbuf *out = NULL;
	int r = key_unwrap(k, sid, id, w, n, &out);
	ck_assert_msg(r == -EKEYREJECTED, "%s: expected -EKEYREJECTED, got %d", what, r);
	ck_assert_msg(out == NULL, "%s: output written on failure", what);
}

START_TEST(test_wrap_round_trip_gives_a_read_only_key)
{
	uint8_t w[WRAPPED_KEY_BYTES];
	ck_assert_int_eq(key_wrap(kek, store_id, 1, dek, w), 0);
	ck_assert_uint_eq(w[0], SEAL_BLOB_VERSION);
	struct secbuf *out = NULL;
	ck_assert_int_eq(key_unwrap(kek, store_id, 1, w, sizeof(w), &out), 0);
	ck_assert_uint_eq(out->len, VAULT_KEY_BYTES);
	ck_assert(sodium_memcmp(out->data, dek->data, VAULT_KEY_BYTES) == 0);
	ck_assert_int_eq(kernel_write_errno(out->data), EFAULT);
	secbuf_free(out);
}
END_TEST

START_TEST(test_unwrap_with_wrong_kek_is_rejected)
{
	uint8_t w[WRAPPED_KEY_BYTES];
	ck_assert_int_eq(key_wrap(kek, store_id, 1, dek, w), 0);
	struct secbuf *other = random_key();
	assert_unwrap_rejected(other, store_id, 1, w, sizeof(w), "wrong KEK");
	secbuf_free(other);
}
END_TEST

START_TEST(test_unwrap_under_another_store_or_key_id_is_rejected)
{
	uint8_t w[WRAPPED_KEY_BYTES];
	ck_assert_int_eq(key_wrap(kek, store_id, 1, dek, w), 0);
	uint8_t other[VAULT_STORE_ID_BYTES];
	memcpy(other, store_id, sizeof(other));
	other[15] ^= 1;
	assert_unwrap_rejected(kek, other, 1, w, sizeof(w), "other store id");
	assert_unwrap_rejected(kek, store_id, 2, w, sizeof(w), "key id 2");
	assert_unwrap_rejected(kek, store_id, 0, w, sizeof(w), "key id 0");
}
END_TEST

START_TEST(test_unwrap_of_tampered_or_truncated_key_is_rejected)
{
	uint8_t w[WRAPPED_KEY_BYTES + 1];
	ck_assert_int_eq(key_wrap(kek, store_id, 1, dek, w), 0);
	for (size_t i = 0; i < WRAPPED_KEY_BYTES; i++) {
		for (int bit = 0; bit < 8; bit++) {
			w[i] ^= (uint8_t)(1u << bit);
			assert_unwrap_rejected(kek, store_id, 1, w, WRAPPED_KEY_BYTES, "bit flip");
			w[i] ^= (uint8_t)(1u << bit);
		}
	}
	for (size_t n = 0; n < WRAPPED_KEY_BYTES; n++)
		assert_unwrap_rejected(kek, store_id, 1, w, n, "truncated");
	w[WRAPPED_KEY_BYTES] = 0;
	assert_unwrap_rejected(kek, store_id, 1, w, WRAPPED_KEY_BYTES + 1, "extended");
	struct secbuf *out = NULL;
	ck_assert_int_eq(key_unwrap(kek, store_id, 1, w, WRAPPED_KEY_BYTES, &out), 0);
	secbuf_free(out);
}
END_TEST

START_TEST(test_wrap_refuses_keys_of_wrong_size)
{
	uint8_t w[WRAPPED_KEY_BYTES];
	struct secbuf *small = secbuf_new(16);
	ck_assert_int_eq(key_wrap(small, store_id, 1, dek, w), -EINVAL);
	ck_assert_int_eq(key_wrap(kek, store_id, 1, small, w), -EINVAL);
	secbuf_free(small);
}
END_TEST

/* ---- the keyring ---- */

START_TEST(test_keyring_holds_keys_by_id_read_only)
{
	struct keyring *kr = keyring_new();
	ck_assert_uint_eq(keyring_active_id(kr), 0);
	struct secbuf *mac = random_key(), *k1 = random_key(), *k3 = random_key();
	ck_assert_int_eq(keyring_add(kr, KEYRING_MAC_KEY_ID, mac), 0);
	ck_assert_uint_eq(keyring_active_id(kr), 0); /* the MAC key is not a DEK */
	ck_assert_int_eq(keyring_add(kr, 3, k3), 0);
	ck_assert_int_eq(keyring_add(kr, 1, k1), 0);
	ck_assert_ptr_eq(keyring_get(kr, 1), k1);
	ck_assert_ptr_eq(keyring_get(kr, 3), k3);
	ck_assert_ptr_eq(keyring_get(kr, 0), mac);
	ck_assert_ptr_null(keyring_get(kr, 2));
	ck_assert_uint_eq(keyring_active_id(kr), 3);
	ck_assert_uint_eq(keyring_count(kr), 3);
	ck_assert_uint_eq(keyring_id_at(kr, 1), 3);
	ck_assert_uint_eq(keyring_id_at(kr, 3), 0);
	ck_assert_int_eq(kernel_write_errno(k1->data), EFAULT);
	keyring_free(kr);
	keyring_free(NULL);
}
END_TEST

START_TEST(test_keyring_refuses_a_duplicate_id_and_frees_it)
{
	struct keyring *kr = keyring_new();
	struct secbuf *a = random_key();
	ck_assert_int_eq(keyring_add(kr, 1, a), 0);
	/* valgrind's leak check proves the refused key is freed. */
	ck_assert_int_eq(keyring_add(kr, 1, random_key()), -EEXIST);
	ck_assert_int_eq(keyring_add(kr, 2, secbuf_new(16)), -EINVAL);
	ck_assert_ptr_eq(keyring_get(kr, 1), a);
	ck_assert_uint_eq(keyring_count(kr), 1);
	keyring_free(kr);
}
END_TEST

START_TEST(test_subkeys_are_crypto_kdf_of_the_mac_key)
{
	struct keyring *kr = keyring_new();
	struct secbuf *sub = NULL;
	ck_assert_int_eq(keyring_subkey(kr, KEYRING_SUBKEY_AUDIT, &sub), -ENOKEY);
	ck_assert_ptr_null(sub);
	struct secbuf *mac = random_key();
	ck_assert_int_eq(keyring_add(kr, KEYRING_MAC_KEY_ID, mac), 0);
	struct secbuf *audit = NULL, *token = NULL, *again = NULL;
	ck_assert_int_eq(keyring_subkey(kr, KEYRING_SUBKEY_AUDIT, &audit), 0);
	ck_assert_int_eq(keyring_subkey(kr, KEYRING_SUBKEY_TOKEN, &token), 0);
	ck_assert_int_eq(keyring_subkey(kr, KEYRING_SUBKEY_AUDIT, &again), 0);
	ck_assert_uint_eq(audit->len, 32);
	ck_assert(sodium_memcmp(audit->data, again->data, 32) == 0);
	ck_assert(sodium_memcmp(audit->data, token->data, 32) != 0);
	ck_assert(sodium_memcmp(audit->data, mac->data, 32) != 0);
	uint8_t want[32];
	crypto_kdf_derive_from_key(want, 32, 1, "vaultd__", mac->data);
	ck_assert(sodium_memcmp(audit->data, want, 32) == 0);
	ck_assert_int_eq(kernel_write_errno(audit->data), EFAULT);
	secbuf_free(audit);
	secbuf_free(token);
	secbuf_free(again);
	keyring_free(kr);
}
END_TEST

static Suite *keyring_suite(void)
{
	Suite *s = suite_create("keyring");
	TCase *kf = tcase_create("keyfile");
	tcase_add_checked_fixture(kf, setup, teardown);
	tcase_add_test(kf, test_generated_keyfile_is_private_and_reads_back);
	tcase_add_test(kf, test_generate_never_overwrites_an_existing_file);
	tcase_add_test(kf, test_generate_does_not_follow_a_planted_symlink);
	tcase_add_test(kf, test_keyfile_readable_by_group_or_world_is_refused);
	tcase_add_test(kf, test_keyfile_of_wrong_size_is_refused);
	tcase_add_test(kf, test_keyfile_missing_or_directory_is_refused);
	tcase_add_test(kf, test_keyfile_that_is_a_fifo_is_refused_without_blocking);
	suite_add_tcase(s, kf);
	TCase *kdf = tcase_create("passphrase");
	tcase_set_timeout(kdf, 60);
	tcase_add_test(kdf, test_passphrase_kdf_is_deterministic_for_same_params);
	tcase_add_test(kdf, test_passphrase_kdf_differs_for_other_salt_passphrase_or_cost);
	tcase_add_test(kdf, test_passphrase_kdf_refuses_params_below_minimum);
	tcase_add_test(kdf, test_kdf_params_new_uses_named_costs_and_fresh_salts);
	suite_add_tcase(s, kdf);
	TCase *wr = tcase_create("wrap");
	tcase_add_checked_fixture(wr, setup, teardown);
	tcase_set_timeout(wr, 60);
	tcase_add_test(wr, test_wrap_round_trip_gives_a_read_only_key);
	tcase_add_test(wr, test_unwrap_with_wrong_kek_is_rejected);
	tcase_add_test(wr, test_unwrap_under_another_store_or_key_id_is_rejected);
	tcase_add_test(wr, test_unwrap_of_tampered_or_truncated_key_is_rejected);
	tcase_add_test(wr, test_wrap_refuses_keys_of_wrong_size);
	suite_add_tcase(s, wr);
	TCase *kr = tcase_create("keyring");
	tcase_add_test(kr, test_keyring_holds_keys_by_id_read_only);
	tcase_add_test(kr, test_keyring_refuses_a_duplicate_id_and_frees_it);
	tcase_add_test(kr, test_subkeys_are_crypto_kdf_of_the_mac_key);
	suite_add_tcase(s, kr);
	return s;
}

int main(void)
{
	return check_support_run(keyring_suite());
}
