/*
 * cft-dgram: send hostile datagrams to a cft receiver, for end-to-end tests
 * of "garbage is dropped and counted, and the receiver keeps serving".
 *
 *   cft-dgram HOST:PORT KIND COUNT [SEED]
 *
 * KIND: garbage (random bytes, random length), truncated (a valid HELLO cut
 * short), oversize (longer than the largest datagram, CFT_DATAGRAM_BIG_MAX), version (a well-formed HELLO of protocol
 * version 99), badcrc (a HELLO with one bit flipped), stray (valid DATA for
 * a session that does not exist), or flood: COUNT rounds, each from another
 * source address 127.0.0.2 to 127.0.0.201 (a socket bound to each), of what
 * a sender sends to open a session and offer a file (HELLO, HELLO with a
 * cookie of its own making, FILE, PROBE) under a fresh session id, after
 * which it prints what it sent and what came back, in bytes:
 * "sent N received M" (the receiver may answer an address that has not
 * shown it receives with at most 3 times what it sent).
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cft/proto.h"

#include "cft/limits.h"
#include "cft/net.h"
#include "cft/wire.h"

static uint64_t rng;

static uint32_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static int hello(uint8_t *b)
{
	struct wire_msg m = { .version = CFT_PROTO_VERSION, .type = WIRE_HELLO };

	m.session = ((uint64_t)next() << 32) | next();
	m.u.hello.block_size = CFT_BLOCK_SIZE_DEFAULT;
	m.u.hello.nfiles = 1;
	m.u.hello.chunk_size = CFT_CHUNK_SIZE;
	return wire_encode(&m, b, CFT_DATAGRAM_MAX);
}

/* One sender's opening under a fresh id, from `fd`: returns bytes sent. */
static size_t opening(int fd, const struct net_addr *to)
{
	struct wire_msg m = { .version = CFT_PROTO_VERSION, .type = WIRE_HELLO };
	uint8_t b[CFT_DATAGRAM_MAX], hello[CFT_DIGEST_LEN];
	size_t sent = 0;
	int n;

	m.session = ((uint64_t)next() << 32) | next();
	m.u.hello.block_size = CFT_BLOCK_SIZE_DEFAULT;
	m.u.hello.nfiles = 1;
	m.u.hello.chunk_size = CFT_CHUNK_SIZE;
	for (int i = 0; i < 2; i++) {
		n = wire_encode(&m, b, sizeof(b));
		net_send(fd, to, b, (size_t)n);
		sent += (size_t)n;
		for (unsigned k = 0; k < CFT_COOKIE_LEN; k++)
			m.u.hello.cookie[k] = (uint8_t)next();	/* a guess */
	}
	proto_hello_digest(m.session, &m.u.hello, hello);
	memset(&m.u, 0, sizeof(m.u));
	m.type = WIRE_FILE;
	m.u.file = (struct wire_file){ .size = 1 << 30, .mode = 0644,
				       .name = (const uint8_t *)"flood", .name_len = 5 };
	proto_offer_digest(hello, &m.u.file, m.u.file.offer);
	n = wire_encode(&m, b, sizeof(b));
	net_send(fd, to, b, (size_t)n);
	sent += (size_t)n;
	memset(&m.u, 0, sizeof(m.u));
	m.type = WIRE_PROBE;
	n = wire_encode(&m, b, sizeof(b));
	net_send(fd, to, b, (size_t)n);
	return sent + (size_t)n;
}

/* Bytes that came back to fd within `ms` of quiet. */
static size_t answers(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t b[65536];
	size_t got = 0;
	long n;

	while (poll(&p, 1, ms) > 0 && (n = recv(fd, b, sizeof(b), 0)) > 0)
		got += (size_t)n;
	return got;
}

static int flood(const struct net_addr *to, int count)
{
	int fds[200];
	size_t sent = 0, got = 0;
	unsigned nfd = 0;

	for (int i = 0; i < count; i++) {
		unsigned k = (unsigned)i % 200;

		if (k == nfd) {
			struct net_addr from = { .len = sizeof(struct sockaddr_in) };
			struct sockaddr_in *a = (struct sockaddr_in *)&from.ss;

			a->sin_family = AF_INET;
			a->sin_addr.s_addr = htonl(0x7f000002u + k);
			fds[nfd] = net_udp_socket(&from, AF_INET);
			if (fds[nfd] < 0) {
				perror("cft-dgram: socket");
				return 1;
			}
			nfd++;
		}
		sent += opening(fds[k], to);
	}
	for (unsigned k = 0; k < nfd; k++) {
		got += answers(fds[k], k == 0 ? 300 : 1);
		close(fds[k]);
	}
	printf("sent %zu received %zu\n", sent, got);
	return 0;
}

int main(int argc, char **argv)
{
	struct net_addr to;
	const char *why;
	uint8_t b[CFT_DATAGRAM_BIG_MAX + 1024];
	int fd, count;

	if (argc < 4) {
		fprintf(stderr, "usage: cft-dgram HOST:PORT KIND COUNT [SEED]\n");
		return 1;
	}
	if (net_parse_hostport(argv[1], CFT_DEFAULT_PORT, 0, &to, &why) < 0) {
		fprintf(stderr, "cft-dgram: %s: %s\n", argv[1], why);
		return 1;
	}
	count = atoi(argv[3]);
	rng = argc > 4 ? strtoull(argv[4], NULL, 10) + 1 : 1;
	if (strcmp(argv[2], "flood") == 0)
		return flood(&to, count);
	fd = net_udp_socket(NULL, to.ss.ss_family);
	if (fd < 0) {
		perror("cft-dgram: socket");
		return 1;
	}
	for (int i = 0; i < count; i++) {
		size_t len = 0;
		int n;

		if (strcmp(argv[2], "garbage") == 0) {
			len = next() % CFT_DATAGRAM_MAX;
			for (size_t k = 0; k < len; k++)
				b[k] = (uint8_t)next();
		} else if (strcmp(argv[2], "truncated") == 0) {
			n = hello(b);
			len = (size_t)n - 1 - next() % 4;
		} else if (strcmp(argv[2], "oversize") == 0) {
			n = hello(b);
			len = CFT_DATAGRAM_BIG_MAX + 600;
			memset(b + n, 0xee, len - (size_t)n);
		} else if (strcmp(argv[2], "version") == 0) {
			n = hello(b);
			b[2] = 99;
			wire_reseal(b, (size_t)n);
			len = (size_t)n;
		} else if (strcmp(argv[2], "badcrc") == 0) {
			n = hello(b);
			b[next() % (unsigned)n] ^= (uint8_t)(1u << (next() % 8));
			len = (size_t)n;
		} else if (strcmp(argv[2], "stray") == 0) {
			struct wire_msg m = { .version = CFT_PROTO_VERSION, .type = WIRE_DATA };
			static const uint8_t payload[CFT_CHUNK_SIZE];

			m.session = ((uint64_t)next() << 32) | next();
			m.u.data = (struct wire_data){ .seq = 1, .len = CFT_CHUNK_SIZE,
						       .leaf = wire_leaf(payload, CFT_CHUNK_SIZE),
						       .payload = payload };
			m.u.data.check = wire_data_check(&m.u.data);
			len = (size_t)wire_encode(&m, b, CFT_DATAGRAM_MAX);
		} else {
			fprintf(stderr, "cft-dgram: unknown kind %s\n", argv[2]);
			return 1;
		}
		net_send(fd, &to, b, len);
	}
	return 0;
}
