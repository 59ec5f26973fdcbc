/* The wire format: every type round-trips, every malformation is refused. */
#include <criterion/criterion.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/proto.h"
#include "cft/wire.h"

static const uint8_t name[] = "report.pdf";
static const uint8_t payload[CFT_CHUNK_SIZE_MAX] = { 1, 2, 3 };
/* 94 chunks, every other one held; the 2 bits past the end are zero. */
static const uint8_t map94[12] = { 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
				   0x55, 0x55, 0x55, 0x55, 0x55, 0x15 };
static uint8_t sums[CFT_SUMS_PER_DATAGRAM * CFT_DIGEST_LEN];
_Static_assert(sizeof(sums) >= CFT_CHUNKSUMS_PER_DATAGRAM * WIRE_LEAF_LEN, "room for leaves");

/* One valid message of each type, with every field set to something other
 * than zero so a field the codec forgets shows up as a difference. */
static void sample(unsigned type, struct wire_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->version = CFT_PROTO_VERSION;
	m->type = (uint8_t)type;
	m->session = 0x0123456789abcdefull;
	switch (type) {
	case WIRE_HELLO:
		m->u.hello = (struct wire_hello){ .block_size = 65536, .nfiles = 3,
						  .chunk_size = CFT_CHUNK_SIZE };
		memset(m->u.hello.cookie, 0xc0, CFT_COOKIE_LEN);
		break;
	case WIRE_HELLO_ACK:
		m->u.hello_ack = (struct wire_hello_ack){ .features = 0, .window_blocks = 17 };
		memset(m->u.hello_ack.hello, 0x17, CFT_SHORT_DIGEST_LEN);
		memset(m->u.hello_ack.cookie, 0xc1, CFT_COOKIE_LEN);
		break;
	case WIRE_FILE:
		m->u.file = (struct wire_file){ 2, 1ull << 40, -5, 999999999, 0644, 0,
						sizeof(name) - 1, name, { 0 } };
		memset(m->u.file.offer, 0x0f, CFT_DIGEST_LEN);
		break;
	case WIRE_BLOCK:
		m->u.block.file = 1;
		m->u.block.block = 77;
		memset(m->u.block.root, 0xab, CFT_DIGEST_LEN);
		break;
	case WIRE_DATA:
		m->u.data = (struct wire_data){ .seq = 0xfffffff0u, .file = 1, .block = 9,
						.chunk = 748, .len = CFT_CHUNK_SIZE,
						.leaf = wire_leaf(payload, CFT_CHUNK_SIZE),
						.payload = payload };
		m->u.data.check = wire_data_check(&m->u.data);
		break;
	case WIRE_ZDATA:
		/* The largest a compressed payload may be with the default
		 * chunks (the bytes need not be a zlib stream for the codec:
		 * the receiver expands them). */
		m->u.data = (struct wire_data){ .seq = 7, .file = 1, .block = 9, .chunk = 3,
						.len = (uint16_t)wire_zdata_max(CFT_CHUNK_SIZE),
						.leaf = 0x12345678u, .payload = payload };
		m->u.data.check = wire_data_check(&m->u.data);
		break;
	case WIRE_HOLE:
		m->u.hole = (struct wire_hole){ 5, 77 };
		break;
	case WIRE_PROBE:
		m->u.probe = (struct wire_probe){ 4, 0x1122334455667788ull };
		break;
	case WIRE_STATUS:
		m->u.status.file = 3;
		m->u.status.round = 2;
		m->u.status.state = WIRE_FS_RECEIVING;
		m->u.status.echo = 42;
		m->u.status.rx_seq = 1000;
		m->u.status.rx_count = 990;
		m->u.status.base = 12;
		m->u.status.done_mask = 0x8000000000000005ull;
		/* The largest the receiver makes: a window of 64 blocks of
		 * 128 KiB, 94 chunks each, every one open. */
		m->u.status.nheld = CFT_WINDOW_BLOCKS_MAX;
		for (unsigned i = 0; i < CFT_WINDOW_BLOCKS_MAX; i++)
			m->u.status.held[i] = (struct wire_held){ 12 + i, (uint8_t)(i % 4), 94,
								 map94 };
		break;
	case WIRE_SUMS:
		for (unsigned i = 0; i < sizeof(sums); i++)
			sums[i] = (uint8_t)i;
		m->u.sums = (struct wire_sums){ 1, 1, 80, CFT_SUMS_PER_DATAGRAM, sums };
		break;
	case WIRE_COMMIT:
		m->u.commit.file = 5;
		memset(m->u.commit.commit, 0x5a, CFT_DIGEST_LEN);
		break;
	case WIRE_BYE:
	case WIRE_BYE_ACK:
		memset(m->u.bye.hello, 0xb1, CFT_SHORT_DIGEST_LEN);
		break;
	case WIRE_CHUNKSUMS:
		for (unsigned i = 0; i < sizeof(sums); i++)
			sums[i] = (uint8_t)(i * 3);
		m->u.chunksums = (struct wire_chunksums){ 4, 11, 80, CFT_CHUNKSUMS_PER_DATAGRAM,
							  sums };
		break;
	case WIRE_ERROR:
		m->u.error = (struct wire_error){ .reason = WIRE_R_BAD_NAME, .file = 7, .msg_len = 5,
						  .msg = (const uint8_t *)"a/b/c" };
		memset(m->u.error.ref, 0xe7, CFT_SHORT_DIGEST_LEN);
		break;
	default:
		break;
	}
}

static int encode(unsigned type, uint8_t *buf)
{
	struct wire_msg m;

	sample(type, &m);
	return wire_encode(&m, buf, CFT_DATAGRAM_MAX);
}

Test(wire, every_type_round_trips)
{
	for (unsigned t = WIRE_HELLO; t <= WIRE_TYPE_MAX; t++) {
		uint8_t buf[CFT_DATAGRAM_MAX], again[CFT_DATAGRAM_MAX];
		struct wire_msg m;
		int n = encode(t, buf), n2;

		cr_assert_gt(n, 0, "type %u does not encode", t);
		cr_assert_leq(n, CFT_DATAGRAM_MAX);
		cr_assert_eq(wire_decode(buf, (size_t)n, &m), 0, "type %u does not decode", t);
		cr_assert_eq(m.type, t);
		cr_assert_eq(m.session, 0x0123456789abcdefull);
		/* Re-encoding what we decoded gives the same bytes. */
		n2 = wire_encode(&m, again, sizeof(again));
		cr_assert_eq(n2, n, "type %u", t);
		cr_assert_eq(memcmp(buf, again, (size_t)n), 0, "type %u differs", t);
	}
}

Test(wire, fields_survive)
{
	uint8_t buf[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int n = encode(WIRE_FILE, buf);

	cr_assert_eq(wire_decode(buf, (size_t)n, &m), 0);
	cr_assert_eq(m.u.file.size, 1ull << 40);
	cr_assert_eq(m.u.file.mtime_sec, -5);
	cr_assert_eq(m.u.file.mtime_nsec, 999999999u);
	cr_assert_eq(m.u.file.mode, 0644u);
	cr_assert_eq(m.u.file.name_len, sizeof(name) - 1);
	cr_assert_eq(memcmp(m.u.file.name, name, sizeof(name) - 1), 0);

	n = encode(WIRE_STATUS, buf);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), 0);
	cr_assert_eq(m.u.status.done_mask, 0x8000000000000005ull);
	cr_assert_eq(m.u.status.nheld, CFT_WINDOW_BLOCKS_MAX);
	cr_assert_eq(m.u.status.held[63].block, 12u + 63);
	cr_assert_eq(m.u.status.held[63].flags, 3);
	cr_assert_eq(m.u.status.held[63].nchunks, 94);
	cr_assert_eq(memcmp(m.u.status.held[63].map, map94, sizeof(map94)), 0);

	n = encode(WIRE_DATA, buf);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), 0);
	cr_assert_eq(m.u.data.seq, 0xfffffff0u);
	cr_assert_eq(m.u.data.len, CFT_CHUNK_SIZE);
	cr_assert_eq(memcmp(m.u.data.payload, payload, CFT_CHUNK_SIZE), 0);
	cr_assert_eq(m.u.data.leaf, m.u.data.payload_crc);
	cr_assert_eq(m.u.data.check, wire_data_check(&m.u.data));
}

/* DATA's checksum is built from its leaf, not from the payload in memory:
 * a payload that changed between the read and the send (a bad page, a
 * stray write) is caught by the first hop, not handed on resealed. */
Test(wire, a_payload_that_changed_since_its_leaf_fails_the_checksum)
{
	uint8_t buf[CFT_DATAGRAM_MAX], changed[CFT_CHUNK_SIZE];
	struct wire_msg m, d;
	int n;

	sample(WIRE_DATA, &m);
	memcpy(changed, payload, sizeof(changed));
	changed[700] ^= 0x10;
	m.u.data.payload = changed;	/* leaf still that of `payload` */
	n = wire_encode(&m, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(wire_decode(buf, (size_t)n, &d), CFT_E_CHECKSUM);
	/* The check binds the fields: any one of them changed breaks it. */
	sample(WIRE_DATA, &m);
	uint32_t check = wire_data_check(&m.u.data);
	m.u.data.chunk ^= 1;
	cr_assert_neq(wire_data_check(&m.u.data), check);
	m.u.data.chunk ^= 1;
	m.u.data.leaf ^= 0x80000000u;
	cr_assert_neq(wire_data_check(&m.u.data), check);
}

Test(wire, status_states_round_trip)
{
	for (uint8_t st = WIRE_FS_RECEIVING; st <= WIRE_FS_MAX; st++) {
		uint8_t buf[CFT_DATAGRAM_MAX];
		struct wire_msg m, d;

		sample(WIRE_STATUS, &m);
		m.u.status.state = st;
		m.u.status.nheld = 1;
		m.u.status.bytes = 12345;
		m.u.status.sums_have = 40;
		memset(m.u.status.digest, 0xee, CFT_DIGEST_LEN);
		memset(m.u.status.commit, 0xcc, CFT_DIGEST_LEN);
		m.u.status.name = name;
		m.u.status.name_len = sizeof(name) - 1;
		m.u.status.mtime_sec = -7;
		m.u.status.existing = 1;
		int n = wire_encode(&m, buf, sizeof(buf));
		cr_assert_gt(n, 0);
		cr_assert_eq(wire_decode(buf, (size_t)n, &d), 0, "state %u", st);
		cr_assert_eq(d.u.status.state, st);
		if (st == WIRE_FS_VERIFIED) {
			cr_assert_eq(d.u.status.bytes, 12345u);
			cr_assert_eq(d.u.status.digest[31], 0xee);
			cr_assert_eq(d.u.status.commit[0], 0xcc);
			cr_assert_eq(d.u.status.mtime_sec, -7);
			cr_assert_eq(d.u.status.existing, 1);
			cr_assert_eq(memcmp(d.u.status.name, name, sizeof(name) - 1), 0);
		}
		if (st == WIRE_FS_COMMITTED)
			cr_assert_eq(d.u.status.commit[31], 0xcc);
		if (st == WIRE_FS_SUMS)
			cr_assert_eq(d.u.status.sums_have, 40u);
	}
}

/* Found by make fuzz: a STATUS of another state decoded into a struct that
 * held a RECEIVING one kept its range count, and would not encode again. */
Test(wire, status_decode_leaves_no_stale_fields)
{
	uint8_t buf[CFT_DATAGRAM_MAX], again[CFT_DATAGRAM_MAX];
	struct wire_msg m, d;
	int n;

	sample(WIRE_STATUS, &m);
	m.u.status.state = WIRE_FS_SUMS;
	n = wire_encode(&m, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	memset(&d, 0xff, sizeof(d));	/* as if it held anything before */
	cr_assert_eq(wire_decode(buf, (size_t)n, &d), 0);
	cr_assert_eq(d.u.status.nheld, 0);
	cr_assert_eq(wire_encode(&d, again, sizeof(again)), n);
	cr_assert_eq(memcmp(buf, again, (size_t)n), 0);
}

/* A block of CFT_CHUNKS_MAX chunks (a 4 MiB block) has a map of 375 bytes:
 * it goes on the wire and comes back; one chunk more is refused (above). */
Test(wire, status_map_at_the_chunk_limit)
{
	static uint8_t map[(CFT_CHUNKS_MAX + 7) / 8];
	uint8_t buf[CFT_DATAGRAM_MAX];
	struct wire_msg m, d;
	int n;

	memset(map, 0xff, sizeof(map));
	map[sizeof(map) - 1] = (uint8_t)((1u << (CFT_CHUNKS_MAX % 8 ? CFT_CHUNKS_MAX % 8 : 8)) - 1);
	sample(WIRE_STATUS, &m);
	m.u.status.nheld = 1;
	m.u.status.held[0] = (struct wire_held){ 7, WIRE_HELD_ROOT, CFT_CHUNKS_MAX, map };
	n = wire_encode(&m, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(wire_decode(buf, (size_t)n, &d), 0);
	cr_assert_eq(d.u.status.held[0].nchunks, CFT_CHUNKS_MAX);
	cr_assert_eq(memcmp(d.u.status.held[0].map, map, sizeof(map)), 0);
}

Test(wire, truncated_by_one_byte_is_refused)
{
	for (unsigned t = WIRE_HELLO; t <= WIRE_TYPE_MAX; t++) {
		uint8_t buf[CFT_DATAGRAM_MAX];
		struct wire_msg m;
		int n = encode(t, buf);

		/* Reseal every check so that the length is the fault. */
		wire_reseal_all(buf, (size_t)n - 1);
		cr_assert_lt(wire_decode(buf, (size_t)n - 1, &m), 0, "type %u accepted", t);
	}
}

Test(wire, trailing_bytes_are_refused)
{
	for (unsigned t = WIRE_HELLO; t <= WIRE_TYPE_MAX; t++) {
		uint8_t buf[CFT_DATAGRAM_MAX + 1] = { 0 };
		struct wire_msg m;
		int n = encode(t, buf);

		if (n >= CFT_DATAGRAM_MAX)
			continue;
		wire_reseal_all(buf, (size_t)n + 1);
		cr_assert_eq(wire_decode(buf, (size_t)n + 1, &m), CFT_E_MALFORMED, "type %u", t);
	}
}

Test(wire, every_single_bit_flip_is_caught)
{
	for (unsigned t = WIRE_HELLO; t <= WIRE_TYPE_MAX; t++) {
		uint8_t buf[CFT_DATAGRAM_MAX];
		struct wire_msg m;
		int n = encode(t, buf);

		for (int bit = 0; bit < n * 8; bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			cr_assert_lt(wire_decode(buf, (size_t)n, &m), 0,
				     "type %u bit %d flipped and accepted", t, bit);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
}

Test(wire, wrong_version_is_reported_with_header)
{
	uint8_t buf[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int n = encode(WIRE_HELLO, buf);

	buf[2] = CFT_PROTO_VERSION + 1;
	wire_reseal(buf, (size_t)n);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_VERSION);
	cr_assert_eq(m.type, WIRE_HELLO);
	cr_assert_eq(m.session, 0x0123456789abcdefull);
}

Test(wire, header_faults)
{
	uint8_t buf[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int n = encode(WIRE_PROBE, buf);

	cr_assert_eq(wire_decode(buf, WIRE_HDR_LEN - 1, &m), CFT_E_TRUNCATED);
	cr_assert_eq(wire_decode(buf, 0, &m), CFT_E_TRUNCATED);
	buf[0] ^= 1;
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MAGIC);
	buf[0] ^= 1;
	buf[3] = WIRE_TYPE_MAX + 1;		/* unknown type */
	wire_reseal_all(buf, (size_t)n);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_TYPE);
	buf[3] = WIRE_PROBE;
	buf[5] = 1;				/* a flag no version-2 peer sets */
	wire_reseal_all(buf, (size_t)n);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED);
	buf[5] = 0;
	wire_reseal_all(buf, (size_t)n);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), 0);
	/* Larger than any datagram we send. */
	uint8_t big[CFT_DATAGRAM_MAX + 1];
	memcpy(big, buf, (size_t)n);
	cr_assert_lt(wire_decode(big, sizeof(big), &m), 0);
}

/* Overwrite a big-endian u16 at off and reseal every check, so that the
 * field is the fault. */
static void poke16(uint8_t *buf, size_t len, size_t off, uint16_t v)
{
	buf[off] = (uint8_t)(v >> 8);
	buf[off + 1] = (uint8_t)v;
	wire_reseal_all(buf, len);
}

/* A fresh datagram of `type` with byte off set to v (or, with `or`, v OR'd
 * in), every check resealed: decoding it must fail as malformed. */
static void refused_with_byte(unsigned type, size_t off, uint8_t v, bool or)
{
	uint8_t buf[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int n = encode(type, buf);

	buf[off] = or ? (uint8_t)(buf[off] | v) : v;
	wire_reseal_all(buf, (size_t)n);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED, "%s byte %zu = %#x",
		     wire_type_name(type), off, buf[off]);
}

Test(wire, oversize_length_fields_are_refused)
{
	uint8_t buf[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int n;

	/* FILE name length (a path): at the limit passes (in the encoder),
	 * past fails. */
	n = encode(WIRE_FILE, buf);
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 32, CFT_PATH_MAX + 1);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED);
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 32, 0xffff);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED);
	/* A length that claims more than the datagram holds. */
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 32, (uint16_t)(sizeof(name)));
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_TRUNCATED);

	/* DATA length: zero and past the largest chunk size (a session's own
	 * is the receiver's to hold it to); more than the datagram holds. */
	n = encode(WIRE_DATA, buf);
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 14, CFT_CHUNK_SIZE_MAX + 1);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED);
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 14, CFT_CHUNK_SIZE + 1);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_TRUNCATED);
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 14, 0);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED);

	/* STATUS: more open blocks than a window holds; a block of no chunks
	 * or of more than a block can have; a want it does not know; a chunk
	 * held past the block's last. */
	refused_with_byte(WIRE_STATUS, WIRE_HDR_LEN + 53, CFT_WINDOW_BLOCKS_MAX + 1, false);
	n = encode(WIRE_STATUS, buf);
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 59, 0);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED);
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 59, CFT_CHUNKS_MAX + 1);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED);
	refused_with_byte(WIRE_STATUS, WIRE_HDR_LEN + 58, WIRE_HELD_FLAGS + 1, false);
	refused_with_byte(WIRE_STATUS, WIRE_HDR_LEN + 61 + 11, 0x40, true);	/* chunk 94 of 94 */

	/* SUMS count: zero and past the per-datagram maximum. */
	n = encode(WIRE_SUMS, buf);
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 12, CFT_SUMS_PER_DATAGRAM + 1);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED);
	poke16(buf, (size_t)n, WIRE_HDR_LEN + 12, 0);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_MALFORMED);

	/* ERROR message length past its maximum. */
	refused_with_byte(WIRE_ERROR, WIRE_HDR_LEN + 22, CFT_ERROR_MSG_MAX + 1, false);
}

Test(wire, encoder_refuses_out_of_range_fields)
{
	static uint8_t big[CFT_DATAGRAM_BIG_MAX];
	uint8_t buf[CFT_DATAGRAM_MAX];
	struct wire_msg m;

	static const uint8_t long_name[CFT_PATH_MAX + 1];

	sample(WIRE_FILE, &m);
	m.u.file.name = long_name;
	m.u.file.name_len = CFT_PATH_MAX;
	cr_assert_gt(wire_encode(&m, buf, sizeof(buf)), 0, "a name at the limit must encode");
	m.u.file.name_len = CFT_PATH_MAX + 1;
	cr_assert_eq(wire_encode(&m, buf, sizeof(buf)), CFT_E_MALFORMED);
	/* The longest name still fits the report that names it back. */
	memset(&m, 0, sizeof(m));
	m.version = CFT_PROTO_VERSION;
	m.type = WIRE_STATUS;
	m.u.status.state = WIRE_FS_VERIFIED;
	m.u.status.name = long_name;
	m.u.status.name_len = CFT_PATH_MAX;
	cr_assert_gt(wire_encode(&m, buf, sizeof(buf)), 0, "a verified report of the longest name");
	/* DATA: the largest chunk fits the largest datagram, one byte more
	 * does not; a default chunk's DATA fits the default datagram. */
	sample(WIRE_DATA, &m);
	m.u.data.len = CFT_CHUNK_SIZE_MAX;
	cr_assert_leq(wire_encode(&m, big, sizeof(big)), CFT_DATAGRAM_BIG_MAX);
	cr_assert_gt(wire_encode(&m, big, sizeof(big)), 0);
	m.u.data.len = CFT_CHUNK_SIZE_MAX + 1;
	cr_assert_eq(wire_encode(&m, big, sizeof(big)), CFT_E_MALFORMED);
	/* ZDATA: the compressed payload at its limit fits, one byte past not;
	 * with the default chunks, exactly the default datagram. */
	sample(WIRE_ZDATA, &m);
	cr_assert_eq(wire_encode(&m, buf, sizeof(buf)), CFT_DATAGRAM_MAX);
	m.u.data.len = WIRE_ZDATA_PAYLOAD_MAX;
	cr_assert_eq(wire_encode(&m, big, sizeof(big)), CFT_DATAGRAM_BIG_MAX);
	m.u.data.len = WIRE_ZDATA_PAYLOAD_MAX + 1;
	cr_assert_eq(wire_encode(&m, big, sizeof(big)), CFT_E_MALFORMED);
	/* The decoder refuses empty DATA and SUMS, so the encoder must too. */
	m.u.data.len = 0;
	cr_assert_eq(wire_encode(&m, buf, sizeof(buf)), CFT_E_MALFORMED);
	sample(WIRE_SUMS, &m);
	m.u.sums.count = CFT_SUMS_PER_DATAGRAM + 1;
	cr_assert_eq(wire_encode(&m, buf, sizeof(buf)), CFT_E_MALFORMED);
	m.u.sums.count = 0;
	cr_assert_eq(wire_encode(&m, buf, sizeof(buf)), CFT_E_MALFORMED);
	sample(WIRE_HELLO, &m);
	cr_assert_eq(wire_encode(&m, buf, WIRE_HDR_LEN + 3), CFT_E_SPACE);
}

Test(wire, largest_datagrams_fit_the_mtu)
{
	uint8_t buf[CFT_DATAGRAM_MAX];

	cr_assert_leq(encode(WIRE_DATA, buf), CFT_DATAGRAM_MAX);
	cr_assert_leq(encode(WIRE_STATUS, buf), CFT_DATAGRAM_MAX);
	cr_assert_leq(encode(WIRE_SUMS, buf), CFT_DATAGRAM_MAX);
	/* 1500-byte Ethernet MTU less IPv6 and UDP headers. */
	cr_assert_leq(CFT_DATAGRAM_MAX, 1500 - 40 - 8);
}

/* Damage past the CRC (recomputed after it): every control datagram's tag
 * catches every single bit, and DATA's leaf or check does not hold. */
Test(wire, the_tag_catches_damage_past_the_checksum)
{
	for (unsigned t = WIRE_HELLO; t <= WIRE_TYPE_MAX; t++) {
		uint8_t buf[CFT_DATAGRAM_MAX];
		struct wire_msg m;
		int n = encode(t, buf);

		for (int bit = WIRE_HDR_LEN * 8; bit < n * 8; bit++) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			wire_reseal(buf, (size_t)n);
			if (t == WIRE_DATA) {
				if (wire_decode(buf, (size_t)n, &m) == 0)
					cr_assert(m.u.data.leaf != m.u.data.payload_crc ||
						  wire_data_check(&m.u.data) != m.u.data.check,
						  "DATA bit %d passes its leaf and check", bit);
			} else {
				cr_assert_lt(wire_decode(buf, (size_t)n, &m), 0,
					     "type %u bit %d past the CRC accepted", t, bit);
			}
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			wire_reseal(buf, (size_t)n);
		}
	}
}

/* An ERROR of another version is read (its layout is kept in every
 * version); anything else of another version only by its header. */
Test(wire, an_error_of_another_version_is_read)
{
	uint8_t buf[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int n = encode(WIRE_ERROR, buf);

	buf[2] = CFT_PROTO_VERSION + 7;
	wire_reseal_all(buf, (size_t)n);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_VERSION);
	cr_assert_eq(m.version, CFT_PROTO_VERSION + 7);
	cr_assert_eq(m.type, WIRE_ERROR);
	cr_assert_eq(m.u.error.reason, WIRE_R_BAD_NAME);
	cr_assert_eq(m.u.error.ref[0], 0xe7);
	/* Its tag damaged: not an ERROR to believe. */
	buf[WIRE_HDR_LEN] ^= 1;
	wire_reseal(buf, (size_t)n);
	cr_assert_eq(wire_decode(buf, (size_t)n, &m), CFT_E_VERSION);
	cr_assert_eq(m.type, 0);
}

/* The plain CRC-32 of a datagram with its checksum field as zero: what
 * cft-protocol(7) says the checksum is, computed here the long way. */
static uint32_t plain_checksum(const uint8_t *buf, size_t len)
{
	uint8_t copy[CFT_DATAGRAM_MAX];

	memcpy(copy, buf, len);
	memset(copy + WIRE_CSUM_OFF, 0, 4);
	return digest_crc32(copy, len);
}

static uint32_t checksum_field(const uint8_t *buf)
{
	return (uint32_t)buf[WIRE_CSUM_OFF] << 24 | (uint32_t)buf[WIRE_CSUM_OFF + 1] << 16 |
	       (uint32_t)buf[WIRE_CSUM_OFF + 2] << 8 | buf[WIRE_CSUM_OFF + 3];
}

/* The encoder and decoder keep the last header's CRC and combine the
 * fields' and the payload's: sessions and types taking turns, and payloads
 * of many lengths, must still give the checksum the long way gives. */
Test(wire, checksums_are_the_plain_crc_whatever_came_before)
{
	const uint64_t sessions[] = { 1, 0xfeedfacecafebeefull, 1, 2 };
	const unsigned types[] = { WIRE_DATA, WIRE_STATUS, WIRE_DATA, WIRE_ZDATA, WIRE_PROBE };

	for (unsigned len = 1; len <= CFT_CHUNK_SIZE; len += 97) {
		for (size_t s = 0; s < sizeof(sessions) / sizeof(sessions[0]); s++) {
			for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
				uint8_t buf[CFT_DATAGRAM_MAX];
				struct wire_msg m;
				int n;

				sample(types[t], &m);
				m.session = sessions[s];
				if (types[t] == WIRE_DATA || types[t] == WIRE_ZDATA) {
					m.u.data.len = (uint16_t)len;
					m.u.data.leaf = wire_leaf(payload, len);
					m.u.data.check = wire_data_check(&m.u.data);
				}
				n = wire_encode(&m, buf, sizeof(buf));
				cr_assert_gt(n, 0);
				cr_assert_eq(checksum_field(buf), plain_checksum(buf, (size_t)n),
					     "type %u, session %zu, length %u", types[t], s, len);
				cr_assert_eq(wire_decode(buf, (size_t)n, &m), 0);
				if (types[t] == WIRE_DATA || types[t] == WIRE_ZDATA)
					cr_assert_eq(m.u.data.fields_crc, m.u.data.check,
						     "type %u, length %u", types[t], len);
			}
		}
	}
}

/* A field damaged and the checksum recomputed over it (a router's doing):
 * the decoder hands over the fields' CRC as received, which is then not the
 * check, and the receiver drops the chunk. */
Test(wire, damaged_fields_resealed_do_not_make_the_check)
{
	const unsigned types[] = { WIRE_DATA, WIRE_ZDATA };

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		unsigned type = types[t];
		uint8_t buf[CFT_DATAGRAM_MAX];
		struct wire_msg m;
		int n = encode(type, buf);

		cr_assert_gt(n, 0);
		buf[WIRE_HDR_LEN + 5] ^= 0x10;	/* the file number */
		if (type == WIRE_DATA)
			wire_reseal(buf, (size_t)n);
		else
			wire_reseal_all(buf, (size_t)n);	/* the tag too */
		cr_assert_eq(wire_decode(buf, (size_t)n, &m), 0, "type %u", type);
		cr_assert_neq(m.u.data.fields_crc, m.u.data.check, "type %u", type);
	}
}

/* An output that lends room: proto_send encodes there, and commits the
 * very bytes wire_encode makes; one without gets a copy, as before. */
struct lent {
	uint8_t room[CFT_DATAGRAM_MAX];
	size_t committed, copied;
	unsigned commits, copies;
};

static uint8_t *lent_room(void *ctx)
{
	return ((struct lent *)ctx)->room;
}

static void lent_commit(void *ctx, const struct net_addr *to, size_t len)
{
	struct lent *l = ctx;

	(void)to;
	l->commits++;
	l->committed = len;
}

static void lent_copy(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len)
{
	struct lent *l = ctx;

	(void)to;
	memcpy(l->room, buf, len);
	l->copies++;
	l->copied = len;
}

Test(wire, proto_send_encodes_into_lent_room)
{
	struct lent with = { 0 }, without = { 0 };
	const struct proto_out lends = { .datagram = lent_copy, .ctx = &with,
					 .room = lent_room, .commit = lent_commit };
	const struct proto_out copies = { .datagram = lent_copy, .ctx = &without };
	uint8_t want[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int n;

	sample(WIRE_DATA, &m);
	n = wire_encode(&m, want, sizeof(want));
	cr_assert_gt(n, 0);
	proto_send(&lends, NULL, &m);
	cr_assert_eq(with.commits, 1);
	cr_assert_eq(with.copies, 0);
	cr_assert_eq(with.committed, (size_t)n);
	cr_assert_eq(memcmp(with.room, want, (size_t)n), 0);
	proto_send(&copies, NULL, &m);
	cr_assert_eq(without.copies, 1);
	cr_assert_eq(without.copied, (size_t)n);
	cr_assert_eq(memcmp(without.room, want, (size_t)n), 0);
}

/*
 * A HELLO for larger chunks than the default is as large as the largest
 * DATA they make, its padding zeros: that it arrives shows the path carries
 * them.  At the largest chunk size and past it; padding short, long or not
 * zeros is damage (every check resealed over it, so the layout is the
 * fault); the default chunks' HELLO is not padded.
 */
Test(wire, hello_is_padded_to_its_chunks)
{
	static uint8_t buf[CFT_DATAGRAM_BIG_MAX + 1];
	const uint32_t sizes[] = { CFT_CHUNK_SIZE, CFT_CHUNK_SIZE + 1, 4096, 12288,
				   CFT_CHUNK_SIZE_MAX };
	struct wire_msg m, d;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t want = sizes[i] > CFT_CHUNK_SIZE ? sizes[i] + CFT_DATAGRAM_OVERHEAD :
			      WIRE_HELLO_LEN;
		int n;

		sample(WIRE_HELLO, &m);
		m.u.hello.chunk_size = sizes[i];
		n = wire_encode(&m, buf, sizeof(buf));
		cr_assert_eq(n, (int)want, "chunks of %u: %d bytes", sizes[i], n);
		cr_assert_eq(wire_hello_len(sizes[i]), want);
		cr_assert_eq(wire_decode(buf, (size_t)n, &d), 0, "chunks of %u", sizes[i]);
		cr_assert_eq(d.u.hello.chunk_size, sizes[i]);
		/* One byte short, one more: refused. */
		wire_reseal_all(buf, (size_t)n - 1);
		cr_assert_lt(wire_decode(buf, (size_t)n - 1, &d), 0, "chunks of %u", sizes[i]);
		n = wire_encode(&m, buf, sizeof(buf));
		buf[n] = 0;
		wire_reseal_all(buf, (size_t)n + 1);
		cr_assert_eq(wire_decode(buf, (size_t)n + 1, &d), CFT_E_MALFORMED);
		if (sizes[i] <= CFT_CHUNK_SIZE)
			continue;
		/* Padding that is not zeros. */
		n = wire_encode(&m, buf, sizeof(buf));
		buf[n - WIRE_TAG_LEN - 1] = 1;
		wire_reseal_all(buf, (size_t)n);
		cr_assert_eq(wire_decode(buf, (size_t)n, &d), CFT_E_MALFORMED);
	}
	cr_assert_eq(WIRE_HELLO_LEN, 102, "cft-protocol(7) gives a HELLO 102 bytes");
	cr_assert_eq(CFT_CHUNK_SIZE + CFT_DATAGRAM_OVERHEAD, CFT_DATAGRAM_MAX);
	/* Past the largest chunks: no HELLO can ask for them. */
	sample(WIRE_HELLO, &m);
	m.u.hello.chunk_size = CFT_CHUNK_SIZE_MAX + 1;
	cr_assert_eq(wire_encode(&m, buf, sizeof(buf)), CFT_E_MALFORMED);
	cr_assert_eq(wire_hello_len(CFT_CHUNK_SIZE_MAX + 1), 0);
	m.u.hello.chunk_size = CFT_CHUNK_SIZE_MAX;
	cr_assert_gt(wire_encode(&m, buf, sizeof(buf)), 0);
	buf[WIRE_HDR_LEN + 16 + 2] = 0x41;	/* chunk_size 16384 -> 16640 */
	wire_reseal_all(buf, CFT_DATAGRAM_BIG_MAX);
	cr_assert_eq(wire_decode(buf, CFT_DATAGRAM_BIG_MAX, &d), CFT_E_MALFORMED);
	/* Nor any datagram longer than the largest. */
	cr_assert_eq(wire_decode(buf, CFT_DATAGRAM_BIG_MAX + 1, &d), CFT_E_MALFORMED);
}

/*
 * The chunk a route's MTU takes: its datagram, the IP header (20 for IPv4,
 * 40 for IPv6) and UDP's 8 in one packet, in steps of 4096 up to 16384; at
 * each step's exact fit and one byte short of it; the default below, and
 * when the MTU is unknown.  Then the length of a chunk at a block's end.
 */
Test(wire, the_chunk_a_route_takes)
{
	const long v4 = 20 + 8 + CFT_DATAGRAM_OVERHEAD, v6 = 40 + 8 + CFT_DATAGRAM_OVERHEAD;

	cr_assert_eq(proto_path_chunk(65536, AF_INET), CFT_CHUNK_SIZE_MAX);	/* loopback */
	cr_assert_eq(proto_path_chunk(65536, AF_INET6), CFT_CHUNK_SIZE_MAX);
	for (uint32_t c = CFT_CHUNK_SIZE_STEP; c <= CFT_CHUNK_SIZE_MAX; c += CFT_CHUNK_SIZE_STEP) {
		uint32_t below = c == CFT_CHUNK_SIZE_STEP ? CFT_CHUNK_SIZE : c - CFT_CHUNK_SIZE_STEP;

		cr_assert_eq(proto_path_chunk(c + v4, AF_INET), c);
		cr_assert_eq(proto_path_chunk(c + v4 - 1, AF_INET), below, "%u, a byte short", c);
		cr_assert_eq(proto_path_chunk(c + v6, AF_INET6), c);
		cr_assert_eq(proto_path_chunk(c + v6 - 1, AF_INET6), below);
	}
	cr_assert_eq(proto_path_chunk(9000, AF_INET), 8192u);		/* jumbo frames */
	cr_assert_eq(proto_path_chunk(1500, AF_INET), CFT_CHUNK_SIZE);
	cr_assert_eq(proto_path_chunk(1280, AF_INET6), CFT_CHUNK_SIZE);	/* and less: as before */
	cr_assert_eq(proto_path_chunk(-1, AF_INET), CFT_CHUNK_SIZE);
	cr_assert_eq(proto_chunk_len(8192 + 100, 2, 4096), 100);
	cr_assert_eq(proto_chunk_len(8192 + 100, 1, 4096), 4096);
	cr_assert_eq(proto_chunk_len(8192 + 100, 3, 4096), 0);
	cr_assert_eq(wire_chunks(8192 + 100, 4096), 3u);
	cr_assert_eq(wire_chunks(CFT_BLOCK_SIZE_MAX, CFT_CHUNK_SIZE), CFT_CHUNKS_MAX);
}
