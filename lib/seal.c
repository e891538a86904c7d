/* The value envelope: version byte || random 24-byte nonce || XChaCha20-
 * Poly1305 ciphertext || tag, with AD binding store id, name, version and key
 * id so that a blob moved anywhere else fails to open. Layout: docs/security.md. */
#include "seal.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "names.h"

_Static_assert(SEAL_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(SEAL_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(VAULT_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

/* "vaultd/value/v1" || store_id || u16be(name_len) || name || u64be(version)
 * || u32be(key_id): at most 15 + 16 + 2 + 128 + 8 + 4 bytes. */
#define VALUE_AD_MAX                                                                               \
	(sizeof(SEAL_AD_CONTEXT) - 1 + VAULT_STORE_ID_BYTES + 2 + VAULT_MAX_NAME_LEN + 8 + 4)

static uint8_t *put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return p + n;
}

static uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

/* Builds the value AD into ad (VALUE_AD_MAX bytes); returns its length, or 0
 * when the name is not a valid secret name. */
static size_t value_ad(uint8_t ad[VALUE_AD_MAX], const uint8_t store_id[VAULT_STORE_ID_BYTES],
                       const char *name, uint64_t version, uint32_t key_id)
{
	if (!name_is_valid_str(name))
		return 0;
	size_t name_len = strlen(name);
	uint8_t *p = ad;
	p = put_bytes(p, SEAL_AD_CONTEXT, sizeof(SEAL_AD_CONTEXT) - 1);
	p = put_bytes(p, store_id, VAULT_STORE_ID_BYTES);
	p = put_be(p, name_len, 2);
	p = put_bytes(p, name, name_len);
	p = put_be(p, version, 8);
	p = put_be(p, key_id, 4);
	return (size_t)(p - ad);
}

int seal_blob(const struct secbuf *key, const uint8_t *ad, size_t adlen, const uint8_t *pt,
              size_t ptlen, uint8_t *out)
{
	if (!key || key->len != VAULT_KEY_BYTES || (!pt && ptlen > 0))
		return -EINVAL;
	out[0] = SEAL_BLOB_VERSION;
	uint8_t *nonce = out + 1;
	/* Random 192-bit nonces: collisions are negligible for any number of
	 * values one key will ever seal, so no counter state is needed. */
	randombytes_buf(nonce, SEAL_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + SEAL_NONCE_BYTES, NULL, pt, ptlen, ad,
	                                           adlen, NULL, nonce, key->data);
	return 0;
}

int seal_blob_open(const struct secbuf *key, const uint8_t *ad, size_t adlen, const uint8_t *blob,
                   size_t bloblen, uint8_t *pt_out)
{
	if (!key || key->len != VAULT_KEY_BYTES)
		return -EINVAL;
	/* Refuse what we do not know before trying to authenticate it. */
	if (!blob || bloblen < SEAL_OVERHEAD || blob[0] != SEAL_BLOB_VERSION)
		return -EBADMSG;
	const uint8_t *nonce = blob + 1;
	const uint8_t *ct = blob + 1 + SEAL_NONCE_BYTES;
	size_t ctlen = bloblen - 1 - SEAL_NONCE_BYTES;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt_out, NULL, NULL, ct, ctlen, ad, adlen,
	                                               nonce, key->data) != 0)
		return -EBADMSG;
	return 0;
}

int seal_value(const struct secbuf *dek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
               const char *name, uint64_t version, uint32_t key_id, const uint8_t *pt, size_t ptlen,
               uint8_t *out, size_t outcap)
{
	if (ptlen > VAULT_MAX_VALUE_BYTES)
		return -EFBIG;
	if (!store_id || !out || outcap < ptlen + SEAL_OVERHEAD)
		return -EINVAL;
	uint8_t ad[VALUE_AD_MAX];
	size_t adlen = value_ad(ad, store_id, name, version, key_id);
	if (adlen == 0)
		return -EINVAL;
	return seal_blob(dek, ad, adlen, pt, ptlen, out);
}

int seal_open(const struct secbuf *dek, const uint8_t store_id[VAULT_STORE_ID_BYTES],
              const char *name, uint64_t version, uint32_t key_id, const uint8_t *blob,
              size_t bloblen, struct secbuf **ret_pt)
{
	if (!dek || dek->len != VAULT_KEY_BYTES || !store_id || !ret_pt)
		return -EINVAL;
	uint8_t ad[VALUE_AD_MAX];
	size_t adlen = value_ad(ad, store_id, name, version, key_id);
	if (adlen == 0)
		return -EINVAL;
	if (!blob || bloblen < SEAL_OVERHEAD || bloblen - SEAL_OVERHEAD > VAULT_MAX_VALUE_BYTES)
		return -EBADMSG;
	struct secbuf *pt = secbuf_new(bloblen - SEAL_OVERHEAD);
	if (!pt)
		return -ENOMEM;
	int r = seal_blob_open(dek, ad, adlen, blob, bloblen, pt->data);
	if (r < 0) {
		secbuf_free(pt);
		return r;
	}
	*ret_pt = pt;
	return 0;
}
