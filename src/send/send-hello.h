/*
 * Opening a sender session (send-hello.c), and what it needs of the
 * session's phases (send-session.c).  Private to the sender's engine.
 */
#ifndef CFT_SEND_HELLO_H
#define CFT_SEND_HELLO_H

#include <stdint.h>

#include "cft/wire.h"
#include "send-state.h"

/* Use session id `id`: a fresh random, our HELLO's digests, no cookie. */
void send_set_session(struct send_session *s, uint64_t id);
/* Another session id, derived from the last. */
void send_next_session(struct send_session *s);
/* Send our HELLO (with the cookie, if we have one). */
void send_hello(struct send_session *s, uint64_t now);
void send_on_hello_ack(struct send_session *s, uint64_t now, const struct wire_hello_ack *a);
/* A datagram of another protocol version, decoded as far as it goes. */
void send_on_other_version(struct send_session *s, uint64_t now, const struct wire_msg *m);

/* send-session.c's, for the handshake and the check: the receiver
 * answered; open the current file and offer it; the receiver forgot us, so
 * start over; the current file is done (committed, or a dry run's answer
 * in): on to the next, or the end. */
void send_heard(struct send_session *s, uint64_t now);
void send_file_done(struct send_session *s, uint64_t now);
void send_start_file(struct send_session *s, uint64_t now);
void send_reconnect(struct send_session *s, uint64_t now);

#endif
