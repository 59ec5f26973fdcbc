/*
 * Opening a sender session: session ids and their randoms, the HELLO (again
 * with the receiver's cookie), and what the receiver's HELLO_ACK, or its
 * refusal in another version, means.  Part of the sender's engine, beside
 * send-session.c, whose phases it starts.
 */
#include <stdio.h>
#include <string.h>

#include "cft/check.h"
#include "cft/digest.h"
#include "cft/exit.h"
#include "cft/seal.h"
#include "cft/wire.h"
#include "send-hello.h"
#include "send-keys.h"
#include "send-say.h"

/* Are larger chunks than the default tried in this session's HELLOs? */
static bool tries_big(const struct send_session *s)
{
	return s->cfg.chunk_max > CFT_CHUNK_SIZE;
}

/* The session's HELLO, asking for chunks of `chunk` bytes. */
static void hello_fields(const struct send_session *s, uint32_t chunk, struct wire_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->block_size = s->cfg.block_size;
	h->nfiles = s->cfg.nfiles;
	h->first = s->first;
	h->chunk_size = chunk;
	memcpy(h->cookie, s->cookie, CFT_COOKIE_LEN);
	memcpy(h->random, s->random, CFT_RANDOM_LEN);
}

/*
 * The chunks of this session, once the receiver has answered the HELLO that
 * asked for them: every datagram count the sender keeps (its pace, the
 * --bwlimit it converts) is one of those chunks.
 */
static void use_chunk(struct send_session *s, uint32_t chunk)
{
	size_t bytes = (size_t)chunk + CFT_DATAGRAM_OVERHEAD;

	s->chunk = s->stats.chunk_size = chunk;
	cc_set_datagram(&s->data.flow.cc, bytes, s->cfg.bwlimit / (double)bytes);
}

/* The session id in use is s->id: its HELLO and that HELLO's digests. */
void send_set_session(struct send_session *s, uint64_t id)
{
	struct wire_hello h;
	uint8_t in[12];

	s->id = id;
	/* Where this session starts: the file in progress (the files before
	 * it are committed: we heard so), where a receiver that restarted
	 * takes up. */
	s->first = s->cur < s->cfg.nfiles ? s->cur : 0;
	/* Fresh for each session (with a key, the session's keys depend on it,
	 * and the receiver opens a HELLO only once): HMAC-SHA-256, under the
	 * random the caller drew, of the id and how many came before. */
	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(id >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		in[8 + i] = (uint8_t)(s->sessions >> (24 - 8 * i));
	s->sessions++;
	_Static_assert(CFT_RANDOM_LEN == CFT_DIGEST_LEN, "one HMAC per random");
	digest_hmac(s->cfg.random, CFT_RANDOM_LEN, in, sizeof(in), s->random);
	send_keys_forget(s);
	memset(s->cookie, 0, sizeof(s->cookie));	/* made for the session id */
	s->opened = false;
	s->data.session = id;
	use_chunk(s, CFT_CHUNK_SIZE);
	hello_fields(s, CFT_CHUNK_SIZE, &h);
	proto_hello_digest(id, &h, s->hello);
	memset(s->hello_big, 0, sizeof(s->hello_big));
	memset(s->hello_other, 0, sizeof(s->hello_other));
	if (tries_big(s)) {
		hello_fields(s, s->cfg.chunk_max, &h);
		proto_hello_digest(id, &h, s->hello_big);
	}
}

/* One HELLO, for chunks of `chunk` bytes (padded to their size). */
static void hello_out(struct send_session *s, uint32_t chunk, bool refer)
{
	uint8_t buf[CFT_DATAGRAM_BIG_MAX];
	struct wire_msg m;
	int n;

	send_msg(s, &m, WIRE_HELLO);
	hello_fields(s, chunk, &m.u.hello);
	n = wire_encode(&m, buf, sizeof(buf));
	CFT_ASSERT(n > 0);
	if (s->cfg.key)
		seal_sign(s->keys.hello_key, buf, (size_t)n);
	/* A receiver of another version refers to these very bytes. */
	if (refer)
		digest_sha256(buf, (size_t)n, s->hello_sent);
	s->cfg.out.datagram(s->cfg.out.ctx, NULL, buf, (size_t)n);
}

/*
 * The HELLO.  Before the receiver has answered, the padded HELLO for larger
 * chunks goes first and the plain one after it: the path shows what it
 * carries by what it delivers, a HELLO too large for it being lost (or
 * refused by this host's route) without costing a round trip.  Once
 * answered, only the HELLO of the chunks chosen goes, with the cookie.
 */
void send_hello(struct send_session *s, uint64_t now)
{
	if (s->phase == SEND_HELLO && tries_big(s))
		hello_out(s, s->cfg.chunk_max, false);
	hello_out(s, s->chunk, true);
	s->hello_at = now;
}

/* Another session id, from the last one (the caller's was random). */
void send_next_session(struct send_session *s)
{
	uint8_t next[CFT_DIGEST_LEN];
	uint64_t id = 0;

	/* Keyed under the caller's random, which never travels: nobody can
	 * foresee the next id (and fetch answers for it in advance). */
	digest_hmac(s->cfg.random, CFT_RANDOM_LEN, s->hello, CFT_DIGEST_LEN, next);
	for (int i = 0; i < 8; i++)
		id = id << 8 | next[i];
	send_set_session(s, id);
}

/*
 * The receiver accepted a HELLO.  If it is not ours as we sent it (damaged
 * on the way, and resealed), that session has the wrong parameters: leave it
 * to time out, and open another with a new id.
 */
void send_on_hello_ack(struct send_session *s, uint64_t now, const struct wire_hello_ack *a)
{
	static const uint8_t none[CFT_COOKIE_LEN];
	uint32_t window = a->window_blocks;

	if (s->phase == SEND_DONE || s->phase == SEND_FAILED || s->opened)
		return;
	/* The first answer to our pair of HELLOs decides the chunks. */
	if (s->phase == SEND_HELLO && tries_big(s) &&
	    digest_equal_n(a->hello, s->hello_big, CFT_SHORT_DIGEST_LEN)) {
		memcpy(s->hello_other, s->hello, CFT_DIGEST_LEN);
		memcpy(s->hello, s->hello_big, CFT_DIGEST_LEN);
		use_chunk(s, s->cfg.chunk_max);
	} else if (s->phase == SEND_HELLO && tries_big(s) &&
		   digest_equal_n(a->hello, s->hello, CFT_SHORT_DIGEST_LEN)) {
		memcpy(s->hello_other, s->hello_big, CFT_DIGEST_LEN);
	} else if (s->phase != SEND_HELLO && tries_big(s) &&
		   digest_equal_n(a->hello, s->hello_other, CFT_SHORT_DIGEST_LEN)) {
		return;		/* the other of the pair, answered late: no news */
	}
	if (!digest_equal_n(a->hello, s->hello, CFT_SHORT_DIGEST_LEN)) {
		s->stats.ignored++;
		/* A HELLO damaged on the way.  Without our cookie nothing was
		 * kept; with it, a session with the wrong parameters was opened
		 * (left to time out): either way, again with a new id. */
		if (s->phase != SEND_HELLO && !digest_equal_n(a->cookie, s->cookie, CFT_COOKIE_LEN))
			return;
		if (s->phase != SEND_HELLO)
			send_reconnect(s, now);
		send_next_session(s);
		s->data.flow.t_retx = now;	/* HELLO at the next timer call */
		return;
	}
	if (!send_keys_derive(s, a->random)) {
		/* Another random for a session that has keys: the cookie's
		 * period ended, or an old answer was played back to us.  Start
		 * over as another session, never with another key. */
		s->stats.ignored++;
		if (s->phase != SEND_HELLO)
			send_reconnect(s, now);
		send_next_session(s);
		s->data.flow.t_retx = now;	/* HELLO at the next timer call */
		return;
	}
	if (s->cfg.key)
		send_keys_authentic(s);	/* signed, and about our HELLO */
	if (s->phase != SEND_HELLO) {
		/* The answer to the HELLO that carried the cookie: open.  Or
		 * another cookie (ours was damaged, or is too old): HELLO with
		 * that one. */
		if (digest_equal_n(a->cookie, s->cookie, CFT_COOKIE_LEN)) {
			s->opened = true;
		} else {
			memcpy(s->cookie, a->cookie, CFT_COOKIE_LEN);
			send_hello(s, now);
		}
		return;
	}
	/* The handshake's round trip, if only one HELLO went (Karn): the
	 * path model paces its first flight over it. */
	if (s->data.flow.backoffs == 1)
		cc_seed_rtt(&s->data.flow.cc, now, now - s->hello_at);
	send_heard(s, now);
	send_event(s, SEND_EV_OPENED);
	if (window < 1)
		window = 1;
	if (window > CFT_WINDOW_BLOCKS_MAX)
		window = CFT_WINDOW_BLOCKS_MAX;
	s->data.sched.window = window;
	/*
	 * The session is open if this answers a HELLO that carried the cookie.
	 * If not, it carries one: the HELLO goes again with it, and the offer
	 * right behind it (with it until the receiver answers), so that
	 * proving our address costs no round trip.
	 */
	s->opened = !digest_equal_n(s->cookie, none, CFT_COOKIE_LEN) &&
		    digest_equal_n(a->cookie, s->cookie, CFT_COOKIE_LEN);
	memcpy(s->cookie, a->cookie, CFT_COOKIE_LEN);
	send_start_file(s, now);
}

/* A datagram of another version: believed only as an ERROR that refers to
 * the very HELLO we sent. */
void send_on_other_version(struct send_session *s, uint64_t now, const struct wire_msg *m)
{
	uint8_t ref[CFT_SHORT_DIGEST_LEN];
	char why[96];

	if (m->type != WIRE_ERROR || m->u.error.reason != WIRE_R_VERSION ||
	    s->phase != SEND_HELLO)
		return;
	proto_error_ref(s->hello_sent, WIRE_R_VERSION, m->u.error.file, ref);
	if (!digest_equal_n(ref, m->u.error.ref, CFT_SHORT_DIGEST_LEN)) {
		s->stats.ignored++;
		return;
	}
	snprintf(why, sizeof(why), "receiver speaks protocol version %u, we speak %u",
		 m->version, CFT_PROTO_VERSION);
	/* Keyed, it is not signed: believed only if nothing authentic comes. */
	if (s->cfg.key)
		send_keys_hint(s, now, CFT_EXIT_REFUSED, why);
	else
		send_fail(s, CFT_EXIT_REFUSED, "%s", why);
}
