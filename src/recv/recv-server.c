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
#include "cft/wire.h"
#include "recv-server.h"
#include "recv-reply.h"
#include "recv-session.h"

/* Every answer to an address not yet proven goes through here: no more
 * than CFT_AMPLIFICATION times the datagram it answers. */
static void stateless_datagram(void *ctx, const struct net_addr *to, const uint8_t *buf,
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

int recv_server_init(struct recv_server *srv, int dirfd, uint64_t timeout_us,
		     struct recv_io io)
{
	memset(srv, 0, sizeof(*srv));
	srv->dirfd = dirfd;
	srv->timeout_us = timeout_us;
	srv->io = io;
	srv->stateless = (struct proto_out){ stateless_datagram, srv };
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
				if (s->status == CFT_EXIT_OK && s->next_file == s->nfiles)
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

/* Made for this address, port and session, in this period or the last? */
static bool cookie_holds(const struct recv_server *srv, uint64_t now,
			 const struct net_addr *from, uint64_t session,
			 const uint8_t cookie[CFT_COOKIE_LEN])
{
	uint64_t period = now / CFT_COOKIE_PERIOD_US;
	uint8_t want[CFT_COOKIE_LEN];

	make_cookie(srv, period, from, session, want);
	if (digest_equal_n(want, cookie, CFT_COOKIE_LEN))
		return true;
	if (period == 0)
		return false;
	make_cookie(srv, period - 1, from, session, want);
	return digest_equal_n(want, cookie, CFT_COOKIE_LEN);
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

static void on_hello(struct recv_server *srv, uint64_t now, const struct net_addr *from,
		     const struct wire_msg *m)
{
	const struct wire_hello *h = &m->u.hello;

	if (h->block_size < CFT_BLOCK_SIZE_MIN || h->block_size > CFT_BLOCK_SIZE_MAX ||
	    h->nfiles == 0 || h->nfiles > CFT_FILES_MAX || h->features != 0) {
		refuse_hello(srv, from, m, WIRE_R_BAD_REQUEST, "session parameters out of range");
		return;
	}
	if (!cookie_holds(srv, now, from, m->session, h->cookie)) {
		send_cookie(srv, now, from, m);
		return;
	}
	if (sessions_from(srv, from) >= CFT_SESSIONS_PER_SOURCE) {
		refuse_hello(srv, from, m, WIRE_R_BUSY, "too many sessions from this address");
		return;
	}
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		if (!srv->sessions[i]) {
			/* NULL when out of memory: the sender will ask again. */
			srv->sessions[i] = recv_session_new(srv, now, from, m->session, h);
			return;
		}
	}
	refuse_hello(srv, from, m, WIRE_R_BUSY, "too many sessions");
}

/* A HELLO of a version we do not speak: say so, referring to the very
 * bytes received, so that an answer to a damaged HELLO is not believed. */
static void refuse_version(struct recv_server *srv, const struct net_addr *from,
			   const struct wire_msg *m, const uint8_t *buf, size_t len)
{
	uint8_t whole[CFT_DIGEST_LEN], ref[CFT_SHORT_DIGEST_LEN];

	digest_sha256(buf, len, whole);
	proto_error_ref(whole, WIRE_R_VERSION, WIRE_NO_FILE, ref);
	proto_send_error(&srv->stateless, from, m->session, WIRE_R_VERSION, WIRE_NO_FILE, ref,
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

void recv_server_on_datagram(struct recv_server *srv, uint64_t now,
			     const struct net_addr *from, const uint8_t *buf, size_t len)
{
	struct wire_msg m;
	struct recv_session *s;

	srv->c.datagrams++;
	srv->stateless_budget = CFT_AMPLIFICATION * len;
	if (decode(srv, from, buf, len, &m) < 0)
		return;
	s = find_session(srv, m.session);
	if (!s) {
		if (m.type == WIRE_HELLO) {
			on_hello(srv, now, from, &m);
			return;
		}
		srv->c.unknown_session++;
		/* A sender whose receiver restarted: tell it to start over (it
		 * resumes).  Never in answer to DATA, which comes in floods. */
		if (m.type == WIRE_PROBE || m.type == WIRE_FILE || m.type == WIRE_COMMIT ||
		    m.type == WIRE_SUMS) {
			/* Nothing known to refer to: the sender starts over,
			 * which a damaged answer costs no more than. */
			static const uint8_t none[CFT_SHORT_DIGEST_LEN];

			proto_send_error(&srv->stateless, from, m.session, WIRE_R_UNKNOWN_SESSION,
					 WIRE_NO_FILE, none, "no such session here");
		}
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

		if (s && s->f && (strcmp(name, s->f->sf.tmpname) == 0 ||
				  strcmp(name, s->f->sf.statename) == 0))
			return true;
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
