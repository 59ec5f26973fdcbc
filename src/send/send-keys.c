/* A sender's keys: signing, sealing, and what it believes (send-keys.h). */
#include <stdio.h>
#include <string.h>

#include "cft/check.h"
#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/util.h"
#include "send-keys.h"
#include "send-say.h"

/* Everything the session says, keyed: the HELLO signed, the rest sealed.
 * Before the session has keys only the HELLO can go; nothing else would
 * mean anything to the receiver yet. */
static void keyed_datagram(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len)
{
	struct send_session *s = ctx;
	uint8_t out[CFT_DATAGRAM_BIG_MAX];
	int n;

	if (buf[3] == WIRE_HELLO) {
		memcpy(out, buf, len);
		seal_sign(s->keys.hello_key, out, len);
		n = (int)len;
	} else if (s->keys.ready) {
		n = seal_close(&s->keys.seal, buf, len, out, sizeof(out));
		CFT_ASSERT(n > 0);	/* a chunk leaves room for the tag */
	} else {
		return;
	}
	s->cfg.out.datagram(s->cfg.out.ctx, to, out, (size_t)n);
}

void send_keys_start(struct send_session *s)
{
	seal_hello_key(s->cfg.key, s->keys.hello_key);
	s->out = (struct proto_out){ .datagram = keyed_datagram, .ctx = s };
	s->data.out = s->out;
}

void send_keys_forget(struct send_session *s)
{
	if (s->keys.ready)
		seal_free(&s->keys.seal);
	s->keys.ready = false;
	s->keys.authentic = false;
	s->keys.hint_at = s->keys.unknown_at = 0;
}

bool send_keys_derive(struct send_session *s, const uint8_t random[CFT_RANDOM_LEN])
{
	if (!s->cfg.key)
		return true;
	/*
	 * One receiver random per session id.  Keys derived again for another
	 * random would number their datagrams from 0 once more; switching back
	 * (a replayed HELLO_ACK) would then use a key and nonce twice, which
	 * gives the cipher away.  Another random means another session.
	 */
	if (s->keys.ready)
		return memcmp(random, s->keys.peer_random, CFT_RANDOM_LEN) == 0;
	if (seal_init(&s->keys.seal, s->cfg.key, s->id, s->random, random, true) < 0) {
		send_fail(s, CFT_EXIT_LOCAL, "out of memory");
		return true;
	}
	memcpy(s->keys.peer_random, random, CFT_RANDOM_LEN);
	s->keys.ready = true;
	return true;
}

void send_keys_hint(struct send_session *s, uint64_t now, int status, const char *why)
{
	/* Once a holder of the key has answered this session, an unsigned
	 * refusal is somebody else's. */
	if (s->keys.authentic) {
		s->stats.ignored++;
		return;
	}
	if (!s->keys.hint_at) {
		s->keys.hint_at = now ? now : 1;
		s->keys.hint_status = status;
		snprintf(s->keys.hint_why, sizeof(s->keys.hint_why), "%s", why);
	}
}

/* An unsigned ERROR: the receiver says our key (or our lack of one) is not
 * its own, and could not sign that for us.  Noted if it answers our HELLO. */
static void note_refusal(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len)
{
	char text[CFT_ERROR_MSG_MAX + 1], why[CFT_ERROR_MSG_MAX + 40];
	uint8_t ref[CFT_SHORT_DIGEST_LEN];
	struct wire_msg m;

	if (wire_decode(buf, len, &m) < 0 || m.type != WIRE_ERROR || m.session != s->id ||
	    m.u.error.reason != WIRE_R_KEY)
		return;
	proto_error_ref(s->hello, WIRE_R_KEY, m.u.error.file, ref);
	if (!digest_equal_n(ref, m.u.error.ref, CFT_SHORT_DIGEST_LEN)) {
		s->stats.ignored++;
		return;
	}
	util_sanitize(m.u.error.msg, m.u.error.msg_len, text, sizeof(text));
	snprintf(why, sizeof(why), "the receiver refused our key%s%s", text[0] ? ": " : "",
		 text);
	send_keys_hint(s, now, CFT_EXIT_AUTH, why);
}

int send_keys_open(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len,
		   uint8_t *out)
{
	int rc;

	if (len > CFT_DATAGRAM_MAX)
		return -1;
	if (seal_is_signed(buf, len)) {
		memcpy(out, buf, len);
		rc = seal_unsign(s->keys.hello_key, out, len);
		rc = rc < 0 ? rc : (int)len;
	} else if (seal_is_sealed(buf, len) && s->keys.ready) {
		rc = seal_open(&s->keys.seal, buf, len, out, CFT_DATAGRAM_MAX);
		if (rc > 0) {
			/* Only this session's receiver can say this. */
			send_keys_authentic(s);
			s->keys.unknown_at = 0;
		}
	} else {
		struct wire_msg m;

		/* Unsigned: a receiver of another version may say so (a hint,
		 * as below: send-hello.c). */
		memcpy(out, buf, len);
		if (wire_decode(out, len, &m) == CFT_E_VERSION)
			return (int)len;
		note_refusal(s, now, buf, len);
		return -1;
	}
	if (rc < 0) {
		s->stats.ignored++;
		return -1;
	}
	return rc;
}

void send_keys_authentic(struct send_session *s)
{
	s->keys.authentic = true;
	s->keys.hint_at = 0;
}

void send_keys_unknown(struct send_session *s, uint64_t now)
{
	if (!s->keys.unknown_at)
		s->keys.unknown_at = now ? now : 1;
}

bool send_keys_refused(struct send_session *s, uint64_t now)
{
	if (!s->keys.hint_at || now < s->keys.hint_at + CFT_KEY_GRACE_US)
		return false;
	send_fail(s, s->keys.hint_status, "session: %s", s->keys.hint_why);
	return true;
}

bool send_keys_forgotten(struct send_session *s, uint64_t now)
{
	if (!s->keys.unknown_at || now < s->keys.unknown_at + CFT_KEY_GRACE_US)
		return false;
	s->keys.unknown_at = 0;
	return true;
}

uint64_t send_keys_deadline(const struct send_session *s)
{
	uint64_t t = UINT64_MAX;

	if (s->keys.hint_at)
		t = s->keys.hint_at + CFT_KEY_GRACE_US;
	if (s->keys.unknown_at && s->keys.unknown_at + CFT_KEY_GRACE_US < t)
		t = s->keys.unknown_at + CFT_KEY_GRACE_US;
	return t;
}
