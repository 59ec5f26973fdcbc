/*
 * Two kinds of failure.  A broken invariant of our own is a bug: CFT_ASSERT
 * aborts with file and line, always (not compiled out by NDEBUG).  Bad data
 * from a peer is not a bug: callers count it and drop it (see the counters in
 * the session modules); nothing here is used for peer input.
 */
#ifndef CFT_CHECK_H
#define CFT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CFT_ASSERT(cond)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "cft: internal error at %s:%d: %s\n", \
				__FILE__, __LINE__, #cond);                    \
			abort();                                              \
		}                                                             \
	} while (0)

#define CFT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
