/*
 * What a receiver session says: STATUS reports, ERRORs tied to what they
 * answer, the events it reports to its program, and its ending.  Below
 * recv-session.c and recv-verify.c, which both speak through it.
 */
#ifndef CFT_RECV_REPLY_H
#define CFT_RECV_REPLY_H

#include <stdint.h>

#include "cft/wire.h"
#include "recv-state.h"

/* An event about the session, and about its current file but for the
 * session's own (opened, ended). */
void recv_say_event(struct recv_session *s, struct recv_event *ev);
/* The same, of file f (the one in progress, or the one behind it). */
void recv_say_event_of(struct recv_session *s, const struct recv_file *f, struct recv_event *ev);

/* A datagram to the session's peer. */
void recv_say(struct recv_session *s, const struct wire_msg *m);

/* Tell the sender where file `idx` stands (nothing for a file not offered). */
void recv_say_status(struct recv_session *s, uint32_t idx);

/* An ERROR about file `file` of the offer `offer` (NULL: about the session,
 * tied to its HELLO). */
void recv_say_error(struct recv_session *s, unsigned reason, uint32_t file,
		    const uint8_t *offer, const char *text);

/* End the session with an exit status, reported once; a partial file is kept
 * for a resume when the sender may come back (status 4), else removed. */
void recv_session_end(struct recv_session *s, int status, const char *why);

/* A fatal problem with the current file: tell the sender (the detail, such
 * as "write: No space left on device", goes on the wire) and end. */
void recv_fail_file(struct recv_session *s, unsigned reason, const char *detail);
/* The same for a failed system call `what`, from errno. */
void recv_fail_io(struct recv_session *s, const char *what);
/* The same, of file f (the one behind, when it is its commit that failed). */
void recv_fail_file_of(struct recv_session *s, const struct recv_file *f, unsigned reason,
		       const char *detail);
void recv_fail_io_of(struct recv_session *s, const struct recv_file *f, const char *what);

#endif
