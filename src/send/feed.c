/* The sender's read ahead; see feed.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cft/dio.h"
#include "cft/error.h"
#include "cft/proto.h"
#include "feed.h"

static void run(struct worker_job *j)
{
	struct feed_slot *s = (struct feed_slot *)j;
	uint64_t off = (uint64_t)s->first * s->f->block_size;
	long n = dio_read(s->f->fd, s->buf, s->len, off);

	s->rc = n < 0 ? CFT_E_IO : (uint64_t)n < s->len ? CFT_E_CHANGED : 0;
	s->err = errno;
}

static void done(struct worker_job *j)
{
	struct feed_slot *s = (struct feed_slot *)j;

	s->state = FEED_READY;
}

int feed_init(struct feed *f, uint32_t block_size, bool threads)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->block_size = block_size;
	f->per = block_size < FEED_EXTENT ? FEED_EXTENT / block_size : 1;
	if (worker_start(&f->w, threads, "cft-send-feed") < 0)
		return CFT_E_NOMEM;
	/* The slots in one buffer, so that it is large enough for huge
	 * pages (dio.h). */
	f->bufs = dio_alloc((size_t)FEED_DEPTH * f->per * block_size);
	if (!f->bufs)
		return CFT_E_NOMEM;
	for (unsigned i = 0; i < FEED_DEPTH; i++)
		f->s[i] = (struct feed_slot){ .job = { .run = run, .done = done }, .f = f,
					      .buf = f->bufs + (size_t)i * f->per * block_size };
	return 0;
}

/* Read the extent whose first block is `first` into slot s. */
static void read_into(struct feed *f, struct feed_slot *s, uint32_t first)
{
	uint64_t off = (uint64_t)first * f->block_size;

	s->first = first;
	s->n = f->nblocks - first < f->per ? f->nblocks - first : f->per;
	s->len = (uint32_t)(f->size - off < (uint64_t)s->n * f->block_size ?
			    f->size - off : (uint64_t)s->n * f->block_size);
	s->state = FEED_READING;
	worker_submit(&f->w, &s->job);
}

/* A slot to read into: a free one, else one read ahead furthest. */
static struct feed_slot *room(struct feed *f)
{
	struct feed_slot *far = NULL;

	for (unsigned i = 0; i < FEED_DEPTH; i++) {
		struct feed_slot *s = &f->s[i];

		if (s->state == FEED_FREE)
			return s;
		if (s->state == FEED_READY && (!far || s->first > far->first))
			far = s;
	}
	return far;
}

/* Keep the blocks after the last one asked for coming. */
static void read_ahead(struct feed *f)
{
	for (unsigned i = 0; i < FEED_DEPTH && f->next < f->nblocks; i++) {
		struct feed_slot *s = &f->s[i];

		if (s->state == FEED_FREE) {
			read_into(f, s, f->next);
			f->next += s->n;
		}
	}
}

void feed_start(struct feed *f, int fd, uint64_t size)
{
	feed_stop(f);
	f->fd = fd;
	f->size = size;
	f->nblocks = (uint32_t)proto_blocks(size, f->block_size);
	f->next = 0;
	if (fd >= 0)
		read_ahead(f);
}

void feed_forget(struct feed *f)
{
	worker_drain(&f->w);
	for (unsigned i = 0; i < FEED_DEPTH; i++)
		f->s[i].state = FEED_FREE;
	f->next = f->nblocks;
}

void feed_stop(struct feed *f)
{
	feed_forget(f);
	f->fd = -1;
}

bool feed_reap(struct feed *f)
{
	unsigned before = worker_pending(&f->w);

	worker_reap(&f->w);
	return worker_pending(&f->w) < before;
}

int feed_take(struct feed *f, uint32_t b, const uint8_t **buf)
{
	uint32_t first = b / f->per * f->per;
	struct feed_slot *got = NULL, *s;

	feed_reap(f);
	for (unsigned i = 0; i < FEED_DEPTH; i++) {
		s = &f->s[i];
		if (s->state != FEED_FREE && s->first == first)
			got = s;
		else if (s->state == FEED_TAKEN || (s->state == FEED_READY && s->first < first))
			s->state = FEED_FREE;	/* sent, or passed over */
	}
	if (!got) {
		/* Not read ahead (a block sent again): read it now. */
		s = room(f);
		if (s)
			read_into(f, s, first);
		feed_reap(f);	/* inline, it is read already */
		return s && s->state == FEED_READY ? feed_take(f, b, buf) : 0;
	}
	if (got->state == FEED_READING)
		return 0;
	if (got->rc < 0) {
		got->state = FEED_FREE;
		errno = got->err;
		return got->rc;
	}
	got->state = FEED_TAKEN;
	*buf = got->buf + (size_t)(b - first) * f->block_size;
	if (first + got->n > f->next)
		f->next = first + got->n;
	read_ahead(f);
	return 1;
}

void feed_free(struct feed *f)
{
	worker_stop(&f->w);
	free(f->bufs);
	f->bufs = NULL;
	for (unsigned i = 0; i < FEED_DEPTH; i++)
		f->s[i].buf = NULL;
}
