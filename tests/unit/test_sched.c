/*
 * The sender's data-phase scheduler, with no files and no clock: what it
 * sends first, how the receiver's reports turn into repairs, and what it
 * refuses to believe.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cft/limits.h"
#include "send/sched.h"

#define BS 4096u			/* 3 chunks: 1400, 1400, 1296 */

/* Chunk maps, bit c for chunk c held. */
static const uint8_t held_all = 0x7, held_0_2 = 0x5, held_0_1 = 0x3;

static struct sched sc;
static uint32_t seq;

/* Send whatever sched says, up to n datagrams; returns how many went. */
static unsigned drain(unsigned n)
{
	struct sched_next nx;
	unsigned sent = 0;

	while (sent < n) {
		sched_next(&sc, &nx);
		if (nx.kind == SCHED_WAIT)
			break;
		if (nx.kind == SCHED_BLOCK) {
			sched_block_started(&sc, nx.block);
		} else if (nx.kind == SCHED_CHUNK) {
			(void)sched_chunk_sent(&sc, ++seq, 1000);
			sent++;
		} else {
			sched_repair_sent(&sc, ++seq, 1000);
			sent++;
		}
	}
	return sent;
}

static void setup(void)
{
	memset(&sc, 0, sizeof(sc));
	sc.window = 2;
	seq = 0;
	sched_start(&sc, 3 * BS + 100, BS, CFT_CHUNK_SIZE);	/* blocks 0..2 full, block 3: 100 bytes */
}

TestSuite(sched, .init = setup);

Test(sched, blocks_in_order_within_the_window)
{
	struct sched_next nx;

	cr_assert_eq(sc.nblocks, 4u);
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_BLOCK);
	cr_assert_eq(nx.block, 0u);
	cr_assert_not(nx.again);
	sched_block_started(&sc, 0);
	for (uint16_t c = 0; c < 3; c++) {
		sched_next(&sc, &nx);
		cr_assert_eq(nx.kind, SCHED_CHUNK);
		cr_assert_eq(nx.block, 0u);
		cr_assert_eq(nx.chunk, c);
		cr_assert_eq(sched_chunk_sent(&sc, ++seq, 1000), c == 2, "last chunk says so");
	}
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_BLOCK);
	cr_assert_eq(nx.block, 1u);
	cr_assert_eq(drain(100), 3u);
	/* Two blocks in flight fill a window of two. */
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_WAIT);
	cr_assert_not(sched_ready(&sc));
}

Test(sched, reports_become_repairs_once_seen_past)
{
	struct wire_status st = { .state = WIRE_FS_RECEIVING };
	struct sched_next nx;

	cr_assert_eq(drain(100), 6u);		/* blocks 0 and 1, seq 1..6 */
	/* Block 0 lacks chunk 1; block 1 lacks its digest. */
	st.base = 0;
	st.nheld = 2;
	st.held[0] = (struct wire_held){ 0, 0, 3, &held_0_2 };
	st.held[1] = (struct wire_held){ 1, WIRE_HELD_ROOT, 3, &held_all };
	/* The receiver has seen only up to seq 2: block 0's last chunk (3)
	 * and block 1 may still be on their way.  Nothing is repaired yet. */
	cr_assert(sched_on_receiving(&sc, &st, 2, false, 2000));
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_WAIT);
	/* Seen past both: block 1's root again (its chunks are there), then
	 * chunk 1 of block 0. */
	cr_assert(sched_on_receiving(&sc, &st, 6, false, 3000));
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_ROOT);
	cr_assert_eq(nx.block, 1u);
	sched_whole_sent(&sc, seq, 3000);
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_REPAIR);
	cr_assert_eq(nx.block, 0u);
	cr_assert_eq(nx.chunk, 1u);
	sched_repair_sent(&sc, ++seq, 3000);
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_WAIT);
	/* A block that failed its root: its chunk digests are wanted. */
	st.nheld = 1;
	st.held[0] = (struct wire_held){ 1, WIRE_HELD_LIST, 3, &held_all };
	cr_assert(sched_on_receiving(&sc, &st, seq, false, 4000));
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_SUMS);
	cr_assert_eq(nx.block, 1u);
	cr_assert_eq(nx.slot, sc.fl[1].slot, "the slot its digests are kept in");
}

Test(sched, a_fired_timer_overrides_and_done_blocks_retire)
{
	struct wire_status st = { .state = WIRE_FS_RECEIVING };
	struct sched_next nx;

	(void)drain(100);
	/* Block 0 complete (base 1); block 1 not mentioned: never arrived. */
	st.base = 1;
	cr_assert(sched_on_receiving(&sc, &st, 0, true, 2000));
	cr_assert_eq(sched_bytes_done(&sc), BS);
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_BLOCK);
	cr_assert_eq(nx.block, 1u);
	cr_assert(nx.again);
	/* Everything but the last block done; the last is next. */
	(void)drain(100);
	st.base = 3;
	st.nheld = 0;
	cr_assert(sched_on_receiving(&sc, &st, seq, false, 4000));
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_BLOCK);
	cr_assert_eq(nx.block, 3u);
	sched_block_started(&sc, 3);
	cr_assert_eq(sc.pipe.nchunks, 1, "a 100-byte block is one chunk");
	st.base = 4;
	cr_assert(sched_on_receiving(&sc, &st, seq, false, 5000));
	cr_assert_eq(sched_bytes_done(&sc), 3 * BS + 100);
}

/* A repair whose read disagrees: the block again, whole and from the disk,
 * the repair dropped; the budget is per round. */
Test(sched, a_repair_that_reads_differently_sends_its_block_again_from_the_disk)
{
	struct wire_status st = { .state = WIRE_FS_RECEIVING, .base = 0, .nheld = 2 };
	struct sched_next nx;

	(void)drain(100);
	st.held[0] = (struct wire_held){ 0, 0, 3, &held_0_1 };
	st.held[1] = (struct wire_held){ 1, 0, 3, &held_all };
	cr_assert(sched_on_receiving(&sc, &st, seq, false, 2000));
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_REPAIR);
	cr_assert_eq(nx.chunk, 2u);
	for (unsigned i = 0; i < CFT_REREADS_MAX; i++) {
		cr_assert(sched_reread(&sc, 0), "refused at %u of %u", i + 1, CFT_REREADS_MAX);
		sched_next(&sc, &nx);
		cr_assert_eq(nx.kind, SCHED_BLOCK);
		cr_assert_eq(nx.block, 0u);
		cr_assert(nx.again && nx.fresh);
		cr_assert_not(sched_all_sent(&sc), "a block to send again is not sent");
		sched_block_started(&sc, 0);
		cr_assert_eq(drain(100), 3u, "the whole block, and nothing else");
	}
	cr_assert_not(sched_reread(&sc, 0), "past the budget");
	/* A new round has a budget of its own; a block that was not sent
	 * again is read from what was read ahead. */
	sched_start(&sc, 3 * BS + 100, BS, CFT_CHUNK_SIZE);
	cr_assert(sched_reread(&sc, 0));
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_BLOCK);
	cr_assert_not(nx.fresh);
}

Test(sched, nonsense_from_the_receiver_is_not_believed)
{
	struct wire_status st = { .state = WIRE_FS_RECEIVING };
	struct sched_next nx;

	(void)drain(100);
	st.base = 5;		/* past the last block */
	cr_assert_not(sched_on_receiving(&sc, &st, seq, false, 2000));
	cr_assert_eq(sc.rbase, 0u);
	/* A map of the wrong length for block 0's 3 chunks asks for no
	 * chunk; one of the right length asks for exactly what it lacks. */
	st.base = 0;
	st.nheld = 2;
	st.held[0] = (struct wire_held){ 0, 0, 4, &held_0_1 };
	st.held[1] = (struct wire_held){ 1, 0, 3, &held_0_1 };
	cr_assert(sched_on_receiving(&sc, &st, seq, false, 2000));
	sched_next(&sc, &nx);
	cr_assert_eq(nx.kind, SCHED_REPAIR);
	cr_assert_eq(nx.block, 1u);
	cr_assert_eq(nx.chunk, 2u);
	sched_repair_sent(&sc, ++seq, 2000);
	sched_next(&sc, &nx);
	cr_assert_neq(nx.kind, SCHED_REPAIR, "only the one valid map");
}
