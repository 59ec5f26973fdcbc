/*
 * Protocol habits the two engines share, above the pure codec (wire.h):
 * how a message is started, how it leaves, and the arithmetic of blocks and
 * chunks.  Kept in one place so that the sender and the receiver cannot
 * disagree about them.
 */
#ifndef CFT_PROTO_H
#define CFT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "cft/net.h"
#include "cft/wire.h"

/* Where an engine's datagrams go: the program's socket, or a test's link.
 * `to` is NULL where the socket is connected (the sender's). */
struct proto_out {
	void (*datagram)(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len);
	void *ctx;
};

/* A zeroed message of `type` for `session`, in our protocol version. */
void proto_msg(struct wire_msg *m, uint64_t session, uint8_t type);

/* Encode m and hand it to out.  A message our own code cannot encode is a
 * bug, not a peer's doing: it aborts (CFT_ASSERT). */
void proto_send(const struct proto_out *out, const struct net_addr *to,
		const struct wire_msg *m);

/* An ERROR for `session`: reason, file (WIRE_NO_FILE for the session) and a
 * message for people, cut to CFT_ERROR_MSG_MAX bytes. */
void proto_send_error(const struct proto_out *out, const struct net_addr *to,
		      uint64_t session, unsigned reason, uint32_t file, const char *text);

/* Blocks in a file of `size` bytes. */
uint64_t proto_blocks(uint64_t size, uint32_t block_size);

/* Bytes in block b of a file of `size` bytes (the last may be short). */
uint32_t proto_block_len(uint64_t size, uint32_t block_size, uint32_t b);

/* Bytes in chunk c of a block of block_len bytes (the last may be short). */
uint16_t proto_chunk_len(uint32_t block_len, uint32_t c);

#endif
