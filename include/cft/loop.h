/*
 * The one event loop every cft program waits in.
 *
 * A program fills in a struct loop (its descriptors, what to do with a
 * datagram, what to do when time passes, when it next needs to run) and calls
 * loop_run.  The loop owns the waiting and the signal discipline: SIGINT and
 * SIGTERM stay blocked except inside ppoll, so a signal can only land while
 * the program waits, never between its check of the flag and the wait; it
 * receives datagrams in batches (recvmmsg) and hands them over one by one.
 * The engines never see a socket or a clock of their own.
 */
#ifndef CFT_LOOP_H
#define CFT_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cft/net.h"

/* Descriptors one loop waits on at most (cft-shim: its own plus one per
 * client). */
#define LOOP_FDS_MAX 80

/*
 * Batches of datagrams drained from each descriptor per wake-up before the
 * program's timers run: enough that a flood is read in large gulps, few
 * enough that timers (retransmission, STATUS) still run every few hundred
 * datagrams.
 */
#define LOOP_BATCHES_PER_WAKE 8

struct loop {
	void *ctx;			/* passed to every callback */
	size_t dgram_max;		/* largest datagram worth receiving, bytes */
	uint64_t max_wait_us;		/* longest sleep, whatever the deadline */
	/* The descriptors to wait on now, into fds (at most cap); returns how
	 * many.  Datagram callbacks name a descriptor by its index here. */
	unsigned (*fds)(void *ctx, int *fds, unsigned cap);
	/* One datagram from fds[which]; len is dgram_max + 1 when it was
	 * longer than dgram_max (cut short: count it and drop it). */
	void (*datagram)(void *ctx, unsigned which, uint64_t now, const struct net_addr *from,
			 const uint8_t *buf, size_t len);
	/* Time passed (after every wake-up): timers, output, reports. */
	void (*tick)(void *ctx, uint64_t now);
	/* Absolute time (us, util_now_us) by which tick must run; UINT64_MAX
	 * for none. */
	uint64_t (*deadline)(void *ctx, uint64_t now);
	/* Send what the callbacks queued (after each batch and each tick). */
	void (*flush)(void *ctx);
	/* True once the program's work is done. */
	bool (*finished)(void *ctx);
	/* Optional: fds[which], a connected socket, was refused (the peer's
	 * host says nothing listens on that port). */
	void (*refused)(void *ctx, unsigned which, uint64_t now);
};

/*
 * Block SIGINT and SIGTERM and catch them as a flag, and make the wake-up
 * descriptor of loop_wake.  Call once, before the first loop_run (and
 * before anything that should not be interrupted, or starts a thread).
 */
void loop_signals(void);

/*
 * Wake the loop so that its tick runs now: called by a worker thread when a
 * job has finished (worker.h).  Safe from any thread; a no-op before
 * loop_signals.
 */
void loop_wake(void);

/* The signal that arrived (SIGINT, SIGTERM), or 0. */
int loop_caught(void);

/*
 * Wait and dispatch until l->finished says so (returns 0), a signal arrives
 * (returns its number, with the program's work left as it stood), or the
 * wait itself fails (returns -1, errno set).
 */
int loop_run(const struct loop *l);

#endif
