/*
 * cft-shim's fault model, kept pure so that tests can check it without
 * sockets: given the configuration of one direction, the seed and the index
 * of a datagram in that direction, shim_decide says what happens to it.
 * Every random draw is a function of (seed, direction, index, draw number)
 * only, never of time, so the same seed and the same datagrams give the same
 * faults, run after run.
 */
#ifndef CFT_SHIM_FAULTS_H
#define CFT_SHIM_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits of the fault options; see cft-shim(1). */
#define SHIM_CORRUPT_BITS_MAX 64	/* --corrupt-bits */
#define SHIM_REORDER_DEPTH_MAX 1024	/* --reorder-depth */
#define SHIM_DELAY_MAX_MS 60000		/* --delay, --jitter, --duplicate-later */

enum shim_dir { SHIM_FORWARD = 0, SHIM_REVERSE = 1 };

/* What --recompute-checksum recomputes over a damaged cft datagram. */
enum shim_reseal {
	SHIM_RESEAL_NONE = 0,
	SHIM_RESEAL_CRC = 1,		/* the CRC-32, as a router or a NIC would */
	SHIM_RESEAL_ALL = 2,		/* every keyless check (wire_reseal_all) */
};

struct shim_dir_cfg {
	double drop;			/* probability, independent */
	double ge_enter, ge_leave;	/* Gilbert-Elliott: good->bad, bad->good */
	double ge_loss;			/* loss probability in the bad state */
	double corrupt;
	unsigned corrupt_bits;		/* flip 1..corrupt_bits bits */
	double truncate;
	double duplicate;
	uint32_t dup_later_ms;		/* copy delayed by up to this; 0: at once */
	double reorder;
	unsigned reorder_depth;		/* held behind this many datagrams */
	double replay;
	uint32_t delay_ms, jitter_ms;
	uint64_t rate;			/* bytes per second; 0: unlimited */
	uint32_t queue_ms;		/* its queue, in time at the rate; 0: default */
	uint32_t max_size;		/* longer datagrams are dropped (a link's
					 * MTU); 0: none */
	unsigned recompute;		/* after damage, reseal: SHIM_RESEAL_* */
};

struct shim_verdict {
	bool drop;
	bool burst_drop;		/* dropped by the Gilbert-Elliott model */
	bool too_big;			/* dropped: longer than max_size */
	size_t len;			/* length after truncation */
	bool truncated;
	unsigned nbits;			/* bits flipped */
	uint32_t bits[SHIM_CORRUPT_BITS_MAX];
	bool resealed;
	bool duplicate;
	uint64_t dup_delay_us;
	bool replay;
	uint64_t replay_pick;		/* which old datagram, modulo the ring */
	bool reorder;
	uint64_t delay_us;
};

/* Uniform 64-bit value for draw k of datagram idx in direction dir. */
uint64_t shim_rand(uint64_t seed, unsigned dir, uint64_t idx, unsigned k);

/*
 * Decide the fate of datagram idx (buf, len bytes) in direction dir, and
 * apply the in-place faults (truncation, bit flips, resealing) to buf.
 * *ge_bad is the Gilbert-Elliott state, carried from datagram to datagram.
 * Faults stack in this order: too big, drop, burst loss, truncate, corrupt (and
 * reseal), duplicate, replay, reorder, delay and jitter; the rate limit
 * applies after all of them.
 */
void shim_decide(const struct shim_dir_cfg *cfg, uint64_t seed, unsigned dir, uint64_t idx,
		 bool *ge_bad, uint8_t *buf, size_t len, struct shim_verdict *v);

#endif
