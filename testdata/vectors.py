#!/usr/bin/env python3
"""Recompute what the vectors here derive from their other fields.

Each datagrams/*.hex file is one datagram, one field a line (README).  The
fields a person chose (sizes, names, times, maps, randoms) are kept as they
are; this program sets the version to VERSION and computes again, from
cft-protocol(7)'s definitions with python3's hashlib and zlib (never with
cft's code), every field derived from them:

  the hello digest (HELLO_ACK's echo, BYE's, and through the offer digest
  everything after it), the offer digest (FILE, and the short echo in every
  STATUS), the commit digest (verified and committed STATUS, COMMIT), the
  error reference, DATA's leaf and check, every tag and every checksum.

Run it after changing a vector or the protocol's version; the test
(tests/unit/test_vectors.c) then checks the codec against the result.  A
field it adds (a new HELLO field) is given here with its value.
"""
import hashlib
import os
import re
import struct
import sys
import zlib

VERSION = 8
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "datagrams")
HEX_WIDTH = 26          # the bytes' column, before the annotation

# Fields version 8 added to a type, after the field named: (after, name, bytes).
ADDED = {
    1: [("features", "chunk_size", struct.pack(">I", 1400))],
}


def sha(b):
    return hashlib.sha256(b).digest()


class Vector:
    def __init__(self, path):
        self.path = path
        self.comments = []      # the comment lines before the fields
        self.fields = []        # [name, bytes, value text]
        for line in open(path).read().splitlines():
            if line.startswith("#") or not line.strip():
                if not self.fields:
                    self.comments.append(line)
                continue
            hexpart, note = line[:HEX_WIDTH], line[HEX_WIDTH:].strip()
            data = bytes.fromhex(hexpart)
            if note:
                name, value = note.split(" = ", 1)
                self.fields.append([name, data, value])
            else:
                self.fields[-1][1] += data

    def get(self, name):
        for f in self.fields:
            if f[0] == name:
                return f[1]
        raise KeyError(f"{self.path}: no field {name}")

    def has(self, name):
        return any(f[0] == name for f in self.fields)

    def set(self, name, data, value):
        for f in self.fields:
            if f[0] == name:
                assert len(f[1]) == len(data), (self.path, name)
                f[1], f[2] = data, value
                return
        raise KeyError(f"{self.path}: no field {name}")

    def insert_after(self, after, name, data, value):
        for i, f in enumerate(self.fields):
            if f[0] == after:
                self.fields.insert(i + 1, [name, data, value])
                return
        raise KeyError(f"{self.path}: no field {after}")

    def int(self, name):
        return int.from_bytes(self.get(name), "big")

    def bytes_(self):
        return b"".join(f[1] for f in self.fields)

    def write(self):
        out = []
        for line in self.comments:
            out.append(re.sub(r"version [0-9]+\.", f"version {VERSION}.", line))
        for name, data, value in self.fields:
            for i in range(0, max(len(data), 1), 8):
                hexpart = " ".join(f"{b:02x}" for b in data[i:i + 8])
                if i == 0:
                    out.append(f"{hexpart:<{HEX_WIDTH}}{name} = {value}")
                else:
                    out.append(hexpart)
        open(self.path, "w").write("\n".join(out) + "\n")


def load(name):
    return Vector(os.path.join(HERE, name + ".hex"))


def hex_value(b):
    return b.hex()


def content_digest(size):
    """File 42: all '*' but its last five bytes, "hello"."""
    h = hashlib.sha256()
    step = b"*" * (1 << 20)
    left = size - 5
    while left:
        n = min(left, len(step))
        h.update(step[:n])
        left -= n
    h.update(b"hello")
    return h.digest()


def main():
    names = sorted(n[:-4] for n in os.listdir(HERE) if n.endswith(".hex"))
    vecs = {n: load(n) for n in names}
    for v in vecs.values():
        v.set("version", bytes([VERSION]), str(VERSION))
        for after, name, data in ADDED.get(v.int("type"), []):
            if not v.has(name):
                v.insert_after(after, name, data, str(int.from_bytes(data, "big")))

    hello = vecs["01-hello"]
    hello_digest = sha(b"cft-hello" + bytes([VERSION]) + hello.get("session") +
                       hello.get("block_size") + hello.get("nfiles") + hello.get("first") +
                       hello.get("features") + hello.get("chunk_size") + hello.get("random"))
    f = vecs["03-file"]
    offer = sha(b"cft-offer" + hello_digest + b"".join(
        f.get(n) for n in ("file", "size", "mtime_sec", "mtime_nsec", "mode", "flags",
                           "name_length", "name")))
    f.set("offer", offer, hex_value(offer))

    ver = vecs["07-status-verified"]
    content = content_digest(ver.int("size"))
    commit = sha(b"cft-commit" + offer + b"".join(
        ver.get(n) for n in ("size", "mode", "mtime_sec", "mtime_nsec")) + content)

    for name, v in vecs.items():
        if v.has("hello"):                      # HELLO_ACK, BYE, BYE_ACK
            v.set("hello", hello_digest[:16], hex_value(hello_digest[:16]))
        if v.int("type") == 7:                  # every STATUS echoes the offer
            v.set("offer", offer[:16], hex_value(offer[:16]))
        if v.has("commit"):
            v.set("commit", commit, hex_value(commit))
        if v.has("reference"):                  # a file error's: the offer
            ref = sha(b"cft-error" + offer + v.get("reason") + v.get("file"))[:16]
            v.set("reference", ref, hex_value(ref))
        if v.int("type") == 5:                  # DATA: leaf and check
            leaf = struct.pack(">I", zlib.crc32(v.get("payload")))
            v.set("leaf", leaf, f"0x{leaf.hex()}")
        if v.int("type") in (5, 15):
            fields = b"".join(v.get(n) for n in ("sequence", "file", "block", "chunk",
                                                 "length", "leaf"))
            check = struct.pack(">I", zlib.crc32(fields))
            v.set("check", check, f"0x{check.hex()}")
        v.set("checksum", bytes(4), "0x00000000")
        if v.has("tag"):
            tag = sha(v.bytes_()[:-16])[:16]
            v.set("tag", tag, hex_value(tag))
        csum = struct.pack(">I", zlib.crc32(v.bytes_()))
        v.set("checksum", csum, f"0x{csum.hex()}")
        v.write()
    print(f"{len(vecs)} vectors, version {VERSION}; file 42's SHA-256 {content.hex()[:8]}...",
          file=sys.stderr)


if __name__ == "__main__":
    main()
