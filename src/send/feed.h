/*
 * The sender's read ahead: the blocks the data phase is about to send,
 * read on a worker (worker.h) with O_DIRECT into buffers of their own, so
 * that the event loop neither copies them out of the page cache nor waits
 * for the device.  The first round reads the file in order, so reading the
 * next extents ahead keeps the next block ready; any other block (one sent
 * again) is read, with its extent, when asked for.
 *
 * It reads whole extents of FEED_EXTENT bytes or one block, whichever is
 * larger, not single blocks: each direct read costs the device a request,
 * and both hosts' CPUs an interrupt and a wake-up or two, so fewer and
 * larger reads spend less (with 1 MiB blocks, half the reads).
 *
 * This read feeds the datagrams only: the end-to-end check's independent
 * read (vread.h) has its own descriptor and buffers, and shares nothing
 * with it but the file.  Where the file system refuses O_DIRECT there is no
 * read ahead, and send-data.c reads each block itself.
 */
#ifndef CFT_FEED_H
#define CFT_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/worker.h"

/* Bytes an extent holds at least (as many whole blocks as fit, one at
 * least): one huge page (dio.h). */
#define FEED_EXTENT (2u * 1024 * 1024)

/* Extents held: the one being sent and those read ahead of it. */
#define FEED_DEPTH 3

enum feed_state { FEED_FREE, FEED_READING, FEED_READY, FEED_TAKEN };

struct feed;

struct feed_slot {
	struct worker_job job;
	struct feed *f;
	uint8_t *buf;			/* an extent, in feed's bufs */
	uint32_t first;			/* its first block, a multiple of per */
	uint32_t n;			/* its blocks: per, fewer at the end */
	uint32_t len;			/* its bytes */
	enum feed_state state;		/* the loop's */
	int rc, err;			/* the read's, from the worker */
};

struct feed {
	struct worker w;
	int fd;				/* the source's direct descriptor, borrowed;
					 * -1: no read ahead */
	uint64_t size;
	uint32_t block_size;
	uint32_t per;			/* blocks an extent holds */
	uint32_t nblocks;
	uint32_t next;			/* the next extent's first block */
	uint8_t *bufs;			/* the slots' buffers, from dio_alloc */
	struct feed_slot s[FEED_DEPTH];
};

/* Ready f for blocks of block_size bytes, on a thread or inline.  Returns
 * 0 or CFT_E_NOMEM; feed_free in any case. */
int feed_init(struct feed *f, uint32_t block_size, bool threads);

/* Read ahead in the file of `size` bytes open on fd (O_DIRECT; -1 for
 * none), from block 0.  Whatever an earlier file left is dropped. */
void feed_start(struct feed *f, int fd, uint64_t size);

/* Stop reading the file: wait for reads in flight (before fd closes). */
void feed_stop(struct feed *f);

/*
 * Drop every block held and read nothing more ahead: from now on each
 * block asked for is read from the device when asked.  For a later
 * end-to-end round, whose blocks are sent again because they differed:
 * the bytes held may be the very ones a bad read returned.
 */
void feed_forget(struct feed *f);

/*
 * Block b, read: returns 1 and its bytes in *buf (valid until the next
 * feed_take or feed_stop), 0 when it is being read (feed_reap says when it
 * is), or a negative enum cft_err with errno set when the read of its
 * extent failed.
 */
int feed_take(struct feed *f, uint32_t b, const uint8_t **buf);

/* Take in finished reads.  Returns true if any finished: what waited for
 * one may go on. */
bool feed_reap(struct feed *f);

void feed_free(struct feed *f);

#endif
