/*
 * What a receiver session holds: its sender, its understanding of the
 * HELLO, and the file in progress with its understanding of the offer (and
 * the one before it, while that one is checked and committed behind it).
 * Shared by the session's files (recv-session.c, recv-verify.c,
 * recv-reply.c); private to the receiver's engine.
 */
#ifndef CFT_RECV_STATE_H
#define CFT_RECV_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "cft/filesum.h"
#include "cft/net.h"
#include "cft/seal.h"
#include "cft/wire.h"
#include "recv-blocks.h"
#include "recv-disk.h"
#include "recv-engine.h"
#include "store.h"

/* The file in progress. */
struct recv_file {
	uint32_t index;
	uint64_t size;
	uint8_t state;			/* enum wire_fstate */
	uint32_t round;
	uint8_t offer[CFT_DIGEST_LEN];	/* the offer as understood (and checked) */
	struct store_file sf;		/* with the name, mode and mtime to keep */
	struct store_source src;
	enum store_origin origin;
	bool no_clobber;
	bool dir;			/* a directory of a tree (store_open_dir_entry) */
	bool dry_run;			/* only checked, never written or named */
	bool flushed;			/* durable, and dropped from the page cache */
	bool rehash;			/* reading back again for block digests */
	bool streaming;			/* read back while blocks still arrive */
	uint64_t asked;			/* read back asked for up to here */
	bool final_wanted;		/* the last check waits for one running */
	struct store_meta held;		/* what the file holds, once flushed */
	struct filesum rb;		/* the read-back's digests */
	uint32_t sums_have;		/* sender's block digests received */
	bool commit_held;		/* a COMMIT came before the read-back ended */
	uint8_t commit[CFT_DIGEST_LEN];	/* ... with this digest */
	bool mode_as_offered;		/* the mask took no bit of the offered mode */
	bool taken_back;		/* back from behind: no COMMIT is taken until
					 * the sender offers it again (it knows) */
	struct recv_disk_check chk;	/* its read-back, on the session's checker */
};

/* Forget a file: its temporary file and state go (a kept or committed one
 * was closed and forgotten already, and stays). */
static inline void recv_file_free(struct recv_file *f)
{
	if (!f)
		return;
	store_abort(&f->sf);
	filesum_free(&f->rb);
	free(f);
}

struct recv_session {
	struct recv_server *srv;
	uint64_t id;
	uint8_t hello[CFT_DIGEST_LEN];	/* the HELLO as understood */
	struct net_addr peer;
	uint8_t cookie[CFT_COOKIE_LEN];	/* the HELLO's, echoed: it opened */
	uint8_t random[CFT_RANDOM_LEN];	/* ours, in the HELLO_ACK */
	struct proto_out out;		/* to the peer: sealed when keyed */
	bool keyed;
	struct seal seal;
	char peer_str[64];
	uint32_t nfiles;
	uint32_t next_file;		/* files [0, next_file) are committed */
	struct recv_file *f;		/* the file in progress, if any */
	/* The file before it, all written, its COMMIT held, its read-back
	 * running: committed when that ends and agrees, else made the file
	 * in progress again (recv-session.c, "Passing a file behind"). */
	struct recv_file *behind;
	/* The last two files committed, the latest first, to say so again:
	 * a sender may ask of either (after a reconnect it offers again the
	 * file it had passed behind, when the one after it is committed too). */
	struct recv_committed {
		bool valid;
		uint32_t index;
		uint8_t offer[CFT_DIGEST_LEN];
		uint8_t commit[CFT_DIGEST_LEN];
	} last[CFT_FILES_BEHIND + 1];
	struct recv_blocks blocks;
	struct recv_disk disk;		/* the file's writes and read-back */
	uint32_t rx_seq;		/* sequence number of the latest intact DATA */
	uint32_t rx_count;		/* DATA datagrams received */
	uint64_t echo;			/* PROBE echo for the next STATUS */
	unsigned unreported;		/* DATA since the last STATUS */
	unsigned status_every;		/* ... that make one: recv_status_every */
	uint64_t unreported_since;
	uint64_t last_heard;
	uint64_t started;
	bool over;
	bool superseded;		/* taken over by a newer session */
	bool dry_run;			/* offers a dry run: it completes nothing */
	int status;
};

/* File idx, if it is one of the last two committed. */
static inline const struct recv_committed *recv_committed_of(const struct recv_session *s,
							     uint32_t idx)
{
	for (unsigned i = 0; i < CFT_FILES_BEHIND + 1; i++)
		if (s->last[i].valid && s->last[i].index == idx)
			return &s->last[i];
	return NULL;
}

#endif
