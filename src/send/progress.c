/* The sender's progress line, as text (progress.h). */
#include <stdio.h>

#include "cft/util.h"
#include "progress.h"

/* What is happening, when it is not the plain sending of data. */
static const char *words(const struct progress *p)
{
	switch (p->phase) {
	case SEND_HELLO:
		return p->answered ? "the receiver restarted: opening the session again"
				   : "waiting for the receiver";
	case SEND_OFFER:
		return "offering the file";
	case SEND_DATA:
		return p->held ? "resuming: only what the receiver lacks is sent" : "";
	case SEND_VERIFY:
		return "checking the copy on the receiver's disk";
	case SEND_SUMS:
		return "finding the blocks that differ";
	case SEND_COMMIT:
		return "giving the file its name";
	default:
		return "";
	}
}

uint64_t progress_held(struct progress_hold *h, uint32_t file, uint64_t bytes)
{
	if (file != h->file) {
		h->file = file;
		h->bytes = 0;
	}
	if (bytes > h->bytes)
		h->bytes = bytes;
	return h->bytes;
}

void progress_text(const struct progress *p, char *out, size_t cap)
{
	double rate = p->secs > 0 ? (double)p->done / p->secs : 0.0;
	char a[32], b[32], eta[32] = "";
	const char *w = words(p);

	util_human_bytes(p->done, a, sizeof(a));
	util_human_bytes(p->total, b, sizeof(b));
	/* Time left only while data moves, at the rate so far. */
	if (p->phase == SEND_DATA && rate > 0 && p->done < p->total) {
		double left = (double)(p->total - p->done) / rate;
		unsigned long s = left < 360000 ? (unsigned long)(left + 0.5) : 359999;

		if (s >= 3600)
			snprintf(eta, sizeof(eta), "  ETA %lu:%02lu:%02lu", s / 3600, s / 60 % 60,
				 s % 60);
		else
			snprintf(eta, sizeof(eta), "  ETA %lu:%02lu", s / 60, s % 60);
	}
	snprintf(out, cap, "%s %3.0f%% %s / %s %.1f MiB/s%s%s%s", p->name,
		 p->total ? 100.0 * (double)p->done / (double)p->total : 100.0, a, b,
		 rate / 1048576.0, eta, w[0] ? "  " : "", w);
}
