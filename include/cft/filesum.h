/*
 * The end-to-end check's arithmetic, written once: a stepper that turns the
 * bytes of a file, fed in order in pieces of any size, into the SHA-256 of
 * the whole file and, when asked, of each block.  The receiver feeds it what it reads
 * back from its disk; the sender what its independent read of the source
 * returns.  Both sides compare the results, so both must compute them the
 * same way: here.
 */
#ifndef CFT_FILESUM_H
#define CFT_FILESUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cft/limits.h"

struct digest_ctx;

struct filesum {
	uint64_t size;			/* bytes expected */
	uint64_t off;			/* bytes fed so far */
	uint32_t block_size;
	uint64_t nblocks;
	bool blocks;			/* block digests too */
	uint8_t *sums;			/* nblocks digests, as blocks complete */
	uint8_t whole[CFT_DIGEST_LEN];	/* valid once filesum_done */
	struct digest_ctx *whole_ctx, *blk_ctx;
};

/* Ready for filesum_start.  Returns 0 or CFT_E_NOMEM; free with
 * filesum_free (also after a failed init). */
int filesum_init(struct filesum *fs);
void filesum_free(struct filesum *fs);

/*
 * Start over for a file of `size` bytes cut in blocks of block_size
 * (at most CFT_BLOCKS_MAX of them), with the digest of each block if
 * `blocks`.  Block digests are a second SHA-256 pass over the same bytes,
 * needed only to find the blocks that differ once the whole digests have:
 * a first read does without them, and the rare round that needs them reads
 * again.  The table of block digests is kept when it is large enough
 * already.  Returns 0 or CFT_E_NOMEM.
 */
int filesum_start(struct filesum *fs, uint64_t size, uint32_t block_size, bool blocks);

/* Feed the next n bytes (n <= size - off). */
void filesum_update(struct filesum *fs, const uint8_t *buf, size_t n);

/* Bytes still to feed. */
static inline uint64_t filesum_left(const struct filesum *fs)
{
	return fs->size - fs->off;
}

/* Every byte fed, and every digest final? */
static inline bool filesum_done(const struct filesum *fs)
{
	return fs->off == fs->size;
}

/* The digest of block b (valid once the block is fed, if fs->blocks). */
static inline const uint8_t *filesum_block(const struct filesum *fs, uint64_t b)
{
	return fs->sums + b * CFT_DIGEST_LEN;
}

#endif
