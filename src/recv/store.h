/*
 * The receiver's files: a temporary file per incoming file, in the
 * destination directory, that only gets its final name once verified.
 *
 * Every name is resolved relative to the directory descriptor with *at()
 * calls and checked by util_name_valid first, so nothing is written outside
 * the destination.  Temporary names start with CFT_TEMP_PREFIX, which no
 * accepted file name may, so they never collide with a user's file.
 *
 * A temporary file is named after its final name (CFT_TEMP_PREFIX and 16 hex
 * digits of the name's SHA-256), and a state file beside it (the same name
 * plus ".state") records which source it belongs to, so that a transfer cut
 * short can be resumed by a later session.  The state file is written to a
 * new name, fsynced and renamed, so a crash leaves the old one or the new
 * one, never a torn one; its own digest catches anything else.  It never
 * vouches for the data: what a partial file holds is read back and checked
 * against the sender's block digests before any of it is kept.
 */
#ifndef CFT_STORE_H
#define CFT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cft/limits.h"

struct store_file {
	int dirfd;		/* DIR, borrowed: the temporary and state files */
	int parent;		/* the final name's directory: dirfd, or one
				 * below it (ours to close) */
	bool dir;		/* a directory of a tree, not a file */
	int fd;			/* temporary file, read-write */
	int dfd;		/* the same file, O_DIRECT, or -1 (file system) */
	int dwrite;		/* writes may go through dfd (the writer's) */
	uint64_t size;
	mode_t mode;		/* what the file is to have when committed */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	char tmpname[64];
	char statename[80];
	char name[CFT_PATH_MAX + 1];	/* below DIR, as offered */
	const char *leaf;	/* its last name, in parent */
	int existing;		/* fd is the final file itself, read-only */
};

/* Where a file's data comes from when it is offered. */
enum store_origin {
	STORE_FRESH,		/* a new, empty temporary file */
	STORE_PARTIAL,		/* a partial file of the same source, to check */
	STORE_EXISTING,		/* the final file, same size, to check */
};

/* The source a partial file belongs to, as recorded in its state file. */
struct store_source {
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t block_size;
};

/*
 * Open the destination directory and check it is a writable directory.
 * Returns the descriptor, or -1 with errno set.
 */
int store_open_dir(const char *path);

/*
 * Open what a file offered as `name` (already validated) from `src` starts
 * from, into sf, and say which in *origin: the final file when it exists
 * with the same size (to be checked as it is), else a partial file left by
 * an earlier session for the same source (size, modification time, block
 * size), else a new temporary file with its state file, its space reserved
 * so that a full disk shows now rather than halfway.  A partial file for
 * another source, or with a damaged state file, is discarded.  With
 * no_existing the final file is not considered.  The file is to have `mode`
 * and the source's modification time once committed.
 * Returns 0 or CFT_E_IO (errno tells: ENOSPC, EACCES, ...).
 */
int store_open(int dirfd, const char *name, const struct store_source *src, mode_t mode,
	       int no_existing, struct store_file *sf, enum store_origin *origin);
/*
 * A directory of a tree, offered as `name`: created (mode 0700 until its
 * commit) if it is not there, and opened as an existing final file of no
 * bytes (STORE_EXISTING): its check is of its mode and time, which the
 * commit gives it.  Returns 0 or CFT_E_IO (ENOTDIR: something else has the
 * name).
 */
int store_open_dir_entry(int dirfd, const char *name, const struct store_source *src,
			 mode_t mode, struct store_file *sf);
/*
 * A dry run: what a real run would check in place, opened as an existing
 * final file (0), or 1 when there is none (absent, another size or type,
 * or a path that is not all directories).  Nothing is created.
 */
int store_find(int dirfd, const char *name, const struct store_source *src, mode_t mode,
	       bool dir, struct store_file *sf);

/* Does the final name of sf exist (as anything)?  As a directory? */
int store_final_exists(const struct store_file *sf);
int store_final_is_dir(const struct store_file *sf);

/* Replace whatever sf holds by a new, empty temporary file (after the final
 * file or a partial one turned out to differ).  Returns 0 or CFT_E_IO. */
int store_restart(struct store_file *sf, const struct store_source *src);

/*
 * Keep the space that partial files not held by a live session (live(ctx,
 * name) false) take in dirfd within `quota` bytes: remove the least recently
 * modified, each with its state file, until they fit.  Returns how many
 * partial files were removed.
 */
int store_evict(int dirfd, uint64_t quota, bool (*live)(void *ctx, const char *name), void *ctx);
/* The bytes free to unprivileged users on DIR's file system. */
int store_space(int dirfd, uint64_t *avail);
/* The bytes a temporary (new or partial) file takes on disk; 0 for an
 * existing final file, which is verified in place. */
uint64_t store_held(const struct store_file *sf);

/*
 * Remove temporary and state files in dirfd not modified for ttl seconds
 * (abandoned transfers), but none for which live(ctx, name) is true (a
 * session holds it, however long it has been idle).  Returns how many files
 * were removed.
 */
int store_sweep(int dirfd, uint64_t ttl_s, bool (*live)(void *ctx, const char *name), void *ctx);

/* Write len bytes at off, from buf (from dio_alloc): directly to the device
 * where the file system allows, all but a last piece shorter than
 * DIO_ALIGN.  Returns 0 or CFT_E_IO (errno). */
int store_write(struct store_file *sf, uint64_t off, const void *buf, size_t len);

/* Make len bytes at off zeros taking no space: a hole (punched, where the
 * file system can; else written as zeros).  Returns 0 or CFT_E_IO. */
int store_zero(struct store_file *sf, uint64_t off, size_t len);

/* Make what was written so far durable (its data, and the size and
 * allocation that reach it), so that it can be read back; without direct
 * reads, also drop the file's cached pages.  Returns 0 or CFT_E_IO. */
int store_sync(struct store_file *sf);

/* A file's size, permission bits and modification time, as the file
 * system holds them. */
struct store_meta {
	uint64_t size;
	uint32_t mode;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
};

/*
 * Make the written data durable and drop it from the page cache, so that the
 * read-back that follows comes from the disk, not from memory we wrote.  A
 * temporary file first gets the mode and modification time it is to keep
 * (after the last write, which would change the time).  Returns 0 or
 * CFT_E_IO.
 */
int store_flush(struct store_file *sf);

/* What the file holds now.  Returns 0 or CFT_E_IO. */
int store_meta(struct store_file *sf, struct store_meta *m);

/* Read len bytes at off (fewer at the end of the file) into buf, from
 * dio_alloc: from the device where the file system allows.  Returns bytes
 * read or CFT_E_IO. */
long store_read(struct store_file *sf, uint64_t off, void *buf, size_t len);

/*
 * Give the verified temporary file its final name, atomically replacing any
 * file of that name, then make the rename durable (fsync the directory),
 * and remove the state file.  An existing final file keeps its name: it only
 * gets the mode and modification time, made durable.  *m is what the file
 * then holds.  Closes the file.  Returns 0 or CFT_E_IO (errno).
 */
int store_commit(struct store_file *sf, struct store_meta *m);

/* Close and remove the temporary file and its state (no-op if none). */
void store_abort(struct store_file *sf);

/* Close, keeping a temporary file and its state for a later resume. */
void store_keep(struct store_file *sf);

#endif
