/* The event loop: ppoll with the signal discipline, batched datagrams. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cft/loop.h"
#include "cft/util.h"

static volatile sig_atomic_t caught;
static sigset_t unblocked;	/* the mask inside ppoll: SIGINT, SIGTERM let in */
static int wake_fd = -1;	/* readable when a worker has finished a job */

static void on_signal(int sig)
{
	caught = sig;
}

void loop_signals(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGINT);
	sigdelset(&unblocked, SIGTERM);
	if (wake_fd < 0)
		wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void loop_wake(void)
{
	uint64_t one = 1;

	if (wake_fd >= 0 && write(wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so a wake-up is pending anyway. */
	}
}

int loop_caught(void)
{
	return caught;
}

/* Sleep until input, the deadline, max_wait_us, a worker or a signal.  The
 * wake-up descriptor, when there is one, is pfd[n]. */
static int wait_input(struct pollfd *pfd, const int *fds, unsigned n, uint64_t deadline,
		      uint64_t now, uint64_t max_wait_us)
{
	uint64_t wait = deadline > now ? deadline - now : 0;
	struct timespec ts;

	if (wait > max_wait_us)
		wait = max_wait_us;
	ts.tv_sec = (time_t)(wait / 1000000u);
	ts.tv_nsec = (long)(wait % 1000000u) * 1000;
	for (unsigned i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	pfd[n] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
	return ppoll(pfd, n + 1, &ts, &unblocked);
}

/* Hand over message i of a batch: one datagram, or a run of them that the
 * kernel coalesced, which arrived together and so at one time; each cut to
 * dgram_max + 1 when it was longer. */
static void hand_over(const struct loop *l, struct net_batch *in, unsigned which, unsigned i)
{
	const uint8_t *data = net_batch_data(in, i);
	size_t total = in->m[i].msg_len, seg = in->seg[i] ? in->seg[i] : total, off = 0;
	uint64_t now = util_now_us();

	do {
		size_t len = total - off < seg ? total - off : seg;

		l->datagram(l->ctx, which, now, &in->addr[i], data + off,
			    len > l->dgram_max ? l->dgram_max + 1 : len);
		off += len;
	} while (off < total);
}

/* Hand over what is waiting on fds[which], a batch at a time. */
static void drain(const struct loop *l, struct net_batch *in, unsigned which, int fd)
{
	for (unsigned round = 0; round < LOOP_BATCHES_PER_WAKE; round++) {
		int n = net_batch_recv(fd, in);

		if (n == NET_REFUSED && l->refused) {
			l->refused(l->ctx, which, util_now_us());
			continue;	/* what else is waiting */
		}
		for (int i = 0; i < n; i++)
			hand_over(l, in, which, (unsigned)i);
		l->flush(l->ctx);
		if (n < NET_BATCH)
			break;	/* drained (or a real error: the next wake-up retries) */
	}
}

int loop_run(const struct loop *l)
{
	struct pollfd pfd[LOOP_FDS_MAX + 1];
	int fds[LOOP_FDS_MAX];
	struct net_batch in;
	int ret = -1;

	if (net_batch_init(&in, l->dgram_max, NET_RECEIVE) < 0) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		uint64_t now = util_now_us();
		unsigned n;

		if (l->finished(l->ctx)) {
			ret = 0;
			break;
		}
		if (caught) {
			ret = caught;
			break;
		}
		n = l->fds(l->ctx, fds, LOOP_FDS_MAX);
		if (wait_input(pfd, fds, n, l->deadline(l->ctx, now), now, l->max_wait_us) < 0 &&
		    errno != EINTR)
			break;
		/* POLLERR too: an ICMP error must be read to be cleared. */
		for (unsigned i = 0; i < n; i++)
			if (pfd[i].revents & (POLLIN | POLLERR))
				drain(l, &in, i, fds[i]);
		if (pfd[n].revents & POLLIN) {
			uint64_t count;

			/* Workers finished jobs: the tick below reaps them. */
			if (read(wake_fd, &count, sizeof(count)) < 0) {
				/* EAGAIN: another wait drained it first */
			}
		}
		l->tick(l->ctx, util_now_us());
		l->flush(l->ctx);
	}
	net_batch_free(&in);
	return ret;
}
