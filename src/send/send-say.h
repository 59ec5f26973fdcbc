/*
 * What a sender session says and reports: its datagrams, its ERRORs (tied
 * to its HELLO), its events, and its failure.  Below send-session.c and
 * send-verify.c, which both speak through it.
 */
#ifndef CFT_SEND_SAY_H
#define CFT_SEND_SAY_H

#include "cft/wire.h"
#include "send-state.h"

/* A zeroed message of `type` for the session. */
void send_msg(struct send_session *s, struct wire_msg *m, uint8_t type);
/* A datagram to the receiver. */
void send_say(struct send_session *s, const struct wire_msg *m);
/* An ERROR about the file in progress (or the session), tied to our HELLO. */
void send_say_error(struct send_session *s, unsigned reason, const char *text);
/* Report an event about the file in progress. */
void send_event(struct send_session *s, enum send_event_kind kind);
/* The same, of file `file` in round `round` (not the file in progress). */
void send_event_of(struct send_session *s, enum send_event_kind kind, uint32_t file,
		   uint32_t round);
/* Fail the session (once) with an exit status and a message. */
void send_fail(struct send_session *s, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A read of the source failed (rc from source.h): it changed, or the disk did. */
void send_fail_source(struct send_session *s, int rc);
/* Something moved: the no-progress clock starts again. */
static inline void send_progress(struct send_session *s, uint64_t now)
{
	s->last_progress = now;
}

#endif
