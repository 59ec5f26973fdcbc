/*
 * The sender's read ahead (feed.h): whatever the block size, whether the
 * blocks are taken in order or some again out of it, each block handed out
 * is the file's bytes at that block, read directly from the device in
 * extents of whole blocks.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cft/dio.h"
#include "cft/proto.h"
#include "send/feed.h"

static uint8_t *content;
static char path[64];

/* A file of size bytes, each the low bits of its offset mixed, open for
 * direct reads (the test is skipped where the file system refuses them). */
static int make_file(uint64_t size)
{
	int fd;

	strcpy(path, "/var/tmp/cft-feed.XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	free(content);
	content = malloc(size + 1);
	cr_assert_not_null(content);
	for (uint64_t i = 0; i < size; i++)
		content[i] = (uint8_t)(i * 2654435761u >> 13);
	cr_assert_eq(write(fd, content, size), (ssize_t)size);
	cr_assert_eq(fsync(fd), 0);
	if (dio_enable(fd) < 0) {
		close(fd);
		unlink(path);
		cr_skip_test("no O_DIRECT on /var/tmp");
	}
	return fd;
}

/* Take block b and compare it with the file; returns what feed_take did. */
static int take_and_check(struct feed *f, uint64_t size, uint32_t bs, uint32_t b)
{
	const uint8_t *buf = NULL;
	int rc = feed_take(f, b, &buf);

	for (int tries = 0; rc == 0 && tries < 3; tries++) {
		feed_reap(f);
		rc = feed_take(f, b, &buf);
	}
	cr_assert_eq(rc, 1, "block %u of %u-byte blocks: feed_take %d", b, bs, rc);
	cr_assert_eq(memcmp(buf, content + (uint64_t)b * bs, proto_block_len(size, bs, b)), 0,
		     "block %u of %u-byte blocks, file of %llu bytes", b, bs,
		     (unsigned long long)size);
	return rc;
}

static void run(uint32_t bs, uint64_t size)
{
	struct feed f;
	int fd = make_file(size);
	uint32_t n = (uint32_t)proto_blocks(size, bs);

	cr_assert_eq(feed_init(&f, bs, false), 0);
	feed_start(&f, fd, size);
	for (uint32_t b = 0; b < n; b++) {
		take_and_check(&f, size, bs, b);
		/* Now and then a block sent again, from far behind. */
		if (b % 7 == 6)
			take_and_check(&f, size, bs, b / 3);
		if (b % 7 == 6 && b + 1 < n)
			take_and_check(&f, size, bs, b + 1);
	}
	/* Then the repair rounds: every other block, from the end. */
	for (uint32_t b = n; b-- > 0;)
		if (b % 2 == 0)
			take_and_check(&f, size, bs, b);
	feed_stop(&f);
	feed_free(&f);
	close(fd);
	unlink(path);
}

Test(feed, blocks_smaller_than_an_extent)
{
	run(4096, 3ull * FEED_EXTENT + 4097);	/* 512 blocks an extent */
	run(768 * 1024, 5ull * 768 * 1024);	/* 2 an extent, not filling it */
}

Test(feed, default_blocks)
{
	run(CFT_BLOCK_SIZE_DEFAULT, 9ull * CFT_BLOCK_SIZE_DEFAULT + 1400);
	run(CFT_BLOCK_SIZE_DEFAULT, 2ull * CFT_BLOCK_SIZE_DEFAULT);	/* one extent */
	run(CFT_BLOCK_SIZE_DEFAULT, 1);
}

Test(feed, blocks_of_an_extent_or_more)
{
	run(FEED_EXTENT - 4096, 3ull * FEED_EXTENT + 5);	/* one an extent */
	run(FEED_EXTENT, 3ull * FEED_EXTENT + 5);
	run(FEED_EXTENT + 4096, 3ull * FEED_EXTENT + 5);
	run(3u * 1024 * 1024, 4ull * 3 * 1024 * 1024 - 1);
	run(CFT_BLOCK_SIZE_MAX, 2ull * CFT_BLOCK_SIZE_MAX + 4096);
}
