/*
 * cft-disk: the disk alone doing the reads and writes cft's guarantees ask
 * of it, for make bench: what the device needs, with no network and no
 * digest, to set beside the transfers.
 *
 *   cft-disk SOURCE COPY
 *
 * Reads SOURCE twice at once, directly from the device (the read that feeds
 * the datagrams, and the independent one), writes COPY directly while
 * reading, makes it durable (fdatasync), then reads COPY back directly.
 * Buffers come from dio_alloc, as cft's do (in huge pages where the kernel
 * has them: dio.h), and the I/Os have cft's sizes: the copy read 2 MiB at a
 * time (the read ahead's extent) and written 1 MiB at a time (a block), the
 * other reads CFT_READBACK_STEP at a time.  Unlike cft it overlaps nothing
 * else: the read-back starts once the copy is durable.
 * Exit 0, or 1 with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cft/dio.h"
#include "cft/limits.h"

#define COPY_READ (2u * 1024 * 1024)
#define WRITE_STEP CFT_BLOCK_SIZE_DEFAULT

static void die(const char *what, const char *path)
{
	fprintf(stderr, "cft-disk: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

/* Read path to its end, directly, a step at a time. */
static void *read_all(void *path)
{
	int fd = open(path, O_RDONLY | O_DIRECT);
	uint8_t *buf = dio_alloc(CFT_READBACK_STEP);
	uint64_t off = 0;
	long n;

	if (fd < 0 || !buf)
		die("cannot read", path);
	while ((n = dio_read(fd, buf, CFT_READBACK_STEP, off)) > 0)
		off += (uint64_t)n;
	if (n < 0)
		die("cannot read", path);
	free(buf);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *source;
	pthread_t second;
	uint8_t *buf = dio_alloc(COPY_READ);
	uint64_t off = 0;
	int in, out;
	long n;

	if (argc != 3) {
		fprintf(stderr, "usage: cft-disk SOURCE COPY\n");
		return 2;
	}
	source = argv[1];
	in = open(source, O_RDONLY | O_DIRECT);
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (in < 0 || !buf)
		die("cannot read", source);
	if (out < 0)
		die("cannot write", argv[2]);
	if (pthread_create(&second, NULL, read_all, argv[1]) != 0)
		die("cannot start a thread for", source);
	while ((n = dio_read(in, buf, COPY_READ, off)) > 0) {
		/* The last piece rounded up to the alignment, as cft's store
		 * does, then cut to the source's length. */
		size_t len = ((size_t)n + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN;

		for (size_t at = 0; at < len; at += WRITE_STEP) {
			size_t piece = len - at < WRITE_STEP ? len - at : WRITE_STEP;

			if (pwrite(out, buf + at, piece, (off_t)(off + at)) != (ssize_t)piece)
				die("cannot write", argv[2]);
		}
		off += (uint64_t)n;
	}
	if (n < 0)
		die("cannot read", source);
	if (ftruncate(out, (off_t)off) < 0 || fdatasync(out) < 0)
		die("cannot make durable", argv[2]);
	pthread_join(second, NULL);
	close(out);
	close(in);
	free(buf);
	read_all(argv[2]);
	return 0;
}
