/*
 * Encoding and decoding of cft datagrams; see cft-protocol(7).
 *
 * The first WIRE_HDR_LEN bytes have the same layout in every protocol
 * version, so that a receiver can recognise a datagram of another version,
 * check it was not damaged, and answer "version not spoken" to its session.
 */
#include <string.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/wire.h"
#include "cursor.h"

static uint32_t datagram_crc(const uint8_t *buf, size_t len)
{
	/* The checksum covers the whole datagram with its own field as zero. */
	static const uint8_t zero[4];
	uint32_t crc;

	crc = digest_crc32(buf, WIRE_CSUM_OFF);
	crc = (uint32_t)digest_crc32_update(crc, zero, sizeof(zero));
	crc = (uint32_t)digest_crc32_update(crc, buf + WIRE_HDR_LEN, len - WIRE_HDR_LEN);
	return crc;
}

void wire_reseal(uint8_t *buf, size_t len)
{
	struct wr w;

	if (len < WIRE_HDR_LEN)
		return;
	wr_init(&w, buf + WIRE_CSUM_OFF, 4);
	wr_u32(&w, datagram_crc(buf, len));
}

static void encode_status(struct wr *w, const struct wire_status *s)
{
	wr_u32(w, s->file);
	wr_u32(w, s->round);
	wr_u8(w, s->state);
	wr_u64(w, s->echo);
	wr_u32(w, s->rx_seq);
	wr_u32(w, s->rx_count);
	switch (s->state) {
	case WIRE_FS_RECEIVING:
		wr_u32(w, s->base);
		wr_u64(w, s->done_mask);
		wr_u16(w, s->nranges);
		for (unsigned i = 0; i < s->nranges && i < CFT_STATUS_RANGES_MAX; i++) {
			wr_u32(w, s->ranges[i].block);
			wr_u16(w, s->ranges[i].first);
			wr_u16(w, s->ranges[i].count);
		}
		break;
	case WIRE_FS_VERIFYING:
		wr_u64(w, s->bytes);
		break;
	case WIRE_FS_VERIFIED:
		wr_u64(w, s->bytes);
		wr_bytes(w, s->digest, CFT_DIGEST_LEN);
		break;
	case WIRE_FS_SUMS:
		wr_u32(w, s->sums_have);
		break;
	default:
		break;
	}
}

/* Field ranges the encoder refuses to put on the wire, so that everything it
 * produces also decodes. */
static int body_valid(const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_FILE:
		return m->u.file.name_len <= CFT_NAME_MAX;
	case WIRE_DATA:
		return m->u.data.len >= 1 && m->u.data.len <= CFT_CHUNK_SIZE;
	case WIRE_STATUS:
		return m->u.status.state >= WIRE_FS_RECEIVING &&
		       m->u.status.state <= WIRE_FS_COMMITTED &&
		       (m->u.status.state != WIRE_FS_RECEIVING ||
			m->u.status.nranges <= CFT_STATUS_RANGES_MAX);
	case WIRE_SUMS:
		return m->u.sums.count >= 1 && m->u.sums.count <= CFT_SUMS_PER_DATAGRAM;
	case WIRE_ERROR:
		return m->u.error.msg_len <= CFT_ERROR_MSG_MAX;
	default:
		return m->type >= WIRE_HELLO && m->type <= WIRE_TYPE_MAX;
	}
}

/* The fields after the header, by type. */
static void encode_body(struct wr *w, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_HELLO:
		wr_u32(w, m->u.hello.block_size);
		wr_u32(w, m->u.hello.nfiles);
		wr_u32(w, m->u.hello.features);
		break;
	case WIRE_HELLO_ACK:
		wr_u32(w, m->u.hello_ack.features);
		wr_u16(w, m->u.hello_ack.window_blocks);
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
		break;
	case WIRE_BLOCK:
		wr_u32(w, m->u.block.file);
		wr_u32(w, m->u.block.block);
		wr_bytes(w, m->u.block.digest, CFT_DIGEST_LEN);
		break;
	case WIRE_DATA:
		wr_u32(w, m->u.data.seq);
		wr_u32(w, m->u.data.file);
		wr_u32(w, m->u.data.block);
		wr_u16(w, m->u.data.chunk);
		wr_u16(w, m->u.data.len);
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
	case WIRE_COMMIT:
		wr_u32(w, m->u.commit.file);
		wr_bytes(w, m->u.commit.digest, CFT_DIGEST_LEN);
		break;
	case WIRE_BYE:
	case WIRE_BYE_ACK:
		break;
	case WIRE_ERROR:
		wr_u16(w, m->u.error.reason);
		wr_u32(w, m->u.error.file);
		wr_u8(w, m->u.error.msg_len);
		wr_bytes(w, m->u.error.msg, m->u.error.msg_len);
		break;
	}
}

int wire_encode(const struct wire_msg *m, uint8_t *buf, size_t cap)
{
	struct wr w;

	if (!body_valid(m))
		return CFT_E_MALFORMED;
	if (cap > CFT_DATAGRAM_MAX)
		cap = CFT_DATAGRAM_MAX;
	wr_init(&w, buf, cap);
	wr_u8(&w, WIRE_MAGIC0);
	wr_u8(&w, WIRE_MAGIC1);
	wr_u8(&w, m->version);
	wr_u8(&w, m->type);
	wr_u16(&w, m->flags);
	wr_u64(&w, m->session);
	wr_u32(&w, 0);		/* checksum, filled in below */

	encode_body(&w, m);
	if (w.err)
		return CFT_E_SPACE;
	wire_reseal(buf, w.off);
	return (int)w.off;
}

static int decode_status(struct rd *r, struct wire_status *s)
{
	/* Fields of the other states stay zero, not whatever was there. */
	memset(s, 0, sizeof(*s));
	s->file = rd_u32(r);
	s->round = rd_u32(r);
	s->state = rd_u8(r);
	s->echo = rd_u64(r);
	s->rx_seq = rd_u32(r);
	s->rx_count = rd_u32(r);
	switch (s->state) {
	case WIRE_FS_RECEIVING:
		s->base = rd_u32(r);
		s->done_mask = rd_u64(r);
		s->nranges = rd_u16(r);
		if (s->nranges > CFT_STATUS_RANGES_MAX)
			return CFT_E_MALFORMED;
		for (unsigned i = 0; i < s->nranges; i++) {
			s->ranges[i].block = rd_u32(r);
			s->ranges[i].first = rd_u16(r);
			s->ranges[i].count = rd_u16(r);
		}
		break;
	case WIRE_FS_VERIFYING:
		s->bytes = rd_u64(r);
		break;
	case WIRE_FS_VERIFIED:
		s->bytes = rd_u64(r);
		rd_copy(r, s->digest, CFT_DIGEST_LEN);
		break;
	case WIRE_FS_SUMS:
		s->sums_have = rd_u32(r);
		break;
	case WIRE_FS_COMMITTED:
		break;
	default:
		return CFT_E_MALFORMED;
	}
	return 0;
}

/* The fields after the header, by type: 0, CFT_E_TYPE or CFT_E_MALFORMED
 * (a length field out of range; the cursor catches the rest). */
static int decode_body(struct rd *r, struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_HELLO:
		m->u.hello.block_size = rd_u32(r);
		m->u.hello.nfiles = rd_u32(r);
		m->u.hello.features = rd_u32(r);
		break;
	case WIRE_HELLO_ACK:
		m->u.hello_ack.features = rd_u32(r);
		m->u.hello_ack.window_blocks = rd_u16(r);
		break;
	case WIRE_FILE:
		m->u.file.file = rd_u32(r);
		m->u.file.size = rd_u64(r);
		m->u.file.mtime_sec = (int64_t)rd_u64(r);
		m->u.file.mtime_nsec = rd_u32(r);
		m->u.file.mode = rd_u32(r);
		m->u.file.flags = rd_u32(r);
		m->u.file.name_len = rd_u16(r);
		if (m->u.file.name_len > CFT_NAME_MAX)
			return CFT_E_MALFORMED;
		m->u.file.name = rd_bytes(r, m->u.file.name_len);
		break;
	case WIRE_BLOCK:
		m->u.block.file = rd_u32(r);
		m->u.block.block = rd_u32(r);
		rd_copy(r, m->u.block.digest, CFT_DIGEST_LEN);
		break;
	case WIRE_DATA:
		m->u.data.seq = rd_u32(r);
		m->u.data.file = rd_u32(r);
		m->u.data.block = rd_u32(r);
		m->u.data.chunk = rd_u16(r);
		m->u.data.len = rd_u16(r);
		if (m->u.data.len == 0 || m->u.data.len > CFT_CHUNK_SIZE)
			return CFT_E_MALFORMED;
		m->u.data.payload = rd_bytes(r, m->u.data.len);
		break;
	case WIRE_PROBE:
		m->u.probe.file = rd_u32(r);
		m->u.probe.echo = rd_u64(r);
		break;
	case WIRE_STATUS:
		if (decode_status(r, &m->u.status) < 0)
			return CFT_E_MALFORMED;
		break;
	case WIRE_SUMS:
		m->u.sums.file = rd_u32(r);
		m->u.sums.round = rd_u32(r);
		m->u.sums.first = rd_u32(r);
		m->u.sums.count = rd_u16(r);
		if (m->u.sums.count == 0 || m->u.sums.count > CFT_SUMS_PER_DATAGRAM)
			return CFT_E_MALFORMED;
		m->u.sums.digests = rd_bytes(r, (size_t)m->u.sums.count * CFT_DIGEST_LEN);
		break;
	case WIRE_COMMIT:
		m->u.commit.file = rd_u32(r);
		rd_copy(r, m->u.commit.digest, CFT_DIGEST_LEN);
		break;
	case WIRE_BYE:
	case WIRE_BYE_ACK:
		break;
	case WIRE_ERROR:
		m->u.error.reason = rd_u16(r);
		m->u.error.file = rd_u32(r);
		m->u.error.msg_len = rd_u8(r);
		if (m->u.error.msg_len > CFT_ERROR_MSG_MAX)
			return CFT_E_MALFORMED;
		m->u.error.msg = rd_bytes(r, m->u.error.msg_len);
		break;
	default:
		return CFT_E_TYPE;
	}
	return 0;
}

int wire_decode(const uint8_t *buf, size_t len, struct wire_msg *m)
{
	struct rd r;
	uint32_t csum;
	int rc;

	if (len < WIRE_HDR_LEN)
		return CFT_E_TRUNCATED;
	if (len > CFT_DATAGRAM_MAX)
		return CFT_E_MALFORMED;
	rd_init(&r, buf, len);
	if (rd_u8(&r) != WIRE_MAGIC0 || rd_u8(&r) != WIRE_MAGIC1)
		return CFT_E_MAGIC;
	m->version = rd_u8(&r);
	m->type = rd_u8(&r);
	m->flags = rd_u16(&r);
	m->session = rd_u64(&r);
	csum = rd_u32(&r);
	if (csum != datagram_crc(buf, len))
		return CFT_E_CHECKSUM;
	if (m->version != CFT_PROTO_VERSION)
		return CFT_E_VERSION;
	/* No flag is defined in version 1; a set one means a feature we lack. */
	if (m->flags != 0)
		return CFT_E_MALFORMED;

	rc = decode_body(&r, m);
	if (rc < 0)
		return rc;
	if (r.err)
		return CFT_E_TRUNCATED;
	if (!rd_done(&r))
		return CFT_E_MALFORMED;
	return 0;
}

const char *wire_type_name(unsigned type)
{
	static const char *const names[] = {
		"?", "HELLO", "HELLO_ACK", "FILE", "BLOCK", "DATA", "PROBE",
		"STATUS", "SUMS", "COMMIT", "BYE", "BYE_ACK", "ERROR",
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
		return CFT_EXIT_LOCAL;
	case WIRE_R_DIGEST:
		return CFT_EXIT_DIGEST;
	default:
		return CFT_EXIT_NETWORK;
	}
}
