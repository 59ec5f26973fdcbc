/*
 * cft-shim's relay, without sockets: each client gets a slot (and, through
 * io.open, its own path towards the server, so replies find their way
 * back); every datagram is numbered per direction, its fate decided by
 * shim_decide (shim-faults.h), and it is sent on now, later (delay, jitter,
 * rate, a duplicate), after some that follow it (reorder), or never.  Time
 * is an argument; tests drive it with a fake clock and fake io.
 */
#ifndef CFT_SHIM_RELAY_H
#define CFT_SHIM_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cft/net.h"
#include "shim-faults.h"

/* Limits of the relay; see cft-shim(1). */
#define SHIM_CLIENTS_MAX 64		/* clients relayed at once */
#define SHIM_HELD_MAX 8192		/* datagrams held (delay, reorder, rate) */
#define SHIM_HELD_BYTES_MAX (64u * 1024 * 1024)	/* bytes held at once */
#define SHIM_DATAGRAM_MAX 65535		/* largest UDP payload relayed, bytes */
#define SHIM_REPLAY_RING 1024		/* old datagrams kept for --replay */
#define SHIM_RATE_QUEUE_MS 100		/* --queue default: this much at the rate */
#define SHIM_REORDER_HOLD_MS 200	/* a held datagram goes anyway after this */
#define SHIM_CLIENT_IDLE_S 120		/* a silent client is forgotten after this */

/* What happened in one direction. */
struct shim_counters {
	uint64_t seen_bytes, forwarded_bytes;
	uint64_t seen, forwarded, dropped, burst_dropped, corrupted, truncated,
		 resealed, duplicated, replayed, reordered, delayed, rate_dropped,
		 overflow_dropped, too_big;
};

struct shim_io {
	/* A new client in slot `client`: open its path to the server.
	 * Returns 0, or -1 (its datagram is dropped). */
	int (*open)(void *ctx, unsigned client);
	/* Client `client` is forgotten: close its path. */
	void (*close)(void *ctx, unsigned client);
	/* Send a datagram on: to the server (SHIM_FORWARD) through the
	 * client's path, or back to the client at `addr` (SHIM_REVERSE). */
	void (*transmit)(void *ctx, unsigned client, unsigned dir, const struct net_addr *addr,
			 const uint8_t *buf, size_t len);
	/* Optional: one line per fault, for --log. */
	void (*fault)(void *ctx, unsigned dir, const struct net_addr *client, uint64_t idx,
		      const char *what);
	void *ctx;
};

struct shim_held;
struct shim_client;

struct shim_relay {
	struct shim_dir_cfg cfg[2];
	uint64_t seed;
	struct shim_io io;
	struct shim_client *clients;	/* SHIM_CLIENTS_MAX */
	uint64_t gen;
	struct shim_held *heap;		/* min-heap by due time */
	unsigned nheap;
	struct shim_held *holds;	/* reorder holds, unordered */
	unsigned nholds;
	size_t held_bytes;
	struct shim_counters c[2];
	uint8_t buf[SHIM_DATAGRAM_MAX + 1];
};

/* Returns 0 or CFT_E_NOMEM; free with shim_relay_free. */
int shim_relay_init(struct shim_relay *r, const struct shim_dir_cfg cfg[2], uint64_t seed,
		    struct shim_io io);
void shim_relay_free(struct shim_relay *r);

/* A datagram from a client (forward), or from the server to client `client`
 * (reverse).  len may be up to SHIM_DATAGRAM_MAX. */
void shim_relay_forward(struct shim_relay *r, uint64_t now, const struct net_addr *from,
			const uint8_t *buf, size_t len);
void shim_relay_reverse(struct shim_relay *r, uint64_t now, unsigned client,
			const uint8_t *buf, size_t len);

/* Send what is due, forget idle clients. */
void shim_relay_on_timer(struct shim_relay *r, uint64_t now);
/* When something held is next due (UINT64_MAX: nothing). */
uint64_t shim_relay_next_deadline(const struct shim_relay *r);

/* Is slot `client` in use, and by whom? */
bool shim_relay_client(const struct shim_relay *r, unsigned client, struct net_addr *addr);

#endif
