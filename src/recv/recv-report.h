/*
 * What cft-recv tells people and scripts: the engine's events as log lines
 * (-v for the steps, normal for files committed, errors for failures) and as
 * --json (one object per finished session, on standard output), and its
 * counters.  Both renderings read the same events.
 */
#ifndef CFT_RECV_REPORT_H
#define CFT_RECV_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "recv-engine.h"

/* Files listed per session in --json output; past this they are counted. */
#define RECV_REPORT_FILES_MAX 1024

struct recv_report_session;	/* the files one session committed, for --json */

#define RECV_LOG_CAUSES 8		/* exit statuses 0..7 */

struct recv_report {
	bool json;
	const struct recv_counters *c;	/* printed with each session's JSON */
	struct recv_report_session *js[CFT_SESSIONS_MAX];
	struct recv_log_limit {		/* log lines of failed sessions, by status */
		uint64_t since;
		unsigned shown, held;
	} limit[RECV_LOG_CAUSES];
};

/* An engine event (recv_io.event, ctx a recv_report). */
void recv_report_event(void *ctx, const struct recv_event *ev);

/* The counters, one line (for -v at exit). */
void recv_report_counters(const struct recv_counters *c);

/* Forget sessions still listed (at exit). */
void recv_report_free(struct recv_report *r);

#endif
