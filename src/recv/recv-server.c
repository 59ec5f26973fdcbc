/*
 * The receiver's session table: datagrams are decoded and counted here,
 * HELLOs open sessions within the limits, everything else goes to the
 * session it names if it comes from that session's peer, and sessions that
 * ended are reaped.
 */
#include <stdlib.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/proto.h"
#include "cft/seal.h"
#include "cft/wire.h"
#include "recv-server.h"
#include "recv-reply.h"
#include "recv-session.h"

/* Every answer to an address not yet proven goes through here: no more
 * than CFT_AMPLIFICATION times the datagram it answers. */
static void plain_datagram(void *ctx, const struct net_addr *to, const uint8_t *buf,
			   size_t len)
{
	struct recv_server *srv = ctx;

	if (len > srv->stateless_budget) {
		srv->c.withheld++;
		return;
	}
	srv->stateless_budget -= len;
	srv->io.out.datagram(srv->io.out.ctx, to, buf, len);
}

/* Keyed, signed: the sender believes only what a holder of the key says. */
static void stateless_datagram(void *ctx, const struct net_addr *to, const uint8_t *buf,
			       size_t len)
{
	struct recv_server *srv = ctx;
	uint8_t out[CFT_DATAGRAM_MAX];

	if (!srv->keyed) {
		plain_datagram(ctx, to, buf, len);
		return;
	}
	memcpy(out, buf, len);
	seal_sign(srv->hello_key, out, len);
	plain_datagram(ctx, to, out, len);
}

void recv_server_set_key(struct recv_server *srv, const uint8_t key[CFT_KEY_LEN])
{
	srv->keyed = true;
	memcpy(srv->key, key, CFT_KEY_LEN);
	seal_hello_key(key, srv->hello_key);
}

int recv_server_init(struct recv_server *srv, int dirfd, uint64_t timeout_us,
		     struct recv_io io)
{
	memset(srv, 0, sizeof(*srv));
	srv->dirfd = dirfd;
	srv->timeout_us = timeout_us;
	srv->io = io;
	srv->stateless = (struct proto_out){ .datagram = stateless_datagram, .ctx = srv };
	srv->plain = (struct proto_out){ .datagram = plain_datagram, .ctx = srv };
	srv->mode_mask = CFT_MODE_MASK_DEFAULT;
	srv->reserve = CFT_RESERVE_DEFAULT;
	srv->partial_quota = UINT64_MAX;
	if (digest_random(srv->secret, sizeof(srv->secret)) < 0)
		return CFT_E_IO;
	return 0;
}

/* Remove sessions that ended, recording the outcome. */
static void reap(struct recv_server *srv)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		struct recv_session *s = srv->sessions[i];

		if (s && s->over) {
			/* A session taken over lives on in its successor: it is
			 * not the one --once waits for. */
			if (!s->superseded) {
				srv->last_status = s->status;
				srv->sessions_done++;
				if (s->status == CFT_EXIT_OK && s->next_file == s->nfiles &&
				    !s->dry_run)
					srv->sessions_complete++;
			}
			recv_session_free(s);
			srv->sessions[i] = NULL;
		}
	}
}

void recv_server_free(struct recv_server *srv)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		if (srv->sessions[i]) {
			/* Shutting down: reported like any ending, and what was
			 * received stays for a resume (the sender is not told,
			 * so it waits for us to come back). */
			recv_session_end(srv->sessions[i], CFT_EXIT_NETWORK, "receiver stopped");
			recv_session_free(srv->sessions[i]);
			srv->sessions[i] = NULL;
		}
	}
}

/* Refuse a HELLO: the ERROR refers to the HELLO as understood. */
static void refuse_hello(struct recv_server *srv, const struct net_addr *from,
			 const struct wire_msg *m, unsigned reason, const char *text)
{
	uint8_t hello[CFT_DIGEST_LEN], ref[CFT_SHORT_DIGEST_LEN];

	srv->c.refused++;
	proto_hello_digest(m->session, &m->u.hello, hello);
	proto_error_ref(hello, reason, WIRE_NO_FILE, ref);
	proto_send_error(&srv->stateless, from, m->session, reason, WIRE_NO_FILE, ref, text);
}

/* The cookie for a HELLO of `session` from `from` in period `period`. */
static void make_cookie(const struct recv_server *srv, uint64_t period, const struct net_addr *from,
			uint64_t session, uint8_t out[CFT_COOKIE_LEN])
{
	uint8_t in[8 + 8 + NET_ADDR_KEY_LEN], mac[CFT_DIGEST_LEN];

	for (int i = 0; i < 8; i++) {
		in[i] = (uint8_t)(period >> (56 - 8 * i));
		in[8 + i] = (uint8_t)(session >> (56 - 8 * i));
	}
	net_addr_key(from, in + 16);
	digest_hmac(srv->secret, sizeof(srv->secret), in, sizeof(in), mac);
	memcpy(out, mac, CFT_COOKIE_LEN);
}

/*
 * Our random for a session: like the cookie, a keyed digest, of the period,
 * address, session and the sender's random, so that it is the same when the
 * HELLO comes back with the cookie and nothing need be kept before.  Fresh
 * for every session: the sender's random is, and a HELLO opens at most one
 * session (the `opened` list).
 */
static void make_random(const struct recv_server *srv, uint64_t period,
			const struct net_addr *from, uint64_t session,
			const uint8_t sender[CFT_RANDOM_LEN], uint8_t out[CFT_RANDOM_LEN])
{
	uint8_t in[7 + CFT_COOKIE_LEN + CFT_RANDOM_LEN], mac[CFT_DIGEST_LEN];

	memcpy(in, "random:", 7);
	make_cookie(srv, period, from, session, in + 7);
	memcpy(in + 7 + CFT_COOKIE_LEN, sender, CFT_RANDOM_LEN);
	digest_hmac(srv->secret, sizeof(srv->secret), in, sizeof(in), mac);
	_Static_assert(CFT_RANDOM_LEN <= CFT_DIGEST_LEN, "random from one HMAC");
	memcpy(out, mac, CFT_RANDOM_LEN);
}

/* Made for this address, port and session, in this period or the last?
 * Then that period (from 1), else 0. */
static uint64_t cookie_period(const struct recv_server *srv, uint64_t now,
			      const struct net_addr *from, uint64_t session,
			      const uint8_t cookie[CFT_COOKIE_LEN])
{
	uint64_t period = now / CFT_COOKIE_PERIOD_US;
	uint8_t want[CFT_COOKIE_LEN];

	make_cookie(srv, period, from, session, want);
	if (digest_equal_n(want, cookie, CFT_COOKIE_LEN))
		return period + 1;
	if (period == 0)
		return 0;
	make_cookie(srv, period - 1, from, session, want);
	return digest_equal_n(want, cookie, CFT_COOKIE_LEN) ? period : 0;
}

/*
 * A HELLO without a good cookie: answer with one, keeping nothing.  Only a
 * sender that receives at the address it claims can HELLO again with it;
 * a forged source gets one HELLO_ACK, no larger than the HELLO by much.
 */
static void send_cookie(struct recv_server *srv, uint64_t now, const struct net_addr *from,
			const struct wire_msg *m)
{
	struct wire_msg ack;
	uint8_t hello[CFT_DIGEST_LEN];

	srv->c.cookies++;
	proto_hello_digest(m->session, &m->u.hello, hello);
	proto_msg(&ack, m->session, WIRE_HELLO_ACK);
	ack.u.hello_ack.window_blocks = (uint16_t)recv_window_blocks(m->u.hello.block_size);
	memcpy(ack.u.hello_ack.hello, hello, CFT_SHORT_DIGEST_LEN);
	make_cookie(srv, now / CFT_COOKIE_PERIOD_US, from, m->session, ack.u.hello_ack.cookie);
	make_random(srv, now / CFT_COOKIE_PERIOD_US, from, m->session, m->u.hello.random,
		    ack.u.hello_ack.random);
	proto_send(&srv->stateless, from, &ack);
}

static unsigned sessions_from(const struct recv_server *srv, const struct net_addr *from)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (srv->sessions[i] && net_addr_same_host(&srv->sessions[i]->peer, from))
			n++;
	return n;
}

/*
 * Keyed: has this HELLO opened a session while its cookie holds?  Then it
 * is played again (a recording of a whole session would otherwise be
 * accepted once more, every datagram of it authentic).  If not, it is
 * remembered, in the place of one whose cookie can no longer hold; when
 * there is none, the HELLO is refused for now (false).
 */
static bool first_opening(struct recv_server *srv, uint64_t now, const uint8_t hello[CFT_DIGEST_LEN],
			  bool *replayed)
{
	const uint64_t life = 2 * CFT_COOKIE_PERIOD_US;
	unsigned slot = CFT_REPLAY_SESSIONS;

	*replayed = false;
	for (unsigned i = 0; i < CFT_REPLAY_SESSIONS; i++) {
		bool live = srv->opened[i].at && now < srv->opened[i].at + life;

		if (live && digest_equal_n(srv->opened[i].hello, hello, CFT_SHORT_DIGEST_LEN)) {
			*replayed = true;
			return false;
		}
		if (!live && slot == CFT_REPLAY_SESSIONS)
			slot = i;
	}
	if (slot == CFT_REPLAY_SESSIONS)
		return false;
	memcpy(srv->opened[slot].hello, hello, CFT_SHORT_DIGEST_LEN);
	srv->opened[slot].at = now ? now : 1;
	return true;
}

static void open_session(struct recv_server *srv, uint64_t now, const struct net_addr *from,
			 const struct wire_msg *m, uint64_t period)
{
	uint8_t random[CFT_RANDOM_LEN], hello[CFT_DIGEST_LEN];
	unsigned i;
	bool replayed;

	for (i = 0; i < CFT_SESSIONS_MAX && srv->sessions[i]; i++)
		;
	if (i == CFT_SESSIONS_MAX) {
		refuse_hello(srv, from, m, WIRE_R_BUSY, "too many sessions");
		return;
	}
	proto_hello_digest(m->session, &m->u.hello, hello);
	if (srv->keyed && !first_opening(srv, now, hello, &replayed)) {
		if (replayed)
			srv->c.replayed++;
		else
			refuse_hello(srv, from, m, WIRE_R_BUSY, "too many new sessions");
		return;
	}
	make_random(srv, period, from, m->session, m->u.hello.random, random);
	/* NULL when out of memory: the sender will ask again. */
	srv->sessions[i] = recv_session_new(srv, now, from, m->session, &m->u.hello, random);
}

/* The default chunks, or larger ones in steps (the HELLO asking for them
 * came whole, padded to their size: the path carries them). */
static bool chunk_size_valid(uint32_t chunk)
{
	return chunk == CFT_CHUNK_SIZE ||
	       (chunk > CFT_CHUNK_SIZE && chunk <= CFT_CHUNK_SIZE_MAX &&
		chunk % CFT_CHUNK_SIZE_STEP == 0);
}

static void on_hello(struct recv_server *srv, uint64_t now, const struct net_addr *from,
		     const struct wire_msg *m)
{
	const struct wire_hello *h = &m->u.hello;
	uint64_t period;

	if (h->block_size < CFT_BLOCK_SIZE_MIN || h->block_size > CFT_BLOCK_SIZE_MAX ||
	    h->block_size % CFT_BLOCK_SIZE_STEP != 0 || h->nfiles == 0 || h->nfiles > CFT_FILES_MAX || h->first >= h->nfiles ||
	    h->features != 0 || !chunk_size_valid(h->chunk_size)) {
		refuse_hello(srv, from, m, WIRE_R_BAD_REQUEST, "session parameters out of range");
		return;
	}
	period = cookie_period(srv, now, from, m->session, h->cookie);
	if (!period) {
		send_cookie(srv, now, from, m);
		return;
	}
	if (sessions_from(srv, from) >= CFT_SESSIONS_PER_SOURCE) {
		refuse_hello(srv, from, m, WIRE_R_BUSY, "too many sessions from this address");
		return;
	}
	open_session(srv, now, from, m, period - 1);
}

/* A HELLO of a version we do not speak: say so, referring to the very
 * bytes received, so that an answer to a damaged HELLO is not believed. */
static void refuse_version(struct recv_server *srv, const struct net_addr *from,
			   const struct wire_msg *m, const uint8_t *buf, size_t len)
{
	uint8_t whole[CFT_DIGEST_LEN], ref[CFT_SHORT_DIGEST_LEN];

	digest_sha256(buf, len, whole);
	proto_error_ref(whole, WIRE_R_VERSION, WIRE_NO_FILE, ref);
	/* Unsigned: a sender of another version reads no signature of ours. */
	proto_send_error(&srv->plain, from, m->session, WIRE_R_VERSION, WIRE_NO_FILE, ref,
			 "this receiver speaks cft protocol version " CFT_PROTO_VERSION_STR);
}

static struct recv_session *find_session(struct recv_server *srv, uint64_t id)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (srv->sessions[i] && srv->sessions[i]->id == id && !srv->sessions[i]->over)
			return srv->sessions[i];
	return NULL;
}

/* Decode and count; returns 0 for a datagram worth reading further. */
static int decode(struct recv_server *srv, const struct net_addr *from, const uint8_t *buf,
		  size_t len, struct wire_msg *m)
{
	int rc = wire_decode(buf, len, m);

	switch (rc) {
	case 0:
		return 0;
	case CFT_E_VERSION:
		srv->c.bad_version++;
		/* Tell a sender of another version why it gets no answer. */
		if (m->type == WIRE_HELLO)
			refuse_version(srv, from, m, buf, len);
		break;
	case CFT_E_CHECKSUM: srv->c.bad_checksum++; break;
	case CFT_E_TAG: srv->c.bad_tag++; break;
	case CFT_E_MAGIC: srv->c.bad_magic++; break;
	case CFT_E_TRUNCATED: srv->c.truncated++; break;
	default: srv->c.malformed++; break;
	}
	return -1;
}

/* A HELLO made with no key, or another: say so, unsigned (the sender could
 * not check a signature), referring to the HELLO as it reads without one. */
static void refuse_key(struct recv_server *srv, const struct net_addr *from, const uint8_t *buf,
		       size_t len, const char *text)
{
	uint8_t copy[CFT_DATAGRAM_BIG_MAX], hello[CFT_DIGEST_LEN], ref[CFT_SHORT_DIGEST_LEN];
	struct wire_msg m;

	srv->c.bad_key++;
	memcpy(copy, buf, len);
	if ((seal_is_signed(copy, len) && seal_unsign(NULL, copy, len) < 0) ||
	    wire_decode(copy, len, &m) < 0 || m.type != WIRE_HELLO)
		return;
	proto_hello_digest(m.session, &m.u.hello, hello);
	proto_error_ref(hello, WIRE_R_KEY, WIRE_NO_FILE, ref);
	proto_send_error(&srv->plain, from, m.session, WIRE_R_KEY, WIRE_NO_FILE, ref, text);
}

/* A datagram for a session we do not have (a sender whose receiver
 * restarted): tell it to start over (it resumes).  Never in answer to
 * DATA, which comes in floods. */
static void unknown_session(struct recv_server *srv, const struct net_addr *from, unsigned type,
			    uint64_t session)
{
	/* Nothing known to refer to: the sender starts over, which a
	 * damaged answer costs no more than. */
	static const uint8_t none[CFT_SHORT_DIGEST_LEN];

	srv->c.unknown_session++;
	if (type == WIRE_PROBE || type == WIRE_FILE || type == WIRE_COMMIT || type == WIRE_SUMS)
		proto_send_error(&srv->stateless, from, session, WIRE_R_UNKNOWN_SESSION,
				 WIRE_NO_FILE, none, "no such session here");
}

static uint64_t header_session(const uint8_t *buf)
{
	uint64_t id = 0;

	for (int i = 0; i < 8; i++)
		id = id << 8 | buf[WIRE_SESSION_OFF + i];
	return id;
}

/*
 * Keyed: the datagram made keyless into out, if it is what a holder of our
 * key made for us: a signed HELLO, or a datagram sealed for the session it
 * names by that session's peer.  Returns its length, or -1 (counted, and
 * answered where that helps: a sender without our key is told so).
 */
static int unkey(struct recv_server *srv, const struct net_addr *from, const uint8_t *buf,
		 size_t len, uint8_t *out)
{
	struct recv_session *s;
	int rc;

	if (len < WIRE_HDR_LEN || buf[0] != WIRE_MAGIC0 || buf[1] != WIRE_MAGIC1 ||
	    buf[2] != CFT_PROTO_VERSION || len > CFT_DATAGRAM_BIG_MAX) {
		memcpy(out, buf, len < CFT_DATAGRAM_BIG_MAX ? len : CFT_DATAGRAM_BIG_MAX);
		return (int)len;	/* not ours to judge: decoded and counted */
	}
	if (buf[3] == WIRE_HELLO && !seal_is_sealed(buf, len)) {
		memcpy(out, buf, len);
		rc = seal_is_signed(buf, len) ? seal_unsign(srv->hello_key, out, len) : CFT_E_AUTH;
		if (rc == 0)
			return (int)len;
		if (rc == CFT_E_CHECKSUM)
			srv->c.bad_checksum++;
		else
			refuse_key(srv, from, buf, len, seal_is_signed(buf, len) ?
				   "not this receiver's key (is --key the same key on both sides?)" :
				   "this receiver requires a key (--key)");
		return -1;
	}
	if (!seal_is_sealed(buf, len)) {
		srv->c.unauthentic++;
		return -1;
	}
	s = find_session(srv, header_session(buf));
	if (!s) {
		unknown_session(srv, from, buf[3], header_session(buf));
		return -1;
	}
	if (!net_addr_equal(from, &s->peer)) {
		srv->c.wrong_peer++;
		return -1;
	}
	rc = seal_open(&s->seal, buf, len, out, CFT_DATAGRAM_BIG_MAX);
	if (rc == CFT_E_REPLAY)
		srv->c.replayed++;
	else if (rc < 0)
		srv->c.unauthentic++;
	return rc < 0 ? -1 : rc;
}

void recv_server_on_datagram(struct recv_server *srv, uint64_t now,
			     const struct net_addr *from, const uint8_t *buf, size_t len)
{
	uint8_t plain[CFT_DATAGRAM_BIG_MAX];
	struct wire_msg m;
	struct recv_session *s;

	srv->c.datagrams++;
	srv->stateless_budget = CFT_AMPLIFICATION * len;
	if (len > CFT_DATAGRAM_BIG_MAX) {
		srv->c.malformed++;	/* cut short by the loop: never read */
		return;
	}
	if (srv->keyed) {
		int n = unkey(srv, from, buf, len, plain);

		if (n < 0)
			return;
		buf = plain;
		len = (size_t)n;
	} else if (seal_is_signed(buf, len) || seal_is_sealed(buf, len)) {
		if (buf[3] == WIRE_HELLO)
			refuse_key(srv, from, buf, len, "this receiver has no key");
		else
			srv->c.malformed++;	/* a flag we do not know */
		return;
	}
	if (decode(srv, from, buf, len, &m) < 0)
		return;
	s = find_session(srv, m.session);
	if (!s) {
		if (m.type == WIRE_HELLO)
			on_hello(srv, now, from, &m);
		else
			unknown_session(srv, from, m.type, m.session);
		return;
	}
	if (!net_addr_equal(from, &s->peer)) {
		srv->c.wrong_peer++;
		return;
	}
	recv_session_on_msg(s, now, &m);
	recv_session_reap(s);
	reap(srv);
}

void recv_server_on_timer(struct recv_server *srv, uint64_t now)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (srv->sessions[i]) {
			recv_session_reap(srv->sessions[i]);
			recv_session_timer(srv->sessions[i], now);
		}
	reap(srv);
}

bool recv_server_holds(const struct recv_server *srv, const char *name)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		const struct recv_session *s = srv->sessions[i];

		for (int k = 0; s && k < 2; k++) {
			const struct recv_file *f = k ? s->behind : s->f;

			if (f && (strcmp(name, f->sf.tmpname) == 0 ||
				  strcmp(name, f->sf.statename) == 0))
				return true;
		}
	}
	return false;
}

uint64_t recv_server_next_deadline(const struct recv_server *srv, uint64_t now)
{
	uint64_t t = UINT64_MAX;

	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		uint64_t d;

		if (!srv->sessions[i])
			continue;
		d = recv_session_deadline(srv->sessions[i], now);
		if (d < t)
			t = d;
	}
	return t;
}
