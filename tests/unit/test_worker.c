/* The worker: jobs run in order, off the caller's thread when threaded, and
 * come back only through worker_reap. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>

#include "cft/worker.h"

struct job {
	struct worker_job j;
	int id;
	pthread_t ran_on;
	int *order, *norder;		/* run order, written by the worker */
	int *reaped, *nreaped;		/* done order, written by the caller */
};

static void run(struct worker_job *wj)
{
	struct job *j = (struct job *)wj;

	j->ran_on = pthread_self();
	j->order[(*j->norder)++] = j->id;
}

static void done(struct worker_job *wj)
{
	struct job *j = (struct job *)wj;

	j->reaped[(*j->nreaped)++] = j->id;
}

#define NJOBS 50

/* A worker given NJOBS jobs that record the order they run and end in. */
struct run {
	struct worker w;
	struct job jobs[NJOBS];
	int order[NJOBS], reaped[NJOBS], norder, nreaped;
};

static void submit_all(struct run *r, bool threaded)
{
	r->norder = r->nreaped = 0;
	cr_assert_eq(worker_start(&r->w, threaded, "cft-test"), 0);
	for (int i = 0; i < NJOBS; i++) {
		r->jobs[i] = (struct job){ { .run = run, .done = done }, i, 0, r->order, &r->norder,
					   r->reaped, &r->nreaped };
		worker_submit(&r->w, &r->jobs[i].j);
	}
}

static void run_jobs(bool threaded)
{
	static struct run r;
	struct worker *w = &r.w;
	struct job *jobs = r.jobs;
	int *order = r.order, *reaped = r.reaped;
	int *nreaped = &r.nreaped;

	submit_all(&r, threaded);
	cr_assert_eq(*nreaped, 0, "done() waits for worker_reap");
	cr_assert_eq(worker_pending(w), (unsigned)NJOBS);
	for (int spins = 0; *nreaped < NJOBS && spins < 10000; spins++) {
		const struct timespec ms = { 0, 1000000 };

		worker_reap(w);
		if (*nreaped < NJOBS)
			nanosleep(&ms, NULL);
	}
	cr_assert_eq(*nreaped, NJOBS);
	cr_assert_eq(worker_pending(w), 0u);
	for (int i = 0; i < NJOBS; i++) {
		cr_assert_eq(order[i], i, "run in the order given");
		cr_assert_eq(reaped[i], i, "done in the order run");
		cr_assert_eq(pthread_equal(jobs[i].ran_on, pthread_self()) != 0, !threaded,
			     "job %d ran on the %s thread", i, threaded ? "caller's" : "worker's");
	}
	worker_stop(w);
}

Test(worker, inline_jobs_run_in_order_and_come_back_on_reap)
{
	run_jobs(false);
}

Test(worker, threaded_jobs_run_in_order_off_the_caller)
{
	run_jobs(true);
}

/* Stopping runs what was queued (each job finds its inputs intact) and
 * calls no done(). */
Test(worker, stop_runs_the_queue_and_calls_no_done)
{
	static struct run r;

	submit_all(&r, true);
	worker_stop(&r.w);
	cr_assert_eq(r.norder, NJOBS);
	cr_assert_eq(r.nreaped, 0);
	worker_stop(&r.w);	/* twice: harmless */
}
