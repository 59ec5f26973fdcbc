/*
 * The end-to-end check's stepper against digests computed by sha256sum: the
 * known-answer files in testdata/files (made with openssl, dd and sha256sum,
 * independent of cft), fed in pieces of every awkward size, and a larger
 * file checked against sha256sum at test time.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cft/digest.h"
#include "cft/filesum.h"

static const char *const kat[] = { "kat-0", "kat-1", "kat-4095", "kat-4096", "kat-4097",
				   "kat-12388" };

struct sums {
	uint32_t block_size;
	uint64_t size;
	char whole[2 * CFT_DIGEST_LEN + 1];
	char blocks[8][2 * CFT_DIGEST_LEN + 1];
	unsigned nblocks;
};

static void read_sums(const char *name, struct sums *s)
{
	char path[128], line[200];
	FILE *f;

	snprintf(path, sizeof(path), "testdata/files/%s.sums", name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s: missing", path);
	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), f)) {
		unsigned b;
		char hex[80];

		if (sscanf(line, "block_size %u", &s->block_size) == 1)
			continue;
		if (sscanf(line, "size %" SCNu64, &s->size) == 1)
			continue;
		if (sscanf(line, "sha256 %64s", s->whole) == 1)
			continue;
		cr_assert_eq(sscanf(line, "block %u %64s", &b, hex), 2, "%s: '%s'", path, line);
		cr_assert_eq(b, s->nblocks, "%s: blocks out of order", path);
		cr_assert_lt(b, 8u);
		strcpy(s->blocks[s->nblocks++], hex);
	}
	fclose(f);
}

static uint8_t *read_file(const char *name, size_t *len)
{
	char path[128];
	FILE *f;
	uint8_t *buf = malloc(1 << 16);
	size_t n;

	snprintf(path, sizeof(path), "testdata/files/%s", name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: missing", path);
	n = fread(buf, 1, 1 << 16, f);
	fclose(f);
	*len = n;
	return buf;
}

/* Feed the file in pieces of `step` bytes and compare every digest (only the
 * whole file's without `blocks`: the same whole digest either way). */
static void check(const char *name, size_t step, bool blocks)
{
	struct sums want;
	struct filesum fs;
	char hex[2 * CFT_DIGEST_LEN + 1];
	size_t len, off = 0;
	uint8_t *buf = read_file(name, &len);

	read_sums(name, &want);
	cr_assert_eq(len, want.size, "%s: size", name);
	cr_assert_eq(filesum_init(&fs), 0);
	cr_assert_eq(filesum_start(&fs, len, want.block_size, blocks), 0);
	cr_assert_eq(fs.nblocks, want.nblocks, "%s: block count", name);
	while (off < len) {
		size_t n = len - off < step ? len - off : step;

		cr_assert_not(filesum_done(&fs));
		filesum_update(&fs, buf + off, n);
		off += n;
	}
	cr_assert(filesum_done(&fs));
	digest_hex(fs.whole, hex);
	cr_assert_str_eq(hex, want.whole, "%s fed by %zu: whole digest", name, step);
	for (unsigned b = 0; blocks && b < want.nblocks; b++) {
		digest_hex(filesum_block(&fs, b), hex);
		cr_assert_str_eq(hex, want.blocks[b], "%s fed by %zu: block %u", name, step, b);
	}
	filesum_free(&fs);
	free(buf);
}

Test(filesum, known_answers_in_every_piece_size)
{
	static const size_t steps[] = { 1, 7, 1400, 4095, 4096, 4097, 65536 };

	for (unsigned i = 0; i < sizeof(kat) / sizeof(kat[0]); i++)
		for (unsigned j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
			check(kat[i], steps[j], j % 2 == 0);
}

Test(filesum, restart_reuses_the_table)
{
	struct filesum fs;
	uint8_t byte = 'x';

	cr_assert_eq(filesum_init(&fs), 0);
	cr_assert_eq(filesum_start(&fs, 3 * 4096, 4096, true), 0);
	cr_assert_eq(fs.nblocks, 3u);
	cr_assert_eq(filesum_start(&fs, 1, 4096, true), 0);
	filesum_update(&fs, &byte, 1);
	cr_assert(filesum_done(&fs));
	/* Empty: done at once, with the digest of nothing. */
	cr_assert_eq(filesum_start(&fs, 0, 4096, false), 0);
	cr_assert(filesum_done(&fs));
	cr_assert_eq(fs.nblocks, 0u);
	{
		char hex[2 * CFT_DIGEST_LEN + 1];

		digest_hex(fs.whole, hex);
		cr_assert_str_eq(hex,
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	}
	filesum_free(&fs);
}

/* A file of three and a bit blocks, against sha256sum run now. */
Test(filesum, matches_sha256sum)
{
	char path[] = "/tmp/cft-filesum-XXXXXX", cmd[128], line[128];
	char hex[2 * CFT_DIGEST_LEN + 1];
	size_t len = 3 * 65536 + 1234;
	uint8_t *buf = malloc(len);
	struct filesum fs;
	FILE *f, *p;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	f = fdopen(fd, "wb");
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "sha256sum < %s", path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(line, sizeof(line), p));
	pclose(p);
	unlink(path);

	cr_assert_eq(filesum_init(&fs), 0);
	cr_assert_eq(filesum_start(&fs, len, 65536, true), 0);
	filesum_update(&fs, buf, 100000);
	filesum_update(&fs, buf + 100000, len - 100000);
	digest_hex(fs.whole, hex);
	cr_assert_eq(strncmp(hex, line, 2 * CFT_DIGEST_LEN), 0, "cft %s, sha256sum %s", hex, line);
	/* Each block is the digest of its own bytes. */
	for (unsigned b = 0; b < fs.nblocks; b++) {
		uint8_t d[CFT_DIGEST_LEN];
		size_t off = (size_t)b * 65536, n = len - off < 65536 ? len - off : 65536;

		digest_sha256(buf + off, n, d);
		cr_assert(digest_equal(d, filesum_block(&fs, b)), "block %u", b);
	}
	filesum_free(&fs);
	free(buf);
}
