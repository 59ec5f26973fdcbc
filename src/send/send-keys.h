/*
 * A sender's keys (seal.h): what it says is signed (HELLO) or sealed
 * (everything else, once the receiver's HELLO_ACK has given the session's
 * keys), and what it hears is believed only if it was made with the key.
 * The one exception, a receiver's word that our key is not its own (it
 * cannot sign it for us), is taken as a hint: the session fails with exit 6
 * only if nothing authentic arrives within CFT_KEY_GRACE_US.
 */
#ifndef CFT_SEND_KEYS_H
#define CFT_SEND_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "send-state.h"

/* Start keyed (cfg.key set): our output goes through the keys. */
void send_keys_start(struct send_session *s);

/* A new session id or random: the keys of the old one no longer hold. */
void send_keys_forget(struct send_session *s);

/* The session's keys, from the random of an authentic HELLO_ACK: true, or
 * false when the session has keys from another random already (the caller
 * opens another session: a session id never has two). */
bool send_keys_derive(struct send_session *s, const uint8_t random[CFT_RANDOM_LEN]);

/* An unsigned refusal that refers to our HELLO (our key refused, or our
 * version): anyone on the path could have sent it, so the session fails
 * with `status` and `why` only if nothing authentic comes for the grace
 * period, and it is ignored once something authentic came. */
void send_keys_hint(struct send_session *s, uint64_t now, int status, const char *why);

/* A signed "unknown session": the receiver restarted, or somebody replays
 * one of its answers.  The same grace: send_keys_forgotten tells when to
 * start over. */
void send_keys_unknown(struct send_session *s, uint64_t now);
bool send_keys_forgotten(struct send_session *s, uint64_t now);

/* An authentic answer about our HELLO came (a signed HELLO_ACK for it):
 * refusals from now on are somebody else's. */
void send_keys_authentic(struct send_session *s);

/* When the next of those is due (UINT64_MAX: none). */
uint64_t send_keys_deadline(const struct send_session *s);

/*
 * A datagram from the receiver, made keyless into out if it is authentic:
 * its length, or -1 (dropped; a refusal of our key noted).
 */
int send_keys_open(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len,
		   uint8_t *out);

/* A hint, and nothing authentic since, for the grace period: fails the
 * session (its exit status: 6 for a key, 2 for a version) and returns true. */
bool send_keys_refused(struct send_session *s, uint64_t now);

#endif
