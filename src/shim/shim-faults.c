/* The shim's fault decisions: pure functions of seed, direction and index. */
#include <string.h>

#include "cft/wire.h"
#include "shim-faults.h"

/* splitmix64: a good mixer, so neighbouring keys give unrelated draws. */
static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

uint64_t shim_rand(uint64_t seed, unsigned dir, uint64_t idx, unsigned k)
{
	return mix(mix(mix(seed) ^ ((uint64_t)dir << 56 | k)) ^ idx);
}

/* A draw in [0, 1). */
static double unit(uint64_t seed, unsigned dir, uint64_t idx, unsigned k)
{
	return (double)(shim_rand(seed, dir, idx, k) >> 11) * (1.0 / 9007199254740992.0);
}

/* Draw numbers, fixed so that enabling one fault does not shift the draws
 * of another: each decision has its own. */
enum {
	K_DROP, K_GE_STEP, K_GE_LOSS, K_TRUNC, K_TRUNC_LEN, K_CORRUPT, K_NBITS,
	K_DUP, K_DUP_LATER, K_REPLAY, K_REPLAY_PICK, K_REORDER, K_JITTER,
	K_BITS	/* K_BITS + i: position of bit i */
};

void shim_decide(const struct shim_dir_cfg *c, uint64_t seed, unsigned dir, uint64_t idx,
		 bool *ge_bad, uint8_t *buf, size_t len, struct shim_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->len = len;
	/* A link that does not carry it (and a router that will not
	 * fragment it): no draw, so the other faults keep their sequence. */
	if (c->max_size && len > c->max_size) {
		v->drop = v->too_big = true;
		return;
	}

	if (c->drop > 0 && unit(seed, dir, idx, K_DROP) < c->drop) {
		v->drop = true;
		return;
	}
	if (c->ge_enter > 0 || *ge_bad) {
		double step = unit(seed, dir, idx, K_GE_STEP);

		if (!*ge_bad && step < c->ge_enter)
			*ge_bad = true;
		else if (*ge_bad && step < c->ge_leave)
			*ge_bad = false;
		if (*ge_bad && unit(seed, dir, idx, K_GE_LOSS) < c->ge_loss) {
			v->drop = v->burst_drop = true;
			return;
		}
	}
	if (c->truncate > 0 && len > 1 && unit(seed, dir, idx, K_TRUNC) < c->truncate) {
		v->len = 1 + shim_rand(seed, dir, idx, K_TRUNC_LEN) % (len - 1);
		v->truncated = true;
	}
	if (c->corrupt > 0 && v->len > 0 && unit(seed, dir, idx, K_CORRUPT) < c->corrupt) {
		unsigned most = c->corrupt_bits ? c->corrupt_bits : 1;

		v->nbits = 1 + (unsigned)(shim_rand(seed, dir, idx, K_NBITS) % most);
		for (unsigned i = 0; i < v->nbits; i++) {
			uint32_t bit = (uint32_t)(shim_rand(seed, dir, idx, K_BITS + i) % (v->len * 8));

			v->bits[i] = bit;
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	/* A router that recomputes checksums over what it damaged, or a host
	 * that damaged the bytes before computing any check: only cft's
	 * digests, or only its agreement end to end, can catch this.  Only
	 * datagrams that look like cft's. */
	if (c->recompute && (v->nbits || v->truncated) && v->len >= WIRE_HDR_LEN &&
	    buf[0] == WIRE_MAGIC0 && buf[1] == WIRE_MAGIC1) {
		if (c->recompute == SHIM_RESEAL_ALL)
			wire_reseal_all(buf, v->len);
		else
			wire_reseal(buf, v->len);
		v->resealed = true;
	}
	if (c->duplicate > 0 && unit(seed, dir, idx, K_DUP) < c->duplicate) {
		v->duplicate = true;
		if (c->dup_later_ms)
			v->dup_delay_us = 1 + shim_rand(seed, dir, idx, K_DUP_LATER) %
					      ((uint64_t)c->dup_later_ms * 1000);
	}
	if (c->replay > 0 && unit(seed, dir, idx, K_REPLAY) < c->replay) {
		v->replay = true;
		v->replay_pick = shim_rand(seed, dir, idx, K_REPLAY_PICK);
	}
	if (c->reorder > 0 && unit(seed, dir, idx, K_REORDER) < c->reorder)
		v->reorder = true;
	v->delay_us = (uint64_t)c->delay_ms * 1000;
	if (c->jitter_ms)
		v->delay_us += shim_rand(seed, dir, idx, K_JITTER) % ((uint64_t)c->jitter_ms * 1000 + 1);
}
