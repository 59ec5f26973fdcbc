/*
 * cft-dgram: send hostile datagrams to a cft receiver, for end-to-end tests
 * of "garbage is dropped and counted, and the receiver keeps serving".
 *
 *   cft-dgram HOST:PORT KIND COUNT [SEED]
 *
 * KIND: garbage (random bytes, random length), truncated (a valid HELLO cut
 * short), oversize (2000 bytes), version (a well-formed HELLO of protocol
 * version 99), badcrc (a HELLO with one bit flipped), stray (valid DATA for
 * a session that does not exist).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	return wire_encode(&m, b, CFT_DATAGRAM_MAX);
}

int main(int argc, char **argv)
{
	struct net_addr to;
	const char *why;
	uint8_t b[2048];
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
			len = 2000;
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
