#!/usr/bin/env python3
"""Independent check of the golden files and vectors against the layouts in
docs/security.md, without libsodium: HChaCha20 by hand + the IETF
ChaCha20-Poly1305 of python3-cryptography (= XChaCha20-Poly1305-IETF), and
hashlib.blake2b for the subkeys and the audit hash, compared with the values
test_golden.c holds. Run by ctest as crypto.golden.independent (Debian's
python3 with python3-cryptography, from scripts/deps.sh --test)."""
import hashlib
import os
import re
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

HERE = os.path.dirname(os.path.abspath(__file__))


def hchacha20(key, nonce16):
    def rotl(v, c):
        return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))

    def qr(s, a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)

    s = list(struct.unpack('<4I', b'expand 32-byte k') + struct.unpack('<8I', key)
             + struct.unpack('<4I', nonce16))
    for _ in range(10):
        qr(s, 0, 4, 8, 12); qr(s, 1, 5, 9, 13); qr(s, 2, 6, 10, 14); qr(s, 3, 7, 11, 15)
        qr(s, 0, 5, 10, 15); qr(s, 1, 6, 11, 12); qr(s, 2, 7, 8, 13); qr(s, 3, 4, 9, 14)
    return struct.pack('<8I', *(s[0:4] + s[12:16]))


def xchacha_open(key, blob, ad):
    assert blob[0] == 0x01, 'version byte'
    nonce, ct = blob[1:25], blob[25:]
    sub = hchacha20(key, nonce[:16])
    return ChaCha20Poly1305(sub).decrypt(b'\0' * 4 + nonce[16:], ct, ad)


def main():
    dek, kek, sid = bytes(range(32)), bytes(range(0x20, 0x40)), bytes(range(0x40, 0x50))
    name = b'golden.secret'
    blob = open(os.path.join(HERE, 'sealed_value_v1.bin'), 'rb').read()
    ad = (b'vaultd/value/v1' + sid + struct.pack('>H', len(name)) + name
          + struct.pack('>QI', 3, 2))
    assert xchacha_open(dek, blob, ad) == b'vaultd golden value v1'
    w = open(os.path.join(HERE, 'wrapped_key_v1.bin'), 'rb').read()
    assert len(w) == 73
    assert xchacha_open(kek, w, b'vaultd/dek/v1' + sid + struct.pack('>I', 1)) == dek

    def sub(i):
        return hashlib.blake2b(b'', digest_size=32, key=dek, salt=struct.pack('<Q', i) + bytes(8),
                               person=b'vaultd__' + bytes(8)).digest()

    def s(x):
        return struct.pack('>H', len(x)) + x.encode()

    msg = (b'vaultd/audit/v1' + bytes(32) + struct.pack('>Qq', 1, 1700000000123)
           + struct.pack('>qqq', 0, -1, 4242) + s('acc_golden') + s('secret.read')
           + s('golden.secret') + s('ok') + struct.pack('>i', 200))
    got = {'SUBKEY_AUDIT_HEX': sub(1).hex(), 'SUBKEY_TOKEN_HEX': sub(2).hex(),
           'AUDIT_HASH_HEX': hashlib.blake2b(msg, digest_size=32, key=sub(1)).hexdigest()}
    c = open(os.path.join(HERE, '..', 'lib_crypto', 'test_golden.c')).read()
    bad = 0
    for k, v in got.items():
        m = re.search(r'#define %s "([0-9a-f]{64})"' % k, c)
        want = m.group(1) if m else '(missing in test_golden.c)'
        print('%-17s %s %s' % (k, v, 'ok' if v == want else 'MISMATCH: test_golden.c has ' + want))
        bad += v != want
    print('sealed value and wrapped key open with the documented layouts')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
