/* Protocol habits shared by the engines: message set-up, output, sizes. */
#include <string.h>

#include "cft/check.h"
#include "cft/proto.h"

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
	uint8_t buf[CFT_DATAGRAM_MAX];
	int n = wire_encode(m, buf, sizeof(buf));

	CFT_ASSERT(n > 0);
	out->datagram(out->ctx, to, buf, (size_t)n);
}

void proto_send_error(const struct proto_out *out, const struct net_addr *to,
		      uint64_t session, unsigned reason, uint32_t file, const char *text)
{
	struct wire_msg m;
	size_t len = strlen(text);

	proto_msg(&m, session, WIRE_ERROR);
	m.u.error.reason = (uint16_t)reason;
	m.u.error.file = file;
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

uint16_t proto_chunk_len(uint32_t block_len, uint32_t c)
{
	uint64_t off = (uint64_t)c * CFT_CHUNK_SIZE;
	uint64_t left = block_len > off ? block_len - off : 0;

	return (uint16_t)(left > CFT_CHUNK_SIZE ? CFT_CHUNK_SIZE : left);
}
