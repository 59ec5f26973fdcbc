/* UDP sockets and addresses: the only module that talks to the network. */
#ifndef CFT_NET_H
#define CFT_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "cft/limits.h"

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * Parse "HOST:PORT", "[V6ADDR]:PORT", "HOST" or "[V6ADDR]" (port defaults to
 * default_port) and resolve HOST.  With passive set, an empty host means the
 * wildcard address.  Returns 0, CFT_E_SYNTAX (with *why set to a fixed
 * message) or CFT_E_IO (name did not resolve).
 */
int net_parse_hostport(const char *s, uint16_t default_port, int passive,
		       struct net_addr *out, const char **why);

/* "1.2.3.4:7411" or "[::1]:7411", into out. */
void net_addr_str(const struct net_addr *a, char *out, size_t cap);
int net_addr_equal(const struct net_addr *a, const struct net_addr *b);
/* Same host (address), whatever the port? */
int net_addr_same_host(const struct net_addr *a, const struct net_addr *b);

/*
 * A UDP socket bound to bind_to (or unbound when NULL, for family), with large
 * buffers where the system allows.  Returns the descriptor or -1 (errno).
 */
int net_udp_socket(const struct net_addr *bind_to, int family);

/* Send one datagram; a full buffer or an ICMP error counts as loss. */
void net_send(int fd, const struct net_addr *to, const uint8_t *buf, size_t len);

/* Receive one datagram without blocking.  Returns its length, 0 when none is
 * waiting, or -1 on a real error (errno).  Oversized datagrams are cut and
 * reported as cap+1 so the caller can count and drop them. */
long net_recv(int fd, uint8_t *buf, size_t cap, struct net_addr *from);

/*
 * Batches of datagrams, sent with one sendmmsg() and received with one
 * recvmmsg(): on loopback the per-call cost, not the bytes, bounds the rate.
 */
#define NET_BATCH 64

struct net_batch {
	unsigned n;			/* datagrams queued (sending) */
	size_t dgram_max;		/* largest datagram a slot holds, bytes */
	struct mmsghdr m[NET_BATCH];
	struct iovec iov[NET_BATCH];
	struct net_addr addr[NET_BATCH];
	uint8_t *buf;			/* NET_BATCH slots of dgram_max + 1 bytes */
};

/* Slots for datagrams of up to dgram_max bytes.  Returns 0 or CFT_E_NOMEM;
 * free with net_batch_free. */
int net_batch_init(struct net_batch *b, size_t dgram_max);
void net_batch_free(struct net_batch *b);

/* The bytes of datagram i. */
static inline uint8_t *net_batch_data(struct net_batch *b, unsigned i)
{
	return b->buf + (size_t)i * (b->dgram_max + 1);
}

/* Queue a copy of one datagram (at most dgram_max bytes) for `to` (NULL on a
 * connected socket); sends the batch first when it is full. */
void net_batch_add(int fd, struct net_batch *b, const struct net_addr *to,
		   const uint8_t *buf, size_t len);
/* Send what is queued; errors count as loss, as with net_send. */
void net_batch_flush(int fd, struct net_batch *b);
/*
 * Receive up to NET_BATCH datagrams without blocking into b.  Returns how
 * many (0 when none is waiting) or -1 on a real error.  Datagram i is
 * net_batch_data(b, i), b->m[i].msg_len bytes (dgram_max + 1 when it was
 * longer), from b->addr[i].
 */
int net_batch_recv(int fd, struct net_batch *b);

/* A socket and the batch of datagrams waiting to leave by it: where an
 * engine's output goes (net_out_datagram is a struct proto_out callback,
 * ctx a struct net_out), sent by net_out_flush after each round of work. */
struct net_out {
	int fd;
	struct net_batch batch;
};
void net_out_datagram(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len);
static inline void net_out_flush(struct net_out *o)
{
	net_batch_flush(o->fd, &o->batch);
}

#endif
