/* Golden blobs of the on-disk format (tests/data): a sealed value and a
 * wrapped key made by an earlier build must still open, byte layouts must
 * match docs/security.md, and the subkey and audit-hash derivations must give
 * the recorded vectors. A failure here means the format changed: that needs a
 * new version byte / context string and a migration, not new golden files.
 * `test_golden --write DIR` regenerates the blobs (see tests/data/README.md). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include "audit_chain.h"
#include "check_support.h"
#include "crypto_test.h"
#include "keyring.h"
#include "seal.h"

#ifndef VAULT_TEST_DATA_DIR
#error "VAULT_TEST_DATA_DIR must point at tests/data"
#endif

/* The fixed inputs the golden files were made with. */
#define G_NAME "golden.secret"
#define G_VERSION 3u
#define G_KEY_ID 2u
#define G_WRAP_KEY_ID 1u
#define G_PLAINTEXT "vaultd golden value v1"

static void fill_seq(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static struct secbuf *dek_fixed(void) /* 00 01 .. 1f */
{
	struct secbuf *k = secbuf_new(VAULT_KEY_BYTES);
	fill_seq(k->data, k->len, 0x00);
	return k;
}

static struct secbuf *kek_fixed(void) /* 20 21 .. 3f */
{
	struct secbuf *k = secbuf_new(VAULT_KEY_BYTES);
	fill_seq(k->data, k->len, 0x20);
	return k;
}

static void store_id_fixed(uint8_t id[VAULT_STORE_ID_BYTES]) /* 40 .. 4f */
{
	fill_seq(id, VAULT_STORE_ID_BYTES, 0x40);
}

static size_t read_golden(const char *file, uint8_t *buf, size_t cap)
{
	char path[512];
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", VAULT_TEST_DATA_DIR, file),
	                 (int)sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "cannot open %s", path);
	ssize_t n = read(fd, buf, cap);
	close(fd);
	ck_assert_msg(n > 0 && (size_t)n < cap, "%s: unexpected size %zd", path, n);
	return (size_t)n;
}

START_TEST(test_golden_sealed_value_still_opens)
{
	uint8_t blob[256], sid[VAULT_STORE_ID_BYTES];
	size_t n = read_golden("sealed_value_v1.bin", blob, sizeof(blob));
	ck_assert_uint_eq(n, strlen(G_PLAINTEXT) + SEAL_OVERHEAD);
	store_id_fixed(sid);
	struct secbuf *dek = dek_fixed(), *pt = NULL;
	ck_assert_int_eq(seal_open(dek, sid, G_NAME, G_VERSION, G_KEY_ID, blob, n, &pt), 0);
	ck_assert_str_eq((const char *)pt->data, G_PLAINTEXT);
	secbuf_free(pt);
	secbuf_free(dek);
}
END_TEST

/* Opens the golden blob with libsodium directly, building the AD from the
 * layout written in docs/security.md: the document and the code agree. */
START_TEST(test_golden_sealed_value_matches_documented_layout)
{
	uint8_t blob[256], sid[VAULT_STORE_ID_BYTES];
	size_t n = read_golden("sealed_value_v1.bin", blob, sizeof(blob));
	store_id_fixed(sid);
	uint8_t ad[256];
	size_t a = 0;
	memcpy(ad + a, "vaultd/value/v1", 15), a += 15;
	memcpy(ad + a, sid, 16), a += 16;
	ad[a++] = 0, ad[a++] = (uint8_t)strlen(G_NAME);
	memcpy(ad + a, G_NAME, strlen(G_NAME)), a += strlen(G_NAME);
	for (int i = 7; i >= 0; i--)
		ad[a++] = (uint8_t)((uint64_t)G_VERSION >> (8 * i));
	for (int i = 3; i >= 0; i--)
		ad[a++] = (uint8_t)((uint32_t)G_KEY_ID >> (8 * i));
	ck_assert_uint_eq(blob[0], 0x01);
	uint8_t pt[256];
	unsigned long long ptlen = 0;
	struct secbuf *dek = dek_fixed();
	ck_assert_int_eq(crypto_aead_xchacha20poly1305_ietf_decrypt(
	                     pt, &ptlen, NULL, blob + 25, n - 25, ad, a, blob + 1, dek->data),
	                 0);
	ck_assert_uint_eq(ptlen, strlen(G_PLAINTEXT));
	ck_assert(memcmp(pt, G_PLAINTEXT, ptlen) == 0);
	secbuf_free(dek);
}
END_TEST

START_TEST(test_golden_wrapped_key_still_unwraps)
{
	uint8_t w[256], sid[VAULT_STORE_ID_BYTES];
	size_t n = read_golden("wrapped_key_v1.bin", w, sizeof(w));
	ck_assert_uint_eq(n, WRAPPED_KEY_BYTES);
	store_id_fixed(sid);
	struct secbuf *kek = kek_fixed(), *dek = dek_fixed(), *out = NULL;
	ck_assert_int_eq(key_unwrap(kek, sid, G_WRAP_KEY_ID, w, n, &out), 0);
	ck_assert(sodium_memcmp(out->data, dek->data, VAULT_KEY_BYTES) == 0);
	secbuf_free(out);
	/* And through the documented layout: AD "vaultd/dek/v1" || id || u32be. */
	uint8_t ad[13 + 16 + 4], key[VAULT_KEY_BYTES];
	memcpy(ad, "vaultd/dek/v1", 13);
	memcpy(ad + 13, sid, 16);
	ad[29] = 0, ad[30] = 0, ad[31] = 0, ad[32] = G_WRAP_KEY_ID;
	ck_assert_uint_eq(w[0], 0x01);
	ck_assert_int_eq(crypto_aead_xchacha20poly1305_ietf_decrypt(
	                     key, NULL, NULL, w + 25, n - 25, ad, sizeof(ad), w + 1, kek->data),
	                 0);
	ck_assert(sodium_memcmp(key, dek->data, VAULT_KEY_BYTES) == 0);
	secbuf_free(kek);
	secbuf_free(dek);
}
END_TEST

/* Recorded outputs for master key 00..1f. */
#define SUBKEY_AUDIT_HEX "42cc21a7b8a8b9cf291d42909e67419f9b9890a0e91cb53c2b9da8e3b18cf0e8"
#define SUBKEY_TOKEN_HEX "a8ba9f466aae90840bc9c848dc9cfda5b5314e85f51084b46f265c2341e3710f"
#define AUDIT_HASH_HEX "bcc5a0b25a500db54fb7495a6e0908736208ed0b98bb99f199e066cd5475f294"

static void audit_entry_fixed(struct audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = 1;
	e->time_ms = 1700000000123;
	e->uid = 0;
	e->gid = -1;
	e->pid = 4242;
	snprintf(e->accessor, sizeof(e->accessor), "acc_golden");
	snprintf(e->action, sizeof(e->action), "secret.read");
	snprintf(e->name, sizeof(e->name), "golden.secret");
	snprintf(e->result, sizeof(e->result), "ok");
	e->status = 200;
}

/* Subkeys 1 and 2 of MAC master key 00..1f, and the audit hash of the fixed
 * entry under subkey 1, as hex. Plain return codes: also used by --write,
 * outside Check. */
static int golden_vectors(char sub1[65], char sub2[65], char audit[65])
{
	struct keyring *kr = keyring_new();
	struct secbuf *a = NULL, *t = NULL;
	int r = kr ? keyring_add(kr, KEYRING_MAC_KEY_ID, dek_fixed()) : -ENOMEM;
	if (r == 0)
		r = keyring_subkey(kr, KEYRING_SUBKEY_AUDIT, &a);
	if (r == 0)
		r = keyring_subkey(kr, KEYRING_SUBKEY_TOKEN, &t);
	if (r == 0) {
		hex_encode(a->data, 32, sub1);
		hex_encode(t->data, 32, sub2);
		struct audit_entry e;
		audit_entry_fixed(&e);
		uint8_t h[AUDIT_HASH_BYTES];
		audit_chain_hash(a, &e, h);
		hex_encode(h, sizeof(h), audit);
	}
	secbuf_free(a);
	secbuf_free(t);
	keyring_free(kr);
	return r;
}

START_TEST(test_subkey_derivation_matches_recorded_vectors)
{
	char s1[65], s2[65], au[65];
	ck_assert_int_eq(golden_vectors(s1, s2, au), 0);
	ck_assert_str_eq(s1, SUBKEY_AUDIT_HEX);
	ck_assert_str_eq(s2, SUBKEY_TOKEN_HEX);
}
END_TEST

START_TEST(test_audit_hash_matches_recorded_vector)
{
	char s1[65], s2[65], au[65];
	ck_assert_int_eq(golden_vectors(s1, s2, au), 0);
	ck_assert_str_eq(au, AUDIT_HASH_HEX);
}
END_TEST

static int write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n) {
		perror(path);
		return -1;
	}
	return close(fd);
}

/* Regenerates the golden files (new nonces, same inputs) and prints the
 * vectors. Only for a deliberate format change. */
static int write_golden(const char *dir)
{
	uint8_t sid[VAULT_STORE_ID_BYTES], blob[256], w[WRAPPED_KEY_BYTES];
	store_id_fixed(sid);
	struct secbuf *dek = dek_fixed(), *kek = kek_fixed();
	size_t n = strlen(G_PLAINTEXT);
	if (seal_value(dek, sid, G_NAME, G_VERSION, G_KEY_ID, (const uint8_t *)G_PLAINTEXT, n, blob,
	               sizeof(blob)) != 0 ||
	    key_wrap(kek, sid, G_WRAP_KEY_ID, dek, w) != 0 ||
	    write_file(dir, "sealed_value_v1.bin", blob, n + SEAL_OVERHEAD) != 0 ||
	    write_file(dir, "wrapped_key_v1.bin", w, sizeof(w)) != 0)
		return 1;
	secbuf_free(dek);
	secbuf_free(kek);
	char s1[65], s2[65], au[65];
	if (golden_vectors(s1, s2, au) != 0)
		return 1;
	printf("subkey 1 (audit): %s\nsubkey 2 (token): %s\naudit hash:       %s\n", s1, s2, au);
	return 0;
}

static Suite *golden_suite(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("format");
	tcase_add_test(tc, test_golden_sealed_value_still_opens);
	tcase_add_test(tc, test_golden_sealed_value_matches_documented_layout);
	tcase_add_test(tc, test_golden_wrapped_key_still_unwraps);
	tcase_add_test(tc, test_subkey_derivation_matches_recorded_vectors);
	tcase_add_test(tc, test_audit_hash_matches_recorded_vector);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		if (vault_init() != 0)
			return 1;
		return write_golden(argv[2]);
	}
	return check_support_run(golden_suite());
}
