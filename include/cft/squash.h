/*
 * Compression of chunks (cft-send -z), with zlib: each chunk on its own, so
 * that a lost datagram costs that chunk alone and any chunk can be sent
 * again as it was.  The digests stay over the real bytes.
 */
#ifndef CFT_SQUASH_H
#define CFT_SQUASH_H

#include <stddef.h>
#include <stdint.h>

#include "cft/limits.h"

struct squash;	/* a deflate stream, reset for each chunk */

/* New, at zlib's fastest level; NULL when out of memory. */
struct squash *squash_new(void);
void squash_free(struct squash *z);

/* Compress p[0..n) into out (cap bytes): the length, or 0 when it would
 * not be shorter than `worth` bytes (the chunk then goes as it is).  After
 * misses in a row it does not try the next chunks, more of them each time
 * (up to 64), so data that does not compress costs little. */
size_t squash_chunk(struct squash *z, const uint8_t *p, size_t n, uint8_t *out, size_t cap,
		    size_t worth);

/* Chunks squash_chunk ran deflate on (not skipped). */
unsigned long squash_tries(const struct squash *z);

/* Decompress p[0..n) into out (cap bytes): the length, or -1 when it is
 * not a zlib stream, is damaged, or holds more than cap bytes. */
long squash_expand(const uint8_t *p, size_t n, uint8_t *out, size_t cap);

#endif
