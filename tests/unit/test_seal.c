/*
 * Keys: the seal layer alone (sealing, signing, replay, key files), then
 * whole keyed transfers through the harness: faults, the wrong key, no key,
 * forgeries and a recorded session played again.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/error.h"
#include "cft/exit.h"
#include "cft/proto.h"
#include "cft/seal.h"
#include "cft/wire.h"
#include "harness.h"

static const uint8_t key_a[CFT_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t key_b[CFT_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 9 };
static const uint8_t rand_sd[CFT_RANDOM_LEN] = { 0x5e };
static const uint8_t rand_rv[CFT_RANDOM_LEN] = { 0x7e };

/* A sender's and a receiver's ends of one session. */
static void pair(struct seal *snd, struct seal *rcv, const uint8_t *rkey)
{
	cr_assert_eq(seal_init(snd, key_a, 77, rand_sd, rand_rv, true), 0);
	cr_assert_eq(seal_init(rcv, rkey, 77, rand_sd, rand_rv, false), 0);
}

static size_t encode(struct wire_msg *m, uint8_t *b)
{
	int n;

	m->version = CFT_PROTO_VERSION;
	m->session = 77;
	n = wire_encode(m, b, CFT_DATAGRAM_MAX);
	cr_assert_gt(n, 0);
	return (size_t)n;
}

static size_t data_datagram(uint8_t *b, uint32_t seq, uint16_t len)
{
	static uint8_t payload[CFT_CHUNK_SIZE];
	struct wire_msg m = { .type = WIRE_DATA };

	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + seq);
	m.u.data = (struct wire_data){ .seq = seq, .file = 1, .block = 2, .chunk = 3, .len = len,
				       .payload = payload };
	m.u.data.leaf = wire_leaf(payload, len);
	m.u.data.check = wire_data_check(&m.u.data);
	return encode(&m, b);
}

TestSuite(seal);

Test(seal, data_round_trip_fits_the_datagram_limit)
{
	struct seal snd, rcv;
	uint8_t plain[CFT_DATAGRAM_MAX], sealed[CFT_DATAGRAM_MAX], back[CFT_DATAGRAM_MAX];
	size_t n = data_datagram(plain, 9, CFT_CHUNK_SIZE);
	int k, o;

	pair(&snd, &rcv, key_a);
	k = seal_close(&snd, plain, n, sealed, sizeof(sealed));
	cr_assert_eq(k, (int)n + SEAL_AEAD_TAG_LEN - 2 * WIRE_LEAF_LEN, "leaf and check give way");
	cr_assert_leq(k, CFT_DATAGRAM_MAX, "a full chunk sealed is %d bytes", k);
	cr_assert(seal_is_sealed(sealed, (size_t)k));
	cr_assert_neq(memcmp(sealed + WIRE_DATA_LEAF_OFF, plain + WIRE_DATA_PAYLOAD_OFF, 64), 0,
		      "the payload travels encrypted");
	o = seal_open(&rcv, sealed, (size_t)k, back, sizeof(back));
	cr_assert_eq(o, (int)n);
	cr_assert_eq(memcmp(back, plain, n), 0, "the keyless datagram, checks and all");
	seal_free(&snd);
	seal_free(&rcv);
}

Test(seal, control_keeps_its_size_and_every_byte_is_covered)
{
	struct seal snd, rcv;
	struct wire_msg m = { .type = WIRE_PROBE, .u.probe = { .file = 3, .echo = 42 } };
	uint8_t plain[CFT_DATAGRAM_MAX], sealed[CFT_DATAGRAM_MAX], back[CFT_DATAGRAM_MAX];
	size_t n = encode(&m, plain);
	int k;

	pair(&snd, &rcv, key_a);
	k = seal_close(&snd, plain, n, sealed, sizeof(sealed));
	cr_assert_eq(k, (int)n);
	/* Every bit of it, header included, is checked. */
	for (int i = 0; i < k; i++) {
		uint8_t bad[CFT_DATAGRAM_MAX];

		memcpy(bad, sealed, (size_t)k);
		bad[i] ^= 0x10;
		cr_assert_lt(seal_open(&rcv, bad, (size_t)k, back, sizeof(back)), 0,
			     "byte %d changed and accepted", i);
	}
	cr_assert_eq(seal_open(&rcv, sealed, (size_t)k, back, sizeof(back)), (int)n);
	cr_assert_eq(memcmp(back, plain, n), 0);
	seal_free(&snd);
	seal_free(&rcv);
}

Test(seal, another_key_or_direction_opens_nothing)
{
	struct seal snd, rcv, snd2;
	uint8_t plain[CFT_DATAGRAM_MAX], sealed[CFT_DATAGRAM_MAX], back[CFT_DATAGRAM_MAX];
	size_t n = data_datagram(plain, 1, 100);
	int k;

	pair(&snd, &rcv, key_b);
	k = seal_close(&snd, plain, n, sealed, sizeof(sealed));
	cr_assert_eq(seal_open(&rcv, sealed, (size_t)k, back, sizeof(back)), CFT_E_AUTH);
	/* Our own datagram reflected back to us: the other direction's key. */
	cr_assert_eq(seal_init(&snd2, key_a, 77, rand_sd, rand_rv, true), 0);
	cr_assert_eq(seal_open(&snd2, sealed, (size_t)k, back, sizeof(back)), CFT_E_AUTH);
	/* Another session id: other keys. */
	seal_free(&rcv);
	cr_assert_eq(seal_init(&rcv, key_a, 78, rand_sd, rand_rv, false), 0);
	cr_assert_eq(seal_open(&rcv, sealed, (size_t)k, back, sizeof(back)), CFT_E_AUTH);
	seal_free(&snd);
	seal_free(&snd2);
	seal_free(&rcv);
}

/* Seal datagram number pn (the sender's counter set to it). */
static int sealed_at(struct seal *snd, uint64_t pn, uint8_t *out)
{
	uint8_t plain[CFT_DATAGRAM_MAX];
	size_t n = data_datagram(plain, (uint32_t)pn, 10);

	snd->tx.pn = pn;
	return seal_close(snd, plain, n, out, CFT_DATAGRAM_MAX);
}

static int open_at(struct seal *snd, struct seal *rcv, uint64_t pn)
{
	uint8_t sealed[CFT_DATAGRAM_MAX], back[CFT_DATAGRAM_MAX];
	int k = sealed_at(snd, pn, sealed);

	return seal_open(rcv, sealed, (size_t)k, back, sizeof(back));
}

Test(seal, replays_are_rejected_at_and_past_the_window)
{
	struct seal snd, rcv;
	uint8_t sealed[CFT_DATAGRAM_MAX], back[CFT_DATAGRAM_MAX];
	const uint64_t top = 100000;
	int k;

	pair(&snd, &rcv, key_a);
	k = sealed_at(&snd, 5, sealed);
	cr_assert_gt(seal_open(&rcv, sealed, (size_t)k, back, sizeof(back)), 0);
	cr_assert_eq(seal_open(&rcv, sealed, (size_t)k, back, sizeof(back)), CFT_E_REPLAY);
	cr_assert_gt(open_at(&snd, &rcv, top), 0);
	/* Late but new: taken, once; the oldest the window holds, and one
	 * past it. */
	cr_assert_gt(open_at(&snd, &rcv, top - 1), 0);
	cr_assert_eq(open_at(&snd, &rcv, top - 1), CFT_E_REPLAY);
	cr_assert_gt(open_at(&snd, &rcv, top + 1 - CFT_REPLAY_WINDOW), 0);
	cr_assert_eq(open_at(&snd, &rcv, top - CFT_REPLAY_WINDOW), CFT_E_REPLAY);
	/* Reordered within the window, in every pattern of a word's bits. */
	for (uint64_t pn = top + 2; pn < top + 300; pn += 2)
		cr_assert_gt(open_at(&snd, &rcv, pn), 0);
	for (uint64_t pn = top + 3; pn < top + 300; pn += 2)
		cr_assert_gt(open_at(&snd, &rcv, pn), 0, "pn %llu", (unsigned long long)pn);
	for (uint64_t pn = top + 2; pn < top + 300; pn++)
		cr_assert_eq(open_at(&snd, &rcv, pn), CFT_E_REPLAY);
	/* A jump of more than the window forgets everything behind it. */
	cr_assert_gt(open_at(&snd, &rcv, top + 10 * CFT_REPLAY_WINDOW), 0);
	cr_assert_gt(open_at(&snd, &rcv, top + 9 * CFT_REPLAY_WINDOW + 1), 0);
	cr_assert_eq(open_at(&snd, &rcv, top + 9 * CFT_REPLAY_WINDOW), CFT_E_REPLAY);
	seal_free(&snd);
	seal_free(&rcv);
}

Test(seal, packet_numbers_carry_past_32_bits)
{
	struct seal snd, rcv;
	const uint64_t wrap = 1ull << 32;

	pair(&snd, &rcv, key_a);
	for (uint64_t pn = wrap - 3; pn < wrap + 3; pn++)
		cr_assert_gt(open_at(&snd, &rcv, pn), 0, "pn %llu", (unsigned long long)pn);
	/* Only the low 32 bits travel: the same low bits a wrap ago are old. */
	cr_assert_eq(open_at(&snd, &rcv, 1), CFT_E_REPLAY);
	cr_assert_eq(rcv.rx.pn, wrap + 3);
	seal_free(&snd);
	seal_free(&rcv);
}

Test(seal, signed_handshake)
{
	uint8_t hk_a[CFT_KEY_LEN], hk_b[CFT_KEY_LEN], b[CFT_DATAGRAM_MAX], c[CFT_DATAGRAM_MAX];
	struct wire_msg m = { .type = WIRE_HELLO,
			      .u.hello = { .block_size = CFT_BLOCK_SIZE_DEFAULT, .nfiles = 1,
					      .chunk_size = CFT_CHUNK_SIZE } };
	struct wire_msg d;
	size_t n = encode(&m, b);

	seal_hello_key(key_a, hk_a);
	seal_hello_key(key_b, hk_b);
	cr_assert_neq(memcmp(hk_a, key_a, CFT_KEY_LEN), 0, "the key itself never signs");
	seal_sign(hk_a, b, n);
	cr_assert(seal_is_signed(b, n));
	cr_assert_lt(wire_decode(b, n, &d), 0, "a keyless reader cannot take it as keyless");
	memcpy(c, b, n);
	cr_assert_eq(seal_unsign(hk_b, c, n), CFT_E_AUTH, "another key");
	memcpy(c, b, n);
	c[20] ^= 1;
	cr_assert_eq(seal_unsign(hk_a, c, n), CFT_E_CHECKSUM, "damage is damage");
	memcpy(c, b, n);
	c[20] ^= 1;
	wire_reseal(c, n);
	cr_assert_eq(seal_unsign(hk_a, c, n), CFT_E_AUTH, "damage with its CRC made again");
	memcpy(c, b, n);
	cr_assert_eq(seal_unsign(hk_a, c, n), 0);
	cr_assert_eq(wire_decode(c, n, &d), 0);
	cr_assert_eq(d.u.hello.nfiles, 1u);
	/* Only the handshake and its refusals may be signed. */
	m = (struct wire_msg){ .type = WIRE_COMMIT };
	n = encode(&m, b);
	b[WIRE_FLAGS_OFF + 1] = SEAL_FLAG_SIGNED;
	wire_reseal(b, n);
	cr_assert_eq(seal_unsign(hk_a, b, n), CFT_E_AUTH);
}

static void write_key_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(seal, key_files)
{
	char path[] = "/tmp/cft-unit-key-XXXXXX", text[SEAL_KEY_TEXT_LEN + 2];
	uint8_t key[CFT_KEY_LEN];
	const char *why;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	seal_key_text(key_a, text);
	strcat(text, "\n");
	write_key_file(path, text, 0600);
	cr_assert_eq(seal_key_load(path, key, &why), 0);
	cr_assert_eq(memcmp(key, key_a, CFT_KEY_LEN), 0);
	write_key_file(path, text, 0400);
	cr_assert_eq(seal_key_load(path, key, &why), 0);
	write_key_file(path, text, 0640);
	cr_assert_eq(seal_key_load(path, key, &why), CFT_E_RANGE, "group may read it");
	cr_assert_not_null(why);
	write_key_file(path, text, 0604);
	cr_assert_eq(seal_key_load(path, key, &why), CFT_E_RANGE, "others may read it");
	write_key_file(path, text, 0620);
	cr_assert_eq(seal_key_load(path, key, &why), CFT_E_RANGE, "group may write it");
	text[10] = '*';
	write_key_file(path, text, 0600);
	cr_assert_eq(seal_key_load(path, key, &why), CFT_E_SYNTAX);
	write_key_file(path, "c2hvcnQ=\n", 0600);
	cr_assert_eq(seal_key_load(path, key, &why), CFT_E_SYNTAX, "too short");
	/* The last character's spare bits must be zero: one spelling only. */
	seal_key_text(key_a, text);
	text[SEAL_KEY_TEXT_LEN - 2] = text[SEAL_KEY_TEXT_LEN - 2] == 'A' ? 'B' : 'A';
	cr_assert_eq(seal_key_parse(text, SEAL_KEY_TEXT_LEN, key), CFT_E_SYNTAX);
	unlink(path);
	cr_assert_eq(seal_key_load(path, key, &why), CFT_E_IO);
}

/*
 * Known answers for cft-protocol(7), "Keys": computed from the man page
 * with python3's hashlib, hmac and the cryptography package (HKDF,
 * ChaCha20-Poly1305), never with cft's code, from the keyless vectors in
 * testdata/datagrams.  Key 00 01 .. 1f; session 0x0123456789abcdef (the
 * vectors'); the sender's random 32 bytes of 0x5e, the receiver's of 0x7e.
 */
static const char KAT_HELLO_KEY[] =
	"167b9767c0bef85c237ff7be9055e7d5be2a77fec4953d899f94b13cf2175be9";
static const char KAT_SIGNED_HELLO[] =
	"c57f080100010123456789abcdefa1b888fd0004000000000103000000070000000000000578c00c1e"
	"5c00c1e5c00c1e5c00c1e5c00c5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
	"5e5e5e5ef0cad8883dc252a03a3798795f2dd4b9";
/* 06-probe.hex sealed by the sender as its packet 0. */
static const char KAT_PROBE_0[] =
	"c57f080600020123456789abcdef00000000acbc0783dd77d7457fe4549d83c911aa08a8f174875f0c"
	"8b301790ef";
/* 05-data.hex sealed by the sender as its packet 2^32 + 2. */
static const char KAT_DATA_2_32_2[] =
	"c57f080500020123456789abcdef00000002facc629ad319604ae4c46647a85bda1bdd2969d2720cd5"
	"eaca539cbd53c5dc7f83f9156b72";
/* 07-status-committed.hex sealed by the receiver as its packet 7. */
static const char KAT_STATUS_7[] =
	"c57f080700020123456789abcdef00000007bf2f00c83b2168a94c04de96fbaf66c46e971f32ff3ce4"
	"d76e0f5cf7f4a4ddd23c85f0eaa3f740ad24ce1cf88b3adf9895462467a8d6ea11db40d7340b9c4042"
	"15971dc875022526db907ae8919a6d0b450cda78d819360ffa";

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* The bytes of a testdata/datagrams vector: the hex before each comment. */
static size_t vector(const char *name, uint8_t *out)
{
	char path[256], line[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "testdata/datagrams/%s", name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		unsigned v;

		if (line[0] == '#')
			continue;
		for (char *p = line; p < line + 26 && isxdigit((unsigned char)p[0]) &&
		     isxdigit((unsigned char)p[1]) && sscanf(p, "%2x", &v) == 1; p += 3)
			out[n++] = (uint8_t)v;
	}
	fclose(f);
	return n;
}

static void assert_bytes(const uint8_t *got, size_t n, const char *want_hex, const char *what)
{
	uint8_t want[CFT_DATAGRAM_MAX];
	size_t m = unhex(want_hex, want);

	cr_assert_eq(n, m, "%s: %zu bytes, not %zu", what, n, m);
	cr_assert_eq(memcmp(got, want, n), 0, "%s: other bytes than the man page's", what);
}

Test(seal, known_answers)
{
	uint8_t key[CFT_KEY_LEN], hk[CFT_KEY_LEN], sr[CFT_RANDOM_LEN], rr[CFT_RANDOM_LEN];
	uint8_t plain[CFT_DATAGRAM_MAX], out[CFT_DATAGRAM_MAX], back[CFT_DATAGRAM_MAX];
	const uint64_t id = 0x0123456789abcdefull;
	struct seal snd, rcv;
	size_t n;
	int k;

	for (unsigned i = 0; i < CFT_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	memset(sr, 0x5e, sizeof(sr));
	memset(rr, 0x7e, sizeof(rr));
	seal_hello_key(key, hk);
	assert_bytes(hk, sizeof(hk), KAT_HELLO_KEY, "hello key");
	n = vector("01-hello.hex", plain);
	memcpy(out, plain, n);
	seal_sign(hk, out, n);
	assert_bytes(out, n, KAT_SIGNED_HELLO, "signed HELLO");
	cr_assert_eq(seal_unsign(hk, out, n), 0);
	cr_assert_eq(memcmp(out, plain, n), 0, "unsigned, the keyless HELLO again");

	cr_assert_eq(seal_init(&snd, key, id, sr, rr, true), 0);
	cr_assert_eq(seal_init(&rcv, key, id, sr, rr, false), 0);
	n = vector("06-probe.hex", plain);
	k = seal_close(&snd, plain, n, out, sizeof(out));
	assert_bytes(out, (size_t)k, KAT_PROBE_0, "sealed PROBE");
	cr_assert_eq(seal_open(&rcv, out, (size_t)k, back, sizeof(back)), (int)n);
	cr_assert_eq(memcmp(back, plain, n), 0);
	n = vector("05-data.hex", plain);
	snd.tx.pn = (1ull << 32) + 2;
	k = seal_close(&snd, plain, n, out, sizeof(out));
	assert_bytes(out, (size_t)k, KAT_DATA_2_32_2, "sealed DATA");
	rcv.rx.pn = 1ull << 32;	/* as if it had seen the numbers before */
	cr_assert_eq(seal_open(&rcv, out, (size_t)k, back, sizeof(back)), (int)n);
	cr_assert_eq(memcmp(back, plain, n), 0, "the leaf and check made again");
	n = vector("07-status-committed.hex", plain);
	rcv.tx.pn = 7;
	k = seal_close(&rcv, plain, n, out, sizeof(out));
	assert_bytes(out, (size_t)k, KAT_STATUS_7, "sealed STATUS");
	cr_assert_eq(seal_open(&snd, out, (size_t)k, back, sizeof(back)), (int)n);
	seal_free(&snd);
	seal_free(&rcv);
}

/* Whole keyed transfers, engines and link in memory. */
TestSuite(keyed, .init = harness_setup, .fini = harness_teardown);

Test(keyed, transfers_through_faults)
{
	const char *names[] = { "a", "b" };
	struct faults f = { .drop_pct = 5, .dup_pct = 5, .reorder_pct = 10, .damage_pct = 3,
			    .forge_pct = 3 };

	make_file("a", 300000, 1);
	make_file("b", 1, 2);
	harness_send_key = harness_recv_key = key_a;
	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct run r;

		clear_dst();
		cr_assert_eq(run_transfer(&r, names, 2, 64 * 1024, seed, &f, 600000000ull),
			     CFT_EXIT_OK, "seed %llu", (unsigned long long)seed);
		assert_same("a");
		assert_same("b");
		cr_assert_gt(r.srv.c.unauthentic + r.srv.c.replayed, 0u,
			     "damage and duplicates are caught by the seal (seed %llu)",
			     (unsigned long long)seed);
		run_free(&r);
	}
}

/* A refused key fails the sender with exit 6 soon, and writes nothing. */
static void refused(const uint8_t *send_key, const uint8_t *recv_key)
{
	const char *names[] = { "a" };
	struct run r;

	make_file("a", 5000, 1);
	harness_send_key = send_key;
	harness_recv_key = recv_key;
	cr_assert_eq(run_transfer(&r, names, 1, 64 * 1024, 1, NULL, 600000000ull), CFT_EXIT_AUTH);
	cr_assert_lt(r.now, 1000000 + CFT_KEY_GRACE_US + 2000000, "within a few seconds");
	cr_assert_eq(r.srv.sessions_done, 0u);
	cr_assert_gt(r.srv.c.bad_key, 0u);
	cr_assert_eq(temp_files(), 0);
	run_free(&r);
}

Test(keyed, wrong_key_is_exit_6)
{
	refused(key_a, key_b);
}

Test(keyed, no_key_at_the_sender_is_exit_6)
{
	refused(NULL, key_a);
}

Test(keyed, no_key_at_the_receiver_is_exit_6)
{
	refused(key_a, NULL);
}

static struct dgram recorded[4096];
static unsigned nrecorded;

static void record(const uint8_t *b, size_t len)
{
	if (nrecorded < sizeof(recorded) / sizeof(recorded[0])) {
		memcpy(recorded[nrecorded].b, b, len);
		recorded[nrecorded++].len = (uint16_t)len;
	}
}

Test(keyed, a_recorded_session_played_again_opens_nothing)
{
	const char *names[] = { "a" };
	char path[256];
	struct run r;

	make_file("a", 200000, 3);
	harness_send_key = harness_recv_key = key_a;
	harness_tap = record;
	nrecorded = 0;
	cr_assert_eq(run_transfer(&r, names, 1, 64 * 1024, 9, NULL, 600000000ull), CFT_EXIT_OK);
	assert_same("a");
	cr_assert_eq(r.srv.sessions_done, 1u);
	snprintf(path, sizeof(path), "%s/a", dir_dst);
	cr_assert_eq(unlink(path), 0);
	/* Everything the sender said, again, in order, while its cookie still
	 * holds: the receiver takes none of it. */
	for (unsigned i = 0; i < nrecorded; i++)
		recv_server_on_datagram(&r.srv, r.now + 1000, &sender_addr, recorded[i].b,
					recorded[i].len);
	recv_server_on_timer(&r.srv, r.now + 2000);
	cr_assert_gt(r.srv.c.replayed, 0u);
	cr_assert_eq(r.srv.sessions_done, 1u, "no second session");
	cr_assert_eq(access(path, F_OK), -1, "nothing written again");
	cr_assert_eq(temp_files(), 0);
	run_free(&r);
}

/* The receiver alone, keyed, its answers caught here. */
static uint8_t answer[CFT_DATAGRAM_MAX];
static size_t answer_len;

static void catch_answer(void *ctx, const struct net_addr *to, const uint8_t *b, size_t len)
{
	(void)ctx;
	(void)to;
	memcpy(answer, b, len);
	answer_len = len;
}

/* A signed HELLO of session `id` with `cookie`; the decoded, unsigned
 * answer (in static storage), or NULL for none. */
static const struct wire_msg *signed_hello(struct recv_server *srv, uint64_t now, uint64_t id,
					   const uint8_t cookie[CFT_COOKIE_LEN])
{
	static struct wire_msg a;
	uint8_t hk[CFT_KEY_LEN], b[CFT_DATAGRAM_MAX];
	struct wire_msg m = { .type = WIRE_HELLO,
			      .u.hello = { .block_size = CFT_BLOCK_SIZE_DEFAULT, .nfiles = 1,
					      .chunk_size = CFT_CHUNK_SIZE } };
	size_t n;

	memcpy(m.u.hello.cookie, cookie, CFT_COOKIE_LEN);
	memcpy(m.u.hello.random, rand_sd, CFT_RANDOM_LEN);
	m.version = CFT_PROTO_VERSION;
	m.session = id;
	n = (size_t)wire_encode(&m, b, sizeof(b));
	seal_hello_key(key_a, hk);
	seal_sign(hk, b, n);
	answer_len = 0;
	recv_server_on_datagram(srv, now, &sender_addr, b, n);
	if (answer_len == 0)
		return NULL;
	cr_assert_eq(seal_unsign(hk, answer, answer_len), 0, "the answer is signed");
	cr_assert_eq(wire_decode(answer, answer_len, &a), 0);
	return &a;
}

/* Open session `id` and end it with a sealed BYE: true if it opened. */
static bool open_and_leave(struct recv_server *srv, uint64_t now, uint64_t id)
{
	static const uint8_t none[CFT_COOKIE_LEN];
	uint8_t cookie[CFT_COOKIE_LEN], b[CFT_DATAGRAM_MAX], sealed[CFT_DATAGRAM_MAX];
	uint8_t hello[CFT_DIGEST_LEN];
	const struct wire_msg *a = signed_hello(srv, now, id, none);
	struct wire_hello h = { .block_size = CFT_BLOCK_SIZE_DEFAULT, .nfiles = 1,
				.chunk_size = CFT_CHUNK_SIZE };
	struct wire_msg bye = { .type = WIRE_BYE };
	struct seal snd;
	int k;

	cr_assert(a && a->type == WIRE_HELLO_ACK, "a HELLO without a cookie gets one");
	memcpy(cookie, a->u.hello_ack.cookie, CFT_COOKIE_LEN);
	a = signed_hello(srv, now, id, cookie);
	if (!a || a->type != WIRE_HELLO_ACK)
		return false;
	cr_assert_eq(memcmp(a->u.hello_ack.cookie, cookie, CFT_COOKIE_LEN), 0);
	cr_assert_eq(seal_init(&snd, key_a, id, rand_sd, a->u.hello_ack.random, true), 0);
	memcpy(h.random, rand_sd, CFT_RANDOM_LEN);
	proto_hello_digest(id, &h, hello);
	memcpy(bye.u.bye.hello, hello, CFT_SHORT_DIGEST_LEN);
	bye.version = CFT_PROTO_VERSION;
	bye.session = id;
	k = seal_close(&snd, b, (size_t)wire_encode(&bye, b, sizeof(b)), sealed, sizeof(sealed));
	recv_server_on_datagram(srv, now, &sender_addr, sealed, (size_t)k);
	seal_free(&snd);
	return true;
}

Test(keyed, sessions_opened_are_remembered_at_and_past_the_limit)
{
	struct recv_server srv;
	uint64_t now = 100 * 1000000ull, i, replayed;
	int dirfd;
	const struct wire_msg *a;
	static const uint8_t none[CFT_COOKIE_LEN];

	open_server(&srv, &dirfd);
	srv.io.out = (struct proto_out){ .datagram = catch_answer, .ctx = NULL };
	recv_server_set_key(&srv, key_a);
	for (i = 1; i <= CFT_REPLAY_SESSIONS; i++)
		cr_assert(open_and_leave(&srv, now, i), "session %llu did not open",
			  (unsigned long long)i);
	cr_assert_eq(srv.sessions_done, CFT_REPLAY_SESSIONS, "each opened and ended");
	/* One more within the cookies' life: refused as busy, not forgotten. */
	a = signed_hello(&srv, now, i, none);
	cr_assert_not_null(a);
	a = signed_hello(&srv, now, i, a->u.hello_ack.cookie);
	cr_assert(a && a->type == WIRE_ERROR && a->u.error.reason == WIRE_R_BUSY,
		  "session %u of a minute is refused as busy", CFT_REPLAY_SESSIONS + 1);
	/* Session 5 again, as recorded: nothing opens, nothing is said. */
	replayed = srv.c.replayed;
	cr_assert_eq(open_and_leave(&srv, now, 5), false);
	cr_assert_eq(srv.c.replayed, replayed + 1);
	cr_assert_eq(answer_len, 0u);
	/* Once the cookies of then can no longer hold, there is room again. */
	cr_assert(open_and_leave(&srv, now + 2 * CFT_COOKIE_PERIOD_US, i));
	recv_server_free(&srv);
	close(dirfd);
}
