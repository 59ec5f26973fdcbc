/*
 * One receiver session, as the server (recv-server.c) drives it: the files
 * of one sender, one after another, from offer to commit.  Private to the
 * receiver's engine.
 */
#ifndef CFT_RECV_SESSION_H
#define CFT_RECV_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/filesum.h"
#include "cft/net.h"
#include "cft/wire.h"
#include "recv-blocks.h"
#include "recv-engine.h"
#include "store.h"

/* The file in progress. */
struct recv_file {
	uint32_t index;
	uint64_t size;
	uint8_t state;			/* enum wire_fstate */
	uint32_t round;
	struct store_file sf;
	struct store_source src;
	enum store_origin origin;
	bool no_clobber;
	bool flushed;			/* durable, and dropped from the page cache */
	struct filesum rb;		/* the read-back's digests */
	uint32_t sums_have;		/* sender's block digests received */
};

struct recv_session {
	struct recv_server *srv;
	uint64_t id;
	struct net_addr peer;
	char peer_str[64];
	uint32_t nfiles;
	uint32_t next_file;		/* files [0, next_file) are committed */
	struct recv_file *f;		/* the file in progress, if any */
	struct recv_blocks blocks;
	uint32_t rx_seq;		/* highest DATA sequence number seen */
	uint32_t rx_count;		/* DATA datagrams received */
	uint64_t echo;			/* PROBE echo for the next STATUS */
	unsigned unreported;		/* DATA since the last STATUS */
	uint64_t unreported_since;
	uint64_t last_heard;
	uint64_t started;
	bool over;
	bool superseded;		/* taken over by a newer session */
	int status;
};

/* A session for an accepted HELLO (already checked), and its HELLO_ACK.
 * Returns NULL when out of memory (the sender asks again). */
struct recv_session *recv_session_new(struct recv_server *srv, uint64_t now,
				      const struct net_addr *from, uint64_t id,
				      const struct wire_hello *h);
/* A decoded datagram of this session, from its peer. */
void recv_session_on_msg(struct recv_session *s, uint64_t now, const struct wire_msg *m);
/* Work that is due: time-outs, a delayed STATUS, a step of a read-back. */
void recv_session_timer(struct recv_session *s, uint64_t now);
/* Absolute time (us) by which recv_session_timer must run. */
uint64_t recv_session_deadline(const struct recv_session *s, uint64_t now);
/* End the session with an exit status, reported once; a partial file is kept
 * for a resume when the sender may come back (status 4), else removed. */
void recv_session_end(struct recv_session *s, int status, const char *why);
void recv_session_free(struct recv_session *s);

#endif
