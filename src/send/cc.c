/* The pace of DATA and the cap on what is in flight; see cc.h. */
#include <string.h>

#include "cc.h"

/* PROBE_BW's eight phases: probe, drain what the probe queued, cruise. */
static const double cycle_gain[8] = {
	CFT_CC_PROBE_GAIN, 2.0 - CFT_CC_PROBE_GAIN, 1, 1, 1, 1, 1, 1,
};

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The path's round trip, once measured. */
static uint64_t rtt_min(const struct cc *cc)
{
	return cc->min_rtt ? cc->min_rtt : CFT_CC_RTT_GUESS_US;
}

/* The round trip a window must fill: with the queue that is there. */
static uint64_t rtt_now(const struct cc *cc)
{
	return max_u64(rtt_min(cc), cc->rtt_avg);
}

/*
 * A count of datagrams the constants give for the default size, in this
 * session's datagrams: the same bytes (a queue holds bytes, not datagrams),
 * but never fewer than `floor`.
 */
static double units(const struct cc *cc, double n, double floor)
{
	n /= cc->unit;
	return n < floor ? floor : n;
}

static uint32_t clamp_cwnd(const struct cc *cc, double w)
{
	double lo = units(cc, CFT_CWND_MIN, CC_CWND_FLOOR);

	return w < lo ? (uint32_t)lo : w > CFT_CWND_MAX ? CFT_CWND_MAX : (uint32_t)w;
}

/* Pace and cap from the state. */
static void set_pace(struct cc *cc)
{
	/* Before any rate is measured: the first window over a part of the
	 * round trip (the guess, or the handshake's), fast enough that a
	 * bottleneck spreads it out, which its reports then show
	 * (startup_spread), yet not one burst into a short queue. */
	double spread = (double)max_u64(rtt_min(cc) / CFT_CC_FIRST_SPREAD, CFT_CC_BURST_US);
	double init = units(cc, CFT_CWND_INIT, CC_CWND_FLOOR);
	double bw = cc->bw > 0 ? cc->bw : init * 1e6 / spread / CFT_CC_STARTUP_GAIN;
	double floor_rate = units(cc, CFT_CWND_MIN, CC_CWND_FLOOR) * 1e6 / (double)rtt_now(cc);

	if (cc->state == CC_SHARE) {
		/* The window limits; the pace only spreads it over the round
		 * trip, a little faster so that it is never what limits. */
		cc->cwnd = clamp_cwnd(cc, cc->window);
		cc->pace = CFT_CC_PROBE_GAIN * cc->window * 1e6 / (double)rtt_now(cc);
	} else if (cc->state == CC_STARTUP) {
		/* Not the smoothed round trip: STARTUP's own queue would raise
		 * the cap it is meant to stop at. */
		cc->cwnd = cc->bw > 0 ? clamp_cwnd(cc, CFT_CC_STARTUP_GAIN * bw * (double)rtt_min(cc) / 1e6)
				      : (uint32_t)init;
		cc->pace = cc->gain * bw;
	} else {
		cc->cwnd = clamp_cwnd(cc, CFT_CC_CWND_GAIN * bw * (double)rtt_now(cc) / 1e6);
		cc->pace = cc->gain * bw;
	}
	if (cc->pace < floor_rate)
		cc->pace = floor_rate;
	if (cc->limit > 0 && cc->pace > cc->limit)
		cc->pace = cc->limit;
}

void cc_init(struct cc *cc, double limit)
{
	memset(cc, 0, sizeof(*cc));
	cc->state = CC_STARTUP;
	cc->gain = CFT_CC_STARTUP_GAIN;
	cc->limit = limit;
	cc->unit = 1;
	set_pace(cc);
}

void cc_set_datagram(struct cc *cc, size_t bytes, double limit)
{
	cc->unit = bytes > CFT_DATAGRAM_MAX ? (double)bytes / CFT_DATAGRAM_MAX : 1;
	cc->limit = limit;
	set_pace(cc);
}

void cc_on_send(struct cc *cc, uint32_t seq, uint64_t now)
{
	struct cc_sent *s = &cc->sent[seq % CC_SENT_KEPT];
	double burst = units(cc, CFT_CC_BURST_MIN, 1) * 1e6 / cc->pace;
	uint64_t behind = max_u64(CFT_CC_BURST_US, (uint64_t)burst);
	uint64_t base = cc->next_at + behind < now ? now - behind : cc->next_at;

	/* Behind the pace (the sender was idle or slow): a short burst to
	 * catch up, no more; none before the first datagram, so that the
	 * first flight goes at its pace, not at once. */
	if (!cc->next_at)
		base = now;

	/* The first flight's rate counts from its first datagram, so that
	 * its acknowledgements already measure the path. */
	if (!cc->delivered_at)
		cc->delivered_at = now;
	*s = (struct cc_sent){ now, cc->delivered_at, cc->acked_sent_at, cc->delivered, seq };
	cc->next_at = base + (uint64_t)(1e6 / cc->pace);
}

/* The bandwidth: the largest sample of the last CFT_CC_BW_ROUNDS rounds
 * that had one (rounds without any keep the estimate as it was). */
static void bw_sample(struct cc *cc, double rate)
{
	unsigned i = (unsigned)(cc->round % CFT_CC_BW_ROUNDS);

	if (cc->bw_tag[i] != cc->round + 1) {
		cc->bw_round[i] = rate;		/* the first of this round */
		cc->bw_tag[i] = cc->round + 1;
	} else if (rate > cc->bw_round[i]) {
		cc->bw_round[i] = rate;
	}
	cc->bw = 0;
	for (i = 0; i < CFT_CC_BW_ROUNDS; i++)
		if (cc->bw_tag[i] + CFT_CC_BW_ROUNDS > cc->round + 1 && cc->bw_round[i] > cc->bw)
			cc->bw = cc->bw_round[i];
}

static void rtt_sample(struct cc *cc, uint64_t now, uint64_t rtt)
{
	if (!cc->min_rtt || rtt <= cc->min_rtt || now - cc->min_rtt_at > CFT_CC_MIN_RTT_WINDOW_US) {
		cc->min_rtt = rtt ? rtt : 1;
		cc->min_rtt_at = now;
	}
	if (!cc->rtt_round || rtt < cc->rtt_round)
		cc->rtt_round = rtt;
	cc->rtt_avg = cc->rtt_avg ? cc->rtt_avg - cc->rtt_avg / 8 + rtt / 8 : rtt;
}

/* Is there a queue behind the round trips of this round (or the last)? */
static bool queued(const struct cc *cc)
{
	uint64_t rtt = cc->rtt_round ? cc->rtt_round : cc->rtt_last;
	uint64_t margin = max_u64(CFT_CC_QUEUE_US, cc->min_rtt / 16);

	return cc->min_rtt && rtt > cc->min_rtt + margin;
}

/* The share of datagrams lost this round (counts from one STATUS to the
 * next: a datagram counted late after reordering evens out). */
static void count_loss(struct cc *cc, uint32_t seq, uint32_t count)
{
	uint32_t sent = seq - cc->acked, got = count - cc->delivered;

	if (!cc->delivered_at || (int32_t)got < 0)
		return;		/* a new peer's counts, or reordered */
	cc->round_sent += sent;
	cc->round_lost += got < sent ? sent - got : 0;
}

/* A round trip ended with `queue` or not. */
static void round_loss(struct cc *cc, bool queue)
{
	/* Losses of a round with a queue behind them are congestion's, and
	 * say nothing of the path's random loss. */
	if (cc->round_sent > 0 && !queue) {
		double p = (double)cc->round_lost / cc->round_sent;

		cc->loss += (p - cc->loss) / 4;
		if (cc->loss > CFT_CC_LOSS_SEEN_MAX)
			cc->loss = CFT_CC_LOSS_SEEN_MAX;
	}
	cc->round_sent = cc->round_lost = 0;
}

/* The pipe is full: drain what the start-up queued. */
static void leave_startup(struct cc *cc)
{
	cc->state = CC_DRAIN;
	cc->startup_left = cc->round + 1;
}

/* STARTUP: is the pipe full?  The bandwidth stopped growing, or a queue
 * built up (then before it overflows, which on a long path would lose much
 * of a round's worth).  Not on the first report alone: its round trip
 * holds the receiver's start on the file, not a queue, and taking it for
 * one would end the start-up at the first flight's delivery rate (its
 * window over a round trip), far below the path's. */
static void startup_round(struct cc *cc, bool queue)
{
	if (queue && cc->bw > 0 && cc->round > 1) {
		leave_startup(cc);
	} else if (cc->bw >= cc->full_bw * CFT_CC_FULL_BW_GROWTH) {
		cc->full_bw = cc->bw;
		cc->full_rounds = 0;
	} else if (++cc->full_rounds >= CFT_CC_FULL_BW_ROUNDS) {
		leave_startup(cc);
	}
}

/*
 * STARTUP: did the path spread out what was sent?  Reports of a round that
 * come in over a longer time than their datagrams took to send (by a
 * quarter, and by more than the jitter of a report's timing) mean the
 * datagrams queued at a bottleneck, whose rate is the pace at which they
 * were reported.  This stops the start-up a round after its pace passed
 * the bottleneck's, where waiting for the queue's delay (a round later) or
 * for the bandwidth to stop growing (three) would have sent one or more
 * rounds at up to 2.77 times the path's rate into its queue: on a long
 * path with a short queue, most of a round's worth lost.
 */
static void startup_spread(struct cc *cc, const struct cc_sent *s, uint32_t seq, uint64_t now)
{
	uint64_t sent_us, acked_us;

	if (cc->state != CC_STARTUP)
		return;
	if (!cc->spread_at) {
		cc->spread_at = now;
		cc->spread_sent_at = s->at;
		cc->spread_seq = seq;
		return;
	}
	if (seq - cc->spread_seq < units(cc, CFT_CC_SPREAD_MIN, CC_CWND_FLOOR / 2) ||
	    s->at < cc->spread_sent_at ||
	    now <= cc->spread_at)
		return;
	sent_us = s->at - cc->spread_sent_at;
	acked_us = now - cc->spread_at;
	if ((double)acked_us > CFT_CC_FULL_BW_GROWTH * (double)sent_us + CFT_CC_BURST_US) {
		/* The datagrams sent, lost after the bottleneck or not: the
		 * rate the path carried them at. */
		bw_sample(cc, (double)(seq - cc->spread_seq) * 1e6 / (double)acked_us);
		leave_startup(cc);
	}
}

/* Are the losses reported now the start-up's own?  Those of its last round
 * come in a round after it ended (its test of the spacing ends it before
 * any queue shows in the round trips).  They say nothing of the path's
 * random loss, and call for no cut: the start-up ends on the spacing, the
 * queue or the bandwidth, which a random loss does not fool, and its drain
 * takes back the excess. */
static bool startup_echo(const struct cc *cc)
{
	return cc->state == CC_STARTUP || cc->state == CC_DRAIN ||
	       (cc->startup_left && cc->round <= cc->startup_left + 1);
}

/* A round trip ended. */
static void new_round(struct cc *cc, uint32_t tx_seq)
{
	bool queue = queued(cc);
	/* Losses are reported a round late: those of a round that ended
	 * with a queue come in with the next. */
	bool congested = queue || cc->queue_rounds > 0 || startup_echo(cc);

	cc->round++;
	cc->round_end = tx_seq;
	round_loss(cc, congested);
	cc->queue_rounds = queue ? cc->queue_rounds + 1 : 0;
	cc->clear_rounds = queue ? 0 : cc->clear_rounds + 1;
	cc->rtt_last = cc->rtt_round;
	cc->rtt_round = 0;
	cc->spread_at = 0;
	if (cc->state == CC_STARTUP) {
		startup_round(cc, queue);
	} else if (cc->state == CC_SHARE) {
		if (cc->clear_rounds >= CFT_CC_SHARE_EXIT_ROUNDS) {
			/* The queue is gone: back to the model, from the rates
			 * delivered while sharing (alone, the path's). */
			cc->state = CC_PROBE_BW;
			cc->cycle = 2;
		} else if ((int32_t)(tx_seq - cc->cut_end) > 0 && cc->cuts > cc->share_cuts &&
			   cc->window < cc->share_cap) {
			/* Grow as TCP does, but only against a flow that
			 * fills the queue to loss, and only up to twice what
			 * the path held alone.  A flow that keeps the queue
			 * short (TCP whose own qdisc is the bottleneck is held
			 * back by its small queues) would be starved by delay,
			 * not by loss, if this window grew into the queue. */
			cc->window += units(cc, CFT_CC_AI, 1);
		}
	} else if (cc->queue_rounds >= CFT_CC_QUEUE_ROUNDS) {
		/* A queue that stays is another flow's: share. */
		cc->state = CC_SHARE;
		/* One path's worth in flight, no queue of its own: alone it
		 * keeps the rate (the queue was the model's own excess, and
		 * drains), beside another flow it keeps its share. */
		cc->window = cc->bw * (double)rtt_min(cc) / 1e6;
		cc->share_cap = CFT_CC_CWND_GAIN * cc->window;
		cc->share_cuts = cc->cuts;
		/* What was delivered before is no measure of the share: the
		 * bandwidth is measured afresh from here. */
		memset(cc->bw_tag, 0, sizeof(cc->bw_tag));
	}
}

/* Congestion: once for all the losses of what was in flight; the next cut
 * waits until what is sent from now on is acknowledged (the queue had a
 * round trip to drain at the lower pace). */
static void cut(struct cc *cc, uint32_t tx_seq)
{
	if (cc->state == CC_SHARE) {
		cc->window *= CFT_CC_BETA;
	} else {
		for (unsigned i = 0; i < CFT_CC_BW_ROUNDS; i++)
			cc->bw_round[i] *= CFT_CC_BETA;
		cc->bw *= CFT_CC_BETA;
		if (cc->state == CC_STARTUP)
			leave_startup(cc);
	}
	cc->cuts++;
	cc->cut_end = tx_seq;
}

/* DRAIN and PROBE_BW: the gain now. */
static void advance(struct cc *cc, uint64_t now, uint32_t tx_seq)
{
	double bdp = cc->bw * (double)rtt_min(cc) / 1e6;

	if (cc->state == CC_DRAIN && (double)(tx_seq - cc->acked) <= bdp) {
		cc->state = CC_PROBE_BW;
		cc->cycle = 2;		/* cruise first */
		cc->cycle_at = now;
	}
	if (cc->state == CC_PROBE_BW &&
	    now - cc->cycle_at >= max_u64(rtt_min(cc), CFT_CC_PHASE_MIN_US)) {
		cc->cycle = (cc->cycle + 1) % 8;
		cc->cycle_at = now;
	}
	cc->gain = cc->state == CC_STARTUP ? CFT_CC_STARTUP_GAIN :
		   cc->state == CC_DRAIN ? 1 / CFT_CC_STARTUP_GAIN :
		   cc->state == CC_PROBE_BW ? cycle_gain[cc->cycle] : 1;
}

/* The delivery rate since the datagram of record s went: what the receiver
 * got meanwhile, over the longer of the two intervals (acknowledgements
 * bunched on the way back must not inflate it). */
static void rate_sample(struct cc *cc, const struct cc_sent *s, uint32_t seq, uint32_t count,
			uint64_t now)
{
	uint64_t us = max_u64(now - s->delivered_at, s->first_at ? s->at - s->first_at : 0);
	bool app = cc->app_valid && (int32_t)(seq - cc->app_limited) <= 0;
	double rate;

	if (!s->delivered_at || us == 0 || count <= s->delivered)
		return;
	rate = (double)(count - s->delivered) * 1e6 / (double)us;
	/* Lost after the bottleneck, at random (no queue behind it): the
	 * path carried them all the same. */
	if (!queued(cc))
		rate /= 1 - cc->loss;
	/* Taken while the sender had nothing to send, it says what the
	 * sender sent, not what the path carries. */
	if (!app || rate > cc->bw)
		bw_sample(cc, rate);
	if (cc->app_valid && !app)
		cc->app_valid = false;
}

void cc_on_ack(struct cc *cc, uint64_t now, uint32_t seq, uint32_t count, uint32_t tx_seq,
	       bool loss)
{
	const struct cc_sent *s = &cc->sent[seq % CC_SENT_KEPT];

	if ((int32_t)(seq - cc->acked) <= 0 || s->seq != seq || s->at > now)
		return;		/* nothing new, or too old to have a record */
	rtt_sample(cc, now, now - s->at);
	rate_sample(cc, s, seq, count, now);
	count_loss(cc, seq, count);
	cc->acked = seq;
	cc->delivered = count;
	cc->delivered_at = now;
	cc->acked_sent_at = s->at;
	if ((int32_t)(seq - cc->round_end) > 0)
		new_round(cc, tx_seq);
	startup_spread(cc, s, seq, now);
	if (loss && (int32_t)(seq - cc->cut_end) > 0 && (queued(cc) || cc->state == CC_SHARE) &&
	    !startup_echo(cc))
		cut(cc, tx_seq);
	advance(cc, now, tx_seq);
	set_pace(cc);
}

void cc_on_timeout(struct cc *cc, uint32_t tx_seq)
{
	/* Everything outstanding is given up; the model may be stale (the
	 * path changed, or was down): come down as for congestion. */
	cut(cc, tx_seq);
	set_pace(cc);
}

void cc_seed_rtt(struct cc *cc, uint64_t now, uint64_t rtt)
{
	if (cc->min_rtt)
		return;
	/* An answer's round trip holds the peer's work too: an upper bound
	 * that the first DATA's round trips soon replace. */
	rtt_sample(cc, now, rtt);
	cc->rtt_round = 0;
	set_pace(cc);
}

void cc_new_peer(struct cc *cc, uint32_t tx_seq)
{
	/* Its counts start from nothing: rates only from what follows. */
	cc->acked = tx_seq;
	cc->delivered = 0;
	cc->delivered_at = 0;
}

void cc_app_limited(struct cc *cc, uint32_t tx_seq)
{
	cc->app_limited = tx_seq;
	cc->app_valid = true;
}
