/* Chunks compressed with zlib (squash.h). */
#include <stdlib.h>
#include <zlib.h>

#include "cft/squash.h"

/* A 2 KiB window sees all of a default chunk (CFT_CHUNK_SIZE) and the near
 * repeats of a larger one, and small tables make the reset before each
 * chunk cheap. */
#define SQUASH_WINDOW_BITS 11
#define SQUASH_MEM_LEVEL 2

/* Chunks not tried after a run of misses, at most: data that does not
 * compress (already compressed, encrypted) costs little CPU. */
#define SQUASH_SKIP_MAX 64

struct squash {
	z_stream s;
	unsigned skip;		/* chunks still to send as they are */
	unsigned backoff;	/* how many the next miss skips */
	unsigned long tries;	/* chunks deflate ran on */
};

unsigned long squash_tries(const struct squash *z)
{
	return z->tries;
}

struct squash *squash_new(void)
{
	struct squash *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	/* Level 1: the data phase runs at link speed; a chunk is small. */
	if (deflateInit2(&z->s, 1, Z_DEFLATED, SQUASH_WINDOW_BITS, SQUASH_MEM_LEVEL,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return NULL;
	}
	return z;
}

void squash_free(struct squash *z)
{
	if (!z)
		return;
	deflateEnd(&z->s);
	free(z);
}

size_t squash_chunk(struct squash *z, const uint8_t *p, size_t n, uint8_t *out, size_t cap,
		    size_t worth)
{
	size_t got;

	if (z->skip) {
		z->skip--;
		return 0;
	}
	if (deflateReset(&z->s) != Z_OK)
		return 0;
	z->tries++;
	z->s.next_in = (Bytef *)(uintptr_t)p;
	z->s.avail_in = (uInt)n;
	z->s.next_out = out;
	z->s.avail_out = (uInt)cap;
	/* Z_STREAM_END only if all of it fit: else not worth it anyway. */
	got = deflate(&z->s, Z_FINISH) == Z_STREAM_END ? cap - z->s.avail_out : cap;
	if (got < worth) {
		z->backoff = 0;
		return got;
	}
	/* A miss: skip the next chunks, twice as many each miss in a row. */
	z->skip = z->backoff;
	z->backoff = z->backoff ? (z->backoff * 2 > SQUASH_SKIP_MAX ? SQUASH_SKIP_MAX :
						     z->backoff * 2) : 1;
	return 0;
}

long squash_expand(const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	uLongf len = (uLongf)cap;

	/* uncompress stops at cap: a stream that says more is refused, so a
	 * small datagram cannot make the receiver inflate a large one. */
	if (uncompress(out, &len, p, (uLong)n) != Z_OK)
		return -1;
	return (long)len;
}
