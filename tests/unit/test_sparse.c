/*
 * Sparse files: a block that is a hole at the source goes as one HOLE, is
 * left a hole at the receiver, and the copy still verifies end to end;
 * through a lossy link too (a lost HOLE is sent again).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/exit.h"
#include "harness.h"

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
