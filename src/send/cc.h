/*
 * The sender's congestion control, pure (time is an argument, in
 * microseconds; no I/O): it sets the pace of DATA datagrams and a cap on
 * those in flight.
 *
 * On its own on a path, the sender follows a model of it, in the spirit
 * of BBR.  The model is two numbers.  The bottleneck's bandwidth: the
 * largest delivery rate measured over the last CFT_CC_BW_ROUNDS round
 * trips, a rate being the receiver's count of DATA received over the time
 * it took, measured from the datagram a STATUS acknowledges back to the one
 * acknowledged when it was sent.  And the path's round trip without a
 * queue: the smallest seen over CFT_CC_MIN_RTT_WINDOW_US.  The sender paces
 * at a gain times the bandwidth and keeps at most CFT_CC_CWND_GAIN times
 * the bandwidth-delay product in flight.  It starts by doubling its pace
 * every round trip (STARTUP, gain 2.77) until the bandwidth stops growing
 * by a quarter for three rounds or a queue shows in the round trips,
 * drains that queue (DRAIN), then cruises at the bandwidth, probing for
 * more one round trip in eight (gain 1.25) and draining what the probe
 * queued the next (0.75).
 *
 * A loss is not a signal by itself: on a radio link or a damaged cable
 * datagrams are lost whatever the rate, and slowing down would only slow
 * the transfer (the lost chunks are sent again all the same).  What the
 * receiver gets then understates what the path carries, so while no queue
 * builds a rate sample is scaled up by the share lost (up to
 * CFT_CC_LOSS_SEEN_MAX).  A loss is congestion only when the round trips
 * say a queue has built up: the smallest of the round is above the path's
 * by CFT_CC_QUEUE_US or a quarter of it.  Then the bandwidth is cut to
 * CFT_CC_BETA of itself, once per round trip of data.
 *
 * A queue that stays for CFT_CC_QUEUE_ROUNDS rounds is another flow's, a
 * TCP that fills every buffer it finds: the model would measure the whole
 * link as its own and take it.  So the sender shares instead (CC_SHARE),
 * as TCP does: a window that drops to CFT_CC_BETA of itself on a loss,
 * once a round trip, and grows by CFT_CC_AI datagrams every round trip
 * without one, paced over the round trip.  When a round shows no queue the
 * other flow has gone, and the model takes over again.
 */
#ifndef CFT_CC_H
#define CFT_CC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cft/limits.h"

/* Fewest datagrams in flight, however large they are: enough for a round
 * trip to carry a sample and a loss not to stall the window. */
#define CC_CWND_FLOOR 8

/* DATA datagrams whose send time is kept: at least the largest window. */
#define CC_SENT_KEPT 8192
_Static_assert(CC_SENT_KEPT >= CFT_CWND_MAX, "a send record for every datagram in flight");
_Static_assert((CC_SENT_KEPT & (CC_SENT_KEPT - 1)) == 0, "a power of two");

enum cc_state { CC_STARTUP, CC_DRAIN, CC_PROBE_BW, CC_SHARE };

/* What the sender knew when a DATA datagram went. */
struct cc_sent {
	uint64_t at;			/* sent */
	uint64_t delivered_at;		/* when `delivered` was learned */
	uint64_t first_at;		/* send time of the datagram acknowledged then */
	uint32_t delivered;		/* the receiver's count of DATA then */
	uint32_t seq;			/* which datagram this record is of */
};

struct cc {
	enum cc_state state;
	/* the model */
	double bw;			/* bottleneck bandwidth, datagrams/s */
	double bw_round[CFT_CC_BW_ROUNDS];	/* largest sample of a round */
	uint64_t bw_tag[CFT_CC_BW_ROUNDS];	/* ... and which round (+1) */
	uint64_t min_rtt;		/* us; 0 until sampled */
	uint64_t min_rtt_at;		/* when it was taken */
	/* round trips */
	uint64_t round;			/* round trips so far */
	uint32_t round_end;		/* the round ends once this is acknowledged */
	uint64_t rtt_round;		/* smallest round trip of this round */
	uint64_t rtt_last;		/* smallest of the round before */
	uint64_t rtt_avg;		/* smoothed (1/8) */
	unsigned queue_rounds;		/* rounds in a row with a queue */
	unsigned clear_rounds;		/* ... and without one */
	/* STARTUP and PROBE_BW */
	double full_bw;			/* STARTUP: the bandwidth that stopped growing */
	unsigned full_rounds;
	uint64_t startup_left;		/* the round STARTUP ended in, + 1 */
	uint64_t spread_at;		/* STARTUP: the first report of this round */
	uint64_t spread_sent_at;	/* ... the send time of what it acknowledged */
	uint32_t spread_seq;		/* ... and its sequence number */
	unsigned cycle;			/* PROBE_BW: which phase of the eight */
	uint64_t cycle_at;		/* when it began */
	/* SHARE */
	double window;			/* datagrams */
	double share_cap;		/* largest window: twice the path's */
	uint64_t share_cuts;		/* cuts when it began to share */
	/* congestion */
	uint32_t cut_end;		/* no new cut before this is acknowledged */
	uint64_t cuts;			/* congestion cuts, for reports and tests */
	/* random loss, to see the path's rate through it */
	uint32_t round_sent, round_lost;	/* this round's datagrams and losses */
	double loss;			/* share lost, smoothed over rounds */
	/* samples taken while the sender had nothing to send */
	uint32_t app_limited;		/* up to this sequence number */
	bool app_valid;
	/* what the receiver has acknowledged */
	uint32_t acked;			/* latest sequence number acknowledged */
	uint32_t delivered;		/* its count of DATA received */
	uint64_t delivered_at;
	uint64_t acked_sent_at;		/* send time of `acked` */
	/* out */
	double gain;			/* pacing gain now */
	double pace;			/* datagrams/s */
	uint32_t cwnd;			/* datagrams in flight at most */
	double limit;			/* --bwlimit, datagrams/s; 0: none */
	double unit;			/* default datagrams (CFT_DATAGRAM_MAX)
					 * one of ours is worth: cc_set_datagram */
	uint64_t next_at;		/* the next datagram may go then */
	struct cc_sent sent[CC_SENT_KEPT];
};

/* A fresh model; `limit` caps the pace (datagrams/s, 0 for none). */
void cc_init(struct cc *cc, double limit);
/*
 * The session's datagrams are `bytes` long (its chunks): the windows and
 * bursts the constants give in datagrams of CFT_DATAGRAM_MAX bytes are
 * taken in bytes, so that larger datagrams do not put more bytes in a
 * queue; `limit` is --bwlimit in these datagrams a second (0: none).
 */
void cc_set_datagram(struct cc *cc, size_t bytes, double limit);

/* DATA datagram `seq` goes out now. */
void cc_on_send(struct cc *cc, uint32_t seq, uint64_t now);

/*
 * A STATUS: the receiver has seen `seq` (the latest it received intact),
 * and `count` DATA datagrams in all; `tx_seq` is the last one sent, and
 * `loss` says whether the counts show some lost since the last STATUS.
 */
void cc_on_ack(struct cc *cc, uint64_t now, uint32_t seq, uint32_t count, uint32_t tx_seq,
	       bool loss);

/* The retransmission timer fired: the path may have changed under us. */
void cc_on_timeout(struct cc *cc, uint32_t tx_seq);

/* A round trip measured before DATA (the handshake's), at `now`: the model
 * starts from it instead of CFT_CC_RTT_GUESS_US.  Ignored once DATA gave
 * one. */
void cc_seed_rtt(struct cc *cc, uint64_t now, uint64_t rtt);

/* The receiver restarted and counts from nothing: delivery rates are
 * measured again from the datagram after `tx_seq`; the model is kept. */
void cc_new_peer(struct cc *cc, uint32_t tx_seq);

/* The sender had nothing to send although the model allowed it (the
 * receiver's window, the disk): what it sent so far measures the sender,
 * not the path, so it may raise the bandwidth but not lower it. */
void cc_app_limited(struct cc *cc, uint32_t tx_seq);

/* May a DATA datagram go now, with `inflight` outstanding?  If only the
 * pace says no, cc->next_at says when. */
static inline bool cc_may_send(const struct cc *cc, uint64_t now, uint32_t inflight)
{
	return inflight < cc->cwnd && now >= cc->next_at;
}

#endif
