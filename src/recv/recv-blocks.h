/*
 * The receiver's block assembly, pure: chunks of the blocks inside the
 * window are gathered in memory until the block is whole and its digest
 * (from the sender's BLOCK datagram) is in; then the caller checks it,
 * writes it, and says so.  Which blocks are done, what is missing (for
 * STATUS) and the window are kept here.  No I/O: the session writes.
 */
#ifndef CFT_RECV_BLOCKS_H
#define CFT_RECV_BLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/limits.h"
#include "cft/wire.h"

#define RECV_NO_BLOCK UINT32_MAX
#define RECV_CHUNKS_MAX ((CFT_BLOCK_SIZE_MAX + CFT_CHUNK_SIZE - 1) / CFT_CHUNK_SIZE)

/* One block being assembled. */
struct recv_slot {
	uint32_t block;			/* RECV_NO_BLOCK when free */
	uint32_t len;			/* bytes in this block */
	uint16_t nchunks;
	uint16_t nhave;
	bool have_digest;
	uint8_t retries;		/* digest failures so far */
	uint8_t digest[CFT_DIGEST_LEN];
	uint8_t map[(RECV_CHUNKS_MAX + 7) / 8];	/* chunks present */
	uint8_t *buf;			/* block_size bytes, kept for the session */
};

struct recv_blocks {
	uint32_t block_size;		/* the session's */
	uint32_t window;		/* blocks held open at once */
	uint64_t size;			/* the current file's */
	uint32_t nblocks;
	uint8_t *done;			/* bitmap: written and checked */
	uint32_t ndone;
	uint32_t base;			/* lowest block not done */
	struct recv_slot slots[CFT_WINDOW_BLOCKS_MAX];
};

/* What became of a BLOCK or DATA datagram. */
enum recv_take {
	RECV_TAKEN,			/* kept (and maybe the block is whole) */
	RECV_DUPLICATE,			/* had it already */
	RECV_MALFORMED,			/* block, chunk or length impossible here */
	RECV_OUTSIDE,			/* beyond the window: the sender runs ahead */
	RECV_NOMEM,
};

void recv_blocks_init(struct recv_blocks *rb, uint32_t block_size, uint32_t window);
void recv_blocks_free(struct recv_blocks *rb);

/* A new file of `size` bytes, nothing done.  Returns 0 or CFT_E_NOMEM. */
int recv_blocks_start(struct recv_blocks *rb, uint64_t size);
/* Every block done (a file to be checked as it is), or none. */
void recv_blocks_mark_all(struct recv_blocks *rb, bool done);
/* Forget block b: it differed on disk and must come again. */
void recv_blocks_forget(struct recv_blocks *rb, uint32_t b);
/* After the sender's block digests: receive again from the lowest block
 * not done; the open slots are emptied. */
void recv_blocks_rewind(struct recv_blocks *rb);
/* Empty every slot (the file moves on to reading back). */
void recv_blocks_drop_slots(struct recv_blocks *rb);

static inline bool recv_blocks_done(const struct recv_blocks *rb, uint32_t b)
{
	return (rb->done[b / 8] >> (b % 8)) & 1u;
}

static inline bool recv_blocks_complete(const struct recv_blocks *rb)
{
	return rb->ndone == rb->nblocks;
}

/* Take one DATA or BLOCK datagram for the current file.  *whole is set to
 * the slot when it completed the block (every chunk and the digest in). */
enum recv_take recv_blocks_data(struct recv_blocks *rb, const struct wire_data *d,
				struct recv_slot **whole);
enum recv_take recv_blocks_digest(struct recv_blocks *rb, const struct wire_block *bl,
				  struct recv_slot **whole);

/* Does the whole block in sl match the sender's digest?  If not it is
 * emptied to be asked for again, and its failures counted (sl->retries). */
bool recv_blocks_check(struct recv_blocks *rb, struct recv_slot *sl);
/* The checked block in sl is written: mark it done and free the slot. */
void recv_blocks_written(struct recv_blocks *rb, struct recv_slot *sl);

/* The RECEIVING part of a STATUS: base, done mask, missing ranges. */
void recv_blocks_status(const struct recv_blocks *rb, struct wire_status *st);

#endif
