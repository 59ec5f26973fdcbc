/*
 * The sender's flow control, pure: round-trip estimation, the
 * retransmission timer, and the congestion window.  No clock of its own
 * (every time is an argument, in microseconds) and no I/O, so that unit
 * tests can drive it with reference vectors.
 *
 * Round trips are measured with PROBE echoes: each PROBE carries an id that
 * the receiver returns in its next STATUS.  The timer follows RFC 6298
 * (SRTT and RTTVAR, RTO = SRTT + max(G, K * RTTVAR), exponential backoff)
 * with cft's own bounds, named in limits.h.  What may be in flight, and at
 * what pace, is the path model's (cc.h); this counts DATA datagrams sent
 * and seen, and tells the model what the receiver's counts say.
 */
#ifndef CFT_FLOW_H
#define CFT_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "cc.h"

/* PROBEs remembered for matching their echoes. */
#define FLOW_PROBES_KEPT 16

struct flow {
	/* round trip, microseconds */
	uint64_t srtt, rttvar;		/* valid once sampled */
	bool sampled;
	uint64_t rto;			/* current timeout, backoff included */
	unsigned backoffs;		/* expiries since the peer was last heard */
	uint64_t t_retx;		/* when the timer fires, absolute */
	struct {
		uint64_t id, at;
		uint32_t seq;		/* last DATA sent before the PROBE */
		bool answered;
	} probes[FLOW_PROBES_KEPT];
	uint64_t probe_id;

	/* DATA datagrams */
	uint32_t tx_seq;		/* last sequence number sent */
	uint32_t ack_seq;		/* receiver's latest seen (or given up on) */
	uint32_t st_seq, st_count;	/* receiver's counts in the previous STATUS */
	uint64_t losses;		/* STATUS that showed some lost */
	struct cc cc;			/* the path model: pace and cap */
};

/* `limit` caps the pace, in DATA datagrams per second (0: none). */
void flow_init(struct flow *f, double limit);

/* One round-trip sample (RFC 6298, 2.2 and 2.3); the timeout follows. */
void flow_sample(struct flow *f, uint64_t rtt_us);

/* The timeout the estimate gives, without backoff, within the bounds. */
uint64_t flow_rto_base(const struct flow *f);

/* Start the timer: it fires at now + the current timeout. */
void flow_arm(struct flow *f, uint64_t now);
/* The peer answered: forget the backoff and start the timer afresh. */
void flow_heard(struct flow *f, uint64_t now);
/* The timer fired: double the timeout (up to the ceiling) and start it. */
void flow_backoff(struct flow *f, uint64_t now);
static inline bool flow_timer_due(const struct flow *f, uint64_t now)
{
	return now >= f->t_retx;
}

/* How long to wait for a STATUS before asking with a PROBE: two round
 * trips, at least CFT_PROBE_EARLY_US. */
uint64_t flow_probe_wait(const struct flow *f);

/* A PROBE goes out now: returns the echo id it carries. */
uint64_t flow_probe(struct flow *f, uint64_t now);
/*
 * A STATUS returned `echo`: if it answers a PROBE we remember, take a
 * round-trip sample (once per PROBE), set *seq to the last DATA sequence
 * number sent before that PROBE, and return true.
 */
bool flow_echo(struct flow *f, uint64_t echo, uint64_t now, uint32_t *seq);
/* Does `echo` answer a PROBE we remember, sent no earlier than PROBE `since`? */
bool flow_answers(const struct flow *f, uint64_t echo, uint64_t since);

/* May another DATA datagram go out now (the cap and the pace)? */
static inline bool flow_may_send(const struct flow *f, uint64_t now)
{
	return cc_may_send(&f->cc, now, f->tx_seq - f->ack_seq);
}
/* Is only the pace holding the next datagram back?  Then it may go at
 * f->cc.next_at. */
static inline bool flow_paced(const struct flow *f)
{
	return f->tx_seq - f->ack_seq < f->cc.cwnd;
}
/* A DATA datagram goes out now: returns its sequence number. */
static inline uint32_t flow_next_seq(struct flow *f, uint64_t now)
{
	cc_on_send(&f->cc, ++f->tx_seq, now);
	return f->tx_seq;
}
/* The receiver's counts from a STATUS: the latest sequence number it
 * received intact and the DATA it received, both over the session. */
void flow_on_counts(struct flow *f, uint64_t now, uint32_t rx_seq, uint32_t rx_count);
/* The timer fired in the data phase: everything outstanding is lost. */
void flow_on_timeout(struct flow *f);
/* A new session at the receiver counts from nothing: so do we, from here. */
void flow_new_peer(struct flow *f);

#endif
