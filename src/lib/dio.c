/* Direct reads: from the device, into aligned buffers. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/dio.h"

void *dio_alloc(size_t n)
{
	size_t align = n >= DIO_HUGE ? DIO_HUGE : DIO_ALIGN;
	size_t size = (n + align - 1) / align * align;
	void *p = NULL;

	if (size < n || posix_memalign(&p, align, size ? size : align) != 0)
		return NULL;
	/* Advice only: without huge pages the buffer works as well, only
	 * more slowly (dio.h). */
	if (align == DIO_HUGE)
		(void)madvise(p, size, MADV_HUGEPAGE);
	return p;
}

int dio_open(int dirfd, const char *path, int same, int flags)
{
	struct stat a, b;
	/* O_NONBLOCK: whatever is put in its place meanwhile, never a wait. */
	int fd = openat(dirfd, path, flags | O_DIRECT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &a) < 0 || fstat(same, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		close(fd);
		return -1;
	}
	return fd;
}

int dio_enable(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_DIRECT) < 0 ? -1 : 0;
}

long dio_read(int fd, void *buf, size_t want, uint64_t off)
{
	size_t len = (want + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN, got = 0;

	while (got < want) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;		/* the end of the file */
		got += (size_t)n;
		/* A short read mid-file leaves an unaligned offset; O_DIRECT
		 * cannot go on from there, and the file is then shorter than
		 * it was: the caller's digest shows it. */
		if (got % DIO_ALIGN)
			break;
	}
	return (long)(got < want ? got : want);
}
