/*
 * libFuzzer harness for the receiver's engine: the input is a sequence of
 * datagrams (each a 2-byte length, then the bytes, checksum resealed), fed
 * after a valid HELLO and FILE so the fuzzer explores a live session, with
 * the clock moving 1 ms between datagrams.  The engine must never crash,
 * and never write outside its directory (a fresh one per input).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cft/limits.h"
#include "cft/proto.h"
#include "cft/wire.h"
#include "fuzz_dir.h"
#include "recv/recv-server.h"
#include "recv/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* The cookie of the last HELLO_ACK: the fuzzer's session is a proven one,
 * or the engine past the HELLO would never be reached. */
static uint8_t cookie[CFT_COOKIE_LEN];

static void out(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len)
{
	struct wire_msg m;

	(void)ctx;
	(void)to;
	if (wire_decode(buf, len, &m) == 0 && m.type == WIRE_HELLO_ACK)
		memcpy(cookie, m.u.hello_ack.cookie, CFT_COOKIE_LEN);
}

static void feed(struct recv_server *srv, const struct net_addr *from, uint64_t now,
		 struct wire_msg *m)
{
	uint8_t b[CFT_DATAGRAM_MAX];
	int n = wire_encode(m, b, sizeof(b));

	if (n > 0)
		recv_server_on_datagram(srv, now, from, b, (size_t)n);
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
	feed(srv, from, now, &m);
	memcpy(m.u.hello.cookie, cookie, CFT_COOKIE_LEN);
	feed(srv, from, now, &m);
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
	int dirfd;

	fuzz_dir_new(dir);
	dirfd = store_open_dir(dir);
	if (dirfd < 0)
		abort();
	memset(&from, 0, sizeof(from));
	from.ss.ss_family = AF_INET;
	from.len = sizeof(struct sockaddr_in);
	if (recv_server_init(&srv, dirfd, 30000000, (struct recv_io){ .out = { out, NULL } }) < 0)
		abort();
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
			recv_server_on_datagram(&srv, now, &from, buf, n);
			recv_server_on_timer(&srv, now);
		}
		data += n;
		len -= n;
		now += 1000;
	}
	recv_server_free(&srv);
	close(dirfd);
	fuzz_dir_remove(dir);
	return 0;
}
