#!/usr/bin/env python3
"""The keyed known answers of tests/unit/test_seal.c, from cft-protocol(7).

Computed from the man page's "Keys" with python3's hashlib, hmac and the
cryptography package (HKDF, ChaCha20-Poly1305), never with cft's code, from
the keyless vectors in datagrams/: key 00 01 .. 1f, the vectors' session, the
sender's random 32 bytes of 0x5e, the receiver's of 0x7e.  Prints each
answer as hex; run it after testdata/vectors.py and paste them into the test.
"""
import hashlib, hmac, struct, sys, zlib, os
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
D = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "datagrams")
def vec(name):
    b = b""
    for line in open(os.path.join(D, name)):
        if line.startswith("#") or not line.strip(): continue
        b += bytes.fromhex(line[:26])
    return b
key = bytes(range(32))
def hkdf(salt, info, n):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=salt, info=info).derive(key)
hk = hkdf(b"", b"cft-6 hello key", 32)
print("HELLO_KEY", hk.hex())
h = bytearray(vec("01-hello.hex"))
h[4:6] = b"\x00\x01"; h[14:18] = bytes(4)
body = bytes(h[:-16])
h[-16:] = hmac.new(hk, body, hashlib.sha256).digest()[:16]
h[14:18] = struct.pack(">I", zlib.crc32(bytes(h)))
print("SIGNED_HELLO", h.hex())
sid = bytes.fromhex("0123456789abcdef")
sk = hkdf(b"\x5e" * 32 + b"\x7e" * 32, b"cft-6 session keys" + sid, 64)
def seal(name, k, pn, data=False):
    d = vec(name)
    hdr = bytearray(d[:18]); hdr[4:6] = b"\x00\x02"; hdr[14:18] = struct.pack(">I", pn & 0xffffffff)
    if data:
        body = d[18:18 + 16] + d[18 + 24:]
    else:
        body = d[18:-16]
    nonce = bytes(4) + struct.pack(">Q", pn)
    return (bytes(hdr) + ChaCha20Poly1305(k).encrypt(nonce, body, bytes(hdr))).hex()
print("PROBE_0", seal("06-probe.hex", sk[:32], 0))
print("DATA_2_32_2", seal("05-data.hex", sk[:32], 2**32 + 2, True))
print("STATUS_7", seal("07-status-committed.hex", sk[32:], 7))
