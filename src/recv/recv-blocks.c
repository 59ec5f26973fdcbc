/* Block assembly: chunks into blocks, the done map, what is missing. */
#include <stdlib.h>
#include <string.h>

#include "cft/bitmap.h"
#include "cft/digest.h"
#include "cft/dio.h"
#include "cft/error.h"
#include "cft/proto.h"
#include "recv-blocks.h"

void recv_blocks_init(struct recv_blocks *rb, uint32_t block_size, uint32_t chunk_size,
		      uint32_t window)
{
	memset(rb, 0, sizeof(*rb));
	rb->block_size = block_size;
	rb->chunk_size = chunk_size;
	rb->window = window;
	recv_blocks_drop_slots(rb);
}

void recv_blocks_free(struct recv_blocks *rb)
{
	free(rb->bufs);
	for (unsigned i = 0; i < CFT_WINDOW_BLOCKS_MAX; i++) {
		free(rb->slots[i].cd);
		free(rb->slots[i].list);
	}
	free(rb->done);
	memset(rb, 0, sizeof(*rb));
}

int recv_blocks_start(struct recv_blocks *rb, uint32_t file, uint64_t size)
{
	uint64_t nblocks = proto_blocks(size, rb->block_size);

	free(rb->done);
	rb->done = calloc(nblocks / 8 + 1, 1);
	if (!rb->done)
		return CFT_E_NOMEM;
	rb->file = file;
	rb->size = size;
	rb->nblocks = (uint32_t)nblocks;
	rb->ndone = 0;
	rb->base = 0;
	recv_blocks_drop_slots(rb);
	return 0;
}

void recv_blocks_mark_all(struct recv_blocks *rb, bool done)
{
	memset(rb->done, done ? 0xff : 0, rb->nblocks / 8 + 1);
	rb->ndone = done ? rb->nblocks : 0;
	rb->base = done ? rb->nblocks : 0;
}

void recv_blocks_forget(struct recv_blocks *rb, uint32_t b)
{
	if (b < rb->nblocks && bitmap_get(rb->done, b)) {
		bitmap_clear(rb->done, b);
		rb->ndone--;
	}
}

static void advance_base(struct recv_blocks *rb)
{
	while (rb->base < rb->nblocks && bitmap_get(rb->done, rb->base))
		rb->base++;
}

void recv_blocks_rewind(struct recv_blocks *rb)
{
	rb->base = 0;
	advance_base(rb);
	recv_blocks_drop_slots(rb);
}

void recv_blocks_drop_slots(struct recv_blocks *rb)
{
	for (unsigned i = 0; i < CFT_WINDOW_BLOCKS_MAX; i++)
		rb->slots[i].block = RECV_NO_BLOCK;
}

/* Memory for a slot, kept for the session: a block and two leaf lists.
 * The window's blocks are one buffer, so that it is large enough for huge
 * pages (dio.h); its pages are taken as they are first written. */
static bool slot_alloc(struct recv_blocks *rb, struct recv_slot *sl)
{
	size_t lists = (size_t)wire_chunks(rb->block_size, rb->chunk_size) * WIRE_LEAF_LEN;

	if (!rb->bufs)
		rb->bufs = dio_alloc((size_t)rb->window * rb->block_size);
	if (!rb->bufs)
		return false;
	sl->buf = rb->bufs + (size_t)(sl - rb->slots) * rb->block_size;
	if (!sl->cd)
		sl->cd = malloc(lists);
	if (!sl->list)
		sl->list = malloc(lists);
	return sl->buf && sl->cd && sl->list;
}

/* The slot holding block b, opening one if b is inside the window. */
static enum recv_take slot_for(struct recv_blocks *rb, uint32_t b, struct recv_slot **out)
{
	struct recv_slot *free_slot = NULL;

	for (unsigned i = 0; i < rb->window; i++) {
		if (rb->slots[i].block == b) {
			*out = &rb->slots[i];
			return RECV_TAKEN;
		}
		if (rb->slots[i].block == RECV_NO_BLOCK && !free_slot)
			free_slot = &rb->slots[i];
	}
	if (b >= (uint64_t)rb->base + rb->window || !free_slot)
		return RECV_OUTSIDE;
	if (!slot_alloc(rb, free_slot))
		return RECV_NOMEM;
	free_slot->block = b;
	free_slot->len = proto_block_len(rb->size, rb->block_size, b);
	free_slot->nchunks = (uint16_t)wire_chunks(free_slot->len, rb->chunk_size);
	free_slot->nhave = 0;
	free_slot->have_root = false;
	free_slot->retries = 0;
	free_slot->need_list = free_slot->have_list = free_slot->writing = false;
	free_slot->hole = false;
	free_slot->list_pieces = 0;
	memset(free_slot->map, 0, sizeof(free_slot->map));
	*out = free_slot;
	return RECV_TAKEN;
}

/* The slot for a block of this file that is still wanted. */
static enum recv_take wanted(struct recv_blocks *rb, uint32_t b, struct recv_slot **out)
{
	enum recv_take t;

	if (b >= rb->nblocks)
		return RECV_MALFORMED;
	if (bitmap_get(rb->done, b))
		return RECV_DUPLICATE;
	t = slot_for(rb, b, out);
	return t == RECV_TAKEN && (*out)->writing ? RECV_DUPLICATE : t;
}

/* Chunk c's leaf in a list (the chunks held, or the sender's). */
static uint8_t *leaf_at(uint8_t *list, uint32_t c)
{
	return list + (size_t)c * WIRE_LEAF_LEN;
}

enum recv_take recv_blocks_hole(struct recv_blocks *rb, uint32_t b, struct recv_slot **whole)
{
	struct recv_slot *sl = NULL;
	enum recv_take t = wanted(rb, b, &sl);

	*whole = NULL;
	if (t != RECV_TAKEN)
		return t;
	sl->hole = true;
	*whole = sl;
	return RECV_TAKEN;
}

enum recv_take recv_blocks_data(struct recv_blocks *rb, const struct wire_data *d,
				struct recv_slot **whole)
{
	struct recv_slot *sl = NULL;
	enum recv_take t = wanted(rb, d->block, &sl);

	*whole = NULL;
	if (t != RECV_TAKEN)
		return t;
	/* Every chunk but a block's last is full; the last holds the rest. */
	if (d->chunk >= sl->nchunks || d->len != proto_chunk_len(sl->len, d->chunk, rb->chunk_size))
		return RECV_MALFORMED;
	if (bitmap_get(sl->map, d->chunk))
		return RECV_DUPLICATE;
	/* Once the sender's list is known, the chunk must be what it says. */
	if (sl->have_list && d->leaf != wire_leaf_load(leaf_at(sl->list, d->chunk)))
		return RECV_DAMAGED;
	memcpy(sl->buf + (size_t)d->chunk * rb->chunk_size, d->payload, d->len);
	wire_leaf_store(leaf_at(sl->cd, d->chunk), d->leaf);
	bitmap_set(sl->map, d->chunk);
	sl->nhave++;
	if (recv_slot_whole(sl))
		*whole = sl;
	return RECV_TAKEN;
}

/* The list is all in and the root known: check one against the other, and
 * the chunks held against the list.  Returns RECV_TAKEN, or RECV_REFUTED /
 * RECV_HOPELESS when they disagree. */
static enum recv_take try_list(struct recv_slot *sl)
{
	uint8_t root[CFT_DIGEST_LEN];
	uint64_t all = (1ull << ((sl->nchunks + CFT_CHUNKSUMS_PER_DATAGRAM - 1) /
				 CFT_CHUNKSUMS_PER_DATAGRAM)) - 1;

	if (!sl->need_list || !sl->have_root || sl->list_pieces != all)
		return RECV_TAKEN;
	proto_block_root(sl->list, sl->nchunks, root);
	if (!digest_equal(root, sl->root)) {
		/* The list or the root was damaged on the way: both again.  A
		 * sender whose lists never make its roots is counted out. */
		sl->list_pieces = 0;
		sl->have_root = false;
		return ++sl->retries > CFT_BLOCK_RETRIES_MAX ? RECV_HOPELESS : RECV_REFUTED;
	}
	sl->need_list = false;
	sl->have_list = true;
	for (uint32_t c = 0; c < sl->nchunks; c++) {
		if (bitmap_get(sl->map, c) &&
		    memcmp(leaf_at(sl->cd, c), leaf_at(sl->list, c), WIRE_LEAF_LEN) != 0) {
			bitmap_clear(sl->map, c);
			sl->nhave--;
		}
	}
	return RECV_TAKEN;
}

enum recv_take recv_blocks_root(struct recv_blocks *rb, const struct wire_block *bl,
				struct recv_slot **whole)
{
	struct recv_slot *sl = NULL;
	enum recv_take t = wanted(rb, bl->block, &sl);

	*whole = NULL;
	if (t != RECV_TAKEN)
		return t;
	/* A newer root replaces an older one: the sender read the block
	 * again.  A list checked against the old one no longer counts. */
	if (sl->have_root && !digest_equal(sl->root, bl->root) && sl->have_list) {
		sl->have_list = false;
		sl->need_list = true;
		sl->list_pieces = 0;
	}
	memcpy(sl->root, bl->root, CFT_DIGEST_LEN);
	sl->have_root = true;
	t = try_list(sl);
	if (t == RECV_TAKEN && recv_slot_whole(sl))
		*whole = sl;
	return t;
}

enum recv_take recv_blocks_chunksums(struct recv_blocks *rb, const struct wire_chunksums *cs,
				     struct recv_slot **whole)
{
	struct recv_slot *sl = NULL;
	enum recv_take t = wanted(rb, cs->block, &sl);
	unsigned piece = cs->first / CFT_CHUNKSUMS_PER_DATAGRAM;

	*whole = NULL;
	if (t != RECV_TAKEN)
		return t;
	if (!sl->need_list)
		return RECV_UNWANTED;
	/* Pieces as the sender cuts them: full ones, then the rest. */
	if (cs->first % CFT_CHUNKSUMS_PER_DATAGRAM != 0 || cs->first >= sl->nchunks ||
	    cs->count != (sl->nchunks - cs->first < CFT_CHUNKSUMS_PER_DATAGRAM ?
			  sl->nchunks - cs->first : CFT_CHUNKSUMS_PER_DATAGRAM))
		return RECV_MALFORMED;
	if (sl->list_pieces & (1ull << piece))
		return RECV_DUPLICATE;
	memcpy(leaf_at(sl->list, cs->first), cs->leaves, (size_t)cs->count * WIRE_LEAF_LEN);
	sl->list_pieces |= 1ull << piece;
	t = try_list(sl);
	if (t == RECV_TAKEN && recv_slot_whole(sl))
		*whole = sl;
	return t;
}

bool recv_blocks_check(struct recv_blocks *rb, struct recv_slot *sl)
{
	uint8_t root[CFT_DIGEST_LEN];

	(void)rb;
	if (sl->hole)
		return true;	/* no chunks, no root: zeros, checked end to end */
	proto_block_root(sl->cd, sl->nchunks, root);
	if (digest_equal(root, sl->root))
		return true;
	/* Every chunk matched the leaf it came with, yet together they do
	 * not make the root: damage that recomputed a chunk's leaf too, or a
	 * damaged root.  The sender's list tells which. */
	sl->retries++;
	sl->have_list = false;
	sl->need_list = true;
	sl->list_pieces = 0;
	return false;
}

void recv_blocks_writing(struct recv_blocks *rb, struct recv_slot *sl)
{
	(void)rb;
	sl->writing = true;
}

void recv_blocks_written(struct recv_blocks *rb, struct recv_slot *sl)
{
	bitmap_set(rb->done, sl->block);
	rb->ndone++;
	sl->block = RECV_NO_BLOCK;
	advance_base(rb);
}

/* Open slots in block order, for a STATUS that reads naturally. */
static unsigned sorted_slots(const struct recv_blocks *rb, const struct recv_slot **out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < rb->window; i++) {
		const struct recv_slot *sl = &rb->slots[i];
		unsigned j;

		if (sl->block == RECV_NO_BLOCK)
			continue;
		for (j = n; j > 0 && out[j - 1]->block > sl->block; j--)
			out[j] = out[j - 1];
		out[j] = sl;
		n++;
	}
	return n;
}

void recv_blocks_status(const struct recv_blocks *rb, struct wire_status *st)
{
	const struct recv_slot *open[CFT_WINDOW_BLOCKS_MAX];
	unsigned nopen = sorted_slots(rb, open);

	st->base = rb->base;
	st->done_mask = 0;
	for (uint32_t i = 0; i < 64 && rb->base + (uint64_t)i < rb->nblocks; i++)
		if (bitmap_get(rb->done, rb->base + i))
			st->done_mask |= 1ull << i;
	/* Every open block, with the map of its chunks: one STATUS says all
	 * that is missing, however scattered (it fits: the window is at most
	 * CFT_WINDOW_BYTES of chunks, one bit each). */
	st->nheld = 0;
	for (unsigned k = 0; k < nopen; k++) {
		const struct recv_slot *sl = open[k];

		/* On its way to the disk: complete, as far as the sender is
		 * concerned (it is within 64 of base: the window is). */
		if (sl->writing && sl->block - rb->base < 64) {
			st->done_mask |= 1ull << (sl->block - rb->base);
			continue;
		}
		st->held[st->nheld++] = (struct wire_held){
			.block = sl->block,
			.flags = (uint8_t)((sl->have_root ? 0 : WIRE_HELD_ROOT) |
					   (sl->need_list ? WIRE_HELD_LIST : 0)),
			.nchunks = sl->nchunks,
			.map = sl->map,
		};
	}
}
