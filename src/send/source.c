/* The sender's source files: two reads of each, and changes noticed. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/dio.h"
#include "cft/error.h"
#include "cft/limits.h"
#include "source.h"

void source_clear(struct source *src)
{
	src->fd = src->vfd = src->ffd = -1;
}

int source_open(struct source *src, const char *path, uint64_t size, bool dir)
{
	struct stat a, b;

	source_clear(src);
	src->dir = dir;
	/* O_NONBLOCK: a FIFO put in the file's place must not hang the open
	 * (it is refused below); it means nothing to a regular file. */
	src->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	src->vfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (src->fd < 0 || src->vfd < 0 || fstat(src->fd, &a) < 0 || fstat(src->vfd, &b) < 0) {
		int e = errno;

		source_close(src);
		errno = e;
		return CFT_E_IO;
	}
	/* Replaced between the two opens, or since the run began.  A
	 * directory's size is its file system's, not content: 0 is sent. */
	if ((dir ? !S_ISDIR(a.st_mode) || size : !S_ISREG(a.st_mode) ||
		   (uint64_t)a.st_size != size) || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		source_close(src);
		return CFT_E_CHANGED;
	}
	src->size = size;
	src->mode = a.st_mode & 0777;
	src->mtime_sec = a.st_mtim.tv_sec;
	src->mtime_nsec = (uint32_t)a.st_mtim.tv_nsec;
	src->dev = a.st_dev;
	src->ino = a.st_ino;
	if (dir)
		return 0;	/* nothing to read */
	/* The independent read asks the disk, where the file system can. */
	src->direct = dio_enable(src->vfd) == 0;
	/* So does the read ahead that feeds the datagrams, through a third
	 * descriptor (with no page cache between, the two reads share
	 * nothing); it must be the same file too. */
	src->ffd = open(path, O_RDONLY | O_NONBLOCK | O_DIRECT | O_CLOEXEC);
	if (src->ffd >= 0 && (fstat(src->ffd, &b) < 0 || b.st_ino != a.st_ino ||
			      b.st_dev != a.st_dev)) {
		close(src->ffd);
		src->ffd = -1;
	}
	return 0;
}

bool source_hole(const struct source *src, uint64_t off, uint64_t len)
{
	off_t data = lseek(src->fd, (off_t)off, SEEK_DATA);

	if (data < 0)
		return errno == ENXIO;	/* no data from off to the end */
	return (uint64_t)data >= off + len;
}

static int read_full(int fd, uint8_t *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return CFT_E_IO;
		if (n == 0)
			return CFT_E_CHANGED;	/* shorter than it was */
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int source_read(struct source *src, uint64_t off, void *buf, size_t len)
{
	return read_full(src->fd, buf, len, off);
}

int source_read_step(int fd, bool direct, struct filesum *fs, uint8_t *buf)
{
	uint64_t want = filesum_left(fs);
	int rc;

	if (want > CFT_READBACK_STEP)
		want = CFT_READBACK_STEP;
	if (direct) {
		long n = dio_read(fd, buf, want, fs->off);

		rc = n < 0 ? CFT_E_IO : (uint64_t)n < want ? CFT_E_CHANGED : 0;
	} else {
		rc = read_full(fd, buf, want, fs->off);
	}
	if (rc == 0)
		filesum_update(fs, buf, want);
	return rc;
}

int source_check(const struct source *src, const char *path)
{
	struct stat st;

	/* Changed in place (size, time), or replaced under its name. */
	if (fstat(src->fd, &st) < 0 || (!src->dir && (uint64_t)st.st_size != src->size) ||
	    st.st_mtim.tv_sec != src->mtime_sec ||
	    (uint32_t)st.st_mtim.tv_nsec != src->mtime_nsec)
		return CFT_E_CHANGED;
	if (stat(path, &st) < 0 || st.st_ino != src->ino || st.st_dev != src->dev)
		return CFT_E_CHANGED;
	return 0;
}

void source_close(struct source *src)
{
	if (src->fd >= 0)
		close(src->fd);
	if (src->vfd >= 0)
		close(src->vfd);
	if (src->ffd >= 0)
		close(src->ffd);
	source_clear(src);
}
