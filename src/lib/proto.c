/* Protocol habits shared by the engines: message set-up, output, sizes. */
#include <string.h>

#include "cft/check.h"
#include "cft/digest.h"
#include "cft/proto.h"
#include "cursor.h"

void proto_msg(struct wire_msg *m, uint64_t session, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->version = CFT_PROTO_VERSION;
	m->type = type;
	m->session = session;
}

void proto_send(const struct proto_out *out, const struct net_addr *to,
		const struct wire_msg *m)
{
	uint8_t buf[CFT_DATAGRAM_BIG_MAX];
	uint8_t *at = out->room ? out->room(out->ctx) : buf;
	int n = wire_encode(m, at, CFT_DATAGRAM_BIG_MAX);

	CFT_ASSERT(n > 0);
	if (out->room)
		out->commit(out->ctx, to, (size_t)n);
	else
		out->datagram(out->ctx, to, buf, (size_t)n);
}

void proto_send_error(const struct proto_out *out, const struct net_addr *to,
		      uint64_t session, unsigned reason, uint32_t file,
		      const uint8_t ref[CFT_SHORT_DIGEST_LEN], const char *text)
{
	struct wire_msg m;
	size_t len = strlen(text);

	proto_msg(&m, session, WIRE_ERROR);
	m.u.error.reason = (uint16_t)reason;
	m.u.error.file = file;
	memcpy(m.u.error.ref, ref, CFT_SHORT_DIGEST_LEN);
	m.u.error.msg_len = (uint8_t)(len > CFT_ERROR_MSG_MAX ? CFT_ERROR_MSG_MAX : len);
	m.u.error.msg = (const uint8_t *)text;
	proto_send(out, to, &m);
}

uint64_t proto_blocks(uint64_t size, uint32_t block_size)
{
	return size / block_size + (size % block_size != 0);
}

uint32_t proto_block_len(uint64_t size, uint32_t block_size, uint32_t b)
{
	uint64_t off = (uint64_t)b * block_size;
	uint64_t left = size > off ? size - off : 0;

	return left < block_size ? (uint32_t)left : block_size;
}

uint16_t proto_chunk_len(uint32_t block_len, uint32_t c, uint32_t chunk)
{
	uint64_t off = (uint64_t)c * chunk;
	uint64_t left = block_len > off ? block_len - off : 0;

	return (uint16_t)(left > chunk ? chunk : left);
}

uint32_t proto_path_chunk(long mtu, int family)
{
	long ip = family == AF_INET6 ? 40 : 20, room = mtu - ip - 8 - CFT_DATAGRAM_OVERHEAD;
	uint32_t chunk = CFT_CHUNK_SIZE_MAX;

	while (chunk > CFT_CHUNK_SIZE && (long)chunk > room)
		chunk -= CFT_CHUNK_SIZE_STEP;
	return chunk > CFT_CHUNK_SIZE ? chunk : CFT_CHUNK_SIZE;
}

/* The canonical bytes of each digest: a label, then fields as on the wire. */
#define CANON_MAX (16 + 64 + CFT_PATH_MAX + 2 * CFT_DIGEST_LEN)

static void canon_digest(const struct wr *w, uint8_t *out, size_t len)
{
	const struct digest_part part = { w->buf, w->off };

	CFT_ASSERT(!w->err);
	digest_sha256_parts(&part, 1, out, len);
}

void proto_hello_digest(uint64_t session, const struct wire_hello *h,
			uint8_t out[CFT_DIGEST_LEN])
{
	uint8_t buf[CANON_MAX];
	struct wr w;

	wr_init(&w, buf, sizeof(buf));
	wr_bytes(&w, "cft-hello", 9);
	wr_u8(&w, CFT_PROTO_VERSION);
	wr_u64(&w, session);
	wr_u32(&w, h->block_size);
	wr_u32(&w, h->nfiles);
	wr_u32(&w, h->first);
	wr_u32(&w, h->features);
	wr_u32(&w, h->chunk_size);
	wr_bytes(&w, h->random, CFT_RANDOM_LEN);
	canon_digest(&w, out, CFT_DIGEST_LEN);
}

void proto_offer_digest(const uint8_t hello[CFT_DIGEST_LEN], const struct wire_file *f,
			uint8_t out[CFT_DIGEST_LEN])
{
	uint8_t buf[CANON_MAX];
	struct wr w;

	wr_init(&w, buf, sizeof(buf));
	wr_bytes(&w, "cft-offer", 9);
	wr_bytes(&w, hello, CFT_DIGEST_LEN);
	wr_u32(&w, f->file);
	wr_u64(&w, f->size);
	wr_u64(&w, (uint64_t)f->mtime_sec);
	wr_u32(&w, f->mtime_nsec);
	wr_u32(&w, f->mode);
	wr_u32(&w, f->flags);
	wr_u16(&w, f->name_len);
	wr_bytes(&w, f->name, f->name_len);
	canon_digest(&w, out, CFT_DIGEST_LEN);
}

void proto_commit_digest(const uint8_t offer[CFT_DIGEST_LEN], const struct proto_facts *f,
			 const uint8_t content[CFT_DIGEST_LEN], uint8_t out[CFT_DIGEST_LEN])
{
	uint8_t buf[CANON_MAX];
	struct wr w;

	wr_init(&w, buf, sizeof(buf));
	wr_bytes(&w, "cft-commit", 10);
	wr_bytes(&w, offer, CFT_DIGEST_LEN);
	wr_u64(&w, f->size);
	wr_u32(&w, f->mode);
	wr_u64(&w, (uint64_t)f->mtime_sec);
	wr_u32(&w, f->mtime_nsec);
	wr_bytes(&w, content, CFT_DIGEST_LEN);
	canon_digest(&w, out, CFT_DIGEST_LEN);
}

void proto_error_ref(const uint8_t context[CFT_DIGEST_LEN], unsigned reason, uint32_t file,
		     uint8_t out[CFT_SHORT_DIGEST_LEN])
{
	uint8_t buf[CANON_MAX];
	struct wr w;

	wr_init(&w, buf, sizeof(buf));
	wr_bytes(&w, "cft-error", 9);
	wr_bytes(&w, context, CFT_DIGEST_LEN);
	wr_u16(&w, (uint16_t)reason);
	wr_u32(&w, file);
	canon_digest(&w, out, CFT_SHORT_DIGEST_LEN);
}

void proto_block_root(const uint8_t *leaves, uint32_t nchunks, uint8_t out[CFT_DIGEST_LEN])
{
	const struct digest_part part = { leaves, (size_t)nchunks * WIRE_LEAF_LEN };

	digest_sha256_parts(&part, 1, out, CFT_DIGEST_LEN);
}
