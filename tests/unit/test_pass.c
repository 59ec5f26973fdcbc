/*
 * Passing a file behind (cft-protocol(7)): with a receiver whose disk is
 * slower than the network (harness_disk_lag), each new file's read-back
 * and commit run while the next file is offered and sent.  Files are still
 * committed only on their own digests, in their order; one whose read-back
 * does not make its COMMIT is taken back and repaired; faults on the link
 * cost retries, never a file.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cft/exit.h"
#include "cft/wire.h"
#include "cft/proto.h"
#include "harness.h"
#include "recv/recv-state.h"
#include "send/send-state.h"

TestSuite(pass, .init = harness_setup, .fini = harness_teardown);

#define NFILES 12
/* Disk jobs end so many events late. */
#define LAG 3

static const char *names[NFILES] = { "f00", "f01", "f02", "f03", "f04", "f05",
				     "f06", "f07", "f08", "f09", "f10", "f11" };

static void make_files(void)
{
	for (unsigned i = 0; i < NFILES; i++)
		make_file(names[i], 1000 + 3000 * i, 40 + i);
}

static void assert_all_same(void)
{
	for (unsigned i = 0; i < NFILES; i++)
		assert_same(names[i]);
	cr_assert_eq(temp_files(), 0, "no temporary file left");
}

/* The files over a clean link, with a disk LAG events slow: must verify. */
static void run_ok(struct run *r)
{
	harness_disk_lag = LAG;
	cr_assert_eq(run_transfer(r, names, NFILES, 4096, 1, NULL, 600000000ull), CFT_EXIT_OK,
		     "%s (phase %d, file %u)", send_error(r->s), send_phase(r->s), r->s->cur);
}

/* A clean link: every file but the last is passed behind the next, at
 * both ends' count, and every one arrives. */
Test(pass, every_file_but_the_last_goes_behind_the_next)
{
	struct run r;

	make_files();
	run_ok(&r);
	assert_all_same();
	cr_assert_eq(send_stats(r.s)->passed, NFILES - 1u);
	cr_assert_eq(r.srv.c.passed, NFILES - 1u);
	cr_assert_eq(r.srv.c.files_committed, NFILES);
	cr_assert_eq(send_stats(r.s)->e2e_mismatches, 0u);
	run_free(&r);
}

/* Without the slow disk each file is committed before the next is
 * offered: nothing is passed (the tests above are not vacuous). */
Test(pass, a_disk_as_fast_as_the_network_passes_nothing)
{
	struct run r;

	make_files();
	cr_assert_eq(run_transfer(&r, names, NFILES, 4096, 1, NULL, 600000000ull), CFT_EXIT_OK);
	assert_all_same();
	cr_assert_eq(send_stats(r.s)->passed, 0u);
	run_free(&r);
}

/* Loss, duplicates, reordering and damage of every kind of datagram, the
 * STATUS that says "next" and the COMMITs of files behind among them. */
Test(pass, faults_cost_retries_never_a_file)
{
	struct faults f = { .drop_pct = 10, .dup_pct = 5, .reorder_pct = 10, .damage_pct = 3 };

	make_files();
	harness_disk_lag = LAG;
	for (uint64_t seed = 1; seed <= 6; seed++) {
		struct run r;

		clear_dst();
		cr_assert_eq(run_transfer(&r, names, NFILES, 4096, seed, &f, 3600000000ull),
			     CFT_EXIT_OK, "seed %llu: %s", (unsigned long long)seed,
			     r.s ? send_error(r.s) : "");
		assert_all_same();
		cr_assert_eq(r.srv.c.files_committed, NFILES, "seed %llu",
			     (unsigned long long)seed);
		run_free(&r);
	}
}

/* Every STATUS lost after the first n of them: the sender must hear the
 * fate of a file behind again (its COMMIT repeated). */
Test(pass, a_lost_committed_of_a_file_behind_is_asked_again)
{
	struct faults f = { .hit_type = WIRE_STATUS, .hit_state = WIRE_FS_COMMITTED };

	make_files();
	harness_disk_lag = LAG;
	for (unsigned nth = 1; nth <= 4; nth++) {
		struct run r;

		clear_dst();
		f.hit_nth = nth;
		f.hit_byte = WIRE_HDR_LEN + 46;	/* in the commit digest: not ours */
		f.hit_all = true;
		cr_assert_eq(run_transfer(&r, names, NFILES, 4096, nth, &f, 600000000ull),
			     CFT_EXIT_OK, "committed STATUS %u damaged: %s", nth, send_error(r.s));
		assert_all_same();
		cr_assert_gt(send_stats(r.s)->ignored, 0u, "the damaged one was not believed");
		run_free(&r);
	}
}

/* Flip one byte of the first temporary file found in the destination: the
 * copy of a file behind on the receiver's disk, after it was written and
 * before it is read back (what a bad write, or a bit flipped in memory on
 * its way to the disk, leaves there). */
static unsigned spoiled;

static void spoil_behind(const uint8_t *b, size_t len)
{
	struct dirent *e;
	DIR *d;

	/* The offer of file 2: file 1 is behind it, written, unread. */
	if (spoiled || len < WIRE_HDR_LEN + 4 || b[3] != WIRE_FILE || b[WIRE_HDR_LEN + 3] != 2)
		return;
	d = opendir(dir_dst);
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[512];
		uint8_t c;
		int fd;

		if (strncmp(e->d_name, ".cft-tmp.", 9) != 0 || strstr(e->d_name, ".state"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_dst, e->d_name);
		fd = open(path, O_RDWR);
		cr_assert_geq(fd, 0);
		cr_assert_eq(pread(fd, &c, 1, 100), 1);
		c ^= 0x40;
		cr_assert_eq(pwrite(fd, &c, 1, 100), 1);
		close(fd);
		spoiled++;
	}
	closedir(d);
}

/*
 * The read-back of a file behind finds damage: the receiver takes it back
 * (the next file put aside), the sender too; the block that differs is
 * sent again, the file committed, and the next file offered again.
 */
Test(pass, damage_found_behind_takes_the_file_back)
{
	struct run r;

	make_files();
	harness_disk_lag = LAG;
	harness_tap = spoil_behind;
	cr_assert_eq(run_transfer(&r, names, NFILES, 4096, 3, NULL, 600000000ull), CFT_EXIT_OK,
		     "%s", send_error(r.s));
	cr_assert_eq(spoiled, 1u, "one file spoiled behind the next");
	cr_assert_eq(send_stats(r.s)->e2e_mismatches, 1u, "one round for the damage");
	assert_all_same();
	cr_assert_eq(send_stats(r.s)->resumed, 0u, "taken back, not resumed");
	cr_assert_geq(r.srv.c.readback_mismatch, 1u);
	cr_assert_eq(r.srv.c.files_committed, NFILES);
	run_free(&r);
}

/* The review's cases: a forger, lost answers, a reconnect, a refusal and a
 * restart, each around a file behind. */
static struct run *R;

static struct recv_session *session(void)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (R && R->srv.sessions[i])
			return R->srv.sessions[i];
	return NULL;
}

/* run_ok with the harness's hooks, R set while it runs. */
static void run_hooked(struct run *r, void (*edit)(uint8_t *b, size_t len),
		       bool (*drop)(const uint8_t *b, size_t len), void (*step)(struct run *r))
{
	make_files();
	R = r;
	harness_sr_edit = edit;
	harness_rs_drop = drop;
	harness_step = step;
	run_ok(r);
	R = NULL;
}

/* A forged COMMIT of file 1 (another digest, every keyless check made
 * again), sent until file 1 is behind: the receiver keeps it and passes
 * the file on it. */
static unsigned forged;

static void forge_commit_1(uint8_t *b, size_t len)
{
	static bool passed;
	struct recv_session *s = session();
	struct wire_msg m;

	if (s && s->behind && s->behind->index == 1)
		passed = true;	/* on the forged one: enough */
	if (passed || len < WIRE_HDR_LEN || b[3] != WIRE_COMMIT || wire_decode(b, len, &m) < 0 ||
	    m.u.commit.file != 1 || (s && s->next_file > 1))
		return;
	b[WIRE_HDR_LEN + 4 + 3] ^= 1;	/* in the digest */
	wire_reseal_all(b, len);
	forged++;
}

/* Every VERIFIED report of file 1 lost. */
static unsigned lost_verified;

static bool drop_verified_1(const uint8_t *b, size_t len)
{
	struct wire_msg m;

	if (len < WIRE_HDR_LEN || b[3] != WIRE_STATUS || wire_decode(b, len, &m) < 0 ||
	    m.u.status.file != 1 || m.u.status.state != WIRE_FS_VERIFIED || lost_verified >= 2)
		return false;
	lost_verified++;
	return true;
}

/*
 * A file passed on a forged COMMIT is taken back; the report that says so
 * is lost, and the sender's own COMMIT of it comes next: the receiver must
 * not commit it behind the sender's back (the next file was put aside, and
 * the sender would go on with it), but say again that it came back.
 */
Test(pass, a_commit_after_a_take_back_the_sender_did_not_hear_commits_nothing)
{
	struct run r;

	run_hooked(&r, forge_commit_1, drop_verified_1, NULL);
	cr_assert_gt(forged, 0u);
	cr_assert_gt(lost_verified, 0u);
	assert_all_same();
	run_free(&r);
}

/* An "unknown session" ERROR (anyone can send one without keys) just
 * after the receiver committed the file behind, its COMMITTED lost: the
 * sender offers that file again and must take the COMMITTED it hears. */
static bool inject;
static unsigned injected;

static bool drop_committed_behind(const uint8_t *b, size_t len)
{
	struct wire_msg m;

	if (injected || !R || !R->s->behind.active || len < WIRE_HDR_LEN ||
	    b[3] != WIRE_STATUS || wire_decode(b, len, &m) < 0 ||
	    m.u.status.file != R->s->behind.file || m.u.status.state != WIRE_FS_COMMITTED)
		return false;
	inject = true;
	return true;
}

static void unknown_session(struct run *r)
{
	uint8_t b[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int n;

	if (injected || !inject)
		return;
	proto_msg(&m, r->s->id, WIRE_ERROR);
	m.u.error.reason = WIRE_R_UNKNOWN_SESSION;
	m.u.error.file = WIRE_NO_FILE;
	m.u.error.msg = (const uint8_t *)"";
	n = wire_encode(&m, b, sizeof(b));
	cr_assert_gt(n, 0);
	send_on_datagram(r->s, r->now, b, (size_t)n);
	injected++;
}

Test(pass, a_reconnect_after_the_file_behind_was_committed_goes_on)
{
	struct run r;

	run_hooked(&r, NULL, drop_committed_behind, unknown_session);
	cr_assert_eq(injected, 1u);
	cr_assert_geq(send_stats(r.s)->reconnects, 1u);
	assert_all_same();
	run_free(&r);
}

/* The receiver restarts (a new server on the same directory) while the
 * sender is at file 4; the last FILE and COMMIT the sender sent before are
 * played to the new receiver again, as a late or repeated datagram would
 * arrive.  The sender opens a new session that starts at file 4; the old
 * datagrams name the old session and are not taken. */
static unsigned restarted;
static struct dgram last_file, last_commit;

static void keep_last(const uint8_t *b, size_t len)
{
	if (len >= WIRE_HDR_LEN && b[3] == WIRE_FILE && !restarted) {
		memcpy(last_file.b, b, len);
		last_file.len = (uint16_t)len;
	}
	if (len >= WIRE_HDR_LEN && b[3] == WIRE_COMMIT && !restarted) {
		memcpy(last_commit.b, b, len);
		last_commit.len = (uint16_t)len;
	}
}

static void restart_receiver(struct run *r)
{
	if (restarted || r->s->cur != 4 || r->s->phase != SEND_DATA)
		return;
	recv_server_free(&r->srv);
	cr_assert_eq(recv_server_init(&r->srv, r->dirfd, 30000000,
				      (struct recv_io){ .out = { r->srv.io.out.datagram, NULL } }), 0);
	r->srv.disk_lag = harness_disk_lag;
	restarted++;
	recv_server_on_datagram(&r->srv, r->now, &sender_addr, last_file.b, last_file.len);
	recv_server_on_datagram(&r->srv, r->now, &sender_addr, last_commit.b, last_commit.len);
}

Test(pass, a_receiver_restarted_in_the_middle_of_many_files_takes_up_there)
{
	struct run r;

	make_files();
	harness_tap = keep_last;
	harness_step = restart_receiver;
	run_ok(&r);
	cr_assert_eq(restarted, 1u);
	cr_assert_gt(last_file.len, 0u);
	cr_assert_geq(send_stats(r.s)->reconnects, 1u);
	cr_assert_geq(r.srv.c.unknown_session, 2u, "the old session's datagrams not taken");
	assert_all_same();
	run_free(&r);
}

/* The file after the one behind is refused (--no-clobber, a different
 * file of that name there): the run fails, and the file behind, whole, is
 * neither lost nor said committed unless it is. */
Test(pass, a_refusal_of_the_next_file_loses_nothing_behind)
{
	char path[512];
	struct run r;
	FILE *f;

	make_files();
	snprintf(path, sizeof(path), "%s/f02", dir_dst);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("another file", f);
	fclose(f);
	harness_disk_lag = LAG;
	cr_assert_eq(run_transfer_opts(&r, names, NFILES, 4096, 1, NULL, 600000000ull, true),
		     CFT_EXIT_REFUSED, "%s", send_error(r.s));
	snprintf(path, sizeof(path), "%s/f01", dir_dst);
	if (access(path, F_OK) == 0) {
		assert_same("f01");
		cr_assert(r.s->cfg.files[1].committed || temp_files() == 0);
	} else {
		cr_assert(!r.s->cfg.files[1].committed, "said committed, and not there");
		cr_assert_eq(temp_files(), 1, "f01, whole, kept as a partial file");
	}
	run_free(&r);
}

/* The sender's offer of a file it took back, lost (the receiver takes no
 * COMMIT of it before it has that offer again): repeated with the COMMIT. */
static unsigned lost_reoffer;

static void lose_reoffer_1(uint8_t *b, size_t len)
{
	struct recv_session *s = session();
	struct wire_msg m;

	if (lost_reoffer || !s || !s->f || s->f->index != 1 || !s->f->taken_back ||
	    len < WIRE_HDR_LEN || b[3] != WIRE_FILE || wire_decode(b, len, &m) < 0 ||
	    m.u.file.file != 1)
		return;
	b[len - 1] ^= 1;	/* dropped as damaged */
	lost_reoffer++;
}

static void spoil_and_lose(uint8_t *b, size_t len)
{
	spoil_behind(b, len);
	lose_reoffer_1(b, len);
}

Test(pass, a_lost_offer_of_a_file_taken_back_is_repeated)
{
	struct run r;

	run_hooked(&r, spoil_and_lose, NULL, NULL);
	cr_assert_eq(spoiled, 1u);
	cr_assert_eq(lost_reoffer, 1u);
	assert_all_same();
	run_free(&r);
}

/* Not the pass: a differing destination, its next round; the STATUS that
 * answers the last SUMS is lost: the repeated SUMS are answered. */
static unsigned lost_receiving;

static bool lose_receiving_round_1(const uint8_t *b, size_t len)
{
	struct wire_msg m;

	if (lost_receiving || len < WIRE_HDR_LEN || b[3] != WIRE_STATUS ||
	    wire_decode(b, len, &m) < 0 || m.u.status.state != WIRE_FS_RECEIVING ||
	    m.u.status.round != 1)
		return false;
	lost_receiving++;
	return true;
}

Test(pass, a_lost_answer_to_the_last_sums_is_given_again)
{
	const char *one[] = { "big" };
	char path[512];
	struct run r;
	FILE *f;

	make_file("big", 100000, 5);
	snprintf(path, sizeof(path), "%s/big", dir_dst);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 100000; i++)
		fputc(i == 50000 ? 'x' : 0, f);
	fclose(f);
	harness_rs_drop = lose_receiving_round_1;
	cr_assert_eq(run_transfer(&r, one, 1, 4096, 1, NULL, 600000000ull), CFT_EXIT_OK, "%s",
		     send_error(r.s));
	cr_assert_eq(lost_receiving, 1u);
	assert_same("big");
	run_free(&r);
}
