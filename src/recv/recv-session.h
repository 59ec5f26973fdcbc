/*
 * One receiver session, as the server (recv-server.c) drives it: the files
 * of one sender, one after another, from offer to commit.  Private to the
 * receiver's engine.
 */
#ifndef CFT_RECV_SESSION_H
#define CFT_RECV_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/net.h"
#include "cft/wire.h"
#include "recv-state.h"

/* A session for an accepted HELLO (already checked), and its HELLO_ACK.
 * Returns NULL when out of memory (the sender asks again). */
/* Would the file leave less than the reserve free, with what the other
 * sessions still receive (once abandoned partial files past the quota made
 * room)?  Then it fails (disk full) and true is returned. */
bool recv_session_no_room(struct recv_session *s, struct recv_file *f);

/* Blocks a session of this block size holds open (HELLO_ACK's window). */
uint32_t recv_window_blocks(uint32_t block_size);
/* DATA datagrams of `chunk`-byte chunks that make a STATUS: CFT_STATUS_EVERY
 * default chunks' worth of bytes, rounded up. */
unsigned recv_status_every(uint32_t chunk);

/* A session opened by HELLO h from `from`; `random` is ours, for the
 * HELLO_ACK and, keyed, the session keys.  NULL when out of memory. */
struct recv_session *recv_session_new(struct recv_server *srv, uint64_t now,
				      const struct net_addr *from, uint64_t id,
				      const struct wire_hello *h,
				      const uint8_t random[CFT_RANDOM_LEN]);
/* A dry run's file answered: on to the next (or the end). */
void recv_session_dry_done(struct recv_session *s);
/* May file f, the one in progress, be passed behind the next?  Said to the
 * sender in a VERIFYING STATUS ("next"). */
bool recv_session_can_pass(const struct recv_session *s, const struct recv_file *f);
/* The file behind did not commit: make it the file in progress again, the
 * one after it put aside for its offer to come again.  Returns 0, or -1
 * when the session failed (out of memory). */
int recv_session_take_back(struct recv_session *s);

/* A decoded datagram of this session, from its peer. */
void recv_session_on_msg(struct recv_session *s, uint64_t now, const struct wire_msg *m);
/* Work that is due: time-outs, a delayed STATUS, a step of a read-back. */
void recv_session_timer(struct recv_session *s, uint64_t now);
/* Hand finished disk work back to the session (recv-disk.h). */
void recv_session_reap(struct recv_session *s);
/* Absolute time (us) by which recv_session_timer must run. */
uint64_t recv_session_deadline(const struct recv_session *s, uint64_t now);
void recv_session_free(struct recv_session *s);

#endif
