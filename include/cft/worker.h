/*
 * A worker: one thread that runs jobs, in the order given, beside the event
 * loop.  The disk work of a transfer (the sender's independent read, the
 * receiver's writes and its read-back) takes as long as the network part or
 * longer; run in the loop it would stop the loop answering, and run after
 * the data phase it would add its time to the transfer's.  A worker lets it
 * overlap, while every decision stays in the loop's thread: a job's run()
 * touches only what its submitter handed it, and its done() runs back in
 * the loop's thread, from worker_reap.
 *
 * A finished job wakes the loop (loop_wake), whose tick then reaps.
 *
 * Without a thread (threaded = false: the unit tests, and the fallback when
 * no thread can be made) a job runs inside worker_submit; its done() still
 * waits for worker_reap, so the caller sees the same order of events.  With
 * `lag` set as well (tests), a job runs only at the lag-th worker_reap after
 * the one it was submitted in (or before), and its done() is called at the
 * next: a disk slower than the network, deterministically.
 */
#ifndef CFT_WORKER_H
#define CFT_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct worker;

struct worker_job {
	void (*run)(struct worker_job *j);	/* in the worker */
	void (*done)(struct worker_job *j);	/* in the loop's thread */
	struct worker *w;			/* set by worker_submit */
	struct worker_job *next;		/* the worker's */
	unsigned age;				/* lagging: reaps it has waited */
};

struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;			/* work to do, or quit */
	pthread_cond_t idle;			/* nothing queued or running */
	struct worker_job *todo, **todo_tail;	/* under lock */
	struct worker_job *ended, **ended_tail;	/* run, done() not yet called */
	unsigned lag;				/* inline only: see above */
	unsigned pending;			/* submitted, not yet reaped */
	unsigned gen;				/* bumped by worker_drain */
	bool threaded, started;
	bool quit;				/* under lock */
	bool busy;				/* running a job; under lock */
	atomic_bool cancel;			/* long jobs stop early */
	atomic_uint nended;			/* jobs in `ended`: a cheap peek */
};

/*
 * Ready a worker, with its own thread if `threaded` (falling back to none
 * if the thread cannot be made), named `name` (at most 15 bytes: what top
 * -H and perf show).  Returns 0, or -1 if the worker cannot be used at all.
 */
int worker_start(struct worker *w, bool threaded, const char *name);

/* Queue j (not already queued) to run after the jobs before it. */
void worker_submit(struct worker *w, struct worker_job *j);

/* Call done() of every job that has run, in the order they ran. */
void worker_reap(struct worker *w);

/* Jobs submitted whose done() has not been called yet. */
static inline unsigned worker_pending(const struct worker *w)
{
	return w->pending;
}

/* For a job's run(): should it stop early (the worker is being stopped)? */
static inline bool worker_cancelled(const struct worker *w)
{
	return atomic_load_explicit(&w->cancel, memory_order_relaxed);
}

/*
 * Wait until every job submitted has run (long ones are asked to stop
 * early), and forget them: no done() is called.  For the owner's teardown
 * of what the jobs were working on.
 */
void worker_drain(struct worker *w);

/*
 * Stop: long jobs are asked to stop early, queued jobs still run (so each
 * finds what it was handed intact), the thread is joined.  done() is not
 * called for what had not been reaped.  Safe on a worker never started.
 */
void worker_stop(struct worker *w);

#endif
