/*
 * Sender sessions: the phases.  HELLO until the receiver answers with our
 * HELLO's digest; for each file, OFFER until the receiver reports holding
 * our offer; DATA (send-data.c) until every block is in; VERIFY, SUMS and
 * COMMIT (send-verify.c) until both ends agree on everything the receiver
 * commits; BYE.  What the receiver says is believed only when it refers to
 * what we sent (our HELLO, our offer, our commit): a damaged request or a
 * damaged answer costs a retry, never a wrong result, an abort or a hang.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/dio.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/squash.h"
#include "cft/util.h"
#include "cft/wire.h"
#include "send-hello.h"
#include "send-keys.h"
#include "send-say.h"
#include "send-session.h"
#include "send-verify.h"

/* BYE is a courtesy, sent this many times and not waited for. */
#define BYE_TIMES 2

/* The data phase counts its datagrams; the summary reads them here. */
static void sync_stats(struct send_session *s)
{
	s->stats.datagrams = s->data.datagrams;
	s->stats.retransmits = s->data.retransmits;
	s->stats.blocks_resent = s->data.blocks_resent;
	s->stats.rereads = s->data.rereads;
	s->stats.probes = s->data.probes;
	s->stats.chunksums = s->data.chunksums;
	s->stats.hole_bytes = s->data.hole_bytes;
	s->stats.squashed = s->data.squashed;
	s->stats.squash_saved = s->data.squash_saved;
}

static const struct send_file *cur_file(const struct send_session *s)
{
	return &s->cfg.files[s->cur];
}

bool send_answered(const struct send_session *s)
{
	return s->answered;
}

bool send_held(const struct send_session *s)
{
	return s->held;
}

bool send_large_datagrams(const struct send_session *s)
{
	return s->chunk > CFT_CHUNK_SIZE ||
	       (s->phase == SEND_HELLO && s->cfg.chunk_max > CFT_CHUNK_SIZE);
}

void send_peer_moved(struct send_session *s, uint64_t now, uint32_t chunk_max)
{
	/* Its HELLOs ask for what that route takes, under a new id (nothing
	 * was answered: no session is left behind). */
	s->cfg.chunk_max = chunk_max;
	send_next_session(s);
	/* A new address owes nothing to the old one's silence: HELLO now,
	 * and the backoff from the start. */
	flow_heard(&s->data.flow, now);
	s->data.flow.t_retx = now;
}

void send_abort(struct send_session *s, int status, const char *why)
{
	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return;
	send_say_error(s, WIRE_R_ABORT, why);
	send_fail(s, status, "%s", why);
}

/* The peer answered: the session is alive and the backoff is over. */
void send_heard(struct send_session *s, uint64_t now)
{
	s->answered = true;
	s->last_heard = now;
	s->early_probed = false;
	flow_heard(&s->data.flow, now);
}

/* The FILE flags of the current file.  A directory is never refused for
 * existing: nothing of its content is replaced, only its mode and time. */
static uint32_t file_flags(const struct send_session *s)
{
	uint32_t dry = s->cfg.dry_run ? WIRE_FILE_DRY_RUN : 0;

	if (cur_file(s)->dir)
		return WIRE_FILE_DIRECTORY | dry;
	return (s->cfg.no_clobber ? WIRE_FILE_NO_CLOBBER : 0) | dry;
}

static void send_offer(struct send_session *s, uint64_t now)
{
	const struct send_file *sf = cur_file(s);
	struct wire_msg m;

	if (!s->opened)
		send_hello(s, now);	/* with the cookie: it opens the session */
	send_msg(s, &m, WIRE_FILE);
	m.u.file.file = s->cur;
	m.u.file.size = s->facts.size;
	m.u.file.mtime_sec = s->facts.mtime_sec;
	m.u.file.mtime_nsec = s->facts.mtime_nsec;
	m.u.file.mode = s->facts.mode;
	m.u.file.flags = file_flags(s);
	m.u.file.name_len = (uint16_t)strlen(sf->name);
	m.u.file.name = (const uint8_t *)sf->name;
	memcpy(m.u.file.offer, s->offer, CFT_DIGEST_LEN);
	send_say(s, &m);
	flow_arm(&s->data.flow, now);
}

/* The offer's digest, from our facts: what every report must refer to. */
static void make_offer(struct send_session *s)
{
	const struct send_file *sf = cur_file(s);
	struct wire_file f = {
		.file = s->cur, .size = s->facts.size, .mtime_sec = s->facts.mtime_sec,
		.mtime_nsec = s->facts.mtime_nsec, .mode = s->facts.mode,
		.flags = file_flags(s),
		.name_len = (uint16_t)strlen(sf->name), .name = (const uint8_t *)sf->name,
	};

	proto_offer_digest(s->hello, &f, s->offer);
}

/* Open file s->cur and offer it. */
void send_start_file(struct send_session *s, uint64_t now)
{
	const struct send_file *sf = cur_file(s);
	int rc = source_open(&s->src, sf->path, sf->size, sf->dir);

	if (rc == CFT_E_CHANGED) {
		send_fail(s, CFT_EXIT_CHANGED, "%s: source changed before it was sent", sf->path);
		return;
	}
	if (rc < 0) {
		send_fail(s, CFT_EXIT_LOCAL, "%s: %s", sf->path, strerror(errno));
		return;
	}
	s->facts = (struct proto_facts){ s->src.size, s->src.mode, s->src.mtime_sec,
					 s->src.mtime_nsec };
	make_offer(s);
	s->round = 0;
	s->v_asked = false;
	s->early = false;
	s->held = false;
	s->rewound = false;
	feed_start(&s->data.feed, s->src.ffd, s->src.size);
	send_verify_read(s, true);
	if (s->phase == SEND_FAILED)
		return;
	s->stats.bytes_acked = 0;
	s->file_started = now;
	s->file_datagrams = s->data.datagrams;
	s->phase = SEND_OFFER;
	send_progress(s, now);
	send_event(s, SEND_EV_OFFERED);
	send_offer(s, now);
}

/* A new round of the data phase. */
static void enter_data(struct send_session *s, uint64_t now)
{
	s->phase = SEND_DATA;
	s->r_done = false;
	s->timeout_probe = 0;
	sched_start(&s->data.sched, s->facts.size, s->cfg.block_size, s->chunk);
	s->data.file = s->cur;
	s->data.round = s->round;
	s->data.src = &s->src;
	send_progress(s, now);
}

/* Send what the windows allow; a failed read of the source ends it. */
static void pump(struct send_session *s, uint64_t now)
{
	int rc = send_data_pump(&s->data, now);

	if (rc == CFT_E_CHANGED && s->data.sched.rereads > CFT_REREADS_MAX)
		send_fail(s, CFT_EXIT_CHANGED, "%s: source changed during transfer (read again, "
			  "its chunks differed %u times from what was sent)", cur_file(s)->path,
			  s->data.sched.rereads);
	else if (rc < 0)
		send_fail_source(s, rc);
	else
		send_verify_early(s, now);
}

static void send_bye(struct send_session *s)
{
	struct wire_msg m;

	send_msg(s, &m, WIRE_BYE);
	memcpy(m.u.bye.hello, s->hello, CFT_SHORT_DIGEST_LEN);
	send_say(s, &m);
}

/* File idx is committed (or, in a dry run, answered for). */
static void file_committed(struct send_session *s, uint32_t idx, uint32_t round,
			   uint64_t started, uint64_t datagrams, uint64_t now)
{
	struct send_file *sf = &s->cfg.files[idx];

	sf->committed = !s->cfg.dry_run;
	sf->usec = now - started;
	sf->datagrams = datagrams;
	send_event_of(s, s->cfg.dry_run ? SEND_EV_CHECKED : SEND_EV_COMMITTED, idx, round);
}

/*
 * Passing a file behind.  When the receiver has every block of a new file
 * and holds our COMMIT of it, only its read-back is left: its fsync and
 * its reading back from disk.  Its VERIFYING STATUS says so ("next"), and
 * the next file is offered at once instead of after the COMMITTED: the
 * receiver checks and commits the one behind while the next one's offer
 * and data arrive.  Nothing is believed early: the file counts as
 * committed only on its COMMITTED STATUS, carrying the digest of our
 * COMMIT (or on the COMMITTED of a later file: the receiver commits in
 * order, and only what agrees).  A VERIFIED STATUS of it says its read-back
 * did not make our COMMIT: the receiver has taken it back, and so do we
 * (take_back).  One file at most is behind.
 */
static void behind_committed(struct send_session *s, uint64_t now)
{
	s->behind.active = false;
	file_committed(s, s->behind.file, 0, s->behind.started, s->behind.datagrams, now);
	s->last_progress = now;
}

static void next_file(struct send_session *s, uint64_t now);

static void pass_behind(struct send_session *s, uint64_t now)
{
	if (s->phase != SEND_VERIFY || !s->early || s->round != 0 || s->held || s->r_done ||
	    cur_file(s)->dir || s->cfg.dry_run || s->behind.active ||
	    s->cur + 1 >= s->cfg.nfiles)
		return;
	s->behind.active = true;
	s->behind.file = s->cur;
	memcpy(s->behind.offer, s->offer, CFT_DIGEST_LEN);
	memcpy(s->behind.commit, s->commit, CFT_DIGEST_LEN);
	s->behind.started = s->file_started;
	s->behind.datagrams = s->data.datagrams - s->file_datagrams;
	s->behind.r_bytes = 0;
	s->stats.passed++;
	next_file(s, now);
}

/* Back to the file behind, as if it had never been passed; the one in
 * progress is offered again after it (the receiver keeps what it has). */
static void take_back(struct send_session *s, uint64_t now)
{
	vread_cancel(&s->vread);
	s->v_asked = false;
	feed_stop(&s->data.feed);
	source_close(&s->src);
	s->stats.file = s->cur = s->behind.file;
	s->behind.active = false;
	send_start_file(s, now);
	s->rewound = true;
}

/* A STATUS of the file behind. */
static void on_behind_status(struct send_session *s, uint64_t now, const struct wire_status *rep)
{
	if (!digest_equal_n(rep->offer, s->behind.offer, CFT_SHORT_DIGEST_LEN)) {
		s->stats.ignored++;
		return;
	}
	if (rep->state == WIRE_FS_COMMITTED) {
		if (!digest_equal(rep->commit, s->behind.commit)) {
			s->stats.ignored++;
			return;
		}
		send_heard(s, now);
		behind_committed(s, now);
		return;
	}
	if (rep->round != 0)
		return;
	send_heard(s, now);
	if (rep->state == WIRE_FS_VERIFIED) {
		take_back(s, now);
	} else if (rep->state == WIRE_FS_VERIFYING && rep->bytes > s->behind.r_bytes) {
		/* Its read-back goes on: progress, though the next file's own
		 * check waits for it. */
		s->behind.r_bytes = rep->bytes;
		send_progress(s, now);
	}
}

void send_file_done(struct send_session *s, uint64_t now)
{
	/* Committed after the one behind it: that one was, too. */
	if (s->behind.active)
		behind_committed(s, now);
	file_committed(s, s->cur, s->round, s->file_started,
		       s->data.datagrams - s->file_datagrams, now);
	next_file(s, now);
}

/* The file in progress needs nothing more: the next, or the end. */
static void next_file(struct send_session *s, uint64_t now)
{
	feed_stop(&s->data.feed);
	source_close(&s->src);
	send_progress(s, now);
	s->stats.file = ++s->cur;
	if (s->cur < s->cfg.nfiles) {
		send_start_file(s, now);
	} else {
		/* Every file is done: the transfer is.  BYE only
		 * spares the receiver its timeout, so it goes twice (one loss
		 * costs nothing) and nobody waits a round trip for its answer. */
		for (int i = 0; i < BYE_TIMES; i++)
			send_bye(s);
		s->phase = SEND_DONE;
	}
}

/*
 * A RECEIVING report in the data phase: repairs, then more data.  `seen` is
 * the last DATA the receiver has seen or lost for good: its highest, or the
 * last one sent before the PROBE this report answers, if later.
 */
static void on_receiving(struct send_session *s, uint64_t now, const struct wire_status *rep,
			 uint32_t seen)
{
	bool timed_out = s->timeout_probe &&
			 flow_answers(&s->data.flow, rep->echo, s->timeout_probe);

	if (sched_on_receiving(&s->data.sched, rep, seen, timed_out, now)) {
		uint64_t done = sched_bytes_done(&s->data.sched);

		if (done > s->stats.bytes_acked)
			send_progress(s, now);
		s->stats.bytes_acked = done;
	}
	if (timed_out)
		s->timeout_probe = 0;
	pump(s, now);
}

/* The receiver's count of our SUMS: from there on, again.  A count lower
 * than ours means some were lost (or a report was damaged): repeat. */
static void on_sums_count(struct send_session *s, uint64_t now, const struct wire_status *rep)
{
	if (!s->vread.valid || rep->sums_have == s->sums_acked ||
	    rep->sums_have > s->vread.sum.nblocks)
		return;
	if (rep->sums_have > s->sums_acked)
		send_progress(s, now);
	s->sums_acked = rep->sums_have;
	send_verify_sums(s, now);
}

/* A STATUS for the current file, offer and round, by phase. */
static void on_status_now(struct send_session *s, uint64_t now, const struct wire_status *rep,
			  uint32_t seen)
{
	if (rep->state == WIRE_FS_ABSENT) {
		/* A dry run's answer: nothing of this name and size there. */
		if (s->cfg.dry_run && s->phase == SEND_OFFER) {
			s->cfg.files[s->cur].dry = SEND_DRY_WOULD_SEND;
			send_heard(s, now);
			send_file_done(s, now);
		}
		return;
	}
	if (s->phase == SEND_OFFER) {
		s->held = rep->state == WIRE_FS_VERIFYING || rep->state == WIRE_FS_VERIFIED;
		enter_data(s, now);
	}
	if (s->phase == SEND_SUMS) {
		if (rep->state == WIRE_FS_SUMS) {
			on_sums_count(s, now, rep);
			return;
		}
		enter_data(s, now);
	}
	if (s->phase == SEND_DATA) {
		if (rep->state == WIRE_FS_RECEIVING) {
			on_receiving(s, now, rep, seen);
			return;
		}
		if (rep->state == WIRE_FS_VERIFYING || rep->state == WIRE_FS_VERIFIED)
			send_verify_start(s, now);
	}
	if (s->phase == SEND_VERIFY && rep->state == WIRE_FS_VERIFYING && rep->bytes > s->r_bytes) {
		s->r_bytes = rep->bytes;
		send_progress(s, now);
	}
	if (s->phase == SEND_VERIFY && rep->state == WIRE_FS_VERIFYING && rep->next) {
		pass_behind(s, now);
		return;
	}
	if (s->phase == SEND_VERIFY && rep->state == WIRE_FS_VERIFIED)
		send_verify_report(s, now, rep);
}

static void reopen(struct send_session *s, uint64_t now, enum send_event_kind why);

/* Take chunks of at most `chunk_max` bytes from now on: the session opens
 * again if its own are larger (the receiver checks what it holds of the
 * file), or its HELLOs ask again if it is not open yet. */
static void smaller_chunks(struct send_session *s, uint64_t now, uint32_t chunk_max)
{
	s->cfg.chunk_max = chunk_max;
	s->stall.since = 0;
	if (s->phase == SEND_HELLO)
		send_next_session(s);	/* nothing was answered for the old */
	else if (s->chunk > chunk_max)
		reopen(s, now, SEND_EV_SMALLER);
}

/*
 * In the data phase of a session of larger chunks, the receiver answers, but
 * DATA of ours has been on its way (sent, and not acknowledged, or sent
 * since) for CFT_CHUNK_STALL_US (or 8 round trips) and it has counted none:
 * the path that carried the padded HELLO no longer carries datagrams that
 * large (a route or a tunnel changed, and no ICMP said so).  The session
 * opens again with the default chunks, for the rest of the run.  Returns
 * true when it did.  The other phases send no DATA, and say nothing of it.
 */
static bool chunks_stalled(struct send_session *s, uint64_t now)
{
	const struct flow *f = &s->data.flow;
	bool on_way = f->tx_seq != f->ack_seq || f->tx_seq != s->stall.seq;
	uint64_t wait = 8 * f->cc.rtt_avg;

	if (s->phase != SEND_DATA || s->chunk <= CFT_CHUNK_SIZE ||
	    f->st_count != s->stall.count || !on_way || !s->stall.since) {
		s->stall.count = f->st_count;	/* arrived, or none on the way */
		s->stall.seq = f->tx_seq;
		s->stall.since = now;
		return false;
	}
	if (now - s->stall.since < (wait > CFT_CHUNK_STALL_US ? wait : CFT_CHUNK_STALL_US))
		return false;
	smaller_chunks(s, now, CFT_CHUNK_SIZE);
	return true;
}

void send_route_mtu(struct send_session *s, uint64_t now, uint32_t chunk_max)
{
	if (chunk_max < s->cfg.chunk_max && send_large_datagrams(s))
		smaller_chunks(s, now, chunk_max);
}

static void on_status(struct send_session *s, uint64_t now, const struct wire_status *rep)
{
	uint32_t seen = rep->rx_seq, probe_seq;

	if (s->behind.active && rep->file == s->behind.file && s->phase != SEND_HELLO) {
		on_behind_status(s, now, rep);
		return;
	}
	if (rep->file != s->cur || s->phase == SEND_HELLO)
		return;		/* about an earlier file: stale */
	if (!digest_equal_n(rep->offer, s->offer, CFT_SHORT_DIGEST_LEN)) {
		/* The receiver holds another offer for this file: ours was
		 * damaged on the way.  Offer it again, as it is. */
		s->stats.ignored++;
		if (s->phase == SEND_OFFER)
			send_offer(s, now);
		return;
	}
	s->opened = true;	/* it holds our offer: the session is open */
	/* The PROBE a report answers went out after everything before it. */
	if (flow_echo(&s->data.flow, rep->echo, now, &probe_seq) && (int32_t)(probe_seq - seen) > 0)
		seen = probe_seq;
	/* A sequence number we never sent was damaged (and its check made
	 * over the damage): believe nothing of it, and the rest of the
	 * report all the same. */
	if ((int32_t)(seen - s->data.flow.tx_seq) > 0)
		seen = s->data.flow.ack_seq;
	if (rep->state == WIRE_FS_COMMITTED) {
		if (send_verify_committed(s, rep)) {
			send_heard(s, now);
			send_file_done(s, now);
		} else if (s->phase == SEND_COMMIT) {
			s->stats.ignored++;
		}
		return;
	}
	if (rep->round != s->round)
		return;		/* an answer from an earlier round */
	flow_on_counts(&s->data.flow, now, rep->rx_seq, rep->rx_count);
	send_heard(s, now);
	if (chunks_stalled(s, now))
		return;
	on_status_now(s, now, rep, seen);
}

/* The session again, from its HELLO, said as `why` (an event). */
static void reopen(struct send_session *s, uint64_t now, enum send_event_kind why)
{
	if (s->phase == SEND_HELLO)
		return;
	s->stats.reconnects++;
	/* The file behind may or may not have been committed: offered
	 * again, it is found either way. */
	if (s->behind.active) {
		s->stats.file = s->cur = s->behind.file;
		s->behind.active = false;
	}
	send_event(s, why);
	vread_cancel(&s->vread);
	s->v_asked = false;
	feed_stop(&s->data.feed);
	source_close(&s->src);
	s->phase = SEND_HELLO;
	s->opened = false;
	/* A new session, whose HELLO says which file it starts at: keyed, a
	 * session opens once; and a FILE of the old one, late on the way,
	 * must not be taken by the new one as the file it expects. */
	send_next_session(s);
	sched_start(&s->data.sched, 0, s->cfg.block_size, s->chunk);
	flow_new_peer(&s->data.flow);
	s->data.flow.backoffs = 0;
	s->last_heard = now;
	s->data.flow.t_retx = now;	/* HELLO at the next timer call */
}

/*
 * The receiver no longer knows us: it restarted.  Open the session again and
 * offer the current file again; the receiver checks what it kept of it and
 * only what it lacks is sent.  Committed files stay committed.
 */
void send_reconnect(struct send_session *s, uint64_t now)
{
	reopen(s, now, SEND_EV_RECONNECTED);
}

/* An ERROR is believed only if it refers to what it answers: our HELLO, or
 * our offer of the file it names. */
static void on_error(struct send_session *s, uint64_t now, const struct wire_error *e)
{
	char text[CFT_ERROR_MSG_MAX + 1];
	uint8_t ref[CFT_SHORT_DIGEST_LEN];
	const char *what = e->file < s->cfg.nfiles ? s->cfg.files[e->file].name : "session";

	if (e->reason == WIRE_R_UNKNOWN_SESSION) {
		/* Before the session is open, the offer may simply have
		 * overtaken the HELLO that opens it: both go again. */
		if (s->phase == SEND_OFFER && !s->opened)
			send_offer(s, now);
		else if (s->cfg.key)
			send_keys_unknown(s, now);	/* believed if nothing else comes */
		else
			send_reconnect(s, now);	/* at worst a needless restart */
		return;
	}
	if (e->file != WIRE_NO_FILE && s->phase != SEND_HELLO && s->behind.active &&
	    e->file == s->behind.file) {
		proto_error_ref(s->behind.offer, e->reason, e->file, ref);
	} else if (e->file != WIRE_NO_FILE && (e->file != s->cur || s->phase == SEND_HELLO)) {
		s->stats.ignored++;
		return;
	} else {
		proto_error_ref(e->file == WIRE_NO_FILE ? s->hello : s->offer, e->reason, e->file,
				ref);
	}
	if (!digest_equal_n(ref, e->ref, CFT_SHORT_DIGEST_LEN)) {
		s->stats.ignored++;
		return;
	}
	util_sanitize(e->msg, e->msg_len, text, sizeof(text));
	send_fail(s, wire_reason_exit(e->reason), "%s: receiver: %s%s%s", what,
		  wire_reason_name(e->reason), text[0] ? ": " : "", text);
}

static void on_datagram(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len)
{
	uint8_t plain[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int rc;

	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return;
	if (s->cfg.key) {
		rc = send_keys_open(s, now, buf, len, plain);
		if (rc < 0)
			return;
		buf = plain;
		len = (size_t)rc;
	}
	rc = wire_decode(buf, len, &m);
	if (rc == CFT_E_VERSION && m.session == s->id) {
		send_on_other_version(s, now, &m);
		return;
	}
	if (rc < 0 || m.session != s->id)
		return;		/* damaged, or not ours: the protocol repairs */
	switch (m.type) {
	case WIRE_HELLO_ACK:
		send_on_hello_ack(s, now, &m.u.hello_ack);
		break;
	case WIRE_STATUS:
		on_status(s, now, &m.u.status);
		break;
	case WIRE_ERROR:
		on_error(s, now, &m.u.error);
		break;
	default:
		break;
	}
}

/* Our COMMIT of the file behind, again: the receiver answers with what
 * became of it, if its COMMITTED or its VERIFIED was lost. */
static void send_behind_commit(struct send_session *s)
{
	struct wire_msg m;

	send_msg(s, &m, WIRE_COMMIT);
	m.u.commit.file = s->behind.file;
	memcpy(m.u.commit.commit, s->behind.commit, CFT_DIGEST_LEN);
	send_say(s, &m);
}

/* Nothing heard for a retransmission timeout: repeat ourselves. */
static void on_retransmit(struct send_session *s, uint64_t now)
{
	if (s->behind.active && s->phase != SEND_HELLO)
		send_behind_commit(s);
	switch (s->phase) {
	case SEND_HELLO:
		send_hello(s, now);
		break;
	case SEND_OFFER:
		send_offer(s, now);
		break;
	case SEND_DATA:
		flow_on_timeout(&s->data.flow);
		s->stats.timeouts++;
		send_data_probe(&s->data, now);
		if (!s->timeout_probe)
			s->timeout_probe = s->data.flow.probe_id;
		break;
	case SEND_VERIFY:
		send_data_probe(&s->data, now);
		/* A file taken back is committed only once the receiver has
		 * our offer of it again: that too may have been lost. */
		if (s->rewound && s->early)
			send_offer(s, now);
		if (s->early)
			send_verify_commit(s, now);	/* it may have been lost */
		break;
	case SEND_SUMS:
		send_verify_sums(s, now);
		break;
	case SEND_COMMIT:
		if (s->rewound)
			send_offer(s, now);	/* as above */
		send_verify_commit(s, now);
		break;
	default:
		break;
	}
	flow_backoff(&s->data.flow, now);
}

/* Silent, or no progress, for the timeout: the transfer has failed. */
static bool timed_out(struct send_session *s, uint64_t now)
{
	uint64_t limit = s->cfg.timeout_us / 1000000;
	bool silent = now - s->last_heard >= s->cfg.timeout_us;

	if (!silent && now - s->last_progress < s->cfg.timeout_us)
		return false;
	send_say_error(s, WIRE_R_ABORT, silent ? "sender timed out" : "no progress");
	if (silent)
		send_fail(s, CFT_EXIT_NETWORK, "%s: no answer from the receiver for %llu s",
			  s->cur < s->cfg.nfiles ? cur_file(s)->name : "session",
			  (unsigned long long)limit);
	else
		send_fail(s, CFT_EXIT_NETWORK, "%s: no progress for %llu s (the receiver "
			  "answers, but nothing moves)",
			  s->cur < s->cfg.nfiles ? cur_file(s)->name : "session",
			  (unsigned long long)limit);
	return true;
}

static void on_timer(struct send_session *s, uint64_t now)
{
	if (s->phase == SEND_DONE || s->phase == SEND_FAILED || timed_out(s, now) ||
	    send_keys_refused(s, now))
		return;
	if (send_keys_forgotten(s, now))
		send_reconnect(s, now);
	if (s->phase == SEND_DATA)
		pump(s, now);
	if (s->phase == SEND_DATA && !s->early_probed &&
	    now >= s->last_heard + flow_probe_wait(&s->data.flow) &&
	    !flow_timer_due(&s->data.flow, now)) {
		/* A STATUS is late: ask now rather than wait for the timer. */
		s->early_probed = true;
		send_data_probe(&s->data, now);
	}
	if (flow_timer_due(&s->data.flow, now))
		on_retransmit(s, now);
}

/* Finished disk work, handed back to the engine between two events. */
static void reap(struct send_session *s, uint64_t now)
{
	s->now = now;
	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return;
	worker_reap(&s->worker);
	/* A block the data phase waited for is read: go on. */
	if (feed_reap(&s->data.feed) && s->phase == SEND_DATA && s->data.disk_wait)
		pump(s, now);
}

void send_on_datagram(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len)
{
	on_datagram(s, now, buf, len);
	reap(s, now);
	sync_stats(s);
}

void send_on_timer(struct send_session *s, uint64_t now)
{
	reap(s, now);
	on_timer(s, now);
	sync_stats(s);
}

uint64_t send_next_deadline(const struct send_session *s, uint64_t now)
{
	const struct flow *fl = &s->data.flow;
	uint64_t t = fl->t_retx;

	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return UINT64_MAX;
	/* Data to send and room for it: when the pace lets the next go. */
	if (s->phase == SEND_DATA && flow_paced(fl) && sched_ready(&s->data.sched) &&
	    !s->data.disk_wait && fl->cc.next_at < t)
		t = fl->cc.next_at > now ? fl->cc.next_at : now;
	if (s->phase == SEND_DATA && !s->early_probed &&
	    s->last_heard + flow_probe_wait(fl) < t)
		t = s->last_heard + flow_probe_wait(fl);
	if (s->last_heard + s->cfg.timeout_us < t)
		t = s->last_heard + s->cfg.timeout_us;
	if (s->last_progress + s->cfg.timeout_us < t)
		t = s->last_progress + s->cfg.timeout_us;
	if (send_keys_deadline(s) < t)
		t = send_keys_deadline(s);
	return t;
}

struct send_session *send_new(const struct send_config *cfg)
{
	struct send_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	source_clear(&s->src);
	if (worker_start(&s->worker, cfg->threads, "cft-send-vread") < 0) {
		free(s);
		return NULL;
	}
	if (vread_init(&s->vread, &s->worker, send_verify_read_done, s) < 0 ||
	    send_data_init(&s->data, cfg->block_size, cfg->threads) < 0) {
		send_free(s);
		return NULL;
	}
	if (cfg->compress && !(s->data.squash = squash_new())) {
		send_free(s);
		return NULL;
	}
	s->out = s->data.out = cfg->out;
	if (cfg->key)
		send_keys_start(s);
	flow_init(&s->data.flow, cfg->bwlimit / CFT_DATAGRAM_MAX);
	send_set_session(s, cfg->session);	/* the default chunks, until a
						 * HELLO for larger is answered */
	s->phase = SEND_HELLO;
	s->data.sched.window = CFT_WINDOW_BLOCKS_MIN;
	return s;
}

void send_free(struct send_session *s)
{
	if (!s)
		return;
	worker_stop(&s->worker);
	vread_free(&s->vread);
	feed_stop(&s->data.feed);
	source_close(&s->src);
	send_data_free(&s->data);
	send_keys_forget(s);
	free(s);
}

void send_start(struct send_session *s, uint64_t now)
{
	s->last_heard = s->last_progress = now;
	s->data.flow.t_retx = now;	/* the first HELLO goes out on the first timer call */
}

bool send_finished(const struct send_session *s)
{
	return s->phase == SEND_DONE || s->phase == SEND_FAILED;
}

int send_outcome(const struct send_session *s)
{
	return s->phase == SEND_DONE ? CFT_EXIT_OK : s->status;
}

const char *send_error(const struct send_session *s)
{
	return s->err;
}

enum send_phase send_phase(const struct send_session *s)
{
	return s->phase;
}

const struct send_stats *send_stats(const struct send_session *s)
{
	return &s->stats;
}
