/*
 * What cft-send tells people and scripts: the engine's events as -v lines,
 * the progress line on a terminal, the closing summary (in sha256sum format
 * on standard output), and --json.  Every rendering reads the same events
 * and the same results, so they cannot disagree.
 */
#ifndef CFT_SEND_REPORT_H
#define CFT_SEND_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "progress.h"
#include "send-session.h"

struct send_report {
	const struct send_file *files;
	uint32_t nfiles;
	unsigned skipped;		/* links and special files left out of trees */
	struct progress_hold shown;	/* the progress line's confirmed bytes */
	bool verbose, json, progress;	/* progress: a live line on stderr */
	bool dry_run;			/* answers, not digests, at the end */
	uint64_t started;		/* util_now_us at the first datagram */
	uint64_t last_progress, last_repairs;
	const struct send_session *s;	/* NULL until there is one */
};

/* An engine event, as a -v line (send_config.event, ctx a send_report). */
void send_report_event(void *ctx, const struct send_event *ev);

/* Time passed: refresh the progress line, and with -v the repair counts. */
void send_report_tick(struct send_report *r, uint64_t now);

/*
 * The run is over with exit status `status`: clear the progress line, then
 * the summary (unless quiet) or the error, and the --json object.  `error`
 * is the message when there is no session to ask (the run stopped before).
 */
/* --json for a command line refused before anything ran: status and why. */
void send_report_usage(int status, const char *error);

void send_report_end(struct send_report *r, int status, const char *error, bool quiet,
		     uint64_t now);

#endif
