/*
 * The sender's protocol engine: the phases of a session (HELLO, then for
 * each file OFFER, DATA, VERIFY, SUMS when the digests differ, COMMIT; then
 * BYE).  It has no sockets, no clock and no system calls of its own: the
 * program's event loop (or a test) drives send_on_datagram, send_on_timer
 * and send_next_deadline with the time as an argument; datagrams leave
 * through cfg.out and what happens is reported as typed events.  The files
 * are read through source.h; the data phase is send-data.c's, scheduled by
 * sched.h, with round trips and the windows flow.h's; the end-to-end check
 * is send-verify.c's.
 */
#ifndef CFT_SEND_SESSION_H
#define CFT_SEND_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "send-engine.h"

struct send_session;

/* A new session, or NULL when out of memory. */
struct send_session *send_new(const struct send_config *cfg);
void send_free(struct send_session *s);
/* Start the clock: the peer has `timeout` from now to answer. */
void send_start(struct send_session *s, uint64_t now);

void send_on_datagram(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len);
void send_on_timer(struct send_session *s, uint64_t now);
/* Absolute time (us) by which send_on_timer must run. */
uint64_t send_next_deadline(const struct send_session *s, uint64_t now);

/* Finished (done or failed)?  Then its exit status (enum cft_exit) and, on
 * failure, a one-line message naming the file and the cause. */
bool send_finished(const struct send_session *s);
int send_outcome(const struct send_session *s);
const char *send_error(const struct send_session *s);
enum send_phase send_phase(const struct send_session *s);
const struct send_stats *send_stats(const struct send_session *s);

/* Give up (a signal): tell the receiver and fail with the given status. */
void send_abort(struct send_session *s, int status, const char *why);
/* Has the receiver ever answered this run? */
bool send_answered(const struct send_session *s);
/* Does the receiver check what it holds of the current file (a partial
 * file, or the final one), rather than receive it afresh? */
bool send_held(const struct send_session *s);
/* May datagrams larger than CFT_DATAGRAM_MAX leave now (a padded HELLO, or
 * DATA of the session's larger chunks)? */
bool send_large_datagrams(const struct send_session *s);
/* The route to the receiver now takes chunks of at most chunk_max bytes
 * (proto_path_chunk of its MTU, which an ICMP may have lowered): a session
 * or HELLO of larger chunks starts again with what it takes. */
void send_route_mtu(struct send_session *s, uint64_t now, uint32_t chunk_max);
/* The datagrams go to another of the receiver's addresses from now on,
 * whose route takes chunks of up to chunk_max bytes (send_path_chunk). */
void send_peer_moved(struct send_session *s, uint64_t now, uint32_t chunk_max);

#endif
