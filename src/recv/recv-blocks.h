/*
 * The receiver's block assembly, pure: chunks of the blocks inside the
 * window are gathered in memory until the block is whole and its root (from
 * the sender's BLOCK datagram) is in; then the caller checks it, has it
 * written (the slot is kept meanwhile), and says when it is.  Which blocks are done, what is missing (for STATUS) and the
 * window are kept here.  No I/O: the session writes.
 *
 * Each chunk is taken only if its DATA's check holds (the session verifies
 * it), so damage that a recomputed CRC hides costs that chunk alone.
 * Damage that also recomputed the check shows when the block is whole: the
 * leaves of its chunks do not hash to its root.  Then the sender's list of
 * chunk leaves is fetched (CHUNKSUMS), checked against the root, and only
 * the chunks that differ from it are asked for again.
 */
#ifndef CFT_RECV_BLOCKS_H
#define CFT_RECV_BLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/limits.h"
#include "cft/wire.h"

#define RECV_NO_BLOCK UINT32_MAX

/* CHUNKSUMS datagrams that make up the longest list (a bit each). */
#define RECV_LIST_PIECES_MAX \
	((CFT_CHUNKS_MAX + CFT_CHUNKSUMS_PER_DATAGRAM - 1) / CFT_CHUNKSUMS_PER_DATAGRAM)

/* One block being assembled. */
struct recv_slot {
	uint32_t block;			/* RECV_NO_BLOCK when free */
	uint32_t len;			/* bytes in this block */
	uint16_t nchunks;
	uint16_t nhave;
	bool have_root;
	uint8_t retries;		/* root failures so far */
	uint8_t root[CFT_DIGEST_LEN];
	bool need_list;			/* failed its root: the sender's list wanted */
	bool have_list;			/* list checked against the root */
	bool writing;			/* checked, on its way to the disk */
	bool hole;			/* all zeros, a hole at the source: none
					 * of its bytes travel or are written */
	uint64_t list_pieces;		/* CHUNKSUMS datagrams of the list received */
	uint8_t map[(CFT_CHUNKS_MAX + 7) / 8];	/* chunks present */
	uint8_t *buf;			/* block_size bytes in the session's bufs */
	uint8_t *cd;			/* digest of each chunk present */
	uint8_t *list;			/* the sender's chunk leaves */
};

struct recv_blocks {
	uint32_t file;			/* index of the current file on the wire */
	uint32_t block_size;		/* the session's */
	uint32_t chunk_size;		/* the session's */
	uint32_t window;		/* blocks held open at once */
	uint64_t size;			/* the current file's */
	uint32_t nblocks;
	uint8_t *done;			/* bitmap: written and checked */
	uint32_t ndone;
	uint32_t base;			/* lowest block not done */
	uint8_t *bufs;			/* window blocks (dio_alloc), kept for the
					 * session from its first block on */
	struct recv_slot slots[CFT_WINDOW_BLOCKS_MAX];
};

/* What became of a BLOCK or DATA datagram. */
enum recv_take {
	RECV_TAKEN,			/* kept (and maybe the block is whole) */
	RECV_DUPLICATE,			/* had it already */
	RECV_MALFORMED,			/* block, chunk or length impossible here */
	RECV_OUTSIDE,			/* beyond the window: the sender runs ahead */
	RECV_DAMAGED,			/* the chunk does not match its digest */
	RECV_UNWANTED,			/* CHUNKSUMS not asked for (late, repeated) */
	RECV_REFUTED,			/* the list does not make the root: both
					 * are asked for again */
	RECV_HOPELESS,			/* a block failed past CFT_BLOCK_RETRIES_MAX */
	RECV_NOMEM,
};

void recv_blocks_init(struct recv_blocks *rb, uint32_t block_size, uint32_t chunk_size,
		      uint32_t window);
void recv_blocks_free(struct recv_blocks *rb);

/* A new file, index `file` of `size` bytes, nothing done.  Returns 0 or
 * CFT_E_NOMEM. */
int recv_blocks_start(struct recv_blocks *rb, uint32_t file, uint64_t size);
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

/* Every chunk and the root in, and no list awaited: ready to check. */
static inline bool recv_slot_whole(const struct recv_slot *sl)
{
	return sl->nhave == sl->nchunks && sl->have_root && !sl->need_list;
}

/* Take one DATA (whose leaf and check were verified against its payload),
 * BLOCK or CHUNKSUMS datagram for the current file.  *whole is set to the
 * slot when the block is whole (every chunk and its root in). */
/* A HOLE: block b is whole, of zeros, with nothing to check against a root
 * (the end-to-end digest covers it like any other). */
enum recv_take recv_blocks_hole(struct recv_blocks *rb, uint32_t b, struct recv_slot **whole);
enum recv_take recv_blocks_data(struct recv_blocks *rb, const struct wire_data *d,
				struct recv_slot **whole);
enum recv_take recv_blocks_root(struct recv_blocks *rb, const struct wire_block *bl,
				struct recv_slot **whole);
enum recv_take recv_blocks_chunksums(struct recv_blocks *rb, const struct wire_chunksums *cs,
				     struct recv_slot **whole);

/* Do the chunks of the whole block in sl hash to its root?  If not, its
 * failures are counted (sl->retries; past CFT_BLOCK_RETRIES_MAX the file has
 * failed) and the sender's list of chunk leaves is asked for, to find the
 * chunks that differ. */
bool recv_blocks_check(struct recv_blocks *rb, struct recv_slot *sl);
/* The checked block in sl is being written: nothing more is taken for it,
 * and STATUS reports it complete (base stays until it is written, so the
 * window covers it). */
void recv_blocks_writing(struct recv_blocks *rb, struct recv_slot *sl);
/* The checked block in sl is written: mark it done and free the slot. */
void recv_blocks_written(struct recv_blocks *rb, struct recv_slot *sl);

/* The RECEIVING part of a STATUS: base, done mask, the open blocks' maps. */
void recv_blocks_status(const struct recv_blocks *rb, struct wire_status *st);

#endif
