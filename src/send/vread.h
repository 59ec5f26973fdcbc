/*
 * The sender's independent read, as a worker job (worker.h): the source
 * read a second time, through a descriptor of its own, into the digests the
 * end-to-end check compares with the receiver's.
 *
 * Where the file system reads the device directly (O_DIRECT), this read
 * shares no page with the one that feeds the network, so it runs beside
 * the data phase from the moment the file is offered.  Where it does not,
 * it runs after the data phase, once the pages the feeding read left in
 * memory are dropped, as it must to ask the disk.
 */
#ifndef CFT_VREAD_H
#define CFT_VREAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cft/filesum.h"
#include "cft/worker.h"
#include "source.h"

/* What one read is to cover. */
struct vread_ask {
	int fd;				/* a duplicate of the source's vfd */
	bool direct;			/* fd reads the device (O_DIRECT) */
	uint64_t size;
	uint32_t block_size;
	bool blocks;			/* block digests too */
};

struct vread {
	struct worker_job job;
	/* the job's while it runs */
	struct vread_ask cur;
	uint8_t *buf;			/* CFT_READBACK_STEP, from dio_alloc */
	struct filesum sum;
	int rc;				/* 0, CFT_E_IO, CFT_E_CHANGED, CFT_E_NOMEM */
	int err;			/* errno of a CFT_E_IO, from the worker */
	atomic_bool abandon;		/* its result will not be used: stop */
	/* the loop's */
	bool running;			/* submitted, not yet reaped */
	bool valid;			/* sum and rc are those of the last read asked */
	bool queued;			/* `next` waits for the running one to end */
	struct vread_ask next;
	struct worker *w;
	void (*done)(void *ctx);	/* a read asked for has finished */
	void *ctx;
};

/* Ready v; done(ctx) is called from worker_reap when a read has finished
 * (v->valid is then set, v->rc is its result).  Returns 0 or CFT_E_NOMEM;
 * vread_free in any case. */
int vread_init(struct vread *v, struct worker *w, void (*done)(void *ctx), void *ctx);

/*
 * Read src afresh into v->sum: the whole file's digest, and the digest of
 * each block of block_size bytes if `blocks`.  A read still running for an
 * earlier request is abandoned, and this one starts when it ends.  Returns
 * 0, or CFT_E_IO (errno: the descriptor could not be duplicated).
 */
int vread_start(struct vread *v, const struct source *src, uint32_t block_size, bool blocks);

/* Forget the reads asked for: none will be reported. */
void vread_cancel(struct vread *v);

/* After worker_stop of its worker. */
void vread_free(struct vread *v);

#endif
