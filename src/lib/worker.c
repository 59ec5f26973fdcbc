/* One thread running jobs in order beside the event loop; see worker.h. */
#include <string.h>

#include "cft/loop.h"
#include "cft/worker.h"

static struct worker_job *take(struct worker *w)
{
	struct worker_job *j;

	pthread_mutex_lock(&w->lock);
	while (!w->todo && !w->quit)
		pthread_cond_wait(&w->wake, &w->lock);
	j = w->todo;
	if (j) {
		w->todo = j->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		w->busy = true;
	}
	pthread_mutex_unlock(&w->lock);
	return j;
}

static void ended(struct worker *w, struct worker_job *j)
{
	pthread_mutex_lock(&w->lock);
	j->next = NULL;
	*w->ended_tail = j;
	w->ended_tail = &j->next;
	atomic_fetch_add(&w->nended, 1);
	w->busy = false;
	if (!w->todo)
		pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
}

static void *thread_main(void *arg)
{
	struct worker *w = arg;
	struct worker_job *j;

	/* Only the loop's thread takes SIGINT and SIGTERM: it inherited them
	 * blocked (loop_signals), and they stay so here. */
	while ((j = take(w)) != NULL) {
		j->run(j);
		ended(w, j);
		loop_wake();
	}
	return NULL;
}

int worker_start(struct worker *w, bool threaded, const char *name)
{
	memset(w, 0, sizeof(*w));
	w->todo_tail = &w->todo;
	w->ended_tail = &w->ended;
	if (pthread_mutex_init(&w->lock, NULL) != 0)
		return -1;
	if (pthread_cond_init(&w->wake, NULL) != 0) {
		pthread_mutex_destroy(&w->lock);
		return -1;
	}
	if (pthread_cond_init(&w->idle, NULL) != 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		return -1;
	}
	w->started = true;
	w->threaded = threaded && pthread_create(&w->thread, NULL, thread_main, w) == 0;
	if (w->threaded)
		(void)pthread_setname_np(w->thread, name);
	return 0;
}

void worker_submit(struct worker *w, struct worker_job *j)
{
	j->w = w;
	j->next = NULL;
	w->pending++;
	if (!w->threaded && w->lag) {
		j->age = 0;		/* run some reaps later */
		*w->todo_tail = j;
		w->todo_tail = &j->next;
		return;
	}
	if (!w->threaded) {
		j->run(j);
		ended(w, j);
		return;
	}
	pthread_mutex_lock(&w->lock);
	*w->todo_tail = j;
	w->todo_tail = &j->next;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* Lagging, inline: hand back what ran at the last reap; then run, in
 * order, what has waited `lag` reaps since it was submitted. */
static void reap_lagging(struct worker *w)
{
	struct worker_job *j = w->ended, *q;
	unsigned gen = w->gen;

	w->ended = NULL;
	w->ended_tail = &w->ended;
	atomic_store(&w->nended, 0);
	while (j && w->gen == gen) {
		struct worker_job *next = j->next;

		w->pending--;
		j->done(j);
		j = next;
	}
	if (w->gen != gen)
		return;
	/* What done() submitted just now waits too. */
	for (q = w->todo; q; q = q->next)
		q->age++;
	while ((q = w->todo) != NULL && q->age > w->lag) {
		w->todo = q->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		q->run(q);
		ended(w, q);
	}
}

void worker_reap(struct worker *w)
{
	struct worker_job *j;

	if (w->started && w->lag && !w->threaded) {
		reap_lagging(w);
		return;
	}
	if (!w->started || atomic_load(&w->nended) == 0)
		return;
	pthread_mutex_lock(&w->lock);
	j = w->ended;
	w->ended = NULL;
	w->ended_tail = &w->ended;
	atomic_store(&w->nended, 0);
	pthread_mutex_unlock(&w->lock);
	/* A done() may drain the worker (its owner tears down): the rest of
	 * this list is then forgotten too. */
	for (unsigned gen = w->gen; j && w->gen == gen;) {
		/* done() may submit again, and so reuse j->next: step first. */
		struct worker_job *next = j->next;

		w->pending--;
		j->done(j);
		j = next;
	}
}

void worker_drain(struct worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->threaded) {
		atomic_store(&w->cancel, true);
		while (w->todo || w->busy)
			pthread_cond_wait(&w->idle, &w->lock);
		atomic_store(&w->cancel, false);
	}
	w->ended = NULL;
	w->ended_tail = &w->ended;
	if (!w->threaded) {
		w->todo = NULL;		/* lagging: not yet run, never will */
		w->todo_tail = &w->todo;
	}
	atomic_store(&w->nended, 0);
	pthread_mutex_unlock(&w->lock);
	w->pending = 0;
	w->gen++;
}

void worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	if (w->threaded) {
		atomic_store(&w->cancel, true);
		pthread_mutex_lock(&w->lock);
		w->quit = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->lock);
	w->started = false;
}
