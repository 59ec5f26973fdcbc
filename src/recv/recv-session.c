/*
 * Receiver sessions: take an offer only when it is what the sender meant,
 * accept chunks into memory, check each block against the sender's root,
 * write it, and when the file is whole hand it to the end-to-end check
 * (recv-verify.c).  The file gets its final name only when the sender,
 * having compared what this end holds with its own facts, says COMMIT.
 *
 * Everything a datagram claims is checked against the session's state and
 * limits before it is used; anything that does not fit is counted and
 * dropped, and the session goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cft/check.h"
#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/proto.h"
#include "cft/squash.h"
#include "cft/util.h"
#include "recv-reply.h"
#include "recv-server.h"
#include "recv-session.h"
#include "recv-verify.h"

/* A block is whole: check it against the sender's root, then have it
 * written (on_written follows). */
static void complete_block(struct recv_session *s, struct recv_slot *sl)
{
	if (!recv_blocks_check(&s->blocks, sl)) {
		struct recv_event ev = { .kind = RECV_EV_BLOCK_FAILED, .block = sl->block };

		s->srv->c.block_mismatch++;
		recv_say_event(s, &ev);
		if (sl->retries > CFT_BLOCK_RETRIES_MAX)
			recv_fail_file(s, WIRE_R_DIGEST, "a block kept failing its digest");
		return;
	}
	recv_blocks_writing(&s->blocks, sl);
	recv_disk_write(&s->disk, (unsigned)(sl - s->blocks.slots), sl,
			(uint64_t)sl->block * s->blocks.block_size);
}

/* A block is on the disk, or could not be written. */
static void on_written(void *ctx, struct recv_slot *sl, int rc)
{
	struct recv_session *s = ctx;
	struct recv_file *f = s->f;

	if (s->over || !f)
		return;
	if (rc < 0) {
		recv_fail_io(s, "write");
		return;
	}
	recv_blocks_written(&s->blocks, sl);
	if (recv_blocks_complete(&s->blocks)) {
		recv_verify_start(s);
		if (!s->over)
			recv_say_status(s, f->index);
	} else {
		recv_verify_ahead(s);
	}
}

void recv_session_reap(struct recv_session *s)
{
	recv_disk_reap(&s->disk);
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
	case RECV_DAMAGED: s->srv->c.bad_chunk++; break;
	case RECV_UNWANTED: s->srv->c.stale++; break;
	case RECV_REFUTED: s->srv->c.block_mismatch++; break;
	case RECV_HOPELESS:
		s->srv->c.block_mismatch++;
		recv_fail_file(s, WIRE_R_DIGEST, "a block kept failing its digest");
		break;
	case RECV_NOMEM: break;	/* the block is asked for again */
	}
}

/* Is this BLOCK, DATA or CHUNKSUMS for the file being received? */
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
	t = recv_blocks_root(&s->blocks, bl, &whole);
	took(s, t, whole);
}

static void on_hole(struct recv_session *s, const struct wire_hole *h)
{
	struct recv_slot *whole = NULL;
	enum recv_take t;

	if (!receiving(s, h->file))
		return;
	t = recv_blocks_hole(&s->blocks, h->block, &whole);
	took(s, t, whole);
}

static void on_chunksums(struct recv_session *s, const struct wire_chunksums *cs)
{
	struct recv_slot *whole = NULL;
	enum recv_take t;

	if (!receiving(s, cs->file))
		return;
	t = recv_blocks_chunksums(&s->blocks, cs, &whole);
	took(s, t, whole);
}

/*
 * A DATA datagram: taken only if its leaf is its payload's CRC-32 and its
 * check holds (together they cover every field whatever became of the
 * datagram's checksum: a damaged sequence number would mislead the sender's
 * window, a damaged payload would cost the block a root).  The sequence
 * number reported back is the latest intact one, not the highest ever seen,
 * so that even one that was damaged with its check recomputed misleads one
 * report at most.
 */
static void on_data(struct recv_session *s, uint64_t now, const struct wire_data *d)
{
	struct recv_slot *whole = NULL;

	s->rx_count++;
	if (s->unreported++ == 0)
		s->unreported_since = now;
	if (d->payload_crc != d->leaf || d->fields_crc != d->check) {
		s->srv->c.bad_chunk++;
	} else {
		s->rx_seq = d->seq;
		if (receiving(s, d->file)) {
			enum recv_take t = recv_blocks_data(&s->blocks, d, &whole);

			took(s, t, whole);
		}
	}
	if (!s->over && s->unreported >= s->status_every && s->f)
		recv_say_status(s, s->f->index);
}

/*
 * A ZDATA: its tag covered its bytes and its check its fields (as sent, the
 * compressed length among them); expanded, it is the chunk a DATA would
 * have carried, its leaf the chunk's own, and is taken as one.  A stream
 * that does not expand, or to more than a chunk, is damage.
 */
static void on_zdata(struct recv_session *s, uint64_t now, const struct wire_data *z)
{
	uint8_t chunk[CFT_CHUNK_SIZE_MAX];
	struct wire_data d = *z;
	long n = -1;

	if (z->fields_crc == z->check)
		n = squash_expand(z->payload, z->len, chunk, s->blocks.chunk_size);
	if (n <= 0) {
		s->srv->c.bad_chunk++;
		return;
	}
	d.len = (uint16_t)n;
	d.payload = chunk;
	d.payload_crc = wire_leaf(chunk, (size_t)n);
	d.check = d.fields_crc = wire_data_check(&d);
	on_data(s, now, &d);
}

/* Refuse the offer of file `file` for good: tell the sender, end. */
static void refuse_offer(struct recv_session *s, unsigned reason, const struct wire_file *wf,
			 const char *detail, const char *why)
{
	s->srv->c.refused++;
	recv_say_error(s, reason, wf->file, wf->offer, detail);
	recv_session_end(s, CFT_EXIT_REFUSED, why);
}

/* Another live session receiving `name`?  From the same host, it is this
 * sender restarted (a cron job killed and run again): this session takes
 * over its partial file.  From another host, the name is busy. */
static bool name_busy(struct recv_session *s, const char *name)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		struct recv_session *o = s->srv->sessions[i];

		if (!o || o == s || o->over || !((o->f && strcmp(o->f->sf.name, name) == 0) ||
						 (o->behind && strcmp(o->behind->sf.name, name) == 0)))
			continue;
		if (!net_addr_same_host(&o->peer, &s->peer))
			return true;
		recv_session_end(o, CFT_EXIT_NETWORK,
				 "superseded by a newer session from the same host");
		o->superseded = true;
	}
	return false;
}

/* Stop the disk work of the file in progress, before it is closed.  The
 * workers are the session's: a check of the file behind it is forgotten
 * too, and asked again. */
static void drain(struct recv_session *s)
{
	recv_disk_drain(&s->disk);
	if (s->behind)
		recv_verify_again(s, s->behind);
}

/*
 * Passing a file behind.  A new file's first round, every block of it
 * written, its read-back running and the sender's COMMIT held, needs
 * nothing more from the sender unless that read-back disagrees.  Its
 * VERIFYING STATUS says so ("next"), and the sender may offer the next file
 * at once: the file is then checked and committed behind the next one,
 * whose offer and data overlap its fsync and read-back.  It is committed
 * (renamed, the directory synced, COMMITTED said) when its read-back ends
 * and its digest and facts make the COMMIT held, exactly as it would have
 * been in progress; files are still committed in their order.  If they do
 * not (damage on the way to the disk, a mode the file system would not
 * keep, an error), it is taken back: it is the file in progress again, as
 * if it had never been passed, and the next is put aside (kept as a partial
 * file) until the sender, told by a VERIFIED STATUS, offers it again.  One
 * file at most is behind.
 */
bool recv_session_can_pass(const struct recv_session *s, const struct recv_file *f)
{
	return f == s->f && !s->behind && !s->over && f->state == WIRE_FS_VERIFYING &&
	       f->commit_held && f->round == 0 && f->origin == STORE_FRESH && !f->dir &&
	       !f->dry_run && f->mode_as_offered && f->index + 1 < s->nfiles;
}

int recv_session_take_back(struct recv_session *s)
{
	struct recv_file *b = s->behind, *next = s->f;

	s->behind = NULL;
	if (next) {
		recv_disk_drain(&s->disk);
		/* Kept for its offer to come again, if any of it is here. */
		if (store_held(&next->sf) > 0)
			store_keep(&next->sf);
		else
			store_abort(&next->sf);
		recv_file_free(next);
	}
	s->f = b;
	b->taken_back = true;
	recv_disk_file(&s->disk, &b->sf);
	/* Every block of it was written: the SUMS of a next round say
	 * which to forget. */
	if (recv_blocks_start(&s->blocks, b->index, b->size) < 0) {
		errno = ENOMEM;
		recv_fail_io(s, "memory");
		return -1;
	}
	recv_blocks_mark_all(&s->blocks, true);
	return 0;
}

/*
 * Is this FILE an offer to act on?  Only if its fields are what the sender
 * digested (its offer field): a damaged offer is dropped, and the sender
 * offers again, before anything is created.  An offer of the file in
 * progress is a repeat (its STATUS was lost), or, if it differs, a
 * correction: the sender saw that this end understood something else.  The
 * offer of the file after the one in progress passes that one behind it
 * when it may be; when it may not, the sender hears why (its STATUS).
 */
static int offer_news(struct recv_session *s, const struct wire_file *wf)
{
	uint8_t d[CFT_DIGEST_LEN];
	uint32_t expected;

	proto_offer_digest(s->hello, wf, d);
	if (!digest_equal(d, wf->offer)) {
		s->srv->c.bad_offer++;
		return -1;
	}
	if (recv_committed_of(s, wf->file) ||
	    (s->f && s->f->index == wf->file && digest_equal(s->f->offer, wf->offer)) ||
	    (s->behind && s->behind->index == wf->file &&
	     digest_equal(s->behind->offer, wf->offer))) {
		/* Committed already, or repeated (a file taken back: the
		 * sender knows it came back). */
		if (s->f && s->f->index == wf->file)
			s->f->taken_back = false;
		recv_say_status(s, wf->file);
		return -1;
	}
	if (s->f && s->f->index == wf->file) {
		drain(s);
		recv_file_free(s->f);		/* a correction: start over */
		s->f = NULL;
	}
	/* A dry run goes on to the next file when the sender has its answer:
	 * nothing of the last was written, nothing is to be committed. */
	if (s->f && s->f->dry_run && wf->file == s->f->index + 1)
		recv_session_dry_done(s);
	if (s->f && wf->file == s->f->index + 1 && recv_session_can_pass(s, s->f)) {
		s->behind = s->f;
		s->f = NULL;
		s->srv->c.passed++;
	}
	expected = s->next_file + (s->behind ? 1 : 0);
	if (s->f || wf->file != expected || wf->file >= s->nfiles) {
		s->srv->c.stale++;
		if (s->f && wf->file == s->f->index + 1)
			recv_say_status(s, s->f->index);
		return -1;
	}
	return 0;
}

/* Check an offer against the limits.  Returns 0 to accept, -1 when it was
 * refused. */
static int check_offer(struct recv_session *s, const struct wire_file *wf, char *name)
{
	if (util_path_valid(wf->name, wf->name_len) < 0) {
		char shown[CFT_PATH_MAX + 1];

		util_sanitize(wf->name, wf->name_len, shown, sizeof(shown));
		refuse_offer(s, WIRE_R_BAD_NAME, wf, shown, "file name refused");
		return -1;
	}
	memcpy(name, wf->name, wf->name_len);
	name[wf->name_len] = '\0';
	if (wf->size > CFT_FILE_SIZE_MAX ||
	    proto_blocks(wf->size, s->blocks.block_size) > CFT_BLOCKS_MAX) {
		refuse_offer(s, WIRE_R_TOO_BIG, wf, name, "file too large");
		return -1;
	}
	if ((wf->flags & ~WIRE_FILE_FLAGS_KNOWN) || (wf->mode & ~0777u) ||
	    wf->mtime_nsec >= 1000000000u || ((wf->flags & WIRE_FILE_DIRECTORY) && wf->size)) {
		refuse_offer(s, WIRE_R_BAD_REQUEST, wf, "file flags, mode or time not supported",
			     "file flags, mode or time not supported");
		return -1;
	}
	if (name_busy(s, name)) {
		refuse_offer(s, WIRE_R_BUSY, wf, "another session is receiving this name",
			     "name busy in another session");
		return -1;
	}
	return 0;
}

/* What the other sessions' files may still take. */
static uint64_t claims(const struct recv_session *s)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		const struct recv_session *o = s->srv->sessions[i];
		uint64_t held;

		if (!o || o == s || !o->f || o->over)
			continue;
		held = store_held(&o->f->sf);
		if (!o->f->sf.existing && o->f->size > held)
			sum += o->f->size - held;
	}
	return sum;
}

static bool held(void *ctx, const char *name)
{
	return recv_server_holds(ctx, name);
}

/* Abandoned partial files past the quota go, oldest first: when space is
 * short, or else at most once in CFT_SWEEP_INTERVAL_S (it reads DIR). */
static void evict(struct recv_session *s, bool short_of_space)
{
	struct recv_server *srv = s->srv;
	uint64_t now = s->last_heard;

	if (!short_of_space && srv->evicted_at &&
	    now - srv->evicted_at < (uint64_t)CFT_SWEEP_INTERVAL_S * 1000000)
		return;
	srv->evicted_at = now ? now : 1;
	if (store_evict(srv->dirfd, srv->partial_quota, held, srv) > 0)
		log_verbose("removed abandoned partial files past the quota of %llu bytes",
			    (unsigned long long)srv->partial_quota);
}

/* Would this file, with the others, leave less than the reserve free? */
static bool short_of_space(struct recv_session *s, struct recv_file *f, char *why, size_t cap)
{
	uint64_t avail, held = store_held(&f->sf), need, others = claims(s);

	if (f->sf.existing || store_space(s->srv->dirfd, &avail) < 0)
		return false;	/* verified in place; or unknown: writes will tell */
	need = f->size > held ? f->size - held : 0;
	if (avail >= s->srv->reserve && need + others <= avail - s->srv->reserve)
		return false;
	snprintf(why, cap, "%llu bytes needed, %llu free beyond the reserve of %llu%s",
		 (unsigned long long)need,
		 (unsigned long long)(avail > s->srv->reserve + others ?
				      avail - s->srv->reserve - others : 0),
		 (unsigned long long)s->srv->reserve, others ? " and other transfers" : "");
	return true;
}

bool recv_session_no_room(struct recv_session *s, struct recv_file *f)
{
	char detail[160];

	if (!short_of_space(s, f, detail, sizeof(detail))) {
		evict(s, false);
		return false;
	}
	evict(s, true);
	if (!short_of_space(s, f, detail, sizeof(detail)))
		return false;
	/* Nothing kept of a new file; a partial one stays for later. */
	if (f->origin == STORE_FRESH)
		store_abort(&f->sf);
	else
		store_keep(&f->sf);
	recv_fail_file(s, WIRE_R_NO_SPACE, detail);
	return true;
}

/* The file is open: receive it afresh, or check what is here first; and
 * say so. */
static void begin(struct recv_session *s, struct recv_file *f)
{
	struct recv_event ev = { .kind = RECV_EV_RECEIVING, .blocks = s->blocks.nblocks };

	recv_disk_file(&s->disk, &f->sf);
	if (f->origin == STORE_FRESH) {
		recv_say_event(s, &ev);
		recv_verify_stream(s);
		if (f->size == 0)
			recv_verify_start(s);
	} else {
		/* Check what is already here, block by block, before trusting
		 * any of it: read it back; the sender's digests decide. */
		ev.kind = RECV_EV_CHECKING;
		ev.existing = f->origin == STORE_EXISTING;
		recv_say_event(s, &ev);
		recv_blocks_mark_all(&s->blocks, true);
		recv_verify_start(s);
	}
	if (!s->over)
		recv_say_status(s, f->index);
}

/* A dry run: nothing is made, not even a directory on the way.  What is
 * there is read back as a re-run would check it, or said absent. */
static void dry_run(struct recv_session *s, struct recv_file *f, const char *name, mode_t mode)
{
	if (store_find(s->srv->dirfd, name, &f->src, mode, f->dir, &f->sf) != 0) {
		f->state = WIRE_FS_ABSENT;
		recv_say_status(s, f->index);
		return;
	}
	f->origin = STORE_EXISTING;
	begin(s, f);
}

/* Open what the offer starts from and say what happens next. */
static void open_file(struct recv_session *s, struct recv_file *f, const char *name,
		      mode_t mode)
{
	int rc;

	if (f->dir) {
		/* A directory of a tree: made if need be, then checked like an
		 * existing file of no bytes; its commit gives it its mode and
		 * time (it comes after everything in it). */
		rc = store_open_dir_entry(s->srv->dirfd, name, &f->src, mode, &f->sf);
		f->origin = STORE_EXISTING;
	} else {
		rc = store_open(s->srv->dirfd, name, &f->src, mode, 0, &f->sf, &f->origin);
	}
	if (rc < 0) {
		snprintf(f->sf.name, sizeof(f->sf.name), "%s", name);
		recv_fail_io(s, "create");
		return;
	}
	/* A directory under the name would refuse the rename at the end:
	 * say so now, before the data travels. */
	if (!f->dir && store_final_is_dir(&f->sf)) {
		recv_fail_file(s, WIRE_R_EXISTS, "a directory has this name");
		return;
	}
	if (f->no_clobber && f->origin != STORE_EXISTING && store_final_exists(&f->sf)) {
		recv_fail_file(s, WIRE_R_EXISTS, "--no-clobber, and the destination differs");
		return;
	}
	if (recv_session_no_room(s, f))
		return;
	begin(s, f);
}

static void on_file(struct recv_session *s, const struct wire_file *wf)
{
	char name[CFT_PATH_MAX + 1];
	struct recv_file *f;

	if (offer_news(s, wf) < 0 || check_offer(s, wf, name) < 0)
		return;
	f = calloc(1, sizeof(*f));
	if (!f || filesum_init(&f->rb) < 0 ||
	    recv_blocks_start(&s->blocks, wf->file, wf->size) < 0) {
		if (f)
			filesum_free(&f->rb);
		free(f);
		errno = ENOMEM;
		recv_fail_io(s, "memory");
		return;
	}
	s->f = f;
	f->sf.fd = f->sf.dfd = f->sf.parent = -1;
	f->index = wf->file;
	f->size = wf->size;
	f->state = WIRE_FS_RECEIVING;
	memcpy(f->offer, wf->offer, CFT_DIGEST_LEN);
	f->no_clobber = (wf->flags & WIRE_FILE_NO_CLOBBER) != 0;
	f->dir = (wf->flags & WIRE_FILE_DIRECTORY) != 0;
	f->dry_run = (wf->flags & WIRE_FILE_DRY_RUN) != 0;
	s->dry_run |= f->dry_run;
	f->src = (struct store_source){ wf->size, wf->mtime_sec, wf->mtime_nsec,
					s->blocks.block_size };
	f->mode_as_offered = (wf->mode & s->srv->mode_mask) == wf->mode;
	/* The operator's mask, not the sender, has the last word on modes;
	 * the report says what the file gets, and the sender agrees to less. */
	if (f->dry_run)
		dry_run(s, f, name, (mode_t)(wf->mode & s->srv->mode_mask));
	else
		open_file(s, f, name, (mode_t)(wf->mode & s->srv->mode_mask));
}

static void on_probe(struct recv_session *s, const struct wire_probe *p)
{
	s->echo = p->echo;
	recv_say_status(s, p->file);
}

/* The sender gives up; believed only if it refers to this session. */
static void on_error(struct recv_session *s, const struct wire_error *e)
{
	char text[CFT_ERROR_MSG_MAX + 1], why[CFT_ERROR_MSG_MAX + 64];
	uint8_t ref[CFT_SHORT_DIGEST_LEN];

	proto_error_ref(s->hello, e->reason, e->file, ref);
	if (!digest_equal_n(ref, e->ref, CFT_SHORT_DIGEST_LEN)) {
		s->srv->c.unmatched++;
		return;
	}
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
	memcpy(ack.u.hello_ack.hello, s->hello, CFT_SHORT_DIGEST_LEN);
	memcpy(ack.u.hello_ack.cookie, s->cookie, CFT_COOKIE_LEN);	/* opened */
	memcpy(ack.u.hello_ack.random, s->random, CFT_RANDOM_LEN);
	recv_say(s, &ack);
}

static void on_bye(struct recv_session *s, const struct wire_bye *b)
{
	struct wire_msg ack;

	if (!digest_equal_n(b->hello, s->hello, CFT_SHORT_DIGEST_LEN)) {
		s->srv->c.unmatched++;
		return;
	}
	if (s->f && s->f->dry_run && s->f->index + 1 == s->nfiles)
		recv_session_dry_done(s);	/* the last answer was heard */
	proto_msg(&ack, s->id, WIRE_BYE_ACK);
	memcpy(ack.u.bye.hello, s->hello, CFT_SHORT_DIGEST_LEN);
	recv_say(s, &ack);
	if (s->next_file == s->nfiles && !s->f)
		recv_session_end(s, CFT_EXIT_OK, NULL);
	else
		recv_session_end(s, CFT_EXIT_NETWORK, "sender left before the last file");
}

/* The HELLO that opened us, again: our HELLO_ACK was lost. */
static void on_hello(struct recv_session *s, const struct wire_msg *m)
{
	uint8_t hello[CFT_DIGEST_LEN];

	proto_hello_digest(m->session, &m->u.hello, hello);
	if (!digest_equal_n(hello, s->hello, CFT_SHORT_DIGEST_LEN)) {
		s->srv->c.unmatched++;
		return;
	}
	send_hello_ack(s);
}

void recv_session_dry_done(struct recv_session *s)
{
	drain(s);
	s->next_file = s->f->index + 1;
	recv_file_free(s->f);	/* an existing file's descriptor; nothing removed */
	s->f = NULL;
}

void recv_session_on_msg(struct recv_session *s, uint64_t now, const struct wire_msg *m)
{
	s->last_heard = now;
	switch (m->type) {
	case WIRE_HELLO: on_hello(s, m); break;
	case WIRE_FILE: on_file(s, &m->u.file); break;
	case WIRE_BLOCK: on_block(s, &m->u.block); break;
	case WIRE_DATA: on_data(s, now, &m->u.data); break;
	case WIRE_ZDATA: on_zdata(s, now, &m->u.data); break;
	case WIRE_CHUNKSUMS: on_chunksums(s, &m->u.chunksums); break;
	case WIRE_HOLE: on_hole(s, &m->u.hole); break;
	case WIRE_PROBE: on_probe(s, &m->u.probe); break;
	case WIRE_SUMS: recv_verify_sums(s, &m->u.sums); break;
	case WIRE_COMMIT: recv_verify_commit(s, &m->u.commit); break;
	case WIRE_BYE: on_bye(s, &m->u.bye); break;
	case WIRE_ERROR: on_error(s, &m->u.error); break;
	default:
		/* Receiver-to-sender types have no business here. */
		s->srv->c.malformed++;
		break;
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
		recv_say_status(s, f->index);
}

uint64_t recv_session_deadline(const struct recv_session *s, uint64_t now)
{
	uint64_t t = s->last_heard + s->srv->timeout_us;

	(void)now;	/* disk work wakes the loop itself (loop_wake) */
	if (s->unreported > 0 && s->unreported_since + CFT_STATUS_DELAY_US < t)
		t = s->unreported_since + CFT_STATUS_DELAY_US;
	return t;
}

unsigned recv_status_every(uint32_t chunk)
{
	uint32_t bytes = CFT_STATUS_EVERY * CFT_CHUNK_SIZE;

	return (bytes + chunk - 1) / chunk;
}

uint32_t recv_window_blocks(uint32_t block_size)
{
	uint32_t window = CFT_WINDOW_BYTES / block_size;

	if (window < CFT_WINDOW_BLOCKS_MIN)
		window = CFT_WINDOW_BLOCKS_MIN;
	if (window > CFT_WINDOW_BLOCKS_MAX)
		window = CFT_WINDOW_BLOCKS_MAX;
	return window;
}

/*
 * Everything a session says leaves here.  Keyed, the HELLO_ACK is signed
 * (the sender checks it before it has the session's keys, to learn them)
 * and everything else is sealed.
 */
static void session_datagram(void *ctx, const struct net_addr *to, const uint8_t *buf,
			     size_t len)
{
	struct recv_session *s = ctx;
	uint8_t out[CFT_DATAGRAM_MAX];
	int n;

	if (!s->keyed) {
		s->srv->io.out.datagram(s->srv->io.out.ctx, to, buf, len);
		return;
	}
	if (buf[3] == WIRE_HELLO_ACK) {
		memcpy(out, buf, len);
		seal_sign(s->srv->hello_key, out, len);
		n = (int)len;
	} else {
		n = seal_close(&s->seal, buf, len, out, sizeof(out));
		CFT_ASSERT(n > 0);	/* our control datagrams keep their size */
	}
	s->srv->io.out.datagram(s->srv->io.out.ctx, to, out, (size_t)n);
}

struct recv_session *recv_session_new(struct recv_server *srv, uint64_t now,
				      const struct net_addr *from, uint64_t id,
				      const struct wire_hello *h,
				      const uint8_t random[CFT_RANDOM_LEN])
{
	struct recv_session *s = calloc(1, sizeof(*s));
	struct recv_event ev = { .kind = RECV_EV_OPENED, .nfiles = h->nfiles,
				 .block_size = h->block_size };
	uint32_t window = recv_window_blocks(h->block_size);

	if (!s)
		return NULL;
	s->srv = srv;
	s->out = (struct proto_out){ .datagram = session_datagram, .ctx = s };
	if (srv->keyed) {
		if (seal_init(&s->seal, srv->key, id, h->random, random, false) < 0) {
			free(s);
			return NULL;
		}
		s->keyed = true;
	}
	memcpy(s->cookie, h->cookie, CFT_COOKIE_LEN);
	memcpy(s->random, random, CFT_RANDOM_LEN);
	s->id = id;
	proto_hello_digest(id, h, s->hello);
	s->peer = *from;
	net_addr_str(from, s->peer_str, sizeof(s->peer_str));
	s->nfiles = h->nfiles;
	s->next_file = h->first;	/* files before it were committed */
	s->last_heard = now;
	s->started = now;
	recv_blocks_init(&s->blocks, h->block_size, h->chunk_size, window);
	s->status_every = recv_status_every(h->chunk_size);
	if (recv_disk_init(&s->disk, srv->threads, srv->disk_lag, on_written, recv_verify_checked, s) < 0) {
		recv_disk_free(&s->disk);
		seal_free(&s->seal);
		free(s);
		return NULL;
	}
	recv_say_event(s, &ev);
	send_hello_ack(s);
	return s;
}

void recv_session_free(struct recv_session *s)
{
	recv_disk_drain(&s->disk);
	recv_file_free(s->f);
	recv_file_free(s->behind);
	recv_disk_free(&s->disk);
	recv_blocks_free(&s->blocks);
	seal_free(&s->seal);
	free(s);
}
