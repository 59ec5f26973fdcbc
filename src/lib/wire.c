/*
 * Encoding and decoding of cft datagrams; see cft-protocol(7).
 *
 * The first WIRE_HDR_LEN bytes have the same layout in every protocol
 * version, and so does an ERROR, so that a receiver can recognise a datagram
 * of another version, check it was not damaged, and answer "version not
 * spoken" to its session, and the sender can read that answer.
 */
#include <string.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/wire.h"
#include "cursor.h"

/* DATA after the header: seq(4) file(4) block(4) chunk(2) len(2) leaf(4),
 * which its check covers, then the check(4) and the payload. */
#define DATA_FIELDS_OFF WIRE_HDR_LEN
#define DATA_FIELDS_LEN 20
#define DATA_LEAF_OFF WIRE_DATA_LEAF_OFF
#define DATA_CHECK_OFF (DATA_FIELDS_OFF + DATA_FIELDS_LEN)
#define DATA_PAYLOAD_OFF WIRE_DATA_PAYLOAD_OFF
_Static_assert(DATA_LEAF_OFF == DATA_FIELDS_OFF + DATA_FIELDS_LEN - WIRE_LEAF_LEN, "DATA layout");
_Static_assert(DATA_PAYLOAD_OFF == DATA_CHECK_OFF + 4, "DATA layout");

static const uint8_t zero4[4];

/*
 * The CRC-32 of a datagram's header, its checksum field as zero.  zlib
 * takes runs this short a byte at a time, and every datagram of a session
 * and type has the same header: each thread keeps the last one's, which
 * spares a DATA 18 of its 42 bytes of header and fields.
 */
static uint32_t lead_crc(const uint8_t *buf)
{
	static _Thread_local uint8_t last[WIRE_CSUM_OFF];
	static _Thread_local uint32_t crc;
	static _Thread_local bool known;

	if (!known || memcmp(last, buf, WIRE_CSUM_OFF) != 0) {
		memcpy(last, buf, WIRE_CSUM_OFF);
		crc = digest_crc32_update(digest_crc32(buf, WIRE_CSUM_OFF), zero4, sizeof(zero4));
		known = true;
	}
	return crc;
}

/* The checksum over buf[0..n), its own field as zero. */
static uint32_t head_crc(const uint8_t *buf, size_t n)
{
	return digest_crc32_update(lead_crc(buf), buf + WIRE_HDR_LEN, n - WIRE_HDR_LEN);
}

/* The checksum of a DATA datagram whose payload has CRC-32 payload_crc: the
 * payload is not read again, so one pass over it serves the leaf, the
 * checksum and, at the receiver, the chunk's place in the block's root. */
static uint32_t data_crc(const uint8_t *buf, size_t len, uint32_t payload_crc)
{
	return digest_crc32_combine(head_crc(buf, DATA_PAYLOAD_OFF), payload_crc,
				    len - DATA_PAYLOAD_OFF);
}

/* The same, when the CRC-32 of its fields as they are in buf is known too
 * (the receiver needs it for the check): the fields are not read again. */
static uint32_t data_crc_known(const uint8_t *buf, size_t len, uint32_t fields_crc,
			       uint32_t payload_crc)
{
	uint32_t crc = digest_crc32_combine(lead_crc(buf), fields_crc, DATA_FIELDS_LEN);

	crc = digest_crc32_update(crc, buf + DATA_CHECK_OFF, 4);
	return digest_crc32_combine(crc, payload_crc, len - DATA_PAYLOAD_OFF);
}

/* The tag of a control datagram whose tag starts at buf + n. */
static void datagram_tag(const uint8_t *buf, size_t n, uint8_t out[WIRE_TAG_LEN])
{
	const struct digest_part parts[] = {
		{ buf, WIRE_CSUM_OFF },
		{ zero4, sizeof(zero4) },
		{ buf + WIRE_HDR_LEN, n - WIRE_HDR_LEN },
	};

	digest_sha256_parts(parts, 3, out, WIRE_TAG_LEN);
}

uint32_t wire_leaf(const uint8_t *payload, size_t len)
{
	return digest_crc32(payload, len);
}

static void encode_data_fields(struct wr *w, const struct wire_data *d)
{
	wr_u32(w, d->seq);
	wr_u32(w, d->file);
	wr_u32(w, d->block);
	wr_u16(w, d->chunk);
	wr_u16(w, d->len);
	wr_u32(w, d->leaf);
}

uint32_t wire_data_check(const struct wire_data *d)
{
	uint8_t fields[DATA_FIELDS_LEN];
	struct wr w;

	wr_init(&w, fields, sizeof(fields));
	encode_data_fields(&w, d);
	return digest_crc32(fields, sizeof(fields));
}

static void put_u32(uint8_t *at, uint32_t v)
{
	struct wr w;

	wr_init(&w, at, 4);
	wr_u32(&w, v);
}

void wire_reseal(uint8_t *buf, size_t len)
{
	if (len >= WIRE_HDR_LEN)
		put_u32(buf + WIRE_CSUM_OFF, head_crc(buf, len));
}

bool wire_checksum_ok(const uint8_t *buf, size_t len)
{
	struct rd r;

	if (len < WIRE_HDR_LEN)
		return false;
	rd_init(&r, buf + WIRE_CSUM_OFF, 4);
	if (buf[3] == WIRE_DATA && len >= DATA_PAYLOAD_OFF)
		return rd_u32(&r) == data_crc(buf, len, wire_leaf(buf + DATA_PAYLOAD_OFF,
								  len - DATA_PAYLOAD_OFF));
	return rd_u32(&r) == head_crc(buf, len);
}

void wire_reseal_all(uint8_t *buf, size_t len)
{
	if (len < WIRE_HDR_LEN)
		return;
	if (buf[3] == WIRE_DATA && len >= DATA_PAYLOAD_OFF) {
		uint32_t leaf = wire_leaf(buf + DATA_PAYLOAD_OFF, len - DATA_PAYLOAD_OFF);

		put_u32(buf + DATA_LEAF_OFF, leaf);
		put_u32(buf + DATA_CHECK_OFF, digest_crc32(buf + DATA_FIELDS_OFF, DATA_FIELDS_LEN));
		/* The checksum from the leaf, as the encoder makes it: one pass
		 * over the payload, not two (the seal opens every DATA so). */
		put_u32(buf + WIRE_CSUM_OFF, data_crc(buf, len, leaf));
		return;
	}
	if (len >= WIRE_HDR_LEN + WIRE_TAG_LEN)
		datagram_tag(buf, len - WIRE_TAG_LEN, buf + len - WIRE_TAG_LEN);
	wire_reseal(buf, len);
}

static void encode_status(struct wr *w, const struct wire_status *s)
{
	wr_u32(w, s->file);
	wr_u32(w, s->round);
	wr_u8(w, s->state);
	wr_bytes(w, s->offer, CFT_SHORT_DIGEST_LEN);
	wr_u64(w, s->echo);
	wr_u32(w, s->rx_seq);
	wr_u32(w, s->rx_count);
	switch (s->state) {
	case WIRE_FS_RECEIVING:
		wr_u32(w, s->base);
		wr_u64(w, s->done_mask);
		wr_u8(w, s->nheld);
		for (unsigned i = 0; i < s->nheld && i < CFT_WINDOW_BLOCKS_MAX; i++) {
			wr_u32(w, s->held[i].block);
			wr_u8(w, s->held[i].flags);
			wr_u16(w, s->held[i].nchunks);
			wr_bytes(w, s->held[i].map, (s->held[i].nchunks + 7u) / 8);
		}
		break;
	case WIRE_FS_VERIFYING:
		wr_u64(w, s->bytes);
		wr_u8(w, s->next);
		break;
	case WIRE_FS_VERIFIED:
		wr_u64(w, s->bytes);
		wr_u32(w, s->mode);
		wr_u64(w, (uint64_t)s->mtime_sec);
		wr_u32(w, s->mtime_nsec);
		wr_u8(w, s->existing);
		wr_bytes(w, s->digest, CFT_DIGEST_LEN);
		wr_bytes(w, s->commit, CFT_DIGEST_LEN);
		wr_u16(w, s->name_len);
		wr_bytes(w, s->name, s->name_len);
		break;
	case WIRE_FS_SUMS:
		wr_u32(w, s->sums_have);
		break;
	case WIRE_FS_COMMITTED:
		wr_bytes(w, s->commit, CFT_DIGEST_LEN);
		break;
	default:
		break;	/* ABSENT: nothing more */
	}
}

static bool held_valid(const struct wire_status *s)
{
	if (s->nheld > CFT_WINDOW_BLOCKS_MAX)
		return false;
	for (unsigned i = 0; i < s->nheld; i++) {
		const struct wire_held *h = &s->held[i];

		if ((h->flags & ~WIRE_HELD_FLAGS) || h->nchunks == 0 ||
		    h->nchunks > CFT_CHUNKS_MAX || !h->map ||
		    (h->nchunks % 8 && (h->map[h->nchunks / 8] >> (h->nchunks % 8))))
			return false;
	}
	return true;
}

/* Field ranges the encoder refuses to put on the wire, so that everything it
 * produces also decodes. */
static int body_valid(const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_FILE:
		return m->u.file.name_len <= CFT_PATH_MAX;
	case WIRE_HELLO:
		return wire_hello_len(m->u.hello.chunk_size) != 0;
	case WIRE_DATA:
		return m->u.data.len >= 1 && m->u.data.len <= CFT_CHUNK_SIZE_MAX;
	case WIRE_ZDATA:
		return m->u.data.len >= 1 && m->u.data.len <= WIRE_ZDATA_PAYLOAD_MAX;
	case WIRE_STATUS:
		return m->u.status.state >= WIRE_FS_RECEIVING &&
		       m->u.status.state <= WIRE_FS_MAX &&
		       (m->u.status.state != WIRE_FS_RECEIVING || held_valid(&m->u.status)) &&
		       (m->u.status.state != WIRE_FS_VERIFYING || m->u.status.next <= 1) &&
		       (m->u.status.state != WIRE_FS_VERIFIED ||
			(m->u.status.name_len <= CFT_PATH_MAX && m->u.status.existing <= 1));
	case WIRE_SUMS:
		return m->u.sums.count >= 1 && m->u.sums.count <= CFT_SUMS_PER_DATAGRAM;
	case WIRE_CHUNKSUMS:
		return m->u.chunksums.count >= 1 &&
		       m->u.chunksums.count <= CFT_CHUNKSUMS_PER_DATAGRAM;
	case WIRE_ERROR:
		return m->u.error.msg_len <= CFT_ERROR_MSG_MAX;
	default:
		return m->type >= WIRE_HELLO && m->type <= WIRE_TYPE_MAX;
	}
}

static void encode_error(struct wr *w, const struct wire_error *e)
{
	wr_u16(w, e->reason);
	wr_u32(w, e->file);
	wr_bytes(w, e->ref, CFT_SHORT_DIGEST_LEN);
	wr_u8(w, e->msg_len);
	wr_bytes(w, e->msg, e->msg_len);
}

/* Zeros that make a HELLO as large as the datagrams it asks for. */
static void encode_padding(struct wr *w, size_t n)
{
	uint8_t *pad = wr_space(w, n);

	if (pad)
		memset(pad, 0, n);
}

/* The fields after the header, by type. */
static void encode_body(struct wr *w, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_HELLO:
		wr_u32(w, m->u.hello.block_size);
		wr_u32(w, m->u.hello.nfiles);
		wr_u32(w, m->u.hello.first);
		wr_u32(w, m->u.hello.features);
		wr_u32(w, m->u.hello.chunk_size);
		wr_bytes(w, m->u.hello.cookie, CFT_COOKIE_LEN);
		wr_bytes(w, m->u.hello.random, CFT_RANDOM_LEN);
		encode_padding(w, wire_hello_len(m->u.hello.chunk_size) - WIRE_HELLO_LEN);
		break;
	case WIRE_HELLO_ACK:
		wr_u32(w, m->u.hello_ack.features);
		wr_u16(w, m->u.hello_ack.window_blocks);
		wr_bytes(w, m->u.hello_ack.hello, CFT_SHORT_DIGEST_LEN);
		wr_bytes(w, m->u.hello_ack.cookie, CFT_COOKIE_LEN);
		wr_bytes(w, m->u.hello_ack.random, CFT_RANDOM_LEN);
		break;
	case WIRE_FILE:
		wr_u32(w, m->u.file.file);
		wr_u64(w, m->u.file.size);
		wr_u64(w, (uint64_t)m->u.file.mtime_sec);
		wr_u32(w, m->u.file.mtime_nsec);
		wr_u32(w, m->u.file.mode);
		wr_u32(w, m->u.file.flags);
		wr_u16(w, m->u.file.name_len);
		wr_bytes(w, m->u.file.name, m->u.file.name_len);
		wr_bytes(w, m->u.file.offer, CFT_DIGEST_LEN);
		break;
	case WIRE_BLOCK:
		wr_u32(w, m->u.block.file);
		wr_u32(w, m->u.block.block);
		wr_bytes(w, m->u.block.root, CFT_DIGEST_LEN);
		break;
	case WIRE_DATA:
	case WIRE_ZDATA:
		encode_data_fields(w, &m->u.data);
		wr_u32(w, m->u.data.check);
		wr_bytes(w, m->u.data.payload, m->u.data.len);
		break;
	case WIRE_PROBE:
		wr_u32(w, m->u.probe.file);
		wr_u64(w, m->u.probe.echo);
		break;
	case WIRE_STATUS:
		encode_status(w, &m->u.status);
		break;
	case WIRE_SUMS:
		wr_u32(w, m->u.sums.file);
		wr_u32(w, m->u.sums.round);
		wr_u32(w, m->u.sums.first);
		wr_u16(w, m->u.sums.count);
		wr_bytes(w, m->u.sums.digests, (size_t)m->u.sums.count * CFT_DIGEST_LEN);
		break;
	case WIRE_CHUNKSUMS:
		wr_u32(w, m->u.chunksums.file);
		wr_u32(w, m->u.chunksums.block);
		wr_u16(w, m->u.chunksums.first);
		wr_u16(w, m->u.chunksums.count);
		wr_bytes(w, m->u.chunksums.leaves, (size_t)m->u.chunksums.count * WIRE_LEAF_LEN);
		break;
	case WIRE_COMMIT:
		wr_u32(w, m->u.commit.file);
		wr_bytes(w, m->u.commit.commit, CFT_DIGEST_LEN);
		break;
	case WIRE_HOLE:
		wr_u32(w, m->u.hole.file);
		wr_u32(w, m->u.hole.block);
		break;
	case WIRE_BYE:
	case WIRE_BYE_ACK:
		wr_bytes(w, m->u.bye.hello, CFT_SHORT_DIGEST_LEN);
		break;
	case WIRE_ERROR:
		encode_error(w, &m->u.error);
		break;
	}
}

int wire_encode(const struct wire_msg *m, uint8_t *buf, size_t cap)
{
	struct wr w;

	if (!body_valid(m))
		return CFT_E_MALFORMED;
	if (cap > CFT_DATAGRAM_BIG_MAX)
		cap = CFT_DATAGRAM_BIG_MAX;
	wr_init(&w, buf, cap);
	wr_u8(&w, WIRE_MAGIC0);
	wr_u8(&w, WIRE_MAGIC1);
	wr_u8(&w, m->version);
	wr_u8(&w, m->type);
	wr_u16(&w, m->flags);
	wr_u64(&w, m->session);
	wr_u32(&w, 0);		/* checksum, filled in below */
	encode_body(&w, m);
	if (m->type != WIRE_DATA) {
		uint8_t *tag = wr_space(&w, WIRE_TAG_LEN);

		if (tag)
			datagram_tag(buf, w.off - WIRE_TAG_LEN, tag);
	}
	if (w.err)
		return CFT_E_SPACE;
	put_u32(buf + WIRE_CSUM_OFF, m->type == WIRE_DATA ? data_crc(buf, w.off, m->u.data.leaf)
							  : head_crc(buf, w.off));
	return (int)w.off;
}

/* One open block of a RECEIVING STATUS: its map ends at its chunks. */
static int decode_held(struct rd *r, struct wire_held *h)
{
	h->block = rd_u32(r);
	h->flags = rd_u8(r);
	h->nchunks = rd_u16(r);
	if ((h->flags & ~WIRE_HELD_FLAGS) || h->nchunks == 0 || h->nchunks > CFT_CHUNKS_MAX)
		return CFT_E_MALFORMED;
	h->map = rd_bytes(r, (h->nchunks + 7u) / 8);
	if (h->map && h->nchunks % 8 && (h->map[h->nchunks / 8] >> (h->nchunks % 8)))
		return CFT_E_MALFORMED;
	return 0;
}

static int decode_status_state(struct rd *r, struct wire_status *s)
{
	switch (s->state) {
	case WIRE_FS_RECEIVING:
		s->base = rd_u32(r);
		s->done_mask = rd_u64(r);
		s->nheld = rd_u8(r);
		if (s->nheld > CFT_WINDOW_BLOCKS_MAX)
			return CFT_E_MALFORMED;
		for (unsigned i = 0; i < s->nheld; i++)
			if (decode_held(r, &s->held[i]) < 0)
				return CFT_E_MALFORMED;
		return 0;
	case WIRE_FS_VERIFYING:
		s->bytes = rd_u64(r);
		s->next = rd_u8(r);
		return s->next > 1 ? CFT_E_MALFORMED : 0;
	case WIRE_FS_VERIFIED:
		s->bytes = rd_u64(r);
		s->mode = rd_u32(r);
		s->mtime_sec = (int64_t)rd_u64(r);
		s->mtime_nsec = rd_u32(r);
		s->existing = rd_u8(r);
		rd_copy(r, s->digest, CFT_DIGEST_LEN);
		rd_copy(r, s->commit, CFT_DIGEST_LEN);
		s->name_len = rd_u16(r);
		if (s->name_len > CFT_PATH_MAX || s->existing > 1)
			return CFT_E_MALFORMED;
		s->name = rd_bytes(r, s->name_len);
		return 0;
	case WIRE_FS_SUMS:
		s->sums_have = rd_u32(r);
		return 0;
	case WIRE_FS_COMMITTED:
		rd_copy(r, s->commit, CFT_DIGEST_LEN);
		return 0;
	case WIRE_FS_ABSENT:
		return 0;
	default:
		return CFT_E_MALFORMED;
	}
}

static int decode_status(struct rd *r, struct wire_status *s)
{
	/* Fields of the other states stay zero, not whatever was there. */
	memset(s, 0, sizeof(*s));
	s->file = rd_u32(r);
	s->round = rd_u32(r);
	s->state = rd_u8(r);
	rd_copy(r, s->offer, CFT_SHORT_DIGEST_LEN);
	s->echo = rd_u64(r);
	s->rx_seq = rd_u32(r);
	s->rx_count = rd_u32(r);
	return decode_status_state(r, s);
}

/* ERROR keeps this layout in every version. */
static int decode_error(struct rd *r, struct wire_error *e)
{
	e->reason = rd_u16(r);
	e->file = rd_u32(r);
	rd_copy(r, e->ref, CFT_SHORT_DIGEST_LEN);
	e->msg_len = rd_u8(r);
	if (e->msg_len > CFT_ERROR_MSG_MAX)
		return CFT_E_MALFORMED;
	e->msg = rd_bytes(r, e->msg_len);
	return 0;
}

static int decode_counted(struct rd *r, uint16_t count, unsigned max, size_t each,
			  const uint8_t **out)
{
	if (count == 0 || count > max)
		return CFT_E_MALFORMED;
	*out = rd_bytes(r, (size_t)count * each);
	return 0;
}

/* HELLO and HELLO_ACK: fixed fields, and a HELLO's padding, which must be
 * as long as its chunk size makes it and zeros (anything else is damage).
 * The values are the receiver's to refuse, not damage. */
static int decode_handshake(struct rd *r, struct wire_msg *m)
{
	if (m->type == WIRE_HELLO) {
		const uint8_t *pad;
		size_t n, len;

		m->u.hello.block_size = rd_u32(r);
		m->u.hello.nfiles = rd_u32(r);
		m->u.hello.first = rd_u32(r);
		m->u.hello.features = rd_u32(r);
		m->u.hello.chunk_size = rd_u32(r);
		rd_copy(r, m->u.hello.cookie, CFT_COOKIE_LEN);
		rd_copy(r, m->u.hello.random, CFT_RANDOM_LEN);
		len = wire_hello_len(m->u.hello.chunk_size);
		if (len == 0)
			return CFT_E_MALFORMED;
		n = len - WIRE_HELLO_LEN;
		pad = rd_bytes(r, n);
		for (size_t i = 0; pad && i < n; i++)
			if (pad[i])
				return CFT_E_MALFORMED;
	} else {
		m->u.hello_ack.features = rd_u32(r);
		m->u.hello_ack.window_blocks = rd_u16(r);
		rd_copy(r, m->u.hello_ack.hello, CFT_SHORT_DIGEST_LEN);
		rd_copy(r, m->u.hello_ack.cookie, CFT_COOKIE_LEN);
		rd_copy(r, m->u.hello_ack.random, CFT_RANDOM_LEN);
	}
	return 0;
}

/* The fields after the header, by type: 0 or CFT_E_MALFORMED (a length
 * field out of range; the cursor catches the rest). */
static int decode_body(struct rd *r, struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_HELLO:
	case WIRE_HELLO_ACK:
		return decode_handshake(r, m);
	case WIRE_FILE:
		m->u.file.file = rd_u32(r);
		m->u.file.size = rd_u64(r);
		m->u.file.mtime_sec = (int64_t)rd_u64(r);
		m->u.file.mtime_nsec = rd_u32(r);
		m->u.file.mode = rd_u32(r);
		m->u.file.flags = rd_u32(r);
		m->u.file.name_len = rd_u16(r);
		if (m->u.file.name_len > CFT_PATH_MAX)
			return CFT_E_MALFORMED;
		m->u.file.name = rd_bytes(r, m->u.file.name_len);
		rd_copy(r, m->u.file.offer, CFT_DIGEST_LEN);
		return 0;
	case WIRE_BLOCK:
		m->u.block.file = rd_u32(r);
		m->u.block.block = rd_u32(r);
		rd_copy(r, m->u.block.root, CFT_DIGEST_LEN);
		return 0;
	case WIRE_DATA:
	case WIRE_ZDATA:
		m->u.data.seq = rd_u32(r);
		m->u.data.file = rd_u32(r);
		m->u.data.block = rd_u32(r);
		m->u.data.chunk = rd_u16(r);
		m->u.data.len = rd_u16(r);
		m->u.data.leaf = rd_u32(r);
		m->u.data.check = rd_u32(r);
		if (m->u.data.len == 0 || m->u.data.len > CFT_CHUNK_SIZE_MAX)
			return CFT_E_MALFORMED;
		m->u.data.payload = rd_bytes(r, m->u.data.len);
		if (m->type == WIRE_ZDATA)
			m->u.data.payload_crc = 0;	/* of the chunk: once expanded */
		return 0;
	case WIRE_PROBE:
		m->u.probe.file = rd_u32(r);
		m->u.probe.echo = rd_u64(r);
		return 0;
	case WIRE_STATUS:
		return decode_status(r, &m->u.status);
	case WIRE_SUMS:
		m->u.sums.file = rd_u32(r);
		m->u.sums.round = rd_u32(r);
		m->u.sums.first = rd_u32(r);
		m->u.sums.count = rd_u16(r);
		return decode_counted(r, m->u.sums.count, CFT_SUMS_PER_DATAGRAM, CFT_DIGEST_LEN,
				      &m->u.sums.digests);
	case WIRE_CHUNKSUMS:
		m->u.chunksums.file = rd_u32(r);
		m->u.chunksums.block = rd_u32(r);
		m->u.chunksums.first = rd_u16(r);
		m->u.chunksums.count = rd_u16(r);
		return decode_counted(r, m->u.chunksums.count, CFT_CHUNKSUMS_PER_DATAGRAM,
				      WIRE_LEAF_LEN, &m->u.chunksums.leaves);
	case WIRE_COMMIT:
		m->u.commit.file = rd_u32(r);
		rd_copy(r, m->u.commit.commit, CFT_DIGEST_LEN);
		return 0;
	case WIRE_HOLE:
		m->u.hole.file = rd_u32(r);
		m->u.hole.block = rd_u32(r);
		return 0;
	case WIRE_BYE:
	case WIRE_BYE_ACK:
		rd_copy(r, m->u.bye.hello, CFT_SHORT_DIGEST_LEN);
		return 0;
	case WIRE_ERROR:
		return decode_error(r, &m->u.error);
	default:
		return CFT_E_TYPE;
	}
}

/* The tag of a control datagram, checked; r then ends before it. */
static int check_tag(const uint8_t *buf, size_t len, struct rd *r)
{
	uint8_t tag[WIRE_TAG_LEN];

	if (len < WIRE_HDR_LEN + WIRE_TAG_LEN)
		return CFT_E_TRUNCATED;
	datagram_tag(buf, len - WIRE_TAG_LEN, tag);
	if (!digest_equal_n(tag, buf + len - WIRE_TAG_LEN, WIRE_TAG_LEN))
		return CFT_E_TAG;
	r->len = len - WIRE_TAG_LEN;
	return 0;
}

/* The body, with the cursor's verdict: every field there, nothing after. */
static int decode_rest(struct rd *r, struct wire_msg *m)
{
	int rc = m->type == WIRE_ERROR ? decode_error(r, &m->u.error) : decode_body(r, m);

	if (rc < 0)
		return rc;
	if (r->err)
		return CFT_E_TRUNCATED;
	return rd_done(r) ? 0 : CFT_E_MALFORMED;
}

int wire_decode(const uint8_t *buf, size_t len, struct wire_msg *m)
{
	struct rd r;
	uint32_t csum;
	int rc;

	if (len < WIRE_HDR_LEN)
		return CFT_E_TRUNCATED;
	if (len > CFT_DATAGRAM_BIG_MAX)
		return CFT_E_MALFORMED;
	rd_init(&r, buf, len);
	if (rd_u8(&r) != WIRE_MAGIC0 || rd_u8(&r) != WIRE_MAGIC1)
		return CFT_E_MAGIC;
	m->version = rd_u8(&r);
	m->type = rd_u8(&r);
	m->flags = rd_u16(&r);
	m->session = rd_u64(&r);
	csum = rd_u32(&r);
	if (m->type == WIRE_DATA && len >= DATA_PAYLOAD_OFF && m->version == CFT_PROTO_VERSION) {
		m->u.data.payload_crc = wire_leaf(buf + DATA_PAYLOAD_OFF, len - DATA_PAYLOAD_OFF);
		m->u.data.fields_crc = digest_crc32(buf + DATA_FIELDS_OFF, DATA_FIELDS_LEN);
		if (csum != data_crc_known(buf, len, m->u.data.fields_crc, m->u.data.payload_crc))
			return CFT_E_CHECKSUM;
	} else if (csum != head_crc(buf, len))
		return CFT_E_CHECKSUM;
	if (m->version != CFT_PROTO_VERSION) {
		/* An ERROR reads the same in every version: "version not
		 * spoken" must be understood by the version it refuses. */
		if (m->type == WIRE_ERROR &&
		    (check_tag(buf, len, &r) < 0 || decode_rest(&r, m) < 0))
			m->type = 0;	/* not a readable ERROR: nothing to believe */
		return CFT_E_VERSION;
	}
	/* No flag is defined in the keyless format; a keyed datagram
	 * (seal.h) must be made keyless before it is decoded here. */
	if (m->flags != 0)
		return CFT_E_MALFORMED;
	if (m->type < WIRE_HELLO || m->type > WIRE_TYPE_MAX)
		return CFT_E_TYPE;
	if (m->type != WIRE_DATA) {
		rc = check_tag(buf, len, &r);
		if (rc < 0)
			return rc;
	}
	rc = decode_rest(&r, m);
	if (rc == 0 && m->type == WIRE_ZDATA)	/* its tag covered it all */
		m->u.data.fields_crc = digest_crc32(buf + DATA_FIELDS_OFF, DATA_FIELDS_LEN);
	return rc;
}

const char *wire_type_name(unsigned type)
{
	static const char *const names[] = {
		"?", "HELLO", "HELLO_ACK", "FILE", "BLOCK", "DATA", "PROBE",
		"STATUS", "SUMS", "COMMIT", "BYE", "BYE_ACK", "ERROR", "CHUNKSUMS", "HOLE",
		"ZDATA",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

const char *wire_reason_name(unsigned reason)
{
	static const char *const names[] = {
		"no reason given",
		"protocol version not spoken",
		"bad request",
		"receiver busy",
		"file name refused",
		"file too large",
		"receiver file system error",
		"receiver disk full",
		"digests never agreed",
		"peer aborted",
		"destination exists",
		"unknown session (receiver restarted?)",
		"receiver cannot keep the mode or modification time",
		"key refused",
	};

	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "unknown reason";
}

int wire_reason_exit(unsigned reason)
{
	switch (reason) {
	case WIRE_R_VERSION:
	case WIRE_R_BAD_REQUEST:
	case WIRE_R_BUSY:
	case WIRE_R_BAD_NAME:
	case WIRE_R_TOO_BIG:
	case WIRE_R_EXISTS:
		return CFT_EXIT_REFUSED;
	case WIRE_R_IO:
	case WIRE_R_NO_SPACE:
	case WIRE_R_METADATA:
		return CFT_EXIT_LOCAL;
	case WIRE_R_DIGEST:
		return CFT_EXIT_DIGEST;
	case WIRE_R_KEY:
		return CFT_EXIT_AUTH;
	default:
		return CFT_EXIT_NETWORK;
	}
}
