/*
 * Receiver sessions: accept blocks into memory, check each against the
 * sender's block digest, write it, and when the file is whole read it back
 * from disk and report its digest.  The file gets its final name only when
 * the sender, having compared that digest with its own, says COMMIT.
 *
 * Everything a datagram claims is checked against the session's state and
 * limits before it is used; anything that does not fit is counted and
 * dropped, and the session goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/proto.h"
#include "cft/util.h"
#include "recv-session.h"

/* An event about the session, and about its current file but for the
 * session's own (opened, ended). */
static void event(struct recv_session *s, struct recv_event *ev)
{
	ev->session = s->id;
	ev->peer = s->peer_str;
	if (ev->kind != RECV_EV_OPENED && ev->kind != RECV_EV_ENDED && s->f) {
		ev->name = s->f->sf.name;
		ev->size = s->f->size;
		ev->round = s->f->round;
	}
	if (s->srv->io.event)
		s->srv->io.event(s->srv->io.event_ctx, ev);
}

static void put(struct recv_session *s, const struct wire_msg *m)
{
	proto_send(&s->srv->io.out, &s->peer, m);
}

static void refuse(struct recv_session *s, unsigned reason, uint32_t file, const char *text)
{
	proto_send_error(&s->srv->io.out, &s->peer, s->id, reason, file, text);
}

static void file_free(struct recv_file *f)
{
	if (!f)
		return;
	store_abort(&f->sf);
	filesum_free(&f->rb);
	free(f);
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
	 * never agreed) leaves nothing behind. */
	if (s->f) {
		if (status == CFT_EXIT_NETWORK)
			store_keep(&s->f->sf);
		else
			store_abort(&s->f->sf);
	}
	ev.status = status;
	ev.why = why;
	ev.usec = s->last_heard - s->started;
	ev.nfiles = s->next_file;
	event(s, &ev);
}

/*
 * A fatal problem with the current file: tell the sender (the detail, such as
 * "write: No space left on device", goes on the wire; the sender names the
 * file and the reason itself) and end the session.
 */
static void file_fail(struct recv_session *s, unsigned reason, const char *detail)
{
	char why[CFT_NAME_MAX + 256];

	snprintf(why, sizeof(why), "%s%s%s (%s)", s->f ? s->f->sf.name : "",
		 s->f ? ": " : "", wire_reason_name(reason), detail);
	refuse(s, reason, s->f ? s->f->index : WIRE_NO_FILE, detail);
	recv_session_end(s, wire_reason_exit(reason), why);
}

static void io_fail(struct recv_session *s, const char *what)
{
	int e = errno;
	char detail[160];

	snprintf(detail, sizeof(detail), "%s: %s", what, strerror(e));
	file_fail(s, (e == ENOSPC || e == EDQUOT) ? WIRE_R_NO_SPACE : WIRE_R_IO, detail);
}

/* Tell the sender where file `idx` stands. */
static void report_status(struct recv_session *s, uint32_t idx)
{
	struct wire_msg m;
	struct wire_status *st = &m.u.status;
	struct recv_file *f = s->f;

	proto_msg(&m, s->id, WIRE_STATUS);
	st->file = idx;
	st->echo = s->echo;
	st->rx_seq = s->rx_seq;
	st->rx_count = s->rx_count;
	if (idx < s->next_file) {
		st->state = WIRE_FS_COMMITTED;
	} else if (f && f->index == idx) {
		st->round = f->round;
		st->state = f->state;
		if (f->state == WIRE_FS_RECEIVING)
			recv_blocks_status(&s->blocks, st);
		else if (f->state == WIRE_FS_VERIFYING)
			st->bytes = f->rb.off;
		else if (f->state == WIRE_FS_VERIFIED)
			st->bytes = f->size;
		else if (f->state == WIRE_FS_SUMS)
			st->sums_have = f->sums_have;
		if (f->state == WIRE_FS_VERIFIED)
			memcpy(st->digest, f->rb.whole, CFT_DIGEST_LEN);
	} else {
		return;		/* not offered yet: nothing to say */
	}
	s->echo = 0;		/* each echo is one round-trip sample, once */
	s->unreported = 0;
	put(s, &m);
}

static void start_readback(struct recv_session *s)
{
	struct recv_file *f = s->f;
	struct recv_event ev = { .kind = RECV_EV_READBACK };

	f->state = WIRE_FS_VERIFYING;
	f->flushed = false;
	recv_blocks_drop_slots(&s->blocks);
	if (filesum_start(&f->rb, f->size, s->blocks.block_size) < 0) {
		errno = ENOMEM;
		io_fail(s, "read back");
		return;
	}
	event(s, &ev);
}

/* A block is whole: check it against the sender's digest, then write it. */
static void complete_block(struct recv_session *s, struct recv_slot *sl)
{
	struct recv_file *f = s->f;

	if (!recv_blocks_check(&s->blocks, sl)) {
		struct recv_event ev = { .kind = RECV_EV_BLOCK_FAILED, .block = sl->block };

		s->srv->c.block_mismatch++;
		event(s, &ev);
		if (sl->retries > CFT_BLOCK_RETRIES_MAX)
			file_fail(s, WIRE_R_DIGEST, "a block kept failing its digest");
		return;
	}
	if (store_write(&f->sf, (uint64_t)sl->block * s->blocks.block_size, sl->buf,
			sl->len) < 0) {
		io_fail(s, "write");
		return;
	}
	recv_blocks_written(&s->blocks, sl);
	if (recv_blocks_complete(&s->blocks)) {
		start_readback(s);
		if (!s->over)
			report_status(s, f->index);
	}
}

/* Count what recv-blocks made of a datagram; complete a whole block. */
static void took(struct recv_session *s, enum recv_take t, struct recv_slot *whole)
{
	switch (t) {
	case RECV_TAKEN:
		if (whole)
			complete_block(s, whole);
		break;
	case RECV_DUPLICATE: s->srv->c.duplicate++; break;
	case RECV_MALFORMED: s->srv->c.malformed++; break;
	case RECV_OUTSIDE: s->srv->c.window_full++; break;
	case RECV_NOMEM: break;	/* the block is asked for again */
	}
}

/* Is this BLOCK or DATA for the file being received? */
static bool receiving(struct recv_session *s, uint32_t file)
{
	if (s->f && s->f->index == file && s->f->state == WIRE_FS_RECEIVING)
		return true;
	s->srv->c.stale++;
	return false;
}

static void on_block(struct recv_session *s, const struct wire_block *bl)
{
	struct recv_slot *whole = NULL;
	enum recv_take t;

	if (!receiving(s, bl->file))
		return;
	t = recv_blocks_digest(&s->blocks, bl, &whole);
	took(s, t, whole);
}

static void on_data(struct recv_session *s, uint64_t now, const struct wire_data *d)
{
	struct recv_slot *whole = NULL;

	s->rx_count++;
	if ((int32_t)(d->seq - s->rx_seq) > 0)
		s->rx_seq = d->seq;
	if (s->unreported++ == 0)
		s->unreported_since = now;
	if (receiving(s, d->file)) {
		enum recv_take t = recv_blocks_data(&s->blocks, d, &whole);

		took(s, t, whole);
	}
	if (!s->over && s->unreported >= CFT_STATUS_EVERY && s->f)
		report_status(s, s->f->index);
}

/* Refuse the offer of file `file` for good: tell the sender, end. */
static void refuse_offer(struct recv_session *s, unsigned reason, uint32_t file,
			 const char *detail, const char *why)
{
	s->srv->c.refused++;
	refuse(s, reason, file, detail);
	recv_session_end(s, CFT_EXIT_REFUSED, why);
}

/* Another live session receiving `name`?  From the same host, it is this
 * sender restarted (a cron job killed and run again): this session takes
 * over its partial file.  From another host, the name is busy. */
static bool name_busy(struct recv_session *s, const char *name)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		struct recv_session *o = s->srv->sessions[i];

		if (!o || o == s || o->over || !o->f || strcmp(o->f->sf.name, name) != 0)
			continue;
		if (!net_addr_same_host(&o->peer, &s->peer))
			return true;
		recv_session_end(o, CFT_EXIT_NETWORK,
				 "superseded by a newer session from the same host");
		o->superseded = true;
	}
	return false;
}

/* Check an offer against the session and the limits.  Returns 0 to accept,
 * -1 when it was answered or refused. */
static int check_offer(struct recv_session *s, const struct wire_file *wf, char *name)
{
	if (wf->file < s->next_file || (s->f && s->f->index == wf->file)) {
		report_status(s, wf->file);	/* committed already, or repeated */
		return -1;
	}
	if (s->f || wf->file != s->next_file || wf->file >= s->nfiles) {
		s->srv->c.stale++;
		return -1;
	}
	if (util_name_valid(wf->name, wf->name_len) < 0) {
		char shown[CFT_NAME_MAX + 1];

		util_sanitize(wf->name, wf->name_len, shown, sizeof(shown));
		refuse_offer(s, WIRE_R_BAD_NAME, wf->file, shown, "file name refused");
		return -1;
	}
	memcpy(name, wf->name, wf->name_len);
	name[wf->name_len] = '\0';
	if (wf->size > CFT_FILE_SIZE_MAX ||
	    proto_blocks(wf->size, s->blocks.block_size) > CFT_BLOCKS_MAX) {
		refuse_offer(s, WIRE_R_TOO_BIG, wf->file, name, "file too large");
		return -1;
	}
	if (wf->flags & ~WIRE_FILE_FLAGS_KNOWN) {
		refuse_offer(s, WIRE_R_BAD_REQUEST, wf->file, "file flags not supported",
			     "file flags not supported");
		return -1;
	}
	if (name_busy(s, name)) {
		refuse_offer(s, WIRE_R_BUSY, wf->file, "another session is receiving this name",
			     "name busy in another session");
		return -1;
	}
	return 0;
}

/* Open what the offer starts from and say what happens next. */
static void open_file(struct recv_session *s, struct recv_file *f, const char *name)
{
	struct recv_event ev = { .kind = RECV_EV_RECEIVING };

	if (store_open(s->srv->dirfd, name, &f->src, f->sf.mode, 0, &f->sf, &f->origin) < 0) {
		snprintf(f->sf.name, sizeof(f->sf.name), "%s", name);
		io_fail(s, "create");
		return;
	}
	if (f->no_clobber && f->origin != STORE_EXISTING && store_exists(s->srv->dirfd, name)) {
		file_fail(s, WIRE_R_EXISTS, "--no-clobber, and the destination differs");
		return;
	}
	ev.blocks = s->blocks.nblocks;
	if (f->origin == STORE_FRESH) {
		event(s, &ev);
		if (f->size == 0)
			start_readback(s);
	} else {
		/* Check what is already here, block by block, before trusting
		 * any of it: read it back; the sender's digests decide. */
		ev.kind = RECV_EV_CHECKING;
		ev.existing = f->origin == STORE_EXISTING;
		event(s, &ev);
		recv_blocks_mark_all(&s->blocks, true);
		start_readback(s);
	}
	if (!s->over)
		report_status(s, f->index);
}

static void on_file(struct recv_session *s, const struct wire_file *wf)
{
	char name[CFT_NAME_MAX + 1];
	struct recv_file *f;

	if (check_offer(s, wf, name) < 0)
		return;
	f = calloc(1, sizeof(*f));
	if (!f || filesum_init(&f->rb) < 0 || recv_blocks_start(&s->blocks, wf->size) < 0) {
		if (f)
			filesum_free(&f->rb);
		free(f);
		errno = ENOMEM;
		io_fail(s, "memory");
		return;
	}
	s->f = f;
	f->sf.fd = -1;
	f->sf.mode = (mode_t)(wf->mode & 0777);
	f->index = wf->file;
	f->size = wf->size;
	f->state = WIRE_FS_RECEIVING;
	f->no_clobber = (wf->flags & WIRE_FILE_NO_CLOBBER) != 0;
	f->src = (struct store_source){ wf->size, wf->mtime_sec, wf->mtime_nsec,
					s->blocks.block_size };
	open_file(s, f, name);
}

static void on_probe(struct recv_session *s, const struct wire_probe *p)
{
	s->echo = p->echo;
	report_status(s, p->file);
}

/* The first SUMS of a round after VERIFIED: the file differs. */
static int open_round(struct recv_session *s, struct recv_file *f)
{
	if (f->sf.existing) {
		/* The destination differs from the source. */
		if (f->no_clobber) {
			file_fail(s, WIRE_R_EXISTS, "--no-clobber, and the destination differs");
			return -1;
		}
		/* Receive afresh; the old content keeps its name until the new
		 * is verified. */
		if (store_restart(&f->sf, &f->src) < 0) {
			io_fail(s, "create");
			return -1;
		}
		f->origin = STORE_FRESH;
		recv_blocks_mark_all(&s->blocks, false);
	}
	f->round++;
	f->state = WIRE_FS_SUMS;
	f->sums_have = 0;
	return 0;
}

static void on_sums(struct recv_session *s, const struct wire_sums *su)
{
	struct recv_file *f = s->f;

	if (!f || f->index != su->file) {
		s->srv->c.stale++;
		return;
	}
	if (f->state == WIRE_FS_VERIFIED && su->round == f->round + 1 && open_round(s, f) < 0)
		return;
	if (f->state != WIRE_FS_SUMS || su->round != f->round || su->first != f->sums_have ||
	    su->count > s->blocks.nblocks - f->sums_have) {
		s->srv->c.stale++;
		if (f->state == WIRE_FS_SUMS)
			report_status(s, f->index);
		return;
	}
	for (uint32_t i = 0; i < su->count; i++) {
		uint32_t b = su->first + i;

		if (recv_blocks_done(&s->blocks, b) &&
		    !digest_equal(su->digests + (size_t)i * CFT_DIGEST_LEN, filesum_block(&f->rb, b))) {
			/* What is on our disk differs from the sender's source:
			 * forget the block so it is sent again. */
			struct recv_event ev = { .kind = RECV_EV_DIFFERS, .block = b };

			s->srv->c.readback_mismatch++;
			event(s, &ev);
			recv_blocks_forget(&s->blocks, b);
		}
	}
	f->sums_have += su->count;
	if (f->sums_have == s->blocks.nblocks) {
		recv_blocks_rewind(&s->blocks);
		f->state = WIRE_FS_RECEIVING;
		if (recv_blocks_complete(&s->blocks))
			start_readback(s);
	}
	if (!s->over)
		report_status(s, f->index);
}

static void on_commit(struct recv_session *s, const struct wire_commit *c)
{
	struct recv_file *f = s->f;
	struct recv_event ev = { .kind = RECV_EV_COMMITTED };

	if (c->file < s->next_file) {
		report_status(s, c->file);	/* committed already: say so again */
		return;
	}
	if (!f || f->index != c->file || f->state != WIRE_FS_VERIFIED) {
		s->srv->c.stale++;
		return;
	}
	/* Never commit anything but what we read back ourselves. */
	if (!digest_equal(c->digest, f->rb.whole)) {
		s->srv->c.malformed++;
		return;
	}
	ev.existing = f->sf.existing;
	if (store_commit(&f->sf) < 0) {
		io_fail(s, "rename");
		return;
	}
	ev.digest = f->rb.whole;
	event(s, &ev);
	s->srv->c.files_committed++;
	s->srv->c.bytes_committed += f->size;
	s->next_file++;
	s->f = NULL;
	file_free(f);
	report_status(s, c->file);
}

static void on_error(struct recv_session *s, const struct wire_error *e)
{
	char text[CFT_ERROR_MSG_MAX + 1], why[CFT_ERROR_MSG_MAX + 64];

	util_sanitize(e->msg, e->msg_len, text, sizeof(text));
	snprintf(why, sizeof(why), "sender gave up: %s%s%s", wire_reason_name(e->reason),
		 text[0] ? ": " : "", text);
	recv_session_end(s, wire_reason_exit(e->reason), why);
}

static void send_hello_ack(struct recv_session *s)
{
	struct wire_msg ack;

	proto_msg(&ack, s->id, WIRE_HELLO_ACK);
	ack.u.hello_ack.window_blocks = (uint16_t)s->blocks.window;
	put(s, &ack);
}

static void on_bye(struct recv_session *s)
{
	struct wire_msg ack;

	proto_msg(&ack, s->id, WIRE_BYE_ACK);
	put(s, &ack);
	if (s->next_file == s->nfiles && !s->f)
		recv_session_end(s, CFT_EXIT_OK, NULL);
	else
		recv_session_end(s, CFT_EXIT_NETWORK, "sender left before the last file");
}

void recv_session_on_msg(struct recv_session *s, uint64_t now, const struct wire_msg *m)
{
	s->last_heard = now;
	switch (m->type) {
	case WIRE_HELLO: send_hello_ack(s); break;	/* our HELLO_ACK was lost */
	case WIRE_FILE: on_file(s, &m->u.file); break;
	case WIRE_BLOCK: on_block(s, &m->u.block); break;
	case WIRE_DATA: on_data(s, now, &m->u.data); break;
	case WIRE_PROBE: on_probe(s, &m->u.probe); break;
	case WIRE_SUMS: on_sums(s, &m->u.sums); break;
	case WIRE_COMMIT: on_commit(s, &m->u.commit); break;
	case WIRE_BYE: on_bye(s); break;
	case WIRE_ERROR: on_error(s, &m->u.error); break;
	default:
		/* Receiver-to-sender types have no business here. */
		s->srv->c.malformed++;
		break;
	}
}

/* One step of the read-back: fsync first, then CFT_READBACK_STEP bytes. */
static void readback_step(struct recv_session *s)
{
	struct recv_file *f = s->f;
	uint8_t *buf = s->srv->rbbuf;
	uint64_t want = filesum_left(&f->rb);
	long n = 0;

	if (!f->flushed) {
		if (store_flush(&f->sf) < 0) {
			io_fail(s, "fsync");
			return;
		}
		f->flushed = true;
	}
	if (want > CFT_READBACK_STEP)
		want = CFT_READBACK_STEP;
	if (want > 0) {
		n = store_read(&f->sf, f->rb.off, buf, want);
		if (n < 0) {
			io_fail(s, "read back");
			return;
		}
		if (n == 0) {
			/* Shorter on disk than written: pad with zeros so the
			 * digests differ and the blocks are sent again. */
			memset(buf, 0, want);
			n = (long)want;
		}
	}
	filesum_update(&f->rb, buf, (size_t)n);
	if (filesum_done(&f->rb)) {
		f->state = WIRE_FS_VERIFIED;
		report_status(s, f->index);
	}
}

void recv_session_timer(struct recv_session *s, uint64_t now)
{
	struct recv_file *f = s->f;

	if (s->over)
		return;
	if (now - s->last_heard >= s->srv->timeout_us) {
		if (s->next_file == s->nfiles && !f)
			recv_session_end(s, CFT_EXIT_OK, NULL);	/* only the BYE was lost */
		else
			recv_session_end(s, CFT_EXIT_NETWORK, "sender silent past the timeout");
		return;
	}
	if (s->unreported > 0 && f && now - s->unreported_since >= CFT_STATUS_DELAY_US)
		report_status(s, f->index);
	if (f && f->state == WIRE_FS_VERIFYING)
		readback_step(s);
}

uint64_t recv_session_deadline(const struct recv_session *s, uint64_t now)
{
	uint64_t t = s->last_heard + s->srv->timeout_us;

	if (s->unreported > 0 && s->unreported_since + CFT_STATUS_DELAY_US < t)
		t = s->unreported_since + CFT_STATUS_DELAY_US;
	if (s->f && s->f->state == WIRE_FS_VERIFYING)
		t = now;
	return t;
}

struct recv_session *recv_session_new(struct recv_server *srv, uint64_t now,
				      const struct net_addr *from, uint64_t id,
				      const struct wire_hello *h)
{
	struct recv_session *s = calloc(1, sizeof(*s));
	struct recv_event ev = { .kind = RECV_EV_OPENED, .nfiles = h->nfiles,
				 .block_size = h->block_size };
	uint32_t window = CFT_WINDOW_BYTES / h->block_size;

	if (!s)
		return NULL;
	if (window < CFT_WINDOW_BLOCKS_MIN)
		window = CFT_WINDOW_BLOCKS_MIN;
	if (window > CFT_WINDOW_BLOCKS_MAX)
		window = CFT_WINDOW_BLOCKS_MAX;
	s->srv = srv;
	s->id = id;
	s->peer = *from;
	net_addr_str(from, s->peer_str, sizeof(s->peer_str));
	s->nfiles = h->nfiles;
	s->last_heard = now;
	s->started = now;
	recv_blocks_init(&s->blocks, h->block_size, window);
	event(s, &ev);
	send_hello_ack(s);
	return s;
}

void recv_session_free(struct recv_session *s)
{
	file_free(s->f);
	recv_blocks_free(&s->blocks);
	free(s);
}
