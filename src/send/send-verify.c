/*
 * The end-to-end check at the sender.  The receiver reports what it would
 * commit, as it holds it; this end compares that with its own facts: the
 * name and the offer it made, the size, mode and modification time of the
 * source, and the digest of a second, independent read.  Only when all
 * agree does it send COMMIT, carrying the digest of those facts, which the
 * receiver compares with the digest of its own before it renames anything.
 */
#include <errno.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "send-hello.h"
#include "send-say.h"
#include "send-verify.h"

/* SUMS datagrams sent per burst (the receiver takes them in order). */
#define SUMS_BURST 16


/* Start this round's independent read, unless it runs already: in round 0
 * from the offer on where it can (O_DIRECT), else now; in a later round at
 * its start, for the block digests SUMS carry. */
void send_verify_read(struct send_session *s, bool early)
{
	if (s->v_asked || (early && !s->src.direct && s->round == 0))
		return;
	if (vread_start(&s->vread, &s->src, s->cfg.block_size, s->round > 0) < 0) {
		send_fail_source(s, CFT_E_IO);
		return;
	}
	s->v_asked = true;
}

void send_verify_start(struct send_session *s, uint64_t now)
{
	s->phase = SEND_VERIFY;
	s->r_done = false;
	s->r_bytes = 0;
	s->stats.e2e_rounds++;
	s->stats.bytes_acked = s->cfg.files[s->cur].size;
	send_progress(s, now);
	send_verify_read(s, false);
	if (s->phase != SEND_VERIFY)
		return;
	send_event(s, SEND_EV_CHECKING);
	if (s->early)
		send_verify_commit(s, now);	/* again: it went beside DATA */
	else
		send_verify_early(s, now);
}

void send_verify_sums(struct send_session *s, uint64_t now)
{
	uint32_t nblocks = (uint32_t)s->vread.sum.nblocks;

	if (!s->vread.valid)
		return;		/* the read that gives them is still running */
	for (unsigned k = 0; k < SUMS_BURST; k++) {
		uint32_t first = s->sums_acked + k * CFT_SUMS_PER_DATAGRAM;
		struct wire_msg m;

		if (first >= nblocks)
			break;
		send_msg(s, &m, WIRE_SUMS);
		m.u.sums.file = s->cur;
		m.u.sums.round = s->round;
		m.u.sums.first = first;
		m.u.sums.count = (uint16_t)(nblocks - first < CFT_SUMS_PER_DATAGRAM ?
					    nblocks - first : CFT_SUMS_PER_DATAGRAM);
		m.u.sums.digests = filesum_block(&s->vread.sum, first);
		send_say(s, &m);
	}
	flow_arm(&s->data.flow, now);
}

/* Remember a COMMIT sent (see `sent` in send-state.h). */
static void remember(struct send_session *s)
{
	/* The latest first; one per file. */
	if (s->sent[0].active && s->sent[0].file != s->cur)
		memmove(&s->sent[1], &s->sent[0], CFT_FILES_BEHIND * sizeof(s->sent[0]));
	s->sent[0].active = true;
	s->sent[0].file = s->cur;
	memcpy(s->sent[0].commit, s->commit, CFT_DIGEST_LEN);
}

void send_verify_commit(struct send_session *s, uint64_t now)
{
	struct wire_msg m;

	remember(s);
	send_msg(s, &m, WIRE_COMMIT);
	m.u.commit.file = s->cur;
	memcpy(m.u.commit.commit, s->commit, CFT_DIGEST_LEN);
	send_say(s, &m);
	flow_arm(&s->data.flow, now);
}

/* The content differs: another round, within the budget. */
static void next_round(struct send_session *s, uint64_t now)
{
	const struct send_file *sf = &s->cfg.files[s->cur];

	/* What the receiver held before this run sent anything differs: a
	 * resume (or a replacement), not damage on the way. */
	if (s->round == 0 && s->held && !s->rewound)
		s->stats.resumed++;
	else
		s->stats.e2e_mismatches++;
	if (s->round + 1 >= CFT_E2E_ROUNDS_MAX) {
		send_say_error(s, WIRE_R_DIGEST, "the sender's retry budget is spent");
		send_fail(s, CFT_EXIT_DIGEST, "%s: digests never agreed after %u end-to-end rounds",
			  sf->name, s->round + 1);
		return;
	}
	s->round++;
	s->early = false;
	/* What differs is read again, from the disk: the read ahead may
	 * still hold what a bad read returned (threat 1). */
	feed_forget(&s->data.feed);
	send_event(s, SEND_EV_MISMATCH);
	s->phase = SEND_SUMS;
	s->sums_acked = 0;
	s->v_asked = false;
	send_progress(s, now);
	send_verify_read(s, true);
	send_verify_sums(s, now);
}

/* The receiver's facts `r` agree with ours `a`: the same time, and our
 * mode or less (the receiver's mask may take permission bits away, never
 * add any). */
static bool same_meta(const struct proto_facts *r, const struct proto_facts *a)
{
	return (r->mode & ~a->mode) == 0 && r->mtime_sec == a->mtime_sec &&
	       r->mtime_nsec == a->mtime_nsec;
}

/* The content agrees; the mode and time must too, or be about to. */
static bool meta_agrees(struct send_session *s)
{
	const struct send_file *sf = &s->cfg.files[s->cur];

	if (same_meta(&s->r.facts, &s->facts))
		return true;
	if (s->r.existing && !s->cfg.no_clobber)
		return true;	/* the receiver gives them at the commit */
	if (s->r.existing) {
		send_say_error(s, WIRE_R_ABORT, "--no-clobber, and the destination's mode or "
			       "time differs");
		send_fail(s, CFT_EXIT_REFUSED, "%s: receiver: destination exists with another "
			  "mode or modification time (--no-clobber)", sf->name);
		return false;
	}
	send_say_error(s, WIRE_R_ABORT, "mode or time not kept");
	send_fail(s, CFT_EXIT_LOCAL, "%s: receiver keeps mode %03o and mtime %lld.%09u, not "
		  "%03o and %lld.%09u", sf->name, s->r.facts.mode, (long long)s->r.facts.mtime_sec,
		  s->r.facts.mtime_nsec, s->facts.mode, (long long)s->facts.mtime_sec,
		  s->facts.mtime_nsec);
	return false;
}

/* Is the source still what was read?  If not, the transfer fails. */
static bool source_ok(struct send_session *s)
{
	const struct send_file *sf = &s->cfg.files[s->cur];

	if (source_check(&s->src, sf->path) == 0)
		return true;
	send_say_error(s, WIRE_R_ABORT, "source changed during transfer");
	send_fail(s, CFT_EXIT_CHANGED, "%s: source changed during transfer", sf->path);
	return false;
}

/* Our facts as the COMMIT carries them, with the permission bits `mode`,
 * if the source is still what was read. */
static bool make_commit(struct send_session *s, uint32_t mode)
{
	struct send_file *sf = &s->cfg.files[s->cur];
	struct proto_facts facts = s->facts;

	if (!source_ok(s))
		return false;
	memcpy(sf->digest, s->vread.sum.whole, CFT_DIGEST_LEN);
	facts.mode = mode;
	proto_commit_digest(s->offer, &facts, s->vread.sum.whole, s->commit);
	return true;
}

void send_verify_early(struct send_session *s, uint64_t now)
{
	if (!s->vread.valid || s->early || s->r_done || s->cfg.dry_run)
		return;
	/* Not before every byte went out once: the source must still be
	 * what was read (see make_commit) after the last of those reads. */
	if (s->phase != SEND_VERIFY && !(s->phase == SEND_DATA && sched_all_sent(&s->data.sched)))
		return;
	if (!make_commit(s, s->facts.mode))
		return;
	s->early = true;
	send_verify_commit(s, now);
}

/* Both ends' digests in hand: commit, or start another round. */
static void decide(struct send_session *s, uint64_t now)
{
	uint8_t expected[CFT_DIGEST_LEN];

	if (!s->vread.valid || !s->r_done || !source_ok(s))
		return;
	/* The receiver keeps its content digest to itself (a peer must not
	 * learn the digest of a file it did not send); its commit digest over
	 * the facts it reported and that content is ours over the same facts
	 * and our content only if the contents agree, and the report came
	 * whole.  Either failing costs a round. */
	proto_commit_digest(s->offer, &s->r.facts, s->vread.sum.whole, expected);
	if (s->cfg.dry_run) {
		/* The answer, and nothing changed: the next file. */
		s->cfg.files[s->cur].dry = s->r.facts.size == s->facts.size &&
			digest_equal(expected, s->r.commit) ? SEND_DRY_UP_TO_DATE : SEND_DRY_DIFFERS;
		send_file_done(s, now);
		return;
	}
	if (s->r.facts.size != s->facts.size || !digest_equal(expected, s->r.commit)) {
		next_round(s, now);
		return;
	}
	if (!meta_agrees(s) ||
	    !make_commit(s, same_meta(&s->r.facts, &s->facts) ? s->r.facts.mode : s->facts.mode))
		return;
	s->phase = SEND_COMMIT;
	send_progress(s, now);
	send_verify_commit(s, now);
}

void send_verify_read_done(void *ctx)
{
	struct send_session *s = ctx;

	if (s->vread.rc < 0) {
		errno = s->vread.err;
		send_fail_source(s, s->vread.rc);
		return;
	}
	if (s->phase == SEND_SUMS)
		send_verify_sums(s, s->now);
	else if (s->phase == SEND_VERIFY && s->r_done)
		decide(s, s->now);
	else
		send_verify_early(s, s->now);
}

void send_verify_report(struct send_session *s, uint64_t now, const struct wire_status *rep)
{
	const struct send_file *sf = &s->cfg.files[s->cur];
	struct send_report_of r = {
		{ rep->bytes, rep->mode, rep->mtime_sec, rep->mtime_nsec }, rep->existing != 0,
		{ 0 },
	};

	if (s->r_done)
		return;
	if (rep->name_len != strlen(sf->name) || memcmp(rep->name, sf->name, rep->name_len) != 0) {
		s->stats.ignored++;	/* damaged on the way: ask again */
		return;
	}
	memcpy(r.commit, rep->commit, CFT_DIGEST_LEN);
	s->r = r;
	s->r_done = true;
	decide(s, now);
}

bool send_verify_committed(const struct send_session *s, const struct wire_status *rep)
{
	for (unsigned i = 0; i < CFT_FILES_BEHIND + 1; i++)
		if (s->sent[i].active && s->sent[i].file == s->cur &&
		    digest_equal(rep->commit, s->sent[i].commit))
			return true;
	return false;
}
