/*
 * The receiver's files: a temporary file per incoming file, in the
 * destination directory, that only gets its final name once verified.
 *
 * Every name is resolved relative to the directory descriptor with *at()
 * calls and checked by util_name_valid first, so nothing is written outside
 * the destination.  Temporary names start with CFT_TEMP_PREFIX, which no
 * accepted file name may, so they never collide with a user's file.
 */
#ifndef CFT_STORE_H
#define CFT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cft/limits.h"

struct store_file {
	int dirfd;		/* borrowed */
	int fd;			/* temporary file, read-write */
	uint64_t size;
	mode_t mode;
	char tmpname[64];
	char name[CFT_NAME_MAX + 1];
};

/*
 * Open the destination directory and check it is a writable directory.
 * Returns the descriptor, or -1 with errno set.
 */
int store_open_dir(const char *path);

/*
 * Create a temporary file for `name` (already validated) of `size` bytes in
 * dirfd, and reserve its space so a full disk shows now rather than halfway.
 * Returns 0 or CFT_E_IO (errno tells: ENOSPC, EACCES, ...).
 */
int store_create(int dirfd, const char *name, uint64_t size, mode_t mode,
		 struct store_file *sf);

/* Write len bytes at off.  Returns 0 or CFT_E_IO (errno). */
int store_write(struct store_file *sf, uint64_t off, const void *buf, size_t len);

/*
 * Make the written data durable and drop it from the page cache, so that the
 * read-back that follows comes from the disk, not from memory we wrote.
 * Returns 0 or CFT_E_IO.
 */
int store_flush(struct store_file *sf);

/* Read up to len bytes at off.  Returns bytes read (0 at end) or CFT_E_IO. */
long store_read(struct store_file *sf, uint64_t off, void *buf, size_t len);

/*
 * Give the verified temporary file its final name, atomically replacing any
 * file of that name, then make the rename durable (fsync the directory).
 * Closes the file.  Returns 0 or CFT_E_IO (errno).
 */
int store_commit(struct store_file *sf);

/* Close and remove the temporary file (no-op if none is open). */
void store_abort(struct store_file *sf);

#endif
