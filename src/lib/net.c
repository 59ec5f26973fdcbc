/* UDP sockets and address parsing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cft/error.h"
#include "cft/net.h"
#include "cft/util.h"

/* Socket buffer we ask for, in bytes: room for a window of datagrams so a
 * busy receiver does not drop on loopback.  The kernel caps it at rmem_max. */
#define NET_SOCKBUF_BYTES (8 * 1024 * 1024)

int net_parse_hostport(const char *s, uint16_t default_port, int passive,
		       struct net_addr *out, const char **why)
{
	unsigned n;

	return net_resolve(s, default_port, passive, out, 1, &n, why);
}

/* Room for a host name or address, and for a port number, as text. */
#define HOST_TEXT_MAX 256
#define PORT_TEXT_MAX 8

/* HOST:PORT, [V6ADDR]:PORT, HOST or [V6ADDR] into host and port (the
 * default when none is given). */
static int split_hostport(const char *s, uint16_t default_port, int passive,
			  char host[HOST_TEXT_MAX], char port[PORT_TEXT_MAX], const char **why)
{
	const char *p, *colon;
	size_t hlen;

	*why = NULL;
	snprintf(port, PORT_TEXT_MAX, "%u", default_port);
	if (s[0] == '[') {
		p = strchr(s, ']');
		if (!p) {
			*why = "missing ']' after IPv6 address";
			return CFT_E_SYNTAX;
		}
		hlen = (size_t)(p - s - 1);
		if (hlen >= HOST_TEXT_MAX) {
			*why = "host name too long";
			return CFT_E_SYNTAX;
		}
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		p++;
		if (*p == ':')
			colon = p;
		else if (*p == '\0')
			colon = NULL;
		else {
			*why = "expected ':PORT' after ']'";
			return CFT_E_SYNTAX;
		}
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon) {
			*why = "IPv6 addresses must be written as [ADDR]:PORT";
			return CFT_E_SYNTAX;
		}
		hlen = colon ? (size_t)(colon - s) : strlen(s);
		if (hlen >= HOST_TEXT_MAX) {
			*why = "host name too long";
			return CFT_E_SYNTAX;
		}
		memcpy(host, s, hlen);
		host[hlen] = '\0';
	}
	if (colon) {
		long long v;

		int prc = util_parse_num(colon + 1, 1, 65535, 0, &v);

		if (prc < 0) {
			*why = prc == CFT_E_RANGE ? "port out of range 1-65535" : "bad port";
			return CFT_E_SYNTAX;
		}
		snprintf(port, PORT_TEXT_MAX, "%lld", v);
	}
	if (host[0] == '\0' && !passive) {
		*why = "missing host";
		return CFT_E_SYNTAX;
	}
	return 0;
}

int net_resolve(const char *s, uint16_t default_port, int passive, struct net_addr *out,
		unsigned max, unsigned *n, const char **why)
{
	char host[HOST_TEXT_MAX], port[PORT_TEXT_MAX];
	struct addrinfo hints, *res = NULL;
	int rc = split_hostport(s, default_port, passive, host, port, why);

	if (rc < 0)
		return rc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0 || !res) {
		*why = rc == EAI_NONAME ? "host not found" : gai_strerror(rc);
		return CFT_E_IO;
	}
	*n = 0;
	for (const struct addrinfo *ai = res; ai && *n < max; ai = ai->ai_next) {
		struct net_addr *a = &out[*n];
		bool again = false;

		if (ai->ai_addrlen > sizeof(a->ss))
			continue;
		memset(a, 0, sizeof(*a));
		memcpy(&a->ss, ai->ai_addr, ai->ai_addrlen);
		a->len = ai->ai_addrlen;
		for (unsigned i = 0; i < *n && !again; i++)
			again = net_addr_equal(a, &out[i]);
		if (!again)
			(*n)++;
	}
	freeaddrinfo(res);
	if (*n == 0) {
		*why = "no usable address";
		return CFT_E_IO;
	}
	return 0;
}

void net_addr_str(const struct net_addr *a, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, ntohs(s4->sin_port));
	}
}

int net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return 0;
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;
	return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

int net_addr_is_loopback(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET6) {
		const struct in6_addr *x = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(x) ||
		       (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
	}
	return a->ss.ss_family == AF_INET &&
	       (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr) >> 24) == 127;
}

int net_addr_is_any(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return a->ss.ss_family == AF_INET &&
	       ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

void net_addr_key(const struct net_addr *a, uint8_t out[NET_ADDR_KEY_LEN])
{
	memset(out, 0, NET_ADDR_KEY_LEN);
	out[0] = (uint8_t)a->ss.ss_family;
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;

		memcpy(out + 1, &x->sin6_addr, 16);
		memcpy(out + 17, &x->sin6_port, 2);
	} else if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;

		memcpy(out + 1, &x->sin_addr, 4);
		memcpy(out + 17, &x->sin_port, 2);
	}
}

int net_addr_same_host(const struct net_addr *a, const struct net_addr *b)
{
	struct net_addr x = *a, y = *b;

	/* Compare with the ports made equal. */
	if (x.ss.ss_family == AF_INET6 && y.ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&x.ss)->sin6_port = ((struct sockaddr_in6 *)&y.ss)->sin6_port;
	else if (x.ss.ss_family == AF_INET && y.ss.ss_family == AF_INET)
		((struct sockaddr_in *)&x.ss)->sin_port = ((struct sockaddr_in *)&y.ss)->sin_port;
	return net_addr_equal(&x, &y);
}

int net_udp_socket(const struct net_addr *bind_to, int family)
{
	int fd, size = NET_SOCKBUF_BYTES, off = 0, on = 1;

	if (bind_to)
		family = bind_to->ss.ss_family;
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Best effort: the kernel clamps to its maximum, which is fine. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* Runs of datagrams handed over in one buffer where the kernel can;
	 * net_batch_recv splits them. */
	(void)setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
	if (bind_to) {
		/* [::] also takes IPv4 (as mapped addresses), whatever the
		 * system default for the option is. */
		if (family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		if (bind(fd, (const struct sockaddr *)&bind_to->ss, bind_to->len) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	}
	return fd;
}

/* The address family of a socket, or -1. */
static int sock_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ? -1 : ss.ss_family;
}

int net_set_dontfrag(int fd, bool on)
{
	int family = sock_family(fd), v;

	if (family < 0)
		return -1;
	if (family == AF_INET6) {
		v = on ? IPV6_PMTUDISC_DO : IPV6_PMTUDISC_WANT;
		return setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
	}
	v = on ? IP_PMTUDISC_DO : IP_PMTUDISC_WANT;
	return setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
}

long net_path_mtu(int fd)
{
	int family = sock_family(fd), mtu = -1;
	socklen_t n = sizeof(mtu);

	if (family < 0)
		return -1;
	if (family == AF_INET6) {
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &n) < 0)
			return -1;
	} else if (getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &n) < 0) {
		return -1;
	}
	return mtu;
}

void net_send(int fd, const struct net_addr *to, const uint8_t *buf, size_t len)
{
	ssize_t n;

	do {
		n = sendto(fd, buf, len, 0, (const struct sockaddr *)&to->ss, to->len);
	} while (n < 0 && errno == EINTR);
	/* Anything else (ENOBUFS, ECONNREFUSED from an earlier ICMP error, ...)
	 * is a lost datagram, which the protocol repairs like any other. */
}

long net_recv(int fd, uint8_t *buf, size_t cap, struct net_addr *from)
{
	ssize_t n;

	for (;;) {
		from->len = sizeof(from->ss);
		n = recvfrom(fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&from->ss, &from->len);
		if (n >= 0)
			return n > (ssize_t)cap ? (long)cap + 1 : (long)n;
		if (errno == EINTR)
			continue;
		/* ICMP errors surface here on a socket that sent to a closed port. */
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED)
			return 0;
		return -1;
	}
}

/* Can slot j join the run that starts at slot i (same peer, every
 * datagram but the last of the run as long as the first)? */
static bool joins(const struct net_batch *b, unsigned i, unsigned j, size_t bytes)
{
	size_t len = b->iov[i].iov_len;

	return j - i < NET_GSO_SEGMENTS && bytes + b->iov[j].iov_len <= NET_GSO_BYTES &&
	       b->iov[j - 1].iov_len == len && b->iov[j].iov_len <= len &&
	       b->m[j].msg_hdr.msg_namelen == b->m[i].msg_hdr.msg_namelen &&
	       (!b->m[i].msg_hdr.msg_name || net_addr_equal(&b->addr[i], &b->addr[j]));
}

/* Send slots [first, first + count) one message each. */
static void send_singly(int fd, struct net_batch *b, unsigned first, unsigned count)
{
	unsigned done = 0;

	while (done < count) {
		int n = sendmmsg(fd, b->m + first + done, count - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			done++;		/* skip the datagram that failed: a loss */
			continue;
		}
		done += (unsigned)n;
	}
}

/* Room for one UDP_SEGMENT control message. */
union gso_ctl {
	char buf[CMSG_SPACE(sizeof(uint16_t))];
	struct cmsghdr align;
};

/* One message for the run of slots [i, j): segmented when it is several. */
static void run_message(struct net_batch *b, unsigned i, unsigned j, struct mmsghdr *m,
			union gso_ctl *ctl)
{
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = b->m[i].msg_hdr.msg_name;
	m->msg_hdr.msg_namelen = b->m[i].msg_hdr.msg_namelen;
	m->msg_hdr.msg_iov = &b->iov[i];
	m->msg_hdr.msg_iovlen = j - i;
	if (j - i > 1) {
		struct cmsghdr *c;
		uint16_t seg = (uint16_t)b->iov[i].iov_len;

		m->msg_hdr.msg_control = ctl->buf;
		m->msg_hdr.msg_controllen = sizeof(ctl->buf);
		c = CMSG_FIRSTHDR(&m->msg_hdr);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	}
}

void net_batch_flush(int fd, struct net_batch *b)
{
	struct mmsghdr gm[NET_BATCH];
	union gso_ctl ctl[NET_BATCH];
	unsigned first[NET_BATCH], count[NET_BATCH], ng = 0, done = 0;

	if (!b->gso) {
		send_singly(fd, b, 0, b->n);
		b->n = 0;
		return;
	}
	for (unsigned i = 0; i < b->n;) {
		size_t bytes = b->iov[i].iov_len;
		unsigned j = i + 1;

		while (j < b->n && joins(b, i, j, bytes))
			bytes += b->iov[j++].iov_len;
		run_message(b, i, j, &gm[ng], &ctl[ng]);
		first[ng] = i;
		count[ng++] = j - i;
		i = j;
	}
	while (done < ng) {
		int n = sendmmsg(fd, gm + done, ng - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			done += (unsigned)n;
			continue;
		}
		/* The run that failed: a kernel or a device without
		 * segmentation says so once; from then on, one a message.
		 * Segments longer than the route's MTU fail the whole run
		 * (EMSGSIZE): each datagram then goes on its own, and only
		 * those too long for the route are lost. */
		if (count[done] > 1 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT ||
					errno == EOPNOTSUPP)) {
			b->gso = false;
			send_singly(fd, b, first[done], count[done]);
		} else if (count[done] > 1 && errno == EMSGSIZE) {
			send_singly(fd, b, first[done], count[done]);
		}
		done++;		/* otherwise a loss, which the protocol repairs */
	}
	b->n = 0;
}

int net_batch_init(struct net_batch *b, size_t dgram_max, enum net_batch_use use)
{
	memset(b, 0, sizeof(*b));
	b->dgram_max = dgram_max;
	b->slot = use == NET_RECEIVE && dgram_max < NET_GRO_BYTES ? NET_GRO_BYTES : dgram_max + 1;
	b->gso = use == NET_SEND;
	b->buf = malloc(NET_BATCH * b->slot);
	return b->buf ? 0 : CFT_E_NOMEM;
}

void net_batch_free(struct net_batch *b)
{
	free(b->buf);
	b->buf = NULL;
}

uint8_t *net_batch_next(int fd, struct net_batch *b)
{
	if (b->n == NET_BATCH)
		net_batch_flush(fd, b);
	return net_batch_data(b, b->n);
}

void net_batch_commit(struct net_batch *b, const struct net_addr *to, size_t len)
{
	unsigned i = b->n++;

	b->iov[i].iov_base = net_batch_data(b, i);
	b->iov[i].iov_len = len;
	memset(&b->m[i], 0, sizeof(b->m[i]));
	b->m[i].msg_hdr.msg_iov = &b->iov[i];
	b->m[i].msg_hdr.msg_iovlen = 1;
	if (to) {
		b->addr[i] = *to;
		b->m[i].msg_hdr.msg_name = &b->addr[i].ss;
		b->m[i].msg_hdr.msg_namelen = to->len;
	}
}

void net_batch_add(int fd, struct net_batch *b, const struct net_addr *to,
		   const uint8_t *buf, size_t len)
{
	memcpy(net_batch_next(fd, b), buf, len);
	net_batch_commit(b, to, len);
}

/* The size of the datagrams coalesced in message i, or 0. */
static uint16_t gro_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 && v <= UINT16_MAX ? (uint16_t)v : 0;
		}
	}
	return 0;
}

int net_batch_recv(int fd, struct net_batch *b)
{
	int n;

	for (unsigned i = 0; i < NET_BATCH; i++) {
		b->iov[i].iov_base = net_batch_data(b, i);
		b->iov[i].iov_len = b->slot;
		memset(&b->m[i], 0, sizeof(b->m[i]));
		b->m[i].msg_hdr.msg_iov = &b->iov[i];
		b->m[i].msg_hdr.msg_iovlen = 1;
		b->m[i].msg_hdr.msg_name = &b->addr[i].ss;
		b->m[i].msg_hdr.msg_namelen = sizeof(b->addr[i].ss);
		b->m[i].msg_hdr.msg_control = b->ctl[i].buf;
		b->m[i].msg_hdr.msg_controllen = sizeof(b->ctl[i].buf);
	}
	do {
		n = recvmmsg(fd, b->m, NET_BATCH, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNREFUSED ? NET_REFUSED :
		       (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	for (int i = 0; i < n; i++) {
		b->addr[i].len = b->m[i].msg_hdr.msg_namelen;
		b->seg[i] = gro_size(&b->m[i].msg_hdr);
		/* A datagram cut short by our buffer was oversized: say so. */
		if (b->m[i].msg_hdr.msg_flags & MSG_TRUNC)
			b->m[i].msg_len = (unsigned)b->slot;
	}
	return n;
}

void net_out_datagram(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len)
{
	struct net_out *o = ctx;

	net_batch_add(o->fd, &o->batch, to, buf, len);
}

uint8_t *net_out_room(void *ctx)
{
	struct net_out *o = ctx;

	return net_batch_next(o->fd, &o->batch);
}

void net_out_commit(void *ctx, const struct net_addr *to, size_t len)
{
	struct net_out *o = ctx;

	net_batch_commit(&o->batch, to, len);
}
