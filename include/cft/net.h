/* UDP sockets and addresses: the only module that talks to the network. */
#ifndef CFT_NET_H
#define CFT_NET_H

#include <stdbool.h>
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
/* The same, every address the name resolves to, in the resolver's order and
 * without repeats: up to max into out, *n of them. */
int net_resolve(const char *s, uint16_t default_port, int passive, struct net_addr *out,
		unsigned max, unsigned *n, const char **why);
void net_addr_str(const struct net_addr *a, char *out, size_t cap);
int net_addr_equal(const struct net_addr *a, const struct net_addr *b);
/* Same host (address), whatever the port? */
int net_addr_same_host(const struct net_addr *a, const struct net_addr *b);
/* The address and port as bytes, the same for the same address whatever
 * the padding of the sockaddr: family (1), address (16, IPv4 in the first
 * 4), port (2). */
#define NET_ADDR_KEY_LEN 19
/* 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6. */
int net_addr_is_loopback(const struct net_addr *a);
/* The unspecified address (0.0.0.0 or ::): every address of the host. */
int net_addr_is_any(const struct net_addr *a);
void net_addr_key(const struct net_addr *a, uint8_t out[NET_ADDR_KEY_LEN]);

/*
 * A UDP socket bound to bind_to (or unbound when NULL, for family), with large
 * buffers where the system allows.  Returns the descriptor or -1 (errno).
 */
int net_udp_socket(const struct net_addr *bind_to, int family);

/* The MTU of the route a connected socket's datagrams take, as the kernel
 * knows it (the first hop's, or less once the path said so), in bytes of IP
 * packet; -1 when it cannot tell.  What the path beyond the first hop
 * carries only a datagram that arrives can show. */
long net_path_mtu(int fd);
/* With `on`, datagrams go with the don't-fragment bit, and those longer
 * than the route's MTU are refused (EMSGSIZE, a loss) rather than cut in IP
 * fragments (IP_PMTUDISC_DO); without, Linux's default way
 * (IP_PMTUDISC_WANT: they are cut).  Returns 0 or -1 (errno). */
int net_set_dontfrag(int fd, bool on);
/* Send one datagram; a full buffer or an ICMP error counts as loss. */
void net_send(int fd, const struct net_addr *to, const uint8_t *buf, size_t len);

/* Receive one datagram without blocking.  Returns its length, 0 when none is
 * waiting, or -1 on a real error (errno).  Oversized datagrams are cut and
 * reported as cap+1 so the caller can count and drop them. */
long net_recv(int fd, uint8_t *buf, size_t cap, struct net_addr *from);

/*
 * Batches of datagrams, sent with one sendmmsg() and received with one
 * recvmmsg(): on loopback the per-call cost, not the bytes, bounds the rate.
 * Where the kernel has them, UDP segmentation offload (UDP_SEGMENT) sends a
 * run of equal datagrams to one peer as one message, and receive offload
 * (UDP_GRO) hands a run of them over as one buffer: the per-datagram cost of
 * the network stack is paid once per run.  Without them, one datagram a
 * message, as before.
 */
#define NET_BATCH 64
/* Most datagrams and bytes one segmented send carries: a UDP payload's
 * limit, with room for headers. */
#define NET_GSO_SEGMENTS 64
#define NET_GSO_BYTES 65000
/* Most bytes one coalesced receive holds. */
#define NET_GRO_BYTES 65536

enum net_batch_use { NET_SEND, NET_RECEIVE };

struct net_batch {
	unsigned n;			/* datagrams queued (sending) */
	size_t dgram_max;		/* largest datagram, bytes */
	size_t slot;			/* bytes a slot holds */
	bool gso;			/* sending: coalesce runs (UDP_SEGMENT) */
	struct mmsghdr m[NET_BATCH];
	struct iovec iov[NET_BATCH];
	struct net_addr addr[NET_BATCH];
	uint16_t seg[NET_BATCH];	/* receiving: coalesced datagram size, or 0 */
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[NET_BATCH];
	uint8_t *buf;			/* NET_BATCH slots */
};

/* Slots for datagrams of up to dgram_max bytes, for sending or receiving.
 * Returns 0 or CFT_E_NOMEM; free with net_batch_free. */
int net_batch_init(struct net_batch *b, size_t dgram_max, enum net_batch_use use);
void net_batch_free(struct net_batch *b);

/* The bytes of slot i. */
static inline uint8_t *net_batch_data(struct net_batch *b, unsigned i)
{
	return b->buf + (size_t)i * b->slot;
}

/* Queue a copy of one datagram (at most dgram_max bytes) for `to` (NULL on a
 * connected socket); sends the batch first when it is full. */
void net_batch_add(int fd, struct net_batch *b, const struct net_addr *to,
		   const uint8_t *buf, size_t len);
/* Room for the next datagram in the batch (dgram_max bytes), to be encoded
 * in place and then queued with net_batch_commit, saving a copy. */
uint8_t *net_batch_next(int fd, struct net_batch *b);
void net_batch_commit(struct net_batch *b, const struct net_addr *to, size_t len);
/* Send what is queued; errors count as loss, as with net_send. */
void net_batch_flush(int fd, struct net_batch *b);
/*
 * Receive up to NET_BATCH messages without blocking into b.  Returns how
 * many (0 when none is waiting), NET_REFUSED when the kernel reported an
 * ICMP port unreachable for a connected socket, or -1 on a real error.
 * Message i is
 * net_batch_data(b, i), b->m[i].msg_len bytes, from b->addr[i]: one
 * datagram, or with b->seg[i] set, datagrams of b->seg[i] bytes one after
 * another (the last maybe shorter).  A datagram longer than dgram_max is
 * reported as dgram_max + 1 bytes.
 */
#define NET_REFUSED (-2)
int net_batch_recv(int fd, struct net_batch *b);

/* A socket and the batch of datagrams waiting to leave by it: where an
 * engine's output goes (net_out_datagram is a struct proto_out callback,
 * ctx a struct net_out), sent by net_out_flush after each round of work. */
struct net_out {
	int fd;
	struct net_batch batch;
};
void net_out_datagram(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len);
/* Room for the next datagram in the batch (struct proto_out's room), and
 * what went there (its commit). */
uint8_t *net_out_room(void *ctx);
void net_out_commit(void *ctx, const struct net_addr *to, size_t len);
static inline void net_out_flush(struct net_out *o)
{
	net_batch_flush(o->fd, &o->batch);
}

#endif
