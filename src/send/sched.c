/* The data phase: blocks in flight, repairs, and what to send next. */
#include <string.h>

#include "cft/bitmap.h"
#include "cft/proto.h"
#include "sched.h"

void sched_start(struct sched *sc, uint64_t size, uint32_t block_size, uint32_t chunk_size)
{
	uint32_t window = sc->window;

	memset(sc, 0, sizeof(*sc));
	sc->window = window;
	sc->size = size;
	sc->block_size = block_size;
	sc->chunk_size = chunk_size;
	sc->nblocks = (uint32_t)proto_blocks(size, block_size);
}

static bool block_done(const struct sched *sc, uint32_t b)
{
	if (b < sc->rbase)
		return true;
	if (b - sc->rbase < 64)
		return (sc->rmask >> (b - sc->rbase)) & 1u;
	return false;
}

static bool in_flight(const struct sched *sc, uint32_t b)
{
	for (unsigned i = 0; i < sc->nfl; i++)
		if (sc->fl[i].block == b)
			return true;
	return false;
}

/* The lowest block not done and not in flight, inside the window. */
static bool next_new_block(const struct sched *sc, uint32_t *out)
{
	if (sc->nfl >= sc->window)
		return false;
	for (uint32_t b = sc->rbase; b < sc->nblocks && b < (uint64_t)sc->rbase + sc->window; b++) {
		if (!block_done(sc, b) && !in_flight(sc, b)) {
			*out = b;
			return true;
		}
	}
	return false;
}

bool sched_all_sent(const struct sched *sc)
{
	if (sc->pipe.active || (uint64_t)sc->rbase + sc->window < sc->nblocks)
		return false;
	for (unsigned i = 0; i < sc->nfl; i++)
		if (sc->fl[i].need_full)
			return false;
	for (uint32_t b = sc->rbase; b < sc->nblocks; b++)
		if (!block_done(sc, b) && !in_flight(sc, b))
			return false;
	return true;
}

void sched_next(const struct sched *sc, struct sched_next *nx)
{
	memset(nx, 0, sizeof(*nx));
	for (unsigned i = 0; i < sc->nfl; i++) {
		const struct sched_block *e = &sc->fl[i];

		if ((e->need_sums || e->need_root) && !e->sending && !e->need_full) {
			nx->kind = e->need_sums ? SCHED_SUMS : SCHED_ROOT;
			nx->block = e->block;
			nx->slot = e->slot;
			return;
		}
	}
	for (unsigned i = 0; i < sc->nfl; i++) {
		if (sc->fl[i].nmiss > 0 && !sc->fl[i].sending) {
			nx->kind = SCHED_REPAIR;
			nx->block = sc->fl[i].block;
			nx->chunk = sc->fl[i].next;
			nx->slot = sc->fl[i].slot;
			return;
		}
	}
	if (sc->pipe.active) {
		nx->kind = SCHED_CHUNK;
		nx->block = sc->fl[sc->pipe.e].block;
		nx->chunk = sc->pipe.next;
		nx->slot = sc->fl[sc->pipe.e].slot;
		return;
	}
	for (unsigned i = 0; i < sc->nfl; i++) {
		if (sc->fl[i].need_full) {
			nx->kind = SCHED_BLOCK;
			nx->block = sc->fl[i].block;
			nx->again = true;
			nx->fresh = sc->fl[i].fresh;
			nx->slot = sc->fl[i].slot;
			return;
		}
	}
	if (next_new_block(sc, &nx->block))
		nx->kind = SCHED_BLOCK;
}

bool sched_ready(const struct sched *sc)
{
	struct sched_next nx;

	sched_next(sc, &nx);
	return nx.kind != SCHED_WAIT;
}

static struct sched_block *find(struct sched *sc, uint32_t b)
{
	for (unsigned i = 0; i < sc->nfl; i++)
		if (sc->fl[i].block == b)
			return &sc->fl[i];
	return NULL;
}

void sched_whole_sent(struct sched *sc, uint32_t seq, uint64_t now)
{
	for (unsigned i = 0; i < sc->nfl; i++) {
		struct sched_block *e = &sc->fl[i];

		if ((e->need_sums || e->need_root) && !e->sending && !e->need_full) {
			e->need_sums = e->need_root = false;
			e->last_seq = seq;
			e->last_tx = now;
			return;
		}
	}
}

/* The first missing chunk at or after c (there is one while nmiss > 0). */
static uint16_t next_missing(const struct sched_block *e, unsigned c)
{
	while (!bitmap_get(e->miss, c))
		c++;
	return (uint16_t)c;
}

void sched_repair_sent(struct sched *sc, uint32_t seq, uint64_t now)
{
	for (unsigned i = 0; i < sc->nfl; i++) {
		struct sched_block *e = &sc->fl[i];

		if (e->nmiss == 0 || e->sending)
			continue;
		e->last_seq = seq;
		e->last_tx = now;
		bitmap_clear(e->miss, e->next);
		if (--e->nmiss > 0)
			e->next = next_missing(e, e->next);
		return;
	}
}

bool sched_reread(struct sched *sc, uint32_t block)
{
	struct sched_block *e = find(sc, block);

	if (++sc->rereads > CFT_REREADS_MAX)
		return false;
	if (e && !e->sending) {
		e->need_full = e->fresh = true;
		e->need_root = e->need_sums = false;
		e->nmiss = 0;
	}
	return true;
}

/* A free slot: there are as many as blocks may be in flight. */
static unsigned take_slot(struct sched *sc)
{
	for (unsigned i = 0; i < CFT_WINDOW_BLOCKS_MAX; i++) {
		if (!(sc->slots_used & (1ull << i))) {
			sc->slots_used |= 1ull << i;
			return i;
		}
	}
	return 0;	/* cannot happen: nfl <= window <= CFT_WINDOW_BLOCKS_MAX */
}

unsigned sched_block_started(struct sched *sc, uint32_t block)
{
	struct sched_block *e = find(sc, block);

	if (!e) {
		e = &sc->fl[sc->nfl++];
		memset(e, 0, sizeof(*e));
		e->block = block;
		e->slot = take_slot(sc);
	}
	e->sending = true;
	e->need_full = e->fresh = e->need_root = e->need_sums = false;
	e->nmiss = 0;
	sc->pipe.active = true;
	sc->pipe.e = (unsigned)(e - sc->fl);
	sc->pipe.len = proto_block_len(sc->size, sc->block_size, block);
	sc->pipe.nchunks = (uint16_t)wire_chunks(sc->pipe.len, sc->chunk_size);
	sc->pipe.next = 0;
	return e->slot;
}

void sched_pipe_done(struct sched *sc, uint32_t seq, uint64_t now)
{
	struct sched_block *e = &sc->fl[sc->pipe.e];

	sc->pipe.active = false;
	e->sending = false;
	e->last_tx = now;
	e->last_seq = seq;
}

bool sched_chunk_sent(struct sched *sc, uint32_t seq, uint64_t now)
{
	if (++sc->pipe.next < sc->pipe.nchunks)
		return false;
	sched_pipe_done(sc, seq, now);
	return true;
}

/* Forget blocks the receiver has completed, keeping the pipe's index right. */
static void retire(struct sched *sc)
{
	unsigned k = 0;

	for (unsigned i = 0; i < sc->nfl; i++) {
		if (block_done(sc, sc->fl[i].block) && !sc->fl[i].sending) {
			sc->slots_used &= ~(1ull << sc->fl[i].slot);
			continue;
		}
		if (sc->pipe.active && sc->pipe.e == i)
			sc->pipe.e = k;
		sc->fl[k++] = sc->fl[i];
	}
	sc->nfl = k;
}

/* What the receiver lacks of block e, from its map in the STATUS. */
static void take_held(struct sched *sc, struct sched_block *e, const struct wire_status *st)
{
	uint16_t nch = (uint16_t)wire_chunks(proto_block_len(sc->size, sc->block_size, e->block),
					     sc->chunk_size);
	const struct wire_held *h = NULL;

	for (unsigned j = 0; j < st->nheld && !h; j++)
		if (st->held[j].block == e->block)
			h = &st->held[j];
	if (!h) {
		/* Never reached the receiver: read it again, send all of it. */
		e->need_full = true;
		e->need_root = e->need_sums = false;
		e->nmiss = 0;
		return;
	}
	e->need_root = h->flags & WIRE_HELD_ROOT;
	e->need_sums = h->flags & WIRE_HELD_LIST;
	e->nmiss = 0;
	if (h->nchunks != nch)
		return;		/* a confused or hostile peer's map */
	memset(e->miss, 0, sizeof(e->miss));
	for (unsigned c = 0; c < nch; c++) {
		if (!bitmap_get(h->map, c)) {
			bitmap_set(e->miss, c);
			e->nmiss++;
		}
	}
	if (e->nmiss > 0)
		e->next = next_missing(e, 0);
}

/*
 * What the receiver lacks of a block counts as lost only once it has seen
 * something sent after that block (a later DATA, or the PROBE this STATUS
 * answers): until then it may still be in a queue on the way, and sending
 * it again would only add to the queue.  The answer to the PROBE sent when
 * the retransmission timer fired overrides (a HOLE, which has no sequence
 * number of its own, may be the last thing sent).
 */
bool sched_on_receiving(struct sched *sc, const struct wire_status *st, uint32_t seen,
			bool timed_out, uint64_t now)
{
	if (st->base > sc->nblocks)
		return false;	/* nonsense; the checksum cannot vouch for intent */
	sc->rbase = st->base;
	sc->rmask = st->done_mask;
	retire(sc);
	for (unsigned i = 0; i < sc->nfl; i++) {
		struct sched_block *e = &sc->fl[i];

		if (e->sending || e->need_full || e->need_root || e->need_sums || e->nmiss > 0)
			continue;
		if ((int32_t)(seen - e->last_seq) < 0 && !timed_out)
			continue;
		take_held(sc, e, st);
		e->last_tx = now;
	}
	return true;
}

uint64_t sched_bytes_done(const struct sched *sc)
{
	uint64_t b = (uint64_t)sc->rbase * sc->block_size;

	return b < sc->size ? b : sc->size;
}
