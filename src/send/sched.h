/*
 * The sender's data phase, pure: which blocks are in flight, what the
 * receiver reports missing, and what goes out next.  No I/O and no clock of
 * its own: the engine asks sched_next what to send, reads and sends it, and
 * says so; STATUS reports come in through sched_on_receiving.
 *
 * Order of preference: what the receiver asked for about a block as a whole
 * (its root again, or its chunk leaves), chunks it reported missing
 * (repairs), then the rest of the block being sent, then a block to be sent
 * again in full, then the lowest block not yet done that fits the
 * receiver's window.
 *
 * Each block in flight holds one of CFT_WINDOW_BLOCKS_MAX slots, so that the
 * engine can keep its chunk leaves and root there until it is done.
 */
#ifndef CFT_SCHED_H
#define CFT_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/limits.h"
#include "cft/wire.h"

struct sched_block {
	uint32_t block;
	uint64_t last_tx;		/* when it was last sent, in part or whole */
	uint32_t last_seq;		/* seq of the last DATA sent for it */
	bool sending;			/* its chunks are going out right now */
	bool need_full;			/* read it again and send all of it */
	bool fresh;			/* ... from the disk, not the read ahead */
	bool need_root;			/* send its root (BLOCK) again */
	bool need_sums;			/* send its root and chunk leaves */
	unsigned slot;			/* where the engine keeps its digests */
	uint16_t nmiss;			/* chunks to send again */
	uint16_t next;			/* the first of them, when nmiss > 0 */
	uint8_t miss[(CFT_CHUNKS_MAX + 7) / 8];	/* bit c: chunk c is missing */
};

struct sched {
	uint64_t size;			/* the file's */
	uint32_t block_size;
	uint32_t chunk_size;		/* the session's */
	uint32_t nblocks;
	uint32_t window;		/* receiver's open-block budget */
	uint32_t rbase;			/* receiver: lowest block not complete */
	uint64_t rmask;			/* receiver: bit i, block rbase + i complete */
	struct sched_block fl[CFT_WINDOW_BLOCKS_MAX];
	unsigned nfl;
	uint64_t slots_used;		/* bit i: slot i holds a block in flight */
	unsigned rereads;		/* sched_reread calls this round */
	struct {			/* the block whose chunks are going out */
		bool active;
		unsigned e;		/* index in fl */
		uint32_t len;
		uint16_t nchunks, next;
	} pipe;
};

enum sched_kind {
	SCHED_WAIT,			/* nothing to send until the next STATUS */
	SCHED_REPAIR,			/* read chunk `chunk` of `block` and send it */
	SCHED_CHUNK,			/* send chunk `chunk` of the block in the pipe */
	SCHED_BLOCK,			/* read `block`, send its root, start its chunks */
	SCHED_ROOT,			/* send the root of `block` again */
	SCHED_SUMS,			/* send the root and chunk leaves of `block` */
};

struct sched_next {
	enum sched_kind kind;
	uint32_t block;
	uint16_t chunk;
	bool again;			/* SCHED_BLOCK: it was sent before */
	bool fresh;			/* SCHED_BLOCK: read it from the disk, not
					 * from what was read ahead */
	unsigned slot;			/* the block's slot (once it has one) */
};

/* A new round of the data phase for a file; the window stays. */
void sched_start(struct sched *sc, uint64_t size, uint32_t block_size, uint32_t chunk_size);

/* What to send next (nothing is changed). */
void sched_next(const struct sched *sc, struct sched_next *nx);
/* Anything to send now? */
bool sched_ready(const struct sched *sc);
/* Has every block gone out whole at least once (what is left are repairs)? */
bool sched_all_sent(const struct sched *sc);

/* The repair sched_next chose went out as DATA `seq`. */
void sched_repair_sent(struct sched *sc, uint32_t seq, uint64_t now);
/*
 * The repair sched_next chose was read again and is not what its block's
 * leaves were taken from: read the block again, from the disk, and send it
 * whole (its new root replaces the old one at the receiver).  Returns false
 * when this round has had CFT_REREADS_MAX already: the source is changing.
 */
bool sched_reread(struct sched *sc, uint32_t block);
/* The block sched_next chose (SCHED_BLOCK) is read, its digests kept in
 * `slot` and its root sent: its chunks follow.  Returns the slot, which
 * sched_next gave already for a block sent before, else a free one. */
unsigned sched_block_started(struct sched *sc, uint32_t block);
/* The root, or the root and the chunk leaves, sched_next chose went out. */
void sched_whole_sent(struct sched *sc, uint32_t seq, uint64_t now);
/* The pipe's chunk went out as DATA `seq`; true when it was the block's
 * last (the engine then asks for a STATUS). */
bool sched_chunk_sent(struct sched *sc, uint32_t seq, uint64_t now);
/* The block in the pipe needs no chunks (a hole went out instead): done,
 * after DATA `seq`. */
void sched_pipe_done(struct sched *sc, uint32_t seq, uint64_t now);

/*
 * A RECEIVING status: retire finished blocks, schedule repairs.  `seen` is
 * the last sequence number the receiver is known to have seen or lost (its
 * highest, or that of the PROBE the STATUS answers); timed_out says the
 * STATUS answers a PROBE sent when the retransmission timer fired (what it
 * lacks is lost, whatever it has seen).  Returns false for a
 * report that cannot be about this file (ignored).
 */
bool sched_on_receiving(struct sched *sc, const struct wire_status *st, uint32_t seen,
			bool timed_out, uint64_t now);

/* Bytes the receiver has confirmed: the blocks below its base. */
uint64_t sched_bytes_done(const struct sched *sc);

#endif
