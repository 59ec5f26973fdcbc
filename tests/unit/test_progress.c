/* The progress line a person reads: words for what happens, rate, ETA. */
#include <criterion/criterion.h>
#include <string.h>

#include "send/progress.h"

static const char *line(struct progress p)
{
	static char out[PROGRESS_TEXT_MAX];

	progress_text(&p, out, sizeof(out));
	return out;
}

TestSuite(progress);

Test(progress, says_what_happens)
{
	struct progress p = { .name = "big.iso", .total = 100 << 20, .secs = 1 };

	cr_assert(strstr(line(p), "waiting for the receiver"), "%s", line(p));
	p.answered = true;
	cr_assert(strstr(line(p), "the receiver restarted"), "%s", line(p));
	p.phase = SEND_DATA;
	p.done = 10 << 20;
	cr_assert(!strstr(line(p), "resuming"), "%s", line(p));
	p.held = true;
	cr_assert(strstr(line(p), "resuming"), "%s", line(p));
	p.phase = SEND_VERIFY;
	cr_assert(strstr(line(p), "checking the copy on the receiver's disk"), "%s", line(p));
	p.phase = SEND_SUMS;
	cr_assert(strstr(line(p), "finding the blocks that differ"), "%s", line(p));
}

Test(progress, rate_and_time_left)
{
	/* 25 MiB of 100 in 5 s: 5 MiB/s, 75 MiB left, 15 s. */
	struct progress p = { .name = "f", .done = 25 << 20, .total = 100 << 20, .secs = 5,
			      .phase = SEND_DATA, .answered = true };

	cr_assert(strstr(line(p), " 25% "), "%s", line(p));
	cr_assert(strstr(line(p), "5.0 MiB/s"), "%s", line(p));
	cr_assert(strstr(line(p), "ETA 0:15"), "%s", line(p));
	/* Hours when it takes that long: 1 byte a second, 3661 left. */
	p.done = 1;
	p.total = 3662;
	p.secs = 1;
	cr_assert(strstr(line(p), "ETA 1:01:01"), "%s", line(p));
	/* No guess before any byte, nor while the copy is checked. */
	p.done = 0;
	cr_assert(!strstr(line(p), "ETA"), "%s", line(p));
	p.done = 1;
	p.phase = SEND_VERIFY;
	cr_assert(!strstr(line(p), "ETA"), "%s", line(p));
}

Test(progress, confirmed_bytes_never_go_back)
{
	struct progress_hold h = { 0 };

	cr_assert_eq(progress_held(&h, 0, 100), 100u);
	cr_assert_eq(progress_held(&h, 0, 660), 660u);
	/* The receiver restarted: it confirms less for a while. */
	cr_assert_eq(progress_held(&h, 0, 400), 660u);
	cr_assert_eq(progress_held(&h, 0, 1000), 1000u);
	/* The next file starts from its own zero. */
	cr_assert_eq(progress_held(&h, 1, 5), 5u);
}
