/*
 * The two protocol engines, wired together through an in-memory link with a
 * fake clock: no sockets, fully reproducible.  The link drops, duplicates,
 * reorders and damages datagrams from a seeded generator; every failure
 * message names the seed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/error.h"
#include "cft/exit.h"
#include "cft/util.h"
#include "cft/wire.h"
#include "recv/recv-server.h"
#include "recv/store.h"
#include "send/send-session.h"

#define QCAP 4096		/* datagrams a direction holds, like a socket buffer */
#define LATENCY_US 200

struct dgram {
	uint16_t len;
	uint8_t b[CFT_DATAGRAM_MAX];
};

struct queue {
	struct dgram *d;
	unsigned head, n;
	uint64_t sent, dropped, duplicated, reordered, damaged;
};

struct faults {
	unsigned drop_pct, dup_pct, reorder_pct;
	unsigned damage_pct;		/* DATA payload bit flip, checksum resealed */
};

struct link {
	struct queue sr, rs;
	struct faults f;
	uint64_t rng;
	uint64_t seed;
};

static uint32_t rnd(struct link *l)
{
	/* xorshift64*: small, seeded, enough for fault decisions. */
	l->rng ^= l->rng >> 12;
	l->rng ^= l->rng << 25;
	l->rng ^= l->rng >> 27;
	return (uint32_t)((l->rng * 2685821657736338717ull) >> 32);
}

static void q_push(struct queue *q, const uint8_t *b, size_t len)
{
	if (q->n == QCAP) {
		q->dropped++;
		return;
	}
	struct dgram *d = &q->d[(q->head + q->n++) % QCAP];
	d->len = (uint16_t)len;
	memcpy(d->b, b, len);
}

static void link_send(struct link *l, struct queue *q, const uint8_t *b, size_t len)
{
	uint8_t copy[CFT_DATAGRAM_MAX];

	q->sent++;
	if (rnd(l) % 100 < l->f.drop_pct) {
		q->dropped++;
		return;
	}
	memcpy(copy, b, len);
	if (b[3] == WIRE_DATA && rnd(l) % 100 < l->f.damage_pct) {
		/* Damage the payload and fix the checksum: a router that
		 * recomputes checksums over bad data.  Only digests can tell. */
		copy[len - 1 - rnd(l) % 64] ^= (uint8_t)(1u << (rnd(l) % 8));
		wire_reseal(copy, len);
		q->damaged++;
	}
	q_push(q, copy, len);
	if (rnd(l) % 100 < l->f.dup_pct) {
		q_push(q, copy, len);
		q->duplicated++;
	}
	if (q->n >= 2 && rnd(l) % 100 < l->f.reorder_pct) {
		struct dgram *a = &q->d[(q->head + q->n - 1) % QCAP];
		struct dgram *c = &q->d[(q->head + q->n - 2) % QCAP];
		struct dgram t = *a;
		*a = *c;
		*c = t;
		q->reordered++;
	}
}

static struct link L;
static struct net_addr sender_addr;

static void emit_sr(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	(void)ctx;
	(void)to;
	link_send(&L, &L.sr, b, len);
}

static void emit_rs(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	(void)ctx;
	(void)to;
	link_send(&L, &L.rs, b, len);
}

static char dir_src[64], dir_dst[64];

static void make_file(const char *name, size_t size, uint32_t seed)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir_src, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	for (size_t i = 0; i < size; i++) {
		seed = seed * 1103515245u + 12345u;
		fputc((int)(seed >> 16) & 0xff, f);
	}
	fclose(f);
}

static void assert_same(const char *name)
{
	char a[256], b[256], cmd[600];

	snprintf(a, sizeof(a), "%s/%s", dir_src, name);
	snprintf(b, sizeof(b), "%s/%s", dir_dst, name);
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	cr_assert_eq(system(cmd), 0, "%s differs or is missing (seed %llu)", name,
		     (unsigned long long)L.seed);
}

/* Files in the destination whose name is not final: must be none at rest. */
static int temp_files(void)
{
	DIR *d = opendir(dir_dst);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, CFT_TEMP_PREFIX, strlen(CFT_TEMP_PREFIX)) == 0)
			n++;
	closedir(d);
	return n;
}

static void setup(void)
{
	strcpy(dir_src, "/tmp/cft-unit-src-XXXXXX");
	strcpy(dir_dst, "/tmp/cft-unit-dst-XXXXXX");
	cr_assert_not_null(mkdtemp(dir_src));
	cr_assert_not_null(mkdtemp(dir_dst));
	memset(&L, 0, sizeof(L));
	L.sr.d = calloc(QCAP, sizeof(struct dgram));
	L.rs.d = calloc(QCAP, sizeof(struct dgram));
	memset(&sender_addr, 0, sizeof(sender_addr));
	sender_addr.ss.ss_family = AF_INET;
	sender_addr.len = sizeof(struct sockaddr_in);
}

static void teardown(void)
{
	char cmd[200];

	free(L.sr.d);
	free(L.rs.d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir_src, dir_dst);
	(void)system(cmd);
}

struct run {
	struct recv_server srv;
	struct send_session *s;
	int dirfd;
	uint64_t now;
	int status;
};

/* Deliver everything queued, then run both timers; advance the fake clock
 * to the next deadline when nothing is in flight. */
static int run_transfer(struct run *r, const char **names, unsigned n, uint32_t block_size,
			uint64_t seed, const struct faults *f, uint64_t limit_us)
{
	static struct send_file files[16];
	struct send_config cfg;
	static char paths[16][256];

	L.seed = seed;
	L.rng = seed * 0x9E3779B97F4A7C15ull + 1;
	if (f)
		L.f = *f;
	r->dirfd = store_open_dir(dir_dst);
	cr_assert_geq(r->dirfd, 0);
	cr_assert_eq(recv_server_init(&r->srv, r->dirfd, 30000000, (struct recv_io){ .out = { emit_rs, NULL } }), 0);
	memset(files, 0, sizeof(files));
	for (unsigned i = 0; i < n; i++) {
		struct stat st;

		snprintf(paths[i], sizeof(paths[i]), "%s/%s", dir_src, names[i]);
		cr_assert_eq(stat(paths[i], &st), 0);
		files[i].path = paths[i];
		files[i].name = names[i];
		files[i].size = (uint64_t)st.st_size;
	}
	cfg = (struct send_config){ .files = files, .nfiles = n, .block_size = block_size,
				    .timeout_us = 30000000, .session = seed + 1,
				    .out = { emit_sr, NULL } };
	r->s = send_new(&cfg);
	cr_assert_not_null(r->s);
	r->now = 1000000;
	send_start(r->s, r->now);
	while (!send_finished(r->s) && r->now < limit_us) {
		bool moved = L.sr.n || L.rs.n;

		while (L.sr.n) {
			struct dgram d = L.sr.d[L.sr.head];
			L.sr.head = (L.sr.head + 1) % QCAP;
			L.sr.n--;
			recv_server_on_datagram(&r->srv, r->now, &sender_addr, d.b, d.len);
		}
		while (L.rs.n) {
			struct dgram d = L.rs.d[L.rs.head];
			L.rs.head = (L.rs.head + 1) % QCAP;
			L.rs.n--;
			send_on_datagram(r->s, r->now, d.b, d.len);
		}
		recv_server_on_timer(&r->srv, r->now);
		send_on_timer(r->s, r->now);
		if (moved || L.sr.n || L.rs.n) {
			r->now += LATENCY_US;
		} else {
			uint64_t a = send_next_deadline(r->s, r->now);
			uint64_t b = recv_server_next_deadline(&r->srv, r->now);
			uint64_t next = a < b ? a : b;
			r->now = next > r->now ? next : r->now + 1;
		}
	}
	r->status = send_finished(r->s) ? send_outcome(r->s) : -1;
	return r->status;
}

static void run_free(struct run *r)
{
	send_free(r->s);
	recv_server_free(&r->srv);
	close(r->dirfd);
}

TestSuite(session, .init = setup, .fini = teardown);

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

Test(session, damage_past_the_checksum_is_caught_by_block_digests)
{
	const char *names[] = { "d" };
	struct faults f = { .damage_pct = 3 };
	uint64_t seed = 77;
	struct run r;

	make_file("d", 200000, 9);
	cr_assert_eq(run_transfer(&r, names, 1, 16384, seed, &f, 600000000), CFT_EXIT_OK,
		     "seed %llu: %s", (unsigned long long)seed, send_error(r.s));
	assert_same("d");
	cr_assert_gt(L.sr.damaged, 0u, "seed %llu: no datagram damaged", (unsigned long long)seed);
	cr_assert_gt(r.srv.c.block_mismatch, 0u, "the block digest must have caught it (damaged %llu, dup %llu, stale %llu, malformed %llu, readback %llu)", (unsigned long long)L.sr.damaged, (unsigned long long)r.srv.c.duplicate, (unsigned long long)r.srv.c.stale, (unsigned long long)r.srv.c.malformed, (unsigned long long)r.srv.c.readback_mismatch);
	cr_assert_eq(r.srv.c.bad_checksum, 0u, "resealed: the checksum cannot see it");
	run_free(&r);
}

Test(session, garbage_is_counted_and_the_transfer_goes_on)
{
	const char *names[] = { "g" };
	struct run r;
	uint8_t junk[CFT_DATAGRAM_MAX];
	struct net_addr other = sender_addr;

	make_file("g", 50000, 11);
	/* Before the transfer: junk from the sender's own address and others. */
	r.dirfd = store_open_dir(dir_dst);
	cr_assert_eq(recv_server_init(&r.srv, r.dirfd, 30000000, (struct recv_io){ .out = { emit_rs, NULL } }), 0);
	L.rng = 5;
	for (int i = 0; i < 2000; i++) {
		size_t len = rnd(&L) % sizeof(junk);
		for (size_t k = 0; k < len; k++)
			junk[k] = (uint8_t)rnd(&L);
		if (i % 2) {		/* make some look like cft headers */
			junk[0] = WIRE_MAGIC0;
			junk[1] = WIRE_MAGIC1;
			junk[2] = CFT_PROTO_VERSION;
			if (len >= WIRE_HDR_LEN)
				wire_reseal(junk, len);
		}
		recv_server_on_datagram(&r.srv, 1000, &other, junk, len);
	}
	cr_assert_eq(r.srv.c.datagrams, 2000u);
	cr_assert_gt(r.srv.c.bad_magic + r.srv.c.truncated + r.srv.c.malformed +
		     r.srv.c.unknown_session + r.srv.c.bad_checksum, 1000u);
	cr_assert_eq(temp_files(), 0);
	recv_server_free(&r.srv);
	close(r.dirfd);
	L.sr.n = L.rs.n = 0;	/* drop any refusals the junk provoked */

	cr_assert_eq(run_transfer(&r, names, 1, 4096, 3, NULL, 60000000), CFT_EXIT_OK);
	assert_same("g");
	run_free(&r);
}

/* Feed one encoded message to the receiver. */
static void feed(struct recv_server *srv, struct wire_msg *m)
{
	uint8_t b[CFT_DATAGRAM_MAX];
	int n;

	m->version = CFT_PROTO_VERSION;
	m->session = 0x5e55;
	n = wire_encode(m, b, sizeof(b));
	cr_assert_gt(n, 0);
	recv_server_on_datagram(srv, 1000, &sender_addr, b, (size_t)n);
}

/* The last datagram the receiver sent, decoded (into static storage). */
static const struct wire_msg *last_reply(void)
{
	static struct dgram d;
	static struct wire_msg m;

	cr_assert_gt(L.rs.n, 0u, "the receiver said nothing");
	d = L.rs.d[(L.rs.head + L.rs.n - 1) % QCAP];
	L.rs.n = 0;
	cr_assert_eq(wire_decode(d.b, d.len, &m), 0);
	return &m;
}

static void open_server(struct recv_server *srv, int *dirfd)
{
	*dirfd = store_open_dir(dir_dst);
	cr_assert_geq(*dirfd, 0);
	cr_assert_eq(recv_server_init(srv, *dirfd, 30000000, (struct recv_io){ .out = { emit_rs, NULL } }), 0);
}

static void hello(struct recv_server *srv, uint32_t block_size, uint32_t nfiles)
{
	struct wire_msg m = { .type = WIRE_HELLO };

	m.u.hello.block_size = block_size;
	m.u.hello.nfiles = nfiles;
	feed(srv, &m);
}

static void offer(struct recv_server *srv, const char *name, uint64_t size)
{
	struct wire_msg m = { .type = WIRE_FILE };

	m.u.file.size = size;
	m.u.file.mode = 0644;
	m.u.file.name = (const uint8_t *)name;
	m.u.file.name_len = (uint16_t)strlen(name);
	feed(srv, &m);
}

Test(session, block_bookkeeping_reports_what_is_missing)
{
	struct recv_server srv;
	int dirfd;
	const struct wire_msg *rep;
	uint8_t data[3 * CFT_CHUNK_SIZE];
	struct wire_msg m;

	memset(data, 0x42, sizeof(data));
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	cr_assert_eq(last_reply()->type, WIRE_HELLO_ACK);
	offer(&srv, "x", 4096 + 100);	/* block 0: 3 chunks, block 1: 100 bytes */
	rep = last_reply();
	cr_assert_eq(rep->type, WIRE_STATUS);
	cr_assert_eq(rep->u.status.state, WIRE_FS_RECEIVING);
	cr_assert_eq(rep->u.status.base, 0u);

	/* Chunks 0 and 2 of block 0, no digest yet. */
	for (uint16_t c = 0; c < 3; c += 2) {
		memset(&m, 0, sizeof(m));
		m.type = WIRE_DATA;
		m.u.data = (struct wire_data){ (uint32_t)c + 1, 0, 0, c,
					       c == 2 ? 4096 - 2 * CFT_CHUNK_SIZE : CFT_CHUNK_SIZE,
					       data };
		feed(&srv, &m);
	}
	memset(&m, 0, sizeof(m));
	m.type = WIRE_PROBE;
	feed(&srv, &m);
	rep = last_reply();
	cr_assert_eq(rep->u.status.nranges, 2);
	cr_assert_eq(rep->u.status.ranges[0].count, 0, "digest missing comes first");
	cr_assert_eq(rep->u.status.ranges[1].block, 0u);
	cr_assert_eq(rep->u.status.ranges[1].first, 1);
	cr_assert_eq(rep->u.status.ranges[1].count, 1);
	cr_assert_eq(rep->u.status.rx_seq, 3u);
	cr_assert_eq(rep->u.status.rx_count, 2u);

	/* A chunk of the wrong length for its place is refused. */
	uint64_t before = srv.c.malformed;
	memset(&m, 0, sizeof(m));
	m.type = WIRE_DATA;
	m.u.data = (struct wire_data){ 9, 0, 0, 1, 10, data };
	feed(&srv, &m);
	cr_assert_eq(srv.c.malformed, before + 1);
	/* A block past the end of the file too. */
	m.u.data = (struct wire_data){ 10, 0, 2, 0, 10, data };
	feed(&srv, &m);
	cr_assert_eq(srv.c.malformed, before + 2);

	/* The missing chunk and a wrong digest: the block is re-requested. */
	memset(&m, 0, sizeof(m));
	m.type = WIRE_DATA;
	m.u.data = (struct wire_data){ 11, 0, 0, 1, CFT_CHUNK_SIZE, data };
	feed(&srv, &m);
	memset(&m, 0, sizeof(m));
	m.type = WIRE_BLOCK;
	memset(m.u.block.digest, 0x99, CFT_DIGEST_LEN);
	feed(&srv, &m);
	cr_assert_eq(srv.c.block_mismatch, 1u);
	memset(&m, 0, sizeof(m));
	m.type = WIRE_PROBE;
	feed(&srv, &m);
	rep = last_reply();
	cr_assert_eq(rep->u.status.base, 0u);
	cr_assert_eq(rep->u.status.ranges[1].first, 0, "all chunks wanted again");
	cr_assert_eq(rep->u.status.ranges[1].count, 3);

	recv_server_free(&srv);
	close(dirfd);
	cr_assert_eq(temp_files(), 2, "shutting down keeps the partial file and its state");

	/* A new receiver offered the same file checks the partial one first. */
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	L.rs.n = 0;
	offer(&srv, "x", 4096 + 100);
	rep = last_reply();
	cr_assert_eq(rep->u.status.state, WIRE_FS_VERIFYING, "resumes by reading back");
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
	memset(&m, 0, sizeof(m));
	m.type = WIRE_FILE;
	m.u.file.size = 4096 + 100;
	m.u.file.mtime_sec = 12345;
	m.u.file.name = (const uint8_t *)"x";
	m.u.file.name_len = 1;
	feed(&srv, &m);
	rep = last_reply();
	cr_assert_eq(rep->u.status.state, WIRE_FS_RECEIVING, "a changed source means afresh");
	recv_server_free(&srv);
	close(dirfd);
}

Test(session, a_block_that_keeps_failing_fails_the_file)
{
	struct recv_server srv;
	int dirfd;
	struct wire_msg m;
	uint8_t data[CFT_CHUNK_SIZE] = { 0 };

	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	offer(&srv, "bad", 1000);	/* one block, one chunk */
	L.rs.n = 0;
	for (unsigned i = 0; i <= CFT_BLOCK_RETRIES_MAX; i++) {
		memset(&m, 0, sizeof(m));
		m.type = WIRE_BLOCK;
		memset(m.u.block.digest, 0x99, CFT_DIGEST_LEN);	/* never right */
		feed(&srv, &m);
		memset(&m, 0, sizeof(m));
		m.type = WIRE_DATA;
		m.u.data = (struct wire_data){ i + 1, 0, 0, 0, 1000, data };
		feed(&srv, &m);
		if (i < CFT_BLOCK_RETRIES_MAX) {
			cr_assert_eq(srv.c.block_mismatch, i + 1u);
			cr_assert_eq(srv.sessions_done, 0u, "failure %u of %u ended it", i + 1,
				     CFT_BLOCK_RETRIES_MAX);
		}
	}
	/* One failure past the budget: the file fails with "digests never agreed". */
	const struct wire_msg *rep = last_reply();
	cr_assert_eq(rep->type, WIRE_ERROR);
	cr_assert_eq(rep->u.error.reason, WIRE_R_DIGEST);
	cr_assert_eq(srv.sessions_done, 1u);
	cr_assert_eq(temp_files(), 0, "nothing kept of a file whose digests never agree");
	recv_server_free(&srv);
	close(dirfd);
}

Test(session, window_limit)
{
	struct recv_server srv;
	int dirfd;
	struct wire_msg m;
	uint8_t data[CFT_CHUNK_SIZE] = { 0 };
	uint32_t window;

	open_server(&srv, &dirfd);
	hello(&srv, CFT_BLOCK_SIZE_MIN, 1);
	window = last_reply()->u.hello_ack.window_blocks;
	cr_assert_eq(window, CFT_WINDOW_BLOCKS_MAX);
	offer(&srv, "w", (uint64_t)CFT_BLOCK_SIZE_MIN * (window + 2));
	L.rs.n = 0;
	/* The last block inside the window is taken, the first past it not. */
	memset(&m, 0, sizeof(m));
	m.type = WIRE_DATA;
	m.u.data = (struct wire_data){ 1, 0, window - 1, 0, CFT_CHUNK_SIZE, data };
	feed(&srv, &m);
	cr_assert_eq(srv.c.window_full, 0u);
	m.u.data.block = window;
	feed(&srv, &m);
	cr_assert_eq(srv.c.window_full, 1u);
	recv_server_free(&srv);
	close(dirfd);
}

Test(session, refusals_at_the_limits)
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
	hello(&srv, 4096, CFT_FILES_MAX + 1);
	cr_assert_eq(last_reply()->u.error.reason, WIRE_R_BAD_REQUEST);
	hello(&srv, CFT_BLOCK_SIZE_MAX, CFT_FILES_MAX);
	cr_assert_eq(last_reply()->type, WIRE_HELLO_ACK, "both limits exactly: accepted");

	/* A name that would escape the directory: refused, nothing created. */
	offer(&srv, "../escape", 10);
	rep = last_reply();
	cr_assert_eq(rep->type, WIRE_ERROR);
	cr_assert_eq(rep->u.error.reason, WIRE_R_BAD_NAME);
	cr_assert_eq(temp_files(), 0);
	cr_assert_neq(access("/tmp/escape", F_OK), 0);
	recv_server_free(&srv);

	/* A file past the size limit: refused. */
	cr_assert_eq(recv_server_init(&srv, dirfd, 30000000, (struct recv_io){ .out = { emit_rs, NULL } }), 0);
	hello(&srv, CFT_BLOCK_SIZE_MAX, 1);
	L.rs.n = 0;
	offer(&srv, "huge", CFT_FILE_SIZE_MAX + 1);
	cr_assert_eq(last_reply()->u.error.reason, WIRE_R_TOO_BIG);
	recv_server_free(&srv);
	close(dirfd);
}

Test(session, sessions_limit)
{
	struct recv_server srv;
	int dirfd;
	uint8_t b[CFT_DATAGRAM_MAX];

	open_server(&srv, &dirfd);
	for (unsigned i = 0; i <= CFT_SESSIONS_MAX; i++) {
		struct wire_msg m = { .version = CFT_PROTO_VERSION, .type = WIRE_HELLO,
				      .session = 1000 + i };
		m.u.hello.block_size = 4096;
		m.u.hello.nfiles = 1;
		int n = wire_encode(&m, b, sizeof(b));
		recv_server_on_datagram(&srv, 1000, &sender_addr, b, (size_t)n);
		const struct wire_msg *rep = last_reply();
		if (i < CFT_SESSIONS_MAX)
			cr_assert_eq(rep->type, WIRE_HELLO_ACK, "session %u", i);
		else
			cr_assert_eq(rep->u.error.reason, WIRE_R_BUSY);
	}
	recv_server_free(&srv);
	close(dirfd);
}
