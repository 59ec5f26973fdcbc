/* cft-recv's words: events as log lines and --json, and its counters. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cft/check.h"
#include "cft/digest.h"
#include "cft/exit.h"
#include "cft/util.h"
#include "recv-report.h"

/* The receiver's counters, named once for -v and for --json (group: where
 * they go in the -v line). */
static const struct {
	const char *text, *json;
	size_t off;
	unsigned group;		/* 0 total, 1 dropped, 2 repaired, 3 refused,
				 * 4 files passed behind the next */
} counter_names[] = {
#define C(t, j, f, g) { t, j, offsetof(struct recv_counters, f), g }
	C("datagrams", "datagrams", datagrams, 0),
	C("checksum", "bad_checksum", bad_checksum, 1),
	C("tag", "bad_tag", bad_tag, 1),
	C("not cft", "not_cft", bad_magic, 1),
	C("truncated", "truncated", truncated, 1),
	C("malformed", "malformed", malformed, 1),
	C("version", "bad_version", bad_version, 1),
	C("unknown session", "unknown_session", unknown_session, 1),
	C("wrong peer", "wrong_peer", wrong_peer, 1),
	C("stale", "stale", stale, 1),
	C("duplicate", "duplicate", duplicate, 1),
	C("outside window", "outside_window", window_full, 1),
	C("offer digest", "bad_offer", bad_offer, 1),
	C("unmatched", "unmatched", unmatched, 1),
	C("not loopback", "not_loopback", not_loopback, 1),
	C("not authentic", "unauthentic", unauthentic, 1),
	C("replayed", "replayed", replayed, 1),
	C("chunk check", "bad_chunk", bad_chunk, 2),
	C("block digest", "block_mismatch", block_mismatch, 2),
	C("read-back", "readback_mismatch", readback_mismatch, 2),
	C("refused", "refused", refused, 3),
	C("cookies", "cookies", cookies, 3),
	C("withheld", "withheld", withheld, 3),
	C("key refused", "bad_key", bad_key, 3),
	C("files passed behind the next", "passed", passed, 4),
#undef C
};

static unsigned long long counter(const struct recv_counters *c, unsigned i)
{
	return *(const uint64_t *)(const void *)((const char *)c + counter_names[i].off);
}

struct json_file {
	char *name;
	uint64_t size;
	uint8_t digest[CFT_DIGEST_LEN];
};

struct recv_report_session {
	uint64_t id;
	unsigned n;
	uint64_t omitted, bytes;
	struct json_file files[RECV_REPORT_FILES_MAX];
};

static struct recv_report_session *json_find(struct recv_report *r, uint64_t id, bool create)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (r->js[i] && r->js[i]->id == id)
			return r->js[i];
	for (unsigned i = 0; create && i < CFT_SESSIONS_MAX; i++) {
		if (!r->js[i]) {
			r->js[i] = calloc(1, sizeof(*r->js[i]));
			if (r->js[i])
				r->js[i]->id = id;
			return r->js[i];
		}
	}
	return NULL;
}

static void json_forget(struct recv_report *r, struct recv_report_session *j)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (r->js[i] == j)
			r->js[i] = NULL;
	for (unsigned i = 0; i < j->n; i++)
		free(j->files[i].name);
	free(j);
}

static void json_committed(struct recv_report *r, const struct recv_event *ev)
{
	struct recv_report_session *j = json_find(r, ev->session, true);

	if (!j)
		return;
	j->bytes += ev->size;
	if (j->n == RECV_REPORT_FILES_MAX || !(j->files[j->n].name = strdup(ev->name))) {
		j->omitted++;
		return;
	}
	j->files[j->n].size = ev->size;
	memcpy(j->files[j->n].digest, ev->digest, CFT_DIGEST_LEN);
	j->n++;
}

/* --json: one object per finished session on stdout; keys in cft-recv(1). */
static void json_ended(struct recv_report *r, const struct recv_event *ev)
{
	struct recv_report_session *j = json_find(r, ev->session, false);
	char hex[2 * CFT_DIGEST_LEN + 1];

	printf("{\"program\": \"cft-recv\", \"session\": \"%016llx\", \"peer\": ",
	       (unsigned long long)ev->session);
	util_json_string(stdout, ev->peer);
	printf(", \"status\": %d, \"error\": ", ev->status);
	if (ev->why)
		util_json_string(stdout, ev->why);
	else
		printf("null");
	printf(", \"seconds\": %.3f, \"files\": [", (double)ev->usec / 1e6);
	for (unsigned i = 0; j && i < j->n; i++) {
		digest_hex(j->files[i].digest, hex);
		printf("%s{\"name\": ", i ? ", " : "");
		util_json_string(stdout, j->files[i].name);
		printf(", \"bytes\": %llu, \"sha256\": \"%s\"}",
		       (unsigned long long)j->files[i].size, hex);
	}
	printf("], \"files_omitted\": %llu, \"bytes\": %llu, \"counters\": {",
	       (unsigned long long)(j ? j->omitted : 0), (unsigned long long)(j ? j->bytes : 0));
	for (unsigned i = 0; i < CFT_ARRAY_LEN(counter_names); i++)
		printf("%s\"%s\": %llu", i ? ", " : "", counter_names[i].json, counter(r->c, i));
	printf("}}\n");
	fflush(stdout);
	if (j)
		json_forget(r, j);
}

/* The log lines: steps with -v, files committed normally, failures always. */
/*
 * Lines for failed sessions, at most CFT_LOG_BURST per cause (the session's
 * status) in CFT_LOG_INTERVAL_S: a peer that opens and fails session after
 * session must not fill the log.  What was held back is counted in a line
 * when the cause next speaks after its interval, or at exit.
 */
static bool may_log(struct recv_report *r, int status)
{
	struct recv_log_limit *l = &r->limit[(unsigned)status % RECV_LOG_CAUSES];
	uint64_t now = util_now_us();

	if (now - l->since >= (uint64_t)CFT_LOG_INTERVAL_S * 1000000) {
		if (l->held)
			log_error("%u more sessions failed with status %d (lines held back)",
				  l->held, status);
		l->since = now;
		l->shown = l->held = 0;
	}
	if (l->shown < CFT_LOG_BURST) {
		l->shown++;
		return true;
	}
	l->held++;
	return false;
}

static void text(struct recv_report *r, const struct recv_event *ev)
{
	unsigned long long id = (unsigned long long)ev->session;
	char hex[2 * CFT_DIGEST_LEN + 1], name[UTIL_NAME_SHOWN_MAX] = "";

	/* The sender chose the name: never raw to a log or a terminal. */
	if (ev->name)
		util_name_shown(ev->name, name, sizeof(name));
	switch (ev->kind) {
	case RECV_EV_OPENED:
		log_verbose("session %016llx from %s: %u file(s), %u-byte blocks", id, ev->peer,
			    ev->nfiles, ev->block_size);
		break;
	case RECV_EV_RECEIVING:
		log_verbose("%s: receiving %llu bytes in %u blocks", name,
			    (unsigned long long)ev->size, ev->blocks);
		break;
	case RECV_EV_CHECKING:
		log_verbose("%s: checking the %s (%llu bytes) before sending anything", name,
			    ev->existing ? "existing file" : "partial file",
			    (unsigned long long)ev->size);
		break;
	case RECV_EV_BLOCK_FAILED:
		log_verbose("%s: block %u failed its digest, re-requesting", name, ev->block);
		break;
	case RECV_EV_READBACK:
		log_verbose("%s: all blocks in, reading back from disk (round %u)", name,
			    ev->round);
		break;
	case RECV_EV_DIFFERS:
		log_verbose("%s: block %u differs on disk, re-requesting", name, ev->block);
		break;
	case RECV_EV_COMMITTED:
		digest_hex(ev->digest, hex);
		log_info("%s %s (%llu bytes) sha256 %s from %s",
			 ev->existing ? "up to date:" : "received", name,
			 (unsigned long long)ev->size, hex, ev->peer);
		break;
	case RECV_EV_ENDED:
		if (ev->status == CFT_EXIT_OK)
			log_verbose("session %016llx from %s: done, %u file(s)", id, ev->peer,
				    ev->nfiles);
		else if (may_log(r, ev->status))
			log_error("session %016llx from %s: failed: %s", id, ev->peer, ev->why);
		break;
	}
}

void recv_report_event(void *ctx, const struct recv_event *ev)
{
	struct recv_report *r = ctx;

	text(r, ev);
	if (!r->json)
		return;
	if (ev->kind == RECV_EV_COMMITTED)
		json_committed(r, ev);
	else if (ev->kind == RECV_EV_ENDED)
		json_ended(r, ev);
}

void recv_report_counters(const struct recv_counters *c)
{
	static const char *const group[] = { "", "; dropped: ", "; repaired: ", "; ", "; " };
	char line[1024];
	size_t o = 0;

	for (unsigned i = 0; i < CFT_ARRAY_LEN(counter_names) && o < sizeof(line); i++) {
		unsigned g = counter_names[i].group;
		int first = i == 0 || counter_names[i - 1].group != g;

		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s %llu",
				      first ? group[g] : ", ", counter_names[i].text, counter(c, i));
	}
	log_info("%s; committed %llu file(s), %llu bytes", line,
		 (unsigned long long)c->files_committed, (unsigned long long)c->bytes_committed);
}

void recv_report_free(struct recv_report *r)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (r->js[i])
			json_forget(r, r->js[i]);
	for (int st = 0; st < RECV_LOG_CAUSES; st++)
		if (r->limit[st].held)
			log_error("%u more sessions failed with status %d (lines held back)",
				  r->limit[st].held, st);
}
