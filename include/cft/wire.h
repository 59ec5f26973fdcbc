/*
 * The cft datagram format (cft-protocol(7) is the specification).
 *
 * Pure: this module turns datagrams into structs and back.  It touches no
 * socket, clock or file.  Decoders check every length against the datagram
 * and every field against its limit; pointers in a decoded message point
 * into the caller's buffer and live as long as it does.
 */
#ifndef CFT_WIRE_H
#define CFT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cft/limits.h"

/* Two bytes that open every cft datagram. */
#define WIRE_MAGIC0 0xC5
#define WIRE_MAGIC1 0x7F

/* magic(2) version(1) type(1) flags(2) session(8) checksum(4) */
#define WIRE_HDR_LEN 18
#define WIRE_CSUM_OFF 14
#define WIRE_FLAGS_OFF 4
#define WIRE_SESSION_OFF 6

/*
 * Every datagram but DATA ends with a tag: the first CFT_SHORT_DIGEST_LEN
 * bytes of the SHA-256 of everything before it (checksum field as zero).
 * DATA carries instead its leaf, the CRC-32 of its payload computed when
 * the chunk was read, and a check, the CRC-32 of its fields and leaf; the
 * leaves of a block hash to its root.  All catch damage that a recomputed
 * datagram checksum hides, at the cost of one CRC-32 pass over the data.
 */
#define WIRE_TAG_LEN CFT_SHORT_DIGEST_LEN
#define WIRE_LEAF_LEN 4
/* DATA: header, seq(4) file(4) block(4) chunk(2) len(2), then the leaf
 * and the check (4 each), then the payload. */
#define WIRE_DATA_LEAF_OFF 34
#define WIRE_DATA_PAYLOAD_OFF 42

enum wire_type {
	WIRE_HELLO = 1,		/* S->R open a session */
	WIRE_HELLO_ACK = 2,	/* R->S session accepted */
	WIRE_FILE = 3,		/* S->R offer the next file */
	WIRE_BLOCK = 4,		/* S->R root digest of one block */
	WIRE_DATA = 5,		/* S->R one chunk of a block */
	WIRE_PROBE = 6,		/* S->R ask for a STATUS now */
	WIRE_STATUS = 7,	/* R->S what the receiver has, lacks, or computed */
	WIRE_SUMS = 8,		/* S->R sender's block digests after a mismatch */
	WIRE_COMMIT = 9,	/* S->R digests agree: give the file its name */
	WIRE_BYE = 10,		/* S->R session over */
	WIRE_BYE_ACK = 11,	/* R->S */
	WIRE_ERROR = 12,	/* either way: refusal or abort, with a reason */
	WIRE_CHUNKSUMS = 13,	/* S->R the chunk leaves of a block that failed */
	WIRE_HOLE = 14,		/* S->R a block that is a hole: zeros, not sent */
	WIRE_ZDATA = 15,	/* S->R one chunk, compressed (cft-send -z) */
};
#define WIRE_TYPE_MAX WIRE_ZDATA

/* ZDATA: DATA's fields, its payload the chunk compressed with zlib (len
 * its length; the leaf is the chunk's, as read), then a tag: the most a
 * compressed chunk may take, in a session of `chunk`-byte chunks. */
static inline uint32_t wire_zdata_max(uint32_t chunk)
{
	return chunk + CFT_DATAGRAM_OVERHEAD - WIRE_DATA_PAYLOAD_OFF - WIRE_TAG_LEN;
}
#define WIRE_ZDATA_PAYLOAD_MAX (CFT_DATAGRAM_BIG_MAX - WIRE_DATA_PAYLOAD_OFF - WIRE_TAG_LEN)

/* HELLO: its fields and tag, unpadded (padded: hello_len below). */
#define WIRE_HELLO_LEN (WIRE_HDR_LEN + 4 * 5 + CFT_COOKIE_LEN + CFT_RANDOM_LEN + WIRE_TAG_LEN)

/* Reasons carried by ERROR datagrams. */
enum wire_reason {
	WIRE_R_NONE = 0,
	WIRE_R_VERSION = 1,	/* protocol version not spoken */
	WIRE_R_BAD_REQUEST = 2,	/* parameters out of range or out of order */
	WIRE_R_BUSY = 3,	/* too many sessions */
	WIRE_R_BAD_NAME = 4,	/* file name refused */
	WIRE_R_TOO_BIG = 5,	/* file larger than the receiver accepts */
	WIRE_R_IO = 6,		/* receiver's file system failed */
	WIRE_R_NO_SPACE = 7,	/* receiver's disk is full */
	WIRE_R_DIGEST = 8,	/* digests never agreed */
	WIRE_R_ABORT = 9,	/* the peer gave up (signal, timeout) */
	WIRE_R_EXISTS = 10,	/* destination cannot be replaced */
	WIRE_R_UNKNOWN_SESSION = 11,	/* no such session (receiver restarted?) */
	WIRE_R_METADATA = 12,	/* receiver cannot give the file its mode or mtime */
	WIRE_R_KEY = 13,	/* no key, or another key, than the receiver's */
};
#define WIRE_REASON_MAX WIRE_R_KEY

/* FILE flags. */
#define WIRE_FILE_NO_CLOBBER 0x1u	/* never replace an existing destination */
#define WIRE_FILE_DIRECTORY 0x2u	/* a directory of a tree: size 0, no data */
#define WIRE_FILE_DRY_RUN 0x4u		/* check what is there; write nothing */
#define WIRE_FILE_FLAGS_KNOWN (WIRE_FILE_NO_CLOBBER | WIRE_FILE_DIRECTORY | WIRE_FILE_DRY_RUN)

/* Receiver's state for the file a STATUS describes. */
enum wire_fstate {
	WIRE_FS_RECEIVING = 1,	/* blocks still missing */
	WIRE_FS_VERIFYING = 2,	/* reading the file back from disk */
	WIRE_FS_VERIFIED = 3,	/* read back: what would be committed enclosed */
	WIRE_FS_SUMS = 4,	/* collecting the sender's block digests */
	WIRE_FS_COMMITTED = 5,	/* under its final name, directory synced */
	WIRE_FS_ABSENT = 6,	/* a dry run: nothing of this name and size here */
};
#define WIRE_FS_MAX WIRE_FS_ABSENT

struct wire_hello {
	uint32_t block_size;
	uint32_t nfiles;
	uint32_t first;		/* the file the sender is at, from 0 */
	uint32_t features;	/* reserved, 0: auth, encryption, compression, ... */
	uint32_t chunk_size;	/* bytes of data a DATA carries: CFT_CHUNK_SIZE,
				 * or more on a path shown to carry it */
	uint8_t cookie[CFT_COOKIE_LEN];	/* the receiver's, or zeros */
	uint8_t random[CFT_RANDOM_LEN];	/* the sender's, fresh per session */
};

struct wire_hello_ack {
	uint32_t features;
	uint16_t window_blocks;	/* receiver's open-block budget */
	uint8_t hello[CFT_SHORT_DIGEST_LEN];	/* the HELLO it understood */
	uint8_t cookie[CFT_COOKIE_LEN];	/* HELLO again with it, or: it opened */
	uint8_t random[CFT_RANDOM_LEN];	/* the receiver's, for this session */
};

struct wire_file {
	uint32_t file;		/* index in the session, from 0 */
	uint64_t size;		/* bytes */
	int64_t mtime_sec;	/* the source's modification time, kept */
	uint32_t mtime_nsec;
	uint32_t mode;		/* permission bits only (0777), kept */
	uint32_t flags;		/* WIRE_FILE_* */
	uint16_t name_len;
	const uint8_t *name;	/* not NUL-terminated; util_path_valid checks it */
	uint8_t offer[CFT_DIGEST_LEN];	/* proto_offer_digest of the above */
};

struct wire_block {
	uint32_t file;
	uint32_t block;
	uint8_t root[CFT_DIGEST_LEN];	/* SHA-256 of the block's chunk leaves */
};

struct wire_data {
	uint32_t seq;		/* per-session datagram counter, for pacing */
	uint32_t file;
	uint32_t block;
	uint16_t chunk;		/* index of the chunk within its block */
	uint16_t len;
	uint32_t leaf;		/* CRC-32 of the payload, from the read */
	uint32_t check;		/* wire_data_check */
	const uint8_t *payload;
	uint32_t payload_crc;	/* decoded: CRC-32 of the payload as received */
	uint32_t fields_crc;	/* decoded: CRC-32 of the fields as received,
				 * what the check must be */
};

struct wire_probe {
	uint32_t file;
	uint64_t echo;		/* returned in STATUS: round-trip sample */
};

/* A block the receiver holds open, in a RECEIVING STATUS: which of its
 * chunks it has (bit c of map, least significant first in each byte, for
 * chunk c; the bits past nchunks zero), and what it wants of it as a whole. */
struct wire_held {
	uint32_t block;
	uint8_t flags;		/* WIRE_HELD_* */
	uint16_t nchunks;	/* 1 to CFT_CHUNKS_MAX */
	const uint8_t *map;	/* (nchunks + 7) / 8 bytes */
};
#define WIRE_HELD_ROOT 1	/* its BLOCK (root) is wanted */
#define WIRE_HELD_LIST 2	/* its chunk leaves are wanted (it failed its root) */
#define WIRE_HELD_FLAGS (WIRE_HELD_ROOT | WIRE_HELD_LIST)

struct wire_status {
	uint32_t file;
	uint32_t round;		/* end-to-end round, from 0 */
	uint8_t state;		/* enum wire_fstate */
	uint8_t offer[CFT_SHORT_DIGEST_LEN];	/* the offer it holds for `file` */
	uint64_t echo;		/* last PROBE echo seen */
	uint32_t rx_seq;	/* highest DATA seq seen in the session */
	uint32_t rx_count;	/* DATA datagrams received in the session */
	/* RECEIVING */
	uint32_t base;		/* lowest block not yet complete */
	uint64_t done_mask;	/* bit i: block base+i complete */
	uint8_t nheld;		/* blocks open, every one of them */
	struct wire_held held[CFT_WINDOW_BLOCKS_MAX];
	/* VERIFYING: progress, VERIFIED: file size */
	uint64_t bytes;
	/* VERIFYING: 1 when the next file may be offered before this one is
	 * committed (it is passed behind the next: cft-protocol(7)) */
	uint8_t next;
	/* VERIFIED: what would be committed, as the receiver holds it */
	uint32_t mode;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint8_t existing;	/* 1: the final file itself, checked as it is */
	uint8_t digest[CFT_DIGEST_LEN];	/* SHA-256 of the file, read back */
	uint16_t name_len;
	const uint8_t *name;
	/* VERIFIED and COMMITTED: proto_commit_digest of the above */
	uint8_t commit[CFT_DIGEST_LEN];
	/* SUMS: digests received so far (a prefix) */
	uint32_t sums_have;
};

struct wire_sums {
	uint32_t file;
	uint32_t round;		/* the round these digests open */
	uint32_t first;		/* block index of the first digest */
	uint16_t count;
	const uint8_t *digests;	/* count * CFT_DIGEST_LEN bytes */
};

struct wire_chunksums {
	uint32_t file;
	uint32_t block;
	uint16_t first;		/* chunk index of the first leaf */
	uint16_t count;
	const uint8_t *leaves;	/* count * WIRE_LEAF_LEN bytes, big-endian */
};

/* HOLE: block `block` of `file` holds only zeros, and is a hole in the
 * source: the receiver leaves a hole there instead of receiving data. */
struct wire_hole {
	uint32_t file;
	uint32_t block;
};

struct wire_commit {
	uint32_t file;
	uint8_t commit[CFT_DIGEST_LEN];	/* proto_commit_digest, the sender's */
};

/* BYE and BYE_ACK: the session they end, by its HELLO. */
struct wire_bye {
	uint8_t hello[CFT_SHORT_DIGEST_LEN];
};

struct wire_error {
	uint16_t reason;	/* enum wire_reason */
	uint32_t file;		/* WIRE_NO_FILE when about the session */
	uint8_t ref[CFT_SHORT_DIGEST_LEN];	/* proto_error_ref: what it answers */
	uint8_t msg_len;
	const uint8_t *msg;	/* untrusted text; sanitise before printing */
};
#define WIRE_NO_FILE UINT32_MAX

struct wire_msg {
	uint8_t version;
	uint8_t type;
	uint16_t flags;		/* reserved, 0 */
	uint64_t session;
	union {
		struct wire_hello hello;
		struct wire_hello_ack hello_ack;
		struct wire_file file;
		struct wire_block block;
		struct wire_data data;		/* DATA and ZDATA */
		struct wire_probe probe;
		struct wire_status status;
		struct wire_sums sums;
		struct wire_chunksums chunksums;
		struct wire_commit commit;
		struct wire_hole hole;
		struct wire_bye bye;
		struct wire_error error;
	} u;
};

/*
 * Encode m into buf (cap bytes), tag and checksum included.  Returns the
 * datagram length, or CFT_E_SPACE / CFT_E_MALFORMED (a field out of its
 * range).  Everything it encodes, wire_decode decodes.  A DATA datagram's
 * checksum takes the payload's CRC-32 from its leaf, computed when the chunk
 * was read: a payload that changed since makes a checksum that fails.
 */
int wire_encode(const struct wire_msg *m, uint8_t *buf, size_t cap);

/*
 * Decode the datagram buf[0..len) into m.  Returns 0, or a negative
 * enum cft_err: CFT_E_CHECKSUM (the CRC-32), CFT_E_TAG (the tag of a control
 * datagram: damage past the checksum), ...  A DATA or ZDATA datagram's
 * leaf and check are not verified here: the receiver compares them with
 * m->u.data.payload_crc (DATA) and m->u.data.fields_crc, which the
 * checksum's verification computes anyway.
 * On CFT_E_VERSION the header fields (version, type, session) are filled
 * in, and for an ERROR, whose layout every version keeps, its body too (tag
 * checked), so that a sender can tell "version not spoken" from damage; on
 * any other error m is unspecified.
 */
int wire_decode(const uint8_t *buf, size_t len, struct wire_msg *m);

/* A chunk's leaf: the CRC-32 of its payload.  A DATA datagram carries it,
 * CHUNKSUMS lists it, a block's root hashes the list. */
uint32_t wire_leaf(const uint8_t *payload, size_t len);

/* A leaf as it is listed (CHUNKSUMS, a block's root): 4 bytes big-endian. */
static inline void wire_leaf_store(uint8_t out[WIRE_LEAF_LEN], uint32_t leaf)
{
	out[0] = (uint8_t)(leaf >> 24);
	out[1] = (uint8_t)(leaf >> 16);
	out[2] = (uint8_t)(leaf >> 8);
	out[3] = (uint8_t)leaf;
}

static inline uint32_t wire_leaf_load(const uint8_t in[WIRE_LEAF_LEN])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

/* The check a DATA datagram carries: the CRC-32 of its sequence number,
 * file, block, chunk, length and leaf as encoded, so that with the leaf it
 * covers every field whatever happens to the datagram's checksum. */
uint32_t wire_data_check(const struct wire_data *d);

/*
 * Recompute the checks of an encoded datagram in place, over whatever it
 * now holds (for cft-shim, which damages datagrams).  wire_reseal: the
 * CRC-32 only, as a router or a NIC that recomputes checksums would.
 * wire_reseal_all: every check this format defines without a key (the tag,
 * or a DATA datagram's leaf and check, then the CRC), as a host that damaged
 * the bytes before computing them would; only agreement end to end catches
 * that.
 */
void wire_reseal(uint8_t *buf, size_t len);
/* Does the CRC-32 of an encoded datagram hold? */
bool wire_checksum_ok(const uint8_t *buf, size_t len);
void wire_reseal_all(uint8_t *buf, size_t len);

/* Exit status (enum cft_exit) that a reason means, on either side. */
int wire_reason_exit(unsigned reason);

/* Name of a datagram type or reason, for logs. */
const char *wire_type_name(unsigned type);
const char *wire_reason_name(unsigned reason);

/* Chunks in a block of block_len bytes, in chunks of `chunk` bytes. */
static inline uint32_t wire_chunks(uint32_t block_len, uint32_t chunk)
{
	return (block_len + chunk - 1) / chunk;
}

/*
 * The length of a HELLO asking for chunks of `chunk` bytes: a HELLO for
 * larger chunks than CFT_CHUNK_SIZE is padded to the size of the largest
 * datagram they make, so that its answer shows the path carries them.
 * Zero for a chunk size no HELLO can carry (past CFT_CHUNK_SIZE_MAX).
 */
static inline size_t wire_hello_len(uint32_t chunk)
{
	if (chunk > CFT_CHUNK_SIZE_MAX)
		return 0;
	return chunk > CFT_CHUNK_SIZE ? (size_t)chunk + CFT_DATAGRAM_OVERHEAD : WIRE_HELLO_LEN;
}

#endif
