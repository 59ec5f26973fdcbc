/*
 * Reads that go to the disk, not the page cache (O_DIRECT), for the two
 * reads the end-to-end check relies on: the receiver's read-back of what it
 * wrote, and the sender's independent read of the source; and the
 * receiver's writes, which then cost no copy into the page cache.  A read through
 * the page cache could return the very pages that were written or sent;
 * O_DIRECT asks the device, and costs no copy.  Where a file system refuses
 * O_DIRECT, callers fall back to a plain read after dropping the cached
 * pages (posix_fadvise), which is advisory.
 */
#ifndef CFT_DIO_H
#define CFT_DIO_H

#include <stddef.h>
#include <stdint.h>

/* Alignment of buffers, offsets and lengths for O_DIRECT, in bytes: the
 * largest logical block size of common devices. */
#define DIO_ALIGN 4096

/*
 * Buffers of DIO_HUGE bytes or more are laid in huge pages where the kernel
 * has them (transparent huge pages, asked for with madvise).  A direct I/O
 * hands the device one segment per physically contiguous run of its buffer:
 * 256 for 1 MiB of 4 KiB pages, which a virtio disk (254 segments at most)
 * splits in two requests and maps page by page.  In huge pages the same I/O
 * is one segment.  On this project's test machines that took a 1 GiB
 * transfer from 3.8 s to 2.5 s; the CPU spent was the same.
 */
#define DIO_HUGE (2u * 1024 * 1024)

/* A buffer with room for n bytes rounded up to DIO_ALIGN, aligned for
 * direct I/O (to DIO_HUGE, and its size rounded up to it, when n is at
 * least DIO_HUGE), or NULL.  Free with free(). */
void *dio_alloc(size_t n);

/*
 * Open path (relative to dirfd; never through a symbolic link) for direct
 * I/O with `flags` (O_RDONLY or O_RDWR), and check it is the very file
 * `same` is open on (device and inode).  Returns the descriptor, or -1 when
 * the file system cannot, or the name now refers to another file.
 */
int dio_open(int dirfd, const char *path, int same, int flags);

/* Make reads through fd direct.  Returns 0, or -1 when the file system
 * cannot (fd is then as it was). */
int dio_enable(int fd);

/*
 * Read at least `want` bytes at off (aligned to DIO_ALIGN) into buf (from
 * dio_alloc, with room for want rounded up to DIO_ALIGN), asking the disk.
 * Returns the bytes read: want, or fewer at the end of the file; -1 on an
 * error (errno).
 */
long dio_read(int fd, void *buf, size_t want, uint64_t off);

#endif
