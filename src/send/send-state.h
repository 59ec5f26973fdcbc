/*
 * What a sender session holds: its configuration and phase, the data phase
 * (send-data.h), and the file in progress with its facts (what it offers
 * and what it expects the receiver to commit).  Shared by the engine's files
 * (send-session.c, send-verify.c, send-say.c); private to them.
 */
#ifndef CFT_SEND_STATE_H
#define CFT_SEND_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/filesum.h"
#include "cft/proto.h"
#include "cft/seal.h"
#include "cft/worker.h"
#include "send-data.h"
#include "send-engine.h"
#include "source.h"
#include "vread.h"

/* What the receiver reports it would commit (a VERIFIED STATUS). */
struct send_report_of {
	struct proto_facts facts;
	bool existing;
	uint8_t commit[CFT_DIGEST_LEN];	/* over its facts and its content */
};

struct send_session {
	struct send_config cfg;
	uint64_t id;			/* the session id in use */
	uint8_t hello[CFT_DIGEST_LEN];	/* proto_hello_digest of our HELLO */
	uint32_t chunk;			/* the session's chunk size: the HELLO's */
	/* A HELLO asking for larger chunks (cfg.chunk_max) goes beside the
	 * first, padded to their size: whichever the receiver answers first
	 * decides the session's chunks.  `other` is the one not taken. */
	uint8_t hello_big[CFT_DIGEST_LEN];
	uint8_t hello_other[CFT_DIGEST_LEN];
	struct {			/* larger chunks no longer arriving? */
		uint32_t count;		/* the receiver's DATA count ... */
		uint64_t since;		/* ... unchanged, DATA on its way, since */
		uint32_t seq;		/* ... when our last DATA was this */
	} stall;
	uint8_t hello_sent[CFT_DIGEST_LEN];	/* SHA-256 of the HELLO datagram */
	uint64_t hello_at;			/* when the last HELLO went */
	uint8_t cookie[CFT_COOKIE_LEN];		/* the receiver's, for this session */
	uint8_t random[CFT_RANDOM_LEN];		/* ours, for this session */
	uint32_t sessions;			/* session ids used so far */
	uint32_t first;				/* the HELLO's first file */
	struct proto_out out;			/* to the receiver: cfg.out, or
						 * through the keys */
	struct {				/* keyed: cfg.key (send-keys.c) */
		uint8_t hello_key[CFT_KEY_LEN];
		bool ready;			/* seal holds the session's keys */
		uint8_t peer_random[CFT_RANDOM_LEN];	/* theirs, in seal */
		struct seal seal;
		bool authentic;			/* this session heard one holding
						 * the key: refusals are forged */
		uint64_t hint_at;		/* an unsigned refusal heard (0: not) */
		int hint_status;		/* ... the exit status it means */
		char hint_why[CFT_ERROR_MSG_MAX + 64];
		uint64_t unknown_at;		/* a signed "unknown session" (0: not) */
	} keys;
	bool opened;				/* the receiver holds the session */
	bool answered;				/* heard from the receiver, ever */
	bool held;				/* the receiver answered the offer by
						 * checking what it holds (a partial or
						 * existing file), not by receiving */
	enum send_phase phase;
	int status;
	char err[512];
	struct send_stats stats;
	struct send_data data;		/* the data phase: flow, sched, datagrams */
	uint64_t last_heard;
	uint64_t last_progress;		/* confirmed bytes or a change of state */
	/* The first PROBE sent since the retransmission timer fired (0:
	 * none): a report that answers it, or a later one, may take what it
	 * has not seen for lost.  One sent before it was on its way before
	 * the timer fired, and a timer that fires on a slow receiver, not a
	 * loss, must not make it look like news of loss. */
	uint64_t timeout_probe;
	bool early_probed;		/* a PROBE went out since the last STATUS */
	uint64_t now;			/* of the event being handled, for done() */
	struct worker worker;		/* the disk work: the independent read */

	/* the file in progress */
	uint32_t cur;
	struct source src;
	uint8_t offer[CFT_DIGEST_LEN];	/* proto_offer_digest of our FILE */
	struct proto_facts facts;	/* size, mode, mtime the copy must have */
	uint32_t round;			/* end-to-end round, from 0 */
	uint64_t file_started;
	uint64_t file_datagrams;	/* data.datagrams when the file began */

	/* the end-to-end check */
	struct vread vread;		/* the independent read of this round */
	bool v_asked;			/* started for this round */
	bool r_done;			/* the receiver's report is in */
	bool early;			/* COMMIT sent before the report */
	struct send_report_of r;
	uint8_t commit[CFT_DIGEST_LEN];	/* proto_commit_digest of our facts */
	uint32_t sums_acked;
	uint64_t r_bytes;		/* the receiver's read-back progress */
	bool rewound;			/* it came back from behind: a mismatch */

	/* The COMMITs sent for the last two files: a committed STATUS of one
	 * of them with that digest means the receiver committed our facts and
	 * content, in whatever phase it finds us (the file came back from
	 * behind, or is offered again after a reconnect). */
	struct {
		bool active;
		uint32_t file;
		uint8_t commit[CFT_DIGEST_LEN];
	} sent[CFT_FILES_BEHIND + 1];

	/* The file before it, passed behind it: all sent, COMMIT sent, the
	 * receiver reading it back (send-session.c, "Passing a file behind") */
	struct {
		bool active;
		uint32_t file;
		uint8_t offer[CFT_DIGEST_LEN];
		uint8_t commit[CFT_DIGEST_LEN];
		uint64_t started;	/* file_started, file_datagrams of it */
		uint64_t datagrams;
		uint64_t r_bytes;	/* its read-back progress */
	} behind;
};

#endif
