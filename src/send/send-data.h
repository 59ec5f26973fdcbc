/*
 * The sender's data phase, made concrete: sched.h says what goes next, this
 * reads it from the source and sends it as BLOCK and DATA datagrams, within
 * the congestion window (flow.h), with PROBEs to clock the window and to
 * catch a lost tail.  The engine (send-session.c) owns a struct send_data,
 * points it at the file in progress, and reads its counters.
 */
#ifndef CFT_SEND_DATA_H
#define CFT_SEND_DATA_H

#include <stdint.h>

#include "cft/limits.h"
#include "cft/proto.h"
#include "feed.h"
#include "flow.h"
#include "sched.h"
#include "source.h"

struct send_data {
	struct flow flow;
	struct sched sched;
	struct proto_out out;
	uint64_t session;
	/* the file in progress, set by the engine */
	uint32_t file;			/* its index on the wire */
	uint32_t round;			/* end-to-end round: blocks sent in a round
					 * after the first are repairs */
	struct source *src;
	struct feed feed;		/* blocks read ahead, where it can */
	uint8_t *own;			/* one block, read here where it cannot */
	const uint8_t *buf;		/* the block in the pipe, as read */
	bool disk_wait;			/* the next block is still being read */
	uint64_t now;			/* of the pump in progress */
	uint8_t chunk[CFT_CHUNK_SIZE_MAX];	/* one chunk, as read to be re-sent */
	/* per slot of sched.h, the checks of a block in flight: its chunks'
	 * leaves (computed from the bytes read, carried by its DATA, and sent
	 * as a list when the receiver asks) and its root */
	uint32_t max_chunks;		/* chunks in a full block */
	uint8_t *cds;			/* CFT_WINDOW_BLOCKS_MAX * max_chunks leaves */
	uint8_t roots[CFT_WINDOW_BLOCKS_MAX][CFT_DIGEST_LEN];
	/* counted here, reported by the engine */
	uint64_t datagrams;		/* DATA sent */
	uint64_t retransmits;		/* DATA sent again for missing chunks */
	uint64_t blocks_resent;		/* whole blocks sent again */
	uint64_t rereads;		/* ... because a chunk read again differed */
	uint64_t probes;
	uint64_t chunksums;		/* CHUNKSUMS sent, when a block failed its root */
	uint64_t hole_bytes;		/* bytes of blocks sent as holes */
	struct squash *squash;		/* -z: chunks compressed where it pays */
	uint64_t squashed;		/* bytes of chunks sent compressed ... */
	uint64_t squash_saved;		/* ... and the bytes that saved */
};

/* Memory for blocks of block_size bytes, and the read ahead (on a thread
 * of its own if `threads`).  Returns 0 or CFT_E_NOMEM; send_data_free
 * frees it. */
int send_data_init(struct send_data *d, uint32_t block_size, bool threads);
void send_data_free(struct send_data *d);

/*
 * Send what the windows allow, in the order sched.h chooses: what the
 * receiver asked about whole blocks, repairs, the rest of the block in the
 * pipe, blocks again, new blocks.  Returns 0, or the error of a failed read
 * of the source (CFT_E_IO; CFT_E_CHANGED, also when chunks read again kept
 * differing from what was sent: CFT_REREADS_MAX).
 */
int send_data_pump(struct send_data *d, uint64_t now);

/* Ask the receiver for a STATUS now (a PROBE, which also times a round trip). */
void send_data_probe(struct send_data *d, uint64_t now);

#endif
