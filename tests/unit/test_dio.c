/*
 * Buffers for direct I/O: aligned for O_DIRECT always, and from DIO_HUGE
 * bytes on laid on huge-page boundaries, so that the kernel can back them
 * with huge pages and a direct I/O is one segment for the device (dio.h).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cft/dio.h"

static uintptr_t alignment_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	return a & -a;		/* the lowest bit set */
}

/* Fill every byte the buffer promises: past its end the sanitizers shout. */
static void *filled(size_t n)
{
	uint8_t *p = dio_alloc(n);

	cr_assert_not_null(p, "dio_alloc(%zu)", n);
	memset(p, 0xa5, (n + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN);
	return p;
}

Test(dio, small_buffers_are_aligned_for_direct_io)
{
	const size_t sizes[] = { 1, DIO_ALIGN - 1, DIO_ALIGN, 4 * DIO_ALIGN + 1, 1u << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = filled(sizes[i]);

		cr_expect_geq(alignment_of(p), DIO_ALIGN, "%zu bytes at %p", sizes[i], p);
		free(p);
	}
}

Test(dio, huge_from_the_limit_on)
{
	void *below = filled(DIO_HUGE - 1), *at = filled(DIO_HUGE),
	     *past = filled(DIO_HUGE + 1), *window = filled(8u * DIO_HUGE / 2);

	/* Below the limit nothing promises more than DIO_ALIGN; at it and
	 * past it, a huge page's boundary. */
	cr_expect_geq(alignment_of(below), DIO_ALIGN);
	cr_expect_geq(alignment_of(at), DIO_HUGE, "DIO_HUGE bytes at %p", at);
	cr_expect_geq(alignment_of(past), DIO_HUGE, "DIO_HUGE + 1 bytes at %p", past);
	cr_expect_geq(alignment_of(window), DIO_HUGE, "a window at %p", window);
	free(below);
	free(at);
	free(past);
	free(window);
}

/* A size that rounding up would wrap is refused before any allocation. */
Test(dio, size_that_would_wrap_is_refused)
{
	cr_expect_null(dio_alloc(SIZE_MAX - 1));
	cr_expect_null(dio_alloc(SIZE_MAX - DIO_HUGE + 2));
}
