/*
 * The two protocol engines, wired together through an in-memory link with a
 * fake clock: no sockets, fully reproducible.  The link drops, duplicates,
 * reorders and damages datagrams from a seeded generator, or damages one
 * chosen datagram at one chosen byte; every failure message names the seed.
 * Shared by the unit tests of whole transfers, of the receiver fed by hand,
 * and of damage to every field.
 */
#ifndef CFT_TEST_HARNESS_H
#define CFT_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cft/net.h"
#include "cft/wire.h"
#include "recv/recv-server.h"
#include "send/send-session.h"

#define QCAP 4096		/* datagrams a direction holds, like a socket buffer */
#define LATENCY_US 200
/* The mode and modification time every test file has: kept end to end. */
#define HARNESS_MODE 0640
#define HARNESS_MTIME_SEC 1583298367
#define HARNESS_MTIME_NSEC 123456789u
/* The receiver engine fed by hand uses this session. */
#define HARNESS_SESSION 0x5e55ull

struct dgram {
	uint16_t len;
	uint8_t b[CFT_DATAGRAM_MAX];
};

struct queue {
	struct dgram *d;
	unsigned head, n;
	uint64_t sent, dropped, duplicated, reordered, damaged;
};

struct faults {
	unsigned drop_pct, dup_pct, reorder_pct;
	unsigned drop_type;		/* every datagram of this type lost */
	unsigned damage_pct;		/* DATA payload bit flip, CRC resealed */
	unsigned forge_pct;		/* the same, every keyless check resealed */
	/* One datagram damaged on purpose: the hit_nth datagram of type
	 * hit_type (and, for STATUS, of state hit_state when not 0) gets bit
	 * hit_byte % 8 of its byte hit_byte flipped, then its CRC resealed, or
	 * every keyless check with hit_all. */
	unsigned hit_type, hit_state, hit_nth, hit_byte;
	bool hit_from_end;		/* hit_byte counts back from the last byte */
	bool hit_all;
};

struct link {
	struct queue sr, rs;
	struct faults f;
	uint64_t rng;
	uint64_t seed;
	unsigned hit_seen;		/* datagrams that matched hit_type so far */
	bool hit_done;
	size_t hit_len;			/* length of the datagram chosen */
};

extern struct link L;
/* Optional: the receiver's events, for debugging a test. */
extern void (*harness_event)(void *ctx, const struct recv_event *ev);
extern struct net_addr sender_addr;
/* Keys for run_transfer (NULL: keyless; reset by harness_setup), and a tap
 * that sees every datagram the sender sends, before the link's faults. */
extern const uint8_t *harness_send_key, *harness_recv_key;
extern void (*harness_tap)(const uint8_t *b, size_t len);
/* cft-send -z for run_transfer (reset by harness_setup). */
extern bool harness_compress;
/* run_transfer's receiver sees each disk job end one event late (a disk
 * slower than the network: files are passed behind the next; reset by
 * harness_setup). */
extern unsigned harness_disk_lag;
struct run;
/* More hooks for run_transfer (reset by harness_setup): edit what the
 * sender sends before the link takes it (a forger on the path); drop what
 * the receiver sends, by content; act between two steps of the loop. */
extern void (*harness_sr_edit)(uint8_t *b, size_t len);
extern bool (*harness_rs_drop)(const uint8_t *b, size_t len);
extern void (*harness_step)(struct run *r);
extern char dir_src[64], dir_dst[64];

/* Fresh directories and queues (criterion .init), and their removal (.fini). */
void harness_setup(void);
void harness_teardown(void);

uint32_t harness_rnd(struct link *l);

/* A source file of pseudo-random bytes, with HARNESS_MODE and HARNESS_MTIME. */
void make_file(const char *name, size_t size, uint32_t seed);
/* The copy equals the source: content, mode and modification time. */
void assert_same(const char *name);
/* Files in the destination whose name is not final. */
int temp_files(void);
/* Empty the destination. */
void clear_dst(void);

struct run {
	struct recv_server srv;
	struct send_session *s;
	int dirfd;
	uint64_t now;
	int status;
};

/* Send names from dir_src to dir_dst over the link until the sender is done
 * or the fake clock reaches limit_us.  Returns the sender's exit status, or
 * -1 when it never finished. */
int run_transfer(struct run *r, const char **names, unsigned n, uint32_t block_size,
		 uint64_t seed, const struct faults *f, uint64_t limit_us);
int run_transfer_opts(struct run *r, const char **names, unsigned n, uint32_t block_size,
		      uint64_t seed, const struct faults *f, uint64_t limit_us, bool no_clobber);
void run_free(struct run *r);

/* The receiver engine, fed by hand, as session HARNESS_SESSION. */
void open_server(struct recv_server *srv, int *dirfd);
void feed(struct recv_server *srv, struct wire_msg *m);
/* The same, its checksum made again over the bytes (wire_reseal): a DATA
 * whose leaf is not its payload's passes the checksum. */
void feed_resealed(struct recv_server *srv, struct wire_msg *m);
/* The last datagram the receiver sent, decoded (into static storage). */
const struct wire_msg *last_reply(void);
void hello(struct recv_server *srv, uint32_t block_size, uint32_t nfiles);
/* HELLO from `from`, and again with the cookie of the answer: returns the
 * last answer (HELLO_ACK: opened; or an ERROR). */
const struct wire_msg *hello_from(struct recv_server *srv, const struct net_addr *from,
				  uint64_t session, uint32_t block_size, uint32_t nfiles);
/* The same, asking for chunks of `chunk` bytes (padded as it must be). */
const struct wire_msg *hello_chunked(struct recv_server *srv, const struct net_addr *from,
				     uint64_t session, uint32_t block_size, uint32_t nfiles,
				     uint32_t chunk);
/* Offer file 0 with its offer digest, as a sender would. */
void offer(struct recv_server *srv, const char *name, uint64_t size);
void offer_file(struct recv_server *srv, struct wire_file *f);
/* DATA with its leaf and check, as a sender would (leaf: out, as listed). */
void feed_data(struct recv_server *srv, uint32_t seq, uint32_t block, uint16_t chunk,
	       const uint8_t *payload, uint16_t len, uint8_t leaf[WIRE_LEAF_LEN]);

#endif
