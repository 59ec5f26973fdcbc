/*
 * Known-answer datagrams: the files in testdata/datagrams pin the wire
 * format to cft-protocol(7).  They were written from the man page, by hand
 * and with python3's hashlib and zlib, never with cft's code, so they check
 * the codec against the specification rather than against its own output.
 * Each line of a file is one field: its bytes in hex, two or more spaces,
 * then "name = value" (testdata/README has the details).
 *
 * For every file this test checks, in order: the file is well formed and
 * every value agrees with its own bytes; the fields come in the order and
 * widths the man page gives; the tag (every type but DATA) is the short
 * SHA-256 of what precedes it and the last field, computed here with
 * OpenSSL; DATA's leaf is the CRC-32 of its payload and its check the
 * CRC-32 of the 20 bytes from its sequence to its leaf, and the checksum is
 * the CRC-32 of the datagram, all computed here with zlib; a CHUNKSUMS
 * starts at a multiple of 320 and lists at most 320 leaves; wire_decode
 * accepts the bytes and yields every annotated value; wire_encode of what
 * was decoded gives the same bytes back; and the codec's own sealing,
 * wire_leaf and wire_data_check agree.  A field name this test does not
 * know fails it, so no annotation goes unchecked.  Nothing here comes from
 * src/lib/digest.c, so a mistake there cannot hide behind itself.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cft/limits.h"
#include "cft/squash.h"
#include "cft/wire.h"

#define VEC_DIR "testdata/datagrams"

/* The largest STATUS has 6 header, 10 fixed and 4 * 64 held fields, and
 * its tag. */
#define VEC_FIELDS_MAX 512
/* Longest field name with its index taken out, e.g. "range[].block". */
#define VEC_KEY_MAX 32
/* Room for "file:line: " and a message that quotes a value or two. */
#define VEC_ERR_MAX 512
/* One vector per type and STATUS state, with plenty of room to grow. */
#define VEC_FILES_MAX 64

/* The man page's magic, version and digest sizes, written out here so the
 * test does not take them from the header files it is checking. */
#define SPEC_MAGIC 0xC57Fu
#define SPEC_VERSION 8u
#define SPEC_DIGEST 32u		/* SHA-256 */
#define SPEC_SHORT 16u		/* a "short" digest: its first 16 bytes */
#define SPEC_COOKIE 16u		/* HELLO's and HELLO_ACK's cookie */
#define SPEC_RANDOM 32u		/* HELLO's and HELLO_ACK's random */
#define SPEC_LEAF 4u		/* a chunk's leaf: a CRC-32, big-endian */
#define SPEC_DATA_CHECKED 20u	/* DATA's check covers sequence .. leaf */
#define SPEC_CHUNKSUMS 320u	/* leaves in one CHUNKSUMS, at most */
/* The decoded fields this test reads that many bytes of must hold them; if
 * they do not, the codec cannot speak the man page's format anyway. */
_Static_assert(CFT_SHORT_DIGEST_LEN >= SPEC_SHORT && CFT_DIGEST_LEN >= SPEC_DIGEST,
	       "digest fields shorter than cft-protocol(7)'s");

struct span {
	const uint8_t *p;
	size_t n;
};

static uint64_t be_read(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* CRC-32 as zlib and gzip compute it: the man page's checksum, leaf and
 * DATA check, computed here rather than by wire.c or digest.c. */
static uint32_t zlib_crc32(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

enum vec_kind {
	VK_MAGIC,	/* checked against the man page; not in struct wire_msg */
	VK_VERSION,	/* checked against the man page */
	VK_CSUM,	/* checked against zlib's CRC-32; not in struct wire_msg */
	VK_UINT,
	VK_INT,		/* signed, two's complement on the wire */
	VK_BYTES,
	VK_TAG,		/* checked against SHA-256 here; not in struct wire_msg */
	VK_LEAF,	/* DATA's leaf, checked against zlib's CRC-32 of the payload */
	VK_CHECK,	/* DATA's check, checked against zlib's CRC-32 here */
};

/* One field of cft-protocol(7), and where wire_decode puts it. */
struct vec_entry {
	uint8_t type;		/* WIRE_*, or 0 for the header every type shares */
	uint8_t state;		/* the STATUS state it belongs to; 0 = every one */
	const char *key;	/* its name in the files; "[]" where an index goes */
	unsigned width;		/* bytes on the wire; 0 when a length field says */
	enum vec_kind kind;
	uint64_t (*get)(const struct wire_msg *m, unsigned i);
	struct span (*get_bytes)(const struct wire_msg *m, unsigned i);
	/* Indexed fields: how many elements the decoded message has. */
	uint64_t (*count)(const struct wire_msg *m, unsigned i);
	/* A bound the man page puts on an integer's value, where a vector
	 * could drift from it unnoticed: NULL when v keeps to it, else what
	 * the man page wants. */
	const char *(*bound)(uint64_t v);
};

#define GET(fn, expr)                                                   \
	static uint64_t fn(const struct wire_msg *m, unsigned i)        \
	{                                                               \
		(void)m;                                                \
		(void)i;                                                \
		return (uint64_t)(expr);                                \
	}
#define GET_BYTES(fn, ptr, len)                                         \
	static struct span fn(const struct wire_msg *m, unsigned i)     \
	{                                                               \
		(void)i;                                                \
		return (struct span){ (ptr), (len) };                   \
	}

GET(g_version, m->version)
GET(g_type, m->type)
GET(g_flags, m->flags)
GET(g_session, m->session)
GET(g_hello_block_size, m->u.hello.block_size)
GET(g_hello_nfiles, m->u.hello.nfiles)
GET(g_hello_first, m->u.hello.first)
GET(g_hello_features, m->u.hello.features)
GET(g_hello_chunk_size, m->u.hello.chunk_size)
GET(g_ack_features, m->u.hello_ack.features)
GET(g_ack_window, m->u.hello_ack.window_blocks)
GET_BYTES(b_ack_hello, m->u.hello_ack.hello, SPEC_SHORT)
GET_BYTES(b_hello_cookie, m->u.hello.cookie, SPEC_COOKIE)
GET_BYTES(b_ack_cookie, m->u.hello_ack.cookie, SPEC_COOKIE)
GET_BYTES(b_hello_random, m->u.hello.random, SPEC_RANDOM)
GET_BYTES(b_ack_random, m->u.hello_ack.random, SPEC_RANDOM)
GET(g_file_file, m->u.file.file)
GET(g_file_size, m->u.file.size)
GET(g_file_mtime_sec, m->u.file.mtime_sec)
GET(g_file_mtime_nsec, m->u.file.mtime_nsec)
GET(g_file_mode, m->u.file.mode)
GET(g_file_flags, m->u.file.flags)
GET(g_file_name_len, m->u.file.name_len)
GET_BYTES(b_file_name, m->u.file.name, m->u.file.name_len)
GET_BYTES(b_file_offer, m->u.file.offer, SPEC_DIGEST)
GET(g_block_file, m->u.block.file)
GET(g_block_block, m->u.block.block)
GET_BYTES(b_block_root, m->u.block.root, SPEC_DIGEST)
GET(g_data_seq, m->u.data.seq)
GET(g_data_file, m->u.data.file)
GET(g_data_block, m->u.data.block)
GET(g_data_chunk, m->u.data.chunk)
GET(g_data_len, m->u.data.len)
GET(g_data_leaf, m->u.data.leaf)
GET(g_data_check, m->u.data.check)
GET_BYTES(b_data_payload, m->u.data.payload, m->u.data.len)
GET(g_probe_file, m->u.probe.file)
GET(g_probe_echo, m->u.probe.echo)
GET(g_st_file, m->u.status.file)
GET(g_st_round, m->u.status.round)
GET(g_st_state, m->u.status.state)
GET_BYTES(b_st_offer, m->u.status.offer, SPEC_SHORT)
GET(g_st_echo, m->u.status.echo)
GET(g_st_rx_seq, m->u.status.rx_seq)
GET(g_st_rx_count, m->u.status.rx_count)
GET(g_st_base, m->u.status.base)
GET(g_st_done_mask, m->u.status.done_mask)
GET(g_st_nheld, m->u.status.nheld)
GET(g_st_held_block, m->u.status.held[i].block)
GET(g_st_held_flags, m->u.status.held[i].flags)
GET(g_st_held_nchunks, m->u.status.held[i].nchunks)
GET_BYTES(b_st_held_map, m->u.status.held[i].map, (m->u.status.held[i].nchunks + 7u) / 8)
GET(g_st_bytes, m->u.status.bytes)
GET(g_st_mode, m->u.status.mode)
GET(g_st_mtime_sec, m->u.status.mtime_sec)
GET(g_st_mtime_nsec, m->u.status.mtime_nsec)
GET(g_st_existing, m->u.status.existing)
GET(g_st_next, m->u.status.next)
GET_BYTES(b_st_digest, m->u.status.digest, SPEC_DIGEST)
GET_BYTES(b_st_commit, m->u.status.commit, SPEC_DIGEST)
GET(g_st_name_len, m->u.status.name_len)
GET_BYTES(b_st_name, m->u.status.name, m->u.status.name_len)
GET(g_st_sums_have, m->u.status.sums_have)
GET(g_sums_file, m->u.sums.file)
GET(g_sums_round, m->u.sums.round)
GET(g_sums_first, m->u.sums.first)
GET(g_sums_count, m->u.sums.count)
GET_BYTES(b_sums_digest, m->u.sums.digests + (size_t)i * SPEC_DIGEST, SPEC_DIGEST)
GET(g_commit_file, m->u.commit.file)
GET(g_hole_file, m->u.hole.file)
GET(g_hole_block, m->u.hole.block)
GET_BYTES(b_commit_commit, m->u.commit.commit, SPEC_DIGEST)
GET_BYTES(b_bye_hello, m->u.bye.hello, SPEC_SHORT)
GET(g_error_reason, m->u.error.reason)
GET(g_error_file, m->u.error.file)
GET_BYTES(b_error_ref, m->u.error.ref, SPEC_SHORT)
GET(g_error_msg_len, m->u.error.msg_len)
GET_BYTES(b_error_msg, m->u.error.msg, m->u.error.msg_len)
GET(g_cs_file, m->u.chunksums.file)
GET(g_cs_block, m->u.chunksums.block)
GET(g_cs_first, m->u.chunksums.first)
GET(g_cs_count, m->u.chunksums.count)
GET(g_cs_leaf, be_read(m->u.chunksums.leaves + (size_t)i * SPEC_LEAF, SPEC_LEAF))

/* CHUNKSUMS: "first chunk (2, a multiple of 320), count (2: 320, or what is
 * left of the block)"; the block's length is not in the datagram, so the
 * count is bounded only. */
static const char *cs_first_bound(uint64_t v)
{
	return v % SPEC_CHUNKSUMS ? "a multiple of 320" : NULL;
}

static const char *cs_count_bound(uint64_t v)
{
	return v == 0 || v > SPEC_CHUNKSUMS ? "1 to 320" : NULL;
}

#define HDR(k, w, kd, g) { .key = (k), .width = (w), .kind = (kd), .get = (g) }
#define UINT(t, st, k, w, g) { .type = (t), .state = (st), .key = (k), .width = (w), \
			       .kind = VK_UINT, .get = (g) }
#define INT(t, st, k, w, g) { .type = (t), .state = (st), .key = (k), .width = (w), \
			      .kind = VK_INT, .get = (g) }
#define BYTES(t, st, k, w, g) { .type = (t), .state = (st), .key = (k), .width = (w), \
				.kind = VK_BYTES, .get_bytes = (g) }
/* "each but DATA then followed by its tag": the last field of its type. */
#define TAG(t) { .type = (t), .key = "tag", .width = SPEC_SHORT, .kind = VK_TAG }

/*
 * cft-protocol(7), field by field, in its order.  Written from the man page,
 * not from wire.c: the order and widths here are checked against each file,
 * so a vector cannot drift from the specification without this table
 * drifting too.
 */
static const struct vec_entry entries[] = {
	HDR("magic", 2, VK_MAGIC, NULL),
	HDR("version", 1, VK_VERSION, g_version),
	HDR("type", 1, VK_UINT, g_type),
	HDR("flags", 2, VK_UINT, g_flags),
	HDR("session", 8, VK_UINT, g_session),
	HDR("checksum", 4, VK_CSUM, NULL),

	UINT(WIRE_HELLO, 0, "block_size", 4, g_hello_block_size),
	UINT(WIRE_HELLO, 0, "nfiles", 4, g_hello_nfiles),
	UINT(WIRE_HELLO, 0, "first", 4, g_hello_first),
	UINT(WIRE_HELLO, 0, "features", 4, g_hello_features),
	UINT(WIRE_HELLO, 0, "chunk_size", 4, g_hello_chunk_size),
	BYTES(WIRE_HELLO, 0, "cookie", SPEC_COOKIE, b_hello_cookie),
	BYTES(WIRE_HELLO, 0, "random", SPEC_RANDOM, b_hello_random),
	TAG(WIRE_HELLO),

	UINT(WIRE_HELLO_ACK, 0, "features", 4, g_ack_features),
	UINT(WIRE_HELLO_ACK, 0, "window", 2, g_ack_window),
	BYTES(WIRE_HELLO_ACK, 0, "hello", SPEC_SHORT, b_ack_hello),
	BYTES(WIRE_HELLO_ACK, 0, "cookie", SPEC_COOKIE, b_ack_cookie),
	BYTES(WIRE_HELLO_ACK, 0, "random", SPEC_RANDOM, b_ack_random),
	TAG(WIRE_HELLO_ACK),

	UINT(WIRE_FILE, 0, "file", 4, g_file_file),
	UINT(WIRE_FILE, 0, "size", 8, g_file_size),
	INT(WIRE_FILE, 0, "mtime_sec", 8, g_file_mtime_sec),
	UINT(WIRE_FILE, 0, "mtime_nsec", 4, g_file_mtime_nsec),
	UINT(WIRE_FILE, 0, "mode", 4, g_file_mode),
	UINT(WIRE_FILE, 0, "flags", 4, g_file_flags),
	UINT(WIRE_FILE, 0, "name_length", 2, g_file_name_len),
	BYTES(WIRE_FILE, 0, "name", 0, b_file_name),
	BYTES(WIRE_FILE, 0, "offer", SPEC_DIGEST, b_file_offer),
	TAG(WIRE_FILE),

	UINT(WIRE_BLOCK, 0, "file", 4, g_block_file),
	UINT(WIRE_BLOCK, 0, "block", 4, g_block_block),
	BYTES(WIRE_BLOCK, 0, "root", SPEC_DIGEST, b_block_root),
	TAG(WIRE_BLOCK),

	/* No tag: the leaf and the check cover DATA instead. */
	UINT(WIRE_DATA, 0, "sequence", 4, g_data_seq),
	UINT(WIRE_DATA, 0, "file", 4, g_data_file),
	UINT(WIRE_DATA, 0, "block", 4, g_data_block),
	UINT(WIRE_DATA, 0, "chunk", 2, g_data_chunk),
	UINT(WIRE_DATA, 0, "length", 2, g_data_len),
	{ .type = WIRE_DATA, .key = "leaf", .width = SPEC_LEAF, .kind = VK_LEAF,
	  .get = g_data_leaf },
	{ .type = WIRE_DATA, .key = "check", .width = 4, .kind = VK_CHECK, .get = g_data_check },
	BYTES(WIRE_DATA, 0, "payload", 0, b_data_payload),

	/* ZDATA: DATA's fields, the leaf the chunk's (not the compressed
	 * payload's: checked below, expanded), then a tag. */
	UINT(WIRE_ZDATA, 0, "sequence", 4, g_data_seq),
	UINT(WIRE_ZDATA, 0, "file", 4, g_data_file),
	UINT(WIRE_ZDATA, 0, "block", 4, g_data_block),
	UINT(WIRE_ZDATA, 0, "chunk", 2, g_data_chunk),
	UINT(WIRE_ZDATA, 0, "length", 2, g_data_len),
	UINT(WIRE_ZDATA, 0, "leaf", 4, g_data_leaf),
	{ .type = WIRE_ZDATA, .key = "check", .width = 4, .kind = VK_CHECK, .get = g_data_check },
	BYTES(WIRE_ZDATA, 0, "payload", 0, b_data_payload),
	TAG(WIRE_ZDATA),

	UINT(WIRE_PROBE, 0, "file", 4, g_probe_file),
	UINT(WIRE_PROBE, 0, "echo", 8, g_probe_echo),
	TAG(WIRE_PROBE),

	UINT(WIRE_STATUS, 0, "file", 4, g_st_file),
	UINT(WIRE_STATUS, 0, "round", 4, g_st_round),
	UINT(WIRE_STATUS, 0, "state", 1, g_st_state),
	BYTES(WIRE_STATUS, 0, "offer", SPEC_SHORT, b_st_offer),
	UINT(WIRE_STATUS, 0, "echo", 8, g_st_echo),
	/* "sequence (4) of the latest DATA received intact" */
	UINT(WIRE_STATUS, 0, "latest_seq", 4, g_st_rx_seq),
	UINT(WIRE_STATUS, 0, "received", 4, g_st_rx_count),
	UINT(WIRE_STATUS, WIRE_FS_RECEIVING, "base", 4, g_st_base),
	UINT(WIRE_STATUS, WIRE_FS_RECEIVING, "done_mask", 8, g_st_done_mask),
	UINT(WIRE_STATUS, WIRE_FS_RECEIVING, "nheld", 1, g_st_nheld),
	{ .type = WIRE_STATUS, .state = WIRE_FS_RECEIVING, .key = "held[].block", .width = 4,
	  .kind = VK_UINT, .get = g_st_held_block, .count = g_st_nheld },
	{ .type = WIRE_STATUS, .state = WIRE_FS_RECEIVING, .key = "held[].flags", .width = 1,
	  .kind = VK_UINT, .get = g_st_held_flags, .count = g_st_nheld },
	{ .type = WIRE_STATUS, .state = WIRE_FS_RECEIVING, .key = "held[].nchunks", .width = 2,
	  .kind = VK_UINT, .get = g_st_held_nchunks, .count = g_st_nheld },
	/* (nchunks + 7) / 8 bytes, the length its nchunks says */
	{ .type = WIRE_STATUS, .state = WIRE_FS_RECEIVING, .key = "held[].map", .width = 0,
	  .kind = VK_BYTES, .get_bytes = b_st_held_map, .count = g_st_nheld },
	UINT(WIRE_STATUS, WIRE_FS_VERIFYING, "bytes_read", 8, g_st_bytes),
	UINT(WIRE_STATUS, WIRE_FS_VERIFYING, "next", 1, g_st_next),
	UINT(WIRE_STATUS, WIRE_FS_VERIFIED, "size", 8, g_st_bytes),
	UINT(WIRE_STATUS, WIRE_FS_VERIFIED, "mode", 4, g_st_mode),
	INT(WIRE_STATUS, WIRE_FS_VERIFIED, "mtime_sec", 8, g_st_mtime_sec),
	UINT(WIRE_STATUS, WIRE_FS_VERIFIED, "mtime_nsec", 4, g_st_mtime_nsec),
	UINT(WIRE_STATUS, WIRE_FS_VERIFIED, "existing", 1, g_st_existing),
	BYTES(WIRE_STATUS, WIRE_FS_VERIFIED, "digest", SPEC_DIGEST, b_st_digest),
	BYTES(WIRE_STATUS, WIRE_FS_VERIFIED, "commit", SPEC_DIGEST, b_st_commit),
	UINT(WIRE_STATUS, WIRE_FS_VERIFIED, "name_length", 2, g_st_name_len),
	BYTES(WIRE_STATUS, WIRE_FS_VERIFIED, "name", 0, b_st_name),
	UINT(WIRE_STATUS, WIRE_FS_SUMS, "sums_received", 4, g_st_sums_have),
	BYTES(WIRE_STATUS, WIRE_FS_COMMITTED, "commit", SPEC_DIGEST, b_st_commit),
	TAG(WIRE_STATUS),

	UINT(WIRE_SUMS, 0, "file", 4, g_sums_file),
	UINT(WIRE_SUMS, 0, "round", 4, g_sums_round),
	UINT(WIRE_SUMS, 0, "first", 4, g_sums_first),
	UINT(WIRE_SUMS, 0, "count", 2, g_sums_count),
	{ .type = WIRE_SUMS, .key = "digest[]", .width = SPEC_DIGEST, .kind = VK_BYTES,
	  .get_bytes = b_sums_digest, .count = g_sums_count },
	TAG(WIRE_SUMS),

	UINT(WIRE_HOLE, 0, "file", 4, g_hole_file),
	UINT(WIRE_HOLE, 0, "block", 4, g_hole_block),
	TAG(WIRE_HOLE),

	UINT(WIRE_COMMIT, 0, "file", 4, g_commit_file),
	BYTES(WIRE_COMMIT, 0, "commit", SPEC_DIGEST, b_commit_commit),
	TAG(WIRE_COMMIT),

	BYTES(WIRE_BYE, 0, "hello", SPEC_SHORT, b_bye_hello),
	TAG(WIRE_BYE),

	BYTES(WIRE_BYE_ACK, 0, "hello", SPEC_SHORT, b_bye_hello),
	TAG(WIRE_BYE_ACK),

	UINT(WIRE_ERROR, 0, "reason", 2, g_error_reason),
	UINT(WIRE_ERROR, 0, "file", 4, g_error_file),
	BYTES(WIRE_ERROR, 0, "reference", SPEC_SHORT, b_error_ref),
	UINT(WIRE_ERROR, 0, "message_length", 1, g_error_msg_len),
	BYTES(WIRE_ERROR, 0, "message", 0, b_error_msg),
	TAG(WIRE_ERROR),

	UINT(WIRE_CHUNKSUMS, 0, "file", 4, g_cs_file),
	UINT(WIRE_CHUNKSUMS, 0, "block", 4, g_cs_block),
	{ .type = WIRE_CHUNKSUMS, .key = "first", .width = 2, .kind = VK_UINT, .get = g_cs_first,
	  .bound = cs_first_bound },
	{ .type = WIRE_CHUNKSUMS, .key = "count", .width = 2, .kind = VK_UINT, .get = g_cs_count,
	  .bound = cs_count_bound },
	{ .type = WIRE_CHUNKSUMS, .key = "leaf[]", .width = SPEC_LEAF, .kind = VK_UINT,
	  .get = g_cs_leaf, .count = g_cs_count },
	TAG(WIRE_CHUNKSUMS),
};
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))

/* File names, from the man page's type and state names: "NN-type.hex", and
 * "07-status-state.hex" for the STATUS states. */
static const char *const type_slug[] = {
	NULL, "hello", "hello-ack", "file", "block", "data", "probe",
	"status", "sums", "commit", "bye", "bye-ack", "error", "chunksums", "hole", "zdata",
};
static const char *const state_slug[] = {
	NULL, "receiving", "verifying", "verified", "sums", "committed", "absent",
};
#define N_TYPE_SLUGS (sizeof(type_slug) / sizeof(type_slug[0]))
#define N_STATE_SLUGS (sizeof(state_slug) / sizeof(state_slug[0]))

struct vec_field {
	unsigned line;
	size_t off, len;		/* its bytes: buf[off, off + len) */
	char key[VEC_KEY_MAX];		/* its name with any index taken out */
	bool indexed;
	unsigned index;
	const char *value;		/* text after " = ", NUL-terminated */
	const struct vec_entry *e;
	uint64_t u;			/* integer kinds: the value, as on the wire */
};

struct vec {
	const char *path;
	char *text;			/* owned copy; each line NUL-terminated */
	uint8_t buf[CFT_DATAGRAM_MAX];
	size_t len;
	struct vec_field f[VEC_FIELDS_MAX];
	unsigned nf;
	struct wire_msg m;
	char err[VEC_ERR_MAX];
};

__attribute__((format(printf, 3, 4)))
static int vec_fail(struct vec *v, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (line)
		n = snprintf(v->err, sizeof(v->err), "%s:%u: ", v->path, line);
	else
		n = snprintf(v->err, sizeof(v->err), "%s: ", v->path);
	if (n < 0 || (size_t)n >= sizeof(v->err))
		return -1;
	va_start(ap, fmt);
	vsnprintf(v->err + n, sizeof(v->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_name_start(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '_';
}

/* Append s[0..n) to key (VEC_KEY_MAX bytes); false when it does not fit. */
static bool key_append(char *key, const char *s, size_t n)
{
	size_t have = strlen(key);

	if (n >= VEC_KEY_MAX - have)
		return false;
	memcpy(key + have, s, n);
	key[have + n] = '\0';
	return true;
}

/* "name", "name[3]", "name[3].member", then " = " and a value. */
static int parse_annotation(struct vec *v, unsigned line, const char *s, struct vec_field *f)
{
	const char *start = s;

	f->key[0] = '\0';
	if (!is_name_start(*s))
		return vec_fail(v, line, "a field name starts with a-z: \"%s\"", start);
	while (is_name_char(*s))
		s++;
	if (!key_append(f->key, start, (size_t)(s - start)))
		return vec_fail(v, line, "field name too long");
	if (*s == '[') {
		unsigned long idx = 0;
		const char *d = ++s;

		while (*s >= '0' && *s <= '9' && s - d < 4)
			idx = idx * 10 + (unsigned long)(*s++ - '0');
		if (s == d || *s != ']' || (*d == '0' && s - d > 1))
			return vec_fail(v, line, "an index is [N], N decimal without leading zeros");
		s++;
		f->indexed = true;
		f->index = (unsigned)idx;
		if (!key_append(f->key, "[]", 2))
			return vec_fail(v, line, "field name too long");
	}
	if (*s == '.') {
		const char *m = s++;

		if (!is_name_start(*s))
			return vec_fail(v, line, "a member name starts with a-z");
		while (is_name_char(*s))
			s++;
		if (!key_append(f->key, m, (size_t)(s - m)))
			return vec_fail(v, line, "field name too long");
	}
	if (strncmp(s, " = ", 3) != 0 || s[3] == '\0')
		return vec_fail(v, line, "expected \"%s = value\"", f->key);
	f->value = s + 3;
	return 0;
}

/*
 * Split v->text into fields and collect their bytes into v->buf.  A line is
 * blank, a comment (#), bytes then "  name = value", or bytes alone, which
 * continue the field above (long names, payloads and digests).
 */
static int vec_parse(struct vec *v)
{
	struct vec_field *cur = NULL;
	unsigned line = 0;
	char *next;

	for (char *p = v->text; *p; p = next) {
		char *nl = strchr(p, '\n');
		size_t start = v->len, n;
		const char *s = p;

		line++;
		if (nl) {
			*nl = '\0';
			next = nl + 1;
		} else {
			next = p + strlen(p);
		}
		if (strpbrk(p, "\t\r"))
			return vec_fail(v, line, "tab or carriage return: use spaces and \\n only");
		n = strlen(p);
		if (n > 0 && p[n - 1] == ' ')
			return vec_fail(v, line, "trailing space");
		if (n == 0 || p[0] == '#')
			continue;
		for (;;) {
			int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

			if (hi < 0 || lo < 0)
				return vec_fail(v, line, "expected a byte, two hex digits, at column %zu",
						(size_t)(s - p) + 1);
			if (v->len == sizeof(v->buf))
				return vec_fail(v, line, "more than %d bytes: no datagram is that long",
						CFT_DATAGRAM_MAX);
			v->buf[v->len++] = (uint8_t)(hi << 4 | lo);
			s += 2;
			if (s[0] == '\0' || (s[0] == ' ' && s[1] == ' '))
				break;
			if (s[0] != ' ')
				return vec_fail(v, line, "bytes are separated by one space, at column %zu",
						(size_t)(s - p) + 1);
			s++;
		}
		if (*s == '\0') {
			if (!cur)
				return vec_fail(v, line, "bytes before any field is named");
			cur->len += v->len - start;
			continue;
		}
		while (*s == ' ')
			s++;
		if (v->nf == VEC_FIELDS_MAX)
			return vec_fail(v, line, "more than %d fields", VEC_FIELDS_MAX);
		cur = &v->f[v->nf++];
		memset(cur, 0, sizeof(*cur));
		cur->line = line;
		cur->off = start;
		cur->len = v->len - start;
		if (parse_annotation(v, line, s, cur) < 0)
			return -1;
	}
	if (v->nf == 0)
		return vec_fail(v, 0, "no fields");
	return 0;
}

/*
 * An integer as C writes it: decimal, 0x hex, or 0 then octal (so a mode
 * reads 0640); a minus sign only where the field is signed.  *out gets the
 * two's complement bits.
 */
static bool parse_int(const char *s, bool is_signed, uint64_t *out)
{
	bool neg = false;
	unsigned base = 10;
	uint64_t v = 0;
	const char *d;

	if (*s == '-' && is_signed) {
		neg = true;
		s++;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && s[1] != '\0') {
		base = 8;
		s++;
	}
	d = s;
	for (; *s; s++) {
		int x = hex_digit(*s);

		if (x < 0 || (unsigned)x >= base)
			return false;
		if (v > (UINT64_MAX - (unsigned)x) / base)
			return false;
		v = v * base + (unsigned)x;
	}
	if (s == d)
		return false;
	if (neg) {
		if (v > (uint64_t)1 << 63)
			return false;
		v = ~v + 1;
	} else if (is_signed && v >= (uint64_t)1 << 63) {
		return false;
	}
	*out = v;
	return true;
}

/* Does v (two's complement bits if is_signed) fit in width bytes? */
static bool fits(uint64_t v, unsigned width, bool is_signed)
{
	if (width >= 8)
		return true;
	if (!is_signed)
		return v >> (8 * width) == 0;
	/* Sign-extending the low bytes must give the value back. */
	unsigned shift = 64 - 8 * width;
	return (uint64_t)((int64_t)(v << shift) >> shift) == v;
}

/* A byte string: "text" (escapes \\ \" \xHH) or bare hex digits. */
static bool parse_bytes(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	*n = 0;
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			int c = (unsigned char)*s;

			if (c == '\0' || *n == cap)
				return false;
			if (c == '\\') {
				s++;
				if (*s == '\\' || *s == '"') {
					c = *s;
				} else if (*s == 'x' && hex_digit(s[1]) >= 0 && hex_digit(s[2]) >= 0) {
					c = hex_digit(s[1]) << 4 | hex_digit(s[2]);
					s += 2;
				} else {
					return false;
				}
			}
			out[(*n)++] = (uint8_t)c;
		}
		return s[1] == '\0';
	}
	for (; *s; s += 2) {
		if (hex_digit(s[0]) < 0 || hex_digit(s[1]) < 0 || *n == cap)
			return false;
		out[(*n)++] = (uint8_t)(hex_digit(s[0]) << 4 | hex_digit(s[1]));
	}
	return *n > 0;
}

static const struct vec_entry *lookup(uint8_t type, uint8_t state, const char *key)
{
	for (size_t i = 0; i < N_ENTRIES; i++) {
		const struct vec_entry *e = &entries[i];

		if (e->type == type && (e->state == 0 || e->state == state) &&
		    strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

static const char *type_label(uint8_t type)
{
	return type == 0 ? "the header" : wire_type_name(type);
}

/* The value of a plain field as the file states it, before any is checked. */
static bool stated(const struct vec *v, const char *key, bool in_header, uint64_t *out)
{
	for (unsigned i = 0; i < v->nf; i++)
		if ((v->f[i].off < WIRE_HDR_LEN) == in_header && strcmp(v->f[i].key, key) == 0)
			return parse_int(v->f[i].value, false, out);
	return false;
}

/* Position of the first element field of e's array, which orders the array. */
static size_t group_of(const struct vec_entry *e)
{
	size_t pos = (size_t)(e - entries);
	size_t base = strcspn(e->key, "[");

	if (!e->count)
		return pos;
	for (size_t i = 0; i < pos; i++)
		if (entries[i].type == e->type && entries[i].count &&
		    strncmp(entries[i].key, e->key, base + 1) == 0)
			return i;
	return pos;
}

/* The first SPEC_SHORT bytes of SHA-256 of p[0..n), from OpenSSL itself:
 * the test's own reading of the man page, not src/lib/digest.c's. */
static bool short_sha256(const uint8_t *p, size_t n, uint8_t out[SPEC_SHORT])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != SPEC_DIGEST)
		return false;
	memcpy(out, md, SPEC_SHORT);
	return true;
}

/* Lower-case hex of a short digest, for messages. */
static void short_hex(const uint8_t d[SPEC_SHORT], char out[2 * SPEC_SHORT + 1])
{
	for (unsigned i = 0; i < SPEC_SHORT; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A body field of the vector by name, or NULL. */
static const struct vec_field *body_field(const struct vec *v, const char *key)
{
	for (unsigned i = 0; i < v->nf; i++)
		if (v->f[i].off >= WIRE_HDR_LEN && strcmp(v->f[i].key, key) == 0)
			return &v->f[i];
	return NULL;
}

/*
 * The tag at f: "the short SHA-256 of everything before it, the checksum
 * field taken as zero", and nothing after it.  `zeroed` is the datagram with
 * its checksum field zero.
 */
static int check_tag(struct vec *v, const struct vec_field *f, const uint8_t *zeroed)
{
	uint8_t want[SPEC_SHORT];
	char hex[2 * SPEC_SHORT + 1];

	if (f->off + f->len != v->len)
		return vec_fail(v, f->line, "tag: %zu bytes follow it; it ends the datagram",
				v->len - f->off - f->len);
	if (!short_sha256(zeroed, f->off, want))
		return vec_fail(v, f->line, "tag: OpenSSL's SHA-256 failed");
	if (memcmp(want, v->buf + f->off, SPEC_SHORT) != 0) {
		short_hex(want, hex);
		return vec_fail(v, f->line, "tag = %s, but the short SHA-256 of the %zu bytes before "
				"it (checksum as zero) is %s", f->value, f->off, hex);
	}
	return 0;
}

/*
 * DATA's leaf and check: "a chunk's leaf is the CRC-32 of its bytes", and
 * the check "the CRC-32 of the 20 bytes from its sequence number to its
 * leaf", both over the bytes as the vector has them.
 */
static int check_data_sums(struct vec *v)
{
	const struct vec_field *seq = body_field(v, "sequence"), *leaf = body_field(v, "leaf");
	const struct vec_field *check = body_field(v, "check"), *payload = body_field(v, "payload");
	uint32_t want;

	if (!leaf)
		return vec_fail(v, 0, "DATA has no leaf (cft-protocol(7): before its check)");
	if (!check)
		return vec_fail(v, 0, "DATA has no check (cft-protocol(7): before the bytes)");
	if (!payload)
		return vec_fail(v, leaf->line, "leaf: no payload to compute it from");
	want = zlib_crc32(v->buf + payload->off, payload->len);
	if (leaf->u != want)
		return vec_fail(v, leaf->line, "leaf = %s, but the CRC-32 of the payload is 0x%08x",
				leaf->value, (unsigned)want);
	if (!seq)
		return vec_fail(v, check->line, "check: no sequence to compute it from");
	/* The table's order and widths put the leaf 16 bytes after the
	 * sequence; a field missing in between shows here. */
	if (leaf->off < seq->off || leaf->off + leaf->len - seq->off != SPEC_DATA_CHECKED)
		return vec_fail(v, check->line, "check: the sequence to the leaf is not the %u bytes "
				"cft-protocol(7) gives", SPEC_DATA_CHECKED);
	want = zlib_crc32(v->buf + seq->off, SPEC_DATA_CHECKED);
	if (check->u != want)
		return vec_fail(v, check->line, "check = %s, but the CRC-32 of the %u bytes from the "
				"sequence to the leaf is 0x%08x", check->value, SPEC_DATA_CHECKED,
				(unsigned)want);
	return 0;
}

/*
 * Everything that can be checked without cft's code: each field is one the
 * man page has, at its width and in its order, each value agrees with the
 * bytes beside it and keeps to any bound the table has for it, the tag is
 * the SHA-256 the man page defines, DATA's leaf and check are the CRC-32s
 * it defines, and the checksum is zlib's CRC-32 of the datagram.
 */
static int vec_check_file(struct vec *v)
{
	uint64_t type = 0, state = 0;
	size_t last_g = 0, last_i = 0, last_p = 0;
	uint8_t zeroed[CFT_DATAGRAM_MAX];
	const struct vec_field *last;
	uint32_t crc;

	if (v->len < WIRE_HDR_LEN)
		return vec_fail(v, 0, "%zu bytes, shorter than the %d-byte header", v->len,
				WIRE_HDR_LEN);
	if (!stated(v, "type", true, &type) || type > UINT8_MAX)
		return vec_fail(v, 0, "the header has no readable \"type = N\"");
	if (type == WIRE_STATUS && !stated(v, "state", false, &state))
		state = 0;	/* state-specific fields will then be unknown */
	/* Both the tag and the CRC-32 take the checksum field as zero. */
	memcpy(zeroed, v->buf, v->len);
	memset(zeroed + WIRE_CSUM_OFF, 0, 4);

	for (unsigned k = 0; k < v->nf; k++) {
		struct vec_field *f = &v->f[k];
		bool hdr = f->off < WIRE_HDR_LEN;
		uint8_t t = hdr ? 0 : (uint8_t)type;
		const struct vec_entry *e = lookup(t, (uint8_t)state, f->key);
		size_t g, p;

		if (!e)
			return vec_fail(v, f->line, "no field \"%s\" in %s%s", f->key, type_label(t),
					type == WIRE_STATUS && !hdr ? " in this state" : "");
		if (hdr && f->off + f->len > WIRE_HDR_LEN)
			return vec_fail(v, f->line, "%s runs past the header", f->key);
		if (f->indexed != (e->count != NULL))
			return vec_fail(v, f->line, "%s %s an index", f->key,
					f->indexed ? "takes no" : "needs");
		f->e = e;
		p = (size_t)(e - entries);
		g = group_of(e);
		if (k > 0 && !(g > last_g || (g == last_g && (f->index > last_i ||
				(f->index == last_i && p > last_p)))))
			return vec_fail(v, f->line, "%s is repeated or out of the man page's order",
					f->key);
		last_g = g;
		last_i = f->index;
		last_p = p;
		if (e->width && f->len != e->width)
			return vec_fail(v, f->line, "%s has %zu bytes; cft-protocol(7) gives it %u",
					f->key, f->len, e->width);

		if (e->kind == VK_BYTES || e->kind == VK_TAG) {
			uint8_t want[CFT_DATAGRAM_MAX];
			size_t n;

			if (!parse_bytes(f->value, want, sizeof(want), &n))
				return vec_fail(v, f->line, "%s: value is neither \"text\" nor hex bytes",
						f->key);
			if (n != f->len || memcmp(want, v->buf + f->off, n) != 0)
				return vec_fail(v, f->line, "%s: the value (%zu bytes) is not the bytes "
						"beside it (%zu)", f->key, n, f->len);
			if (e->kind == VK_TAG && check_tag(v, f, zeroed) < 0)
				return -1;
			continue;
		}
		if (!parse_int(f->value, e->kind == VK_INT, &f->u) ||
		    !fits(f->u, e->width, e->kind == VK_INT))
			return vec_fail(v, f->line, "%s = %s: not a %u-byte %s integer", f->key,
					f->value, e->width, e->kind == VK_INT ? "signed" : "unsigned");
		uint64_t mask = e->width >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * e->width)) - 1;
		uint64_t bytes = be_read(v->buf + f->off, f->len);
		if (bytes != (f->u & mask))
			return vec_fail(v, f->line, "%s = %s, but the bytes beside it say 0x%llx",
					f->key, f->value, (unsigned long long)bytes);
		if (e->kind == VK_MAGIC && f->u != SPEC_MAGIC)
			return vec_fail(v, f->line, "magic = %s; cft-protocol(7) says 0x%04X",
					f->value, SPEC_MAGIC);
		if (e->kind == VK_VERSION && f->u != SPEC_VERSION)
			return vec_fail(v, f->line, "version = %s; cft-protocol(7) is version %u",
					f->value, SPEC_VERSION);
		if (e->bound && e->bound(f->u))
			return vec_fail(v, f->line, "%s = %s; cft-protocol(7) wants %s", f->key,
					f->value, e->bound(f->u));
	}

	/* "Every datagram but DATA ends with a 16-byte tag"; DATA has a leaf
	 * and a check.  Checked here, not left to the count of decoded fields,
	 * so that a vector without one fails before cft's code is asked
	 * anything. */
	last = &v->f[v->nf - 1];
	if (type == WIRE_DATA) {
		if (check_data_sums(v) < 0)
			return -1;
	} else if (last->off < WIRE_HDR_LEN || !last->e || last->e->kind != VK_TAG) {
		return vec_fail(v, last->line, "%s ends with its tag (cft-protocol(7)), not %s",
				type_label((uint8_t)type), last->key);
	}

	/* CRC-32 as zlib and gzip compute it, over the datagram with the
	 * checksum field taken as zero, tag included: computed here, not by
	 * wire.c. */
	crc = zlib_crc32(zeroed, v->len);
	uint64_t stored = be_read(v->buf + WIRE_CSUM_OFF, 4);
	if (stored != crc)
		return vec_fail(v, 0, "checksum 0x%08llx, but the CRC-32 of the bytes is 0x%08x",
				(unsigned long long)stored, (unsigned)crc);
	return 0;
}

/* wire_decode gives every annotated value, and the man page's every field is
 * annotated. */
static int vec_check_decode(struct vec *v)
{
	int rc;

	memset(&v->m, 0, sizeof(v->m));
	rc = wire_decode(v->buf, v->len, &v->m);
	if (rc != 0)
		return vec_fail(v, 0, "wire_decode returns %d, not 0", rc);

	for (size_t i = 0; i < N_ENTRIES; i++) {
		const struct vec_entry *e = &entries[i];
		uint64_t want = 1, have = 0;

		if (e->type != 0 && (e->type != v->m.type ||
				     (e->state && e->state != v->m.u.status.state)))
			continue;
		if (e->count)
			want = e->count(&v->m, 0);
		for (unsigned k = 0; k < v->nf; k++)
			if (v->f[k].e == e)
				have++;
		if (have != want)
			return vec_fail(v, 0, "%s %s: %llu in the file, %llu decoded", type_label(e->type),
					e->key, (unsigned long long)have, (unsigned long long)want);
	}

	for (unsigned k = 0; k < v->nf; k++) {
		const struct vec_field *f = &v->f[k];
		const struct vec_entry *e = f->e;

		if (e->count && f->index >= e->count(&v->m, 0))
			return vec_fail(v, f->line, "%s: index %u, but the count decoded is %llu",
					f->key, f->index,
					(unsigned long long)e->count(&v->m, 0));
		if (e->get_bytes) {
			struct span s = e->get_bytes(&v->m, f->index);

			if (s.n != f->len || !s.p || memcmp(s.p, v->buf + f->off, s.n) != 0)
				return vec_fail(v, f->line, "%s: wire_decode gives %zu other bytes",
						f->key, s.n);
		} else if (e->get) {
			uint64_t got = e->get(&v->m, f->index);

			if (got != f->u)
				return vec_fail(v, f->line, "%s = %s, but wire_decode gives 0x%llx",
						f->key, f->value, (unsigned long long)got);
		}
	}
	return 0;
}

/* wire_encode of the decoded message gives the file's bytes. */
static int vec_check_encode(struct vec *v)
{
	uint8_t out[CFT_DATAGRAM_MAX];
	int n = wire_encode(&v->m, out, sizeof(out));
	size_t i, common;

	if (n < 0)
		return vec_fail(v, 0, "wire_encode returns %d", n);
	if ((size_t)n == v->len && memcmp(out, v->buf, v->len) == 0)
		return 0;
	/* Any other difference changes the checksum too: name that first. */
	common = (size_t)n < v->len ? (size_t)n : v->len;
	for (i = 0; i < common; i++)
		if (out[i] != v->buf[i] && (i < WIRE_CSUM_OFF || i >= WIRE_HDR_LEN))
			break;
	if (i == common)
		for (i = 0; i < common && out[i] == v->buf[i]; i++)
			;
	for (unsigned k = 0; i < common && k < v->nf; k++)
		if (i >= v->f[k].off && i < v->f[k].off + v->f[k].len)
			return vec_fail(v, v->f[k].line, "%s: wire_encode gives 0x%02x at byte %zu, "
					"the file 0x%02x (%d bytes encoded, %zu in the file)",
					v->f[k].key, out[i], i, v->buf[i], n, v->len);
	return vec_fail(v, 0, "wire_encode gives %d bytes, the file %zu", n, v->len);
}

/*
 * The codec's own sealing agrees with the man page: wire_reseal_all, which
 * recomputes the tag (or DATA's leaf and check) and the checksum over the
 * bytes as they are, changes nothing in a vector; and for DATA, wire_leaf of
 * the payload and wire_decode's payload_crc give the leaf the vector has,
 * and wire_data_check its check.
 */
static int vec_check_seal(struct vec *v)
{
	uint8_t again[CFT_DATAGRAM_MAX];

	memcpy(again, v->buf, v->len);
	wire_reseal_all(again, v->len);
	/* A tag or check that differs changes the checksum too: name it
	 * first, then the checksum. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < v->len; i++) {
			if (again[i] == v->buf[i] ||
			    (pass == 0 && i >= WIRE_CSUM_OFF && i < WIRE_HDR_LEN))
				continue;
			for (unsigned k = 0; k < v->nf; k++)
				if (i >= v->f[k].off && i < v->f[k].off + v->f[k].len)
					return vec_fail(v, v->f[k].line, "%s: wire_reseal_all gives "
							"0x%02x at byte %zu, the file 0x%02x",
							v->f[k].key, again[i], i, v->buf[i]);
		}
	}
	if (v->m.type == WIRE_ZDATA) {
		const struct wire_data *d = &v->m.u.data;
		uint8_t chunk[CFT_CHUNK_SIZE];
		long n = squash_expand(d->payload, d->len, chunk, sizeof(chunk));

		if (n <= 0 || wire_leaf(chunk, (size_t)n) != d->leaf)
			return vec_fail(v, 0, "ZDATA: the payload does not expand to the leaf's chunk");
	}
	if (v->m.type == WIRE_DATA) {
		const struct wire_data *d = &v->m.u.data;
		const struct vec_field *leaf = body_field(v, "leaf"), *check = body_field(v, "check");
		uint32_t got = wire_leaf(d->payload, d->len);

		if (got != d->leaf)
			return vec_fail(v, leaf ? leaf->line : 0, "leaf: wire_leaf of the payload "
					"gives 0x%08x", (unsigned)got);
		if (d->payload_crc != d->leaf)
			return vec_fail(v, leaf ? leaf->line : 0, "leaf: wire_decode's payload_crc "
					"is 0x%08x", (unsigned)d->payload_crc);
		got = wire_data_check(d);
		if (got != d->check)
			return vec_fail(v, check ? check->line : 0, "check: wire_data_check gives "
					"0x%08x", (unsigned)got);
	}
	return 0;
}

enum vec_stage { VEC_FILE, VEC_DECODE, VEC_ENCODE, VEC_SEAL };

/* Check the text of one vector (named path) up to stage.  Returns 0, or -1
 * with the reason, naming the file and line, in v->err.  Frees nothing:
 * call vec_free. */
static int vec_check(struct vec *v, const char *path, const char *text, enum vec_stage stage)
{
	memset(v, 0, sizeof(*v));
	v->path = path;
	v->text = strdup(text);
	if (!v->text)
		return vec_fail(v, 0, "out of memory");
	if (vec_parse(v) < 0 || vec_check_file(v) < 0)
		return -1;
	if (stage >= VEC_DECODE && vec_check_decode(v) < 0)
		return -1;
	if (stage >= VEC_ENCODE && vec_check_encode(v) < 0)
		return -1;
	if (stage >= VEC_SEAL && vec_check_seal(v) < 0)
		return -1;
	return 0;
}

static void vec_free(struct vec *v)
{
	free(v->text);
	v->text = NULL;
}

/* The whole of a text file, NUL-terminated, or NULL with errno. */
static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!fp)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 8192);

			if (!nb) {
				fclose(fp);
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap += 8192;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp) || !buf) {
		fclose(fp);
		free(buf);
		errno = EIO;
		return NULL;
	}
	fclose(fp);
	buf[len] = '\0';
	if (strlen(buf) != len) {	/* a NUL byte would hide the rest */
		free(buf);
		errno = EINVAL;
		return NULL;
	}
	return buf;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct vec_dir {
	char *path[VEC_FILES_MAX];	/* "testdata/datagrams/NN-name.hex", sorted */
	unsigned n;
};

/* List the vectors.  Anything but a .hex file there fails the test: a
 * vector saved under another name would otherwise never be checked. */
static void list_vectors(struct vec_dir *d)
{
	DIR *dir = opendir(VEC_DIR);
	struct dirent *de;

	d->n = 0;
	cr_assert_not_null(dir, "%s: %s (the tests run from the repository root)", VEC_DIR,
			   strerror(errno));
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		cr_assert(n > 4 && strcmp(de->d_name + n - 4, ".hex") == 0,
			  "%s/%s: not a .hex file", VEC_DIR, de->d_name);
		cr_assert_lt(d->n, VEC_FILES_MAX, "%s: more than %d files", VEC_DIR, VEC_FILES_MAX);
		size_t len = sizeof(VEC_DIR "/") + n;
		d->path[d->n] = malloc(len);
		cr_assert_not_null(d->path[d->n]);
		snprintf(d->path[d->n], len, "%s/%s", VEC_DIR, de->d_name);
		d->n++;
	}
	closedir(dir);
	cr_assert_gt(d->n, 0, "%s: no vectors", VEC_DIR);
	qsort(d->path, d->n, sizeof(d->path[0]), by_name);
}

static void free_vectors(struct vec_dir *d)
{
	for (unsigned i = 0; i < d->n; i++)
		free(d->path[i]);
	d->n = 0;
}

/* Check every vector up to stage; report each file that fails, then fail. */
static void check_all(enum vec_stage stage)
{
	struct vec_dir d;
	struct vec *v = malloc(sizeof(*v));
	unsigned bad = 0;

	cr_assert_not_null(v);
	list_vectors(&d);
	for (unsigned i = 0; i < d.n; i++) {
		char *text = slurp(d.path[i]);

		if (!text) {
			cr_expect_fail("%s: %s", d.path[i], strerror(errno));
			bad++;
			continue;
		}
		if (vec_check(v, d.path[i], text, stage) < 0) {
			cr_expect_fail("%s", v->err);
			bad++;
		}
		vec_free(v);
		free(text);
	}
	free_vectors(&d);
	free(v);
	cr_assert_eq(bad, 0, "%u of the vectors in %s failed", bad, VEC_DIR);
}

Test(vectors, files_agree_with_themselves_and_the_man_page)
{
	check_all(VEC_FILE);
}

Test(vectors, wire_decode_gives_every_annotated_value)
{
	check_all(VEC_DECODE);
}

Test(vectors, wire_encode_gives_the_same_bytes)
{
	check_all(VEC_ENCODE);
}

Test(vectors, wire_seals_them_as_they_are)
{
	check_all(VEC_SEAL);
}

/* A new type or STATUS state cannot come without its vector. */
Test(vectors, every_type_and_state_has_a_file)
{
	bool type_seen[WIRE_TYPE_MAX + 1] = { false };
	bool state_seen[N_STATE_SLUGS] = { false };
	struct vec_dir d;
	struct vec *v = malloc(sizeof(*v));

	cr_assert_not_null(v);
	cr_assert_lt((size_t)WIRE_TYPE_MAX, N_TYPE_SLUGS, "type %d has no file name here; add it and "
		     "its vector", WIRE_TYPE_MAX);
	list_vectors(&d);
	for (unsigned i = 0; i < d.n; i++) {
		char *text = slurp(d.path[i]);
		char want[64];
		const char *base = strrchr(d.path[i], '/') + 1;

		cr_assert_not_null(text, "%s: %s", d.path[i], strerror(errno));
		cr_assert_eq(vec_check(v, d.path[i], text, VEC_DECODE), 0, "%s", v->err);
		if (v->m.type == WIRE_STATUS) {
			uint8_t st = v->m.u.status.state;

			cr_assert(st > 0 && st < N_STATE_SLUGS, "%s: state %u has no file name here",
				  d.path[i], st);
			snprintf(want, sizeof(want), "%02u-%s-%s.hex", v->m.type,
				 type_slug[v->m.type], state_slug[st]);
			state_seen[st] = true;
		} else {
			snprintf(want, sizeof(want), "%02u-%s.hex", v->m.type, type_slug[v->m.type]);
		}
		cr_assert_str_eq(base, want, "%s: a %s datagram belongs in %s", d.path[i],
				 wire_type_name(v->m.type), want);
		type_seen[v->m.type] = true;
		vec_free(v);
		free(text);
	}
	free_vectors(&d);
	free(v);
	for (unsigned t = WIRE_HELLO; t <= WIRE_TYPE_MAX; t++)
		cr_expect(type_seen[t], "%s: no vector for type %u (%s)", VEC_DIR, t,
			  wire_type_name(t));
	for (unsigned st = 1; st < N_STATE_SLUGS; st++)
		cr_expect(state_seen[st], "%s: no vector for STATUS state %u (%s)", VEC_DIR, st,
			  state_slug[st]);
}

/* The checker itself: each kind of fault in a vector must be caught, with
 * the file and line named, or a broken vector could pass for a good one. */
static void expect_caught(const char *path, const char *from, const char *to, const char *why)
{
	char *text = slurp(path), *at, *bad;
	struct vec *v = malloc(sizeof(*v));

	cr_assert_not_null(text, "%s: %s", path, strerror(errno));
	cr_assert_not_null(v);
	at = strstr(text, from);
	cr_assert_not_null(at, "%s: no \"%s\" to change", path, from);
	bad = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
	cr_assert_not_null(bad);
	memcpy(bad, text, (size_t)(at - text));
	strcpy(bad + (at - text), to);
	strcat(bad, at + strlen(from));

	cr_assert_eq(vec_check(v, path, bad, VEC_SEAL), -1, "%s: not caught: %s", path, why);
	cr_assert(strncmp(v->err, path, strlen(path)) == 0, "message does not name the file: %s",
		  v->err);
	cr_assert(strstr(v->err, why), "expected \"%s\" in: %s", why, v->err);
	vec_free(v);
	free(v);
	free(bad);
	free(text);
}

Test(vectors, the_checker_catches_faults)
{
	const char *hello = VEC_DIR "/01-hello.hex";
	const char *data = VEC_DIR "/05-data.hex";
	const char *status = VEC_DIR "/07-status-receiving.hex";
	const char *chunksums = VEC_DIR "/13-chunksums.hex";
	/* 01-hello.hex's tag, as its two lines read. */
	const char *tag = "47 06 a4 aa 1b c8 f2 b9   tag = 4706a4aa1bc8f2b9b96ee951d2b3b599\n"
			  "b9 6e e9 51 d2 b3 b5 99";
	/* 05-data.hex's leaf and check, as their lines read. */
	const char *leaf = "36 10 a6 86               leaf = 0x3610a686";
	const char *check = "de 6c 51 34               check = 0xde6c5134";

	expect_caught(hello, "nfiles = 259", "nfile = 259", "no field \"nfile\"");
	expect_caught(hello, "nfiles = 259", "nfiles = 260", "but the bytes beside it say");
	expect_caught(hello, "nfiles = 259", "nfiles = 0x103 ", "trailing space");
	expect_caught(hello, "00 00 01 03 ", "00 00 01 3  ", "expected a byte");
	expect_caught(hello, "00 00 01 03               ", "00 00 01 03 ", "expected a byte");
	expect_caught(hello, "00 00 01 03               nfiles = 259",
		      "00 00 01 03 00 00 00 00  nfiles = 259", "has 8 bytes");
	expect_caught(hello, "1f b8 4e d3               checksum = 0x1fb84ed3",
		      "1f b8 4e d0               checksum = 0x1fb84ed0", "CRC-32 of the bytes");
	expect_caught(hello, "c5 7f                     magic = 0xc57f",
		      "c5 7e                     magic = 0xc57e", "cft-protocol(7) says");
	expect_caught(hello, "08                        version = 8",
		      "05                        version = 5", "cft-protocol(7) is version 8");
	expect_caught(hello, "00 04 00 00               block_size = 262144\n"
			     "00 00 01 03               nfiles = 259",
		      "00 00 01 03               nfiles = 259\n"
		      "00 04 00 00               block_size = 262144", "order");
	expect_caught(hello, "00 00 00 00               features = 0",
		      "00 00 00 00               nfiles = 0", "repeated");

	/* The tag: a wrong byte; a field changed with its value but the tag
	 * left as it was; a field dropped; the tag computed over the checksum
	 * as written rather than as zero; a whole SHA-256 where the man page
	 * keeps 16 bytes; no tag; a field after it. */
	expect_caught(hello, tag, "47 06 a4 aa 1b c8 f2 2e   tag = 4706a4aa1bc8f22eb96ee951d2b3b571\n"
				  "b9 6e e9 51 d2 b3 b5 71", "short SHA-256 of the 86 bytes");
	expect_caught(hello, "00 00 01 03               nfiles = 259",
		      "00 00 01 04               nfiles = 260", "short SHA-256 of the 86 bytes");
	expect_caught(hello, "00 00 00 00               features = 0\n", "",
		      "short SHA-256 of the 82 bytes");
	expect_caught(hello, tag, "f6 75 6e b6 68 1b 4a 8f   tag = f6756eb6681b4a8fe0312f868234ccb1\n"
				  "e0 31 2f 86 82 34 cc b1", "(checksum as zero)");
	expect_caught(hello, tag, "47 06 a4 aa 1b c8 f2 b9   tag = 4706a4aa1bc8f2b9b96ee951d2b3b599"
				  "3a78a38f694da1d9098271fdcf73f4ac\n"
				  "b9 6e e9 51 d2 b3 b5 99\n"
				  "3a 78 a3 8f 69 4d a1 d9\n"
				  "09 82 71 fd cf 73 f4 ac", "tag has 32 bytes; cft-protocol(7) gives it 16");
	expect_caught(hello, tag, "", "HELLO ends with its tag");
	expect_caught(hello, "b9 6e e9 51 d2 b3 b5 99",
		      "b9 6e e9 51 d2 b3 b5 99\n00 00 00 00               features = 0",
		      "4 bytes follow it");

	/* DATA's leaf: a wrong byte; the payload changed under it; none.  Its
	 * check: a wrong byte; the CRC-32 of file to leaf, without the
	 * sequence; a version 2 check (a 16-byte short SHA-256); none; a tag
	 * instead. */
	expect_caught(data, leaf, "36 10 a6 87               leaf = 0x3610a687",
		      "CRC-32 of the payload");
	expect_caught(data, "68 65 6c 6c 6f            payload = \"hello\"",
		      "68 65 6c 6c 70            payload = \"hellp\"", "CRC-32 of the payload");
	expect_caught(data, leaf, "", "DATA has no leaf");
	expect_caught(data, check, "de 6c 51 35               check = 0xde6c5135",
		      "CRC-32 of the 20 bytes from the sequence");
	expect_caught(data, check, "81 14 d3 86               check = 0x8114d386",
		      "CRC-32 of the 20 bytes from the sequence");
	expect_caught(data, check, "fe 7c d1 08 13 43 e3 0d   check = fe7cd1081343e30de7aac5f26b50d835\n"
				   "e7 aa c5 f2 6b 50 d8 35", "check has 16 bytes; cft-protocol(7) "
				   "gives it 4");
	expect_caught(data, check, "", "DATA has no check");
	expect_caught(data, "check = ", "tag = ", "no field \"tag\" in DATA");

	/* CHUNKSUMS: version 2's cut (first 160 of 80 a datagram), a count past
	 * 320, and a leaf of version 2's width. */
	expect_caught(chunksums, "00 00                     first = 0",
		      "00 a0                     first = 160", "a multiple of 320");
	expect_caught(chunksums, "00 bc                     count = 188",
		      "01 41                     count = 321", "1 to 320");
	expect_caught(chunksums, "4f d5 fc 44               leaf[187] = 0x4fd5fc44",
		      "4f d5 fc 44 00 00 00 00   leaf[187] = 0x4fd5fc44",
		      "leaf[] has 8 bytes; cft-protocol(7) gives it 4");

	expect_caught(VEC_DIR "/03-file.hex", "name = \"q3-report.pdf\"", "name = \"q3-report.pdx\"",
		      "not the bytes beside it");
	expect_caught(VEC_DIR "/03-file.hex", "mtime_sec = -1234567890", "mtime_sec = 1234567890",
		      "but the bytes beside it say");
	expect_caught(VEC_DIR "/07-status-verified.hex", "mtime_sec = -1234567890",
		      "mtime_sec = 18446744072474983726", "not a 8-byte signed integer");
	expect_caught(status, "held[1].block", "held[2].block", "out of the man page's order");
	expect_caught(status, "held[1].flags", "held[1].flagz", "no field");
	expect_caught(status, "base = 18600", "bytes_read = 18600", "in this state");
	expect_caught(status, "latest_seq = ", "highest_seq = ", "no field \"highest_seq\"");
}
