#!/bin/bash
# Seed corpora for the libFuzzer harnesses in tests/fuzz, made from the
# reference datagrams in ../datagrams so the fuzzers start from valid input
# of every type instead of having to find the magic, checksum, tag and the
# digests that make an answer believed first.  Run it again after changing
# a vector or a harness; the outputs are committed.
#
#   wire/NN-name.bin  the bytes of each ../datagrams/NN-name.hex, for
#                     fuzz_wire.c, which decodes one datagram per input.
#   recv/*.bin        inputs for fuzz_recv.c: datagrams, each after its
#                     length (2 bytes, big-endian), for the session and file
#                     that harness opens (see below).
#   send/*.bin        inputs for fuzz_send.c, in the same form: the
#                     receiver's answers to the sender that harness runs.
#
# Everything below is computed from cft-protocol(7), version 8, with
# python3's zlib and hashlib, not with cft's code.  The harnesses reseal the
# CRC-32 only, so each seed carries its own tag (or, for DATA, its leaf and
# check), and the digests that make the engines believe it: hello and offer
# echoes, commit digests, error references, block roots over chunk leaves.
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

# What both harnesses share: cft-protocol(7)'s digests, tags, leaves and
# checks.
# Each python3 program below starts with it.
common=$(cat <<'PY'
import hashlib, hmac, struct, zlib

HDR = 18            # the header: magic .. checksum
TAG = 16            # every datagram but DATA ends with one
VERSION = 8
DATA = 5
DATA_LEAF = HDR + 16        # DATA: sequence file block chunk length, leaf,
DATA_CHECK = HDR + 20       # ... check (the CRC-32 of the 20 bytes before it),
DATA_PAYLOAD = HDR + 24     # ... then the chunk's bytes
SESSION = 0x5e55    # both harnesses' session
BLOCK = 4096        # ... block size
NFILES = 2          # ... and number of files
CHUNK = 1400

def sha(b):
    return hashlib.sha256(b).digest()

def wire(name):
    """The bytes of vector `name`, its session made the harnesses'."""
    with open("wire/%s.bin" % name, "rb") as f:
        d = bytearray(f.read())
    struct.pack_into(">Q", d, 6, SESSION)
    return d

def body(name):
    """Vector `name` without its tag, to change fields in, then seal()."""
    return wire(name)[:-TAG]

def leaf(payload):
    """A chunk's leaf: the CRC-32 of its bytes."""
    return zlib.crc32(payload)

def leaves(payloads):
    """A list of leaves as CHUNKSUMS and the block root have them."""
    return b"".join(struct.pack(">I", leaf(p)) for p in payloads)

def seal(d):
    """Append the tag (or fill in DATA's leaf and check), then the CRC-32,
    both with the checksum field as zero."""
    d = bytearray(d)
    d[14:18] = bytes(4)
    if d[3] == DATA:
        struct.pack_into(">I", d, DATA_LEAF, leaf(bytes(d[DATA_PAYLOAD:])))
        struct.pack_into(">I", d, DATA_CHECK, zlib.crc32(bytes(d[HDR:DATA_CHECK])))
    else:
        d += sha(bytes(d))[:16]
    struct.pack_into(">I", d, 14, zlib.crc32(bytes(d)))
    return bytes(d)

def replace(d, off, old_len, new):
    """d with d[off:off+old_len] replaced by new (fields of other widths)."""
    return d[:off] + new + d[off + old_len:]

# Each harness's HELLO: fuzz_recv.c sends it with a random of zeros;
# fuzz_send.c's sender derives its random, HMAC-SHA-256 under the random its
# caller gave (zeros), of the session and the count of sessions before (0).
RANDOM_RECV = bytes(32)
RANDOM_SEND = hmac.new(bytes(32), struct.pack(">QI", SESSION, 0), hashlib.sha256).digest()

def hello_digest(random):
    # ... its first file (0), features (0) and chunk size (the default)
    return sha(b"cft-hello" + struct.pack(">BQIIIII", VERSION, SESSION, BLOCK, NFILES, 0, 0,
                                          CHUNK) + random)

HELLO = None    # the harness's, set below

def offer_digest(file, size, mtime_sec, mtime_nsec, mode, flags, name):
    return sha(b"cft-offer" + HELLO + struct.pack(">IQqIIIH", file, size, mtime_sec,
                                                  mtime_nsec, mode, flags, len(name)) + name)

def commit_digest(offer, size, mode, mtime_sec, mtime_nsec, content):
    return sha(b"cft-commit" + offer + struct.pack(">QIqI", size, mode, mtime_sec,
                                                    mtime_nsec) + content)

def error_ref(context, reason, file):
    return sha(b"cft-error" + context + struct.pack(">HI", reason, file))[:16]

def write(folder, seeds):
    """Each seed twice: after the byte that makes the harness keyless (0),
    and after the one that makes it keyed, sealing or signing what it feeds
    (1)."""
    for name, datagrams in seeds.items():
        for mode, suffix in ((0, ""), (1, "-keyed")):
            with open("%s/%s%s.bin" % (folder, name, suffix), "wb") as f:
                f.write(bytes([mode]))
                for d in datagrams:
                    f.write(struct.pack(">H", len(d)) + d)
PY
)

# fuzz_recv.c opens session 0x5e55 (2 files, 4096-byte blocks) and offers
# file 0, "f": 3 * 4096 + 7 bytes, mode 0644, time 0, flags 0.  Its FILE
# must carry the true offer digest to be believed; so that these seeds open
# the file whether the harness's own FILE was believed or not, each starts
# with that FILE (a repeat of a good offer is answered, not acted on).  The
# file's bytes here: i * 7 % 251 for the first three blocks, then
# "cft-kat", so its last block, 3, is one 7-byte chunk.
{ printf '%s\n' "$common"; cat <<'PY'; } | python3 -

HELLO = hello_digest(RANDOM_RECV)
SIZE = 3 * BLOCK + 7
CONTENT = bytes(i * 7 % 251 for i in range(3 * BLOCK)) + b"cft-kat"
NAME = b"f"
OFFER = offer_digest(0, SIZE, 0, 0, 0o644, 0, NAME)
# What the receiver holds once it is all written: the offered mode and time.
COMMIT = commit_digest(OFFER, SIZE, 0o644, 0, 0, sha(CONTENT))

def chunks(b):
    data = CONTENT[b * BLOCK:(b + 1) * BLOCK]
    return [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]

def root(b):
    return sha(leaves(chunks(b)))

# FILE: the vector's fields but the name, offer digest and tag.
f = body("03-file")
struct.pack_into(">IQqIIIH", f, HDR, 0, SIZE, 0, 0, 0o644, 0, len(NAME))
f = replace(f, HDR + 34, len(f) - HDR - 34, NAME + OFFER)
file = seal(f)

def block(b, r=None):
    d = body("04-block")
    struct.pack_into(">II32s", d, HDR, 0, b, r or root(b))
    return seal(d)

seq = 0
def data(b, c):
    """DATA of chunk c of block b, from the vector's header and sequence on."""
    global seq
    seq += 1
    p = chunks(b)[c]
    d = wire("05-data")[:DATA_PAYLOAD] + p
    struct.pack_into(">IIIHH", d, HDR, seq, 0, b, c, len(p))
    return seal(d)

def whole(b):
    return [data(b, c) for c in range(len(chunks(b)))]

def chunksums(b):
    """The leaves of block b's chunks: one CHUNKSUMS (320 fit, from 0)."""
    d = body("13-chunksums")[:HDR + 12] + leaves(chunks(b))
    struct.pack_into(">IIHH", d, HDR, 0, b, 0, len(chunks(b)))
    return seal(d)

p = body("06-probe")
struct.pack_into(">I", p, HDR, 0)
probe = seal(p)
s = body("08-sums")
struct.pack_into(">III", s, HDR, 0, 0, 0)       # file 0, round 0, block 0
sums = seal(s)
c = body("09-commit")
struct.pack_into(">I32s", c, HDR, 0, COMMIT)
commit = seal(c)
# Every ERROR from the sender refers to the session's hello digest.
e = body("12-error")
struct.pack_into(">HI16s", e, HDR, 9, 0, error_ref(HELLO, 9, 0))
error = seal(e)
b = body("10-bye")
struct.pack_into(">16s", b, HDR, HELLO[:16])
bye = seal(b)

last = block(3)
last_data = data(3, 0)
everything = [file]
for n in range(4):
    everything += [block(n)] + whole(n)
# A damaged root of the last block: the receiver asks for the block's chunk
# leaves, finds they do not hash to it, asks for both again, and takes the
# block when they do.
bad_root = block(3, sha(b"not the root"))
repair = [file, bad_root, last_data, probe, chunksums(3), probe, last, chunksums(3), probe]

write("recv", {
    "01-block-data": [file, last, last_data],   # the last block, root first
    "02-data-block": [file, last_data, last],   # ... and data first
    "03-probe": [file, probe],
    "04-sums": [file, sums],
    "05-commit": [file, commit],
    "06-error": [file, error],
    "07-bye": [file, bye],
    "08-session": [file, last, last_data, probe, sums, commit, probe, bye],
    # The whole file, committed: within make fuzz's -max_len=16384, not
    # libFuzzer's default 4096.
    "09-whole-file": everything + [probe, commit, probe, bye],
    "10-chunksums": repair,
})
PY

# fuzz_send.c sends file 0 ("a", 3 * 4096 + 7 bytes of i * 7 % 251) and file 1
# ("b", empty), both mode 0644 and modification time 1700000000.123456789,
# and sets the session id in every input to its own before resealing the
# CRC-32: the tags here are computed with that session id in place.  Answers
# that the sender believes: the HELLO_ACK, STATUS for its offers in each
# state, ERRORs that refer to its HELLO or offer.
{ printf '%s\n' "$common"; cat <<'PY'; } | python3 -

HELLO = hello_digest(RANDOM_SEND)
MTIME = (1700000000, 123456789)
A = bytes(i * 7 % 251 for i in range(3 * BLOCK + 7))
FILES = [(b"a", A), (b"b", b"")]
OFFER = [offer_digest(i, len(c), MTIME[0], MTIME[1], 0o644, 0, n)
         for i, (n, c) in enumerate(FILES)]

def commit_of(i, content_digest):
    return commit_digest(OFFER[i], len(FILES[i][1]), 0o644, MTIME[0], MTIME[1], content_digest)

def status(name, file, rnd, echo=0):
    """STATUS vector `name` about `file` in round `rnd`, referring to its
    offer; it says no DATA was seen, so none it reports is one never sent."""
    d = body(name)
    struct.pack_into(">II", d, HDR, file, rnd)      # then the state, kept
    struct.pack_into(">16sQII", d, HDR + 9, OFFER[file][:16], echo, 0, 0)
    return d

STATE = HDR + 41        # where the fields of a state start

a = body("02-hello-ack")
struct.pack_into(">IH16s", a, HDR, 0, 4, HELLO[:16])  # a window of 4 blocks
ack = seal(a)

def receiving(rnd):
    # Base 0; block 0 holds chunk 0 of 3, block 1 chunks 0 and 1; block 2
    # is whole but failed its root (flags 2: CHUNKSUMS); block 3, the last
    # (7 bytes, one chunk), wants its root (flags 1: BLOCK).
    d = status("07-status-receiving", 0, rnd, 1)[:STATE]
    held = [(0, 0, 3, 0x01), (1, 0, 3, 0x03), (2, 2, 3, 0x07), (3, 1, 1, 0x01)]
    d += struct.pack(">IQB", 0, 0, len(held))
    for h in held:
        d += struct.pack(">IBHB", *h)
    return seal(d)

def verified(file, rnd, content_digest):
    name, content = FILES[file]
    d = status("07-status-verified", file, rnd)[:STATE]
    d += struct.pack(">QIqIB32s32sH", len(content), 0o644, MTIME[0], MTIME[1], 0,
                     content_digest, commit_of(file, content_digest), len(name)) + name
    return seal(d)

def committed(file, rnd):
    d = status("07-status-committed", file, rnd)
    struct.pack_into(">32s", d, STATE, commit_of(file, sha(FILES[file][1])))
    return seal(d)

v = status("07-status-verifying", 0, 0)
struct.pack_into(">Q", v, STATE, BLOCK)
verifying = seal(v)
# Another content digest (the vector's): a whole report, so a round of SUMS.
wrong = verified(0, 0, bytes(wire("07-status-verified")[STATE + 25:STATE + 57]))
s = status("07-status-sums", 0, 1)
struct.pack_into(">I", s, STATE, 4)     # all four block digests of round 1
sums = seal(s)

e = body("12-error")                    # a file error: refers to the offer
struct.pack_into(">HI16s", e, HDR, 10, 0, error_ref(OFFER[0], 10, 0))
error = seal(e)
e = body("12-error")                    # a session error: to the HELLO
struct.pack_into(">HI16s", e, HDR, 3, 0xFFFFFFFF, error_ref(HELLO, 3, 0xFFFFFFFF))
busy = seal(e)
e = body("12-error")                    # reason 11 refers to nothing
struct.pack_into(">HI16s", e, HDR, 11, 0xFFFFFFFF, bytes(16))
unknown = seal(e)
b = body("11-bye-ack")
struct.pack_into(">16s", b, HDR, HELLO[:16])
bye_ack = seal(b)

write("send", {
    "01-ack": [ack],
    "02-receiving": [ack, receiving(0)],
    "03-verified": [ack, verifying, verified(0, 0, sha(A)), committed(0, 0)],
    "04-mismatch": [ack, verifying, wrong, sums, receiving(1)],
    "05-error": [ack, error],
    "06-busy": [ack, busy],
    "07-two-files": [ack, verifying, verified(0, 0, sha(A)), committed(0, 0),
                     verified(1, 0, sha(b"")), committed(1, 0), bye_ack],
    "08-unknown-session": [ack, unknown, ack, verifying],
})
PY
