/* cft-send's words: -v events, the progress line, the summary, --json. */
#include <stdio.h>
#include <string.h>

#include "cft/digest.h"
#include "cft/exit.h"
#include "cft/util.h"
#include "progress.h"
#include "send-report.h"

/* -v repair counts, microseconds between reports. */
#define REPAIRS_EVERY_US 1000000
/* Progress line refresh, microseconds. */
#define PROGRESS_EVERY_US 200000

/* A dry run's answer, as it is printed. */
static const char *dry_word(enum send_dry d)
{
	switch (d) {
	case SEND_DRY_UP_TO_DATE: return "up to date";
	case SEND_DRY_WOULD_SEND: return "would send";
	case SEND_DRY_DIFFERS: return "differs";
	default: return "not checked";
	}
}

void send_report_event(void *ctx, const struct send_event *ev)
{
	const struct send_report *r = ctx;
	const char *name = ev->file < r->nfiles ? r->files[ev->file].name : "session";
	char hex[2 * CFT_DIGEST_LEN + 1];

	switch (ev->kind) {
	case SEND_EV_OFFERED:
		log_verbose("%s: offered (%llu bytes)", name,
			    (unsigned long long)r->files[ev->file].size);
		break;
	case SEND_EV_CHECKING:
		log_verbose("%s: both ends are reading it back (round %u)", name, ev->round);
		break;
	case SEND_EV_MISMATCH:
		log_verbose("%s: read-back digest differs from the source; round %u re-sends "
			    "the blocks that differ", name, ev->round);
		break;
	case SEND_EV_COMMITTED:
		digest_hex(r->files[ev->file].digest, hex);
		log_verbose("%s: verified on the receiver's disk and committed: %s  %s", name, hex,
			    name);
		break;
	case SEND_EV_OPENED:
		log_verbose("session open: chunks of %u bytes%s", send_stats(r->s)->chunk_size,
			    send_stats(r->s)->chunk_size > CFT_CHUNK_SIZE ?
			    " (the path carries them)" : "");
		break;
	case SEND_EV_SMALLER:
		log_verbose("%s: the path stopped carrying larger datagrams; starting the "
			    "session again with smaller chunks", name);
		break;
	case SEND_EV_RECONNECTED:
		log_verbose("%s: the receiver restarted; starting the session again", name);
		break;
	case SEND_EV_CHECKED:
		log_verbose("%s: %s", name, dry_word(r->files[ev->file].dry));
		break;
	case SEND_EV_FAILED:
		break;		/* said once, at the end */
	}
}

static void progress_line(struct send_report *r, uint64_t now, bool final)
{
	const struct send_stats *st = send_stats(r->s);
	uint64_t cur_bytes = st->bytes_acked;
	uint32_t cur = st->file;
	char line[PROGRESS_TEXT_MAX];
	struct progress p = {
		.name = cur < r->nfiles ? r->files[cur].name : "",
		.secs = (double)(now - r->started) / 1e6,
		.phase = send_phase(r->s), .answered = send_answered(r->s), .held = send_held(r->s),
	};

	cur_bytes = progress_held(&r->shown, cur, cur_bytes);
	for (uint32_t i = 0; i < r->nfiles; i++) {
		p.total += r->files[i].size;
		if (r->files[i].committed)
			p.done += r->files[i].size;
	}
	if (cur < r->nfiles && !r->files[cur].committed)
		p.done += cur_bytes > r->files[cur].size ? r->files[cur].size : cur_bytes;
	progress_text(&p, line, sizeof(line));
	fprintf(stderr, "\r\033[K%s", line);
	if (final)
		fprintf(stderr, "\r\033[K");
}

void send_report_tick(struct send_report *r, uint64_t now)
{
	if (r->progress && now - r->last_progress >= PROGRESS_EVERY_US) {
		progress_line(r, now, false);
		r->last_progress = now;
	}
	if (r->verbose && now - r->last_repairs >= REPAIRS_EVERY_US) {
		const struct send_stats *st = send_stats(r->s);
		uint64_t done = st->bytes_acked;
		uint32_t cur = st->file;

		log_verbose("%s: %llu bytes confirmed; so far %llu datagrams resent, "
			    "%llu blocks resent, %llu timeouts, %llu end-to-end mismatches",
			    cur < r->nfiles ? r->files[cur].name : "-",
			    (unsigned long long)done, (unsigned long long)st->retransmits,
			    (unsigned long long)st->blocks_resent, (unsigned long long)st->timeouts,
			    (unsigned long long)st->e2e_mismatches);
		r->last_repairs = now;
	}
}

static void json_files(const struct send_report *r)
{
	char hex[2 * CFT_DIGEST_LEN + 1];

	for (uint32_t i = 0; i < r->nfiles; i++) {
		const struct send_file *f = &r->files[i];

		printf("%s{\"name\": ", i ? ", " : "");
		/* Not named yet (a pre-flight failure): the name it would have. */
		if (f->name)
			util_json_string(stdout, f->name);
		else
			util_json_string(stdout, f->path && strrchr(f->path, '/') ?
					 strrchr(f->path, '/') + 1 : f->path ? f->path : "");
		printf(", \"path\": ");
		util_json_string(stdout, f->path ? f->path : "");
		printf(", \"directory\": %s, \"bytes\": %llu, \"committed\": %s, \"sha256\": ",
		       f->dir ? "true" : "false", (unsigned long long)f->size,
		       f->committed ? "true" : "false");
		if (f->committed) {
			digest_hex(f->digest, hex);
			printf("\"%s\"", hex);
		} else {
			printf("null");
		}
		printf(", \"dry_run\": ");
		if (f->dry == SEND_DRY_NONE)
			printf("null");
		else
			util_json_string(stdout, dry_word(f->dry));
		printf(", \"up_to_date\": %s, \"seconds\": %.3f}",
		       f->committed && f->datagrams == 0 && f->size > 0 ? "true" : "false",
		       (double)f->usec / 1e6);
	}
}

/* --json: one object on stdout, whatever the outcome; keys in cft-send(1). */
static void json_summary(const struct send_report *r, int status, const char *error,
			 uint64_t usec)
{
	const struct send_stats *st = r->s ? send_stats(r->s) : NULL;
	uint64_t total = 0;

	printf("{\"program\": \"cft-send\", \"status\": %d, \"error\": ", status);
	if (status == CFT_EXIT_OK)
		printf("null");
	else
		util_json_string(stdout, error);
	printf(", \"seconds\": %.3f, \"files\": [", (double)usec / 1e6);
	json_files(r);
	for (uint32_t i = 0; i < r->nfiles; i++)
		total += r->files[i].size;
	printf("], \"bytes\": %llu, \"skipped\": %u", (unsigned long long)total, r->skipped);
	if (st)
		printf(", \"chunk_size\": %u", st->chunk_size);
	if (st)
		printf(", \"repairs\": {\"datagrams_sent\": %llu, \"datagrams_resent\": %llu, "
		       "\"blocks_resent\": %llu, \"rereads\": %llu, \"e2e_mismatches\": %llu, "
		       "\"resumed\": %llu, \"e2e_rounds\": %llu, "
		       "\"probes\": %llu, \"timeouts\": %llu, \"reconnects\": %llu, "
		       "\"chunksums\": %llu, \"ignored\": %llu, \"hole_bytes\": %llu, "
		       "\"compressed_bytes\": %llu, \"compression_saved\": %llu}",
		       (unsigned long long)st->datagrams, (unsigned long long)st->retransmits,
		       (unsigned long long)st->blocks_resent, (unsigned long long)st->rereads,
		       (unsigned long long)st->e2e_mismatches, (unsigned long long)st->resumed,
		       (unsigned long long)st->e2e_rounds, (unsigned long long)st->probes,
		       (unsigned long long)st->timeouts, (unsigned long long)st->reconnects,
		       (unsigned long long)st->chunksums, (unsigned long long)st->ignored,
		       (unsigned long long)st->hole_bytes, (unsigned long long)st->squashed,
		       (unsigned long long)st->squash_saved);
	printf("}\n");
	fflush(stdout);
}

void send_report_usage(int status, const char *error)
{
	printf("{\"program\": \"cft-send\", \"status\": %d, \"error\": ", status);
	util_json_string(stdout, error[0] ? error : "usage error");
	printf(", \"seconds\": 0.000, \"files\": [], \"bytes\": 0}\n");
	fflush(stdout);
}

/* The closing lines of a verified run: digests on stdout, one line on stderr. */
static void summary(const struct send_report *r, uint64_t usec)
{
	const struct send_stats *st = send_stats(r->s);
	uint64_t total = 0;
	char hex[2 * CFT_DIGEST_LEN + 1], human[32], fresh[384] = "";
	double secs = (double)usec / 1e6;
	uint32_t same = 0, n = 0, dirs = 0;

	for (uint32_t i = 0; i < r->nfiles; i++) {
		dirs += r->files[i].dir;
		n += !r->files[i].dir;
		total += r->files[i].size;
		same += r->files[i].datagrams == 0 && r->files[i].size > 0;
		digest_hex(r->files[i].digest, hex);
		/* The sha256sum format, so `sha256sum -c` can check the far end
		 * (a directory has nothing it could check). */
		if (!r->json && !r->files[i].dir)
			printf("%s  %s\n", hex, r->files[i].name);
	}
	fflush(stdout);
	util_human_bytes(total, human, sizeof(human));
	log_verbose("%llu DATA datagrams sent, %llu probes, %llu retransmission timeouts, "
		    "%llu end-to-end rounds, %llu files passed behind the next",
		    (unsigned long long)st->datagrams, (unsigned long long)st->probes,
		    (unsigned long long)st->timeouts, (unsigned long long)st->e2e_rounds,
		    (unsigned long long)st->passed);
	if (dirs)
		snprintf(fresh, sizeof(fresh), " and %u director%s", dirs, dirs == 1 ? "y" : "ies");
	if (r->skipped)
		snprintf(fresh + strlen(fresh), sizeof(fresh) - strlen(fresh),
			 " (%u link%s or special file%s not sent)", r->skipped,
			 r->skipped == 1 ? "" : "s", r->skipped == 1 ? "" : "s");
	if (same)
		snprintf(fresh + strlen(fresh), sizeof(fresh) - strlen(fresh),
			 " (%u already up to date: no data sent)", same);
	if (st->squashed) {
		char saved[32], of[32];

		util_human_bytes(st->squash_saved, saved, sizeof(saved));
		util_human_bytes(st->squashed, of, sizeof(of));
		snprintf(fresh + strlen(fresh), sizeof(fresh) - strlen(fresh),
			 " (compression saved %s of %s)", saved, of);
	}
	if (st->hole_bytes) {
		char holes[32];

		util_human_bytes(st->hole_bytes, holes, sizeof(holes));
		snprintf(fresh + strlen(fresh), sizeof(fresh) - strlen(fresh),
			 " (%s of holes left as holes, not sent)", holes);
	}
	if (st->rereads)
		snprintf(fresh + strlen(fresh), sizeof(fresh) - strlen(fresh),
			 " (%llu block%s sent again because two reads of the source disagreed)",
			 (unsigned long long)st->rereads, st->rereads == 1 ? "" : "s");
	if (st->resumed)
		snprintf(fresh + strlen(fresh), sizeof(fresh) - strlen(fresh),
			 " (%llu resumed from what the receiver held)",
			 (unsigned long long)st->resumed);
	log_info("%u file%s%s, %s verified on the receiver's disk in %.2f s (%.1f MiB/s); "
		 "repaired: %llu datagram%s resent, %llu block%s resent, %llu end-to-end "
		 "mismatch%s",
		 n, n == 1 ? "" : "s", fresh, human, secs,
		 secs > 0 ? (double)total / secs / 1048576.0 : 0.0,
		 (unsigned long long)st->retransmits, st->retransmits == 1 ? "" : "s",
		 (unsigned long long)st->blocks_resent, st->blocks_resent == 1 ? "" : "s",
		 (unsigned long long)st->e2e_mismatches, st->e2e_mismatches == 1 ? "" : "es");
}

/* A dry run's lines: one per entry on stdout, a count on stderr. */
static void dry_summary(const struct send_report *r)
{
	unsigned n[4] = { 0 };

	for (uint32_t i = 0; i < r->nfiles; i++) {
		const struct send_file *f = &r->files[i];

		n[f->dry]++;
		if (!r->json)
			printf("%-11s %s%s\n", dry_word(f->dry), f->name, f->dir ? "/" : "");
	}
	fflush(stdout);
	log_info("dry run: %u up to date, %u would be sent, %u differ%s; nothing was written",
		 n[SEND_DRY_UP_TO_DATE], n[SEND_DRY_WOULD_SEND], n[SEND_DRY_DIFFERS],
		 n[SEND_DRY_DIFFERS] == 1 ? "s" : "");
}

void send_report_end(struct send_report *r, int status, const char *error, bool quiet,
		     uint64_t now)
{
	uint64_t usec = r->s ? now - r->started : 0;

	if (r->s && r->progress)
		progress_line(r, now, true);
	if (r->s && status == CFT_EXIT_OK) {
		if (!quiet && r->dry_run)
			dry_summary(r);
		else if (!quiet)
			summary(r, usec);
	} else if (r->s) {
		log_error("%s", error);
	}
	if (r->json)
		json_summary(r, status, error, usec);
}
