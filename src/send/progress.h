/*
 * The sender's progress line, as text: a pure function of what the session
 * says, so that what a person at a terminal reads is tested without one.
 */
#ifndef CFT_SEND_PROGRESS_H
#define CFT_SEND_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "send-engine.h"

struct progress {
	const char *name;		/* the file in progress ("" for none) */
	uint64_t done, total;		/* bytes confirmed, of every file */
	double secs;			/* since the first datagram */
	enum send_phase phase;
	bool answered;			/* the receiver has answered, ever */
	bool held;			/* it checks what it holds of this file */
};

/* A file's confirmed bytes as the line shows them: never fewer than shown
 * before for the same file (after a receiver restarts they are confirmed
 * again, and the words say so). */
struct progress_hold {
	uint32_t file;
	uint64_t bytes;
};
uint64_t progress_held(struct progress_hold *h, uint32_t file, uint64_t bytes);

/* Longest line progress_text writes, its NUL included. */
#define PROGRESS_TEXT_MAX 256

/*
 * "NAME  42%  10.0 MiB / 24.0 MiB  5.1 MiB/s  ETA 0:03  WORDS": the share
 * and rate of the bytes confirmed, the time left at that rate while data
 * moves, and words for what is happening when it is not just sending.
 */
void progress_text(const struct progress *p, char *out, size_t cap);

#endif
