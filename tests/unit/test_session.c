/*
 * Whole transfers between the two engines over the in-memory link: clean,
 * lossy, damaged past the checksum, forged past every check, with garbage
 * first; names, contents, modes and modification times checked at the end.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/proto.h"
#include "cft/util.h"
#include "cft/wire.h"
#include "harness.h"
#include "recv/store.h"

TestSuite(session, .init = harness_setup, .fini = harness_teardown);

Test(session, clean_link_edge_sizes)
{
	const char *names[] = { "empty", "one", "block", "block+1", "several" };
	struct run r;

	make_file("empty", 0, 1);
	make_file("one", 1, 2);
	make_file("block", 4096, 3);
	make_file("block+1", 4097, 4);
	make_file("several", 3 * 4096 + 17, 5);
	cr_assert_eq(run_transfer(&r, names, 5, 4096, 1, NULL, 60000000), CFT_EXIT_OK,
		     "status %d: %s", r.status, send_error(r.s));
	for (unsigned i = 0; i < 5; i++)
		assert_same(names[i]);
	cr_assert_eq(temp_files(), 0);
	cr_assert_eq(r.srv.c.files_committed, 5u);
	cr_assert_eq(send_stats(r.s)->retransmits, 0u, "nothing to repair on a clean link");
	cr_assert_eq(send_stats(r.s)->ignored, 0u, "nothing damaged to ignore");
	run_free(&r);
}

Test(session, lossy_link_repairs_everything)
{
	const char *names[] = { "a", "b" };
	struct faults f = { .drop_pct = 10, .dup_pct = 5, .reorder_pct = 5 };
	uint64_t seed = 20261125;
	struct run r;

	make_file("a", 300000, 7);
	make_file("b", 65536 * 3 + 5, 8);
	cr_assert_eq(run_transfer(&r, names, 2, 65536, seed, &f, 600000000), CFT_EXIT_OK,
		     "seed %llu: status %d: %s", (unsigned long long)seed, r.status,
		     send_error(r.s));
	assert_same("a");
	assert_same("b");
	cr_assert_gt(L.sr.dropped + L.rs.dropped, 0u, "seed %llu: no fault injected",
		     (unsigned long long)seed);
	cr_assert_gt(send_stats(r.s)->retransmits, 0u, "seed %llu: nothing was repaired",
		     (unsigned long long)seed);
	cr_assert_eq(temp_files(), 0);
	run_free(&r);
}

/* A CRC recomputed over damage: the DATA check catches it, chunk by chunk. */
Test(session, damage_past_the_checksum_costs_one_chunk)
{
	const char *names[] = { "d" };
	struct faults f = { .damage_pct = 5 };
	uint64_t seed = 77;
	struct run r;

	make_file("d", 2000000, 9);
	cr_assert_eq(run_transfer(&r, names, 1, CFT_BLOCK_SIZE_DEFAULT, seed, &f, 600000000),
		     CFT_EXIT_OK, "seed %llu: %s", (unsigned long long)seed, send_error(r.s));
	assert_same("d");
	cr_assert_gt(L.sr.damaged, 0u, "seed %llu: no datagram damaged", (unsigned long long)seed);
	cr_assert_eq(r.srv.c.bad_chunk, L.sr.damaged, "every damaged chunk dropped on arrival");
	cr_assert_eq(r.srv.c.block_mismatch, 0u, "no block had to be checked again");
	cr_assert_eq(r.srv.c.bad_checksum, 0u, "resealed: the checksum cannot see it");
	/* 1 MiB blocks of 749 chunks, 5% damaged: repaired chunk by chunk. */
	cr_assert_lt(L.sr.sent, 1429u * 3 / 2, "seed %llu: %llu datagrams for 1429 chunks",
		     (unsigned long long)seed, (unsigned long long)L.sr.sent);
	run_free(&r);
}

/* Damage with every keyless check recomputed: each chunk passes its check,
 * the block fails its root, and the sender's list of chunk digests finds
 * the chunks that differ. */
Test(session, damage_past_every_check_is_found_by_the_root)
{
	const char *names[] = { "d" };
	struct faults f = { .forge_pct = 5, .damage_pct = 0 };
	uint64_t seed = 78;
	struct run r;

	make_file("d", 2000000, 10);
	cr_assert_eq(run_transfer(&r, names, 1, CFT_BLOCK_SIZE_DEFAULT, seed, &f, 600000000),
		     CFT_EXIT_OK, "seed %llu: %s", (unsigned long long)seed, send_error(r.s));
	assert_same("d");
	cr_assert_gt(r.srv.c.block_mismatch, 0u, "the roots caught it");
	cr_assert_gt(send_stats(r.s)->chunksums, 0u, "chunk digests were fetched");
	cr_assert_lt(L.sr.sent, 1429u * 3 / 2, "seed %llu: %llu datagrams for 1429 chunks",
		     (unsigned long long)seed, (unsigned long long)L.sr.sent);
	run_free(&r);
}

Test(session, garbage_is_counted_and_the_transfer_goes_on)
{
	const char *names[] = { "g" };
	struct run r;
	uint8_t junk[CFT_DATAGRAM_MAX];
	struct net_addr other = sender_addr;
	struct recv_server srv;
	int dirfd;

	make_file("g", 50000, 11);
	/* Before the transfer: junk from the sender's own address and others. */
	open_server(&srv, &dirfd);
	L.rng = 5;
	for (int i = 0; i < 2000; i++) {
		size_t len = harness_rnd(&L) % sizeof(junk);

		for (size_t k = 0; k < len; k++)
			junk[k] = (uint8_t)harness_rnd(&L);
		if (i % 2) {		/* make some look like cft headers */
			junk[0] = WIRE_MAGIC0;
			junk[1] = WIRE_MAGIC1;
			junk[2] = CFT_PROTO_VERSION;
			if (len >= WIRE_HDR_LEN)
				wire_reseal(junk, len);
		}
		recv_server_on_datagram(&srv, 1000, &other, junk, len);
	}
	cr_assert_eq(srv.c.datagrams, 2000u);
	cr_assert_gt(srv.c.bad_magic + srv.c.truncated + srv.c.malformed +
		     srv.c.unknown_session + srv.c.bad_checksum + srv.c.bad_tag, 1000u);
	cr_assert_eq(temp_files(), 0);
	recv_server_free(&srv);
	close(dirfd);
	L.sr.n = L.rs.n = 0;	/* drop any refusals the junk provoked */

	cr_assert_eq(run_transfer(&r, names, 1, 4096, 3, NULL, 60000000), CFT_EXIT_OK);
	assert_same("g");
	run_free(&r);
}

/* Change a copy's mode and modification time, not its content. */
static void touch_copy(const char *name, mode_t mode, time_t sec)
{
	const struct timespec times[2] = { { 0, UTIME_OMIT }, { sec, 0 } };
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir_dst, name);
	cr_assert_eq(chmod(path, mode), 0);
	cr_assert_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* An identical file already there with another mode and time: nothing is
 * sent, and it gets the source's mode and time; with --no-clobber it is
 * left alone and the run is refused. */
Test(session, existing_copy_gets_mode_and_time)
{
	const char *names[] = { "m" };
	struct run r;

	make_file("m", 30000, 12);
	cr_assert_eq(run_transfer(&r, names, 1, 4096, 4, NULL, 60000000), CFT_EXIT_OK);
	run_free(&r);
	touch_copy("m", 0600, 1000000000);
	cr_assert_eq(run_transfer_opts(&r, names, 1, 4096, 5, NULL, 60000000, true),
		     CFT_EXIT_REFUSED, "--no-clobber: %s", send_error(r.s));
	run_free(&r);
	cr_assert_eq(run_transfer(&r, names, 1, 4096, 6, NULL, 60000000), CFT_EXIT_OK,
		     "%s", send_error(r.s));
	cr_assert_eq(send_stats(r.s)->datagrams, 0u, "the content was there: no DATA");
	assert_same("m");
	run_free(&r);
}

static uint8_t captured[CFT_DATAGRAM_MAX];
static size_t captured_len;

static void capture(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	(void)ctx;
	(void)to;
	memcpy(captured, b, len);
	captured_len = len;
}

/* "Version not spoken" ends the run only when it answers our very HELLO:
 * the answer to a HELLO damaged on the way (its version byte, say) is not
 * believed. */
Test(session, a_version_answer_counts_only_for_our_hello)
{
	struct send_file files[1] = { { .path = "/dev/null", .name = "v", .size = 0 } };
	struct send_config cfg = { .files = files, .nfiles = 1, .block_size = 4096,
				   .timeout_us = 30000000, .session = 42,
				   .out = { capture, NULL } };
	uint8_t whole[CFT_DIGEST_LEN], buf[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	struct send_session *s = send_new(&cfg);
	int n;

	cr_assert_not_null(s);
	send_start(s, 1000);
	send_on_timer(s, 1000);
	cr_assert_eq(captured[3], WIRE_HELLO);
	proto_msg(&m, 42, WIRE_ERROR);
	m.version = CFT_PROTO_VERSION + 1;
	m.u.error.reason = WIRE_R_VERSION;
	m.u.error.file = WIRE_NO_FILE;
	/* First the answer to a damaged HELLO. */
	captured[WIRE_HDR_LEN] ^= 1;
	digest_sha256(captured, captured_len, whole);
	proto_error_ref(whole, WIRE_R_VERSION, WIRE_NO_FILE, m.u.error.ref);
	n = wire_encode(&m, buf, sizeof(buf));
	send_on_datagram(s, 2000, buf, (size_t)n);
	cr_assert_not(send_finished(s), "an answer to another HELLO was believed");
	cr_assert_eq(send_stats(s)->ignored, 1u);
	/* Then the answer to ours. */
	captured[WIRE_HDR_LEN] ^= 1;
	digest_sha256(captured, captured_len, whole);
	proto_error_ref(whole, WIRE_R_VERSION, WIRE_NO_FILE, m.u.error.ref);
	n = wire_encode(&m, buf, sizeof(buf));
	send_on_datagram(s, 3000, buf, (size_t)n);
	cr_assert(send_finished(s));
	cr_assert_eq(send_outcome(s), CFT_EXIT_REFUSED);
	{
		char want[64];

		snprintf(want, sizeof(want), "protocol version %u", CFT_PROTO_VERSION + 1);
		cr_assert(strstr(send_error(s), want), "%s", send_error(s));
	}
	send_free(s);
}

/* A receiver that answers but never moves (here: no DATA ever reaches it)
 * does not keep the sender forever: no progress for the timeout is exit 4. */
Test(session, no_progress_is_a_timeout_however_chatty_the_peer)
{
	const char *names[] = { "p" };
	struct faults f = { .drop_type = WIRE_DATA };
	struct run r;

	make_file("p", 100000, 13);
	cr_assert_eq(run_transfer(&r, names, 1, 4096, 9, &f, 1000000 + 120000000ull),
		     CFT_EXIT_NETWORK, "status %d: %s", r.status, send_error(r.s));
	cr_assert(strstr(send_error(r.s), "no progress"), "%s", send_error(r.s));
	cr_assert_geq(r.now - 1000000, 30000000u, "gave up before the timeout");
	cr_assert_lt(r.now - 1000000, 32000000u, "gave up long after the timeout");
	cr_assert_gt(L.rs.sent, 100u, "the receiver kept answering");
	run_free(&r);
}

/* Every datagram the sender sends, in order. */
#define SENT_MAX 8
static uint8_t sent[SENT_MAX][CFT_DATAGRAM_BIG_MAX];
static size_t sent_len[SENT_MAX];
static unsigned nsent;

static void capture_all(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	(void)ctx;
	(void)to;
	if (nsent < SENT_MAX) {
		memcpy(sent[nsent], b, len);
		sent_len[nsent] = len;
	}
	nsent++;
}

/* The receiver's HELLO_ACK to the HELLO hello[0..len), with `cookie`. */
static void ack_hello(struct send_session *s, uint64_t now, const uint8_t *hello, size_t len,
		      uint8_t cookie)
{
	uint8_t hd[CFT_DIGEST_LEN], buf[CFT_DATAGRAM_MAX];
	struct wire_msg h, m;
	int n;

	cr_assert_eq(wire_decode(hello, len, &h), 0);
	cr_assert_eq(h.type, WIRE_HELLO);
	proto_hello_digest(h.session, &h.u.hello, hd);
	proto_msg(&m, h.session, WIRE_HELLO_ACK);
	m.u.hello_ack.window_blocks = 8;
	memcpy(m.u.hello_ack.hello, hd, CFT_SHORT_DIGEST_LEN);
	memset(m.u.hello_ack.cookie, cookie, CFT_COOKIE_LEN);
	n = wire_encode(&m, buf, sizeof(buf));
	send_on_datagram(s, now, buf, (size_t)n);
}

/* Sent datagram i, decoded. */
static const struct wire_msg *sent_msg(unsigned i)
{
	static struct wire_msg m;

	cr_assert_eq(wire_decode(sent[i], sent_len[i], &m), 0, "datagram %u", i);
	return &m;
}

/*
 * Start sender s at 1000 us (it sends `hellos` HELLOs), answer its first
 * HELLO (with a cookie) at 2000 us, and return the session id; *file is the
 * FILE that follows.  Returns with nsent counting from that answer.
 */
static uint64_t open_by_hand(struct send_session *s, unsigned hellos, struct wire_msg *file)
{
	static uint8_t first[CFT_DATAGRAM_BIG_MAX];
	size_t len;

	nsent = 0;
	send_start(s, 1000);
	send_on_timer(s, 1000);
	cr_assert_eq(nsent, hellos, "%u HELLOs", nsent);
	memcpy(first, sent[0], sent_len[0]);
	len = sent_len[0];
	nsent = 0;
	ack_hello(s, 2000, first, len, 0xc0);
	*file = *sent_msg(1);
	cr_assert_eq(file->type, WIRE_FILE);
	return sent_msg(0)->session;
}

/*
 * A route that takes 16 KiB datagrams: the first HELLO goes twice, padded
 * for 16 KiB chunks first, then plain.  The first answer decides; the other
 * answer, late, changes nothing (it is not the answer to a damaged HELLO,
 * which would start another session); the HELLO with the cookie asks for
 * what was chosen, padded as it must be.
 */
Test(session, the_first_answer_to_the_pair_of_hellos_decides_the_chunks)
{
	static uint8_t pair[2][CFT_DATAGRAM_BIG_MAX];
	char path[512];
	struct send_file files[1] = { { .path = path, .name = "c", .size = 1000 } };
	struct send_config cfg = { .files = files, .nfiles = 1, .block_size = 4096,
				   .chunk_max = CFT_CHUNK_SIZE_MAX, .timeout_us = 30000000,
				   .session = 42, .out = { capture_all, NULL } };
	size_t pair_len[2];

	make_file("c", 1000, 3);
	snprintf(path, sizeof(path), "%s/c", dir_src);
	for (unsigned first = 0; first < 2; first++) {
		struct send_session *s = send_new(&cfg);
		uint32_t chosen = first == 0 ? CFT_CHUNK_SIZE_MAX : CFT_CHUNK_SIZE;
		uint64_t id;

		cr_assert_not_null(s);
		nsent = 0;
		send_start(s, 1000);
		send_on_timer(s, 1000);
		cr_assert_eq(nsent, 2u, "two HELLOs, not %u", nsent);
		cr_assert_eq(sent_len[0], CFT_DATAGRAM_BIG_MAX);
		cr_assert_eq(sent_msg(0)->u.hello.chunk_size, CFT_CHUNK_SIZE_MAX);
		cr_assert_eq(sent_len[1], WIRE_HELLO_LEN);
		cr_assert_eq(sent_msg(1)->u.hello.chunk_size, CFT_CHUNK_SIZE);
		id = sent_msg(1)->session;
		for (unsigned i = 0; i < 2; i++) {
			memcpy(pair[i], sent[i], sent_len[i]);
			pair_len[i] = sent_len[i];
		}
		/* Answer `first`: its chunks; the HELLO with the cookie asks for
		 * them, the FILE behind it. */
		nsent = 0;
		ack_hello(s, 2000, pair[first], pair_len[first], 0xc0);
		cr_assert_eq(send_stats(s)->chunk_size, chosen);
		cr_assert_geq(nsent, 2u);
		cr_assert_eq(sent_msg(0)->type, WIRE_HELLO);
		cr_assert_eq(sent_msg(0)->u.hello.chunk_size, chosen);
		cr_assert_eq(sent_len[0], wire_hello_len(chosen));
		cr_assert_eq(sent_msg(1)->type, WIRE_FILE);
		/* The other answer, late: no news. */
		nsent = 0;
		ack_hello(s, 2500, pair[1 - first], pair_len[1 - first], 0xc0);
		send_on_timer(s, 3000);
		cr_assert_eq(send_stats(s)->chunk_size, chosen);
		cr_assert_eq(send_stats(s)->reconnects, 0u);
		for (unsigned i = 0; i < nsent && i < SENT_MAX; i++)
			cr_assert_eq(sent_msg(i)->session, id, "a new session after a late answer");
		send_free(s);
	}
}

/* A RECEIVING STATUS of block `base` on, none of them held, having seen
 * DATA up to rx_seq (rx_seq of them), answering PROBE `echo` (0: none). */
static void status_from(struct send_session *s, uint64_t now, uint64_t id,
			const struct wire_msg *file, uint32_t base, uint32_t rx_seq, uint64_t echo)
{
	uint8_t buf[CFT_DATAGRAM_MAX];
	struct wire_msg m;
	int n;

	proto_msg(&m, id, WIRE_STATUS);
	m.u.status.file = 0;
	m.u.status.state = WIRE_FS_RECEIVING;
	memcpy(m.u.status.offer, file->u.file.offer, CFT_SHORT_DIGEST_LEN);
	m.u.status.base = base;
	m.u.status.rx_seq = m.u.status.rx_count = rx_seq;
	m.u.status.echo = echo;
	n = wire_encode(&m, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	send_on_datagram(s, now, buf, (size_t)n);
}

/* A RECEIVING STATUS of session `id` for file 0, round 0, the offer the
 * FILE `file` carried, that has seen no DATA at all. */
static void status_nothing(struct send_session *s, uint64_t now, uint64_t id,
			   const struct wire_msg *file)
{
	status_from(s, now, id, file, 0, 0, 0);
}

/*
 * A session of 16 KiB chunks whose receiver answers but counts none of the
 * DATA on its way: at CFT_CHUNK_STALL_US less a microsecond after the data
 * phase began it goes on; at CFT_CHUNK_STALL_US it opens again, with the
 * default chunks, and asks for no larger ones.
 */
Test(session, larger_chunks_that_stop_arriving_are_given_up_at_the_limit)
{
	char path[512];
	struct send_file files[1] = { { .path = path, .name = "c", .size = 100000 } };
	struct send_config cfg = { .files = files, .nfiles = 1, .block_size = 65536,
				   .chunk_max = CFT_CHUNK_SIZE_MAX, .timeout_us = 30000000,
				   .session = 42, .out = { capture_all, NULL } };
	struct send_session *s;
	struct wire_msg file;
	uint64_t id, t0 = 3000;

	make_file("c", 100000, 5);
	snprintf(path, sizeof(path), "%s/c", dir_src);
	s = send_new(&cfg);
	cr_assert_not_null(s);
	/* The padded HELLO, answered first. */
	id = open_by_hand(s, 2, &file);
	cr_assert_eq(send_stats(s)->chunk_size, CFT_CHUNK_SIZE_MAX);
	/* The offer answered: DATA goes, and none arrives. */
	nsent = 0;
	status_nothing(s, t0, id, &file);
	cr_assert_eq(send_phase(s), SEND_DATA);
	cr_assert_gt(nsent, 0u, "no DATA went");
	{
		bool big = false;

		for (unsigned i = 0; i < nsent && i < SENT_MAX; i++)
			big |= sent_msg(i)->type == WIRE_DATA &&
			       sent_msg(i)->u.data.len == CFT_CHUNK_SIZE_MAX;
		cr_assert(big, "no DATA of 16 KiB among the first sent");
	}
	status_nothing(s, t0 + CFT_CHUNK_STALL_US / 2, id, &file);
	status_nothing(s, t0 + CFT_CHUNK_STALL_US - 1, id, &file);
	cr_assert_eq(send_phase(s), SEND_DATA, "given up before the limit");
	cr_assert_eq(send_stats(s)->reconnects, 0u);
	nsent = 0;
	status_nothing(s, t0 + CFT_CHUNK_STALL_US, id, &file);
	cr_assert_eq(send_phase(s), SEND_HELLO, "not given up at the limit");
	cr_assert_eq(send_stats(s)->reconnects, 1u);
	cr_assert_eq(send_stats(s)->chunk_size, CFT_CHUNK_SIZE);
	/* Its HELLOs ask for the default chunks only, under a new id. */
	nsent = 0;
	send_on_timer(s, t0 + CFT_CHUNK_STALL_US + 1);
	cr_assert_eq(nsent, 1u, "%u HELLOs", nsent);
	cr_assert_eq(sent_msg(0)->type, WIRE_HELLO);
	cr_assert_eq(sent_msg(0)->u.hello.chunk_size, CFT_CHUNK_SIZE);
	cr_assert_neq(sent_msg(0)->session, id);
	send_free(s);
}

/*
 * Threat 1 inside the data phase.  A chunk that must be sent again is read
 * afresh and must match the leaf its block was sent with; when it does not,
 * one of the two reads was bad (or the file changed under a time that did
 * not move).  Each DATA of chunk 5 of block 1 here is lost on the way, and
 * as it leaves the source's copy of that chunk changes (its time put back):
 * every repair's read disagrees with the read the block went from.  Up to
 * CFT_REREADS_MAX such disagreements in a round, the block is read again and
 * sent whole, and the copy verifies; one more, and the source is taken for
 * changed (exit 7), not re-read for ever.
 */
static unsigned rereads_left, rereads_seen;

static void lose_and_change_chunk(uint8_t *b, size_t len)
{
	struct wire_msg m;
	char path[512];
	struct timespec t[2] = { { HARNESS_MTIME_SEC, HARNESS_MTIME_NSEC },
				 { HARNESS_MTIME_SEC, HARNESS_MTIME_NSEC } };
	uint8_t c;
	int fd;

	if (rereads_left == 0 || wire_decode(b, len, &m) != 0 || m.type != WIRE_DATA ||
	    m.u.data.block != 1 || m.u.data.chunk != 5)
		return;
	rereads_left--;
	rereads_seen++;
	b[len - 1] ^= 1;	/* damaged: dropped on arrival */
	snprintf(path, sizeof(path), "%s/f", dir_src);
	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &c, 1, 65536 + 5 * CFT_CHUNK_SIZE + 7), 1);
	c ^= 0x10;
	cr_assert_eq(pwrite(fd, &c, 1, 65536 + 5 * CFT_CHUNK_SIZE + 7), 1);
	cr_assert_eq(futimens(fd, t), 0);
	close(fd);
}

static int run_rereads(struct run *r, unsigned n)
{
	const char *names[] = { "f" };

	make_file("f", 3 * 65536, 11);
	rereads_left = n;
	rereads_seen = 0;
	harness_sr_edit = lose_and_change_chunk;
	return run_transfer(r, names, 1, 65536, 1, NULL, 600000000ull);
}

Test(session, a_chunk_read_again_that_differs_sends_its_block_again)
{
	struct run r;

	cr_assert_eq(run_rereads(&r, CFT_REREADS_MAX), CFT_EXIT_OK, "status %d: %s", r.status,
		     send_error(r.s));
	cr_assert_eq(rereads_seen, CFT_REREADS_MAX);
	assert_same("f");
	cr_assert_eq(send_stats(r.s)->rereads, CFT_REREADS_MAX);
	cr_assert_geq(send_stats(r.s)->blocks_resent, CFT_REREADS_MAX);
	cr_assert_eq(temp_files(), 0);
	run_free(&r);
}

Test(session, reads_that_keep_disagreeing_are_a_changed_source)
{
	char path[512];
	struct run r;

	cr_assert_eq(run_rereads(&r, CFT_REREADS_MAX + 1), CFT_EXIT_CHANGED, "status %d: %s",
		     r.status, send_error(r.s));
	cr_assert_eq(send_stats(r.s)->rereads, CFT_REREADS_MAX + 1);
	cr_assert_eq(r.srv.c.files_committed, 0u);
	snprintf(path, sizeof(path), "%s/f", dir_dst);
	cr_assert_eq(access(path, F_OK), -1, "a file of the final name");
	run_free(&r);
}

/*
 * A retransmission timeout that was not a loss (the receiver was only
 * slow, as on a busy host) must not make the report already on its way
 * look like one.  The timer's override of "not seen yet" belongs to the
 * answer to the PROBE sent when it fired: a report sent before that
 * (here, having seen block 0 only) says nothing of the blocks after it,
 * which must not be read again and sent whole; the answer to the PROBE
 * does, and they are.
 */
static unsigned data_of[64], probes_sent;
static uint64_t last_probe;

static void count_data(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	struct wire_msg m;

	(void)ctx;
	(void)to;
	if (wire_decode(b, len, &m) != 0)
		return;
	if (m.type == WIRE_DATA && m.u.data.block < 64)
		data_of[m.u.data.block]++;
	if (m.type == WIRE_PROBE) {
		probes_sent++;
		last_probe = m.u.probe.echo;
	}
	capture_all(ctx, to, b, len);
}

Test(session, a_report_sent_before_a_timeout_is_no_news_of_loss)
{
	char path[512];
	struct send_file files[1] = { { .path = path, .name = "t", .size = 8 * 4096 } };
	struct send_config cfg = { .files = files, .nfiles = 1, .block_size = 4096,
				   .timeout_us = 30000000, .session = 42,
				   .out = { count_data, NULL } };
	struct send_session *s;
	struct wire_msg file;
	uint64_t id, now = 3000;
	unsigned probes_before = 0;

	make_file("t", 8 * 4096, 21);
	snprintf(path, sizeof(path), "%s/t", dir_src);
	s = send_new(&cfg);
	cr_assert_not_null(s);
	id = open_by_hand(s, 1, &file);
	memset(data_of, 0, sizeof(data_of));
	status_from(s, now, id, &file, 0, 0, 0);
	for (int i = 0; i < 20 && data_of[2] == 0; i++)
		send_on_timer(s, now += 100);
	cr_assert_eq(data_of[1], 3u, "block 1 went whole before the timeout");
	/* Nothing heard: the timer fires, and a PROBE goes. */
	for (int i = 0; i < 400 && send_stats(s)->timeouts == 0; i++) {
		probes_before = probes_sent;
		send_on_timer(s, now += 1000);
	}
	cr_assert_eq(send_stats(s)->timeouts, 1u);
	cr_assert_gt(probes_sent, probes_before, "no PROBE at the timeout");
	/* The report of block 0, sent before the timeout and late. */
	status_from(s, now += 10, id, &file, 1, 3, 0);
	send_on_timer(s, now += 10);
	cr_assert_eq(data_of[1], 3u, "block 1 sent again on a report from before the timeout");
	/* The answer to the PROBE: block 1 never arrived, and goes again. */
	status_from(s, now += 10, id, &file, 1, 3, last_probe);
	send_on_timer(s, now += 10);
	cr_assert_eq(data_of[1], 6u, "block 1 not sent again on the PROBE's answer");
	send_free(s);
}
