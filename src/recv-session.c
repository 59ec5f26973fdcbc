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
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/store.h"
#include "cft/util.h"
#include "cft/wire.h"
#include "recv-session.h"

#define NO_BLOCK UINT32_MAX
#define CHUNKS_PER_BLOCK_MAX ((CFT_BLOCK_SIZE_MAX + CFT_CHUNK_SIZE - 1) / CFT_CHUNK_SIZE)

/* One block being assembled in memory. */
struct recv_slot {
	uint32_t block;			/* NO_BLOCK when free */
	uint32_t len;			/* bytes in this block */
	uint16_t nchunks;
	uint16_t nhave;
	bool have_digest;
	uint8_t retries;		/* digest failures so far */
	uint8_t digest[CFT_DIGEST_LEN];
	uint8_t map[(CHUNKS_PER_BLOCK_MAX + 7) / 8];	/* chunks present */
	uint8_t *buf;			/* block_size bytes, kept for the session */
};

struct recv_file {
	uint32_t index;
	uint64_t size;
	uint32_t nblocks;
	uint8_t state;			/* enum wire_fstate */
	uint32_t round;
	struct store_file sf;
	struct store_source src;
	enum store_origin origin;
	bool no_clobber;
	uint8_t *done;			/* bitmap of blocks written and checked */
	uint32_t ndone;
	uint32_t base;			/* lowest block not done */
	/* read-back */
	bool flushed;
	uint64_t rb_off;
	struct digest_ctx *whole;
	struct digest_ctx *blk;
	uint8_t *rb_sums;		/* nblocks digests, from the disk */
	uint8_t rb_whole[CFT_DIGEST_LEN];
	/* repair */
	uint32_t sums_have;
};

struct recv_session {
	struct recv_server *srv;
	uint64_t id;
	struct net_addr peer;
	char peer_str[64];
	uint32_t block_size;
	uint32_t nfiles;
	uint32_t window;		/* blocks */
	uint32_t next_file;		/* files [0, next_file) are committed */
	struct recv_file *f;		/* the file in progress, if any */
	struct recv_slot slots[CFT_WINDOW_BLOCKS_MAX];
	uint32_t rx_seq;
	uint32_t rx_count;
	uint64_t echo;
	unsigned unreported;		/* DATA since the last STATUS */
	uint64_t unreported_since;
	uint64_t last_heard;
	uint64_t started;
	uint64_t bytes;
	bool over;
	bool superseded;		/* taken over by a newer session */
	int status;
};

static bool bit_get(const uint8_t *map, uint32_t i)
{
	return (map[i / 8] >> (i % 8)) & 1u;
}

static void bit_set(uint8_t *map, uint32_t i)
{
	map[i / 8] = (uint8_t)(map[i / 8] | (1u << (i % 8)));
}

static void bit_clear(uint8_t *map, uint32_t i)
{
	map[i / 8] = (uint8_t)(map[i / 8] & ~(1u << (i % 8)));
}

static uint32_t block_len(const struct recv_session *s, const struct recv_file *f, uint32_t b)
{
	uint64_t off = (uint64_t)b * s->block_size;
	uint64_t left = f->size - off;

	return left < s->block_size ? (uint32_t)left : s->block_size;
}

static void emit(struct recv_session *s, const struct wire_msg *m)
{
	uint8_t buf[CFT_DATAGRAM_MAX];
	int n = wire_encode(m, buf, sizeof(buf));

	CFT_ASSERT(n > 0);
	s->srv->io.emit(s->srv->io.ctx, &s->peer, buf, (size_t)n);
}

static void msg_init(struct wire_msg *m, uint64_t session, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->version = CFT_PROTO_VERSION;
	m->type = type;
	m->session = session;
}

static void send_error_to(struct recv_server *srv, const struct net_addr *to, uint64_t session,
			  unsigned reason, uint32_t file, const char *msg)
{
	struct wire_msg m;
	uint8_t buf[CFT_DATAGRAM_MAX];
	size_t len = strlen(msg);
	int n;

	msg_init(&m, session, WIRE_ERROR);
	m.u.error.reason = (uint16_t)reason;
	m.u.error.file = file;
	m.u.error.msg_len = (uint8_t)(len > CFT_ERROR_MSG_MAX ? CFT_ERROR_MSG_MAX : len);
	m.u.error.msg = (const uint8_t *)msg;
	n = wire_encode(&m, buf, sizeof(buf));
	CFT_ASSERT(n > 0);
	srv->io.emit(srv->io.ctx, to, buf, (size_t)n);
}

static void file_free(struct recv_file *f)
{
	if (!f)
		return;
	store_abort(&f->sf);
	digest_free(f->whole);
	digest_free(f->blk);
	free(f->done);
	free(f->rb_sums);
	free(f);
}

static void slots_reset(struct recv_session *s)
{
	for (unsigned i = 0; i < CFT_WINDOW_BLOCKS_MAX; i++)
		s->slots[i].block = NO_BLOCK;
}

/* End the session with an exit status; the temporary file, if any, goes. */
static void session_end(struct recv_session *s, int status, const char *why)
{
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
	if (s->srv->io.ended)
		s->srv->io.ended(s->srv->io.ctx, s->id, s->peer_str, status, why,
				 s->last_heard - s->started);
	if (status == CFT_EXIT_OK)
		log_verbose("session %016llx from %s: done, %u file(s)",
			    (unsigned long long)s->id, s->peer_str, s->next_file);
	else
		log_error("session %016llx from %s: failed: %s",
			  (unsigned long long)s->id, s->peer_str, why);
}

/*
 * A fatal problem with the current file: tell the sender (the detail, such as
 * "write: No space left on device", goes on the wire; the sender names the
 * file and the reason itself) and end the session.
 */
static void file_fail(struct recv_session *s, unsigned reason, const char *detail)
{
	char why[CFT_NAME_MAX + 256];
	uint32_t idx = s->f ? s->f->index : WIRE_NO_FILE;

	snprintf(why, sizeof(why), "%s%s%s (%s)", s->f ? s->f->sf.name : "",
		 s->f ? ": " : "", wire_reason_name(reason), detail);
	send_error_to(s->srv, &s->peer, s->id, reason, idx, detail);
	session_end(s, wire_reason_exit(reason), why);
}

static void io_fail(struct recv_session *s, const char *what)
{
	int e = errno;
	char detail[160];

	snprintf(detail, sizeof(detail), "%s: %s", what, strerror(e));
	file_fail(s, (e == ENOSPC || e == EDQUOT) ? WIRE_R_NO_SPACE : WIRE_R_IO, detail);
}

/* Open slots in block order, for a STATUS that reads naturally. */
static unsigned sorted_slots(struct recv_session *s, struct recv_slot **out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->window; i++) {
		struct recv_slot *sl = &s->slots[i];
		unsigned j;

		if (sl->block == NO_BLOCK)
			continue;
		for (j = n; j > 0 && out[j - 1]->block > sl->block; j--)
			out[j] = out[j - 1];
		out[j] = sl;
		n++;
	}
	return n;
}

static void fill_receiving(struct recv_session *s, struct wire_status *st)
{
	struct recv_file *f = s->f;
	struct recv_slot *open[CFT_WINDOW_BLOCKS_MAX];
	unsigned nopen = sorted_slots(s, open);

	st->base = f->base;
	st->done_mask = 0;
	for (uint32_t i = 0; i < 64 && f->base + (uint64_t)i < f->nblocks; i++)
		if (bit_get(f->done, f->base + i))
			st->done_mask |= 1ull << i;
	st->nranges = 0;
	for (unsigned k = 0; k < nopen && st->nranges < CFT_STATUS_RANGES_MAX; k++) {
		struct recv_slot *sl = open[k];

		if (!sl->have_digest)
			st->ranges[st->nranges++] = (struct wire_range){ sl->block, 0, 0 };
		for (uint32_t c = 0; c < sl->nchunks && st->nranges < CFT_STATUS_RANGES_MAX;) {
			uint32_t e;

			if (bit_get(sl->map, c)) {
				c++;
				continue;
			}
			for (e = c; e < sl->nchunks && !bit_get(sl->map, e); e++)
				;
			st->ranges[st->nranges++] =
				(struct wire_range){ sl->block, (uint16_t)c, (uint16_t)(e - c) };
			c = e;
		}
	}
}

/* Report the state of file `idx` to the sender. */
static void send_status(struct recv_session *s, uint32_t idx)
{
	struct wire_msg m;
	struct wire_status *st = &m.u.status;

	msg_init(&m, s->id, WIRE_STATUS);
	st->file = idx;
	st->echo = s->echo;
	st->rx_seq = s->rx_seq;
	st->rx_count = s->rx_count;
	s->echo = 0;		/* each echo is one round-trip sample, once */
	if (idx < s->next_file || !s->f || s->f->index != idx) {
		if (idx >= s->next_file)
			return;		/* not offered yet: nothing to say */
		st->state = WIRE_FS_COMMITTED;
	} else {
		struct recv_file *f = s->f;

		st->round = f->round;
		st->state = f->state;
		switch (f->state) {
		case WIRE_FS_RECEIVING:
			fill_receiving(s, st);
			break;
		case WIRE_FS_VERIFYING:
			st->bytes = f->rb_off;
			break;
		case WIRE_FS_VERIFIED:
			st->bytes = f->size;
			memcpy(st->digest, f->rb_whole, CFT_DIGEST_LEN);
			break;
		case WIRE_FS_SUMS:
			st->sums_have = f->sums_have;
			break;
		default:
			break;
		}
	}
	s->unreported = 0;
	emit(s, &m);
}

static void advance_base(struct recv_file *f)
{
	while (f->base < f->nblocks && bit_get(f->done, f->base))
		f->base++;
}

static void start_readback(struct recv_session *s)
{
	struct recv_file *f = s->f;

	f->state = WIRE_FS_VERIFYING;
	f->flushed = false;
	f->rb_off = 0;
	digest_reset(f->whole);
	digest_reset(f->blk);
	slots_reset(s);
	log_verbose("%s: all blocks in, reading back from disk (round %u)", f->sf.name,
		    f->round);
}

/* A block is whole: check it against the sender's digest, then write it. */
static void complete_block(struct recv_session *s, struct recv_slot *sl)
{
	struct recv_file *f = s->f;
	uint8_t d[CFT_DIGEST_LEN];

	digest_sha256(sl->buf, sl->len, d);
	if (!digest_equal(d, sl->digest)) {
		/* Damage the datagram checksum missed (or a damaged BLOCK
		 * datagram): forget the block and ask for all of it again. */
		s->srv->c.block_mismatch++;
		log_verbose("%s: block %u failed its digest, re-requesting", f->sf.name, sl->block);
		if (++sl->retries > CFT_BLOCK_RETRIES_MAX) {
			file_fail(s, WIRE_R_DIGEST, "a block kept failing its digest");
			return;
		}
		memset(sl->map, 0, sizeof(sl->map));
		sl->nhave = 0;
		sl->have_digest = false;
		return;
	}
	if (store_write(&f->sf, (uint64_t)sl->block * s->block_size, sl->buf, sl->len) < 0) {
		io_fail(s, "write");
		return;
	}
	bit_set(f->done, sl->block);
	f->ndone++;
	sl->block = NO_BLOCK;
	advance_base(f);
	if (f->ndone == f->nblocks) {
		start_readback(s);
		send_status(s, f->index);
	}
}

/* The slot holding block b, opening one if b is inside the window. */
static struct recv_slot *slot_for(struct recv_session *s, uint32_t b)
{
	struct recv_file *f = s->f;
	struct recv_slot *free_slot = NULL;

	for (unsigned i = 0; i < s->window; i++) {
		if (s->slots[i].block == b)
			return &s->slots[i];
		if (s->slots[i].block == NO_BLOCK && !free_slot)
			free_slot = &s->slots[i];
	}
	if (b >= (uint64_t)f->base + s->window || !free_slot) {
		s->srv->c.window_full++;
		return NULL;
	}
	if (!free_slot->buf) {
		free_slot->buf = malloc(s->block_size);
		if (!free_slot->buf)
			return NULL;
	}
	free_slot->block = b;
	free_slot->len = block_len(s, f, b);
	free_slot->nchunks = (uint16_t)wire_chunks(free_slot->len);
	free_slot->nhave = 0;
	free_slot->have_digest = false;
	free_slot->retries = 0;
	memset(free_slot->map, 0, sizeof(free_slot->map));
	return free_slot;
}

/* Common checks for BLOCK and DATA: the block of the current file, still
 * wanted.  Returns the slot, or NULL after counting why not. */
static struct recv_slot *wanted_block(struct recv_session *s, uint32_t file, uint32_t b)
{
	struct recv_file *f = s->f;

	if (!f || f->index != file || f->state != WIRE_FS_RECEIVING) {
		s->srv->c.stale++;
		return NULL;
	}
	if (b >= f->nblocks) {
		s->srv->c.malformed++;
		return NULL;
	}
	if (bit_get(f->done, b)) {
		s->srv->c.duplicate++;
		return NULL;
	}
	return slot_for(s, b);
}

static void on_block(struct recv_session *s, const struct wire_block *bl)
{
	struct recv_slot *sl = wanted_block(s, bl->file, bl->block);

	if (!sl)
		return;
	/* A newer digest replaces an older one: the sender re-read the block. */
	memcpy(sl->digest, bl->digest, CFT_DIGEST_LEN);
	sl->have_digest = true;
	if (sl->nhave == sl->nchunks)
		complete_block(s, sl);
}

static void on_data(struct recv_session *s, uint64_t now, const struct wire_data *d)
{
	struct recv_slot *sl;
	uint32_t want;

	s->rx_count++;
	if ((int32_t)(d->seq - s->rx_seq) > 0)
		s->rx_seq = d->seq;
	if (s->unreported++ == 0)
		s->unreported_since = now;

	sl = wanted_block(s, d->file, d->block);
	if (sl && d->chunk >= sl->nchunks) {
		s->srv->c.malformed++;
		sl = NULL;
	}
	if (sl) {
		/* Every chunk but a block's last is full; the last holds the rest. */
		want = sl->len - (uint32_t)d->chunk * CFT_CHUNK_SIZE;
		if (want > CFT_CHUNK_SIZE)
			want = CFT_CHUNK_SIZE;
		if (d->len != want) {
			s->srv->c.malformed++;
		} else if (bit_get(sl->map, d->chunk)) {
			s->srv->c.duplicate++;
		} else {
			memcpy(sl->buf + (size_t)d->chunk * CFT_CHUNK_SIZE, d->payload, d->len);
			bit_set(sl->map, d->chunk);
			if (++sl->nhave == sl->nchunks && sl->have_digest)
				complete_block(s, sl);
		}
	}
	if (!s->over && s->unreported >= CFT_STATUS_EVERY && s->f)
		send_status(s, s->f->index);
}

static void on_file(struct recv_session *s, const struct wire_file *wf)
{
	struct recv_file *f;
	char name[CFT_NAME_MAX + 1];
	uint64_t nblocks;

	if (wf->file < s->next_file) {
		send_status(s, wf->file);	/* already committed */
		return;
	}
	if (s->f && s->f->index == wf->file) {
		send_status(s, wf->file);	/* a repeated offer */
		return;
	}
	if (s->f || wf->file != s->next_file || wf->file >= s->nfiles) {
		s->srv->c.stale++;
		return;
	}
	if (util_name_valid(wf->name, wf->name_len) < 0) {
		char shown[CFT_NAME_MAX + 1];

		util_sanitize(wf->name, wf->name_len, shown, sizeof(shown));
		s->srv->c.refused++;
		send_error_to(s->srv, &s->peer, s->id, WIRE_R_BAD_NAME, wf->file, shown);
		session_end(s, CFT_EXIT_REFUSED, "file name refused");
		return;
	}
	memcpy(name, wf->name, wf->name_len);
	name[wf->name_len] = '\0';
	nblocks = (wf->size + s->block_size - 1) / s->block_size;
	if (wf->size > CFT_FILE_SIZE_MAX || nblocks > CFT_BLOCKS_MAX) {
		s->srv->c.refused++;
		send_error_to(s->srv, &s->peer, s->id, WIRE_R_TOO_BIG, wf->file, name);
		session_end(s, CFT_EXIT_REFUSED, "file too large");
		return;
	}
	if (wf->flags & ~WIRE_FILE_FLAGS_KNOWN) {
		s->srv->c.refused++;
		send_error_to(s->srv, &s->peer, s->id, WIRE_R_BAD_REQUEST, wf->file,
			      "file flags not supported");
		session_end(s, CFT_EXIT_REFUSED, "file flags not supported");
		return;
	}
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		struct recv_session *o = s->srv->sessions[i];

		if (!o || o == s || o->over || !o->f || strcmp(o->f->sf.name, name) != 0)
			continue;
		/* The same host again: its sender was restarted (a cron job
		 * killed and run again).  The new session takes over the file
		 * and resumes from what the old one received. */
		if (net_addr_same_host(&o->peer, &s->peer)) {
			session_end(o, CFT_EXIT_NETWORK, "superseded by a newer session from the same host");
			o->superseded = true;
			continue;
		}
		/* Two senders writing one name would share a partial file. */
		{
			s->srv->c.refused++;
			send_error_to(s->srv, &s->peer, s->id, WIRE_R_BUSY, wf->file,
				      "another session is receiving this name");
			session_end(s, CFT_EXIT_REFUSED, "name busy in another session");
			return;
		}
	}

	f = calloc(1, sizeof(*f));
	if (!f)
		goto nomem;
	s->f = f;
	f->sf.fd = -1;
	f->index = wf->file;
	f->size = wf->size;
	f->nblocks = (uint32_t)nblocks;
	f->state = WIRE_FS_RECEIVING;
	f->done = calloc(nblocks / 8 + 1, 1);
	f->rb_sums = malloc(nblocks * CFT_DIGEST_LEN + 1);
	f->whole = digest_new();
	f->blk = digest_new();
	if (!f->done || !f->rb_sums || !f->whole || !f->blk)
		goto nomem;
	slots_reset(s);
	f->no_clobber = (wf->flags & WIRE_FILE_NO_CLOBBER) != 0;
	f->src = (struct store_source){ wf->size, wf->mtime_sec, wf->mtime_nsec, s->block_size };
	if (store_open(s->srv->dirfd, name, &f->src, (mode_t)(wf->mode & 0777), 0, &f->sf,
		       &f->origin) < 0) {
		snprintf(f->sf.name, sizeof(f->sf.name), "%s", name);
		io_fail(s, "create");
		return;
	}
	if (f->no_clobber && f->origin != STORE_EXISTING && store_exists(s->srv->dirfd, name)) {
		file_fail(s, WIRE_R_EXISTS, "--no-clobber, and the destination differs");
		return;
	}
	if (f->origin == STORE_FRESH) {
		log_verbose("%s: receiving %llu bytes in %u blocks", name,
			    (unsigned long long)f->size, f->nblocks);
		if (f->nblocks == 0)
			start_readback(s);
	} else {
		/* Check what is already here, block by block, before trusting
		 * any of it: read it back; the sender's digests decide. */
		log_verbose("%s: checking the %s (%llu bytes) before sending anything", name,
			    f->origin == STORE_EXISTING ? "existing file" : "partial file",
			    (unsigned long long)f->size);
		memset(f->done, 0xff, nblocks / 8 + 1);
		f->ndone = f->nblocks;
		f->base = f->nblocks;
		start_readback(s);
	}
	send_status(s, f->index);
	return;
nomem:
	errno = ENOMEM;
	io_fail(s, "memory");
}

static void on_probe(struct recv_session *s, const struct wire_probe *p)
{
	s->echo = p->echo;
	send_status(s, p->file);
}

static void on_sums(struct recv_session *s, const struct wire_sums *su)
{
	struct recv_file *f = s->f;

	if (!f || f->index != su->file) {
		s->srv->c.stale++;
		return;
	}
	if (f->state == WIRE_FS_VERIFIED && su->round == f->round + 1) {
		if (f->sf.existing) {
			/* The destination differs from the source. */
			if (f->no_clobber) {
				file_fail(s, WIRE_R_EXISTS, "--no-clobber, and the destination differs");
				return;
			}
			/* Receive afresh; the old content keeps its name until
			 * the new is verified. */
			if (store_restart(&f->sf, &f->src) < 0) {
				io_fail(s, "create");
				return;
			}
			f->origin = STORE_FRESH;
			memset(f->done, 0, f->nblocks / 8 + 1);
			f->ndone = 0;
		}
		f->round++;
		f->state = WIRE_FS_SUMS;
		f->sums_have = 0;
	}
	if (f->state != WIRE_FS_SUMS || su->round != f->round || su->first != f->sums_have ||
	    su->count > f->nblocks - f->sums_have) {
		s->srv->c.stale++;
		if (f->state == WIRE_FS_SUMS)
			send_status(s, f->index);
		return;
	}
	for (uint32_t i = 0; i < su->count; i++) {
		uint32_t b = su->first + i;

		if (bit_get(f->done, b) &&
		    !digest_equal(su->digests + (size_t)i * CFT_DIGEST_LEN,
				  f->rb_sums + (size_t)b * CFT_DIGEST_LEN)) {
			/* What is on our disk differs from the sender's source:
			 * forget the block so it is sent again. */
			s->srv->c.readback_mismatch++;
			log_verbose("%s: block %u differs on disk, re-requesting", f->sf.name, b);
			bit_clear(f->done, b);
			f->ndone--;
		}
	}
	f->sums_have += su->count;
	if (f->sums_have == f->nblocks) {
		f->base = 0;
		advance_base(f);
		f->state = WIRE_FS_RECEIVING;
		if (f->ndone == f->nblocks)
			start_readback(s);
	}
	send_status(s, f->index);
}

static void on_commit(struct recv_session *s, const struct wire_commit *c)
{
	struct recv_file *f = s->f;
	char hex[2 * CFT_DIGEST_LEN + 1];

	if (c->file < s->next_file) {
		send_status(s, c->file);	/* committed already: say so again */
		return;
	}
	if (!f || f->index != c->file || f->state != WIRE_FS_VERIFIED) {
		s->srv->c.stale++;
		return;
	}
	/* Never commit anything but what we read back ourselves. */
	if (!digest_equal(c->digest, f->rb_whole)) {
		s->srv->c.malformed++;
		return;
	}
	bool was_there = f->sf.existing;

	if (store_commit(&f->sf) < 0) {
		io_fail(s, "rename");
		return;
	}
	digest_hex(f->rb_whole, hex);
	log_info("%s %s (%llu bytes) sha256 %s from %s", was_there ? "up to date:" : "received",
		 f->sf.name, (unsigned long long)f->size, hex, s->peer_str);
	if (s->srv->io.committed)
		s->srv->io.committed(s->srv->io.ctx, s->id, f->sf.name, f->size, f->rb_whole);
	s->srv->c.files_committed++;
	s->srv->c.bytes_committed += f->size;
	s->bytes += f->size;
	s->next_file++;
	s->f = NULL;
	file_free(f);
	send_status(s, c->file);
}

static void on_error(struct recv_session *s, const struct wire_error *e)
{
	char msg[CFT_ERROR_MSG_MAX + 1], why[CFT_ERROR_MSG_MAX + 64];

	util_sanitize(e->msg, e->msg_len, msg, sizeof(msg));
	snprintf(why, sizeof(why), "sender gave up: %s%s%s", wire_reason_name(e->reason),
		 msg[0] ? ": " : "", msg);
	session_end(s, wire_reason_exit(e->reason), why);
}

/* Work that is due: the delayed STATUS, and one step of a read-back. */
static void session_timer(struct recv_session *s, uint64_t now)
{
	struct recv_file *f = s->f;

	if (now - s->last_heard >= s->srv->timeout_us) {
		if (s->next_file == s->nfiles && !f)
			session_end(s, CFT_EXIT_OK, NULL);	/* only the BYE was lost */
		else
			session_end(s, CFT_EXIT_NETWORK, "sender silent past the timeout");
		return;
	}
	if (s->unreported > 0 && f && now - s->unreported_since >= CFT_STATUS_DELAY_US)
		send_status(s, f->index);
	if (!f || f->state != WIRE_FS_VERIFYING)
		return;

	if (!f->flushed) {
		if (store_flush(&f->sf) < 0) {
			io_fail(s, "fsync");
			return;
		}
		f->flushed = true;
	}
	uint64_t want = f->size - f->rb_off;
	long n = 0;

	if (want > CFT_READBACK_STEP)
		want = CFT_READBACK_STEP;
	if (want > 0) {
		n = store_read(&f->sf, f->rb_off, s->srv->rbbuf, want);
		if (n < 0) {
			io_fail(s, "read back");
			return;
		}
		if (n == 0) {
			/* Shorter on disk than written: pad with zeros so the
			 * digests differ and the blocks are sent again. */
			memset(s->srv->rbbuf, 0, want);
			n = (long)want;
		}
	}
	for (long i = 0; i < n;) {
		uint64_t off = f->rb_off;
		uint32_t b = (uint32_t)(off / s->block_size);
		uint64_t blk_end = (uint64_t)(b + 1) * s->block_size;
		size_t part = (size_t)(blk_end - off);

		if (blk_end > f->size)
			part = (size_t)(f->size - off);
		if (part > (size_t)(n - i))
			part = (size_t)(n - i);
		digest_update(f->whole, s->srv->rbbuf + i, part);
		digest_update(f->blk, s->srv->rbbuf + i, part);
		i += (long)part;
		f->rb_off += part;
		if (f->rb_off == blk_end || f->rb_off == f->size) {
			digest_final(f->blk, f->rb_sums + (size_t)b * CFT_DIGEST_LEN);
			digest_reset(f->blk);
		}
	}
	if (f->rb_off == f->size) {
		digest_final(f->whole, f->rb_whole);
		f->state = WIRE_FS_VERIFIED;
		send_status(s, f->index);
	}
}

int recv_server_init(struct recv_server *srv, int dirfd, uint64_t timeout_us,
		     struct recv_io io)
{
	memset(srv, 0, sizeof(*srv));
	srv->dirfd = dirfd;
	srv->timeout_us = timeout_us;
	srv->io = io;
	srv->rbbuf = malloc(CFT_READBACK_STEP);
	return srv->rbbuf ? 0 : CFT_E_NOMEM;
}

static void session_free(struct recv_session *s)
{
	file_free(s->f);
	for (unsigned i = 0; i < CFT_WINDOW_BLOCKS_MAX; i++)
		free(s->slots[i].buf);
	free(s);
}

/* Remove sessions that ended, recording the outcome. */
static void reap(struct recv_server *srv)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		struct recv_session *s = srv->sessions[i];

		if (s && s->over) {
			/* A session taken over lives on in its successor: it is
			 * not the one --once waits for. */
			if (!s->superseded) {
				srv->last_status = s->status;
				srv->sessions_done++;
			}
			session_free(s);
			srv->sessions[i] = NULL;
		}
	}
}

void recv_server_free(struct recv_server *srv)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		if (srv->sessions[i]) {
			/* Shutting down: reported like any ending, and what was
			 * received stays for a resume (the sender is not told,
			 * so it waits for us to come back). */
			session_end(srv->sessions[i], CFT_EXIT_NETWORK, "receiver stopped");
			session_free(srv->sessions[i]);
			srv->sessions[i] = NULL;
		}
	}
	free(srv->rbbuf);
	srv->rbbuf = NULL;
}

static void on_hello(struct recv_server *srv, uint64_t now, const struct net_addr *from,
		     const struct wire_msg *m)
{
	const struct wire_hello *h = &m->u.hello;
	struct recv_session *s;
	struct wire_msg ack;
	unsigned slot = CFT_SESSIONS_MAX;
	uint32_t window;

	if (h->block_size < CFT_BLOCK_SIZE_MIN || h->block_size > CFT_BLOCK_SIZE_MAX ||
	    h->nfiles == 0 || h->nfiles > CFT_FILES_MAX || h->features != 0) {
		srv->c.refused++;
		send_error_to(srv, from, m->session, WIRE_R_BAD_REQUEST, WIRE_NO_FILE,
			      "session parameters out of range");
		return;
	}
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (!srv->sessions[i]) {
			slot = i;
			break;
		}
	if (slot == CFT_SESSIONS_MAX) {
		srv->c.refused++;
		send_error_to(srv, from, m->session, WIRE_R_BUSY, WIRE_NO_FILE,
			      "too many sessions");
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return;		/* the sender will ask again */
	window = CFT_WINDOW_BYTES / h->block_size;
	if (window < CFT_WINDOW_BLOCKS_MIN)
		window = CFT_WINDOW_BLOCKS_MIN;
	if (window > CFT_WINDOW_BLOCKS_MAX)
		window = CFT_WINDOW_BLOCKS_MAX;
	s->srv = srv;
	s->id = m->session;
	s->peer = *from;
	net_addr_str(from, s->peer_str, sizeof(s->peer_str));
	s->block_size = h->block_size;
	s->nfiles = h->nfiles;
	s->window = window;
	s->last_heard = now;
	s->started = now;
	slots_reset(s);
	srv->sessions[slot] = s;
	log_verbose("session %016llx from %s: %u file(s), %u-byte blocks",
		    (unsigned long long)s->id, s->peer_str, s->nfiles, s->block_size);

	msg_init(&ack, s->id, WIRE_HELLO_ACK);
	ack.u.hello_ack.window_blocks = (uint16_t)window;
	emit(s, &ack);
}

static struct recv_session *find_session(struct recv_server *srv, uint64_t id)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (srv->sessions[i] && srv->sessions[i]->id == id && !srv->sessions[i]->over)
			return srv->sessions[i];
	return NULL;
}

void recv_server_on_datagram(struct recv_server *srv, uint64_t now,
			     const struct net_addr *from, const uint8_t *buf, size_t len)
{
	struct wire_msg m;
	struct recv_session *s;
	int rc;

	srv->c.datagrams++;
	rc = wire_decode(buf, len, &m);
	switch (rc) {
	case 0:
		break;
	case CFT_E_VERSION:
		srv->c.bad_version++;
		/* Tell a sender of another version why it gets no answer. */
		if (m.type == WIRE_HELLO)
			send_error_to(srv, from, m.session, WIRE_R_VERSION, WIRE_NO_FILE,
				      "this receiver speaks cft protocol version 1");
		return;
	case CFT_E_CHECKSUM: srv->c.bad_checksum++; return;
	case CFT_E_MAGIC: srv->c.bad_magic++; return;
	case CFT_E_TRUNCATED: srv->c.truncated++; return;
	default: srv->c.malformed++; return;
	}

	s = find_session(srv, m.session);
	if (!s) {
		if (m.type == WIRE_HELLO) {
			on_hello(srv, now, from, &m);
			return;
		}
		srv->c.unknown_session++;
		/* A sender whose receiver restarted: tell it to start over (it
		 * resumes).  Never in answer to DATA, which comes in floods. */
		if (m.type == WIRE_PROBE || m.type == WIRE_FILE || m.type == WIRE_COMMIT ||
		    m.type == WIRE_SUMS)
			send_error_to(srv, from, m.session, WIRE_R_UNKNOWN_SESSION, WIRE_NO_FILE,
				      "no such session here");
		return;
	}
	if (!net_addr_equal(from, &s->peer)) {
		srv->c.wrong_peer++;
		return;
	}
	s->last_heard = now;
	switch (m.type) {
	case WIRE_HELLO: {
		struct wire_msg ack;	/* our HELLO_ACK was lost: again */

		msg_init(&ack, s->id, WIRE_HELLO_ACK);
		ack.u.hello_ack.window_blocks = (uint16_t)s->window;
		emit(s, &ack);
		break;
	}
	case WIRE_FILE: on_file(s, &m.u.file); break;
	case WIRE_BLOCK: on_block(s, &m.u.block); break;
	case WIRE_DATA: on_data(s, now, &m.u.data); break;
	case WIRE_PROBE: on_probe(s, &m.u.probe); break;
	case WIRE_SUMS: on_sums(s, &m.u.sums); break;
	case WIRE_COMMIT: on_commit(s, &m.u.commit); break;
	case WIRE_BYE: {
		struct wire_msg ack;

		msg_init(&ack, s->id, WIRE_BYE_ACK);
		emit(s, &ack);
		if (s->next_file == s->nfiles && !s->f)
			session_end(s, CFT_EXIT_OK, NULL);
		else
			session_end(s, CFT_EXIT_NETWORK, "sender left before the last file");
		break;
	}
	case WIRE_ERROR: on_error(s, &m.u.error); break;
	default:
		/* Receiver-to-sender types have no business here. */
		srv->c.malformed++;
		break;
	}
	reap(srv);
}

void recv_server_on_timer(struct recv_server *srv, uint64_t now)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (srv->sessions[i])
			session_timer(srv->sessions[i], now);
	reap(srv);
}

uint64_t recv_server_next_deadline(const struct recv_server *srv, uint64_t now)
{
	uint64_t t = UINT64_MAX;

	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		const struct recv_session *s = srv->sessions[i];

		if (!s)
			continue;
		if (s->last_heard + srv->timeout_us < t)
			t = s->last_heard + srv->timeout_us;
		if (s->unreported > 0 && s->unreported_since + CFT_STATUS_DELAY_US < t)
			t = s->unreported_since + CFT_STATUS_DELAY_US;
		if (s->f && s->f->state == WIRE_FS_VERIFYING)
			t = now;
	}
	return t;
}
