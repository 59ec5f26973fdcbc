/*
 * Sender sessions.  For each file: offer it, send its blocks (each with a
 * digest of the bytes read for sending) inside the receiver's window and a
 * congestion window, repair what the receiver reports missing, then compare
 * the receiver's read-back digest with a digest from a second, independent
 * read of the source.  Equal: commit.  Different: send our block digests so
 * the receiver can find the blocks that differ, re-send those, check again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/filesum.h"
#include "cft/util.h"
#include "cft/wire.h"
#include "send-data.h"
#include "send-session.h"
#include "source.h"

/* SUMS datagrams sent per burst (the receiver takes them in order). */
#define SUMS_BURST 16
/* BYE is a courtesy: this many tries, then we are done anyway. */
#define BYE_TRIES 3

struct send_session {
	struct send_config cfg;
	enum send_phase phase;
	int status;
	char err[512];
	struct send_stats stats;
	struct send_data data;		/* the data phase: flow, sched, datagrams */
	uint64_t last_heard;
	bool timed_out;			/* the retransmission timer fired */
	bool early_probed;		/* a PROBE went out since the last STATUS */

	/* the file in progress */
	uint32_t cur;
	struct source src;
	uint32_t round;			/* end-to-end round, from 0 */
	uint64_t file_started;
	uint64_t file_datagrams;	/* data.datagrams when the file began */

	/* the end-to-end check */
	struct filesum vsum;		/* from the independent read */
	uint8_t *vbuf;			/* CFT_READBACK_STEP */
	bool r_done;			/* the receiver's read-back is in */
	uint64_t r_size;
	uint8_t r_whole[CFT_DIGEST_LEN];
	uint32_t sums_acked;
};

/* The data phase counts its datagrams; the summary reads them here. */
static void sync_stats(struct send_session *s)
{
	s->stats.datagrams = s->data.datagrams;
	s->stats.retransmits = s->data.retransmits;
	s->stats.blocks_resent = s->data.blocks_resent;
	s->stats.probes = s->data.probes;
}

static void fail(struct send_session *s, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void event(struct send_session *s, enum send_event_kind kind)
{
	struct send_event ev = { kind, s->cur, s->round };

	if (s->cfg.event)
		s->cfg.event(s->cfg.event_ctx, &ev);
}

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
	event(s, SEND_EV_FAILED);
}

static const char *cur_name(const struct send_session *s)
{
	return s->cur < s->cfg.nfiles ? s->cfg.files[s->cur].name : "session";
}

static const struct send_file *cur_file(const struct send_session *s)
{
	return &s->cfg.files[s->cur];
}

/* A read of the source failed: the source changed, or the disk did. */
static void source_fail(struct send_session *s, int rc)
{
	if (rc == CFT_E_CHANGED)
		fail(s, CFT_EXIT_CHANGED, "%s: source changed during transfer (it shrank)",
		     cur_file(s)->path);
	else
		fail(s, CFT_EXIT_LOCAL, "%s: read error: %s", cur_file(s)->path, strerror(errno));
}

static void msg(struct send_session *s, struct wire_msg *m, uint8_t type)
{
	proto_msg(m, s->cfg.session, type);
}

static void put(struct send_session *s, const struct wire_msg *m)
{
	proto_send(&s->cfg.out, NULL, m);
}

static void send_error_msg(struct send_session *s, unsigned reason, const char *text)
{
	proto_send_error(&s->cfg.out, NULL, s->cfg.session, reason,
			 s->cur < s->cfg.nfiles ? s->cur : WIRE_NO_FILE, text);
}

void send_abort(struct send_session *s, int status, const char *why)
{
	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return;
	send_error_msg(s, WIRE_R_ABORT, why);
	fail(s, status, "%s", why);
}

/* The peer answered: the session is alive and the backoff is over. */
static void heard(struct send_session *s, uint64_t now)
{
	s->last_heard = now;
	s->early_probed = false;
	flow_heard(&s->data.flow, now);
}

static void send_hello(struct send_session *s)
{
	struct wire_msg m;

	msg(s, &m, WIRE_HELLO);
	m.u.hello.block_size = s->cfg.block_size;
	m.u.hello.nfiles = s->cfg.nfiles;
	put(s, &m);
}

static void send_offer(struct send_session *s, uint64_t now)
{
	const struct send_file *sf = cur_file(s);
	struct wire_msg m;

	msg(s, &m, WIRE_FILE);
	m.u.file.file = s->cur;
	m.u.file.size = sf->size;
	m.u.file.mtime_sec = s->src.mtime_sec;
	m.u.file.mtime_nsec = s->src.mtime_nsec;
	m.u.file.mode = s->src.mode;
	m.u.file.flags = s->cfg.no_clobber ? WIRE_FILE_NO_CLOBBER : 0;
	m.u.file.name_len = (uint16_t)strlen(sf->name);
	m.u.file.name = (const uint8_t *)sf->name;
	put(s, &m);
	flow_arm(&s->data.flow, now);
}

/* Open file s->cur and offer it. */
static void start_file(struct send_session *s, uint64_t now)
{
	const struct send_file *sf = cur_file(s);
	int rc = source_open(&s->src, sf->path, sf->size);

	if (rc == CFT_E_CHANGED) {
		fail(s, CFT_EXIT_CHANGED, "%s: source changed before it was sent", sf->path);
		return;
	}
	if (rc < 0) {
		fail(s, CFT_EXIT_LOCAL, "%s: %s", sf->path, strerror(errno));
		return;
	}
	s->round = 0;
	s->stats.bytes_acked = 0;
	s->file_started = now;
	s->file_datagrams = s->data.datagrams;
	s->phase = SEND_OFFER;
	event(s, SEND_EV_OFFERED);
	send_offer(s, now);
}

/* A new round of the data phase. */
static void enter_data(struct send_session *s)
{
	const struct send_file *sf = cur_file(s);

	s->phase = SEND_DATA;
	s->r_done = false;
	sched_start(&s->data.sched, sf->size, s->cfg.block_size);
	s->data.file = s->cur;
	s->data.round = s->round;
	s->data.src = &s->src;
}

static void enter_verify(struct send_session *s)
{
	s->phase = SEND_VERIFY;
	s->r_done = false;
	s->stats.e2e_rounds++;
	s->stats.bytes_acked = cur_file(s)->size;
	if (source_verify_start(&s->src, &s->vsum, s->cfg.block_size) < 0) {
		fail(s, CFT_EXIT_LOCAL, "%s: out of memory", cur_file(s)->path);
		return;
	}
	event(s, SEND_EV_CHECKING);
}

/* Send what the windows allow; a failed read of the source ends it. */
static void pump(struct send_session *s, uint64_t now)
{
	int rc = send_data_pump(&s->data, now);

	if (rc < 0)
		source_fail(s, rc);
}

static void send_sums(struct send_session *s, uint64_t now)
{
	uint32_t nblocks = (uint32_t)s->vsum.nblocks;

	for (unsigned k = 0; k < SUMS_BURST; k++) {
		uint32_t first = s->sums_acked + k * CFT_SUMS_PER_DATAGRAM;
		struct wire_msg m;

		if (first >= nblocks)
			break;
		msg(s, &m, WIRE_SUMS);
		m.u.sums.file = s->cur;
		m.u.sums.round = s->round;
		m.u.sums.first = first;
		m.u.sums.count = (uint16_t)(nblocks - first < CFT_SUMS_PER_DATAGRAM ?
					    nblocks - first : CFT_SUMS_PER_DATAGRAM);
		m.u.sums.digests = filesum_block(&s->vsum, first);
		put(s, &m);
	}
	flow_arm(&s->data.flow, now);
}

static void send_commit(struct send_session *s, uint64_t now)
{
	struct wire_msg m;

	msg(s, &m, WIRE_COMMIT);
	m.u.commit.file = s->cur;
	memcpy(m.u.commit.digest, s->vsum.whole, CFT_DIGEST_LEN);
	put(s, &m);
	flow_arm(&s->data.flow, now);
}

static void send_bye(struct send_session *s, uint64_t now)
{
	struct wire_msg m;

	msg(s, &m, WIRE_BYE);
	put(s, &m);
	flow_arm(&s->data.flow, now);
}

/* Both digests in hand: commit, or start another round. */
static void decide(struct send_session *s, uint64_t now)
{
	struct send_file *sf = &s->cfg.files[s->cur];

	if (!filesum_done(&s->vsum) || !s->r_done)
		return;
	if (source_check(&s->src, sf->path) < 0) {
		send_error_msg(s, WIRE_R_ABORT, "source changed during transfer");
		fail(s, CFT_EXIT_CHANGED, "%s: source changed during transfer", sf->path);
		return;
	}
	if (s->r_size == sf->size && digest_equal(s->vsum.whole, s->r_whole)) {
		memcpy(sf->digest, s->vsum.whole, CFT_DIGEST_LEN);
		s->phase = SEND_COMMIT;
		send_commit(s, now);
		return;
	}
	s->stats.e2e_mismatches++;
	if (s->round + 1 >= CFT_E2E_ROUNDS_MAX) {
		send_error_msg(s, WIRE_R_DIGEST, "the sender's retry budget is spent");
		fail(s, CFT_EXIT_DIGEST, "%s: digests never agreed after %u end-to-end rounds",
		     sf->name, s->round + 1);
		return;
	}
	s->round++;
	event(s, SEND_EV_MISMATCH);
	s->phase = SEND_SUMS;
	s->sums_acked = 0;
	send_sums(s, now);
}

/* One step of the independent read: whole-file and block digests. */
static void verify_step(struct send_session *s, uint64_t now)
{
	int rc = source_verify_step(&s->src, &s->vsum, s->vbuf);

	if (rc < 0)
		source_fail(s, rc);
	else if (filesum_done(&s->vsum))
		decide(s, now);
}

static void file_committed(struct send_session *s, uint64_t now)
{
	struct send_file *sf = &s->cfg.files[s->cur];

	sf->committed = true;
	sf->usec = now - s->file_started;
	sf->datagrams = s->data.datagrams - s->file_datagrams;
	event(s, SEND_EV_COMMITTED);
	source_close(&s->src);
	s->stats.file = ++s->cur;
	if (s->cur < s->cfg.nfiles) {
		start_file(s, now);
	} else {
		s->phase = SEND_BYE;
		s->data.flow.backoffs = 0;
		send_bye(s, now);
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
	if (sched_on_receiving(&s->data.sched, rep, seen, s->timed_out, now))
		s->stats.bytes_acked = sched_bytes_done(&s->data.sched);
	s->timed_out = false;
	pump(s, now);
}

/* A STATUS for the current file and round, by phase. */
static void on_status_now(struct send_session *s, uint64_t now, const struct wire_status *rep,
			  uint32_t seen)
{
	if (s->phase == SEND_OFFER)
		enter_data(s);
	if (s->phase == SEND_SUMS) {
		if (rep->state == WIRE_FS_SUMS) {
			if (rep->sums_have > s->sums_acked && rep->sums_have <= s->vsum.nblocks) {
				s->sums_acked = rep->sums_have;
				send_sums(s, now);
			}
			return;
		}
		enter_data(s);
	}
	if (s->phase == SEND_DATA) {
		if (rep->state == WIRE_FS_RECEIVING) {
			on_receiving(s, now, rep, seen);
			return;
		}
		if (rep->state == WIRE_FS_VERIFYING || rep->state == WIRE_FS_VERIFIED)
			enter_verify(s);
	}
	if (s->phase == SEND_VERIFY && rep->state == WIRE_FS_VERIFIED && !s->r_done) {
		s->r_done = true;
		s->r_size = rep->bytes;
		memcpy(s->r_whole, rep->digest, CFT_DIGEST_LEN);
		decide(s, now);
	}
}

static void on_status(struct send_session *s, uint64_t now, const struct wire_status *rep)
{
	uint32_t seen = rep->rx_seq, probe_seq;

	if (rep->file != s->cur)
		return;		/* about an earlier file: stale */
	/* The PROBE a report answers went out after everything before it. */
	if (flow_echo(&s->data.flow, rep->echo, now, &probe_seq) && (int32_t)(probe_seq - seen) > 0)
		seen = probe_seq;
	if (rep->state == WIRE_FS_COMMITTED) {
		if (s->phase == SEND_COMMIT) {
			heard(s, now);
			file_committed(s, now);
		}
		return;
	}
	if (rep->round != s->round)
		return;		/* an answer from an earlier round */
	flow_on_counts(&s->data.flow, rep->rx_seq, rep->rx_count);
	heard(s, now);
	on_status_now(s, now, rep, seen);
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
	s->stats.reconnects++;
	event(s, SEND_EV_RECONNECTED);
	source_close(&s->src);
	s->phase = SEND_HELLO;
	sched_start(&s->data.sched, 0, s->cfg.block_size);
	s->data.flow.backoffs = 0;
	s->last_heard = now;
	s->data.flow.t_retx = now;	/* HELLO at the next timer call */
}

static void on_hello_ack(struct send_session *s, uint64_t now, const struct wire_hello_ack *a)
{
	uint32_t window = a->window_blocks;

	if (s->phase != SEND_HELLO)
		return;
	heard(s, now);
	if (window < 1)
		window = 1;
	if (window > CFT_WINDOW_BLOCKS_MAX)
		window = CFT_WINDOW_BLOCKS_MAX;
	s->data.sched.window = window;
	start_file(s, now);
}

static void on_error(struct send_session *s, uint64_t now, const struct wire_error *e)
{
	char text[CFT_ERROR_MSG_MAX + 1];
	const char *what = e->file < s->cfg.nfiles ? s->cfg.files[e->file].name : "session";

	if (e->reason == WIRE_R_UNKNOWN_SESSION) {
		reconnect(s, now);
		return;
	}
	util_sanitize(e->msg, e->msg_len, text, sizeof(text));
	fail(s, wire_reason_exit(e->reason), "%s: receiver: %s%s%s", what,
	     wire_reason_name(e->reason), text[0] ? ": " : "", text);
}

static void on_datagram(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len)
{
	struct wire_msg m;
	int rc = wire_decode(buf, len, &m);

	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return;
	if (rc == CFT_E_VERSION && m.session == s->cfg.session) {
		fail(s, CFT_EXIT_REFUSED, "receiver speaks protocol version %u, we speak %u",
		     m.version, CFT_PROTO_VERSION);
		return;
	}
	if (rc < 0 || m.session != s->cfg.session)
		return;		/* damaged, or not ours: the protocol repairs */
	switch (m.type) {
	case WIRE_HELLO_ACK:
		on_hello_ack(s, now, &m.u.hello_ack);
		break;
	case WIRE_STATUS:
		on_status(s, now, &m.u.status);
		break;
	case WIRE_BYE_ACK:
		if (s->phase == SEND_BYE)
			s->phase = SEND_DONE;
		break;
	case WIRE_ERROR:
		on_error(s, now, &m.u.error);
		break;
	default:
		break;
	}
}

/* Nothing heard for a retransmission timeout: repeat ourselves. */
static void on_retransmit(struct send_session *s, uint64_t now)
{
	switch (s->phase) {
	case SEND_HELLO:
		send_hello(s);
		break;
	case SEND_OFFER:
		send_offer(s, now);
		break;
	case SEND_DATA:
		flow_on_timeout(&s->data.flow);
		s->timed_out = true;
		s->stats.timeouts++;
		send_data_probe(&s->data, now);
		break;
	case SEND_VERIFY:
		send_data_probe(&s->data, now);
		break;
	case SEND_SUMS:
		send_sums(s, now);
		break;
	case SEND_COMMIT:
		send_commit(s, now);
		break;
	case SEND_BYE:
		if (s->data.flow.backoffs + 1 >= BYE_TRIES) {
			s->phase = SEND_DONE;
			return;
		}
		send_bye(s, now);
		break;
	default:
		break;
	}
	flow_backoff(&s->data.flow, now);
}

static void on_timer(struct send_session *s, uint64_t now)
{
	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return;
	if (now - s->last_heard >= s->cfg.timeout_us) {
		if (s->phase == SEND_BYE) {
			s->phase = SEND_DONE;	/* every file is committed */
			return;
		}
		send_error_msg(s, WIRE_R_ABORT, "sender timed out");
		fail(s, CFT_EXIT_NETWORK, "%s: no answer from the receiver for %llu s",
		     cur_name(s), (unsigned long long)(s->cfg.timeout_us / 1000000));
		return;
	}
	if (s->phase == SEND_VERIFY && !filesum_done(&s->vsum))
		verify_step(s, now);
	if (s->phase == SEND_DATA)
		pump(s, now);
	if (s->phase == SEND_DATA && !s->early_probed &&
	    now >= s->last_heard + flow_probe_wait(&s->data.flow) && !flow_timer_due(&s->data.flow, now)) {
		/* A STATUS is late: ask now rather than wait for the timer. */
		s->early_probed = true;
		send_data_probe(&s->data, now);
	}
	if (flow_timer_due(&s->data.flow, now))
		on_retransmit(s, now);
}

void send_on_datagram(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len)
{
	on_datagram(s, now, buf, len);
	sync_stats(s);
}

void send_on_timer(struct send_session *s, uint64_t now)
{
	on_timer(s, now);
	sync_stats(s);
}

uint64_t send_next_deadline(const struct send_session *s, uint64_t now)
{
	uint64_t t = s->data.flow.t_retx;

	if (s->phase == SEND_DONE || s->phase == SEND_FAILED)
		return UINT64_MAX;
	if (s->phase == SEND_VERIFY && !filesum_done(&s->vsum))
		return now;
	if (s->phase == SEND_DATA && flow_may_send(&s->data.flow) && sched_ready(&s->data.sched))
		return now;
	if (s->phase == SEND_DATA && !s->early_probed &&
	    s->last_heard + flow_probe_wait(&s->data.flow) < t)
		t = s->last_heard + flow_probe_wait(&s->data.flow);
	if (s->last_heard + s->cfg.timeout_us < t)
		t = s->last_heard + s->cfg.timeout_us;
	return t;
}

struct send_session *send_new(const struct send_config *cfg)
{
	struct send_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = *cfg;
	source_clear(&s->src);
	s->data.buf = malloc(cfg->block_size);
	s->data.out = cfg->out;
	s->data.session = cfg->session;
	s->vbuf = malloc(CFT_READBACK_STEP);
	if (filesum_init(&s->vsum) < 0 || !s->data.buf || !s->vbuf) {
		send_free(s);
		return NULL;
	}
	s->phase = SEND_HELLO;
	flow_init(&s->data.flow);
	s->data.sched.window = CFT_WINDOW_BLOCKS_MIN;
	return s;
}

void send_free(struct send_session *s)
{
	if (!s)
		return;
	source_close(&s->src);
	free(s->data.buf);
	free(s->vbuf);
	filesum_free(&s->vsum);
	free(s);
}

void send_start(struct send_session *s, uint64_t now)
{
	s->last_heard = now;
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
