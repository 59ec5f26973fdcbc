/* cft-shim's fault decisions: reproducible, at the configured rates, and
 * resealing exactly what it damaged. */
#include <criterion/criterion.h>
#include <string.h>

#include "cft/error.h"
#include "cft/util.h"
#include "cft/wire.h"
#include "shim/shim-faults.h"

Test(shim, same_seed_same_faults)
{
	struct shim_dir_cfg c = { .drop = 0.1, .corrupt = 0.05, .corrupt_bits = 4,
				  .duplicate = 0.05, .reorder = 0.05, .replay = 0.01,
				  .ge_enter = 0.01, .ge_leave = 0.3, .ge_loss = 0.8 };

	for (unsigned dir = 0; dir < 2; dir++) {
		bool ga = false, gb = false;

		for (uint64_t i = 1; i <= 5000; i++) {
			uint8_t a[100] = { 0 }, b[100] = { 0 };
			struct shim_verdict va, vb;

			shim_decide(&c, 12345, dir, i, &ga, a, sizeof(a), &va);
			shim_decide(&c, 12345, dir, i, &gb, b, sizeof(b), &vb);
			cr_assert_eq(memcmp(&va, &vb, sizeof(va)), 0, "dir %u index %llu", dir,
				     (unsigned long long)i);
			cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
		}
	}
}

Test(shim, rates_match_the_configuration)
{
	struct shim_dir_cfg c = { .drop = 0.10, .duplicate = 0.05 };
	unsigned drops = 0, dups = 0, differ = 0, n = 100000;
	bool ge = false;

	for (uint64_t i = 1; i <= n; i++) {
		uint8_t buf[10] = { 0 };
		struct shim_verdict v, w;
		bool g2 = false;

		shim_decide(&c, 1, SHIM_FORWARD, i, &ge, buf, sizeof(buf), &v);
		drops += v.drop;
		dups += v.duplicate;
		shim_decide(&c, 2, SHIM_FORWARD, i, &g2, buf, sizeof(buf), &w);
		differ += v.drop != w.drop;
	}
	cr_assert(drops > n * 9 / 100 && drops < n * 11 / 100, "drops %u of %u", drops, n);
	/* Duplicates are drawn only for datagrams not dropped. */
	cr_assert(dups > n * 4 / 100 && dups < n * 5 / 100, "dups %u", dups);
	cr_assert_gt(differ, n / 20, "another seed must give other faults");
}

Test(shim, bursts_come_in_runs)
{
	struct shim_dir_cfg c = { .ge_enter = 0.01, .ge_leave = 0.2, .ge_loss = 1.0 };
	bool ge = false;
	unsigned lost = 0, runs = 0, prev = 0;

	for (uint64_t i = 1; i <= 100000; i++) {
		uint8_t buf[4];
		struct shim_verdict v;

		shim_decide(&c, 9, SHIM_REVERSE, i, &ge, buf, sizeof(buf), &v);
		cr_assert_eq(v.drop, v.burst_drop);
		lost += v.drop;
		runs += v.drop && !prev;
		prev = v.drop;
	}
	cr_assert_gt(lost, 0u);
	/* Mean run length 1/leave = 5: far more than independent loss gives. */
	cr_assert_gt(lost / runs, 3u, "lost %u in %u runs", lost, runs);
}

Test(shim, corruption_flips_the_bits_it_reports_and_reseals)
{
	struct shim_dir_cfg c = { .corrupt = 1.0, .corrupt_bits = 8, .recompute = true };
	struct wire_msg m = { .version = CFT_PROTO_VERSION, .type = WIRE_PROBE, .session = 7 };
	uint8_t orig[CFT_DATAGRAM_MAX], buf[CFT_DATAGRAM_MAX];
	struct wire_msg d;
	unsigned resealed_ok = 0;

	int n = wire_encode(&m, orig, sizeof(orig));
	cr_assert_gt(n, 0);
	for (uint64_t i = 1; i <= 200; i++) {
		struct shim_verdict v;
		bool ge = false;

		memcpy(buf, orig, (size_t)n);
		shim_decide(&c, 3, SHIM_FORWARD, i, &ge, buf, (size_t)n, &v);
		cr_assert(v.nbits >= 1 && v.nbits <= 8);
		/* Undo the reported flips: only the checksum may then differ. */
		for (unsigned k = 0; k < v.nbits; k++)
			buf[v.bits[k] / 8] ^= (uint8_t)(1u << (v.bits[k] % 8));
		cr_assert_eq(memcmp(buf + WIRE_HDR_LEN, orig + WIRE_HDR_LEN, (size_t)n - WIRE_HDR_LEN), 0);
		/* Redo them: a resealed datagram passes the checksum whenever the
		 * magic survived, which is exactly why digests are needed. */
		for (unsigned k = 0; k < v.nbits; k++)
			buf[v.bits[k] / 8] ^= (uint8_t)(1u << (v.bits[k] % 8));
		if (v.resealed && wire_decode(buf, (size_t)n, &d) != CFT_E_CHECKSUM)
			resealed_ok++;
	}
	cr_assert_gt(resealed_ok, 100u);
}

Test(shim, probabilities_parse)
{
	double p;

	cr_assert_eq(util_parse_prob("0.05", &p), 0);
	cr_assert_float_eq(p, 0.05, 1e-12);
	cr_assert_eq(util_parse_prob("5%", &p), 0);
	cr_assert_float_eq(p, 0.05, 1e-12);
	cr_assert_eq(util_parse_prob("100%", &p), 0);
	cr_assert_eq(util_parse_prob("1", &p), 0);
	cr_assert_eq(util_parse_prob("0", &p), 0);
	cr_assert_eq(util_parse_prob("1.0001", &p), CFT_E_RANGE);
	cr_assert_eq(util_parse_prob("101%", &p), CFT_E_RANGE);
	cr_assert_eq(util_parse_prob("-0.1", &p), CFT_E_RANGE);
	cr_assert_eq(util_parse_prob("nan", &p), CFT_E_RANGE);
	cr_assert_eq(util_parse_prob("5%%", &p), CFT_E_SYNTAX);
	cr_assert_eq(util_parse_prob("", &p), CFT_E_SYNTAX);
	cr_assert_eq(util_parse_prob("x", &p), CFT_E_SYNTAX);
}

/* --max-size: a datagram of exactly the limit goes on, one byte longer is
 * dropped as too big, before any draw: the faults of the others are the
 * same as without the limit. */
Test(shim, max_size_drops_past_the_limit_and_draws_nothing)
{
	struct shim_dir_cfg lim = { .drop = 0.3, .corrupt = 0.2, .max_size = 100 };
	struct shim_dir_cfg none = lim;
	bool g1 = false, g2 = false;

	none.max_size = 0;
	for (uint64_t i = 1; i <= 2000; i++) {
		uint8_t a[101] = { 0 }, b[101] = { 0 };
		size_t len = i % 2 ? 100 : 101;
		struct shim_verdict va, vb;

		shim_decide(&lim, 99, 0, i, &g1, a, len, &va);
		shim_decide(&none, 99, 0, i, &g2, b, len, &vb);
		if (len == 101) {
			cr_assert(va.drop && va.too_big, "index %llu", (unsigned long long)i);
			continue;
		}
		cr_assert_not(va.too_big);
		cr_assert_eq(memcmp(&va, &vb, sizeof(va)), 0, "index %llu", (unsigned long long)i);
		cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
	}
}
