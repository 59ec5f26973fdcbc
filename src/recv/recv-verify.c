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
#include "recv-session.h"
#include "recv-verify.h"

/* Block digests only where a next round is likely (a partial or existing
 * file to check) or under way; the rare first round that differs reads
 * again for them (open_round). */
static bool want_blocks(const struct recv_file *f)
{
	return f->round > 0 || f->origin != STORE_FRESH;
}

void recv_verify_stream(struct recv_session *s)
{
	struct recv_file *f = s->f;

	/* Each block of a new file is written once in the first round, in
	 * the order of the window: the prefix written so far can be read back
	 * while the rest arrives.  Later rounds rewrite blocks anywhere. */
	if (filesum_start(&f->rb, f->size, s->blocks.block_size, want_blocks(f)) < 0) {
		errno = ENOMEM;
		recv_fail_io(s, "read back");
		return;
	}
	f->streaming = f->round == 0 && f->origin == STORE_FRESH;
	f->asked = 0;
}

void recv_verify_ahead(struct recv_session *s)
{
	struct recv_file *f = s->f;
	uint64_t written = (uint64_t)s->blocks.base * s->blocks.block_size;

	if (!f->streaming || f->chk.checking)
		return;
	if (written > f->size)
		written = f->size;
	if (written >= f->asked + CFT_READBACK_AHEAD) {
		f->asked = written;
		recv_disk_check(&s->disk, &f->chk, &f->sf, &f->rb, RECV_CHECK_AHEAD, written);
	}
}

void recv_verify_again(struct recv_session *s, struct recv_file *f)
{
	if (f->chk.checking)
		recv_disk_check(&s->disk, &f->chk, &f->sf, &f->rb, f->chk.kind, f->chk.to);
}

void recv_verify_start(struct recv_session *s)
{
	struct recv_file *f = s->f;
	struct recv_event ev = { .kind = RECV_EV_READBACK };

	f->state = WIRE_FS_VERIFYING;
	f->flushed = false;
	recv_blocks_drop_slots(&s->blocks);
	if (!f->streaming) {
		recv_verify_stream(s);
		if (s->over)
			return;
	}
	recv_say_event(s, &ev);
	/* Mode, time, fsync, and the rest read back: after a check still
	 * running, if there is one. */
	if (f->chk.checking)
		f->final_wanted = true;
	else
		recv_disk_check(&s->disk, &f->chk, &f->sf, &f->rb, RECV_CHECK_FINAL, f->size);
}

static bool commit(struct recv_session *s, struct recv_file *f, const uint8_t *sender);

/* Does the file as fsynced have the mode and time it is to keep? */
static bool meta_as_given(const struct recv_file *f)
{
	return f->held.mode == (uint32_t)f->sf.mode && f->held.mtime_sec == f->sf.mtime_sec &&
	       f->held.mtime_nsec == f->sf.mtime_nsec;
}

/* The file as fsynced must have the mode and time it is to keep; a file
 * system that cannot keep them fails the file. */
static int meta_kept(struct recv_session *s, struct recv_file *f)
{
	char detail[128];

	/* An existing file gets the offered mode and time at the commit,
	 * unless --no-clobber: then it must have them already.  Decided here,
	 * before any COMMIT (one sent early included) could be taken. */
	if (f->sf.existing && f->no_clobber && !meta_as_given(f)) {
		recv_fail_file(s, WIRE_R_EXISTS, "--no-clobber, and the destination's mode or "
			       "modification time differs");
		return -1;
	}

	if (!f->sf.existing && !meta_as_given(f)) {
		snprintf(detail, sizeof(detail), "the file system keeps mode %03o and mtime "
			 "%lld.%09u, not %03o and %lld.%09u", f->held.mode,
			 (long long)f->held.mtime_sec, f->held.mtime_nsec, (unsigned)f->sf.mode,
			 (long long)f->sf.mtime_sec, f->sf.mtime_nsec);
		recv_fail_file(s, WIRE_R_METADATA, detail);
		return -1;
	}
	return 0;
}

static void expected_commit(const struct recv_file *f, uint8_t out[CFT_DIGEST_LEN]);

/*
 * A check of the file behind the one in progress has ended.  A step of its
 * read-back leads to the last; the last, if the file holds the mode and
 * time offered and its digest makes the COMMIT held, commits it.  Returns
 * false when it did not: the file must be the one in progress again.
 */
static bool behind_checked(struct recv_session *s, const struct recv_disk_check *c)
{
	struct recv_file *f = s->behind;
	uint8_t want[CFT_DIGEST_LEN];

	if (c->rc < 0)
		return false;
	if (c->kind == RECV_CHECK_AHEAD) {
		/* Passed while its last step waited for this one. */
		f->final_wanted = false;
		recv_disk_check(&s->disk, &f->chk, &f->sf, &f->rb, RECV_CHECK_FINAL, f->size);
		return true;
	}
	if (c->kind != RECV_CHECK_FINAL)
		return false;
	f->flushed = true;
	f->held = c->held;
	if (!meta_as_given(f))
		return false;
	f->state = WIRE_FS_VERIFIED;
	expected_commit(f, want);
	if (!digest_equal(f->commit, want))
		return false;
	f->commit_held = false;
	return commit(s, f, want);
}

void recv_verify_checked(void *ctx, const struct recv_disk_check *c)
{
	struct recv_session *s = ctx;
	struct recv_file *f = s->f;

	if (s->over)
		return;
	if (s->behind && c == &s->behind->chk) {
		int e = c->err;

		if (behind_checked(s, c))
			return;
		/* Read back, it is not what the sender committed (or could
		 * not be read): as if it had never been passed. */
		if (recv_session_take_back(s) < 0)
			return;
		f = s->f;
		errno = e;
	} else if (!f || c != &f->chk) {
		return;
	}
	if (c->rc < 0) {
		recv_fail_io(s, c->what);
		return;
	}
	switch (c->kind) {
	case RECV_CHECK_AHEAD:
		if (f->final_wanted) {
			f->final_wanted = false;
			recv_disk_check(&s->disk, &f->chk, &f->sf, &f->rb, RECV_CHECK_FINAL,
					f->size);
		} else {
			recv_verify_ahead(s);
		}
		break;
	case RECV_CHECK_FINAL:
		f->flushed = true;
		f->held = c->held;
		if (meta_kept(s, f) < 0)
			return;
		f->state = WIRE_FS_VERIFIED;
		/* The sender's COMMIT came first: commit at once if it agrees
		 * (this end's check is the same either way), else report. */
		if (f->commit_held) {
			f->commit_held = false;
			if (commit(s, f, f->commit))
				break;
		}
		recv_say_status(s, f->index);
		break;
	case RECV_CHECK_REHASH:
		f->rehash = false;	/* SUMS can be compared now */
		recv_say_status(s, f->index);
		break;
	}
}

/* The first SUMS of a round after VERIFIED: the file differs. */
static int open_round(struct recv_session *s, struct recv_file *f)
{
	bool again = true;	/* the blocks read back stay, to compare */
	char detail[80];

	/* The sender's budget of rounds is this end's too: a peer that asks
	 * for round after round gets no more reads of the file than that. */
	if (f->round + 1 >= CFT_E2E_ROUNDS_MAX) {
		snprintf(detail, sizeof(detail), "no round past %u", CFT_E2E_ROUNDS_MAX);
		recv_fail_file(s, WIRE_R_DIGEST, detail);
		return -1;
	}
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
		/* A new file after all: the reserve holds for it too. */
		if (recv_session_no_room(s, f))
			return -1;
		recv_blocks_mark_all(&s->blocks, false);
		again = false;
	}
	f->round++;
	f->state = WIRE_FS_SUMS;
	f->sums_have = 0;
	f->streaming = false;
	if (again && !f->rb.blocks) {
		/* The read-back took the whole digest only: read again for
		 * the block digests, then take the SUMS. */
		if (filesum_start(&f->rb, f->size, s->blocks.block_size, true) < 0) {
			errno = ENOMEM;
			recv_fail_io(s, "read back");
			return -1;
		}
		f->rehash = true;
		recv_disk_check(&s->disk, &f->chk, &f->sf, &f->rb, RECV_CHECK_REHASH, f->size);
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
		/* Repeated, in SUMS or since: the answer to the last may have
		 * been lost (once a burst). */
		if (f->state == WIRE_FS_SUMS || (su->round == f->round && su->first == 0))
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

/*
 * Commit the file whose read-back is over (the one in progress, or the one
 * behind it), if the sender's COMMIT digest is this end's own; returns
 * false (nothing done) if not.  Files are committed in their order: the
 * one in progress waits, its COMMIT held, for the one behind it.
 */
static bool commit(struct recv_session *s, struct recv_file *f, const uint8_t *sender)
{
	struct recv_event ev = { .kind = RECV_EV_COMMITTED };
	uint32_t idx = f->index;
	uint8_t want[CFT_DIGEST_LEN];
	struct store_meta held;
	struct proto_facts facts;

	/* Never commit anything but what both ends hold: the sender's
	 * digest of its facts must be this end's digest of its own. */
	expected_commit(f, want);
	if (!digest_equal(sender, want))
		return false;
	if (f == s->f && s->behind) {
		f->commit_held = true;
		memcpy(f->commit, want, CFT_DIGEST_LEN);
		return true;
	}
	ev.existing = f->sf.existing;
	if (store_commit(&f->sf, &held) < 0) {
		recv_fail_io_of(s, f, f->sf.existing ? "set mode and time" : "rename");
		return true;
	}
	facts = (struct proto_facts){ held.size, held.mode, held.mtime_sec, held.mtime_nsec };
	memmove(&s->last[1], &s->last[0], CFT_FILES_BEHIND * sizeof(s->last[0]));
	s->last[0].valid = true;
	s->last[0].index = idx;
	memcpy(s->last[0].offer, f->offer, CFT_DIGEST_LEN);
	proto_commit_digest(f->offer, &facts, f->rb.whole, s->last[0].commit);
	if (!digest_equal(s->last[0].commit, want)) {
		/* An existing file that would not take the mode or time. */
		recv_fail_file_of(s, f, WIRE_R_METADATA, "the file system did not keep the "
				  "mode and modification time given");
		return true;
	}
	ev.digest = f->rb.whole;
	recv_say_event_of(s, f, &ev);
	s->srv->c.files_committed++;
	s->srv->c.bytes_committed += f->size;
	s->next_file++;
	if (f == s->behind)
		s->behind = NULL;
	else
		s->f = NULL;
	recv_file_free(f);
	recv_say_status(s, idx);
	/* The one in progress may have been read back and committed by the
	 * sender while this one was: its turn now. */
	f = s->f;
	if (f && !s->over && f->state == WIRE_FS_VERIFIED && f->commit_held) {
		f->commit_held = false;
		if (!commit(s, f, f->commit))
			recv_say_status(s, f->index);
	} else if (f && recv_session_can_pass(s, f)) {
		recv_say_status(s, f->index);	/* it may be passed now */
	}
	return true;
}

void recv_verify_commit(struct recv_session *s, const struct wire_commit *c)
{
	struct recv_file *f = s->f;

	if (recv_committed_of(s, c->file)) {
		recv_say_status(s, c->file);	/* committed already: say so again */
		return;
	}
	if (s->behind && s->behind->index == c->file) {
		recv_say_status(s, c->file);	/* held already: still reading back */
		return;
	}
	if (!f || f->index != c->file || f->dry_run) {
		s->srv->c.stale++;	/* a dry run names nothing */
		return;
	}
	if (f->taken_back) {
		/* Sent before the sender heard the file was taken back:
		 * say so again, rather than commit behind its back. */
		s->srv->c.stale++;
		recv_say_status(s, f->index);
		return;
	}
	if (f->state != WIRE_FS_VERIFIED) {
		/* Sent before our report: kept for when the read-back ends.
		 * Not for a file that exists already, whose mode and time the
		 * sender must first see (--no-clobber refuses to change
		 * them).  Any digest may be kept: it commits only if it is
		 * this end's own. */
		if (f->sf.existing) {
			s->srv->c.stale++;
			return;
		}
		f->commit_held = true;
		memcpy(f->commit, c->commit, CFT_DIGEST_LEN);
		/* Said, so that the sender knows it may offer the next file
		 * (STATUS "next"), even if the report of VERIFYING was lost. */
		recv_say_status(s, f->index);
		return;
	}
	if (!commit(s, f, c->commit)) {
		/* Not what this end reported: say it again, so that a sender
		 * that did not hear it learns what is here. */
		s->srv->c.unmatched++;
		recv_say_status(s, f->index);
	} else if (s->f == f) {
		recv_say_status(s, f->index);	/* kept until the one behind is in */
	}
}
