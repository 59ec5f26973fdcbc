/* The receiver's writes and read-back, off the event loop; see recv-disk.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cft/dio.h"
#include "cft/error.h"
#include "recv-disk.h"

static void run_write(struct worker_job *j)
{
	struct recv_disk_write *w = (struct recv_disk_write *)j;

	if (w->sl->hole)
		w->rc = store_zero(w->d->sf, w->off, w->sl->len);
	else
		w->rc = store_write(w->d->sf, w->off, w->sl->buf, w->sl->len);
	w->err = errno;
}

static void done_write(struct worker_job *j)
{
	struct recv_disk_write *w = (struct recv_disk_write *)j;

	errno = w->err;
	w->d->written(w->d->ctx, w->sl, w->rc);
}

/* Read back from rb->off up to `to`, into the digests. */
static int read_back(struct recv_disk_check *c, uint64_t to, struct worker *w)
{
	struct recv_disk *d = c->d;
	struct filesum *rb = c->rb;

	while (rb->off < to) {
		uint64_t want = to - rb->off;
		long n;

		if (worker_cancelled(w))
			return CFT_E_IO;
		if (want > CFT_READBACK_STEP)
			want = CFT_READBACK_STEP;
		n = store_read(c->sf, rb->off, d->buf, want);
		if (n < 0)
			return CFT_E_IO;
		if ((uint64_t)n < want) {
			/* Shorter on disk than written: pad with zeros so the
			 * digests differ and the blocks are sent again. */
			memset(d->buf + n, 0, want - (size_t)n);
		}
		filesum_update(rb, d->buf, (size_t)want);
		atomic_store(&c->read_back, rb->off);
	}
	return 0;
}

static void run_check(struct worker_job *j)
{
	struct recv_disk_check *c = (struct recv_disk_check *)j;
	uint64_t to = c->kind == RECV_CHECK_AHEAD ? c->to : c->rb->size;

	c->rc = 0;
	c->what = "fsync";
	/* Durable before it is read back: what is read is what the disk
	 * keeps, not what is on its way there. */
	if (c->kind == RECV_CHECK_AHEAD)
		c->rc = store_sync(c->sf);
	else if (c->kind == RECV_CHECK_FINAL)
		c->rc = store_flush(c->sf) < 0 || store_meta(c->sf, &c->held) < 0 ? CFT_E_IO : 0;
	if (c->rc == 0) {
		c->what = "read back";
		c->rc = read_back(c, to, j->w);
	}
	c->err = errno;
}

static void done_check(struct worker_job *j)
{
	struct recv_disk_check *c = (struct recv_disk_check *)j;

	c->checking = false;
	errno = c->err;
	c->d->checked(c->d->ctx, c);
}

int recv_disk_init(struct recv_disk *d, bool threads, unsigned lag,
		   void (*written)(void *ctx, struct recv_slot *sl, int rc),
		   void (*checked)(void *ctx, const struct recv_disk_check *c), void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->written = written;
	d->checked = checked;
	d->ctx = ctx;
	for (unsigned i = 0; i < RECV_WRITERS; i++)
		if (worker_start(&d->writer[i], threads, "cft-recv-write") < 0)
			return CFT_E_NOMEM;
	if (worker_start(&d->checker, threads, "cft-recv-check") < 0)
		return CFT_E_NOMEM;
	for (unsigned i = 0; i < RECV_WRITERS; i++)
		d->writer[i].lag = lag;
	d->checker.lag = lag;
	d->buf = dio_alloc(CFT_READBACK_STEP);
	return d->buf ? 0 : CFT_E_NOMEM;
}

void recv_disk_file(struct recv_disk *d, struct store_file *sf)
{
	d->sf = sf;
}

void recv_disk_write(struct recv_disk *d, unsigned slot, struct recv_slot *sl, uint64_t off)
{
	struct recv_disk_write *w = &d->w[slot];

	*w = (struct recv_disk_write){ .job = { .run = run_write, .done = done_write },
				       .d = d, .sl = sl, .off = off };
	/* Blocks alternate between the writers; the window they are in
	 * bounds how many wait. */
	worker_submit(&d->writer[sl->block % RECV_WRITERS], &w->job);
}

void recv_disk_check(struct recv_disk *d, struct recv_disk_check *c, struct store_file *sf,
		     struct filesum *rb, enum recv_check kind, uint64_t to)
{
	c->job = (struct worker_job){ .run = run_check, .done = done_check };
	c->d = d;
	c->sf = sf;
	c->rb = rb;
	c->kind = kind;
	c->to = to;
	c->rc = c->err = 0;
	c->what = NULL;
	c->checking = true;
	atomic_store(&c->read_back, rb->off);
	worker_submit(&d->checker, &c->job);
}

void recv_disk_reap(struct recv_disk *d)
{
	/* A job's callback may start another (inline, it runs at once): reap
	 * until nothing is left to hand back; lagging, what ends now is for
	 * the next reap. */
	for (;;) {
		unsigned ended = 0;

		for (unsigned i = 0; i < RECV_WRITERS; i++)
			worker_reap(&d->writer[i]);
		worker_reap(&d->checker);
		if (d->checker.lag)
			break;
		for (unsigned i = 0; i < RECV_WRITERS; i++)
			ended += atomic_load(&d->writer[i].nended);
		if (ended + atomic_load(&d->checker.nended) == 0)
			break;
	}
}

void recv_disk_drain(struct recv_disk *d)
{
	for (unsigned i = 0; i < RECV_WRITERS; i++)
		worker_drain(&d->writer[i]);
	worker_drain(&d->checker);
}

void recv_disk_free(struct recv_disk *d)
{
	for (unsigned i = 0; i < RECV_WRITERS; i++)
		worker_stop(&d->writer[i]);
	worker_stop(&d->checker);
	free(d->buf);
	d->buf = NULL;
}
