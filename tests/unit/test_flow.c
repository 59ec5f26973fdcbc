/*
 * The sender's flow control against reference vectors: RFC 6298 smoothing
 * worked by hand, the bounds, the backoff, PROBE echoes, and the
 * receiver's counts.
 */
#include <criterion/criterion.h>

#include "cft/limits.h"
#include "send/flow.h"

Test(flow, rfc6298_smoothing_by_hand)
{
	struct flow f;

	flow_init(&f, 0);
	cr_assert_eq(f.rto, CFT_RTO_INIT_US, "before any sample: the initial timeout");
	/* First sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR. */
	flow_sample(&f, 100000);
	cr_assert_eq(f.srtt, 100000u);
	cr_assert_eq(f.rttvar, 50000u);
	cr_assert_eq(f.rto, 300000u);
	/* RTTVAR = 3/4 * 50000 + 1/4 * |100000 - 120000| = 42500;
	 * SRTT = 7/8 * 100000 + 1/8 * 120000 = 102500; RTO = 102500 + 170000. */
	flow_sample(&f, 120000);
	cr_assert_eq(f.rttvar, 42500u);
	cr_assert_eq(f.srtt, 102500u);
	cr_assert_eq(f.rto, 272500u);
	/* RTTVAR = 42500 - 10625 + 22500/4 = 37500; SRTT = 102500 - 12812 +
	 * 10000 = 99688 (integer shifts, rounding down). */
	flow_sample(&f, 80000);
	cr_assert_eq(f.rttvar, 37500u);
	cr_assert_eq(f.srtt, 99688u);
	cr_assert_eq(f.rto, 249688u);
	cr_assert_eq(flow_rto_base(&f), 249688u);
}

Test(flow, bounds_and_granularity)
{
	struct flow f;

	/* Loopback: 100 us.  SRTT + max(G, 4 * 50) = 1100 us, raised to the floor. */
	flow_init(&f, 0);
	flow_sample(&f, 100);
	cr_assert_eq(f.rto, CFT_RTO_MIN_US);
	/* A steady round trip drives RTTVAR towards 0 (to within the integer
	 * shifts' rounding): G keeps a margin. */
	flow_init(&f, 0);
	for (int i = 0; i < 200; i++)
		flow_sample(&f, 50000);
	cr_assert_lt(f.rttvar, 4u);
	cr_assert_eq(f.rto, 50000u + CFT_RTO_GRANULARITY_US);
	/* A huge sample: the ceiling. */
	flow_init(&f, 0);
	flow_sample(&f, 10000000);
	cr_assert_eq(f.rto, CFT_RTO_MAX_US);
}

Test(flow, backoff_doubles_to_the_ceiling_and_heard_resets)
{
	struct flow f;

	flow_init(&f, 0);
	flow_sample(&f, 100000);		/* RTO 300 ms */
	flow_arm(&f, 1000);
	cr_assert_eq(f.t_retx, 301000u);
	cr_assert(!flow_timer_due(&f, 300999));
	cr_assert(flow_timer_due(&f, 301000));
	flow_backoff(&f, 301000);
	cr_assert_eq(f.rto, 600000u);
	cr_assert_eq(f.t_retx, 901000u);
	flow_backoff(&f, 0);
	cr_assert_eq(f.rto, 1200000u);
	flow_backoff(&f, 0);
	cr_assert_eq(f.rto, CFT_RTO_MAX_US);
	flow_backoff(&f, 0);
	cr_assert_eq(f.rto, CFT_RTO_MAX_US);
	cr_assert_eq(f.backoffs, 4u);
	flow_heard(&f, 5000000);
	cr_assert_eq(f.backoffs, 0u);
	cr_assert_eq(f.rto, 300000u);
	cr_assert_eq(f.t_retx, 5300000u);
}

Test(flow, probe_echoes_sample_once)
{
	struct flow f;
	uint32_t seq = 0;
	uint64_t a, b;

	flow_init(&f, 0);
	f.tx_seq = 41;
	a = flow_probe(&f, 1000);
	f.tx_seq = 99;
	b = flow_probe(&f, 2000);
	cr_assert_neq(a, b);
	cr_assert_not(flow_echo(&f, 0, 5000, &seq), "echo 0 means none");
	cr_assert_not(flow_echo(&f, b + 1, 5000, &seq), "never sent");
	cr_assert(flow_echo(&f, a, 11000, &seq));
	cr_assert_eq(seq, 41u, "the last DATA before that PROBE");
	cr_assert_eq(f.srtt, 10000u);
	/* The same echo again (a duplicated STATUS): no second, late sample. */
	cr_assert(flow_echo(&f, a, 500000, &seq));
	cr_assert_eq(f.srtt, 10000u);
	cr_assert(flow_echo(&f, b, 6000, &seq));
	cr_assert_eq(seq, 99u);
	/* Old PROBEs are forgotten once FLOW_PROBES_KEPT newer ones went out. */
	for (int i = 0; i < FLOW_PROBES_KEPT; i++)
		(void)flow_probe(&f, 7000);
	cr_assert_not(flow_echo(&f, a, 8000, &seq));
}

/* The receiver's counts: what was seen, what was lost, what to ignore.  The
 * pace and the cap they drive are the path model's (test_cc.c). */
Test(flow, counts_from_the_receiver)
{
	struct flow f;

	flow_init(&f, 0);
	cr_assert_eq(f.cc.cwnd, CFT_CWND_INIT);
	for (int i = 0; i < CFT_CWND_INIT; i++) {
		cr_assert(flow_may_send(&f, (uint64_t)i));
		(void)flow_next_seq(&f, (uint64_t)i);
		f.cc.next_at = 0;	/* the pace is not what is tested here */
	}
	cr_assert_not(flow_may_send(&f, 1000), "a full window waits");
	flow_on_counts(&f, 5000, 100, 100);
	cr_assert_eq(f.ack_seq, 100u);
	cr_assert_eq(f.losses, 0u);
	/* 50 of the next 100 lost. */
	f.tx_seq = 400;
	flow_on_counts(&f, 6000, 200, 150);
	cr_assert_eq(f.losses, 1u);
	/* An older STATUS changes nothing. */
	flow_on_counts(&f, 7000, 150, 120);
	cr_assert_eq(f.st_seq, 200u);
	cr_assert_eq(f.ack_seq, 200u);
	/* A report of more than was ever sent is damaged: ignored. */
	flow_on_counts(&f, 8000, f.tx_seq + 1000, 9000);
	cr_assert_eq(f.ack_seq, 200u);
	cr_assert_eq(f.losses, 1u);
	/* The timer fired: everything outstanding is given up. */
	f.tx_seq = 900;
	flow_on_timeout(&f);
	cr_assert_eq(f.ack_seq, 900u);
	/* A receiver that restarted counts from nothing. */
	flow_new_peer(&f);
	cr_assert_eq(f.st_seq, 900u);
	cr_assert_eq(f.st_count, 0u);
}
