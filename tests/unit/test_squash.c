/* Chunks compressed (-z): what compresses does, what does not goes as it
 * is and stops being tried for a while, and expansion is bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cft/exit.h"
#include "cft/limits.h"
#include "cft/squash.h"
#include "cft/wire.h"
#include "harness.h"

static void text(uint8_t *p, size_t n)
{
	static const char line[] = "2026-11-26 cft-recv: received a file, verified\n";

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)line[i % (sizeof(line) - 1)];
}

static void noise(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(seed >> 56);
	}
}

TestSuite(squash);

Test(squash, text_round_trips_smaller)
{
	struct squash *z = squash_new();
	uint8_t in[CFT_CHUNK_SIZE], out[WIRE_ZDATA_PAYLOAD_MAX], back[CFT_CHUNK_SIZE];
	size_t n;

	cr_assert_not_null(z);
	text(in, sizeof(in));
	n = squash_chunk(z, in, sizeof(in), out, sizeof(out), sizeof(in) - WIRE_TAG_LEN);
	cr_assert(n > 0 && n < sizeof(in) / 4, "%zu bytes for a chunk of text", n);
	cr_assert_eq(squash_expand(out, n, back, sizeof(back)), (long)sizeof(in));
	cr_assert_eq(memcmp(in, back, sizeof(in)), 0);
	squash_free(z);
}

Test(squash, noise_goes_as_it_is_and_is_tried_less)
{
	struct squash *z = squash_new();
	uint8_t in[CFT_CHUNK_SIZE], out[WIRE_ZDATA_PAYLOAD_MAX];
	unsigned long before;

	/* 400 chunks of noise: never compressed, and after the first misses
	 * few are even tried (1, 2, 4 ... 64 skipped after each). */
	for (int i = 0; i < 400; i++) {
		noise(in, sizeof(in), (uint64_t)i);
		cr_assert_eq(squash_chunk(z, in, sizeof(in), out, sizeof(out), sizeof(in) - 16), 0u);
	}
	cr_assert_lt(squash_tries(z), 20u, "%lu of 400 chunks of noise tried", squash_tries(z));
	/* Text again: within 64 chunks it is tried, and from then on each. */
	for (int i = 0; i < 64; i++) {
		text(in, sizeof(in));
		squash_chunk(z, in, sizeof(in), out, sizeof(out), sizeof(in) - 16);
	}
	before = squash_tries(z);
	text(in, sizeof(in));
	cr_assert_gt(squash_chunk(z, in, sizeof(in), out, sizeof(out), sizeof(in) - 16), 0u);
	cr_assert_eq(squash_tries(z), before + 1);
	squash_free(z);
}

Test(squash, expansion_is_bounded)
{
	struct squash *z = squash_new();
	uint8_t big[4 * CFT_CHUNK_SIZE], out[WIRE_ZDATA_PAYLOAD_MAX], back[CFT_CHUNK_SIZE];
	size_t n;

	memset(big, 0, sizeof(big));
	n = squash_chunk(z, big, sizeof(big), out, sizeof(out), sizeof(big));
	cr_assert_gt(n, 0u);
	cr_assert_eq(squash_expand(out, n, back, sizeof(back)), -1,
		     "a stream that expands past a chunk is refused");
	out[n / 2] ^= 0x40;
	cr_assert_eq(squash_expand(out, n, back, sizeof(back)), -1, "damage is refused");
	cr_assert_eq(squash_expand((const uint8_t *)"not zlib", 8, back, sizeof(back)), -1);
	squash_free(z);
}

/* Whole transfers with -z through faults, keyless and keyed: compressed
 * chunks (ZDATA) repaired like any, the copy the same. */
TestSuite(squashed, .init = harness_setup, .fini = harness_teardown);

static void text_file(const char *name, size_t size)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir_src, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (size_t i = 0; i < size; i += 40)
		fprintf(f, "line %08zu of a file of text, ok\n", i);
	fclose(f);
}

Test(squashed, transfers_through_faults)
{
	static const uint8_t key[CFT_KEY_LEN] = { 7 };
	const char *names[] = { "t", "r" };
	struct faults f = { .drop_pct = 5, .dup_pct = 3, .reorder_pct = 5, .damage_pct = 2 };

	text_file("t", 400000);
	make_file("r", 100000, 3);
	harness_compress = true;
	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct run r;

		harness_send_key = harness_recv_key = seed % 2 ? NULL : key;
		clear_dst();
		cr_assert_eq(run_transfer(&r, names, 2, 64 * 1024, seed, &f, 600000000ull),
			     CFT_EXIT_OK, "seed %llu", (unsigned long long)seed);
		assert_same("t");
		assert_same("r");
		cr_assert_gt(send_stats(r.s)->squash_saved, 300000u, "seed %llu: saved %llu",
			     (unsigned long long)seed,
			     (unsigned long long)send_stats(r.s)->squash_saved);
		run_free(&r);
	}
}
