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

/*
 * Where an engine's datagrams go: the program's socket, or a test's link.
 * `to` is NULL where the socket is connected (the sender's).  An output
 * that can lend room for the next datagram (`room`, CFT_DATAGRAM_BIG_MAX
 * bytes, then `commit` with its length) has it encoded there: each DATA
 * is then copied once on its way out, not twice.
 */
struct proto_out {
	void (*datagram)(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len);
	void *ctx;
	uint8_t *(*room)(void *ctx);
	void (*commit)(void *ctx, const struct net_addr *to, size_t len);
};

/* A zeroed message of `type` for `session`, in our protocol version. */
void proto_msg(struct wire_msg *m, uint64_t session, uint8_t type);

/* Encode m and hand it to out.  A message our own code cannot encode is a
 * bug, not a peer's doing: it aborts (CFT_ASSERT). */
void proto_send(const struct proto_out *out, const struct net_addr *to,
		const struct wire_msg *m);

/* An ERROR for `session`: reason, file (WIRE_NO_FILE for the session), its
 * reference (proto_error_ref) and a message for people, cut to
 * CFT_ERROR_MSG_MAX bytes. */
void proto_send_error(const struct proto_out *out, const struct net_addr *to,
		      uint64_t session, unsigned reason, uint32_t file,
		      const uint8_t ref[CFT_SHORT_DIGEST_LEN], const char *text);

/*
 * The digests both ends compute from what they hold, each on its own, and
 * compare: equal digests mean equal facts, whatever a datagram went through
 * on the way.  Each is SHA-256 over a label and the fields in their wire
 * encoding; cft-protocol(7) gives the exact bytes.
 *
 * The HELLO's: what a HELLO_ACK, a BYE and a session's ERRORs refer to.
 */
void proto_hello_digest(uint64_t session, const struct wire_hello *h,
			uint8_t out[CFT_DIGEST_LEN]);

/* The offer's: the session's hello digest (so that an offer never holds in
 * a session opened with other parameters), then the FILE's fields but its
 * own offer field. */
void proto_offer_digest(const uint8_t hello[CFT_DIGEST_LEN], const struct wire_file *f,
			uint8_t out[CFT_DIGEST_LEN]);

/* What a file is committed as, besides its offer (which holds its name). */
struct proto_facts {
	uint64_t size;
	uint32_t mode;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
};

/* The commit's: the offer, the facts the file has under its final name, and
 * the SHA-256 of its content. */
void proto_commit_digest(const uint8_t offer[CFT_DIGEST_LEN], const struct proto_facts *f,
			 const uint8_t content[CFT_DIGEST_LEN], uint8_t out[CFT_DIGEST_LEN]);

/* An ERROR's reference: the request it answers (its `context`: the digest of
 * a HELLO or an offer, or of a whole datagram of another version), its
 * reason and its file, so that neither a damaged request nor a damaged
 * answer can end a transfer. */
void proto_error_ref(const uint8_t context[CFT_DIGEST_LEN], unsigned reason, uint32_t file,
		     uint8_t out[CFT_SHORT_DIGEST_LEN]);

/* A block's root: SHA-256 over its chunks' leaves (wire_leaf), each as 4
 * bytes big-endian, in order; so a leaf in the wrong place changes it. */
void proto_block_root(const uint8_t *leaves, uint32_t nchunks, uint8_t out[CFT_DIGEST_LEN]);

/* Blocks in a file of `size` bytes. */
uint64_t proto_blocks(uint64_t size, uint32_t block_size);

/* Bytes in block b of a file of `size` bytes (the last may be short). */
uint32_t proto_block_len(uint64_t size, uint32_t block_size, uint32_t b);

/*
 * The largest chunk a HELLO may ask for on a route of `mtu` bytes (IP
 * packet; net_path_mtu) for `family` (AF_INET, AF_INET6): a multiple of
 * CFT_CHUNK_SIZE_STEP up to CFT_CHUNK_SIZE_MAX whose datagrams fit in one
 * packet, or CFT_CHUNK_SIZE when none does (or mtu is unknown, -1).
 */
uint32_t proto_path_chunk(long mtu, int family);
/* Bytes in chunk c of a block of block_len bytes cut in chunks of `chunk`
 * bytes (the last may be short). */
uint16_t proto_chunk_len(uint32_t block_len, uint32_t c, uint32_t chunk);

#endif
