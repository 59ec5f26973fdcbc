/* Temporary files, read-back and atomic commit in the destination directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/digest.h"
#include "cft/dio.h"
#include "cft/error.h"
#include "cft/util.h"
#include "store.h"

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

/* Bytes of a state file we are prepared to read; a real one is far smaller. */
#define STATE_MAX 4096

/*
 * A partial file belongs to its source (name, size, time, block size), not
 * to its name alone: another offer of the name (another version, or a
 * stranger's) is received beside it and leaves it for its sender's resume.
 */
static void temp_names(const char *name, const struct store_source *src, struct store_file *sf)
{
	const struct digest_part parts[] = {
		{ name, strlen(name) + 1 }, { &src->size, sizeof(src->size) },
		{ &src->mtime_sec, sizeof(src->mtime_sec) },
		{ &src->mtime_nsec, sizeof(src->mtime_nsec) },
		{ &src->block_size, sizeof(src->block_size) },
	};
	uint8_t d[CFT_DIGEST_LEN];

	digest_sha256_parts(parts, sizeof(parts) / sizeof(parts[0]), d, CFT_DIGEST_LEN);
	snprintf(sf->tmpname, sizeof(sf->tmpname), "%s%02x%02x%02x%02x%02x%02x%02x%02x",
		 CFT_TEMP_PREFIX, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
	snprintf(sf->statename, sizeof(sf->statename), "%s.state", sf->tmpname);
}

/* The state file's text for src, checksummed. */
static size_t state_text(const struct store_file *sf, const struct store_source *src,
			 char *out, size_t cap)
{
	char hexname[2 * CFT_PATH_MAX + 1], check[2 * CFT_DIGEST_LEN + 1];
	uint8_t d[CFT_DIGEST_LEN];
	size_t n, len = strlen(sf->name);
	int w;

	for (size_t i = 0; i < len; i++)
		snprintf(hexname + 2 * i, 3, "%02x", (unsigned char)sf->name[i]);
	hexname[2 * len] = '\0';
	w = snprintf(out, cap, "cft-partial 1\nname %s\nsize %llu\nmtime %lld %u\nblock %u\n",
		     hexname, (unsigned long long)src->size, (long long)src->mtime_sec,
		     src->mtime_nsec, src->block_size);
	if (w < 0 || (size_t)w >= cap)
		return 0;
	n = (size_t)w;
	digest_sha256(out, n, d);
	digest_hex(d, check);
	w = snprintf(out + n, cap - n, "check %s\n", check);
	if (w < 0 || (size_t)w >= cap - n)
		return 0;
	return n + (size_t)w;
}

/* Write the state file: new name, fsync, rename, fsync the directory. */
static int state_write(struct store_file *sf, const struct store_source *src)
{
	char text[STATE_MAX], newname[96];
	size_t n = state_text(sf, src, text, sizeof(text));
	int fd, ret = CFT_E_IO;

	if (n == 0)
		return CFT_E_IO;
	snprintf(newname, sizeof(newname), "%s.new", sf->statename);
	/* Never write through anything already there (a link planted by
	 * someone else with write access to the directory). */
	(void)unlinkat(sf->dirfd, newname, 0);
	fd = openat(sf->dirfd, newname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return CFT_E_IO;
	if (write(fd, text, n) == (ssize_t)n && fsync(fd) == 0 &&
	    renameat(sf->dirfd, newname, sf->dirfd, sf->statename) == 0 && fsync(sf->dirfd) == 0)
		ret = 0;
	close(fd);
	if (ret < 0)
		(void)unlinkat(sf->dirfd, newname, 0);
	return ret;
}

/* Does the state file say the partial file belongs to src?  Anything torn,
 * garbled or different says no. */
static int state_matches(const struct store_file *sf, const struct store_source *src)
{
	char want[STATE_MAX], have[STATE_MAX + 1];
	size_t n = state_text(sf, src, want, sizeof(want));
	ssize_t got;
	int fd;

	fd = openat(sf->dirfd, sf->statename, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	got = read(fd, have, sizeof(have));
	close(fd);
	/* Byte for byte: the same source gives the same text, checksum and all. */
	return n > 0 && got == (ssize_t)n && memcmp(want, have, n) == 0;
}

static void discard(struct store_file *sf)
{
	(void)unlinkat(sf->dirfd, sf->tmpname, 0);
	(void)unlinkat(sf->dirfd, sf->statename, 0);
}

static int create_fresh(struct store_file *sf, const struct store_source *src)
{
	discard(sf);
	/* O_EXCL: never reuse or follow anything already there. */
	sf->fd = openat(sf->dirfd, sf->tmpname,
			O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (sf->fd < 0)
		return CFT_E_IO;
	sf->dfd = dio_open(sf->dirfd, sf->tmpname, sf->fd, O_RDWR);
	sf->dwrite = 1;
	/* The size, as a hole: no space is reserved ahead (posix_fallocate).
	 * A size is a claim until the data arrives, checked against the free
	 * space at the offer (store_space); and where the file system cannot
	 * preallocate, glibc would write every block, holding the receiver up
	 * for as long. */
	if (ftruncate(sf->fd, (off_t)src->size) < 0) {
		int e = errno;

		store_abort(sf);
		errno = e;
		return CFT_E_IO;
	}
	/* A file of one block has nothing to resume but that block, which a
	 * later run sends whole anyway: no state file, and no two syncs of it
	 * (for many small files, most of what their durability cost). */
	if (src->size > src->block_size && state_write(sf, src) < 0) {
		int e = errno;
		store_abort(sf);
		errno = e;
		return CFT_E_IO;
	}
	return 0;
}

/* The final name's directory, when it is one of ours to close. */
static void close_parent(struct store_file *sf)
{
	if (sf->parent >= 0 && sf->parent != sf->dirfd)
		close(sf->parent);
	sf->parent = -1;
}

/* Close the file's descriptors (the names stay). */
static void close_fds(struct store_file *sf)
{
	if (sf->fd >= 0)
		close(sf->fd);
	if (sf->dfd >= 0)
		close(sf->dfd);
	sf->fd = sf->dfd = -1;
}

/*
 * The directory that holds the last name of sf->name, below sf->dirfd: each
 * name before it opened in turn, never through a symbolic link, and made
 * (mode 0700, until its own entry of the tree gives it its mode) where it is
 * missing.  Nothing is created or opened outside DIR.
 */
static int open_parent(struct store_file *sf, bool create)
{
	char *p = sf->name, *slash;
	int fd = sf->dirfd;

	while ((slash = strchr(p, '/'))) {
		int next;

		*slash = '\0';
		if (create && mkdirat(fd, p, 0700) < 0 && errno != EEXIST)
			next = -1;
		else
			next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		*slash = '/';
		if (fd != sf->dirfd) {
			int e = errno;

			close(fd);
			errno = e;
		}
		if (next < 0)
			return CFT_E_IO;	/* ELOOP, ENOTDIR: not ours to go through */
		fd = next;
		p = slash + 1;
	}
	sf->parent = fd;
	sf->leaf = p;
	return 0;
}

/* What every open of sf starts with: its facts, its names, its parent. */
static int store_init(struct store_file *sf, int dirfd, const char *name,
		      const struct store_source *src, mode_t mode, bool create)
{
	memset(sf, 0, sizeof(*sf));
	sf->fd = sf->dfd = sf->parent = -1;
	sf->dirfd = dirfd;
	sf->size = src->size;
	sf->mode = mode & 0777;
	sf->mtime_sec = src->mtime_sec;
	sf->mtime_nsec = src->mtime_nsec;
	snprintf(sf->name, sizeof(sf->name), "%s", name);
	sf->leaf = sf->name;
	temp_names(name, src, sf);
	return open_parent(sf, create);
}

int store_open_dir_entry(int dirfd, const char *name, const struct store_source *src,
			 mode_t mode, struct store_file *sf)
{
	struct stat st;

	if (store_init(sf, dirfd, name, src, mode, true) < 0)
		return CFT_E_IO;
	sf->dir = true;
	if (mkdirat(sf->parent, sf->leaf, 0700) < 0 && errno != EEXIST)
		goto fail;
	sf->fd = openat(sf->parent, sf->leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sf->fd < 0 || fstat(sf->fd, &st) < 0 || !S_ISDIR(st.st_mode))
		goto fail;
	sf->existing = 1;
	return 0;
fail:
	if (errno == ELOOP)
		errno = ENOTDIR;
	close_fds(sf);
	close_parent(sf);
	return CFT_E_IO;
}

int store_find(int dirfd, const char *name, const struct store_source *src, mode_t mode,
	       bool dir, struct store_file *sf)
{
	struct stat st;

	if (store_init(sf, dirfd, name, src, mode, false) < 0)
		goto absent;
	sf->dir = dir;
	sf->fd = openat(sf->parent, sf->leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (sf->fd < 0 || fstat(sf->fd, &st) < 0)
		goto absent;
	/* What a real run would check in place: a directory, or a regular
	 * file of the size offered with one link. */
	if (dir ? !S_ISDIR(st.st_mode) :
		  !S_ISREG(st.st_mode) || st.st_nlink != 1 || (uint64_t)st.st_size != src->size)
		goto absent;
	if (!dir)
		sf->dfd = dio_open(sf->parent, sf->leaf, sf->fd, O_RDONLY);
	sf->existing = 1;
	return 0;
absent:
	close_fds(sf);
	close_parent(sf);
	return 1;
}

int store_final_exists(const struct store_file *sf)
{
	struct stat st;

	return sf->parent >= 0 && fstatat(sf->parent, sf->leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int store_final_is_dir(const struct store_file *sf)
{
	struct stat st;

	return sf->parent >= 0 && fstatat(sf->parent, sf->leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

int store_open(int dirfd, const char *name, const struct store_source *src, mode_t mode,
	       int no_existing, struct store_file *sf, enum store_origin *origin)
{
	struct stat st;

	*origin = STORE_FRESH;
	if (store_init(sf, dirfd, name, src, mode, true) < 0)
		return CFT_E_IO;

	/* The destination as it is: an identical re-run sends nothing.  Only
	 * a regular file with one link is checked, and given its mode and time,
	 * in place: a FIFO would hang the open (O_NONBLOCK) and the read, and a
	 * second link may be outside DIR (it would get the mode and time too).
	 * Anything else is received afresh and renamed over the name. */
	if (!no_existing && fstatat(sf->parent, sf->leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && (uint64_t)st.st_size == src->size) {
		sf->fd = openat(sf->parent, sf->leaf,
				O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (sf->fd >= 0 && fstat(sf->fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_nlink == 1 && (uint64_t)st.st_size == src->size) {
			sf->dfd = dio_open(sf->parent, sf->leaf, sf->fd, O_RDONLY);
			sf->existing = 1;
			*origin = STORE_EXISTING;
			return 0;
		}
		if (sf->fd >= 0)
			close(sf->fd);
		sf->fd = -1;
	}
	/* What an earlier session left for this very source. */
	if (state_matches(sf, src)) {
		sf->fd = openat(dirfd, sf->tmpname, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		/* Ours alone (one link), and touched now so that a sweep of
		 * abandoned files does not take it while it is in use. */
		if (sf->fd >= 0 && fstat(sf->fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_nlink == 1 && (uint64_t)st.st_size == src->size &&
		    futimens(sf->fd, NULL) == 0) {
			sf->dfd = dio_open(dirfd, sf->tmpname, sf->fd, O_RDWR);
			sf->dwrite = 1;
			*origin = STORE_PARTIAL;
			return 0;
		}
		if (sf->fd >= 0)
			close(sf->fd);
		sf->fd = -1;
	}
	*origin = STORE_FRESH;
	return create_fresh(sf, src);
}

int store_restart(struct store_file *sf, const struct store_source *src)
{
	close_fds(sf);
	sf->existing = 0;
	return create_fresh(sf, src);
}

uint64_t store_held(const struct store_file *sf)
{
	struct stat st;

	if (sf->existing || sf->fd < 0 || fstat(sf->fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

static int write_all(int fd, uint64_t off, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
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

int store_write(struct store_file *sf, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t head = 0;

	/* Blocks start at multiples of the block size, a multiple of
	 * DIO_ALIGN: all of a block but the file's short tail goes direct. */
	if (sf->dfd >= 0 && sf->dwrite && off % DIO_ALIGN == 0 &&
	    (uintptr_t)p % DIO_ALIGN == 0) {
		head = len / DIO_ALIGN * DIO_ALIGN;
		if (write_all(sf->dfd, off, p, head) < 0) {
			if (errno != EINVAL)
				return CFT_E_IO;
			/* A device that wants a larger alignment: through the
			 * page cache from now on. */
			sf->dwrite = 0;
			head = 0;
		}
	}
	return write_all(sf->fd, off + head, p + head, len - head);
}

int store_zero(struct store_file *sf, uint64_t off, size_t len)
{
	static const uint8_t zeros[CFT_CHUNK_SIZE];

	/* A new file is a hole there already; a partial one may hold an
	 * earlier source's bytes.  Punching costs nothing in a hole. */
	if (fallocate(sf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return CFT_E_IO;
	for (size_t done = 0; done < len; done += sizeof(zeros)) {
		size_t n = len - done < sizeof(zeros) ? len - done : sizeof(zeros);

		if (write_all(sf->fd, off + done, zeros, n) < 0)
			return CFT_E_IO;
	}
	return 0;
}

int store_sync(struct store_file *sf)
{
	if (fdatasync(sf->fd) < 0)
		return CFT_E_IO;
	if (sf->dfd < 0)
		(void)posix_fadvise(sf->fd, 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

/* The mode and modification time the file is to keep. */
static int set_meta(struct store_file *sf)
{
	const struct timespec times[2] = {
		{ .tv_sec = 0, .tv_nsec = UTIME_OMIT },		/* access: as it is */
		{ .tv_sec = (time_t)sf->mtime_sec, .tv_nsec = (long)sf->mtime_nsec },
	};

	if (fchmod(sf->fd, sf->mode) < 0 || futimens(sf->fd, times) < 0)
		return CFT_E_IO;
	return 0;
}

int store_flush(struct store_file *sf)
{
	if (!sf->existing && set_meta(sf) < 0)
		return CFT_E_IO;
	if (fsync(sf->fd) < 0)
		return CFT_E_IO;
	/* The read-back asks the device (O_DIRECT) where the file system can;
	 * else it drops the cached pages first, which is advisory: where the
	 * kernel keeps them anyway, the read-back still checks what the file
	 * system returns for this file. */
	if (sf->dfd < 0)
		(void)posix_fadvise(sf->fd, 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

int store_meta(struct store_file *sf, struct store_meta *m)
{
	struct stat st;

	if (fstat(sf->fd, &st) < 0)
		return CFT_E_IO;
	/* A directory holds no bytes of the transfer's: its size is its
	 * file system's business. */
	m->size = sf->dir ? 0 : (uint64_t)st.st_size;
	m->mode = st.st_mode & 0777;
	m->mtime_sec = st.st_mtim.tv_sec;
	m->mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
	return 0;
}

long store_read(struct store_file *sf, uint64_t off, void *buf, size_t len)
{
	if (sf->dfd >= 0) {
		long n = dio_read(sf->dfd, buf, len, off);

		return n < 0 ? CFT_E_IO : n;
	}
	for (;;) {
		ssize_t n = pread(sf->fd, buf, len, (off_t)off);
		if (n >= 0)
			return (long)n;
		if (errno != EINTR)
			return CFT_E_IO;
	}
}

int store_commit(struct store_file *sf, struct store_meta *m)
{
	int ret = CFT_E_IO;

	if (sf->existing) {
		/* Verified as it stands: nothing to rename, only the mode and
		 * time to give it.  A partial file or state for this name can
		 * only be left from a crash after an earlier commit's rename;
		 * it is of no more use. */
		if (set_meta(sf) < 0 || fsync(sf->fd) < 0 || store_meta(sf, m) < 0)
			goto out;
		/* A directory made for this entry is durable with its parent. */
		if (sf->dir && fsync(sf->parent) < 0)
			goto out;
		discard(sf);
		ret = 0;
		goto out;
	}
	/* Set again (and synced) if anything touched them since the flush
	 * made them durable; the rename keeps them.  Untouched (the rule), no
	 * second sync: with many small files it was one journal commit each. */
	if (store_meta(sf, m) < 0)
		goto out;
	if ((m->mode != sf->mode || m->mtime_sec != sf->mtime_sec ||
	     m->mtime_nsec != sf->mtime_nsec) &&
	    (set_meta(sf) < 0 || fsync(sf->fd) < 0 || store_meta(sf, m) < 0))
		goto out;
	if (renameat(sf->dirfd, sf->tmpname, sf->parent, sf->leaf) < 0)
		goto out;
	sf->tmpname[0] = '\0';
	/* The state file after the rename: a crash between the two leaves a
	 * state file for a partial file that is gone, which is discarded. */
	(void)unlinkat(sf->dirfd, sf->statename, 0);
	sf->statename[0] = '\0';
	/* The name where it now is.  Below DIR, its going from DIR is not
	 * synced apart: journaling file systems commit both halves of a rename
	 * together; elsewhere a crash may leave the temporary name too, a
	 * second link to the verified file, which the sweep removes. */
	if (fsync(sf->parent) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		int e = errno;
		store_abort(sf);
		errno = e;
	} else {
		close_fds(sf);
		close_parent(sf);
	}
	return ret;
}

void store_abort(struct store_file *sf)
{
	close_fds(sf);
	close_parent(sf);
	if (sf->existing)
		return;		/* never remove the user's file */
	if (sf->tmpname[0] != '\0') {
		(void)unlinkat(sf->dirfd, sf->tmpname, 0);
		sf->tmpname[0] = '\0';
	}
	if (sf->statename[0] != '\0') {
		(void)unlinkat(sf->dirfd, sf->statename, 0);
		sf->statename[0] = '\0';
	}
}

void store_keep(struct store_file *sf)
{
	close_fds(sf);
	close_parent(sf);
	/* Forget the names, so that a later store_abort leaves them be. */
	sf->tmpname[0] = sf->statename[0] = '\0';
}
