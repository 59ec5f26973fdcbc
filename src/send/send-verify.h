/*
 * A sender session's end-to-end check of the file in progress: its own
 * independent read of the source, the receiver's report of what it would
 * commit (name, size, mode, modification time, and the digest of what it
 * read back), the comparison of the two, and then COMMIT, or SUMS to find
 * the blocks that differ.
 */
#ifndef CFT_SEND_VERIFY_H
#define CFT_SEND_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "cft/wire.h"
#include "send-state.h"

/* Start this round's independent read of the source, if not started:
 * `early` at the offer or a round's start, where the read may run beside
 * the data phase (vread.h); otherwise once the data phase is over. */
void send_verify_read(struct send_session *s, bool early);
/* The receiver is reading back: the data phase is over. */
void send_verify_start(struct send_session *s, uint64_t now);
/* The independent read has finished (vread's done): the block digests for
 * SUMS, or the decision once both digests are in. */
void send_verify_read_done(void *ctx);
/* A VERIFIED report for the file and round in progress. */
void send_verify_report(struct send_session *s, uint64_t now, const struct wire_status *rep);
/* (Again) the SUMS from the receiver's count on, or the COMMIT. */
void send_verify_sums(struct send_session *s, uint64_t now);
void send_verify_commit(struct send_session *s, uint64_t now);
/*
 * Our independent read is done and every byte went out once: send COMMIT
 * now, beside the repairs or while the receiver reads back, instead of a
 * round trip after its report.  The
 * receiver keeps it and commits with it only if its own read-back gives the
 * same commit digest, the check its report would have let us make; if not,
 * it reports, and the rounds go on as before.
 */
void send_verify_early(struct send_session *s, uint64_t now);
/* Does a COMMITTED report say the receiver committed what we agreed on? */
bool send_verify_committed(const struct send_session *s, const struct wire_status *rep);

#endif
