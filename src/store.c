/* Temporary files, read-back and atomic commit in the destination directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/store.h"
#include "cft/util.h"

int store_open_dir(const char *path)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		close(fd);
		errno = ENOTDIR;
		return -1;
	}
	if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int store_create(int dirfd, const char *name, uint64_t size, mode_t mode,
		 struct store_file *sf)
{
	uint8_t rnd[8];
	int rc;

	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
	sf->dirfd = dirfd;
	sf->size = size;
	sf->mode = mode & 0777;
	snprintf(sf->name, sizeof(sf->name), "%s", name);
	if (digest_random(rnd, sizeof(rnd)) < 0)
		return CFT_E_IO;
	snprintf(sf->tmpname, sizeof(sf->tmpname), "%s%02x%02x%02x%02x%02x%02x%02x%02x",
		 CFT_TEMP_PREFIX, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);

	/* O_EXCL: never reuse or follow anything already there. */
	sf->fd = openat(dirfd, sf->tmpname,
			O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (sf->fd < 0)
		return CFT_E_IO;
	if (size > 0) {
		rc = posix_fallocate(sf->fd, 0, (off_t)size);
		/* Some file systems cannot preallocate; then we learn of a full
		 * disk at write time instead. */
		if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
			store_abort(sf);
			errno = rc;
			return CFT_E_IO;
		}
	}
	return 0;
}

int store_write(struct store_file *sf, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(sf->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return CFT_E_IO;
		}
		if (n == 0) {
			errno = EIO;
			return CFT_E_IO;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int store_flush(struct store_file *sf)
{
	if (fsync(sf->fd) < 0)
		return CFT_E_IO;
	/* Advisory: where the kernel keeps the pages anyway, the read-back
	 * still checks what the file system returns for this file. */
	(void)posix_fadvise(sf->fd, 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

long store_read(struct store_file *sf, uint64_t off, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = pread(sf->fd, buf, len, (off_t)off);
		if (n >= 0)
			return (long)n;
		if (errno != EINTR)
			return CFT_E_IO;
	}
}

int store_commit(struct store_file *sf)
{
	int ret = CFT_E_IO;

	if (fchmod(sf->fd, sf->mode) < 0)
		goto out;
	if (renameat(sf->dirfd, sf->tmpname, sf->dirfd, sf->name) < 0)
		goto out;
	sf->tmpname[0] = '\0';
	if (fsync(sf->dirfd) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		int e = errno;
		store_abort(sf);
		errno = e;
	} else {
		close(sf->fd);
		sf->fd = -1;
	}
	return ret;
}

void store_abort(struct store_file *sf)
{
	if (sf->fd >= 0) {
		close(sf->fd);
		sf->fd = -1;
	}
	if (sf->tmpname[0] != '\0') {
		(void)unlinkat(sf->dirfd, sf->tmpname, 0);
		sf->tmpname[0] = '\0';
	}
}
