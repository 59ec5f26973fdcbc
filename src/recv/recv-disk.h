/*
 * A receiver session's disk work, off the event loop (worker.h), so that
 * the network, the writes and the read-back overlap instead of following
 * one another.
 *
 * One worker writes each block that passed its root, from its slot's
 * buffer (O_DIRECT where the file system allows: no copy into the page
 * cache); the slot stays taken until the write is done, so the window the
 * sender sees covers the blocks on their way to the disk too, and a slow
 * disk slows the sender rather than filling memory.
 *
 * The other worker checks.  While later blocks still arrive it makes what
 * is written so far durable (fdatasync) and only then reads it back, from
 * the device, into the file's digest: range after range, in order, each
 * read only once the data is durable (RECV_CHECK_AHEAD).  When every block
 * is written it gives the file its mode and time, fsyncs it and reads the
 * rest (RECV_CHECK_FINAL); the digest reported is then that of every byte
 * read back after it was durable.  RECV_CHECK_REHASH reads the whole file
 * again for block digests.
 *
 * The session decides what runs when; everything a job touches (the
 * store_file, the slot, the file's filesum) is left alone by the loop's
 * thread until the job is reaped.  Writes are always for the file in
 * progress; a check names its own file, and each file has its own check
 * (a file whose data is all written may be checked while the next one
 * arrives: recv-session.c).  The checks run one after another, in the
 * order asked, on one worker.
 */
#ifndef CFT_RECV_DISK_H
#define CFT_RECV_DISK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cft/filesum.h"
#include "cft/limits.h"
#include "cft/worker.h"
#include "recv-blocks.h"
#include "store.h"

struct recv_disk;

struct recv_disk_write {
	struct worker_job job;
	struct recv_disk *d;
	struct recv_slot *sl;
	uint64_t off;
	int rc, err;
};

enum recv_check {
	RECV_CHECK_AHEAD,		/* durable, then read back up to `to` */
	RECV_CHECK_FINAL,		/* mode and time, fsync, read back the rest */
	RECV_CHECK_REHASH,		/* read back from 0 (block digests) */
};

struct recv_disk_check {
	struct worker_job job;
	struct recv_disk *d;
	struct store_file *sf;		/* the file checked, and its digests */
	struct filesum *rb;
	bool checking;			/* asked, not yet reaped */
	atomic_uint_fast64_t read_back;	/* bytes fed to rb: progress for STATUS */
	enum recv_check kind;
	uint64_t to;
	int rc, err;
	const char *what;		/* the step that failed */
	struct store_meta held;		/* FINAL: what the file holds after fsync */
};

/* Writers: a direct write waits for the device, so one at a time leaves it
 * idle between them; two keep a write queued while one completes. */
#define RECV_WRITERS 2

struct recv_disk {
	struct worker writer[RECV_WRITERS], checker;
	struct store_file *sf;		/* the file in progress, borrowed */
	uint8_t *buf;			/* CFT_READBACK_STEP, the checker's */
	struct recv_disk_write w[CFT_WINDOW_BLOCKS_MAX];
	/* the session's, called from recv_disk_reap */
	void (*written)(void *ctx, struct recv_slot *sl, int rc);
	void (*checked)(void *ctx, const struct recv_disk_check *c);
	void *ctx;
};

/* Ready d, with threads or inline (worker.h; lagging, for tests).  Returns
 * 0 or CFT_E_NOMEM; recv_disk_free in any case. */
int recv_disk_init(struct recv_disk *d, bool threads, unsigned lag,
		   void (*written)(void *ctx, struct recv_slot *sl, int rc),
		   void (*checked)(void *ctx, const struct recv_disk_check *c), void *ctx);

/* The file the writes that follow are for. */
void recv_disk_file(struct recv_disk *d, struct store_file *sf);

/* Write the whole, checked block in slot `slot` (of sl) at off. */
void recv_disk_write(struct recv_disk *d, unsigned slot, struct recv_slot *sl, uint64_t off);

/* Start check c of file sf into rb (c must not be running); `to` for
 * RECV_CHECK_AHEAD.  c stays the caller's until it is reaped. */
void recv_disk_check(struct recv_disk *d, struct recv_disk_check *c, struct store_file *sf,
		     struct filesum *rb, enum recv_check kind, uint64_t to);

/* Hand finished jobs back: written() and checked(). */
void recv_disk_reap(struct recv_disk *d);

/* Wait for every job to end and forget them (no callback): before the
 * file is closed, kept or removed.  A check forgotten keeps `checking`:
 * its owner asks it again if the file stays. */
void recv_disk_drain(struct recv_disk *d);

/* Jobs not yet reaped? */
static inline bool recv_disk_busy(const struct recv_disk *d)
{
	for (unsigned i = 0; i < RECV_WRITERS; i++)
		if (worker_pending(&d->writer[i]) > 0)
			return true;
	return worker_pending(&d->checker) > 0;
}

void recv_disk_free(struct recv_disk *d);

#endif
