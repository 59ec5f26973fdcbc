/*
 * Keyed transfers against someone on the path without the key, as a
 * reviewer attacked them: a signed "unknown session" fetched from the
 * receiver and played to the sender, HELLO_ACKs with other randoms played
 * back (which would number datagrams from 0 again under one key), forged
 * unsigned refusals of our key or our version, a replay window checked
 * against a reference set, and an oversized signed HELLO at a keyless
 * receiver.  Each test failed on the code it was written against.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <unistd.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/proto.h"
#include "cft/seal.h"
#include "cft/wire.h"
#include "harness.h"
#include "send/send-state.h"

static const uint8_t rkey[CFT_KEY_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static struct run *G;
static struct net_addr attacker;

static uint64_t hdr_session(const uint8_t *b)
{
	uint64_t id = 0;

	for (int i = 0; i < 8; i++)
		id = id << 8 | b[WIRE_SESSION_OFF + i];
	return id;
}

static void push_rs(const uint8_t *b, size_t len)
{
	struct dgram *d = &L.rs.d[(L.rs.head + L.rs.n) % QCAP];

	memcpy(d->b, b, len);
	d->len = (uint16_t)len;
	L.rs.n++;
}

/* The receiver's answers caught, not sent. */
static uint8_t caught[CFT_DATAGRAM_MAX];
static size_t caught_len;
static void catch_out(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	(void)ctx;
	(void)to;
	memcpy(caught, b, len);
	caught_len = len;
}

/* Ask the receiver, as someone without the key, from our own address, for
 * a signed ERROR 11 about session id: a 34-byte "sealed PROBE" of garbage. */
static size_t oracle(struct recv_server *srv, uint64_t now, uint64_t id, uint8_t *out)
{
	uint8_t b[WIRE_HDR_LEN + SEAL_AEAD_TAG_LEN] = { WIRE_MAGIC0, WIRE_MAGIC1,
							CFT_PROTO_VERSION, WIRE_PROBE, 0,
							SEAL_FLAG_SEALED };
	struct proto_out saved = srv->io.out;

	for (int i = 0; i < 8; i++)
		b[WIRE_SESSION_OFF + i] = (uint8_t)(id >> (56 - 8 * i));
	caught_len = 0;
	srv->io.out = (struct proto_out){ .datagram = catch_out, .ctx = NULL };
	recv_server_on_datagram(srv, now, &attacker, b, sizeof(b));
	srv->io.out = saved;
	memcpy(out, caught, caught_len);
	return caught_len;
}

/* ---- 1. signed ERROR 11 for any session id, replayed into the sender ---- */
static struct {
	uint64_t id;
	uint8_t err[CFT_DATAGRAM_MAX];
	size_t len;
	unsigned data;
	bool injected;
} sess[64];
static unsigned nsess;
static uint64_t predicted;
static unsigned predicted_ok, oracle_big;
static unsigned inj_type = WIRE_COMMIT, inj_nth = 1;

static void tap_oracle(const uint8_t *b, size_t len)
{
	uint64_t id = hdr_session(b);
	unsigned i;

	for (i = 0; i < nsess && sess[i].id != id; i++)
		;
	if (i == nsess && b[3] == WIRE_HELLO && nsess < 64) {
		uint8_t copy[CFT_DATAGRAM_MAX], hd[CFT_DIGEST_LEN], next[CFT_DIGEST_LEN];
		struct wire_msg m;

		if (predicted && id == predicted)
			predicted_ok++;
		sess[i].id = id;
		sess[i].len = oracle(&G->srv, G->now, id, sess[i].err);
		if (sess[i].len > 3 * (WIRE_HDR_LEN + SEAL_AEAD_TAG_LEN))
			oracle_big++;
		nsess++;
		/* The next id, from what anyone on the path sees. */
		memcpy(copy, b, len);
		cr_assert_eq(seal_unsign(NULL, copy, len), 0);
		cr_assert_eq(wire_decode(copy, len, &m), 0);
		proto_hello_digest(m.session, &m.u.hello, hd);
		digest_sha256(hd, CFT_DIGEST_LEN, next);
		predicted = 0;
		for (int k = 0; k < 8; k++)
			predicted = predicted << 8 | next[k];
	}
	if (i < nsess && b[3] == inj_type && ++sess[i].data == inj_nth && !sess[i].injected &&
	    sess[i].len) {
		sess[i].injected = true;
		push_rs(sess[i].err, sess[i].len);
	}
}

TestSuite(forgery, .init = harness_setup, .fini = harness_teardown);

Test(forgery, signed_unknown_session_error_is_an_oracle)
{
	const char *names[] = { "a" };
	struct run r;
	uint8_t hk[CFT_KEY_LEN];
	int st;

	make_file("a", 2000000, 1);
	harness_send_key = harness_recv_key = rkey;
	attacker.ss.ss_family = AF_INET6;
	attacker.len = sizeof(struct sockaddr_in6);
	G = &r;
	nsess = 0;
	predicted = 0; predicted_ok = 0;
	memset(sess, 0, sizeof(sess));
	if (getenv("INJ_TYPE")) inj_type = (unsigned)atoi(getenv("INJ_TYPE"));
	if (getenv("INJ_NTH")) inj_nth = (unsigned)atoi(getenv("INJ_NTH"));
	harness_tap = tap_oracle;
	st = run_transfer(&r, names, 1, 64 * 1024, 1, NULL, 600000000ull);
	seal_hello_key(rkey, hk);
	cr_assert(sess[0].len > 0, "the receiver answered a keyless forgery");
	cr_assert(seal_is_signed(sess[0].err, sess[0].len), "... and signed it");
	cr_assert_eq(st, CFT_EXIT_OK, "a keyless attacker stopped a keyed transfer");
	cr_assert_eq(predicted_ok, 0u, "the next session id was foreseen from the wire");
	run_free(&r);
}

/* Baseline: the same transfer, untouched. */
Test(forgery, baseline)
{
	const char *names[] = { "a" };
	struct run r;

	make_file("a", 2000000, 1);
	harness_send_key = harness_recv_key = rkey;
	cr_assert_eq(run_transfer(&r, names, 1, 64 * 1024, 1, NULL, 600000000ull), CFT_EXIT_OK);
	run_free(&r);
}

/* ---- 2. nonce reuse: HELLO_ACKs with other randoms re-derive the keys ---- */
static struct dgram out_sr[256];
static unsigned n_sr;
static void cap_sr(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	(void)ctx;
	(void)to;
	if (n_sr < 256) {
		memcpy(out_sr[n_sr].b, b, len);
		out_sr[n_sr++].len = (uint16_t)len;
	}
}

static uint32_t pn_low(const uint8_t *b)
{
	return (uint32_t)b[14] << 24 | (uint32_t)b[15] << 16 | (uint32_t)b[16] << 8 | b[17];
}

Test(forgery, replayed_hello_acks_reuse_nonces)
{
	static struct send_file files[1];
	static char path[300];
	struct recv_server srv;
	struct send_config cfg;
	struct send_session *s;
	uint8_t hello0[CFT_DATAGRAM_MAX], ackA[CFT_DATAGRAM_MAX], ackB[CFT_DATAGRAM_MAX];
	size_t lh, la, lb;
	uint8_t first[CFT_DATAGRAM_MAX];
	size_t lfirst = 0;
	uint64_t now = 1000000;
	int dirfd;

	make_file("a", 5000, 1);
	snprintf(path, sizeof(path), "%s/a", dir_src);
	files[0] = (struct send_file){ .path = path, .name = "a", .size = 5000 };
	open_server(&srv, &dirfd);
	recv_server_set_key(&srv, rkey);
	attacker.ss.ss_family = AF_INET6;
	attacker.len = sizeof(struct sockaddr_in6);

	cfg = (struct send_config){ .files = files, .nfiles = 1, .block_size = 64 * 1024,
				    .timeout_us = 30000000, .session = 42, .key = rkey,
				    .out = { cap_sr, NULL } };
	s = send_new(&cfg);
	cr_assert_not_null(s);
	n_sr = 0;
	send_start(s, now);
	send_on_timer(s, now);
	cr_assert(n_sr >= 1 && out_sr[0].b[3] == WIRE_HELLO);
	lh = out_sr[0].len;
	memcpy(hello0, out_sr[0].b, lh);

	/* The sender's own cookieless HELLO, from the sender, and replayed by
	 * an attacker from its own address: two signed HELLO_ACKs, two randoms. */
	srv.io.out = (struct proto_out){ .datagram = catch_out, .ctx = NULL };
	recv_server_on_datagram(&srv, now, &sender_addr, hello0, lh);
	la = caught_len;
	memcpy(ackA, caught, la);
	recv_server_on_datagram(&srv, now, &attacker, hello0, lh);
	lb = caught_len;
	memcpy(ackB, caught, lb);
	cr_assert(la && lb && memcmp(ackA, ackB, la) != 0);

	/* A reaches the sender: keys KA, packet 0 a FILE. */
	n_sr = 0;
	send_on_datagram(s, now, ackA, la);
	for (unsigned i = 0; i < n_sr; i++)
		if (seal_is_sealed(out_sr[i].b, out_sr[i].len) && pn_low(out_sr[i].b) == 0) {
			lfirst = out_sr[i].len;
			memcpy(first, out_sr[i].b, lfirst);
		}
	cr_assert(lfirst, "FILE sealed as packet 0 under KA");
	cr_assert(s->keys.ready);
	/* B, then A again (replayed): KA once more, counting from 0. */
	send_on_datagram(s, now + 100, ackB, lb);
	send_on_datagram(s, now + 200, ackA, la);
	cr_assert_neq(s->id, 42u, "another random for session 42: a new session, not new keys");
	/* Nothing the sender says from now on is sealed as packet 0 of
	 * session 42 again. */
	n_sr = 0;
	send_abort(s, CFT_EXIT_SIGNAL, "interrupted");
	for (unsigned i = 0; i < n_sr; i++)
		cr_assert(!(seal_is_sealed(out_sr[i].b, out_sr[i].len) &&
			    hdr_session(out_sr[i].b) == 42 && pn_low(out_sr[i].b) == 0),
			  "a key and nonce used twice");
	send_free(s);
	recv_server_free(&srv);
	close(dirfd);
}

/* ---- 3. forged unsigned refusals make a keyed sender fail fast ---- */
static uint8_t hd3[CFT_DIGEST_LEN], hsent[CFT_DIGEST_LEN];
static unsigned data3;
static uint64_t drop_from;
static bool inject3, forge_version;

/* An unsigned ERROR to the sender, as anyone who saw our HELLO can make:
 * `reason` about the session, referring to `context`, in `version`. */
static void forge_error(uint64_t session, uint8_t version, unsigned reason,
			const uint8_t context[CFT_DIGEST_LEN])
{
	uint8_t e[CFT_DATAGRAM_MAX];
	struct wire_msg em = { .version = version, .type = WIRE_ERROR, .session = session };
	int n;

	em.u.error.reason = (uint16_t)reason;
	em.u.error.file = WIRE_NO_FILE;
	proto_error_ref(context, reason, WIRE_NO_FILE, em.u.error.ref);
	n = wire_encode(&em, e, sizeof(e));
	cr_assert_gt(n, 0);
	push_rs(e, (size_t)n);
}

static void tap_forge(const uint8_t *b, size_t len)
{
	if (b[3] == WIRE_HELLO) {
		uint8_t copy[CFT_DATAGRAM_MAX];
		struct wire_msg m;

		digest_sha256(b, len, hsent);
		memcpy(copy, b, len);
		cr_assert_eq(seal_unsign(NULL, copy, len), 0);
		cr_assert_eq(wire_decode(copy, len, &m), 0);
		proto_hello_digest(m.session, &m.u.hello, hd3);
		if (forge_version) {
			forge_error(m.session, 5, WIRE_R_VERSION, hsent);
			forge_version = false;
		}
	}
	if (b[3] == WIRE_DATA && ++data3 == 50) {
		drop_from = G->now;
		L.f.drop_type = WIRE_STATUS;	/* on the path: 2.1 s of STATUS lost */
		if (inject3)
			forge_error(hdr_session(b), CFT_PROTO_VERSION, WIRE_R_KEY, hd3);
	}
	if (drop_from && G->now > drop_from + 2100000)
		L.f.drop_type = 0;
}

static int forged_run(bool inject)
{
	const char *names[] = { "a" };
	struct run r;
	int st;

	clear_dst();
	make_file("a", 3000000, 1);
	harness_send_key = harness_recv_key = rkey;
	G = &r;
	data3 = 0;
	drop_from = 0;
	inject3 = inject;
	L.f.drop_type = 0;
	harness_tap = tap_forge;
	st = run_transfer(&r, names, 1, 64 * 1024, 1, NULL, 600000000ull);
	run_free(&r);
	return st;
}

Test(forgery, forged_key_refusal_mid_transfer)
{
	cr_assert_eq(forged_run(false), CFT_EXIT_OK, "2 s of lost STATUS alone: fine");
	cr_assert_eq(forged_run(true), CFT_EXIT_OK, "one forged ERROR 13 ended the transfer");
}

Test(forgery, forged_version_refusal_is_believed_at_once)
{
	const char *names[] = { "a" };
	struct run r;
	int st;

	make_file("a", 3000, 1);
	harness_send_key = harness_recv_key = rkey;
	G = &r;
	forge_version = true;
	inject3 = false;
	data3 = 1000;
	harness_tap = tap_forge;
	st = run_transfer(&r, names, 1, 64 * 1024, 1, NULL, 600000000ull);
	cr_assert_eq(st, CFT_EXIT_OK, "a forged version refusal ended the transfer");
	run_free(&r);
}

/* ---- 4. the replay window against a reference set ---- */
Test(forgery, replay_window_exhaustive_small)
{
	/* Random walks against a reference set. */
	struct seal snd, rcv;
	static const uint8_t a[CFT_RANDOM_LEN] = { 1 }, b2[CFT_RANDOM_LEN] = { 2 };
	static uint8_t seenref[1 << 20];
	uint64_t hi = 0, rng = 12345;
	bool any = false;

	cr_assert_eq(seal_init(&snd, rkey, 1, a, b2, true), 0);
	cr_assert_eq(seal_init(&rcv, rkey, 1, a, b2, false), 0);
	for (int it = 0; it < 200000; it++) {
		uint64_t pn;
		uint8_t plain[CFT_DATAGRAM_MAX], sealed[CFT_DATAGRAM_MAX], back[CFT_DATAGRAM_MAX];
		struct wire_msg m = { .type = WIRE_PROBE, .version = CFT_PROTO_VERSION,
				      .session = 1 };
		int n, k, o;
		bool expect;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		if (!any || (rng >> 60) < 10)
			pn = hi + ((rng >> 20) % 200);
		else
			pn = hi > 5000 ? hi - 5000 + ((rng >> 20) % 5000) : (rng >> 20) % (hi + 1);
		if (pn >= sizeof(seenref))
			break;
		expect = !seenref[pn] && !(any && hi >= pn + CFT_REPLAY_WINDOW);
		n = wire_encode(&m, plain, sizeof(plain));
		snd.tx.pn = pn;
		k = seal_close(&snd, plain, (size_t)n, sealed, sizeof(sealed));
		o = seal_open(&rcv, sealed, (size_t)k, back, sizeof(back));
		cr_assert_eq(o > 0, expect, "pn %llu hi %llu", (unsigned long long)pn,
			     (unsigned long long)hi);
		if (o > 0) {
			seenref[pn] = 1;
			if (!any || pn > hi)
				hi = pn;
			any = true;
		}
	}
	seal_free(&snd);
	seal_free(&rcv);
}

/* ---- 5. a keyless receiver and an oversized "signed HELLO" (ASan saw it) ---- */
Test(forgery, keyless_oversize_signed_hello)
{
	struct recv_server srv;
	int dirfd;
	static uint8_t b[64 * 1024];	/* the loop's slot: a GRO buffer */

	open_server(&srv, &dirfd);
	memset(b, 0xab, sizeof(b));
	b[0] = WIRE_MAGIC0;
	b[1] = WIRE_MAGIC1;
	b[2] = CFT_PROTO_VERSION;
	b[3] = WIRE_HELLO;
	b[4] = 0;
	b[5] = SEAL_FLAG_SIGNED;
	/* loop.c hands over dgram_max + 1 bytes for anything longer. */
	recv_server_on_datagram(&srv, 1000, &sender_addr, b, CFT_DATAGRAM_BIG_MAX + 1);
	cr_assert_eq(srv.c.malformed, 1u);
	recv_server_free(&srv);
	close(dirfd);
}

/* A keyless receiver and a sealed datagram: a flag it does not know, dropped
 * and counted as malformed, unanswered (only a HELLO is told "no key"). */
Test(forgery, keyless_receiver_drops_sealed_datagrams)
{
	struct recv_server srv;
	int dirfd;
	uint8_t b[WIRE_HDR_LEN + SEAL_AEAD_TAG_LEN] = { WIRE_MAGIC0, WIRE_MAGIC1, CFT_PROTO_VERSION,
							 WIRE_PROBE, 0, SEAL_FLAG_SEALED };

	open_server(&srv, &dirfd);
	L.rs.n = 0;
	recv_server_on_datagram(&srv, 1000, &sender_addr, b, sizeof(b));
	cr_assert_eq(srv.c.malformed, 1u);
	cr_assert_eq(srv.c.bad_key, 0u);
	cr_assert_eq(L.rs.n, 0u, "answered");
	recv_server_free(&srv);
	close(dirfd);
}
