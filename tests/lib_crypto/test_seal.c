/* The value envelope: round trips, the blob layout, and that every forged,
 * truncated or moved blob (other name, version, store id, key id, DEK) fails. */
#include <errno.h>
#include <sodium.h>

#include "check_support.h"
#include "crypto_test.h"
#include "seal.h"

static struct secbuf *dek;
static uint8_t store_id[VAULT_STORE_ID_BYTES];
static const char *NAME = "db_password";
static const uint64_t VERSION = 7;
static const uint32_t KEY_ID = 1;
static const char PT[] = "correct horse battery staple, 64 bytes of plaintext..........";

static void setup(void)
{
	dek = secbuf_new(VAULT_KEY_BYTES);
	ck_assert_ptr_nonnull(dek);
	randombytes_buf(dek->data, dek->len);
	randombytes_buf(store_id, sizeof(store_id));
}

static void teardown(void)
{
	secbuf_free(dek);
	dek = NULL;
}

/* Seals PT under the default coordinates into a malloc'd blob. */
static uint8_t *seal_default(size_t *len)
{
	size_t ptlen = sizeof(PT) - 1;
	*len = ptlen + SEAL_OVERHEAD;
	uint8_t *blob = malloc(*len);
	ck_assert_ptr_nonnull(blob);
	ck_assert_int_eq(seal_value(dek, store_id, NAME, VERSION, KEY_ID, (const uint8_t *)PT,
	                            ptlen, blob, *len),
	                 0);
	return blob;
}

/* Opening must fail with -EBADMSG and leave the output untouched. */
static void assert_open_fails(const struct secbuf *k, const uint8_t *sid, const char *name,
                              uint64_t version, uint32_t key_id, const uint8_t *blob, size_t len,
                              const char *what)
{
	struct secbuf *sentinel = (struct secbuf *)0x1;
	struct secbuf *pt = sentinel;
	int r = seal_open(k, sid, name, version, key_id, blob, len, &pt);
	ck_assert_msg(r == -EBADMSG, "%s: expected -EBADMSG, got %d", what, r);
	ck_assert_msg(pt == sentinel, "%s: output written on failure", what);
}

START_TEST(test_round_trip)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	struct secbuf *pt = NULL;
	ck_assert_int_eq(seal_open(dek, store_id, NAME, VERSION, KEY_ID, blob, len, &pt), 0);
	ck_assert_uint_eq(pt->len, sizeof(PT) - 1);
	ck_assert_mem_eq(pt->data, PT, pt->len);
	ck_assert_uint_eq(pt->data[pt->len], 0);
	secbuf_free(pt);
	free(blob);
}
END_TEST

START_TEST(test_round_trip_empty_and_maximum_values)
{
	size_t sizes[] = {0, 1, VAULT_MAX_VALUE_BYTES};
	for (size_t i = 0; i < 3; i++) {
		size_t n = sizes[i];
		uint8_t *in = malloc(n + 1);
		uint8_t *blob = malloc(n + SEAL_OVERHEAD);
		randombytes_buf(in, n);
		ck_assert_int_eq(
		    seal_value(dek, store_id, NAME, 1, 1, in, n, blob, n + SEAL_OVERHEAD), 0);
		struct secbuf *pt = NULL;
		ck_assert_int_eq(seal_open(dek, store_id, NAME, 1, 1, blob, n + SEAL_OVERHEAD, &pt),
		                 0);
		ck_assert_uint_eq(pt->len, n);
		ck_assert(memcmp(pt->data, in, n) == 0);
		secbuf_free(pt);
		free(in);
		free(blob);
	}
}
END_TEST

START_TEST(test_blob_layout_is_version_nonce_ciphertext_tag)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	ck_assert_uint_eq(len, 1 + 24 + (sizeof(PT) - 1) + 16);
	ck_assert_uint_eq(blob[0], 0x01);
	/* The ciphertext is not the plaintext. */
	ck_assert(memcmp(blob + 25, PT, sizeof(PT) - 1) != 0);
	free(blob);
}
END_TEST

START_TEST(test_each_seal_uses_a_fresh_nonce)
{
	size_t len;
	uint8_t *a = seal_default(&len);
	uint8_t *b = seal_default(&len);
	ck_assert(memcmp(a + 1, b + 1, SEAL_NONCE_BYTES) != 0);
	ck_assert(memcmp(a, b, len) != 0);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_flipping_any_bit_of_the_blob_fails)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	/* Version byte, every nonce byte, every ciphertext byte, every tag byte. */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			blob[i] ^= (uint8_t)(1u << bit);
			char what[64];
			snprintf(what, sizeof(what), "byte %zu bit %d flipped", i, bit);
			assert_open_fails(dek, store_id, NAME, VERSION, KEY_ID, blob, len, what);
			blob[i] ^= (uint8_t)(1u << bit);
		}
	}
	struct secbuf *pt = NULL;
	ck_assert_int_eq(seal_open(dek, store_id, NAME, VERSION, KEY_ID, blob, len, &pt), 0);
	secbuf_free(pt);
	free(blob);
}
END_TEST

START_TEST(test_every_truncated_length_fails)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	for (size_t n = 0; n < len; n++) {
		/* A copy of exactly n bytes, so ASan would see any over-read. */
		uint8_t *t = malloc(n ? n : 1);
		memcpy(t, blob, n);
		char what[48];
		snprintf(what, sizeof(what), "truncated to %zu bytes", n);
		assert_open_fails(dek, store_id, NAME, VERSION, KEY_ID, t, n, what);
		free(t);
	}
	assert_open_fails(dek, store_id, NAME, VERSION, KEY_ID, NULL, 0, "NULL blob");
	free(blob);
}
END_TEST

START_TEST(test_appended_byte_fails)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, blob, len);
	longer[len] = 0;
	assert_open_fails(dek, store_id, NAME, VERSION, KEY_ID, longer, len + 1,
	                  "one byte appended");
	free(longer);
	free(blob);
}
END_TEST

START_TEST(test_unknown_version_byte_fails)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	for (int v = 0; v < 256; v++) {
		if (v == SEAL_BLOB_VERSION)
			continue;
		blob[0] = (uint8_t)v;
		assert_open_fails(dek, store_id, NAME, VERSION, KEY_ID, blob, len, "version byte");
	}
	free(blob);
}
END_TEST

START_TEST(test_open_fails_under_another_name)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	assert_open_fails(dek, store_id, "db_passwore", VERSION, KEY_ID, blob, len, "other name");
	assert_open_fails(dek, store_id, "db_password2", VERSION, KEY_ID, blob, len, "longer name");
	assert_open_fails(dek, store_id, "db_passwor", VERSION, KEY_ID, blob, len, "prefix name");
	free(blob);
}
END_TEST

START_TEST(test_open_fails_under_another_version)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	assert_open_fails(dek, store_id, NAME, VERSION + 1, KEY_ID, blob, len, "version+1");
	assert_open_fails(dek, store_id, NAME, VERSION - 1, KEY_ID, blob, len, "version-1");
	assert_open_fails(dek, store_id, NAME, VERSION | (1ull << 63), KEY_ID, blob, len,
	                  "version high bit");
	free(blob);
}
END_TEST

START_TEST(test_open_fails_under_another_store_id)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	for (size_t i = 0; i < VAULT_STORE_ID_BYTES; i++) {
		uint8_t other[VAULT_STORE_ID_BYTES];
		memcpy(other, store_id, sizeof(other));
		other[i] ^= 0x80;
		assert_open_fails(dek, other, NAME, VERSION, KEY_ID, blob, len, "other store id");
	}
	free(blob);
}
END_TEST

START_TEST(test_open_fails_under_another_key_id)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	assert_open_fails(dek, store_id, NAME, VERSION, KEY_ID + 1, blob, len, "key id+1");
	assert_open_fails(dek, store_id, NAME, VERSION, 0, blob, len, "key id 0");
	free(blob);
}
END_TEST

START_TEST(test_open_fails_under_another_dek)
{
	size_t len;
	uint8_t *blob = seal_default(&len);
	struct secbuf *other = secbuf_new(VAULT_KEY_BYTES);
	randombytes_buf(other->data, other->len);
	assert_open_fails(other, store_id, NAME, VERSION, KEY_ID, blob, len, "other DEK");
	secbuf_free(other);
	free(blob);
}
END_TEST

START_TEST(test_seal_refuses_bad_arguments)
{
	uint8_t out[64 + SEAL_OVERHEAD];
	const uint8_t pt[64] = {0};
	/* Output buffer one byte short. */
	ck_assert_int_eq(seal_value(dek, store_id, NAME, 1, 1, pt, 64, out, sizeof(out) - 1),
	                 -EINVAL);
	/* Names the validator refuses. */
	ck_assert_int_eq(seal_value(dek, store_id, "../x", 1, 1, pt, 64, out, sizeof(out)),
	                 -EINVAL);
	ck_assert_int_eq(seal_value(dek, store_id, "", 1, 1, pt, 64, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(seal_value(dek, store_id, NULL, 1, 1, pt, 64, out, sizeof(out)), -EINVAL);
	/* A key of the wrong size. */
	struct secbuf *short_key = secbuf_new(16);
	ck_assert_int_eq(seal_value(short_key, store_id, NAME, 1, 1, pt, 64, out, sizeof(out)),
	                 -EINVAL);
	struct secbuf *pt_out = NULL;
	ck_assert_int_eq(seal_open(short_key, store_id, NAME, 1, 1, out, sizeof(out), &pt_out),
	                 -EINVAL);
	ck_assert_ptr_null(pt_out);
	secbuf_free(short_key);
}
END_TEST

START_TEST(test_seal_refuses_values_over_512_kib)
{
	size_t n = VAULT_MAX_VALUE_BYTES + 1;
	uint8_t *pt = calloc(1, n);
	uint8_t *out = malloc(n + SEAL_OVERHEAD);
	ck_assert_int_eq(seal_value(dek, store_id, NAME, 1, 1, pt, n, out, n + SEAL_OVERHEAD),
	                 -EFBIG);
	free(pt);
	free(out);
}
END_TEST

static Suite *seal_suite(void)
{
	Suite *s = suite_create("seal");
	TCase *tc = tcase_create("envelope");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_round_trip_empty_and_maximum_values);
	tcase_add_test(tc, test_blob_layout_is_version_nonce_ciphertext_tag);
	tcase_add_test(tc, test_each_seal_uses_a_fresh_nonce);
	tcase_add_test(tc, test_flipping_any_bit_of_the_blob_fails);
	tcase_add_test(tc, test_every_truncated_length_fails);
	tcase_add_test(tc, test_appended_byte_fails);
	tcase_add_test(tc, test_unknown_version_byte_fails);
	tcase_add_test(tc, test_open_fails_under_another_name);
	tcase_add_test(tc, test_open_fails_under_another_version);
	tcase_add_test(tc, test_open_fails_under_another_store_id);
	tcase_add_test(tc, test_open_fails_under_another_key_id);
	tcase_add_test(tc, test_open_fails_under_another_dek);
	tcase_add_test(tc, test_seal_refuses_bad_arguments);
	tcase_add_test(tc, test_seal_refuses_values_over_512_kib);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_support_run(seal_suite());
}
