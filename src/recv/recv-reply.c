/* What a receiver session says: STATUS, ERROR, events, its end. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cft/exit.h"
#include "cft/proto.h"
#include "cft/util.h"
#include "recv-reply.h"
#include "recv-session.h"

void recv_say_event_of(struct recv_session *s, const struct recv_file *f, struct recv_event *ev)
{
	ev->session = s->id;
	ev->peer = s->peer_str;
	if (ev->kind != RECV_EV_OPENED && ev->kind != RECV_EV_ENDED && f) {
		ev->name = f->sf.name;
		ev->size = f->size;
		ev->round = f->round;
	}
	if (s->srv->io.event)
		s->srv->io.event(s->srv->io.event_ctx, ev);
}

void recv_say_event(struct recv_session *s, struct recv_event *ev)
{
	recv_say_event_of(s, s->f, ev);
}

void recv_say(struct recv_session *s, const struct wire_msg *m)
{
	proto_send(&s->out, &s->peer, m);
}

/* What the file would be committed as, and its digest: the size it holds,
 * the mode and time it has or, for a file that exists already, will be
 * given at the commit (the offered ones, the mode less the mask). */
static void verified(const struct recv_file *f, struct wire_status *st)
{
	const struct proto_facts facts = { f->held.size, (uint32_t)f->sf.mode, f->sf.mtime_sec,
					   f->sf.mtime_nsec };

	st->bytes = facts.size;
	st->mode = facts.mode;
	st->mtime_sec = facts.mtime_sec;
	st->mtime_nsec = facts.mtime_nsec;
	st->existing = f->sf.existing ? 1 : 0;
	/* Withheld: the commit digest below shows the sender whether it agrees
	 * with its own content, and nobody learns the digest of a file that
	 * is here (an existing one, a partial one) without having sent it. */
	memset(st->digest, 0, CFT_DIGEST_LEN);
	st->name_len = (uint16_t)strlen(f->sf.name);
	st->name = (const uint8_t *)f->sf.name;
	proto_commit_digest(f->offer, &facts, f->rb.whole, st->commit);
}

/* The file in progress, by state. */
static void current(const struct recv_session *s, const struct recv_file *f,
		    struct wire_status *st)
{
	memcpy(st->offer, f->offer, CFT_SHORT_DIGEST_LEN);
	st->round = f->round;
	st->state = f->state;
	if (f->state == WIRE_FS_RECEIVING)
		recv_blocks_status(&s->blocks, st);
	else if (f->state == WIRE_FS_VERIFYING) {
		st->bytes = atomic_load(&f->chk.read_back);
		st->next = recv_session_can_pass(s, f) ? 1 : 0;
	}
	else if (f->state == WIRE_FS_VERIFIED)
		verified(f, st);
	else if (f->state == WIRE_FS_SUMS)
		st->sums_have = f->sums_have;
}

void recv_say_status(struct recv_session *s, uint32_t idx)
{
	struct wire_msg m;
	struct wire_status *st = &m.u.status;

	proto_msg(&m, s->id, WIRE_STATUS);
	st->file = idx;
	st->echo = s->echo;
	st->rx_seq = s->rx_seq;
	st->rx_count = s->rx_count;
	if (s->f && s->f->index == idx) {
		current(s, s->f, st);
	} else if (s->behind && s->behind->index == idx) {
		current(s, s->behind, st);
	} else if (recv_committed_of(s, idx)) {
		/* Committed just now: the sender may not have heard. */
		st->state = WIRE_FS_COMMITTED;
		memcpy(st->offer, recv_committed_of(s, idx)->offer, CFT_SHORT_DIGEST_LEN);
		memcpy(st->commit, recv_committed_of(s, idx)->commit, CFT_DIGEST_LEN);
	} else {
		return;		/* not offered yet, or long done: nothing to say */
	}
	s->echo = 0;		/* each echo is one round-trip sample, once */
	s->unreported = 0;
	recv_say(s, &m);
}

void recv_say_error(struct recv_session *s, unsigned reason, uint32_t file,
		    const uint8_t *offer, const char *text)
{
	uint8_t ref[CFT_SHORT_DIGEST_LEN];

	proto_error_ref(offer ? offer : s->hello, reason, file, ref);
	proto_send_error(&s->out, &s->peer, s->id, reason, file, ref, text);
}

void recv_session_end(struct recv_session *s, int status, const char *why)
{
	struct recv_event ev = { .kind = RECV_EV_ENDED };

	if (s->over)
		return;
	s->over = true;
	s->status = status;
	/* A sender that went silent or gave up may come back: keep what it
	 * sent for a resume.  Anything else (refusal, I/O error, digests that
	 * never agreed) leaves nothing behind, but for the file passed behind
	 * the one that failed: whole, its check unfinished, it is kept as a
	 * partial file is, for a later run. */
	/* Nothing may be writing or reading the file as it is closed. */
	recv_disk_drain(&s->disk);
	for (int i = 0; i < 2; i++) {
		struct recv_file *f = i ? s->behind : s->f;

		if (f && (status == CFT_EXIT_NETWORK || f == s->behind))
			store_keep(&f->sf);
		else if (f)
			store_abort(&f->sf);
	}
	ev.status = status;
	ev.why = why;
	ev.usec = s->last_heard - s->started;
	ev.nfiles = s->next_file;
	recv_say_event(s, &ev);
}

void recv_fail_file(struct recv_session *s, unsigned reason, const char *detail)
{
	recv_fail_file_of(s, s->f, reason, detail);
}

void recv_fail_file_of(struct recv_session *s, const struct recv_file *f, unsigned reason,
		       const char *detail)
{
	char why[UTIL_NAME_SHOWN_MAX + 256], shown[UTIL_NAME_SHOWN_MAX] = "";

	if (f)
		util_name_shown(f->sf.name, shown, sizeof(shown));
	snprintf(why, sizeof(why), "%s%s%s (%s)", shown, f ? ": " : "",
		 wire_reason_name(reason), detail);
	recv_say_error(s, reason, f ? f->index : WIRE_NO_FILE, f ? f->offer : NULL, detail);
	recv_session_end(s, wire_reason_exit(reason), why);
}

void recv_fail_io_of(struct recv_session *s, const struct recv_file *f, const char *what)
{
	int e = errno;
	char detail[160];

	snprintf(detail, sizeof(detail), "%s: %s", what, strerror(e));
	recv_fail_file_of(s, f, (e == ENOSPC || e == EDQUOT) ? WIRE_R_NO_SPACE : WIRE_R_IO,
			  detail);
}

void recv_fail_io(struct recv_session *s, const char *what)
{
	recv_fail_io_of(s, s->f, what);
}
