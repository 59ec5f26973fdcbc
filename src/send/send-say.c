/* What a sender session says: datagrams, ERRORs, events, failure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cft/error.h"
#include "cft/exit.h"
#include "send-say.h"

void send_msg(struct send_session *s, struct wire_msg *m, uint8_t type)
{
	proto_msg(m, s->id, type);
}

void send_say(struct send_session *s, const struct wire_msg *m)
{
	proto_send(&s->out, NULL, m);
}

void send_say_error(struct send_session *s, unsigned reason, const char *text)
{
	uint32_t file = s->cur < s->cfg.nfiles ? s->cur : WIRE_NO_FILE;
	uint8_t ref[CFT_SHORT_DIGEST_LEN];

	proto_error_ref(s->hello, reason, file, ref);
	proto_send_error(&s->out, NULL, s->id, reason, file, ref, text);
}

void send_event_of(struct send_session *s, enum send_event_kind kind, uint32_t file,
		   uint32_t round)
{
	struct send_event ev = { kind, file, round };

	if (s->cfg.event)
		s->cfg.event(s->cfg.event_ctx, &ev);
}

void send_event(struct send_session *s, enum send_event_kind kind)
{
	send_event_of(s, kind, s->cur, s->round);
}

void send_fail(struct send_session *s, int status, const char *fmt, ...)
{
	va_list ap;

	if (s->phase == SEND_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->phase = SEND_FAILED;
	s->status = status;
	send_event(s, SEND_EV_FAILED);
}

void send_fail_source(struct send_session *s, int rc)
{
	const char *path = s->cfg.files[s->cur].path;

	if (rc == CFT_E_CHANGED)
		send_fail(s, CFT_EXIT_CHANGED, "%s: source changed during transfer", path);
	else
		send_fail(s, CFT_EXIT_LOCAL, "%s: read error: %s", path, strerror(errno));
}
