/*
 * The end-to-end check at the receiver: read back, report what would be
 * committed, find the blocks that differ, commit only what both ends agree
 * on: name, size, mode, modification time and content.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/exit.h"
#include "cft/proto.h"
#include "recv-reply.h"
#include "recv-verify.h"

void recv_verify_start(struct recv_session *s)
{
	struct recv_file *f = s->f;
	struct recv_event ev = { .kind = RECV_EV_READBACK };

	f->state = WIRE_FS_VERIFYING;
	f->flushed = false;
	recv_blocks_drop_slots(&s->blocks);
	/* Block digests only where a next round is likely (a partial or
	 * existing file to check) or under way; the rare first round that
	 * differs reads again for them (open_round). */
	if (filesum_start(&f->rb, f->size, s->blocks.block_size,
			  f->round > 0 || f->origin != STORE_FRESH) < 0) {
		errno = ENOMEM;
		recv_fail_io(s, "read back");
		return;
	}
	recv_say_event(s, &ev);
}

/* Durable, with the mode and time it is to keep, and out of the page cache.
 * A file system that cannot keep them fails the file now. */
static int flush(struct recv_session *s, struct recv_file *f)
{
	char detail[128];

	if (store_flush(&f->sf) < 0 || store_meta(&f->sf, &f->held) < 0) {
		recv_fail_io(s, "fsync");
		return -1;
	}
	f->flushed = true;
	if (!f->sf.existing && (f->held.mode != (uint32_t)f->sf.mode ||
				f->held.mtime_sec != f->sf.mtime_sec ||
				f->held.mtime_nsec != f->sf.mtime_nsec)) {
		snprintf(detail, sizeof(detail), "the file system keeps mode %03o and mtime "
			 "%lld.%09u, not %03o and %lld.%09u", f->held.mode,
			 (long long)f->held.mtime_sec, f->held.mtime_nsec, (unsigned)f->sf.mode,
			 (long long)f->sf.mtime_sec, f->sf.mtime_nsec);
		recv_fail_file(s, WIRE_R_METADATA, detail);
		return -1;
	}
	return 0;
}

void recv_verify_step(struct recv_session *s)
{
	struct recv_file *f = s->f;
	uint8_t *buf = s->srv->rbbuf;
	uint64_t want = filesum_left(&f->rb);
	long n = 0;

	if (!f->rehash && !f->flushed && flush(s, f) < 0)
		return;
	if (want > CFT_READBACK_STEP)
		want = CFT_READBACK_STEP;
	if (want > 0) {
		n = store_read(&f->sf, f->rb.off, buf, want);
		if (n < 0) {
			recv_fail_io(s, "read back");
			return;
		}
		if ((uint64_t)n < want) {
			/* Shorter on disk than written: pad with zeros so the
			 * digests differ and the blocks are sent again. */
			memset(buf + n, 0, want - (size_t)n);
			n = (long)want;
		}
	}
	filesum_update(&f->rb, buf, (size_t)n);
	if (filesum_done(&f->rb)) {
		if (f->rehash)
			f->rehash = false;	/* SUMS can be compared now */
		else
			f->state = WIRE_FS_VERIFIED;
		recv_say_status(s, f->index);
	}
}

/* The first SUMS of a round after VERIFIED: the file differs. */
static int open_round(struct recv_session *s, struct recv_file *f)
{
	bool again = true;	/* the blocks read back stay, to compare */

	if (f->sf.existing) {
		/* The destination differs from the source. */
		if (f->no_clobber) {
			recv_fail_file(s, WIRE_R_EXISTS,
				       "--no-clobber, and the destination differs");
			return -1;
		}
		/* Receive afresh; the old content keeps its name until the new
		 * is verified. */
		if (store_restart(&f->sf, &f->src) < 0) {
			recv_fail_io(s, "create");
			return -1;
		}
		f->origin = STORE_FRESH;
		recv_blocks_mark_all(&s->blocks, false);
		again = false;
	}
	f->round++;
	f->state = WIRE_FS_SUMS;
	f->sums_have = 0;
	if (again && !f->rb.blocks) {
		/* The read-back took the whole digest only: read again for
		 * the block digests, then take the SUMS. */
		if (filesum_start(&f->rb, f->size, s->blocks.block_size, true) < 0) {
			errno = ENOMEM;
			recv_fail_io(s, "read back");
			return -1;
		}
		f->rehash = true;
	}
	return 0;
}

/* Forget the blocks whose read-back digest differs from the sender's. */
static void compare_sums(struct recv_session *s, struct recv_file *f,
			 const struct wire_sums *su)
{
	for (uint32_t i = 0; i < su->count; i++) {
		uint32_t b = su->first + i;

		if (recv_blocks_done(&s->blocks, b) &&
		    !digest_equal(su->digests + (size_t)i * CFT_DIGEST_LEN,
				  filesum_block(&f->rb, b))) {
			struct recv_event ev = { .kind = RECV_EV_DIFFERS, .block = b };

			s->srv->c.readback_mismatch++;
			recv_say_event(s, &ev);
			recv_blocks_forget(&s->blocks, b);
		}
	}
}

void recv_verify_sums(struct recv_session *s, const struct wire_sums *su)
{
	struct recv_file *f = s->f;

	if (!f || f->index != su->file) {
		s->srv->c.stale++;
		return;
	}
	if (f->state == WIRE_FS_VERIFIED && su->round == f->round + 1 && open_round(s, f) < 0)
		return;
	if (f->rehash) {
		s->srv->c.stale++;	/* sent again once it is done */
		return;
	}
	if (f->state != WIRE_FS_SUMS || su->round != f->round || su->first != f->sums_have ||
	    su->count > s->blocks.nblocks - f->sums_have) {
		s->srv->c.stale++;
		if (f->state == WIRE_FS_SUMS)
			recv_say_status(s, f->index);
		return;
	}
	compare_sums(s, f, su);
	f->sums_have += su->count;
	if (f->sums_have == s->blocks.nblocks) {
		recv_blocks_rewind(&s->blocks);
		f->state = WIRE_FS_RECEIVING;
		if (recv_blocks_complete(&s->blocks))
			recv_verify_start(s);
	}
	if (!s->over)
		recv_say_status(s, f->index);
}

/* The COMMIT this end expects: its offer, the file as it will be named
 * (size, and the mode and time it is to keep), its content as read back. */
static void expected_commit(const struct recv_file *f, uint8_t out[CFT_DIGEST_LEN])
{
	const struct proto_facts facts = { f->size, (uint32_t)f->sf.mode, f->sf.mtime_sec,
					   f->sf.mtime_nsec };

	proto_commit_digest(f->offer, &facts, f->rb.whole, out);
}

void recv_verify_commit(struct recv_session *s, const struct wire_commit *c)
{
	struct recv_file *f = s->f;
	struct recv_event ev = { .kind = RECV_EV_COMMITTED };
	uint8_t want[CFT_DIGEST_LEN];
	struct store_meta held;
	struct proto_facts facts;

	if (c->file + 1 == s->next_file && !(f && f->index == c->file)) {
		recv_say_status(s, c->file);	/* committed already: say so again */
		return;
	}
	if (!f || f->index != c->file || f->state != WIRE_FS_VERIFIED) {
		s->srv->c.stale++;
		return;
	}
	/* Never commit anything but what both ends hold: the sender's
	 * digest of its facts must be this end's digest of its own. */
	expected_commit(f, want);
	if (!digest_equal(c->commit, want)) {
		s->srv->c.unmatched++;
		return;
	}
	ev.existing = f->sf.existing;
	if (store_commit(&f->sf, &held) < 0) {
		recv_fail_io(s, f->sf.existing ? "set mode and time" : "rename");
		return;
	}
	facts = (struct proto_facts){ held.size, held.mode, held.mtime_sec, held.mtime_nsec };
	memcpy(s->last.offer, f->offer, CFT_DIGEST_LEN);
	proto_commit_digest(f->offer, &facts, f->rb.whole, s->last.commit);
	if (!digest_equal(s->last.commit, want)) {
		/* An existing file that would not take the mode or time. */
		recv_fail_file(s, WIRE_R_METADATA, "the file system did not keep the mode "
			       "and modification time given");
		return;
	}
	ev.digest = f->rb.whole;
	recv_say_event(s, &ev);
	s->srv->c.files_committed++;
	s->srv->c.bytes_committed += f->size;
	s->next_file++;
	s->f = NULL;
	recv_file_free(f);
	recv_say_status(s, c->file);
}
