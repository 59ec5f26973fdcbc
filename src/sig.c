/* Signal flag and the one place programs wait. */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "sig.h"

volatile sig_atomic_t sig_caught;
static sigset_t unblocked;

static void on_signal(int sig)
{
	sig_caught = sig;
}

void sig_setup(void)
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
}

int sig_poll(int fd, uint64_t deadline, uint64_t now, uint64_t max_wait_us)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t wait = deadline > now ? deadline - now : 0;
	struct timespec ts;

	if (wait > max_wait_us)
		wait = max_wait_us;
	ts.tv_sec = (time_t)(wait / 1000000u);
	ts.tv_nsec = (long)(wait % 1000000u) * 1000;
	return ppoll(&p, 1, &ts, &unblocked);
}
