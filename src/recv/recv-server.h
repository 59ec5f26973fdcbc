/*
 * The receiver's protocol engine: a table of sessions driven by datagrams
 * and a clock.  No sockets: datagrams come in through recv_server_on_datagram
 * and go out through io.out, time is an argument, and what happens is
 * reported as typed events (io.event), so that tests can drive it with a
 * fake clock and the program renders it (-v text, --json).  Files are real
 * (store.h) because the read-back from disk is the point of the exercise.
 */
#ifndef CFT_RECV_SERVER_H
#define CFT_RECV_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/net.h"
#include "recv-engine.h"

/* Returns 0 or CFT_E_NOMEM. */
int recv_server_init(struct recv_server *srv, int dirfd, uint64_t timeout_us,
		     struct recv_io io);
/* Ends every session (each reported, its partial file kept for a resume)
 * and frees memory. */
void recv_server_free(struct recv_server *srv);

/* Keys: from now on every datagram signed or sealed under this key. */
void recv_server_set_key(struct recv_server *srv, const uint8_t key[CFT_KEY_LEN]);

void recv_server_on_datagram(struct recv_server *srv, uint64_t now,
			     const struct net_addr *from, const uint8_t *buf, size_t len);
void recv_server_on_timer(struct recv_server *srv, uint64_t now);
/* Is `name` in DIR a file of a live session (its temporary or state file)? */
bool recv_server_holds(const struct recv_server *srv, const char *name);
/* Absolute time (us) by which on_timer must run; UINT64_MAX when idle. */
uint64_t recv_server_next_deadline(const struct recv_server *srv, uint64_t now);

#endif
