/*
 * libFuzzer harness for the sender's engine, which parses what the
 * receiver sends: HELLO_ACK, STATUS (with ranges, masks, digests and
 * echoes) and ERROR.  The input is a sequence of datagrams (a 2-byte length,
 * then the bytes; the session id is set to the sender's and the checksum
 * resealed, so the fuzzer need not guess them), fed to a live session
 * sending two small files from a fresh directory, with the clock moving
 * between datagrams so that timers, the data phase and the independent read
 * all run.  The engine must never crash, hang or read outside its files.
 * The first byte chooses a keyless sender or a keyed one, to which the
 * handshake's datagrams are signed with its key (the rest, unsealed, tries
 * the seal).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/limits.h"
#include "cft/seal.h"
#include "cft/wire.h"
#include "fuzz_dir.h"
#include "send/send-session.h"

#define SESSION 0x5e55ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void out(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)to;
	(void)buf;
	(void)len;
}

/* A file of `size` bytes of i * 7 % 251, mode 0644, modified at
 * 1700000000.123456789: the offer's digest covers the mode and the time, so
 * they are fixed for the seeds in testdata/corpus/send to refer to it. */
static void make_file(const char *path, size_t size)
{
	static const struct timespec mtime[2] = { { 1700000000, 123456789 },
						  { 1700000000, 123456789 } };
	FILE *f = fopen(path, "wb");

	if (!f)
		abort();
	for (size_t i = 0; i < size; i++)
		fputc((int)(i * 7 % 251), f);
	if (fclose(f) != 0 || chmod(path, 0644) < 0 || utimensat(AT_FDCWD, path, mtime, 0) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char dir[32], p0[64], p1[64];
	struct send_file files[2];
	struct send_session *s;
	uint64_t now = 1000000;
	struct send_config cfg = { .files = files, .nfiles = 2, .block_size = 4096,
				   .timeout_us = 30000000, .session = SESSION,
				   .out = { out, NULL } };
	static const uint8_t key[CFT_KEY_LEN] = { 0xf0, 0x22 };
	uint8_t hello_key[CFT_KEY_LEN];
	bool keyed;

	if (len < 1)
		return 0;
	keyed = data[0] & 1;
	data++;
	len--;
	cfg.key = keyed ? key : NULL;
	seal_hello_key(key, hello_key);

	fuzz_dir_new(dir);
	snprintf(p0, sizeof(p0), "%s/a", dir);
	snprintf(p1, sizeof(p1), "%s/b", dir);
	make_file(p0, 3 * 4096 + 7);
	make_file(p1, 0);
	memset(files, 0, sizeof(files));
	files[0] = (struct send_file){ .path = p0, .name = "a", .size = 3 * 4096 + 7 };
	files[1] = (struct send_file){ .path = p1, .name = "b", .size = 0 };
	s = send_new(&cfg);
	if (!s)
		abort();
	send_start(s, now);
	send_on_timer(s, now);
	while (len >= 2 && !send_finished(s)) {
		size_t n = (size_t)data[0] << 8 | data[1];
		uint8_t buf[CFT_DATAGRAM_MAX];

		data += 2;
		len -= 2;
		if (n > len)
			n = len;
		if (n <= sizeof(buf)) {
			memcpy(buf, data, n);
			if (n >= WIRE_HDR_LEN)
				for (unsigned i = 0; i < 8; i++)
					buf[6 + i] = (uint8_t)(SESSION >> (56 - 8 * i));
			wire_reseal(buf, n);
			if (keyed && n >= WIRE_HDR_LEN + WIRE_TAG_LEN &&
			    (buf[3] == WIRE_HELLO_ACK || buf[3] == WIRE_ERROR))
				seal_sign(hello_key, buf, n);
			send_on_datagram(s, now, buf, n);
		}
		data += n;
		len -= n;
		now += 1000;
		send_on_timer(s, now);
	}
	send_free(s);
	fuzz_dir_remove(dir);
	return 0;
}
