/*
 * libFuzzer harness for the receiver's engine: the input is a sequence of
 * datagrams (each a 2-byte length, then the bytes, checksum resealed), fed
 * after a valid HELLO and FILE so the fuzzer explores a live session, with
 * the clock moving 1 ms between datagrams.  The engine must never crash,
 * and never write outside its directory (a fresh one per input).  The first
 * byte chooses a keyless receiver, or a keyed one fed datagrams sealed for
 * its session (the engine behind the seal), or fed them as they are (the
 * seal itself).
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cft/limits.h"
#include "cft/proto.h"
#include "cft/seal.h"
#include "cft/wire.h"
#include "fuzz_dir.h"
#include "recv/recv-server.h"
#include "recv/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* The cookie of the last HELLO_ACK: the fuzzer's session is a proven one,
 * or the engine past the HELLO would never be reached. */
static uint8_t cookie[CFT_COOKIE_LEN], peer_random[CFT_RANDOM_LEN];
static const uint8_t key[CFT_KEY_LEN] = { 0xf0, 0x22 };
static const uint8_t our_random[CFT_RANDOM_LEN];	/* zeros, as the corpus has it */
static uint8_t hello_key[CFT_KEY_LEN];
static bool keyed;
static struct seal seal;	/* ours, the sender's end, once keyed and open */

static void out(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len)
{
	uint8_t copy[CFT_DATAGRAM_MAX];
	struct wire_msg m;

	(void)ctx;
	(void)to;
	if (len > sizeof(copy))
		return;
	memcpy(copy, buf, len);
	if (keyed && seal_unsign(hello_key, copy, len) < 0)
		return;
	if (wire_decode(copy, len, &m) == 0 && m.type == WIRE_HELLO_ACK) {
		memcpy(cookie, m.u.hello_ack.cookie, CFT_COOKIE_LEN);
		memcpy(peer_random, m.u.hello_ack.random, CFT_RANDOM_LEN);
	}
}

/* A keyless datagram as the sender would send it: keyed, signed or sealed. */
static void send_as_sender(struct recv_server *srv, const struct net_addr *from, uint64_t now,
			   uint8_t *b, size_t n)
{
	uint8_t sealed[CFT_DATAGRAM_MAX];
	int k;

	/* Too short to sign or seal: it goes as it is. */
	if (keyed && n >= WIRE_HDR_LEN + WIRE_TAG_LEN && b[3] == WIRE_HELLO) {
		seal_sign(hello_key, b, n);
	} else if (keyed && seal.tx.ctx && n >= WIRE_HDR_LEN + WIRE_TAG_LEN && b[4] == 0 &&
		   b[5] == 0 && (b[3] != WIRE_DATA || n > WIRE_DATA_PAYLOAD_OFF)) {
		k = seal_close(&seal, b, n, sealed, sizeof(sealed));
		if (k < 0)
			return;
		b = sealed;
		n = (size_t)k;
	}
	recv_server_on_datagram(srv, now, from, b, n);
}

static void feed(struct recv_server *srv, const struct net_addr *from, uint64_t now,
		 struct wire_msg *m)
{
	uint8_t b[CFT_DATAGRAM_MAX];
	int n = wire_encode(m, b, sizeof(b));

	if (n > 0)
		send_as_sender(srv, from, now, b, (size_t)n);
}

/* HELLO for 2 files of 4096-byte blocks, then FILE 0: 3 blocks and 7 bytes. */
static void open_session(struct recv_server *srv, const struct net_addr *from, uint64_t now)
{
	struct wire_msg m;
	uint8_t hello[CFT_DIGEST_LEN];

	memset(&m, 0, sizeof(m));
	m.version = CFT_PROTO_VERSION;
	m.session = 0x5e55;
	m.type = WIRE_HELLO;
	m.u.hello.block_size = 4096;
	m.u.hello.nfiles = 2;
	m.u.hello.chunk_size = CFT_CHUNK_SIZE;
	memcpy(m.u.hello.random, our_random, CFT_RANDOM_LEN);
	feed(srv, from, now, &m);
	memcpy(m.u.hello.cookie, cookie, CFT_COOKIE_LEN);
	feed(srv, from, now, &m);
	if (keyed && seal_init(&seal, key, m.session, our_random, peer_random, true) < 0)
		abort();
	proto_hello_digest(m.session, &m.u.hello, hello);
	memset(&m.u, 0, sizeof(m.u));	/* the union: no HELLO field may leak */
	m.type = WIRE_FILE;
	m.u.file.file = 0;
	m.u.file.size = 3 * 4096 + 7;
	m.u.file.mode = 0644;
	m.u.file.name = (const uint8_t *)"f";
	m.u.file.name_len = 1;
	/* Without its true offer digest the receiver drops the FILE, and the
	 * session would never get a file to fuzz. */
	proto_offer_digest(hello, &m.u.file, m.u.file.offer);
	feed(srv, from, now, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char dir[32];
	struct recv_server srv;
	struct net_addr from;
	uint64_t now = 1000000;
	bool sealing;
	int dirfd;

	if (len < 1)
		return 0;
	keyed = data[0] % 3 != 0;
	sealing = data[0] % 3 == 1;
	data++;
	len--;
	memset(&seal, 0, sizeof(seal));
	seal_hello_key(key, hello_key);
	fuzz_dir_new(dir);
	dirfd = store_open_dir(dir);
	if (dirfd < 0)
		abort();
	memset(&from, 0, sizeof(from));
	from.ss.ss_family = AF_INET;
	from.len = sizeof(struct sockaddr_in);
	if (recv_server_init(&srv, dirfd, 30000000, (struct recv_io){ .out = { out, NULL } }) < 0)
		abort();
	if (keyed)
		recv_server_set_key(&srv, key);
	open_session(&srv, &from, now);
	while (len >= 2) {
		size_t n = (size_t)data[0] << 8 | data[1];
		uint8_t buf[CFT_DATAGRAM_MAX];

		data += 2;
		len -= 2;
		if (n > len)
			n = len;
		if (n <= sizeof(buf)) {
			memcpy(buf, data, n);
			wire_reseal(buf, n);
			if (sealing)
				send_as_sender(&srv, &from, now, buf, n);
			else
				recv_server_on_datagram(&srv, now, &from, buf, n);
			recv_server_on_timer(&srv, now);
		}
		data += n;
		len -= n;
		now += 1000;
	}
	recv_server_free(&srv);
	if (seal.tx.ctx)
		seal_free(&seal);
	close(dirfd);
	fuzz_dir_remove(dir);
	return 0;
}
