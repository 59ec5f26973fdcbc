/* The in-memory link, fake clock and helpers of the engine tests. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/proto.h"
#include "cft/util.h"
#include "harness.h"
#include "recv/recv-state.h"
#include "recv/store.h"

struct link L;
void (*harness_event)(void *ctx, const struct recv_event *ev);
struct net_addr sender_addr;
char dir_src[64], dir_dst[64];

uint32_t harness_rnd(struct link *l)
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

/* Is this the datagram chosen to be damaged? */
static bool chosen(struct link *l, const uint8_t *b, size_t len)
{
	struct wire_msg m;

	if (l->f.hit_type == 0 || l->hit_done || len < WIRE_HDR_LEN || b[3] != l->f.hit_type)
		return false;
	if (l->f.hit_state && (wire_decode(b, len, &m) < 0 || m.u.status.state != l->f.hit_state))
		return false;
	if (++l->hit_seen != l->f.hit_nth)
		return false;
	l->hit_done = true;
	l->hit_len = len;
	return l->f.hit_byte < len;
}

/* The byte the chosen damage falls on. */
static size_t hit_offset(const struct link *l, size_t len)
{
	return l->f.hit_from_end ? len - 1 - l->f.hit_byte : l->f.hit_byte;
}

/* Where a DATA datagram's payload starts: header, seq, file, block, chunk,
 * length, leaf, check (cft-protocol(7)). */
#define DATA_PAYLOAD_OFF (WIRE_HDR_LEN + 4 + 4 + 4 + 2 + 2 + WIRE_LEAF_LEN + 4)

/* Faults that change the datagram itself, then reseal as configured. */
static void damage(struct link *l, struct queue *q, uint8_t *copy, size_t len)
{
	if (chosen(l, copy, len)) {
		copy[hit_offset(l, len)] ^= (uint8_t)(1u << (l->f.hit_byte % 8));
		if (l->f.hit_all)
			wire_reseal_all(copy, len);
		else
			wire_reseal(copy, len);
		q->damaged++;
		return;
	}
	if (copy[3] != WIRE_DATA || len <= DATA_PAYLOAD_OFF)
		return;
	if (harness_rnd(l) % 100 < l->f.damage_pct) {
		/* Damage the payload and fix the checksum: a router that
		 * recomputes checksums over bad data. */
		copy[DATA_PAYLOAD_OFF + harness_rnd(l) % (len - DATA_PAYLOAD_OFF)] ^=
			(uint8_t)(1u << (harness_rnd(l) % 8));
		wire_reseal(copy, len);
		q->damaged++;
	} else if (harness_rnd(l) % 100 < l->f.forge_pct) {
		/* ... or a host that damaged it before computing any check. */
		copy[DATA_PAYLOAD_OFF + harness_rnd(l) % (len - DATA_PAYLOAD_OFF)] ^=
			(uint8_t)(1u << (harness_rnd(l) % 8));
		wire_reseal_all(copy, len);
		q->damaged++;
	}
}

static void link_send(struct link *l, struct queue *q, const uint8_t *b, size_t len)
{
	uint8_t copy[CFT_DATAGRAM_MAX];

	q->sent++;
	if ((l->f.drop_type && b[3] == l->f.drop_type) || harness_rnd(l) % 100 < l->f.drop_pct) {
		q->dropped++;
		return;
	}
	memcpy(copy, b, len);
	damage(l, q, copy, len);
	q_push(q, copy, len);
	if (harness_rnd(l) % 100 < l->f.dup_pct) {
		q_push(q, copy, len);
		q->duplicated++;
	}
	if (q->n >= 2 && harness_rnd(l) % 100 < l->f.reorder_pct) {
		struct dgram *a = &q->d[(q->head + q->n - 1) % QCAP];
		struct dgram *c = &q->d[(q->head + q->n - 2) % QCAP];
		struct dgram t = *a;
		*a = *c;
		*c = t;
		q->reordered++;
	}
}

const uint8_t *harness_send_key, *harness_recv_key;
bool harness_compress;
unsigned harness_disk_lag;
void (*harness_tap)(const uint8_t *b, size_t len);
void (*harness_sr_edit)(uint8_t *b, size_t len);
bool (*harness_rs_drop)(const uint8_t *b, size_t len);
void (*harness_step)(struct run *r);

static void emit_sr(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	uint8_t copy[CFT_DATAGRAM_MAX];

	(void)ctx;
	(void)to;
	if (harness_tap)
		harness_tap(b, len);
	if (harness_sr_edit && len <= sizeof(copy)) {
		memcpy(copy, b, len);
		harness_sr_edit(copy, len);
		b = copy;
	}
	link_send(&L, &L.sr, b, len);
}

static void emit_rs(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	(void)ctx;
	(void)to;
	if (harness_rs_drop && harness_rs_drop(b, len))
		return;
	link_send(&L, &L.rs, b, len);
}

void make_file(const char *name, size_t size, uint32_t seed)
{
	const struct timespec times[2] = { { 0, UTIME_OMIT },
					   { HARNESS_MTIME_SEC, HARNESS_MTIME_NSEC } };
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
	cr_assert_eq(chmod(path, HARNESS_MODE), 0);
	cr_assert_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* Byte for byte, in this process: thousands of transfers call it. */
static bool same_bytes(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	bool same = fa && fb;
	int ca, cb;

	while (same) {
		ca = fgetc(fa);
		cb = fgetc(fb);
		if (ca != cb)
			same = false;
		if (ca == EOF || cb == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

void assert_same(const char *name)
{
	char a[256], b[256];
	struct stat sa, sb;

	snprintf(a, sizeof(a), "%s/%s", dir_src, name);
	snprintf(b, sizeof(b), "%s/%s", dir_dst, name);
	cr_assert(same_bytes(a, b), "%s differs or is missing (seed %llu)", name,
		  (unsigned long long)L.seed);
	cr_assert_eq(stat(a, &sa), 0);
	cr_assert_eq(stat(b, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, sa.st_mode & 07777, "%s: mode %o, not %o", name,
		     sb.st_mode & 07777, sa.st_mode & 07777);
	cr_assert(sb.st_mtim.tv_sec == sa.st_mtim.tv_sec &&
		  sb.st_mtim.tv_nsec == sa.st_mtim.tv_nsec, "%s: mtime %lld.%09ld, not %lld.%09ld",
		  name, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec,
		  (long long)sa.st_mtim.tv_sec, sa.st_mtim.tv_nsec);
}

void clear_dst(void)
{
	DIR *d = opendir(dir_dst);
	struct dirent *e;
	char path[400];

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_dst, e->d_name);
		cr_assert_eq(unlink(path), 0, "%s", path);
	}
	closedir(d);
}

int temp_files(void)
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

void harness_setup(void)
{
	/* Memory-backed when the machine has it: these tests fsync and rename
	 * thousands of small files, which only a disk makes slow. */
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(dir_src, sizeof(dir_src), "%s/cft-unit-src-XXXXXX", base);
	snprintf(dir_dst, sizeof(dir_dst), "%s/cft-unit-dst-XXXXXX", base);
	cr_assert_not_null(mkdtemp(dir_src));
	cr_assert_not_null(mkdtemp(dir_dst));
	memset(&L, 0, sizeof(L));
	harness_send_key = harness_recv_key = NULL;
	harness_compress = false;
	harness_disk_lag = 0;
	harness_tap = NULL;
	harness_sr_edit = NULL;
	harness_rs_drop = NULL;
	harness_step = NULL;
	L.sr.d = calloc(QCAP, sizeof(struct dgram));
	L.rs.d = calloc(QCAP, sizeof(struct dgram));
	memset(&sender_addr, 0, sizeof(sender_addr));
	sender_addr.ss.ss_family = AF_INET;
	sender_addr.len = sizeof(struct sockaddr_in);
}

void harness_teardown(void)
{
	char cmd[200];

	free(L.sr.d);
	free(L.rs.d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir_src, dir_dst);
	(void)system(cmd);
}

static void deliver(struct run *r)
{
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
}

/* Deliver everything queued, then run both timers; advance the fake clock
 * to the next deadline when nothing is in flight. */
static void run_loop(struct run *r, uint64_t limit_us)
{
	while (!send_finished(r->s) && r->now < limit_us) {
		bool moved = L.sr.n || L.rs.n;

		deliver(r);
		if (harness_step)
			harness_step(r);
		recv_server_on_timer(&r->srv, r->now);
		send_on_timer(r->s, r->now);
		if (moved || L.sr.n || L.rs.n) {
			r->now += LATENCY_US;
		} else {
			uint64_t a = send_next_deadline(r->s, r->now);
			uint64_t b = recv_server_next_deadline(&r->srv, r->now);
			uint64_t next = a < b ? a : b;

			if (next == UINT64_MAX)
				break;		/* nothing more will ever happen */
			r->now = next > r->now ? next : r->now + 1;
		}
	}
	/* What is still on the way (the last BYE_ACK, say) arrives. */
	deliver(r);
	recv_server_on_timer(&r->srv, r->now);
}

int run_transfer_opts(struct run *r, const char **names, unsigned n, uint32_t block_size,
		      uint64_t seed, const struct faults *f, uint64_t limit_us, bool no_clobber)
{
	static struct send_file files[256];
	static char paths[256][256];
	struct send_config cfg;

	cr_assert_leq(n, 256u);
	L.seed = seed;
	L.rng = seed * 0x9E3779B97F4A7C15ull + 1;
	L.hit_seen = 0;
	L.hit_done = false;
	L.hit_len = 0;
	if (f)
		L.f = *f;
	r->dirfd = store_open_dir(dir_dst);
	cr_assert_geq(r->dirfd, 0);
	cr_assert_eq(recv_server_init(&r->srv, r->dirfd, 30000000,
				      (struct recv_io){ .out = { emit_rs, NULL },
							.event = harness_event }), 0);
	r->srv.disk_lag = harness_disk_lag;
	if (harness_recv_key)
		recv_server_set_key(&r->srv, harness_recv_key);
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
				    .no_clobber = no_clobber, .key = harness_send_key,
				    .compress = harness_compress,
				    .out = { emit_sr, NULL } };
	r->s = send_new(&cfg);
	cr_assert_not_null(r->s);
	r->now = 1000000;
	send_start(r->s, r->now);
	run_loop(r, limit_us);
	r->status = send_finished(r->s) ? send_outcome(r->s) : -1;
	return r->status;
}

int run_transfer(struct run *r, const char **names, unsigned n, uint32_t block_size,
		 uint64_t seed, const struct faults *f, uint64_t limit_us)
{
	return run_transfer_opts(r, names, n, block_size, seed, f, limit_us, false);
}

void run_free(struct run *r)
{
	send_free(r->s);
	recv_server_free(&r->srv);
	close(r->dirfd);
}

void open_server(struct recv_server *srv, int *dirfd)
{
	*dirfd = store_open_dir(dir_dst);
	cr_assert_geq(*dirfd, 0);
	cr_assert_eq(recv_server_init(srv, *dirfd, 30000000,
				      (struct recv_io){ .out = { emit_rs, NULL } }), 0);
}

static void feed_sealed(struct recv_server *srv, struct wire_msg *m, bool reseal)
{
	static uint8_t b[CFT_DATAGRAM_BIG_MAX];
	int n;

	m->version = CFT_PROTO_VERSION;
	m->session = HARNESS_SESSION;
	n = wire_encode(m, b, sizeof(b));
	cr_assert_gt(n, 0);
	if (reseal)
		wire_reseal(b, (size_t)n);
	recv_server_on_datagram(srv, 1000, &sender_addr, b, (size_t)n);
}

void feed(struct recv_server *srv, struct wire_msg *m)
{
	feed_sealed(srv, m, false);
}

void feed_resealed(struct recv_server *srv, struct wire_msg *m)
{
	feed_sealed(srv, m, true);
}

/* The last datagram the receiver sent, left in the queue. */
static const struct wire_msg *peek_reply(void)
{
	static struct dgram d;
	static struct wire_msg m;

	cr_assert_gt(L.rs.n, 0u, "the receiver said nothing");
	d = L.rs.d[(L.rs.head + L.rs.n - 1) % QCAP];
	cr_assert_eq(wire_decode(d.b, d.len, &m), 0);
	return &m;
}

const struct wire_msg *last_reply(void)
{
	const struct wire_msg *m = peek_reply();

	L.rs.n = 0;
	return m;
}

const struct wire_msg *hello_chunked(struct recv_server *srv, const struct net_addr *from,
				     uint64_t session, uint32_t block_size, uint32_t nfiles,
				     uint32_t chunk)
{
	struct wire_msg m = { .version = CFT_PROTO_VERSION, .type = WIRE_HELLO,
			      .session = session };
	const struct wire_msg *rep;
	static uint8_t b[CFT_DATAGRAM_BIG_MAX];
	int n;

	m.u.hello.block_size = block_size;
	m.u.hello.nfiles = nfiles;
	m.u.hello.chunk_size = chunk;
	for (int i = 0; i < 2; i++) {
		L.rs.n = 0;
		n = wire_encode(&m, b, sizeof(b));
		cr_assert_gt(n, 0);
		recv_server_on_datagram(srv, 1000, from, b, (size_t)n);
		rep = peek_reply();	/* the last stays for last_reply() */
		if (rep->type != WIRE_HELLO_ACK)
			break;
		/* The first answer carries the cookie that opens it. */
		memcpy(m.u.hello.cookie, rep->u.hello_ack.cookie, CFT_COOKIE_LEN);
	}
	return rep;
}

const struct wire_msg *hello_from(struct recv_server *srv, const struct net_addr *from,
				  uint64_t session, uint32_t block_size, uint32_t nfiles)
{
	return hello_chunked(srv, from, session, block_size, nfiles, CFT_CHUNK_SIZE);
}

void hello(struct recv_server *srv, uint32_t block_size, uint32_t nfiles)
{
	hello_from(srv, &sender_addr, HARNESS_SESSION, block_size, nfiles);
}

void offer_file(struct recv_server *srv, struct wire_file *f)
{
	struct wire_msg m = { .type = WIRE_FILE };

	cr_assert_not_null(srv->sessions[0], "no session to offer to");
	proto_offer_digest(srv->sessions[0]->hello, f, f->offer);
	m.u.file = *f;
	feed(srv, &m);
}

void offer(struct recv_server *srv, const char *name, uint64_t size)
{
	struct wire_file f = { .size = size, .mode = 0644,
			       .name = (const uint8_t *)name,
			       .name_len = (uint16_t)strlen(name) };

	offer_file(srv, &f);
}

void feed_data(struct recv_server *srv, uint32_t seq, uint32_t block, uint16_t chunk,
	       const uint8_t *payload, uint16_t len, uint8_t leaf[WIRE_LEAF_LEN])
{
	struct wire_msg m = { .type = WIRE_DATA };

	m.u.data = (struct wire_data){ .seq = seq, .file = 0, .block = block, .chunk = chunk,
				       .len = len, .leaf = wire_leaf(payload, len),
				       .payload = payload };
	m.u.data.check = wire_data_check(&m.u.data);
	wire_leaf_store(leaf, m.u.data.leaf);
	feed(srv, &m);
}
