/*
 * SIGINT and SIGTERM as a flag.  The signals stay blocked except inside
 * sig_poll, so a signal can only land while we wait, never between checking
 * the flag and starting to wait.
 */
#ifndef CFT_SIG_H
#define CFT_SIG_H

#include <poll.h>
#include <signal.h>
#include <stdint.h>

extern volatile sig_atomic_t sig_caught;

void sig_setup(void);
/* poll() one descriptor for input until the absolute deadline (us, from
 * util_now_us; UINT64_MAX for none) or at most max_wait_us; returns like poll. */
int sig_poll(int fd, uint64_t deadline, uint64_t now, uint64_t max_wait_us);

#endif
