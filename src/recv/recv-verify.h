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

/* A file is opened, or a round starts receiving: ready its read-back
 * digests (streaming: read back while it arrives, if a new file's first
 * round). */
void recv_verify_stream(struct recv_session *s);
/* A block was written: read back what is durable so far, if streaming and
 * CFT_READBACK_AHEAD more is written. */
void recv_verify_ahead(struct recv_session *s);
/* Every block is written (or the file is to be checked as it is): mode and
 * time, fsync, and the rest read back (recv-disk.h). */
void recv_verify_start(struct recv_session *s);
/* A check of f was forgotten by a drain of the session's disk work (its
 * `checking` still set): ask it again. */
void recv_verify_again(struct recv_session *s, struct recv_file *f);
/* A check has finished (recv_disk's checked). */
void recv_verify_checked(void *ctx, const struct recv_disk_check *c);
/* The sender's block digests for the next round. */
void recv_verify_sums(struct recv_session *s, const struct wire_sums *su);
/* The sender's COMMIT. */
void recv_verify_commit(struct recv_session *s, const struct wire_commit *c);

#endif
