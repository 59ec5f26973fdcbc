/*
 * Sender sessions.  For each file: offer it, send its blocks (each with a
 * digest of the bytes read for sending) inside the receiver's window and a
 * congestion window, repair what the receiver reports missing, then compare
 * the receiver's read-back digest with a digest from a second, independent
 * read of the source.  Equal: commit.  Different: send our block digests so
 * the receiver can find the blocks that differ, re-send those, check again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/util.h"
#include "cft/wire.h"
#include "send-session.h"

/* Missing-chunk ranges remembered per block in flight; more wait for the
 * next STATUS. */
#define RANGES_PER_BLOCK 16
/* Datagrams sent per call of the pump, so incoming STATUS is read often. */
#define PUMP_BATCH 64
/* SUMS datagrams sent per burst (the receiver takes them in order). */
#define SUMS_BURST 16
/* PROBEs remembered for matching their echoes. */
#define PROBES_KEPT 16
/* BYE is a courtesy: this many tries, then we are done anyway. */
#define BYE_TRIES 3

struct inflight {
	uint32_t block;
	uint64_t last_tx;		/* when it was last sent, in part or whole */
	uint32_t last_seq;		/* seq of the last DATA sent for it */
	bool sending;			/* in the pipeline right now */
	bool need_full;			/* re-read and send all of it */
	uint16_t nr;
	struct { uint16_t first, count; } r[RANGES_PER_BLOCK];
};

struct send_session {
	struct send_config cfg;
	uint64_t id;
	enum send_phase phase;
	int status;
	char err[512];
	struct send_stats st;

	/* timers */
	uint64_t last_heard;
	uint64_t t_retx;		/* when to repeat the last request */
	uint64_t rto;			/* current, with backoff */
	uint64_t srtt;			/* smoothed round trip, 0 until sampled */
	unsigned tries;
	uint32_t window;		/* receiver's open-block budget */

	/* current file */
	uint32_t cur;
	int fd, vfd;
	struct stat st0;
	uint32_t nblocks;
	uint32_t round;
	uint64_t file_started;

	/* data phase */
	uint32_t rbase;
	uint64_t rmask;
	struct inflight fl[CFT_WINDOW_BLOCKS_MAX];
	unsigned nfl;
	struct {			/* the block being sent from buf */
		bool active;
		struct inflight *e;
		uint32_t len;
		uint16_t nchunks, next;
	} pipe;
	uint8_t *buf;			/* block_size */
	uint8_t chunk[CFT_CHUNK_SIZE];

	/* congestion control, in DATA datagrams */
	uint32_t tx_seq;		/* last seq sent */
	uint32_t ack_seq;		/* receiver's highest seen (or given up on) */
	uint32_t st_seq, st_count;	/* from the previous STATUS */
	uint32_t recover_seq;
	uint32_t cwnd, ssthresh;
	/* Recent PROBEs: a STATUS echoing one tells the round trip, and that
	 * everything sent before it has arrived or is lost. */
	struct { uint64_t id, at; uint32_t seq; } probes[PROBES_KEPT];
	uint64_t probe_id;
	bool timed_out;			/* the retransmission timer fired */
	bool early_probed;		/* a PROBE went out since the last STATUS */

	/* end-to-end check */
	struct digest_ctx *whole, *blk;
	uint8_t *vsums;			/* independent block digests */
	uint8_t *vbuf;			/* CFT_READBACK_STEP */
	uint64_t v_off;
	bool v_done;
	uint8_t v_whole[CFT_DIGEST_LEN];
	bool r_done;
	uint64_t r_size;
	uint8_t r_whole[CFT_DIGEST_LEN];
	uint32_t sums_acked;
};

static void fail(struct send_session *s, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct send_session *s, int status, const char *fmt, ...)
{
	va_list ap;

	if (s->phase == SEND_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->phase = SEND_FAILED;
	s->status = status;
}

static const char *cur_name(const struct send_session *s)
{
	return s->cur < s->cfg.nfiles ? s->cfg.files[s->cur].name : "session";
}

static void msg_init(struct send_session *s, struct wire_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->version = CFT_PROTO_VERSION;
	m->type = type;
	m->session = s->id;
}

static void emit(struct send_session *s, const struct wire_msg *m)
{
	uint8_t out[CFT_DATAGRAM_MAX];
	int n = wire_encode(m, out, sizeof(out));

	CFT_ASSERT(n > 0);
	s->cfg.io.emit(s->cfg.io.ctx, out, (size_t)n);
}

static void send_error_msg(struct send_session *s, unsigned reason, const char *text)
{
	struct wire_msg m;
	size_t len = strlen(text);

	msg_init(s, &m, WIRE_ERROR);
	m.u.error.reason = (uint16_t)reason;
	m.u.error.file = s->cur < s->cfg.nfiles ? s->cur : WIRE_NO_FILE;
	m.u.error.msg_len = (uint8_t)(len > CFT_ERROR_MSG_MAX ? CFT_ERROR_MSG_MAX : len);
	m.u.error.msg = (const uint8_t *)text;
	emit(s, &m);
}

void send_abort(struct send_session *s, int status, const char *why)
{
	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return;
	send_error_msg(s, WIRE_R_ABORT, why);
	fail(s, status, "%s", why);
}

/*
 * How long the data phase waits for a STATUS before asking for one: a lost
 * STATUS should cost a round trip or two, not a retransmission timeout
 * (which also collapses the congestion window).
 */
static uint64_t early_wait(const struct send_session *s)
{
	uint64_t w = 2 * s->srtt;

	return w < CFT_PROBE_EARLY_US ? CFT_PROBE_EARLY_US : w;
}

/* Arm the retransmission timer after sending a request. */
static void arm(struct send_session *s, uint64_t now)
{
	s->t_retx = now + s->rto;
}

/* The peer answered: forget the backoff. */
static void heard(struct send_session *s, uint64_t now)
{
	s->last_heard = now;
	s->tries = 0;
	s->early_probed = false;
	s->rto = s->srtt ? 3 * s->srtt : CFT_RTO_INIT_US;
	if (s->rto < CFT_RTO_MIN_US)
		s->rto = CFT_RTO_MIN_US;
	if (s->rto > CFT_RTO_MAX_US)
		s->rto = CFT_RTO_MAX_US;
	arm(s, now);
}

static void backoff(struct send_session *s, uint64_t now)
{
	s->tries++;
	s->rto *= 2;
	if (s->rto > CFT_RTO_MAX_US)
		s->rto = CFT_RTO_MAX_US;
	arm(s, now);
}

static int read_full(int fd, uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return CFT_E_IO;
		if (n == 0) {
			errno = 0;	/* shorter than it was: the source changed */
			return CFT_E_IO;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static void read_fail(struct send_session *s)
{
	if (errno == 0)
		fail(s, CFT_EXIT_CHANGED, "%s: source changed during transfer (it shrank)",
		     cur_name(s));
	else
		fail(s, CFT_EXIT_LOCAL, "%s: read error: %s", cur_name(s), strerror(errno));
}

static uint32_t block_len(const struct send_session *s, uint32_t b)
{
	uint64_t off = (uint64_t)b * s->cfg.block_size;
	uint64_t left = s->cfg.files[s->cur].size - off;

	return left < s->cfg.block_size ? (uint32_t)left : s->cfg.block_size;
}

static void close_file(struct send_session *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->vfd >= 0)
		close(s->vfd);
	s->fd = s->vfd = -1;
	free(s->vsums);
	s->vsums = NULL;
}

static void send_offer(struct send_session *s, uint64_t now)
{
	const struct send_file *sf = &s->cfg.files[s->cur];
	struct wire_msg m;

	msg_init(s, &m, WIRE_FILE);
	m.u.file.file = s->cur;
	m.u.file.size = sf->size;
	m.u.file.mtime_sec = s->st0.st_mtim.tv_sec;
	m.u.file.mtime_nsec = (uint32_t)s->st0.st_mtim.tv_nsec;
	m.u.file.mode = s->st0.st_mode & 0777;
	m.u.file.flags = s->cfg.no_clobber ? WIRE_FILE_NO_CLOBBER : 0;
	m.u.file.name_len = (uint16_t)strlen(sf->name);
	m.u.file.name = (const uint8_t *)sf->name;
	emit(s, &m);
	arm(s, now);
}

/* Open file s->cur (twice: one descriptor feeds datagrams, the other is the
 * independent read for the end-to-end check) and offer it. */
static void start_file(struct send_session *s, uint64_t now)
{
	struct send_file *sf = &s->cfg.files[s->cur];
	struct stat st1;

	s->fd = open(sf->path, O_RDONLY | O_CLOEXEC);
	s->vfd = open(sf->path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || s->vfd < 0 || fstat(s->fd, &s->st0) < 0 || fstat(s->vfd, &st1) < 0) {
		fail(s, CFT_EXIT_LOCAL, "%s: %s", sf->path, strerror(errno));
		return;
	}
	if (!S_ISREG(s->st0.st_mode) || s->st0.st_ino != st1.st_ino ||
	    s->st0.st_dev != st1.st_dev || (uint64_t)s->st0.st_size != sf->size) {
		fail(s, CFT_EXIT_CHANGED, "%s: source changed before it was sent", sf->path);
		return;
	}
	s->nblocks = (uint32_t)((sf->size + s->cfg.block_size - 1) / s->cfg.block_size);
	s->vsums = malloc((size_t)s->nblocks * CFT_DIGEST_LEN + 1);
	if (!s->vsums) {
		fail(s, CFT_EXIT_LOCAL, "%s: out of memory", sf->path);
		return;
	}
	s->round = 0;
	s->st.bytes_acked = 0;
	s->file_started = now;
	s->phase = SEND_OFFER;
	send_offer(s, now);
}

/* Reset the per-round data-phase state. */
static void enter_data(struct send_session *s)
{
	s->phase = SEND_DATA;
	s->rbase = 0;
	s->rmask = 0;
	s->nfl = 0;
	s->pipe.active = false;
	s->v_done = false;
	s->r_done = false;
	s->v_off = 0;
}

static void start_independent_read(struct send_session *s)
{
	s->v_off = 0;
	s->v_done = false;
	digest_reset(s->whole);
	digest_reset(s->blk);
	/* Ask for the disk, not the pages the feeding read left in memory. */
	(void)posix_fadvise(s->vfd, 0, 0, POSIX_FADV_DONTNEED);
}

static void enter_verify(struct send_session *s)
{
	s->phase = SEND_VERIFY;
	s->pipe.active = false;
	s->nfl = 0;
	s->r_done = false;
	s->st.e2e_rounds++;
	start_independent_read(s);
}

static bool block_done(const struct send_session *s, uint32_t b)
{
	if (b < s->rbase)
		return true;
	if (b - s->rbase < 64)
		return (s->rmask >> (b - s->rbase)) & 1u;
	return false;
}

static struct inflight *find_fl(struct send_session *s, uint32_t b)
{
	for (unsigned i = 0; i < s->nfl; i++)
		if (s->fl[i].block == b)
			return &s->fl[i];
	return NULL;
}

/* Read block e->block afresh, send its digest, and start its chunks. */
static int pipe_start(struct send_session *s, struct inflight *e)
{
	struct wire_msg m;
	uint32_t len = block_len(s, e->block);

	if (read_full(s->fd, s->buf, len, (uint64_t)e->block * s->cfg.block_size) < 0) {
		read_fail(s);
		return -1;
	}
	msg_init(s, &m, WIRE_BLOCK);
	m.u.block.file = s->cur;
	m.u.block.block = e->block;
	digest_sha256(s->buf, len, m.u.block.digest);
	emit(s, &m);
	e->sending = true;
	e->need_full = false;
	e->nr = 0;
	s->pipe.active = true;
	s->pipe.e = e;
	s->pipe.len = len;
	s->pipe.nchunks = (uint16_t)wire_chunks(len);
	s->pipe.next = 0;
	return 0;
}

static void send_chunk(struct send_session *s, uint32_t b, uint16_t c, const uint8_t *p,
		       uint16_t len)
{
	struct wire_msg m;

	msg_init(s, &m, WIRE_DATA);
	m.u.data.seq = ++s->tx_seq;
	m.u.data.file = s->cur;
	m.u.data.block = b;
	m.u.data.chunk = c;
	m.u.data.len = len;
	m.u.data.payload = p;
	emit(s, &m);
	s->st.datagrams++;
	s->cfg.files[s->cur].datagrams++;
}

static uint16_t chunk_len(uint32_t blen, uint16_t c)
{
	uint32_t left = blen - (uint32_t)c * CFT_CHUNK_SIZE;

	return (uint16_t)(left > CFT_CHUNK_SIZE ? CFT_CHUNK_SIZE : left);
}

static void send_probe(struct send_session *s, uint64_t now)
{
	struct wire_msg m;

	msg_init(s, &m, WIRE_PROBE);
	m.u.probe.file = s->cur;
	m.u.probe.echo = ++s->probe_id;
	s->probes[s->probe_id % PROBES_KEPT].id = s->probe_id;
	s->probes[s->probe_id % PROBES_KEPT].at = now;
	s->probes[s->probe_id % PROBES_KEPT].seq = s->tx_seq;
	emit(s, &m);
	s->st.probes++;
}

/* Send what the windows allow: repairs first, then the block in the
 * pipeline, then new blocks. */
static void pump(struct send_session *s, uint64_t now)
{
	unsigned sent = 0;

	while (s->phase == SEND_DATA && sent < PUMP_BATCH &&
	       s->tx_seq - s->ack_seq < s->cwnd) {
		struct inflight *e = NULL;

		for (unsigned i = 0; i < s->nfl && !e; i++)
			if (s->fl[i].nr > 0 && !s->fl[i].sending)
				e = &s->fl[i];
		if (e) {
			uint32_t blen = block_len(s, e->block);
			uint16_t c = e->r[0].first;
			uint16_t len = chunk_len(blen, c);

			if (read_full(s->fd, s->chunk, len,
				      (uint64_t)e->block * s->cfg.block_size +
				      (uint64_t)c * CFT_CHUNK_SIZE) < 0) {
				read_fail(s);
				return;
			}
			send_chunk(s, e->block, c, s->chunk, len);
			e->last_seq = s->tx_seq;
			s->st.retransmits++;
			e->r[0].first++;
			if (--e->r[0].count == 0) {
				e->nr--;
				memmove(&e->r[0], &e->r[1], e->nr * sizeof(e->r[0]));
			}
			e->last_tx = now;
			sent++;
			continue;
		}
		if (s->pipe.active) {
			uint16_t c = s->pipe.next++;
			uint16_t len = chunk_len(s->pipe.len, c);

			send_chunk(s, s->pipe.e->block, c, s->buf + (size_t)c * CFT_CHUNK_SIZE, len);
			sent++;
			if (s->pipe.next == s->pipe.nchunks) {
				s->pipe.active = false;
				s->pipe.e->sending = false;
				s->pipe.e->last_tx = now;
				s->pipe.e->last_seq = s->tx_seq;
				/* Ask where we stand: clocks the window, samples the RTT. */
				send_probe(s, now);
			}
			continue;
		}
		for (unsigned i = 0; i < s->nfl && !e; i++)
			if (s->fl[i].need_full)
				e = &s->fl[i];
		if (e) {
			s->st.blocks_resent++;
			if (pipe_start(s, e) < 0)
				return;
			continue;
		}
		/* A new block: the lowest not done, not in flight, in the window. */
		if (s->nfl >= s->window)
			break;
		for (uint32_t b = s->rbase; b < s->nblocks && b < (uint64_t)s->rbase + s->window; b++) {
			if (!block_done(s, b) && !find_fl(s, b)) {
				e = &s->fl[s->nfl++];
				memset(e, 0, sizeof(*e));
				e->block = b;
				break;
			}
		}
		if (!e)
			break;
		if (s->round > 0)
			s->st.blocks_resent++;	/* found to differ at read-back */
		if (pipe_start(s, e) < 0)
			return;
	}
	/*
	 * Nothing more to send for now, but some of what went may be lost, and
	 * with nothing after it the receiver cannot tell.  A PROBE behind the
	 * last datagram makes its STATUS speak for all of them (a tail-loss
	 * probe), instead of waiting out the retransmission timer.
	 */
	if (sent > 0 && s->phase == SEND_DATA && s->tx_seq - s->ack_seq < s->cwnd && !s->pipe.active)
		send_probe(s, now);
}

/* Congestion control from the receiver's counters: additive increase while
 * nothing is lost, halve once per window of data when something is. */
static void update_cwnd(struct send_session *s, const struct wire_status *st)
{
	uint32_t dseq = st->rx_seq - s->st_seq;
	uint32_t dcnt = st->rx_count - s->st_count;

	if ((int32_t)dseq <= 0)
		return;
	s->st_seq = st->rx_seq;
	s->st_count = st->rx_count;
	if ((int32_t)(st->rx_seq - s->ack_seq) > 0)
		s->ack_seq = st->rx_seq;
	if (dcnt < dseq) {
		if ((int32_t)(st->rx_seq - s->recover_seq) > 0) {
			s->cwnd = s->cwnd / 2 < CFT_CWND_MIN ? CFT_CWND_MIN : s->cwnd / 2;
			s->ssthresh = s->cwnd;
			s->recover_seq = s->tx_seq;
		}
	} else if (s->cwnd < s->ssthresh) {
		s->cwnd += dseq;
	} else {
		s->cwnd += (4 * dseq + s->cwnd - 1) / s->cwnd;
	}
	if (s->cwnd > CFT_CWND_MAX)
		s->cwnd = CFT_CWND_MAX;
}

/*
 * A RECEIVING status: retire finished blocks, schedule repairs.  What the
 * receiver lacks of a block counts as lost only once the receiver has seen
 * something we sent after that block (a later DATA, or the PROBE this STATUS
 * answers): until then it may still be in a queue on the way, and sending it
 * again would only add to the queue.  A fired retransmission timer overrides.
 */
static void on_receiving(struct send_session *s, uint64_t now, const struct wire_status *st)
{
	unsigned k = 0;
	uint32_t seen = st->rx_seq;
	bool timed_out = s->timed_out;

	if (st->echo && s->probes[st->echo % PROBES_KEPT].id == st->echo &&
	    (int32_t)(s->probes[st->echo % PROBES_KEPT].seq - seen) > 0)
		seen = s->probes[st->echo % PROBES_KEPT].seq;
	s->timed_out = false;

	if (st->base > s->nblocks)
		return;		/* nonsense; the checksum cannot vouch for intent */
	s->rbase = st->base;
	s->rmask = st->done_mask;
	s->st.bytes_acked = (uint64_t)s->rbase * s->cfg.block_size;
	for (unsigned i = 0; i < s->nfl; i++) {
		struct inflight *e = &s->fl[i];

		if (block_done(s, e->block) && !e->sending)
			continue;	/* drop it */
		if (&s->fl[k] != e && s->pipe.active && s->pipe.e == e)
			s->pipe.e = &s->fl[k];
		s->fl[k++] = *e;
	}
	s->nfl = k;

	for (unsigned i = 0; i < s->nfl; i++) {
		struct inflight *e = &s->fl[i];
		bool listed = false, digest_missing = false;

		if (e->sending || e->need_full || e->nr > 0)
			continue;
		if ((int32_t)(seen - e->last_seq) < 0 && !timed_out)
			continue;
		for (unsigned j = 0; j < st->nranges; j++) {
			const struct wire_range *r = &st->ranges[j];

			if (r->block != e->block)
				continue;
			listed = true;
			if (r->count == 0)
				digest_missing = true;
			else if (e->nr < RANGES_PER_BLOCK) {
				e->r[e->nr].first = r->first;
				e->r[e->nr].count = r->count;
				e->nr++;
			}
		}
		if (!listed || digest_missing) {
			/* Never reached the receiver, or failed its digest there:
			 * read it again and send all of it. */
			e->need_full = true;
			e->nr = 0;
		} else {
			/* Drop ranges beyond the block, a confused or hostile peer's. */
			uint16_t nch = (uint16_t)wire_chunks(block_len(s, e->block));
			unsigned w = 0;

			for (unsigned j = 0; j < e->nr; j++)
				if (e->r[j].first < nch && e->r[j].count <= nch - e->r[j].first)
					e->r[w++] = e->r[j];
			e->nr = (uint16_t)w;
		}
		e->last_tx = now;
	}
}

static void send_sums(struct send_session *s, uint64_t now)
{
	for (unsigned k = 0; k < SUMS_BURST; k++) {
		uint32_t first = s->sums_acked + k * CFT_SUMS_PER_DATAGRAM;
		struct wire_msg m;

		if (first >= s->nblocks)
			break;
		msg_init(s, &m, WIRE_SUMS);
		m.u.sums.file = s->cur;
		m.u.sums.round = s->round;
		m.u.sums.first = first;
		m.u.sums.count = (uint16_t)(s->nblocks - first < CFT_SUMS_PER_DATAGRAM ?
					    s->nblocks - first : CFT_SUMS_PER_DATAGRAM);
		m.u.sums.digests = s->vsums + (size_t)first * CFT_DIGEST_LEN;
		emit(s, &m);
	}
	arm(s, now);
}

static void send_commit(struct send_session *s, uint64_t now)
{
	struct wire_msg m;

	msg_init(s, &m, WIRE_COMMIT);
	m.u.commit.file = s->cur;
	memcpy(m.u.commit.digest, s->v_whole, CFT_DIGEST_LEN);
	emit(s, &m);
	arm(s, now);
}

static void send_bye(struct send_session *s, uint64_t now)
{
	struct wire_msg m;

	msg_init(s, &m, WIRE_BYE);
	emit(s, &m);
	arm(s, now);
}

/* Both digests in hand: commit, or start another round. */
static void decide(struct send_session *s, uint64_t now)
{
	struct send_file *sf = &s->cfg.files[s->cur];
	struct stat st1;

	if (!s->v_done || !s->r_done)
		return;
	/* Changed in place (size, time), or replaced under its name. */
	if ((fstat(s->fd, &st1) == 0 &&
	     (st1.st_size != s->st0.st_size || st1.st_mtim.tv_sec != s->st0.st_mtim.tv_sec ||
	      st1.st_mtim.tv_nsec != s->st0.st_mtim.tv_nsec)) ||
	    stat(sf->path, &st1) < 0 || st1.st_ino != s->st0.st_ino || st1.st_dev != s->st0.st_dev) {
		send_error_msg(s, WIRE_R_ABORT, "source changed during transfer");
		fail(s, CFT_EXIT_CHANGED, "%s: source changed during transfer", sf->path);
		return;
	}
	if (s->r_size == sf->size && digest_equal(s->v_whole, s->r_whole)) {
		memcpy(sf->digest, s->v_whole, CFT_DIGEST_LEN);
		s->phase = SEND_COMMIT;
		send_commit(s, now);
		return;
	}
	s->st.e2e_mismatches++;
	log_verbose("%s: read-back digest differs from the source (round %u)", sf->name, s->round);
	if (s->round + 1 >= CFT_E2E_ROUNDS_MAX) {
		send_error_msg(s, WIRE_R_DIGEST, "the sender's retry budget is spent");
		fail(s, CFT_EXIT_DIGEST, "%s: digests never agreed after %u end-to-end rounds",
		     sf->name, s->round + 1);
		return;
	}
	s->round++;
	s->phase = SEND_SUMS;
	s->sums_acked = 0;
	send_sums(s, now);
}

/* One step of the independent read: whole-file and block digests. */
static void verify_step(struct send_session *s, uint64_t now)
{
	uint64_t size = s->cfg.files[s->cur].size;
	uint64_t want = size - s->v_off;

	if (want > CFT_READBACK_STEP)
		want = CFT_READBACK_STEP;
	if (want > 0 && read_full(s->vfd, s->vbuf, want, s->v_off) < 0) {
		read_fail(s);
		return;
	}
	for (uint64_t i = 0; i < want;) {
		uint32_t b = (uint32_t)(s->v_off / s->cfg.block_size);
		uint64_t end = (uint64_t)(b + 1) * s->cfg.block_size;
		uint64_t part;

		if (end > size)
			end = size;
		part = end - s->v_off;
		if (part > want - i)
			part = want - i;
		digest_update(s->whole, s->vbuf + i, part);
		digest_update(s->blk, s->vbuf + i, part);
		i += part;
		s->v_off += part;
		if (s->v_off == end) {
			digest_final(s->blk, s->vsums + (size_t)b * CFT_DIGEST_LEN);
			digest_reset(s->blk);
		}
	}
	if (s->v_off == size) {
		digest_final(s->whole, s->v_whole);
		s->v_done = true;
		decide(s, now);
	}
}

static void file_committed(struct send_session *s, uint64_t now)
{
	struct send_file *sf = &s->cfg.files[s->cur];

	char hex[2 * CFT_DIGEST_LEN + 1];

	sf->committed = true;
	sf->usec = now - s->file_started;
	digest_hex(sf->digest, hex);
	log_verbose("%s: verified on the receiver's disk and committed: %s  %s", sf->name, hex,
		    sf->name);
	close_file(s);
	s->cur++;
	if (s->cur < s->cfg.nfiles) {
		start_file(s, now);
	} else {
		s->phase = SEND_BYE;
		s->tries = 0;
		send_bye(s, now);
	}
}

static void on_status(struct send_session *s, uint64_t now, const struct wire_status *st)
{
	if (st->file != s->cur)
		return;		/* about an earlier file: stale */
	if (st->echo && s->probes[st->echo % PROBES_KEPT].id == st->echo) {
		uint64_t sample = now - s->probes[st->echo % PROBES_KEPT].at;

		s->srtt = s->srtt ? (7 * s->srtt + sample) / 8 : sample;
	}
	if (st->state == WIRE_FS_COMMITTED) {
		if (s->phase == SEND_COMMIT) {
			heard(s, now);
			file_committed(s, now);
		}
		return;
	}
	if (st->round != s->round)
		return;		/* an answer from an earlier round */
	update_cwnd(s, st);
	heard(s, now);
	if (s->phase == SEND_OFFER)
		enter_data(s);
	if (s->phase == SEND_SUMS) {
		if (st->state == WIRE_FS_SUMS) {
			if (st->sums_have > s->sums_acked && st->sums_have <= s->nblocks) {
				s->sums_acked = st->sums_have;
				send_sums(s, now);
			}
			return;
		}
		enter_data(s);
	}
	if (s->phase == SEND_DATA) {
		if (st->state == WIRE_FS_RECEIVING) {
			on_receiving(s, now, st);
			pump(s, now);
			return;
		}
		if (st->state == WIRE_FS_VERIFYING || st->state == WIRE_FS_VERIFIED) {
			s->st.bytes_acked = s->cfg.files[s->cur].size;
			enter_verify(s);
		}
	}
	if (s->phase == SEND_VERIFY && st->state == WIRE_FS_VERIFIED && !s->r_done) {
		s->r_done = true;
		s->r_size = st->bytes;
		memcpy(s->r_whole, st->digest, CFT_DIGEST_LEN);
		decide(s, now);
	}
}

/*
 * The receiver no longer knows us: it restarted.  Open the session again and
 * offer the current file again; the receiver checks what it kept of it and
 * only what it lacks is sent.  Committed files stay committed.
 */
static void reconnect(struct send_session *s, uint64_t now)
{
	if (s->phase == SEND_BYE) {
		s->phase = SEND_DONE;	/* everything was committed already */
		return;
	}
	if (s->phase == SEND_HELLO)
		return;
	s->st.reconnects++;
	log_verbose("%s: the receiver restarted; starting the session again", cur_name(s));
	close_file(s);
	s->phase = SEND_HELLO;
	s->pipe.active = false;
	s->nfl = 0;
	s->tries = 0;
	s->last_heard = now;
	s->t_retx = now;	/* HELLO at the next timer call */
}

void send_on_datagram(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len)
{
	struct wire_msg m;
	int rc = wire_decode(buf, len, &m);

	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return;
	if (rc == CFT_E_VERSION && m.session == s->id) {
		fail(s, CFT_EXIT_REFUSED, "receiver speaks protocol version %u, we speak %u",
		     m.version, CFT_PROTO_VERSION);
		return;
	}
	if (rc < 0 || m.session != s->id)
		return;		/* damaged, or not ours: the protocol repairs */
	switch (m.type) {
	case WIRE_HELLO_ACK:
		if (s->phase != SEND_HELLO)
			break;
		heard(s, now);
		s->window = m.u.hello_ack.window_blocks;
		if (s->window < 1)
			s->window = 1;
		if (s->window > CFT_WINDOW_BLOCKS_MAX)
			s->window = CFT_WINDOW_BLOCKS_MAX;
		start_file(s, now);
		break;
	case WIRE_STATUS:
		on_status(s, now, &m.u.status);
		break;
	case WIRE_BYE_ACK:
		if (s->phase == SEND_BYE)
			s->phase = SEND_DONE;
		break;
	case WIRE_ERROR: {
		char msg[CFT_ERROR_MSG_MAX + 1];

		if (m.u.error.reason == WIRE_R_UNKNOWN_SESSION) {
			reconnect(s, now);
			break;
		}
		const char *what = m.u.error.file < s->cfg.nfiles ?
				   s->cfg.files[m.u.error.file].name : "session";

		util_sanitize(m.u.error.msg, m.u.error.msg_len, msg, sizeof(msg));
		fail(s, wire_reason_exit(m.u.error.reason), "%s: receiver: %s%s%s", what,
		     wire_reason_name(m.u.error.reason), msg[0] ? ": " : "", msg);
		break;
	}
	default:
		break;
	}
}

void send_on_timer(struct send_session *s, uint64_t now)
{
	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return;
	if (now - s->last_heard >= s->cfg.timeout_us) {
		if (s->phase == SEND_BYE) {
			s->phase = SEND_DONE;	/* every file is committed */
			return;
		}
		fail(s, CFT_EXIT_NETWORK, "%s: no answer from the receiver for %llu s",
		     cur_name(s), (unsigned long long)(s->cfg.timeout_us / 1000000));
		send_error_msg(s, WIRE_R_ABORT, "sender timed out");
		return;
	}
	if (s->phase == SEND_VERIFY && !s->v_done)
		verify_step(s, now);
	if (s->phase == SEND_DATA)
		pump(s, now);
	if (s->phase == SEND_DATA && !s->early_probed && now >= s->last_heard + early_wait(s) &&
	    now < s->t_retx) {
		s->early_probed = true;
		send_probe(s, now);
	}
	if (now < s->t_retx)
		return;

	/* Nothing heard for a retransmission timeout: repeat ourselves. */
	switch (s->phase) {
	case SEND_HELLO: {
		struct wire_msg m;

		msg_init(s, &m, WIRE_HELLO);
		m.u.hello.block_size = s->cfg.block_size;
		m.u.hello.nfiles = s->cfg.nfiles;
		emit(s, &m);
		break;
	}
	case SEND_OFFER:
		send_offer(s, now);
		break;
	case SEND_DATA:
		/* Whatever is outstanding is presumed lost. */
		s->ack_seq = s->tx_seq;
		s->ssthresh = s->cwnd / 2 < CFT_CWND_MIN ? CFT_CWND_MIN : s->cwnd / 2;
		s->cwnd = CFT_CWND_MIN;
		s->timed_out = true;
		s->st.timeouts++;
		send_probe(s, now);
		break;
	case SEND_VERIFY:
		send_probe(s, now);
		break;
	case SEND_SUMS:
		send_sums(s, now);
		break;
	case SEND_COMMIT:
		send_commit(s, now);
		break;
	case SEND_BYE:
		if (s->tries + 1 >= BYE_TRIES) {
			s->phase = SEND_DONE;
			return;
		}
		send_bye(s, now);
		break;
	default:
		break;
	}
	backoff(s, now);
}

uint64_t send_next_deadline(const struct send_session *s, uint64_t now)
{
	uint64_t t;

	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return UINT64_MAX;
	if (s->phase == SEND_VERIFY && !s->v_done)
		return now;
	if (s->phase == SEND_DATA && s->tx_seq - s->ack_seq < s->cwnd) {
		/* More to send right away? */
		if (s->pipe.active)
			return now;
		for (unsigned i = 0; i < s->nfl; i++)
			if (s->fl[i].nr > 0 || s->fl[i].need_full)
				return now;
		if (s->nfl < s->window) {
			for (uint32_t b = s->rbase; b < s->nblocks &&
			     b < (uint64_t)s->rbase + s->window; b++)
				if (!block_done(s, b) && !find_fl((struct send_session *)s, b))
					return now;
		}
	}
	t = s->t_retx;
	if (s->phase == SEND_DATA && !s->early_probed && s->last_heard + early_wait(s) < t)
		t = s->last_heard + early_wait(s);
	if (s->last_heard + s->cfg.timeout_us < t)
		t = s->last_heard + s->cfg.timeout_us;
	return t;
}

struct send_session *send_new(const struct send_config *cfg, int *err)
{
	struct send_session *s = calloc(1, sizeof(*s));

	*err = CFT_E_NOMEM;
	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->fd = s->vfd = -1;
	s->buf = malloc(cfg->block_size);
	s->vbuf = malloc(CFT_READBACK_STEP);
	s->whole = digest_new();
	s->blk = digest_new();
	if (!s->buf || !s->vbuf || !s->whole || !s->blk)
		goto fail;
	if (digest_random(&s->id, sizeof(s->id)) < 0) {
		*err = CFT_E_IO;
		goto fail;
	}
	s->phase = SEND_HELLO;
	s->cwnd = CFT_CWND_INIT;
	s->ssthresh = CFT_CWND_MAX;
	s->rto = CFT_RTO_INIT_US;
	s->window = CFT_WINDOW_BLOCKS_MIN;
	*err = 0;
	return s;
fail:
	send_free(s);
	return NULL;
}

void send_free(struct send_session *s)
{
	if (!s)
		return;
	close_file(s);
	free(s->buf);
	free(s->vbuf);
	digest_free(s->whole);
	digest_free(s->blk);
	free(s);
}

void send_start(struct send_session *s, uint64_t now)
{
	s->last_heard = now;
	s->t_retx = now;	/* the first HELLO goes out on the first timer call */
}

bool send_finished(const struct send_session *s)
{
	return s->phase == SEND_DONE || s->phase == SEND_FAILED;
}

int send_status(const struct send_session *s)
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
	return &s->st;
}

uint32_t send_current(const struct send_session *s, uint64_t *bytes_done)
{
	*bytes_done = s->st.bytes_acked;
	return s->cur;
}
