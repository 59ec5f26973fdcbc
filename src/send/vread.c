/* The sender's independent read, off the event loop; see vread.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cft/dio.h"
#include "cft/error.h"
#include "cft/limits.h"
#include "vread.h"

static void run(struct worker_job *j)
{
	struct vread *v = (struct vread *)j;

	v->rc = 0;
	if (!v->cur.direct) {
		/* Drop the pages the feeding read left in memory (advisory),
		 * so that what follows asks the disk. */
		(void)posix_fadvise(v->cur.fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	while (v->rc == 0 && !filesum_done(&v->sum)) {
		if (atomic_load(&v->abandon) || worker_cancelled(j->w))
			break;
		v->rc = source_read_step(v->cur.fd, v->cur.direct, &v->sum, v->buf);
	}
	v->err = errno;	/* the worker's own: the loop's thread reads it from here */
}

static void submit(struct vread *v)
{
	v->cur = v->next;
	v->queued = false;
	v->valid = false;
	atomic_store(&v->abandon, false);
	if (filesum_start(&v->sum, v->cur.size, v->cur.block_size, v->cur.blocks) < 0) {
		/* Only a larger table of block digests can fail: report it
		 * as the read's failure. */
		v->rc = CFT_E_NOMEM;
		v->err = ENOMEM;
		v->valid = true;
		close(v->cur.fd);
		v->done(v->ctx);
		return;
	}
	v->running = true;
	worker_submit(v->w, &v->job);
}

static void done(struct worker_job *j)
{
	struct vread *v = (struct vread *)j;
	bool used = !atomic_load(&v->abandon);

	close(v->cur.fd);
	v->running = false;
	if (v->queued) {
		submit(v);
		return;
	}
	if (used) {
		v->valid = true;
		v->done(v->ctx);
	}
}

int vread_init(struct vread *v, struct worker *w, void (*cb)(void *ctx), void *ctx)
{
	memset(v, 0, sizeof(*v));
	v->job.run = run;
	v->job.done = done;
	v->w = w;
	v->done = cb;
	v->ctx = ctx;
	v->buf = dio_alloc(CFT_READBACK_STEP);
	if (!v->buf || filesum_init(&v->sum) < 0)
		return CFT_E_NOMEM;
	return 0;
}

int vread_start(struct vread *v, const struct source *src, uint32_t block_size, bool blocks)
{
	int fd = fcntl(src->vfd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return CFT_E_IO;
	if (v->queued)
		close(v->next.fd);
	v->next = (struct vread_ask){ fd, src->direct != 0, src->size, block_size, blocks };
	v->queued = true;
	v->valid = false;
	if (v->running)
		atomic_store(&v->abandon, true);
	else
		submit(v);
	return 0;
}

void vread_cancel(struct vread *v)
{
	if (v->queued)
		close(v->next.fd);
	v->queued = false;
	v->valid = false;
	if (v->running)
		atomic_store(&v->abandon, true);
}

void vread_free(struct vread *v)
{
	if (v->queued)
		close(v->next.fd);
	if (v->running)
		close(v->cur.fd);	/* stopped, never reaped */
	v->queued = v->running = false;
	free(v->buf);
	v->buf = NULL;
	filesum_free(&v->sum);
}
