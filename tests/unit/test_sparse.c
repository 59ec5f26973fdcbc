/*
 * Sparse files: a block that is a hole at the source goes as one HOLE, is
 * left a hole at the receiver, and the copy still verifies end to end;
 * through a lossy link too (a lost HOLE is sent again).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cft/dio.h"
#include "cft/exit.h"
#include "harness.h"
#include "recv/store.h"

/* A file system that cannot punch holes, when asked for: this binary's
 * fallocate() stands in for the C library's (the receiver's store calls
 * it), and passes every other call to the kernel as the library would. */
static bool no_punch;
static unsigned punch_refused;

int fallocate(int fd, int mode, off_t off, off_t len)
{
	if (no_punch && (mode & FALLOC_FL_PUNCH_HOLE)) {
		punch_refused++;
		errno = EOPNOTSUPP;
		return -1;
	}
	return (int)syscall(SYS_fallocate, fd, mode, off, len);
}

TestSuite(sparse, .init = harness_setup, .fini = harness_teardown);

/* A file of `size` bytes with `data` bytes of data at `at`, holes around. */
static void make_sparse(const char *name, off_t size, off_t at, size_t data)
{
	char path[256], buf[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir_src, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, size), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 31 + 7);
	for (size_t done = 0; done < data; done += sizeof(buf))
		cr_assert_eq(pwrite(fd, buf, sizeof(buf), at + (off_t)done), (ssize_t)sizeof(buf));
	close(fd);
}

static blkcnt_t allocated(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(stat(path, &st), 0);
	return st.st_blocks;
}

Test(sparse, holes_stay_holes)
{
	const char *names[] = { "s" };
	const off_t size = 64 << 20;
	struct faults f = { .drop_pct = 5, .dup_pct = 2, .reorder_pct = 3 };

	make_sparse("s", size, 20 << 20, 256 << 10);
	if (allocated(dir_src, "s") * 512 > (2 << 20))
		cr_skip_test("the file system here does not keep holes");
	for (uint64_t seed = 1; seed <= 2; seed++) {
		struct run r;

		clear_dst();
		cr_assert_eq(run_transfer(&r, names, 1, 1 << 20, seed, seed == 1 ? NULL : &f,
					  600000000ull), CFT_EXIT_OK, "seed %llu",
			     (unsigned long long)seed);
		assert_same("s");
		cr_assert_geq(send_stats(r.s)->hole_bytes, (uint64_t)size - (2 << 20),
			      "holes sent as data (seed %llu)", (unsigned long long)seed);
		cr_assert_lt(send_stats(r.s)->datagrams, 2000u, "%llu DATA for 256 KiB",
			     (unsigned long long)send_stats(r.s)->datagrams);
		cr_assert_lt(allocated(dir_dst, "s") * 512, 4 << 20,
			     "the copy takes %lld KiB", (long long)allocated(dir_dst, "s") / 2);
		run_free(&r);
	}
}

/*
 * Where holes cannot be punched, the range is written with zeros instead:
 * over a partial file's earlier bytes too, which a skipped write would
 * leave (a fresh file reads as zeros there anyway, so the test writes
 * first).  Ranges longer than the zero buffer and not a multiple of it.
 */
Test(sparse, zeros_are_written_where_holes_cannot_be_punched)
{
	const size_t len = 3 * CFT_CHUNK_SIZE + 123, at = 4096 + 5;
	const struct store_source src = { .size = 64 << 10, .block_size = 64 << 10 };
	struct store_file sf;
	enum store_origin origin;
	uint8_t *buf = dio_alloc(src.size), *back = dio_alloc(src.size);
	int dirfd = store_open_dir(dir_dst);

	cr_assert(buf && back && dirfd >= 0);
	cr_assert_eq(store_open(dirfd, "z", &src, 0644, 0, &sf, &origin), 0);
	memset(buf, 0xaa, src.size);
	cr_assert_eq(store_write(&sf, 0, buf, src.size), 0);
	no_punch = true;
	punch_refused = 0;
	cr_assert_eq(store_zero(&sf, at, len), 0);
	no_punch = false;
	cr_assert_geq(punch_refused, 1u, "the store never asked to punch");
	memset(buf + at, 0, len);
	cr_assert_eq(store_flush(&sf), 0);
	cr_assert_eq(store_read(&sf, 0, back, src.size), (long)src.size);
	for (size_t i = 0; i < src.size; i++)
		cr_assert_eq(back[i], buf[i], "byte %zu is %#x, not %#x", i, back[i], buf[i]);
	store_abort(&sf);
	close(dirfd);
	free(buf);
	free(back);
}
