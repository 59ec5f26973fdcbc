/*
 * The sender's files: what cft-send reads, and how it notices a source that
 * changes under it.  The counterpart of the receiver's store.c.
 *
 * Each file is opened twice.  One descriptor feeds the datagrams; the other
 * is the independent read of the end-to-end check (vread.h), made with
 * O_DIRECT or after its cached pages are dropped, so that the digest the
 * sender compares with the receiver's comes from a second read, not from
 * the buffers that fed the network.  Both must be the file (device and inode) the path named when
 * the run began, with the size it had then.
 */
#ifndef CFT_SOURCE_H
#define CFT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cft/filesum.h"

struct source {
	int fd;				/* feeds datagrams */
	int vfd;			/* the independent read */
	int ffd;			/* the feeding read ahead (feed.h): O_DIRECT,
					 * or -1 where the file system refuses */
	int direct;			/* vfd reads the device (O_DIRECT) */
	uint64_t size;
	uint32_t mode;			/* permission bits, 0777 */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	dev_t dev;
	ino_t ino;
	bool dir;			/* a directory of a tree: 0 bytes, no reads */
};

/* A closed source (every descriptor -1), safe to source_close. */
void source_clear(struct source *src);

/*
 * Open path twice and check both are the same regular file of `size`
 * bytes (or, with dir, the same directory, sent as 0 bytes: its mode and
 * time).  Returns 0, CFT_E_IO (errno tells) or CFT_E_CHANGED (no longer
 * that file, or no longer that size).  On failure src is closed.
 */
int source_open(struct source *src, const char *path, uint64_t size, bool dir);

/* Is [off, off + len) a hole in the file (no data there, as SEEK_DATA
 * says; false where the file system cannot tell)? */
bool source_hole(const struct source *src, uint64_t off, uint64_t len);

/* Read exactly len bytes at off, through the feeding descriptor.  Returns 0,
 * CFT_E_IO (errno) or CFT_E_CHANGED (the file ends before off + len). */
int source_read(struct source *src, uint64_t off, void *buf, size_t len);

/* One step of the independent read (vread.h): the next CFT_READBACK_STEP
 * bytes at most, read through fd (the source's vfd or a duplicate of it,
 * `direct` if O_DIRECT) into buf (from dio_alloc) and fed to fs.  Returns
 * 0, CFT_E_IO (errno) or CFT_E_CHANGED (the file ends early). */
int source_read_step(int fd, bool direct, struct filesum *fs, uint8_t *buf);

/* Is path still the file opened, unchanged (size, modification time)?
 * Returns 0 or CFT_E_CHANGED. */
int source_check(const struct source *src, const char *path);

void source_close(struct source *src);

#endif
