/*
 * A receiver session's end-to-end check of the file in progress: make it
 * durable with the mode and time it is to keep, read it back from disk for
 * its digests, compare block digests with the sender's when the file digests
 * differ (SUMS), and give it its final name when the sender's COMMIT names
 * exactly what this end holds.
 */
#ifndef CFT_RECV_VERIFY_H
#define CFT_RECV_VERIFY_H

#include "cft/wire.h"
#include "recv-state.h"

/* Every block is written (or the file is to be checked as it is): read it
 * back. */
void recv_verify_start(struct recv_session *s);
/* One step of the read-back (fsync first). */
void recv_verify_step(struct recv_session *s);
/* The sender's block digests for the next round. */
void recv_verify_sums(struct recv_session *s, const struct wire_sums *su);
/* The sender's COMMIT. */
void recv_verify_commit(struct recv_session *s, const struct wire_commit *c);

#endif
