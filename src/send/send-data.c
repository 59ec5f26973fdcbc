/*
 * The sender's data phase: what sched.h chooses, read from the source and
 * sent, within the congestion window.  Each block's chunk leaves and root
 * are computed from the bytes read, once, and kept while it is in flight:
 * its DATA carry them, a chunk read again must match them, and a receiver
 * whose block failed its root gets them as a list.
 */
#include <stdlib.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/proto.h"
#include "cft/squash.h"
#include "send-data.h"

/* Datagrams sent per call of the pump, so incoming STATUS is read often. */
#define PUMP_BATCH 64

int send_data_init(struct send_data *d, uint32_t block_size, bool threads)
{
	/* Room for the smallest chunks: a session may have any size. */
	d->max_chunks = wire_chunks(block_size, CFT_CHUNK_SIZE);
	d->own = malloc(block_size);
	d->cds = malloc((size_t)CFT_WINDOW_BLOCKS_MAX * d->max_chunks * WIRE_LEAF_LEN);
	if (feed_init(&d->feed, block_size, threads) < 0)
		return CFT_E_NOMEM;
	return d->own && d->cds ? 0 : CFT_E_NOMEM;
}

void send_data_free(struct send_data *d)
{
	squash_free(d->squash);
	d->squash = NULL;
	feed_free(&d->feed);
	free(d->own);
	free(d->cds);
	d->own = d->cds = NULL;
	d->buf = NULL;
}

/* The leaf of chunk c of the block in slot, as listed. */
static uint8_t *cd(const struct send_data *d, unsigned slot, uint32_t c)
{
	return d->cds + ((size_t)slot * d->max_chunks + c) * WIRE_LEAF_LEN;
}

void send_data_probe(struct send_data *d, uint64_t now)
{
	struct wire_msg m;

	proto_msg(&m, d->session, WIRE_PROBE);
	m.u.probe.file = d->file;
	m.u.probe.echo = flow_probe(&d->flow, now);
	proto_send(&d->out, NULL, &m);
	d->probes++;
}

static void send_chunk(struct send_data *d, uint32_t b, uint16_t c, const uint8_t *p,
		       uint16_t len, uint32_t leaf)
{
	uint8_t z[WIRE_ZDATA_PAYLOAD_MAX];
	struct wire_msg m;
	/* Compressed only if that pays for the tag a ZDATA carries. */
	size_t zlen = d->squash && len > WIRE_TAG_LEN ?
		squash_chunk(d->squash, p, len, z, wire_zdata_max(d->sched.chunk_size),
			     len - WIRE_TAG_LEN) : 0;

	proto_msg(&m, d->session, zlen ? WIRE_ZDATA : WIRE_DATA);
	if (zlen) {
		d->squashed += len;
		d->squash_saved += len - zlen;
		len = (uint16_t)zlen;
		p = z;
	}
	m.u.data.seq = flow_next_seq(&d->flow, d->now);
	m.u.data.file = d->file;
	m.u.data.block = b;
	m.u.data.chunk = c;
	m.u.data.len = len;
	m.u.data.leaf = leaf;
	m.u.data.check = wire_data_check(&m.u.data);
	m.u.data.payload = p;
	proto_send(&d->out, NULL, &m);
	d->datagrams++;
}

static void send_root(struct send_data *d, uint32_t b, unsigned slot)
{
	struct wire_msg m;

	proto_msg(&m, d->session, WIRE_BLOCK);
	m.u.block.file = d->file;
	m.u.block.block = b;
	memcpy(m.u.block.root, d->roots[slot], CFT_DIGEST_LEN);
	proto_send(&d->out, NULL, &m);
}

/* The chunk leaves of block b, in CHUNKSUMS pieces, after its root. */
static void send_chunksums(struct send_data *d, uint32_t b, unsigned slot)
{
	uint32_t n = wire_chunks(proto_block_len(d->sched.size, d->sched.block_size, b),
				 d->sched.chunk_size);
	struct wire_msg m;

	send_root(d, b, slot);
	for (uint32_t first = 0; first < n; first += CFT_CHUNKSUMS_PER_DATAGRAM) {
		proto_msg(&m, d->session, WIRE_CHUNKSUMS);
		m.u.chunksums.file = d->file;
		m.u.chunksums.block = b;
		m.u.chunksums.first = (uint16_t)first;
		m.u.chunksums.count = (uint16_t)(n - first < CFT_CHUNKSUMS_PER_DATAGRAM ?
						 n - first : CFT_CHUNKSUMS_PER_DATAGRAM);
		m.u.chunksums.leaves = cd(d, slot, first);
		proto_send(&d->out, NULL, &m);
		d->chunksums++;
	}
}

/* Block b as read: from the read ahead, or here.  Returns 0, DISK_WAIT
 * (being read: the pump stops until it is), or a source error. */
#define DISK_WAIT 1

static int read_block(struct send_data *d, uint32_t b, uint32_t len, bool fresh)
{
	int rc;

	if (!d->src)
		return CFT_E_IO;
	if (d->feed.fd >= 0 && !fresh) {
		rc = feed_take(&d->feed, b, &d->buf);
		if (rc == 0)
			d->disk_wait = true;
		return rc == 0 ? DISK_WAIT : rc < 0 ? rc : 0;
	}
	d->buf = d->own;
	return source_read(d->src, (uint64_t)b * d->sched.block_size, d->own, len);
}

/* A block of zeros where the file has a hole: it goes as one HOLE, and the
 * receiver leaves a hole.  The bytes read must be zeros too (the file
 * system said hole; what was read decides). */
static bool is_hole(const struct send_data *d, uint32_t b, uint32_t len)
{
	if (!source_hole(d->src, (uint64_t)b * d->sched.block_size, len))
		return false;
	for (uint32_t i = 0; i < len; i++)
		if (d->buf[i])
			return false;
	return true;
}

static void send_hole(struct send_data *d, uint32_t b, uint32_t len, uint64_t now)
{
	struct wire_msg m;

	proto_msg(&m, d->session, WIRE_HOLE);
	m.u.hole.file = d->file;
	m.u.hole.block = b;
	proto_send(&d->out, NULL, &m);
	sched_block_started(&d->sched, b);
	/* A HOLE has no sequence number: a report is news of it only once it
	 * has seen a DATA sent after it (or on a timeout). */
	sched_pipe_done(&d->sched, d->flow.tx_seq + 1, now);
	d->hole_bytes += len;
	send_data_probe(d, now);	/* as after a block's last chunk */
}

/* Read block b afresh (from the disk itself if `fresh`), take its chunks'
 * leaves and send its root; its chunks follow from buf.  A hole goes as
 * such. */
static int send_block(struct send_data *d, uint32_t b, bool fresh, uint64_t now)
{
	uint32_t len = proto_block_len(d->sched.size, d->sched.block_size, b);
	uint32_t chunk = d->sched.chunk_size, n = wire_chunks(len, chunk);
	int rc = read_block(d, b, len, fresh);
	unsigned slot;

	if (rc != 0)
		return rc;
	if (is_hole(d, b, len)) {
		send_hole(d, b, len, now);
		return 0;
	}
	slot = sched_block_started(&d->sched, b);
	for (uint32_t c = 0; c < n; c++)
		wire_leaf_store(cd(d, slot, c), wire_leaf(d->buf + (size_t)c * chunk,
							  proto_chunk_len(len, c, chunk)));
	proto_block_root(cd(d, slot, 0), n, d->roots[slot]);
	send_root(d, b, slot);
	return 0;
}

/*
 * Re-send one chunk the receiver reported missing, read afresh: it must
 * still be what the block's leaves and root were taken from.  When it is
 * not, the two reads disagree, and nothing here tells which was bad: the
 * one the block went from (the read ahead may still hold it), this one, or
 * neither (the file changed; the time checked at the commit says so).  The
 * block is read again from the disk and sent whole, within a budget.
 */
static int send_repair(struct send_data *d, const struct sched_next *nx, uint64_t now)
{
	uint32_t blen = proto_block_len(d->sched.size, d->sched.block_size, nx->block);
	uint16_t len = proto_chunk_len(blen, nx->chunk, d->sched.chunk_size);
	uint64_t off = (uint64_t)nx->block * d->sched.block_size +
		       (uint64_t)nx->chunk * d->sched.chunk_size;
	uint32_t leaf;
	int rc = source_read(d->src, off, d->chunk, len);

	if (rc < 0)
		return rc;
	leaf = wire_leaf(d->chunk, len);
	if (leaf != wire_leaf_load(cd(d, nx->slot, nx->chunk))) {
		d->rereads++;
		return sched_reread(&d->sched, nx->block) ? 0 : CFT_E_CHANGED;
	}
	send_chunk(d, nx->block, nx->chunk, d->chunk, len, leaf);
	sched_repair_sent(&d->sched, d->flow.tx_seq, now);
	d->retransmits++;
	return 0;
}

/* Send one thing sched_next chose; returns 0 or a source error. */
static int send_next(struct send_data *d, const struct sched_next *nx, uint64_t now)
{
	switch (nx->kind) {
	case SCHED_REPAIR:
		return send_repair(d, nx, now);
	case SCHED_CHUNK: {
		uint16_t len = proto_chunk_len(d->sched.pipe.len, nx->chunk, d->sched.chunk_size);

		send_chunk(d, nx->block, nx->chunk, d->buf + (size_t)nx->chunk * d->sched.chunk_size,
			   len, wire_leaf_load(cd(d, nx->slot, nx->chunk)));
		/* A block's last chunk: ask where we stand (clocks the window,
		 * samples the round trip). */
		if (sched_chunk_sent(&d->sched, d->flow.tx_seq, now))
			send_data_probe(d, now);
		return 0;
	}
	case SCHED_ROOT:
	case SCHED_SUMS:
		if (nx->kind == SCHED_SUMS)
			send_chunksums(d, nx->block, nx->slot);
		else
			send_root(d, nx->block, nx->slot);
		sched_whole_sent(&d->sched, d->flow.tx_seq, now);
		return 0;
	default: {
		int rc = send_block(d, nx->block, nx->fresh, now);

		/* Sent before, or found to differ at read-back. */
		if (rc == 0 && (nx->again || d->round > 0))
			d->blocks_resent++;
		return rc;
	}
	}
}

int send_data_pump(struct send_data *d, uint64_t now)
{
	unsigned sent = 0;
	struct sched_next nx;
	bool idle = false;
	int rc = 0;

	d->disk_wait = false;
	d->now = now;
	while (rc == 0 && sent < PUMP_BATCH && flow_may_send(&d->flow, now)) {
		sched_next(&d->sched, &nx);
		if (nx.kind == SCHED_WAIT) {
			idle = true;
			break;
		}
		rc = send_next(d, &nx, now);
		if (rc == DISK_WAIT)
			break;
		sent++;
	}
	if (rc < 0)
		return rc;
	/* The path could take more than the sender had: its rate samples
	 * measure the sender. */
	if (idle || rc == DISK_WAIT)
		cc_app_limited(&d->flow.cc, d->flow.tx_seq);
	/*
	 * Nothing more to send for now, but some of what went may be lost, and
	 * with nothing after it the receiver cannot tell.  A PROBE behind the
	 * last datagram makes its STATUS speak for all of them (a tail-loss
	 * probe), instead of waiting out the retransmission timer.
	 */
	if (sent > 0 && idle && !d->sched.pipe.active)
		send_data_probe(d, now);
	return 0;
}
