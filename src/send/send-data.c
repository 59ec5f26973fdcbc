/*
 * The sender's data phase: what sched.h chooses, read from the source and
 * sent, within the congestion window.
 */
#include <string.h>

#include "cft/digest.h"
#include "cft/proto.h"
#include "send-data.h"

/* Datagrams sent per call of the pump, so incoming STATUS is read often. */
#define PUMP_BATCH 64

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
		       uint16_t len)
{
	struct wire_msg m;

	proto_msg(&m, d->session, WIRE_DATA);
	m.u.data.seq = flow_next_seq(&d->flow);
	m.u.data.file = d->file;
	m.u.data.block = b;
	m.u.data.chunk = c;
	m.u.data.len = len;
	m.u.data.payload = p;
	proto_send(&d->out, NULL, &m);
	d->datagrams++;
}

/* Read block b afresh and send its digest; its chunks follow from buf. */
static int send_block(struct send_data *d, uint32_t b)
{
	uint32_t len = proto_block_len(d->sched.size, d->sched.block_size, b);
	struct wire_msg m;
	int rc = source_read(d->src, (uint64_t)b * d->sched.block_size, d->buf, len);

	if (rc < 0)
		return rc;
	proto_msg(&m, d->session, WIRE_BLOCK);
	m.u.block.file = d->file;
	m.u.block.block = b;
	digest_sha256(d->buf, len, m.u.block.digest);
	proto_send(&d->out, NULL, &m);
	sched_block_started(&d->sched, b);
	return 0;
}

/* Re-send one chunk the receiver reported missing, read afresh. */
static int send_repair(struct send_data *d, uint32_t b, uint16_t c, uint64_t now)
{
	uint32_t blen = proto_block_len(d->sched.size, d->sched.block_size, b);
	uint16_t len = proto_chunk_len(blen, c);
	uint64_t off = (uint64_t)b * d->sched.block_size + (uint64_t)c * CFT_CHUNK_SIZE;
	int rc = source_read(d->src, off, d->chunk, len);

	if (rc < 0)
		return rc;
	send_chunk(d, b, c, d->chunk, len);
	sched_repair_sent(&d->sched, d->flow.tx_seq, now);
	d->retransmits++;
	return 0;
}

int send_data_pump(struct send_data *d, uint64_t now)
{
	unsigned sent = 0;
	struct sched_next nx;
	int rc = 0;

	while (rc == 0 && sent < PUMP_BATCH && flow_may_send(&d->flow)) {
		sched_next(&d->sched, &nx);
		if (nx.kind == SCHED_IDLE)
			break;
		if (nx.kind == SCHED_REPAIR) {
			rc = send_repair(d, nx.block, nx.chunk, now);
			sent++;
		} else if (nx.kind == SCHED_CHUNK) {
			uint16_t len = proto_chunk_len(d->sched.pipe.len, nx.chunk);

			send_chunk(d, nx.block, nx.chunk,
				   d->buf + (size_t)nx.chunk * CFT_CHUNK_SIZE, len);
			sent++;
			/* A block's last chunk: ask where we stand (clocks the
			 * window, samples the round trip). */
			if (sched_chunk_sent(&d->sched, d->flow.tx_seq, now))
				send_data_probe(d, now);
		} else {
			/* Sent before, or found to differ at read-back. */
			if (nx.again || d->round > 0)
				d->blocks_resent++;
			rc = send_block(d, nx.block);
		}
	}
	if (rc < 0)
		return rc;
	/*
	 * Nothing more to send for now, but some of what went may be lost, and
	 * with nothing after it the receiver cannot tell.  A PROBE behind the
	 * last datagram makes its STATUS speak for all of them (a tail-loss
	 * probe), instead of waiting out the retransmission timer.
	 */
	if (sent > 0 && flow_may_send(&d->flow) && !d->sched.pipe.active)
		send_data_probe(d, now);
	return 0;
}

