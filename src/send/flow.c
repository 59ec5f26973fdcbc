/* Round trips, the retransmission timer, and the counts the path model
 * learns from. */
#include <string.h>

#include "cft/limits.h"
#include "flow.h"

void flow_init(struct flow *f, double limit)
{
	memset(f, 0, sizeof(*f));
	f->rto = CFT_RTO_INIT_US;
	cc_init(&f->cc, limit);
}

static uint64_t bound(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void flow_sample(struct flow *f, uint64_t r)
{
	if (!f->sampled) {
		f->srtt = r;
		f->rttvar = r / 2;
		f->sampled = true;
	} else {
		uint64_t err = f->srtt > r ? f->srtt - r : r - f->srtt;

		/* RTTVAR first: it uses the SRTT before this sample. */
		f->rttvar = f->rttvar - (f->rttvar >> CFT_RTTVAR_GAIN_SHIFT) +
			    (err >> CFT_RTTVAR_GAIN_SHIFT);
		f->srtt = f->srtt - (f->srtt >> CFT_RTT_GAIN_SHIFT) + (r >> CFT_RTT_GAIN_SHIFT);
	}
	/* A fresh measurement replaces a backed-off guess (RFC 6298, 2.3). */
	f->rto = flow_rto_base(f);
}

uint64_t flow_rto_base(const struct flow *f)
{
	uint64_t var = CFT_RTO_K * f->rttvar;

	if (!f->sampled)
		return CFT_RTO_INIT_US;
	return bound(f->srtt + (var > CFT_RTO_GRANULARITY_US ? var : CFT_RTO_GRANULARITY_US),
		     CFT_RTO_MIN_US, CFT_RTO_MAX_US);
}

void flow_arm(struct flow *f, uint64_t now)
{
	f->t_retx = now + f->rto;
}

void flow_heard(struct flow *f, uint64_t now)
{
	f->backoffs = 0;
	f->rto = flow_rto_base(f);
	flow_arm(f, now);
}

void flow_backoff(struct flow *f, uint64_t now)
{
	f->backoffs++;
	f->rto = f->rto * 2 > CFT_RTO_MAX_US ? CFT_RTO_MAX_US : f->rto * 2;
	flow_arm(f, now);
}

uint64_t flow_probe_wait(const struct flow *f)
{
	uint64_t w = f->sampled ? 2 * f->srtt : 0;

	return w < CFT_PROBE_EARLY_US ? CFT_PROBE_EARLY_US : w;
}

uint64_t flow_probe(struct flow *f, uint64_t now)
{
	uint64_t id = ++f->probe_id;

	f->probes[id % FLOW_PROBES_KEPT].id = id;
	f->probes[id % FLOW_PROBES_KEPT].at = now;
	f->probes[id % FLOW_PROBES_KEPT].seq = f->tx_seq;
	f->probes[id % FLOW_PROBES_KEPT].answered = false;
	return id;
}

bool flow_echo(struct flow *f, uint64_t echo, uint64_t now, uint32_t *seq)
{
	unsigned i = (unsigned)(echo % FLOW_PROBES_KEPT);

	if (echo == 0 || f->probes[i].id != echo)
		return false;	/* none, or too old to remember */
	/* A duplicated STATUS would give a second, late sample. */
	if (!f->probes[i].answered && now >= f->probes[i].at)
		flow_sample(f, now - f->probes[i].at);
	f->probes[i].answered = true;
	*seq = f->probes[i].seq;
	return true;
}

bool flow_answers(const struct flow *f, uint64_t echo, uint64_t since)
{
	return echo != 0 && echo >= since && f->probes[echo % FLOW_PROBES_KEPT].id == echo;
}

void flow_on_counts(struct flow *f, uint64_t now, uint32_t rx_seq, uint32_t rx_count)
{
	uint32_t dseq = rx_seq - f->st_seq;
	uint32_t dcnt = rx_count - f->st_count;
	bool loss;

	if ((int32_t)dseq <= 0)
		return;		/* nothing new, or an older STATUS */
	if ((int32_t)(rx_seq - f->tx_seq) > 0)
		return;		/* seen what we never sent: a damaged report */
	/* Fewer arrived than were sent in between: some were lost. */
	loss = dcnt < dseq;
	f->losses += loss;
	f->st_seq = rx_seq;
	f->st_count = rx_count;
	if ((int32_t)(rx_seq - f->ack_seq) > 0)
		f->ack_seq = rx_seq;
	cc_on_ack(&f->cc, now, rx_seq, rx_count, f->tx_seq, loss);
}

void flow_on_timeout(struct flow *f)
{
	f->ack_seq = f->tx_seq;
	cc_on_timeout(&f->cc, f->tx_seq);
}

void flow_new_peer(struct flow *f)
{
	f->ack_seq = f->st_seq = f->tx_seq;
	f->st_count = 0;
	cc_new_peer(&f->cc, f->tx_seq);
}
