/*
 * The receiver's engine fed by hand: what a STATUS says is missing, how a
 * block that fails its root is repaired from the sender's list, resuming
 * from a partial file, damaged offers, and refusals at the limits.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
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
#include "recv/recv-state.h"
#include "recv/recv-session.h"
#include "recv/store.h"

TestSuite(recv, .init = harness_setup, .fini = harness_teardown);

static void probe(struct recv_server *srv)
{
	struct wire_msg m = { .type = WIRE_PROBE };

	feed(srv, &m);
}

static void feed_root(struct recv_server *srv, uint32_t block, const uint8_t *root)
{
	struct wire_msg m = { .type = WIRE_BLOCK };

	m.u.block.block = block;
	memcpy(m.u.block.root, root, CFT_DIGEST_LEN);
	feed(srv, &m);
}

static void feed_list(struct recv_server *srv, uint32_t block, const uint8_t *leaves,
		      uint16_t n)
{
	struct wire_msg m = { .type = WIRE_CHUNKSUMS };

	m.u.chunksums = (struct wire_chunksums){ 0, block, 0, n, leaves };
	feed(srv, &m);
}

/* What a STATUS says of block b: the wants ("R" its root, "L" its list of
 * leaves, "-" neither), then a character per chunk, 1 held, 0 not. */
static void held_of(const struct wire_status *st, uint32_t b, char *out, size_t cap)
{
	out[0] = '\0';
	for (unsigned i = 0; i < st->nheld; i++) {
		const struct wire_held *h = &st->held[i];
		size_t o;

		if (h->block != b)
			continue;
		o = (size_t)snprintf(out, cap, "%s%s%s ", h->flags & WIRE_HELD_ROOT ? "R" : "",
				     h->flags & WIRE_HELD_LIST ? "L" : "", h->flags ? "" : "-");
		for (unsigned c = 0; c < h->nchunks && o + 1 < cap; c++)
			out[o++] = h->map[c / 8] & (1u << (c % 8)) ? '1' : '0';
		out[o] = '\0';
	}
}

Test(recv, block_bookkeeping_and_repair_from_the_list)
{
	struct recv_server srv;
	int dirfd;
	uint8_t data[3 * CFT_CHUNK_SIZE], leaves[3][WIRE_LEAF_LEN], root[CFT_DIGEST_LEN];
	uint8_t wrong[CFT_DIGEST_LEN], leaf[WIRE_LEAF_LEN];
	const uint16_t len[3] = { CFT_CHUNK_SIZE, CFT_CHUNK_SIZE, 4096 - 2 * CFT_CHUNK_SIZE };
	const struct wire_msg *rep;
	char r[200];

	memset(data, 0x42, sizeof(data));
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	cr_assert_eq(last_reply()->type, WIRE_HELLO_ACK);
	offer(&srv, "x", 4096 + 100);	/* block 0: 3 chunks, block 1: 100 bytes */
	rep = last_reply();
	cr_assert_eq(rep->type, WIRE_STATUS);
	cr_assert_eq(rep->u.status.state, WIRE_FS_RECEIVING);
	cr_assert_eq(rep->u.status.base, 0u);

	/* Chunks 0 and 2 of block 0, no root yet. */
	feed_data(&srv, 1, 0, 0, data, len[0], leaves[0]);
	feed_data(&srv, 3, 0, 2, data + 2 * CFT_CHUNK_SIZE, len[2], leaves[2]);
	probe(&srv);
	rep = last_reply();
	held_of(&rep->u.status, 0, r, sizeof(r));
	cr_assert_str_eq(r, "R 101", "the root is wanted, and chunk 1");
	cr_assert_eq(rep->u.status.rx_seq, 3u);
	cr_assert_eq(rep->u.status.rx_count, 2u);

	/* A chunk of the wrong length for its place, a block past the end:
	 * refused.  A chunk whose check does not hold: dropped. */
	uint64_t before = srv.c.malformed;
	feed_data(&srv, 9, 0, 1, data, 10, leaf);
	feed_data(&srv, 10, 2, 0, data, 10, leaf);
	cr_assert_eq(srv.c.malformed, before + 2);
	{
		struct wire_msg m = { .type = WIRE_DATA };

		m.u.data = (struct wire_data){ .seq = 99, .block = 0, .chunk = 1,
					       .len = CFT_CHUNK_SIZE, .payload = data };
		/* A leaf that is not the payload's: the checksum, built from
		 * it, fails first. */
		uint64_t bad_checksum = srv.c.bad_checksum;
		feed(&srv, &m);
		cr_assert_eq(srv.c.bad_checksum, bad_checksum + 1);
		/* The right leaf with a check that does not hold. */
		m.u.data.leaf = wire_leaf(data, CFT_CHUNK_SIZE);
		m.u.data.check = wire_data_check(&m.u.data) ^ 1;
		feed(&srv, &m);
		cr_assert_eq(srv.c.bad_chunk, 1u);
		/* Both right, but the leaf not that of the payload received:
		 * damage after the checksum was made again. */
		m.u.data.leaf ^= 0x100;
		m.u.data.check = wire_data_check(&m.u.data);
		feed_resealed(&srv, &m);
		cr_assert_eq(srv.c.bad_chunk, 2u);
		probe(&srv);
		cr_assert_eq(last_reply()->u.status.rx_seq, 10u, "a damaged DATA's seq is not taken");
	}

	/* The last chunk and a wrong root: the block fails, keeps its chunks,
	 * and asks for the sender's list of chunk leaves. */
	feed_data(&srv, 11, 0, 1, data + CFT_CHUNK_SIZE, len[1], leaves[1]);
	memset(wrong, 0x99, sizeof(wrong));
	feed_root(&srv, 0, wrong);
	cr_assert_eq(srv.c.block_mismatch, 1u);
	probe(&srv);
	held_of(&last_reply()->u.status, 0, r, sizeof(r));
	cr_assert_str_eq(r, "L 111", "only the list is wanted");

	/* The true list does not make the wrong root: root and list again. */
	feed_list(&srv, 0, &leaves[0][0], 3);
	cr_assert_eq(srv.c.block_mismatch, 2u);
	probe(&srv);
	held_of(&last_reply()->u.status, 0, r, sizeof(r));
	cr_assert_str_eq(r, "RL 111");

	/* The true root and list: the chunks match, the block is written. */
	proto_block_root(&leaves[0][0], 3, root);
	feed_root(&srv, 0, root);
	feed_list(&srv, 0, &leaves[0][0], 3);
	probe(&srv);
	rep = last_reply();
	cr_assert_eq(rep->u.status.base, 1u, "block 0 written");

	recv_server_free(&srv);
	close(dirfd);
	cr_assert_eq(temp_files(), 2, "shutting down keeps the partial file and its state");
}

/* A list that finds a chunk damaged past its check: only that chunk again. */
Test(recv, the_list_finds_the_chunk_that_differs)
{
	struct recv_server srv;
	int dirfd;
	uint8_t data[3 * CFT_CHUNK_SIZE], bad[CFT_CHUNK_SIZE];
	uint8_t leaves[3][WIRE_LEAF_LEN], forged[WIRE_LEAF_LEN];
	uint8_t root[CFT_DIGEST_LEN];
	const uint16_t len[3] = { CFT_CHUNK_SIZE, CFT_CHUNK_SIZE, 4096 - 2 * CFT_CHUNK_SIZE };
	char r[200];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	offer(&srv, "y", 4096);
	L.rs.n = 0;
	for (uint16_t c = 0; c < 3; c++)
		wire_leaf_store(leaves[c], wire_leaf(data + (size_t)c * CFT_CHUNK_SIZE, len[c]));
	proto_block_root(&leaves[0][0], 3, root);
	/* Chunk 1 damaged, with a check made over the damage. */
	memcpy(bad, data + CFT_CHUNK_SIZE, sizeof(bad));
	bad[100] ^= 4;
	feed_data(&srv, 1, 0, 0, data, len[0], forged);
	feed_data(&srv, 2, 0, 1, bad, len[1], forged);
	feed_data(&srv, 3, 0, 2, data + 2 * CFT_CHUNK_SIZE, len[2], forged);
	feed_root(&srv, 0, root);
	cr_assert_eq(srv.c.block_mismatch, 1u);
	feed_list(&srv, 0, &leaves[0][0], 3);
	probe(&srv);
	held_of(&last_reply()->u.status, 0, r, sizeof(r));
	cr_assert_str_eq(r, "- 101", "chunk 1 alone is wanted");
	/* The damaged one again is refused now that the list is known. */
	feed_data(&srv, 4, 0, 1, bad, len[1], forged);
	cr_assert_eq(srv.c.bad_chunk, 1u);
	feed_data(&srv, 5, 0, 1, data + CFT_CHUNK_SIZE, len[1], forged);
	probe(&srv);
	/* The disk work runs inline here: written, read back, reported. */
	cr_assert_eq(last_reply()->u.status.state, WIRE_FS_VERIFIED, "whole, written, read back");
	recv_server_free(&srv);
	close(dirfd);
}

Test(recv, a_block_that_keeps_failing_fails_the_file)
{
	struct recv_server srv;
	int dirfd;
	uint8_t data[CFT_CHUNK_SIZE] = { 0 }, leaf[WIRE_LEAF_LEN], wrong[CFT_DIGEST_LEN];

	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	offer(&srv, "bad", 1000);	/* one block, one chunk */
	L.rs.n = 0;
	memset(wrong, 0x99, sizeof(wrong));
	feed_data(&srv, 1, 0, 0, data, 1000, leaf);
	/* A sender whose roots never match its chunks: each root and each
	 * list is one failure. */
	for (unsigned i = 0; srv.sessions_done == 0 && i < 2 * CFT_BLOCK_RETRIES_MAX + 4; i++) {
		feed_root(&srv, 0, wrong);
		feed_list(&srv, 0, leaf, 1);
	}
	cr_assert_eq(srv.c.block_mismatch, CFT_BLOCK_RETRIES_MAX + 1u);
	/* One failure past the budget: the file fails with "digests never agreed". */
	const struct wire_msg *rep = last_reply();
	cr_assert_eq(rep->type, WIRE_ERROR);
	cr_assert_eq(rep->u.error.reason, WIRE_R_DIGEST);
	cr_assert_eq(srv.sessions_done, 1u);
	cr_assert_eq(temp_files(), 0, "nothing kept of a file whose digests never agree");
	recv_server_free(&srv);
	close(dirfd);
}

Test(recv, resume_checks_a_partial_file_and_distrusts_its_state)
{
	struct recv_server srv;
	int dirfd;
	uint8_t data[CFT_CHUNK_SIZE] = { 1 }, leaf[WIRE_LEAF_LEN];
	const struct wire_msg *rep;

	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	offer(&srv, "x", 4096 + 100);
	feed_data(&srv, 1, 0, 0, data, CFT_CHUNK_SIZE, leaf);
	recv_server_free(&srv);
	close(dirfd);
	cr_assert_eq(temp_files(), 2, "shutting down keeps the partial file and its state");

	/* A new receiver offered the same file checks the partial one first. */
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	L.rs.n = 0;
	offer(&srv, "x", 4096 + 100);
	rep = last_reply();
	cr_assert_eq(rep->u.status.state, WIRE_FS_VERIFIED,
		     "resumes by reading back (inline here), asking for no data");
	cr_assert_eq(rep->u.status.bytes, 4096u + 100, "the partial file, as it is");
	recv_server_free(&srv);
	close(dirfd);

	/* A torn or garbage state file: the partial is never trusted. */
	DIR *d = opendir(dir_dst);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strstr(e->d_name, ".state")) {
			char path[400];
			snprintf(path, sizeof(path), "%s/%s", dir_dst, e->d_name);
			FILE *f = fopen(path, "r+");
			cr_assert_not_null(f);
			fseek(f, 20, SEEK_SET);
			fputc('#', f);
			fclose(f);
		}
	}
	closedir(d);
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	L.rs.n = 0;
	offer(&srv, "x", 4096 + 100);
	rep = last_reply();
	cr_assert_eq(rep->u.status.state, WIRE_FS_RECEIVING, "a damaged state file means afresh");
	cr_assert_eq(rep->u.status.base, 0u);
	recv_server_free(&srv);
	close(dirfd);

	/* Another source (a different modification time): afresh too. */
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	L.rs.n = 0;
	{
		struct wire_file f = { .size = 4096 + 100, .mtime_sec = 12345, .mode = 0644,
				       .name = (const uint8_t *)"x", .name_len = 1 };

		offer_file(&srv, &f);
	}
	rep = last_reply();
	cr_assert_eq(rep->u.status.state, WIRE_FS_RECEIVING, "a changed source means afresh");
	recv_server_free(&srv);
	close(dirfd);
}

/* An offer whose fields are not what its sender digested is dropped before
 * anything is created; the same offer intact is taken. */
Test(recv, a_damaged_offer_creates_nothing)
{
	struct recv_server srv;
	int dirfd;
	struct wire_file f = { .size = 5000, .mode = 0644, .name = (const uint8_t *)"file_43.dat",
			       .name_len = 11 };
	struct wire_msg m = { .type = WIRE_FILE };

	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	L.rs.n = 0;
	proto_offer_digest(srv.sessions[0]->hello, &f, f.offer);
	m.u.file = f;
	m.u.file.name = (const uint8_t *)"file_43,dat";	/* one bit */
	feed(&srv, &m);
	m.u.file = f;
	m.u.file.size = 1ull << 40;
	feed(&srv, &m);
	m.u.file = f;
	m.u.file.flags = 4;
	feed(&srv, &m);
	cr_assert_eq(srv.c.bad_offer, 3u);
	cr_assert_eq(L.rs.n, 0u, "no answer, no refusal: the sender offers again");
	cr_assert_eq(temp_files(), 0, "nothing created");
	cr_assert_eq(srv.sessions_done, 0u);
	offer_file(&srv, &f);
	{
		const struct wire_msg *rep = last_reply();

		cr_assert_eq(rep->u.status.state, WIRE_FS_RECEIVING);
		cr_assert(memcmp(rep->u.status.offer, f.offer, CFT_SHORT_DIGEST_LEN) == 0,
			  "the STATUS holds the offer as sent");
	}
	recv_server_free(&srv);
	close(dirfd);
}

Test(recv, window_limit)
{
	struct recv_server srv;
	int dirfd;
	uint8_t data[CFT_CHUNK_SIZE] = { 0 }, leaf[WIRE_LEAF_LEN];
	uint32_t window;

	open_server(&srv, &dirfd);
	hello(&srv, CFT_BLOCK_SIZE_MIN, 1);
	window = last_reply()->u.hello_ack.window_blocks;
	cr_assert_eq(window, CFT_WINDOW_BLOCKS_MAX);
	offer(&srv, "w", (uint64_t)CFT_BLOCK_SIZE_MIN * (window + 2));
	L.rs.n = 0;
	/* The last block inside the window is taken, the first past it not. */
	feed_data(&srv, 1, window - 1, 0, data, CFT_CHUNK_SIZE, leaf);
	cr_assert_eq(srv.c.window_full, 0u);
	feed_data(&srv, 2, window, 0, data, CFT_CHUNK_SIZE, leaf);
	cr_assert_eq(srv.c.window_full, 1u);
	recv_server_free(&srv);
	close(dirfd);
}

/*
 * A session's chunks are its HELLO's: 1400 bytes, or a multiple of 4096 up
 * to 16384 (the HELLO padded to their size).  Sizes below, between and
 * above are refused; a DATA of the session must have the session's chunk
 * length at its place, not another size's.
 */
Test(recv, chunk_sizes_at_the_limits)
{
	static uint8_t data[8192 + 100];
	uint8_t leaf[WIRE_LEAF_LEN];
	const struct wire_msg *rep;
	struct recv_server srv;
	uint64_t before;
	int dirfd;
	char r[64];

	open_server(&srv, &dirfd);
	rep = hello_chunked(&srv, &sender_addr, HARNESS_SESSION + 1, 8192, 1, CFT_CHUNK_SIZE - 1);
	cr_assert_eq(rep->type, WIRE_ERROR);
	cr_assert_eq(rep->u.error.reason, WIRE_R_BAD_REQUEST, "below the default");
	rep = hello_chunked(&srv, &sender_addr, HARNESS_SESSION + 1, 8192, 1,
			    CFT_CHUNK_SIZE_STEP + CFT_CHUNK_SIZE_STEP / 2);
	cr_assert_eq(rep->type, WIRE_ERROR);
	cr_assert_eq(rep->u.error.reason, WIRE_R_BAD_REQUEST, "not a multiple of the step");
	rep = hello_chunked(&srv, &sender_addr, HARNESS_SESSION + 1, 8192, 1, CFT_CHUNK_SIZE_MAX);
	cr_assert_eq(rep->type, WIRE_HELLO_ACK, "the largest: accepted");
	cr_assert_eq(srv.sessions[0]->blocks.chunk_size, CFT_CHUNK_SIZE_MAX);
	cr_assert_eq(srv.sessions[0]->status_every, 2u, "a STATUS for 22400 bytes' worth");
	cr_assert_eq(recv_status_every(CFT_CHUNK_SIZE), (unsigned)CFT_STATUS_EVERY);
	recv_server_free(&srv);
	close(dirfd);

	/* Chunks of 4096 in blocks of 8192: block 0 is two, block 1 one of
	 * 100 bytes. */
	open_server(&srv, &dirfd);
	rep = hello_chunked(&srv, &sender_addr, HARNESS_SESSION, 8192, 1, CFT_CHUNK_SIZE_STEP);
	cr_assert_eq(rep->type, WIRE_HELLO_ACK);
	offer(&srv, "x", sizeof(data));
	cr_assert_eq(last_reply()->type, WIRE_STATUS);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	before = srv.c.malformed;
	feed_data(&srv, 1, 0, 0, data, 4096, leaf);
	feed_data(&srv, 2, 1, 0, data + 8192, 100, leaf);
	cr_assert_eq(srv.c.malformed, before);
	/* The default chunk's length, and a chunk past the block's two. */
	feed_data(&srv, 3, 0, 1, data + CFT_CHUNK_SIZE, CFT_CHUNK_SIZE, leaf);
	feed_data(&srv, 4, 0, 2, data, 10, leaf);
	cr_assert_eq(srv.c.malformed, before + 2);
	probe(&srv);
	rep = last_reply();
	held_of(&rep->u.status, 0, r, sizeof(r));
	cr_assert_str_eq(r, "R 10", "block 0: chunk 0 of 2 held");
	held_of(&rep->u.status, 1, r, sizeof(r));
	cr_assert_str_eq(r, "R 1", "block 1: its one chunk held");
	recv_server_free(&srv);
	close(dirfd);
}

Test(recv, refusals_at_the_limits)
{
	struct recv_server srv;
	int dirfd;
	const struct wire_msg *rep;

	open_server(&srv, &dirfd);
	hello(&srv, CFT_BLOCK_SIZE_MIN - 1, 1);
	rep = last_reply();
	cr_assert_eq(rep->type, WIRE_ERROR);
	cr_assert_eq(rep->u.error.reason, WIRE_R_BAD_REQUEST);
	hello(&srv, CFT_BLOCK_SIZE_MAX + 1, 1);
	cr_assert_eq(last_reply()->u.error.reason, WIRE_R_BAD_REQUEST);
	hello(&srv, CFT_BLOCK_SIZE_MIN + CFT_BLOCK_SIZE_STEP / 2, 1);	/* 6144 */
	cr_assert_eq(last_reply()->u.error.reason, WIRE_R_BAD_REQUEST, "not a multiple");
	hello(&srv, 4096, CFT_FILES_MAX + 1);
	cr_assert_eq(last_reply()->u.error.reason, WIRE_R_BAD_REQUEST);
	hello(&srv, CFT_BLOCK_SIZE_MAX, CFT_FILES_MAX);
	cr_assert_eq(last_reply()->type, WIRE_HELLO_ACK, "both limits exactly: accepted");
	cr_assert_eq(hello_from(&srv, &sender_addr, HARNESS_SESSION + 1,
				CFT_BLOCK_SIZE_MIN + CFT_BLOCK_SIZE_STEP, 1)->type,
		     WIRE_HELLO_ACK, "the next multiple of the step: accepted");

	/* A name that would escape the directory: refused, nothing created. */
	offer(&srv, "../escape", 10);
	rep = last_reply();
	cr_assert_eq(rep->type, WIRE_ERROR);
	cr_assert_eq(rep->u.error.reason, WIRE_R_BAD_NAME);
	cr_assert_eq(temp_files(), 0);
	cr_assert_neq(access("/tmp/escape", F_OK), 0);
	recv_server_free(&srv);
	close(dirfd);

	/* A file past the size limit: refused. */
	open_server(&srv, &dirfd);
	hello(&srv, CFT_BLOCK_SIZE_MAX, 1);
	L.rs.n = 0;
	offer(&srv, "huge", CFT_FILE_SIZE_MAX + 1);
	cr_assert_eq(last_reply()->u.error.reason, WIRE_R_TOO_BIG);
	recv_server_free(&srv);
	close(dirfd);
}

Test(recv, sessions_limit)
{
	struct recv_server srv;
	int dirfd;

	open_server(&srv, &dirfd);
	/* From one address: CFT_SESSIONS_PER_SOURCE, and not one more. */
	for (unsigned i = 0; i <= CFT_SESSIONS_PER_SOURCE; i++) {
		const struct wire_msg *rep = hello_from(&srv, &sender_addr, 1000 + i, 4096, 1);

		if (i < CFT_SESSIONS_PER_SOURCE)
			cr_assert_eq(rep->type, WIRE_HELLO_ACK, "session %u", i);
		else
			cr_assert_eq(rep->u.error.reason, WIRE_R_BUSY, "session %u of a source", i);
	}
	/* From others: CFT_SESSIONS_MAX in all. */
	for (unsigned i = CFT_SESSIONS_PER_SOURCE; i <= CFT_SESSIONS_MAX; i++) {
		struct net_addr other = sender_addr;
		const struct wire_msg *rep;

		((struct sockaddr_in *)&other.ss)->sin_addr.s_addr = htonl(0x7f000002u + i);
		rep = hello_from(&srv, &other, 2000 + i, 4096, 1);
		if (i < CFT_SESSIONS_MAX)
			cr_assert_eq(rep->type, WIRE_HELLO_ACK, "session %u", i);
		else
			cr_assert_eq(rep->u.error.reason, WIRE_R_BUSY, "session %u", i);
	}
	recv_server_free(&srv);
	close(dirfd);
}

/* Block b of data (its length len) in DATA datagrams, then its root. */
static void feed_block(struct recv_server *srv, uint32_t *seq, uint32_t b, const uint8_t *data,
		       uint32_t len)
{
	static uint8_t leaves[CFT_CHUNKS_MAX][WIRE_LEAF_LEN];
	uint8_t root[CFT_DIGEST_LEN];
	uint32_t n = wire_chunks(len, CFT_CHUNK_SIZE);

	for (uint32_t c = 0; c < n; c++)
		feed_data(srv, ++*seq, b, (uint16_t)c, data + (size_t)c * CFT_CHUNK_SIZE,
			  proto_chunk_len(len, c, CFT_CHUNK_SIZE), leaves[c]);
	proto_block_root(&leaves[0][0], n, root);
	feed_root(srv, b, root);
}

/*
 * While a new file arrives, what is written is read back each time
 * CFT_READBACK_AHEAD more of it is: not before (a block short of it), and
 * at it; the rest once the last block is in, and the digest is the file's.
 */
Test(recv, reads_back_ahead_at_the_limit)
{
	const uint32_t bs = CFT_BLOCK_SIZE_MAX, ahead = (uint32_t)(CFT_READBACK_AHEAD / bs);
	const uint64_t size = (uint64_t)(ahead + 1) * bs;
	uint8_t *data = malloc(size), whole[CFT_DIGEST_LEN];
	struct recv_server srv;
	struct recv_session *s;
	uint32_t seq = 0;
	int dirfd;

	cr_assert_eq(CFT_READBACK_AHEAD % bs, 0u);
	cr_assert_not_null(data);
	for (uint64_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 15);
	open_server(&srv, &dirfd);
	hello(&srv, bs, 1);
	offer(&srv, "ahead", size);
	s = srv.sessions[0];
	cr_assert_not_null(s);
	for (uint32_t b = 0; b < ahead; b++) {
		cr_assert_eq(atomic_load(&s->f->chk.read_back), 0u,
			     "nothing read back with %u MiB written", b * (bs >> 20));
		feed_block(&srv, &seq, b, data + (uint64_t)b * bs, bs);
	}
	cr_assert_eq(atomic_load(&s->f->chk.read_back), CFT_READBACK_AHEAD,
		     "read back as soon as CFT_READBACK_AHEAD is written");
	cr_assert_eq(s->f->state, WIRE_FS_RECEIVING);
	feed_block(&srv, &seq, ahead, data + (uint64_t)ahead * bs, bs);
	probe(&srv);
	const struct wire_msg *rep = last_reply();
	cr_assert_eq(rep->u.status.state, WIRE_FS_VERIFIED);
	digest_sha256(data, size, whole);
	{
		const struct proto_facts facts = { size, 0644, 0, 0 };
		static const uint8_t zero[CFT_DIGEST_LEN];
		uint8_t commit[CFT_DIGEST_LEN];

		proto_commit_digest(s->f->offer, &facts, whole, commit);
		cr_assert(digest_equal(rep->u.status.commit, commit),
			  "the commit digest over the file as written");
		cr_assert(digest_equal(rep->u.status.digest, zero), "the content digest withheld");
	}
	recv_server_free(&srv);
	close(dirfd);
	free(data);
}

/* One 4096-byte file "e" offered and sent whole, with `commit` (a COMMIT's
 * digest) fed between the offer and the data, as a sender sends it beside
 * the data: the last reply, once the read-back ended, is returned. */
static const struct wire_msg *early_commit(struct recv_server *srv, const uint8_t *data,
					   bool right)
{
	struct recv_session *s;
	struct wire_msg m = { .type = WIRE_COMMIT };
	struct proto_facts facts = { 4096, 0644, 0, 0 };
	uint8_t whole[CFT_DIGEST_LEN];
	uint32_t seq = 0;

	hello(srv, 4096, 1);
	offer(srv, "e", 4096);
	s = srv->sessions[0];
	cr_assert_not_null(s);
	digest_sha256(data, 4096, whole);
	whole[0] ^= right ? 0 : 1;
	m.u.commit.file = 0;
	proto_commit_digest(s->f->offer, &facts, whole, m.u.commit.commit);
	feed(srv, &m);
	cr_assert_eq(s->f->state, WIRE_FS_RECEIVING, "kept, not refused, not used yet");
	L.rs.n = 0;
	feed_block(srv, &seq, 0, data, 4096);
	return last_reply();
}

/*
 * A COMMIT that comes before the read-back ends is used when it ends, if
 * it is this end's own commit digest: the file is named with no report in
 * between.  One that is not (a digest over other content) names nothing:
 * the receiver reports what it holds instead, as without it.
 */
Test(recv, a_commit_before_the_read_back_is_used_only_if_it_agrees)
{
	uint8_t data[4096];
	struct recv_server srv;
	const struct wire_msg *rep;
	int dirfd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	open_server(&srv, &dirfd);
	rep = early_commit(&srv, data, false);
	cr_assert_eq(rep->type, WIRE_STATUS);
	cr_assert_eq(rep->u.status.state, WIRE_FS_VERIFIED, "reported, not committed");
	cr_assert(faccessat(dirfd, "e", F_OK, 0) != 0, "nothing under the final name");
	recv_server_free(&srv);
	close(dirfd);

	clear_dst();
	open_server(&srv, &dirfd);
	rep = early_commit(&srv, data, true);
	cr_assert_eq(rep->type, WIRE_STATUS);
	cr_assert_eq(rep->u.status.state, WIRE_FS_COMMITTED, "committed at once");
	cr_assert_eq(srv.c.files_committed, 1u);
	cr_assert_eq(faccessat(dirfd, "e", F_OK, 0), 0, "named");
	recv_server_free(&srv);
	close(dirfd);
}

/*
 * End-to-end rounds are bounded at the receiver as at the sender: a peer
 * that sends SUMS that never agree, round after round, gets no more than
 * CFT_E2E_ROUNDS_MAX reads of the file, then an ERROR (reason 8) and the
 * session ends.
 */
Test(recv, rounds_end_at_the_limit)
{
	uint8_t data[4096], wrong[CFT_DIGEST_LEN] = { 0 };
	struct recv_server srv;
	uint32_t seq = 0;
	int dirfd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 5);
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	offer(&srv, "r", sizeof(data));
	feed_block(&srv, &seq, 0, data, sizeof(data));
	for (uint32_t round = 1; round <= CFT_E2E_ROUNDS_MAX; round++) {
		struct wire_msg m = { .type = WIRE_SUMS };
		const struct wire_msg *rep;

		probe(&srv);
		rep = last_reply();
		if (round < CFT_E2E_ROUNDS_MAX || rep->type == WIRE_STATUS)
			cr_assert_eq(rep->u.status.state, WIRE_FS_VERIFIED, "round %u", round - 1);
		m.u.sums = (struct wire_sums){ .file = 0, .round = round, .first = 0, .count = 1,
					       .digests = wrong };
		/* Twice: the first round's SUMS may come before the block
		 * digests are read (then it is dropped, to be sent again). */
		feed(&srv, &m);
		rep = last_reply();
		if (rep->type == WIRE_STATUS && rep->u.status.state == WIRE_FS_SUMS) {
			feed(&srv, &m);
			rep = last_reply();
		}
		if (round == CFT_E2E_ROUNDS_MAX) {
			cr_assert_eq(rep->type, WIRE_ERROR, "round %u: no end", round);
			cr_assert_eq(rep->u.error.reason, WIRE_R_DIGEST);
			break;
		}
		cr_assert_eq(rep->type, WIRE_STATUS, "round %u", round);
		feed_block(&srv, &seq, 0, data, sizeof(data));
	}
	cr_assert(faccessat(dirfd, "r", F_OK, 0) != 0, "nothing named");
	recv_server_free(&srv);
	close(dirfd);
}

static bool only_a(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, CFT_TEMP_PREFIX "a") == 0;
}

/* The sweep removes what is older than the TTL but never a file a live
 * session holds, however long it has been idle. */
Test(recv, the_sweep_spares_live_files)
{
	const struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	const char *names[] = { CFT_TEMP_PREFIX "a", CFT_TEMP_PREFIX "b" };
	int dirfd = store_open_dir(dir_dst);

	cr_assert_geq(dirfd, 0);
	for (int i = 0; i < 2; i++) {
		int fd = openat(dirfd, names[i], O_CREAT | O_WRONLY, 0600);

		cr_assert_geq(fd, 0);
		cr_assert_eq(futimens(fd, old), 0);
		close(fd);
	}
	cr_assert_eq(store_sweep(dirfd, 1, only_a, NULL), 1);
	cr_assert_eq(faccessat(dirfd, names[0], F_OK, 0), 0, "the live one stays");
	cr_assert(faccessat(dirfd, names[1], F_OK, 0) != 0, "the abandoned one goes");
	close(dirfd);
}

static bool only_b(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, CFT_TEMP_PREFIX "b") == 0;
}

/* Abandoned partial files past the quota go, the least recently written
 * first, each with its state file; a live one never, however old. */
Test(recv, partial_files_past_the_quota_go_oldest_first)
{
	const char *names[] = { CFT_TEMP_PREFIX "a", CFT_TEMP_PREFIX "b", CFT_TEMP_PREFIX "c",
				CFT_TEMP_PREFIX "d" };
	static uint8_t block[256 * 1024];
	int dirfd = store_open_dir(dir_dst);

	cr_assert_geq(dirfd, 0);
	memset(block, 7, sizeof(block));
	for (int i = 0; i < 4; i++) {
		/* a oldest (and live: b), then c, then d. */
		const struct timespec t[2] = { { 1000 + i, 0 }, { 1000 + i, 0 } };
		char state[80];
		int fd = openat(dirfd, names[i], O_CREAT | O_WRONLY, 0600), sfd;

		cr_assert_geq(fd, 0);
		cr_assert_eq(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
		cr_assert_eq(fsync(fd), 0);
		cr_assert_eq(futimens(fd, t), 0);
		close(fd);
		snprintf(state, sizeof(state), "%s.state", names[i]);
		sfd = openat(dirfd, state, O_CREAT | O_WRONLY, 0600);
		cr_assert_geq(sfd, 0);
		close(sfd);
	}
	/* Room for about one of the three that are not live: a and c go. */
	cr_assert_eq(store_evict(dirfd, 300 * 1024, only_b, NULL), 2);
	cr_assert(faccessat(dirfd, names[0], F_OK, 0) != 0, "the oldest went");
	cr_assert(faccessat(dirfd, CFT_TEMP_PREFIX "a.state", F_OK, 0) != 0, "with its state");
	cr_assert_eq(faccessat(dirfd, names[1], F_OK, 0), 0, "the live one stays");
	cr_assert(faccessat(dirfd, names[2], F_OK, 0) != 0, "the next oldest went");
	cr_assert_eq(faccessat(dirfd, names[3], F_OK, 0), 0, "the newest stays");
	cr_assert_eq(store_evict(dirfd, 300 * 1024, only_b, NULL), 0, "within the quota now");
	close(dirfd);
}

/* State files (for a resume) only for files of more than one block: a
 * one-block file would only send that block again; its two syncs were most
 * of what many small files cost. */
static int state_files(void)
{
	DIR *d = opendir(dir_dst);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".state") != NULL;
	closedir(d);
	return n;
}

Test(recv, state_files_only_past_one_block)
{
	struct recv_server srv;
	int dirfd;

	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	offer(&srv, "one", 4096);
	cr_assert_eq(last_reply()->u.status.state, WIRE_FS_RECEIVING);
	cr_assert_eq(temp_files(), 1);
	cr_assert_eq(state_files(), 0, "a state file for a one-block file");
	recv_server_free(&srv);
	close(dirfd);
	clear_dst();
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	offer(&srv, "two", 4097);
	cr_assert_eq(last_reply()->u.status.state, WIRE_FS_RECEIVING);
	cr_assert_eq(state_files(), 1, "no state file for a two-block file");
	recv_server_free(&srv);
	close(dirfd);
}
