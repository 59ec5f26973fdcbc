#!/bin/bash
# Seed corpora for the libFuzzer harnesses in tests/fuzz, made from the
# reference datagrams in ../datagrams so the fuzzers start from valid input
# of every type instead of having to find the magic and checksum first.
# Run it again after changing a vector; the outputs are committed.
#
#   wire/NN-name.bin  the bytes of each ../datagrams/NN-name.hex, for
#                     fuzz_wire.c, which decodes one datagram per input.
#   recv/*.bin        inputs for fuzz_recv.c: datagrams, each after its
#                     length (2 bytes, big-endian), for the session and file
#                     that harness opens (see below).
#   send/*.bin        inputs for fuzz_send.c, in the same form: the
#                     receiver's answers to the sender that harness runs.
set -euo pipefail
cd "$(dirname "$0")"

# The bytes of a .hex vector: each line's text before the two spaces that
# open its annotation, comments and blank lines left out.
hex_bytes() {
	sed -e '/^#/d' -e '/^$/d' -e 's/  .*//' "$1" | xxd -r -p
}

rm -rf wire recv send
mkdir wire recv send
for f in ../datagrams/*.hex; do
	hex_bytes "$f" >"wire/$(basename "$f" .hex).bin"
done

# fuzz_recv.c opens session 0x5e55 with 4096-byte blocks and offers file 0 of
# 3 * 4096 + 7 bytes, so its last block, 3, is one 7-byte chunk.  The vectors
# talk about another session and file; rewrite those fields (offsets from
# cft-protocol(7)) and the checksum, which the harness would reseal anyway.
python3 - <<'PY'
import hashlib, struct, zlib

HDR = 18            # the header: magic .. checksum
SESSION = 0x5e55    # fuzz_recv.c's session
FILE = 0            # ... and the file it offers
LAST_BLOCK = 3      # the 7-byte block at the end of that file
PAYLOAD = b"cft-kat"  # its 7 bytes

def wire(name):
    with open("wire/%s.bin" % name, "rb") as f:
        return bytearray(f.read())

def seal(d):
    d[14:18] = bytes(4)
    d[14:18] = struct.pack(">I", zlib.crc32(bytes(d)))
    return bytes(d)

def for_harness(name, fields):
    """The vector `name` with fields {offset: (struct format, value)} set."""
    d = wire(name)
    struct.pack_into(">Q", d, 6, SESSION)
    for off, (fmt, value) in fields.items():
        struct.pack_into(">" + fmt, d, off, value)
    return seal(d)

block = for_harness("04-block", {HDR: ("I", FILE), HDR + 4: ("I", LAST_BLOCK),
                                 HDR + 8: ("32s", hashlib.sha256(PAYLOAD).digest())})
# The DATA vector's payload is 5 bytes; this chunk needs 7.
data = bytearray(wire("05-data")[:HDR + 16]) + PAYLOAD
struct.pack_into(">Q", data, 6, SESSION)
struct.pack_into(">IIHH", data, HDR + 4, FILE, LAST_BLOCK, 0, len(PAYLOAD))
data = seal(data)
probe = for_harness("06-probe", {HDR: ("I", FILE)})
sums = for_harness("08-sums", {HDR: ("I", FILE), HDR + 8: ("I", 0)})
commit = for_harness("09-commit", {HDR: ("I", FILE)})
error = for_harness("12-error", {HDR + 2: ("I", FILE)})
bye = for_harness("10-bye", {})

seeds = {
    "01-block-data": [block, data],     # the last block, digest first
    "02-data-block": [data, block],     # ... and data first
    "03-probe": [probe],
    "04-sums": [sums],
    "05-commit": [commit],
    "06-error": [error],
    "07-bye": [bye],
    "08-session": [block, data, probe, sums, commit, probe, bye],
}
for name, datagrams in seeds.items():
    with open("recv/%s.bin" % name, "wb") as f:
        for d in datagrams:
            f.write(struct.pack(">H", len(d)) + d)
PY

# fuzz_send.c sends file 0 ("a", 3 * 4096 + 7 bytes of i * 7 % 251) and file 1
# (empty) in 4096-byte blocks; it sets the session id itself.  Answers for
# that session: the HELLO_ACK, STATUS for file 0 in each state, an ERROR.
python3 - <<'PY'
import hashlib, struct, zlib

HDR = 18
A = bytes(i * 7 % 251 for i in range(3 * 4096 + 7))

def wire(name):
    with open("wire/%s.bin" % name, "rb") as f:
        return bytearray(f.read())

def seal(d):
    d[14:18] = bytes(4)
    d[14:18] = struct.pack(">I", zlib.crc32(bytes(d)))
    return bytes(d)

def status(name, file, rnd, echo=0):
    """A STATUS vector about `file` in round `rnd` (offsets: cft-protocol(7))."""
    d = wire(name)
    struct.pack_into(">IIxQ", d, HDR, file, rnd, echo)
    return d

ack = wire("02-hello-ack")
struct.pack_into(">H", ack, HDR + 4, 4)           # a window of 4 blocks
ack = seal(ack)
receiving = status("07-status-receiving", 0, 0, 1)
struct.pack_into(">I", receiving, HDR + 25, 0)    # base 0
receiving = seal(receiving)
verifying = seal(status("07-status-verifying", 0, 0))
verified = status("07-status-verified", 0, 0)
struct.pack_into(">Q32s", verified, HDR + 25, len(A), hashlib.sha256(A).digest())
verified = seal(verified)
wrong = status("07-status-verified", 0, 0)       # another digest: a round of SUMS
struct.pack_into(">Q", wrong, HDR + 25, len(A))
wrong = seal(wrong)
sums = seal(status("07-status-sums", 0, 1))
committed = seal(status("07-status-committed", 0, 0))
error = wire("12-error")
struct.pack_into(">I", error, HDR + 2, 0)
error = seal(error)

seeds = {
    "01-ack": [ack],
    "02-receiving": [ack, receiving],
    "03-verified": [ack, verifying, verified, committed],
    "04-mismatch": [ack, verifying, wrong, sums, receiving],
    "05-error": [ack, error],
}
for name, datagrams in seeds.items():
    with open("send/%s.bin" % name, "wb") as f:
        for d in datagrams:
            f.write(struct.pack(">H", len(d)) + d)
PY
