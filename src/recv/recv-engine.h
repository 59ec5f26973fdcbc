/*
 * The receiver engine's vocabulary, shared by the session table
 * (recv-server.c), the sessions (recv-session.c) and the program that runs
 * them: the events it reports, where its datagrams go, what it counts, and
 * the server's state.  The functions are in recv-server.h.
 */
#ifndef CFT_RECV_ENGINE_H
#define CFT_RECV_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/limits.h"
#include "cft/net.h"
#include "cft/proto.h"

/* What happens, in the order it happens. */
enum recv_event_kind {
	RECV_EV_OPENED,			/* a session began: nfiles, block_size */
	RECV_EV_RECEIVING,		/* a file offered, received afresh: size, blocks */
	RECV_EV_CHECKING,		/* a file offered: what is here is checked first
					 * (existing: the final file, else a partial) */
	RECV_EV_BLOCK_FAILED,		/* a block failed its digest: asked again */
	RECV_EV_READBACK,		/* every block written: reading it back (round) */
	RECV_EV_DIFFERS,		/* a block differs on disk: asked again */
	RECV_EV_COMMITTED,		/* under its final name: size, digest, existing */
	RECV_EV_ENDED,			/* the session is over: status, why, usec */
};

struct recv_event {
	enum recv_event_kind kind;
	uint64_t session;
	const char *peer;		/* "1.2.3.4:5678" */
	const char *name;		/* the file's, or NULL */
	uint64_t size;
	uint32_t blocks, block, round;
	uint32_t nfiles, block_size;	/* RECV_EV_OPENED */
	bool existing;
	const uint8_t *digest;		/* RECV_EV_COMMITTED */
	int status;			/* RECV_EV_ENDED: enum cft_exit */
	const char *why;		/* RECV_EV_ENDED: NULL when all went well */
	uint64_t usec;			/* RECV_EV_ENDED: the session's length */
};

struct recv_io {
	struct proto_out out;
	/* Optional: called for every event. */
	void (*event)(void *ctx, const struct recv_event *ev);
	void *event_ctx;
};

/* What the receiver dropped, and why, plus what it repaired.  Peer garbage is
 * counted here, never trusted and never fatal. */
struct recv_counters {
	uint64_t datagrams;		/* everything that arrived */
	uint64_t bad_checksum;
	uint64_t bad_tag;		/* damage past the checksum, caught by the tag */
	uint64_t bad_magic;		/* not cft at all */
	uint64_t truncated;
	uint64_t malformed;		/* bad field, bad type, bytes left over */
	uint64_t bad_version;
	uint64_t unknown_session;
	uint64_t wrong_peer;		/* right session, wrong source address */
	uint64_t stale;			/* for a file or round no longer current */
	uint64_t duplicate;
	uint64_t window_full;		/* block outside the receive window */
	uint64_t bad_chunk;		/* chunk not matching its digest: re-requested */
	uint64_t bad_offer;		/* FILE not matching its offer digest: dropped */
	uint64_t unmatched;		/* COMMIT, ERROR or BYE not about what we hold */
	uint64_t block_mismatch;	/* block failed its root: its chunks checked */
	uint64_t readback_mismatch;	/* block differed on disk at read-back */
	uint64_t refused;		/* sessions or files refused */
	uint64_t cookies;		/* HELLOs answered with a cookie, nothing kept */
	uint64_t withheld;		/* answers larger than CFT_AMPLIFICATION times
					 * what an unproven address sent: not sent */
	uint64_t not_loopback;		/* from beyond loopback, without --insecure */
	uint64_t bad_key;		/* HELLO without our key: refused */
	uint64_t unauthentic;		/* keyed datagram failing its tag: damaged
					 * or forged (it has no other check) */
	uint64_t replayed;		/* keyed datagram or session seen before */
	uint64_t passed;		/* files committed behind the next */
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
	bool threads;			/* disk work on threads (worker.h); false:
					 * inline, for tests */
	unsigned disk_lag;		/* tests, inline: each disk job is seen to
					 * end so many events late (worker.h) */
	uint8_t secret[CFT_COOKIE_SECRET_LEN];	/* for cookies; drawn at start */
	bool keyed;			/* --key: every datagram signed or sealed */
	uint8_t key[CFT_KEY_LEN];
	uint8_t hello_key[CFT_KEY_LEN];	/* seal_hello_key(key) */
	/* The HELLOs of the sessions opened while their cookies hold: none
	 * opens twice (a keyed session played again from a recording). */
	struct {
		uint8_t hello[CFT_SHORT_DIGEST_LEN];
		uint64_t at;
	} opened[CFT_REPLAY_SESSIONS];
	uint32_t mode_mask;		/* permission bits files may get (umask out) */
	uint64_t reserve;		/* free bytes left to others (--reserve) */
	uint64_t partial_quota;		/* abandoned partial files, bytes at most */
	uint64_t evicted_at;		/* when they were last counted (0: never) */
	/* Answers to an address that has not shown it receives at it: the
	 * datagram being answered may get at most this many bytes back. */
	struct proto_out stateless;	/* signed when keyed */
	struct proto_out plain;		/* never signed: "not our key" */
	size_t stateless_budget;
	unsigned sessions_done;		/* finished sessions, any outcome */
	unsigned sessions_complete;	/* ... that committed every file */
	int last_status;		/* exit status of the last finished one */
};

#endif
