/* Block and whole-file SHA-256 of a stream of bytes, for the end-to-end check. */
#include <stdlib.h>
#include <string.h>

#include "cft/check.h"
#include "cft/digest.h"
#include "cft/error.h"
#include "cft/filesum.h"
#include "cft/proto.h"

int filesum_init(struct filesum *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->whole_ctx = digest_new();
	fs->blk_ctx = digest_new();
	return fs->whole_ctx && fs->blk_ctx ? 0 : CFT_E_NOMEM;
}

void filesum_free(struct filesum *fs)
{
	digest_free(fs->whole_ctx);
	digest_free(fs->blk_ctx);
	free(fs->sums);
	memset(fs, 0, sizeof(*fs));
}

int filesum_start(struct filesum *fs, uint64_t size, uint32_t block_size, bool blocks)
{
	uint64_t nblocks = proto_blocks(size, block_size);

	CFT_ASSERT(block_size > 0 && nblocks <= CFT_BLOCKS_MAX);
	if (nblocks > fs->nblocks || !fs->sums) {
		/* One spare byte: a file of no blocks still gets a table. */
		uint8_t *p = realloc(fs->sums, (size_t)nblocks * CFT_DIGEST_LEN + 1);

		if (!p)
			return CFT_E_NOMEM;
		fs->sums = p;
	}
	fs->size = size;
	fs->off = 0;
	fs->block_size = block_size;
	fs->nblocks = nblocks;
	fs->blocks = blocks;
	digest_reset(fs->whole_ctx);
	digest_reset(fs->blk_ctx);
	if (size == 0)
		digest_final(fs->whole_ctx, fs->whole);
	return 0;
}

void filesum_update(struct filesum *fs, const uint8_t *buf, size_t n)
{
	CFT_ASSERT(n <= fs->size - fs->off);
	if (n == 0)
		return;		/* the whole digest is final once, at the last byte */
	while (n > 0) {
		uint64_t b = fs->off / fs->block_size;
		uint64_t end = (b + 1) * fs->block_size;
		size_t part;

		if (end > fs->size)
			end = fs->size;
		part = end - fs->off < n ? (size_t)(end - fs->off) : n;
		digest_update(fs->whole_ctx, buf, part);
		if (fs->blocks)
			digest_update(fs->blk_ctx, buf, part);
		buf += part;
		n -= part;
		fs->off += part;
		if (fs->blocks && fs->off == end) {
			digest_final(fs->blk_ctx, fs->sums + b * CFT_DIGEST_LEN);
			digest_reset(fs->blk_ctx);
		}
	}
	if (fs->off == fs->size)
		digest_final(fs->whole_ctx, fs->whole);
}
