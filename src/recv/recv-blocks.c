/* Block assembly: chunks into blocks, the done map, what is missing. */
#include <stdlib.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/proto.h"
#include "recv-blocks.h"

static bool bit_get(const uint8_t *map, uint32_t i)
{
	return (map[i / 8] >> (i % 8)) & 1u;
}

static void bit_set(uint8_t *map, uint32_t i)
{
	map[i / 8] = (uint8_t)(map[i / 8] | (1u << (i % 8)));
}

static void bit_clear(uint8_t *map, uint32_t i)
{
	map[i / 8] = (uint8_t)(map[i / 8] & ~(1u << (i % 8)));
}

void recv_blocks_init(struct recv_blocks *rb, uint32_t block_size, uint32_t window)
{
	memset(rb, 0, sizeof(*rb));
	rb->block_size = block_size;
	rb->window = window;
	recv_blocks_drop_slots(rb);
}

void recv_blocks_free(struct recv_blocks *rb)
{
	for (unsigned i = 0; i < CFT_WINDOW_BLOCKS_MAX; i++)
		free(rb->slots[i].buf);
	free(rb->done);
	memset(rb, 0, sizeof(*rb));
}

int recv_blocks_start(struct recv_blocks *rb, uint64_t size)
{
	uint64_t nblocks = proto_blocks(size, rb->block_size);

	free(rb->done);
	rb->done = calloc(nblocks / 8 + 1, 1);
	if (!rb->done)
		return CFT_E_NOMEM;
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
	if (b < rb->nblocks && bit_get(rb->done, b)) {
		bit_clear(rb->done, b);
		rb->ndone--;
	}
}

static void advance_base(struct recv_blocks *rb)
{
	while (rb->base < rb->nblocks && bit_get(rb->done, rb->base))
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
	if (!free_slot->buf && !(free_slot->buf = malloc(rb->block_size)))
		return RECV_NOMEM;
	free_slot->block = b;
	free_slot->len = proto_block_len(rb->size, rb->block_size, b);
	free_slot->nchunks = (uint16_t)wire_chunks(free_slot->len);
	free_slot->nhave = 0;
	free_slot->have_digest = false;
	free_slot->retries = 0;
	memset(free_slot->map, 0, sizeof(free_slot->map));
	*out = free_slot;
	return RECV_TAKEN;
}

/* The slot for a block of this file that is still wanted. */
static enum recv_take wanted(struct recv_blocks *rb, uint32_t b, struct recv_slot **out)
{
	if (b >= rb->nblocks)
		return RECV_MALFORMED;
	if (bit_get(rb->done, b))
		return RECV_DUPLICATE;
	return slot_for(rb, b, out);
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
	if (d->chunk >= sl->nchunks || d->len != proto_chunk_len(sl->len, d->chunk))
		return RECV_MALFORMED;
	if (bit_get(sl->map, d->chunk))
		return RECV_DUPLICATE;
	memcpy(sl->buf + (size_t)d->chunk * CFT_CHUNK_SIZE, d->payload, d->len);
	bit_set(sl->map, d->chunk);
	if (++sl->nhave == sl->nchunks && sl->have_digest)
		*whole = sl;
	return RECV_TAKEN;
}

enum recv_take recv_blocks_digest(struct recv_blocks *rb, const struct wire_block *bl,
				  struct recv_slot **whole)
{
	struct recv_slot *sl = NULL;
	enum recv_take t = wanted(rb, bl->block, &sl);

	*whole = NULL;
	if (t != RECV_TAKEN)
		return t;
	/* A newer digest replaces an older one: the sender re-read the block. */
	memcpy(sl->digest, bl->digest, CFT_DIGEST_LEN);
	sl->have_digest = true;
	if (sl->nhave == sl->nchunks)
		*whole = sl;
	return RECV_TAKEN;
}

bool recv_blocks_check(struct recv_blocks *rb, struct recv_slot *sl)
{
	uint8_t d[CFT_DIGEST_LEN];

	(void)rb;
	digest_sha256(sl->buf, sl->len, d);
	if (digest_equal(d, sl->digest))
		return true;
	/* Damage the datagram checksum missed (or a damaged BLOCK datagram):
	 * forget the block and ask for all of it again. */
	sl->retries++;
	memset(sl->map, 0, sizeof(sl->map));
	sl->nhave = 0;
	sl->have_digest = false;
	return false;
}

void recv_blocks_written(struct recv_blocks *rb, struct recv_slot *sl)
{
	bit_set(rb->done, sl->block);
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

/* Ranges of chunks missing from sl, appended to st. */
static void missing_ranges(const struct recv_slot *sl, struct wire_status *st)
{
	if (!sl->have_digest && st->nranges < CFT_STATUS_RANGES_MAX)
		st->ranges[st->nranges++] = (struct wire_range){ sl->block, 0, 0 };
	for (uint32_t c = 0; c < sl->nchunks && st->nranges < CFT_STATUS_RANGES_MAX;) {
		uint32_t e;

		if (bit_get(sl->map, c)) {
			c++;
			continue;
		}
		for (e = c; e < sl->nchunks && !bit_get(sl->map, e); e++)
			;
		st->ranges[st->nranges++] =
			(struct wire_range){ sl->block, (uint16_t)c, (uint16_t)(e - c) };
		c = e;
	}
}

void recv_blocks_status(const struct recv_blocks *rb, struct wire_status *st)
{
	const struct recv_slot *open[CFT_WINDOW_BLOCKS_MAX];
	unsigned nopen = sorted_slots(rb, open);

	st->base = rb->base;
	st->done_mask = 0;
	for (uint32_t i = 0; i < 64 && rb->base + (uint64_t)i < rb->nblocks; i++)
		if (bit_get(rb->done, rb->base + i))
			st->done_mask |= 1ull << i;
	st->nranges = 0;
	for (unsigned k = 0; k < nopen && st->nranges < CFT_STATUS_RANGES_MAX; k++)
		missing_ranges(open[k], st);
}
