/*
 * The receiver's protocol engine: a table of sessions driven by datagrams
 * and a clock.  No sockets: datagrams come in through recv_server_on_datagram
 * and go out through io.emit, and time is an argument, so tests can drive it
 * with a fake clock.  Files are real (store.c) because the read-back from
 * disk is the point of the exercise.
 */
#ifndef CFT_RECV_SESSION_H
#define CFT_RECV_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/limits.h"
#include "cft/net.h"

struct recv_io {
	void (*emit)(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len);
	void *ctx;
	/* Optional reports, for --json: a file committed, a session over. */
	void (*committed)(void *ctx, uint64_t session, const char *name, uint64_t size,
			  const uint8_t digest[CFT_DIGEST_LEN]);
	void (*ended)(void *ctx, uint64_t session, const char *peer, int status,
		      const char *why, uint64_t usec);
};

/* What the receiver dropped, and why, plus what it repaired.  Peer garbage is
 * counted here, never trusted and never fatal. */
struct recv_counters {
	uint64_t datagrams;		/* everything that arrived */
	uint64_t bad_checksum;
	uint64_t bad_magic;		/* not cft at all */
	uint64_t truncated;
	uint64_t malformed;		/* bad field, bad type, bytes left over */
	uint64_t bad_version;
	uint64_t unknown_session;
	uint64_t wrong_peer;		/* right session, wrong source address */
	uint64_t stale;			/* for a file or round no longer current */
	uint64_t duplicate;
	uint64_t window_full;		/* block outside the receive window */
	uint64_t block_mismatch;	/* block failed its digest: re-requested */
	uint64_t readback_mismatch;	/* block differed on disk at read-back */
	uint64_t refused;		/* sessions or files refused */
	uint64_t files_committed;
	uint64_t bytes_committed;
};

struct recv_session;

struct recv_server {
	int dirfd;			/* destination, borrowed */
	uint64_t timeout_us;		/* a silent sender is dropped after this */
	struct recv_io io;
	struct recv_session *sessions[CFT_SESSIONS_MAX];
	struct recv_counters c;
	uint8_t *rbbuf;			/* read-back buffer, CFT_READBACK_STEP */
	unsigned sessions_done;		/* finished sessions, any outcome */
	int last_status;		/* exit status of the last finished one */
};

/* Returns 0 or CFT_E_NOMEM. */
int recv_server_init(struct recv_server *srv, int dirfd, uint64_t timeout_us,
		     struct recv_io io);
/* Ends every session (temporary files removed) and frees memory. */
void recv_server_free(struct recv_server *srv);

void recv_server_on_datagram(struct recv_server *srv, uint64_t now,
			     const struct net_addr *from, const uint8_t *buf, size_t len);
void recv_server_on_timer(struct recv_server *srv, uint64_t now);
/* Absolute time (us) by which on_timer must run; UINT64_MAX when idle. */
uint64_t recv_server_next_deadline(const struct recv_server *srv, uint64_t now);

#endif
