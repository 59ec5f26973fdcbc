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

#include <stddef.h>
#include <stdint.h>

#include "send-state.h"

/* Start keyed (cfg.key set): our output goes through the keys. */
void send_keys_start(struct send_session *s);

/* A new session id or random: the keys of the old one no longer hold. */
void send_keys_forget(struct send_session *s);

/* The session's keys, from the random of an authentic HELLO_ACK. */
void send_keys_derive(struct send_session *s, const uint8_t random[CFT_RANDOM_LEN]);

/*
 * A datagram from the receiver, made keyless into out if it is authentic:
 * its length, or -1 (dropped; a refusal of our key noted).
 */
int send_keys_open(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len,
		   uint8_t *out);

/* Refused for our key, and nothing authentic since, for the grace period:
 * fails the session (exit 6) and returns true. */
bool send_keys_refused(struct send_session *s, uint64_t now);

#endif
