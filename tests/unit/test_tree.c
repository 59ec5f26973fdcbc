/*
 * Directory trees at the receiver: names with '/' stay below DIR whatever
 * they say and whatever DIR holds (a symbolic link, a file in the way), a
 * directory entry carries no bytes, and files of a tree travel like any
 * other, through faults, their directories made on the way.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/exit.h"
#include "cft/util.h"
#include "cft/wire.h"
#include "harness.h"

TestSuite(tree, .init = harness_setup, .fini = harness_teardown);

/* Offer `name` (size, flags) to a fresh session; the answer. */
static const struct wire_msg *offer_in_new_session(const char *name, uint64_t size,
						   uint32_t flags)
{
	static struct recv_server srv;
	static int dirfd = -1;
	struct wire_file f = { .size = size, .mode = 0644, .flags = flags,
			       .name = (const uint8_t *)name, .name_len = (uint16_t)strlen(name) };

	if (dirfd >= 0) {
		recv_server_free(&srv);
		close(dirfd);
	}
	open_server(&srv, &dirfd);
	hello(&srv, 4096, 1);
	L.rs.n = 0;
	offer_file(&srv, &f);
	return last_reply();
}

static void assert_refused(const char *name, uint64_t size, uint32_t flags, unsigned reason)
{
	const struct wire_msg *rep = offer_in_new_session(name, size, flags);

	cr_assert_eq(rep->type, WIRE_ERROR, "'%s' was taken", name);
	cr_assert_eq(rep->u.error.reason, reason, "'%s': reason %u, not %u", name,
		     rep->u.error.reason, reason);
}

Test(tree, names_that_leave_dir_are_refused)
{
	assert_refused("../escape", 10, 0, WIRE_R_BAD_NAME);
	assert_refused("a/../../escape", 10, 0, WIRE_R_BAD_NAME);
	assert_refused("/tmp/escape", 10, 0, WIRE_R_BAD_NAME);
	assert_refused("a//b", 10, 0, WIRE_R_BAD_NAME);
	assert_refused("a/", 10, WIRE_FILE_DIRECTORY, WIRE_R_BAD_NAME);
	assert_refused("a/" CFT_TEMP_PREFIX "0123456789abcdef", 10, 0, WIRE_R_BAD_NAME);
	/* A directory has no bytes. */
	assert_refused("d", 5, WIRE_FILE_DIRECTORY, WIRE_R_BAD_REQUEST);
	cr_assert_eq(temp_files(), 0);
}

Test(tree, a_symbolic_link_in_dir_is_not_gone_through)
{
	char outside[96], link[128], victim[160];
	const struct wire_msg *rep;

	snprintf(outside, sizeof(outside), "%s-outside", dir_dst);
	cr_assert_eq(mkdir(outside, 0700), 0);
	snprintf(link, sizeof(link), "%s/sub", dir_dst);
	cr_assert_eq(symlink(outside, link), 0);
	rep = offer_in_new_session("sub/x", 10, 0);
	cr_assert_eq(rep->type, WIRE_ERROR, "an offer through a link was taken");
	rep = offer_in_new_session("sub/y", 0, WIRE_FILE_DIRECTORY);
	cr_assert_eq(rep->type, WIRE_ERROR, "a directory through a link was taken");
	rep = offer_in_new_session("sub", 0, WIRE_FILE_DIRECTORY);
	cr_assert_eq(rep->type, WIRE_ERROR, "a link taken for a directory");
	snprintf(victim, sizeof(victim), "%s/x", outside);
	cr_assert_eq(access(victim, F_OK), -1, "written outside DIR");
	snprintf(victim, sizeof(victim), "%s/y", outside);
	cr_assert_eq(access(victim, F_OK), -1, "a directory made outside DIR");
	unlink(link);
	rmdir(outside);
}

Test(tree, a_file_in_the_way_is_not_a_directory)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/plain", dir_dst);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(offer_in_new_session("plain/x", 10, 0)->type, WIRE_ERROR);
	cr_assert_eq(offer_in_new_session("plain", 0, WIRE_FILE_DIRECTORY)->type, WIRE_ERROR);
	cr_assert_eq(temp_files(), 0);
}

Test(tree, files_of_a_tree_arrive_in_their_directories)
{
	const char *names[] = { "t/a", "t/u/v/b", "t/u/c", "top" };
	struct faults f = { .drop_pct = 5, .dup_pct = 3, .reorder_pct = 5 };
	char path[128];

	snprintf(path, sizeof(path), "%s/t", dir_src);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/t/u", dir_src);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/t/u/v", dir_src);
	cr_assert_eq(mkdir(path, 0755), 0);
	make_file("t/a", 70000, 1);
	make_file("t/u/v/b", 5000, 2);
	make_file("t/u/c", 0, 3);
	make_file("top", 1000, 4);
	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct run r;

		cr_assert_eq(run_transfer(&r, names, 4, 16 * 1024, seed, &f, 600000000ull),
			     CFT_EXIT_OK, "seed %llu", (unsigned long long)seed);
		for (unsigned i = 0; i < 4; i++)
			assert_same(names[i]);
		cr_assert_eq(temp_files(), 0);
		run_free(&r);
	}
}

/* A file offered where a directory has the name: refused at the offer, not
 * after the whole file travelled. */
Test(tree, a_directory_in_the_way_is_said_at_once)
{
	char path[128];
	const struct wire_msg *rep;

	snprintf(path, sizeof(path), "%s/taken", dir_dst);
	cr_assert_eq(mkdir(path, 0755), 0);
	rep = offer_in_new_session("taken", 1 << 20, 0);
	cr_assert_eq(rep->type, WIRE_ERROR, "the offer was taken");
	cr_assert_eq(rep->u.error.reason, WIRE_R_EXISTS);
	cr_assert_eq(temp_files(), 0);
}

/* A dry run makes nothing, not even the directories on the way, and says
 * "absent" for what is not there. */
Test(tree, a_dry_run_makes_nothing)
{
	const struct wire_msg *rep = offer_in_new_session("x/y/z", 10, WIRE_FILE_DRY_RUN);
	char path[128];

	cr_assert_eq(rep->type, WIRE_STATUS);
	cr_assert_eq(rep->u.status.state, WIRE_FS_ABSENT);
	snprintf(path, sizeof(path), "%s/x", dir_dst);
	cr_assert_eq(access(path, F_OK), -1, "a directory was made");
	rep = offer_in_new_session("d", 0, WIRE_FILE_DIRECTORY | WIRE_FILE_DRY_RUN);
	cr_assert_eq(rep->u.status.state, WIRE_FS_ABSENT);
	snprintf(path, sizeof(path), "%s/d", dir_dst);
	cr_assert_eq(access(path, F_OK), -1, "a directory was made");
	cr_assert_eq(temp_files(), 0);
}
