/*
 * The sender engine's vocabulary, shared by its files (send-session.c,
 * send-verify.c, send-say.c) and the program that runs it: the files to
 * send and what became of them, the counters, the phases, the events, the
 * configuration.  The functions are in send-session.h.
 */
#ifndef CFT_SEND_ENGINE_H
#define CFT_SEND_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/limits.h"
#include "cft/proto.h"

/* One file to send, and what became of it. */
/* What a dry run found for a file. */
enum send_dry {
	SEND_DRY_NONE,			/* no answer (not a dry run, or not yet) */
	SEND_DRY_UP_TO_DATE,		/* the receiver holds this content */
	SEND_DRY_WOULD_SEND,		/* nothing of this name and size there */
	SEND_DRY_DIFFERS,		/* there, of this size, other content */
};

struct send_file {
	const char *path;		/* as given */
	const char *name;		/* name at the receiver: the base name, or
					 * a path below it for a tree's entry */
	bool dir;			/* a directory of a tree: no data */
	enum send_dry dry;		/* a dry run's answer for it */
	uint64_t size;
	bool committed;
	uint8_t digest[CFT_DIGEST_LEN];	/* verified whole-file SHA-256 */
	uint64_t usec;			/* time from offer to commit */
	uint64_t datagrams;		/* DATA sent for it: 0 (and size > 0) means it
					 * was up to date at the receiver */
};

/* Progress and repairs, for the progress line and the summary. */
struct send_stats {
	uint32_t file;			/* index of the file in progress */
	uint64_t datagrams;		/* DATA datagrams sent, all kinds */
	uint64_t retransmits;		/* DATA sent again for missing chunks */
	uint64_t blocks_resent;		/* whole blocks sent again */
	uint64_t rereads;		/* ... because two reads of a chunk differed */
	uint64_t e2e_mismatches;	/* read-backs of what we sent that differed */
	uint64_t resumed;		/* files the receiver held in part, or another
					 * version of: only what differed was sent */
	uint64_t e2e_rounds;		/* end-to-end checks, all files */
	uint64_t probes;
	uint64_t timeouts;		/* retransmission timer expiries in the data phase */
	uint64_t reconnects;		/* sessions opened again after a receiver restart */
	uint64_t chunksums;		/* CHUNKSUMS sent: blocks that failed their root */
	uint64_t hole_bytes;		/* bytes of holes, sent as HOLE, not as data */
	uint64_t squashed;		/* bytes of chunks sent compressed (-z) */
	uint64_t squash_saved;		/* ... and the bytes that saved on the wire */
	uint64_t ignored;		/* answers that did not refer to what we sent */
	uint64_t passed;		/* files committed behind the next (offered
					 * before they were committed) */
	uint64_t bytes_acked;		/* bytes of that file confirmed by the receiver */
	uint32_t chunk_size;		/* of the latest session (send-hello.c) */
};

enum send_phase {
	SEND_HELLO, SEND_OFFER, SEND_DATA, SEND_VERIFY, SEND_SUMS, SEND_COMMIT,
	SEND_DONE, SEND_FAILED,
};

/* What the engine reports as it goes; the program renders it (-v, --json). */
enum send_event_kind {
	SEND_EV_OPENED,			/* the receiver answered a HELLO: the
					 * session's chunks are chosen */
	SEND_EV_OFFERED,		/* file offered to the receiver */
	SEND_EV_CHECKING,		/* both ends read the file back (round) */
	SEND_EV_MISMATCH,		/* the digests differed: round starts */
	SEND_EV_COMMITTED,		/* verified on the receiver's disk, named */
	SEND_EV_CHECKED,		/* a dry run's answer for the file is in */
	SEND_EV_RECONNECTED,		/* the receiver restarted: session again */
	SEND_EV_SMALLER,		/* larger chunks stopped arriving: session
					 * again with smaller ones */
	SEND_EV_FAILED,			/* the session failed: send_outcome, send_error */
};

struct send_event {
	enum send_event_kind kind;
	uint32_t file;			/* index in cfg.files (nfiles: none) */
	uint32_t round;
};

struct send_config {
	struct send_file *files;	/* borrowed; results written back */
	uint32_t nfiles;
	uint32_t block_size;
	uint32_t chunk_max;		/* the largest chunk the route takes
					 * (send_path_chunk); tried beside
					 * CFT_CHUNK_SIZE, kept if answered */
	uint64_t timeout_us;
	bool no_clobber;		/* never replace an existing destination */
	bool dry_run;			/* only ask what the receiver holds */
	bool compress;			/* -z: chunks compressed where it pays */
	double bwlimit;			/* bytes per second on the wire; 0: none */
	bool threads;			/* disk work on a thread of its own (worker.h);
					 * false: inline, for tests */
	uint64_t session;		/* the session id: random, the caller's */
	uint8_t random[CFT_RANDOM_LEN];	/* the caller's, fresh: each session's
					 * random is a keyed digest of it */
	const uint8_t *key;		/* CFT_KEY_LEN bytes, borrowed; NULL: keyless */
	struct proto_out out;
	/* Optional: called for every event. */
	void (*event)(void *ctx, const struct send_event *ev);
	void *event_ctx;
};

#endif
