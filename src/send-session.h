/*
 * The sender's protocol engine.  Like the receiver's, it has no sockets and
 * no clock of its own: send_on_datagram, send_on_timer and
 * send_next_deadline are driven by the caller's poll loop (or a test), and
 * datagrams leave through io.emit.  It reads the source files itself.
 */
#ifndef CFT_SEND_SESSION_H
#define CFT_SEND_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cft/limits.h"

struct send_io {
	void (*emit)(void *ctx, const uint8_t *buf, size_t len);
	void *ctx;
};

/* One file to send, and what became of it. */
struct send_file {
	const char *path;		/* as given */
	const char *name;		/* name at the receiver: the base name */
	uint64_t size;
	bool committed;
	uint8_t digest[CFT_DIGEST_LEN];	/* verified whole-file SHA-256 */
	uint64_t usec;			/* time from offer to commit */
	uint64_t datagrams;		/* DATA sent for it: 0 (and size > 0) means it
					 * was up to date at the receiver */
};

/* Repairs, for the summary. */
struct send_stats {
	uint64_t datagrams;		/* DATA datagrams sent, all kinds */
	uint64_t retransmits;		/* DATA sent again for missing chunks */
	uint64_t blocks_resent;		/* whole blocks sent again */
	uint64_t e2e_mismatches;	/* read-backs whose digest differed */
	uint64_t e2e_rounds;		/* end-to-end checks, all files */
	uint64_t probes;
	uint64_t timeouts;		/* retransmission timer expiries in the data phase */
	uint64_t reconnects;		/* sessions opened again after a receiver restart */
	uint64_t bytes_acked;		/* file bytes confirmed by the receiver */
};

enum send_phase {
	SEND_HELLO, SEND_OFFER, SEND_DATA, SEND_VERIFY, SEND_SUMS, SEND_COMMIT,
	SEND_BYE, SEND_DONE, SEND_FAILED,
};

struct send_session;

struct send_config {
	struct send_file *files;	/* borrowed; results written back */
	uint32_t nfiles;
	uint32_t block_size;
	uint64_t timeout_us;
	bool no_clobber;		/* never replace an existing destination */
	struct send_io io;
};

/* New session (random id), or NULL with *err set (CFT_E_NOMEM, CFT_E_IO). */
struct send_session *send_new(const struct send_config *cfg, int *err);
void send_free(struct send_session *s);
/* Start the clock: the peer has `timeout` from now to answer. */
void send_start(struct send_session *s, uint64_t now);

void send_on_datagram(struct send_session *s, uint64_t now, const uint8_t *buf, size_t len);
void send_on_timer(struct send_session *s, uint64_t now);
uint64_t send_next_deadline(const struct send_session *s, uint64_t now);

/* Finished (done or failed)?  Then its exit status and message. */
bool send_finished(const struct send_session *s);
int send_status(const struct send_session *s);
const char *send_error(const struct send_session *s);
enum send_phase send_phase(const struct send_session *s);
const struct send_stats *send_stats(const struct send_session *s);
/* Index of the file in progress, and its bytes confirmed so far. */
uint32_t send_current(const struct send_session *s, uint64_t *bytes_done);

/* Give up (signal): tell the receiver and fail with the given status. */
void send_abort(struct send_session *s, int status, const char *why);

#endif
