/*
 * cft-shim's relay without sockets: a fake io records what would be sent,
 * and a fake clock drives delays, reordering, the rate limit and idle
 * clients.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

#include "shim/shim-relay.h"

#define SENT_MAX 256

static struct shim_relay relay;
static struct {
	unsigned client, dir;
	uint8_t first;			/* first byte: which datagram it was */
	size_t len;
} sent[SENT_MAX];
static unsigned nsent, opened, closed;

static int io_open(void *ctx, unsigned client)
{
	(void)ctx;
	(void)client;
	opened++;
	return 0;
}

static void io_close(void *ctx, unsigned client)
{
	(void)ctx;
	(void)client;
	closed++;
}

static void io_transmit(void *ctx, unsigned client, unsigned dir, const struct net_addr *addr,
			const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)addr;
	cr_assert_lt(nsent, SENT_MAX);
	sent[nsent].client = client;
	sent[nsent].dir = dir;
	sent[nsent].first = len ? buf[0] : 0;
	sent[nsent].len = len;
	nsent++;
}

static struct net_addr client_addr(uint16_t port)
{
	struct net_addr a;
	struct sockaddr_in *in = (struct sockaddr_in *)&a.ss;

	memset(&a, 0, sizeof(a));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	in->sin_addr.s_addr = htonl(0x7f000001);
	a.len = sizeof(*in);
	return a;
}

static void start(const struct shim_dir_cfg *fwd)
{
	struct shim_dir_cfg cfg[2];
	struct shim_io io = { io_open, io_close, io_transmit, NULL, NULL };

	memset(cfg, 0, sizeof(cfg));
	if (fwd)
		cfg[SHIM_FORWARD] = *fwd;
	nsent = opened = closed = 0;
	cr_assert_eq(shim_relay_init(&relay, cfg, 7, io), 0);
}

static void forward(uint16_t port, uint8_t which, uint64_t now)
{
	struct net_addr a = client_addr(port);
	uint8_t buf[100];

	memset(buf, which, sizeof(buf));
	shim_relay_forward(&relay, now, &a, buf, sizeof(buf));
}

Test(relay, clean_relay_in_order_both_ways)
{
	start(NULL);
	for (uint8_t i = 1; i <= 5; i++)
		forward(5000, i, 1000);
	shim_relay_reverse(&relay, 1000, 0, (const uint8_t *)"\x09reply", 6);
	cr_assert_eq(opened, 1u, "one client, one path upstream");
	cr_assert_eq(nsent, 6u);
	for (unsigned i = 0; i < 5; i++) {
		cr_assert_eq(sent[i].dir, SHIM_FORWARD);
		cr_assert_eq(sent[i].first, i + 1);
	}
	cr_assert_eq(sent[5].dir, SHIM_REVERSE);
	cr_assert_eq(sent[5].len, 6u);
	cr_assert_eq(relay.c[SHIM_FORWARD].forwarded, 5u);
	cr_assert_eq(relay.c[SHIM_REVERSE].seen, 1u);
	/* A reply for a slot nobody uses goes nowhere. */
	shim_relay_reverse(&relay, 1000, 3, (const uint8_t *)"x", 1);
	cr_assert_eq(nsent, 6u);
	shim_relay_free(&relay);
	cr_assert_eq(closed, 1u);
}

Test(relay, delay_holds_until_due)
{
	struct shim_dir_cfg c = { .delay_ms = 10 };

	start(&c);
	forward(5000, 1, 1000);
	cr_assert_eq(nsent, 0u);
	cr_assert_eq(shim_relay_next_deadline(&relay), 11000u);
	shim_relay_on_timer(&relay, 10999);
	cr_assert_eq(nsent, 0u);
	shim_relay_on_timer(&relay, 11000);
	cr_assert_eq(nsent, 1u);
	cr_assert_eq(shim_relay_next_deadline(&relay), UINT64_MAX);
	shim_relay_free(&relay);
}

Test(relay, reorder_goes_after_the_next_ones)
{
	struct shim_dir_cfg c = { .reorder = 1.0, .reorder_depth = 2 };

	start(&c);
	forward(5000, 1, 1000);		/* held behind two more */
	relay.cfg[SHIM_FORWARD].reorder = 0;
	forward(5000, 2, 1000);
	cr_assert_eq(nsent, 1u);
	forward(5000, 3, 1000);
	cr_assert_eq(nsent, 3u);
	cr_assert_eq(sent[0].first, 2);
	cr_assert_eq(sent[1].first, 3);
	cr_assert_eq(sent[2].first, 1, "the held one after the two behind it");
	shim_relay_free(&relay);
}

Test(relay, rate_limit_spaces_and_drops_past_the_queue)
{
	/* 100-byte datagrams at 100000 B/s: one per millisecond. */
	struct shim_dir_cfg c = { .rate = 100000 };
	unsigned n = 0;

	start(&c);
	for (uint8_t i = 0; i < 200; i++)
		forward(5000, i, 1000);
	/* The first goes at once; SHIM_RATE_QUEUE_MS of others wait; the rest
	 * are dropped, like a router's queue. */
	cr_assert_eq(nsent, 1u);
	cr_assert_eq(relay.c[SHIM_FORWARD].rate_dropped, 200u - 1 - SHIM_RATE_QUEUE_MS);
	for (uint64_t t = 1000; t <= 1000 + (SHIM_RATE_QUEUE_MS + 1) * 1000; t += 1000) {
		shim_relay_on_timer(&relay, t);
		n = nsent;
	}
	cr_assert_eq(n, 1u + SHIM_RATE_QUEUE_MS);
	shim_relay_free(&relay);
}

/* --queue sets the queue: 30 ms at the rate holds 30 datagrams, and a
 * datagram is dropped only past that, at the limit and one beyond. */
Test(relay, queue_length_is_the_configured_time)
{
	struct shim_dir_cfg c = { .rate = 100000, .queue_ms = 30 };

	start(&c);
	for (uint8_t i = 0; i < 31; i++)
		forward(5000, i, 1000);
	cr_assert_eq(relay.c[SHIM_FORWARD].rate_dropped, 0u, "1 sent and 30 queued");
	forward(5000, 31, 1000);
	cr_assert_eq(relay.c[SHIM_FORWARD].rate_dropped, 1u, "the 31st in the queue");
	shim_relay_free(&relay);
}

Test(relay, clients_apart_and_idle_ones_forgotten)
{
	start(NULL);
	forward(5000, 1, 1000);
	forward(5001, 2, 1000);
	cr_assert_eq(opened, 2u);
	cr_assert(shim_relay_client(&relay, 0, NULL));
	cr_assert(shim_relay_client(&relay, 1, NULL));
	shim_relay_on_timer(&relay, 1000 + (uint64_t)SHIM_CLIENT_IDLE_S * 1000000u + 1);
	cr_assert_eq(closed, 2u);
	cr_assert_not(shim_relay_client(&relay, 0, NULL));
	shim_relay_free(&relay);
}
