/* The relay: clients, the queue of held datagrams, the counters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cft/error.h"
#include "shim-relay.h"

struct shim_held {
	uint64_t due;			/* microseconds; when to send */
	uint64_t release_idx;		/* reorder: after this index passes; 0 none */
	unsigned client;
	unsigned dir;
	uint64_t gen;			/* client generation: stale after eviction */
	size_t len;
	uint8_t *data;
};

struct shim_client {
	bool used;
	uint64_t gen;
	struct net_addr addr;
	uint64_t last_active;
	uint64_t idx[2];		/* datagrams seen per direction */
	bool ge_bad[2];
	uint64_t next_free[2];		/* --rate: when the link is free again */
	uint8_t *ring[2][SHIM_REPLAY_RING];	/* for --replay */
	size_t ring_len[2][SHIM_REPLAY_RING];
};

static void heap_swap(struct shim_held *a, struct shim_held *b)
{
	struct shim_held t = *a;
	*a = *b;
	*b = t;
}

static void heap_push(struct shim_relay *r, struct shim_held h)
{
	unsigned i = r->nheap++;

	r->heap[i] = h;
	while (i > 0 && r->heap[(i - 1) / 2].due > r->heap[i].due) {
		heap_swap(&r->heap[(i - 1) / 2], &r->heap[i]);
		i = (i - 1) / 2;
	}
}

static struct shim_held heap_pop(struct shim_relay *r)
{
	struct shim_held top = r->heap[0];
	unsigned i = 0;

	r->heap[0] = r->heap[--r->nheap];
	for (;;) {
		unsigned l = 2 * i + 1, rt = l + 1, m = i;

		if (l < r->nheap && r->heap[l].due < r->heap[m].due)
			m = l;
		if (rt < r->nheap && r->heap[rt].due < r->heap[m].due)
			m = rt;
		if (m == i)
			break;
		heap_swap(&r->heap[i], &r->heap[m]);
		i = m;
	}
	return top;
}

static void fault(struct shim_relay *r, unsigned dir, unsigned client, uint64_t idx,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fault(struct shim_relay *r, unsigned dir, unsigned client, uint64_t idx,
		  const char *fmt, ...)
{
	char what[SHIM_CORRUPT_BITS_MAX * 8 + 64];
	va_list ap;

	if (!r->io.fault)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	r->io.fault(r->io.ctx, dir, &r->clients[client].addr, idx, what);
}

static void transmit(struct shim_relay *r, unsigned client, unsigned dir, const uint8_t *buf,
		     size_t len)
{
	r->io.transmit(r->io.ctx, client, dir, &r->clients[client].addr, buf, len);
	r->c[dir].forwarded++;
	r->c[dir].forwarded_bytes += len;
}

/* Hold a copy until `due`, or count it lost when the caps are reached. */
static void hold(struct shim_relay *r, unsigned client, unsigned dir, const uint8_t *buf,
		 size_t len, uint64_t due, uint64_t release_idx)
{
	struct shim_held h = { due, release_idx, client, dir, r->clients[client].gen, len, NULL };

	if (r->nheap + r->nholds >= SHIM_HELD_MAX || r->held_bytes + len > SHIM_HELD_BYTES_MAX ||
	    !(h.data = malloc(len ? len : 1))) {
		r->c[dir].overflow_dropped++;
		return;
	}
	memcpy(h.data, buf, len);
	r->held_bytes += len;
	if (release_idx)
		r->holds[r->nholds++] = h;
	else
		heap_push(r, h);
}

/* Send now, or later when delayed or when the rate limit says the link is
 * busy; a datagram that would wait longer than the queue (--queue, by
 * default SHIM_RATE_QUEUE_MS) is dropped, as by a router's drop-tail. */
static void schedule(struct shim_relay *r, unsigned client, unsigned dir, const uint8_t *buf,
		     size_t len, uint64_t now, uint64_t delay_us)
{
	const struct shim_dir_cfg *c = &r->cfg[dir];
	uint64_t due = now + delay_us;

	if (c->rate) {
		uint64_t *free_at = &r->clients[client].next_free[dir];
		uint64_t start = *free_at > due ? *free_at : due;

		uint64_t queue_ms = c->queue_ms ? c->queue_ms : SHIM_RATE_QUEUE_MS;

		if (start - due > queue_ms * 1000) {
			r->c[dir].rate_dropped++;
			return;
		}
		*free_at = start + (uint64_t)len * 1000000u / c->rate;
		due = start;
	}
	if (due <= now)
		transmit(r, client, dir, buf, len);
	else
		hold(r, client, dir, buf, len, due, 0);
}

/* Reordered datagrams whose turn has come (by index, or by time). */
static void release_holds(struct shim_relay *r, unsigned client, unsigned dir, uint64_t idx,
			  uint64_t now)
{
	for (unsigned i = 0; i < r->nholds;) {
		struct shim_held *h = &r->holds[i];

		if (h->client == client && h->dir == dir && h->gen == r->clients[client].gen &&
		    (h->release_idx <= idx || h->due <= now)) {
			struct shim_held t = *h;

			r->holds[i] = r->holds[--r->nholds];
			r->held_bytes -= t.len;
			schedule(r, t.client, t.dir, t.data, t.len, now, 0);
			free(t.data);
			continue;
		}
		i++;
	}
}

static void remember(struct shim_relay *r, struct shim_client *cl, unsigned dir,
		     const uint8_t *buf, size_t len)
{
	unsigned slot = (unsigned)(cl->idx[dir] % SHIM_REPLAY_RING);
	uint8_t *copy;

	if (r->cfg[dir].replay <= 0)
		return;
	copy = realloc(cl->ring[dir][slot], len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, buf, len);
	cl->ring[dir][slot] = copy;
	cl->ring_len[dir][slot] = len;
}

/* The faults that change or multiply a datagram that goes on: counted and
 * logged. */
static void note_damage(struct shim_relay *r, unsigned client, unsigned dir, uint64_t idx,
			size_t len, const struct shim_verdict *v)
{
	struct shim_counters *k = &r->c[dir];

	if (v->truncated) {
		k->truncated++;
		fault(r, dir, client, idx, "truncate %zu->%zu", len, v->len);
	}
	if (v->nbits) {
		char bits[SHIM_CORRUPT_BITS_MAX * 8] = "";
		size_t o = 0;

		for (unsigned i = 0; i < v->nbits && o < sizeof(bits) - 12; i++)
			o += (size_t)snprintf(bits + o, sizeof(bits) - o, "%s%u", i ? "," : "",
					      v->bits[i]);
		k->corrupted++;
		fault(r, dir, client, idx, "corrupt bits %s%s", bits,
		      v->resealed ? " resealed" : "");
	}
	if (v->resealed)
		k->resealed++;
	if (v->delay_us)
		k->delayed++;
}

/* An old datagram from the ring, never the one just seen. */
static void replay(struct shim_relay *r, unsigned client, unsigned dir, uint64_t idx,
		   const struct shim_verdict *v, uint64_t now)
{
	struct shim_client *cl = &r->clients[client];
	uint64_t have = cl->idx[dir] - 1 < SHIM_REPLAY_RING ? cl->idx[dir] - 1 : SHIM_REPLAY_RING;
	uint64_t back = 1 + v->replay_pick % have;
	unsigned slot = (unsigned)((cl->idx[dir] - back) % SHIM_REPLAY_RING);

	if (!cl->ring[dir][slot])
		return;
	r->c[dir].replayed++;
	fault(r, dir, client, idx, "replay of %llu", (unsigned long long)(cl->idx[dir] - back));
	schedule(r, client, dir, cl->ring[dir][slot], cl->ring_len[dir][slot], now, v->delay_us);
}

/* One datagram from client (dir forward) or to it (dir reverse), in r->buf. */
static void relay(struct shim_relay *r, unsigned client, unsigned dir, size_t len, uint64_t now)
{
	struct shim_client *cl = &r->clients[client];
	const struct shim_dir_cfg *c = &r->cfg[dir];
	struct shim_counters *k = &r->c[dir];
	struct shim_verdict v;
	uint64_t idx = ++cl->idx[dir];

	k->seen++;
	k->seen_bytes += len;
	cl->last_active = now;
	shim_decide(c, r->seed, dir, idx, &cl->ge_bad[dir], r->buf, len, &v);
	if (v.drop) {
		if (v.too_big)
			k->too_big++;
		else if (v.burst_drop)
			k->burst_dropped++;
		else
			k->dropped++;
		fault(r, dir, client, idx, "%s", v.too_big ? "too-big" :
		      v.burst_drop ? "burst-drop" : "drop");
		release_holds(r, client, dir, idx, now);
		return;
	}
	note_damage(r, client, dir, idx, len, &v);
	if (v.reorder) {
		k->reordered++;
		fault(r, dir, client, idx, "reorder depth %u", c->reorder_depth);
		hold(r, client, dir, r->buf, v.len, now + (uint64_t)SHIM_REORDER_HOLD_MS * 1000,
		     idx + (c->reorder_depth ? c->reorder_depth : 1));
	} else {
		schedule(r, client, dir, r->buf, v.len, now, v.delay_us);
	}
	if (v.duplicate) {
		k->duplicated++;
		fault(r, dir, client, idx, "duplicate after %llu us",
		      (unsigned long long)v.dup_delay_us);
		schedule(r, client, dir, r->buf, v.len, now, v.delay_us + v.dup_delay_us);
	}
	if (v.replay && cl->idx[dir] > 1)
		replay(r, client, dir, idx, &v, now);
	/* Kept as it went on, damage and all: a replay is old traffic exactly
	 * as the peer once saw it. */
	remember(r, cl, dir, r->buf, v.len);
	release_holds(r, client, dir, idx, now);
}

static void client_forget(struct shim_relay *r, unsigned i)
{
	struct shim_client *cl = &r->clients[i];

	r->io.close(r->io.ctx, i);
	for (unsigned d = 0; d < 2; d++)
		for (unsigned j = 0; j < SHIM_REPLAY_RING; j++)
			free(cl->ring[d][j]);
	memset(cl, 0, sizeof(*cl));
}

/* The client slot for addr, opening one (and its path upstream) if new;
 * the least recently active is forgotten when the table is full. */
static int client_for(struct shim_relay *r, const struct net_addr *addr, uint64_t now)
{
	unsigned victim = 0;

	for (unsigned i = 0; i < SHIM_CLIENTS_MAX; i++)
		if (r->clients[i].used && net_addr_equal(&r->clients[i].addr, addr))
			return (int)i;
	for (unsigned i = 0; i < SHIM_CLIENTS_MAX; i++) {
		if (!r->clients[i].used) {
			victim = i;
			break;
		}
		if (r->clients[i].last_active < r->clients[victim].last_active)
			victim = i;
	}
	if (r->clients[victim].used)
		client_forget(r, victim);
	if (r->io.open(r->io.ctx, victim) < 0)
		return -1;
	r->clients[victim].used = true;
	r->clients[victim].gen = ++r->gen;
	r->clients[victim].addr = *addr;
	r->clients[victim].last_active = now;
	return (int)victim;
}

void shim_relay_forward(struct shim_relay *r, uint64_t now, const struct net_addr *from,
			const uint8_t *buf, size_t len)
{
	int client = client_for(r, from, now);

	if (client < 0 || len > SHIM_DATAGRAM_MAX)
		return;
	memcpy(r->buf, buf, len);
	relay(r, (unsigned)client, SHIM_FORWARD, len, now);
}

void shim_relay_reverse(struct shim_relay *r, uint64_t now, unsigned client,
			const uint8_t *buf, size_t len)
{
	if (client >= SHIM_CLIENTS_MAX || !r->clients[client].used || len > SHIM_DATAGRAM_MAX)
		return;
	memcpy(r->buf, buf, len);
	relay(r, client, SHIM_REVERSE, len, now);
}

static bool current(const struct shim_relay *r, const struct shim_held *h)
{
	return r->clients[h->client].used && r->clients[h->client].gen == h->gen;
}

void shim_relay_on_timer(struct shim_relay *r, uint64_t now)
{
	while (r->nheap && r->heap[0].due <= now) {
		struct shim_held h = heap_pop(r);

		r->held_bytes -= h.len;
		if (current(r, &h))
			transmit(r, h.client, h.dir, h.data, h.len);
		free(h.data);
	}
	for (unsigned i = 0; i < r->nholds;) {
		struct shim_held h = r->holds[i];

		if (h.due > now) {
			i++;
			continue;
		}
		r->holds[i] = r->holds[--r->nholds];
		r->held_bytes -= h.len;
		if (current(r, &h))
			schedule(r, h.client, h.dir, h.data, h.len, now, 0);
		free(h.data);
	}
	for (unsigned i = 0; i < SHIM_CLIENTS_MAX; i++)
		if (r->clients[i].used &&
		    now - r->clients[i].last_active > (uint64_t)SHIM_CLIENT_IDLE_S * 1000000u)
			client_forget(r, i);
}

uint64_t shim_relay_next_deadline(const struct shim_relay *r)
{
	uint64_t next = r->nheap ? r->heap[0].due : UINT64_MAX;

	for (unsigned i = 0; i < r->nholds; i++)
		if (r->holds[i].due < next)
			next = r->holds[i].due;
	return next;
}

bool shim_relay_client(const struct shim_relay *r, unsigned client, struct net_addr *addr)
{
	if (client >= SHIM_CLIENTS_MAX || !r->clients[client].used)
		return false;
	if (addr)
		*addr = r->clients[client].addr;
	return true;
}

int shim_relay_init(struct shim_relay *r, const struct shim_dir_cfg cfg[2], uint64_t seed,
		    struct shim_io io)
{
	memset(r, 0, sizeof(*r));
	r->cfg[0] = cfg[0];
	r->cfg[1] = cfg[1];
	r->seed = seed;
	r->io = io;
	r->clients = calloc(SHIM_CLIENTS_MAX, sizeof(*r->clients));
	r->heap = calloc(SHIM_HELD_MAX, sizeof(*r->heap));
	r->holds = calloc(SHIM_HELD_MAX, sizeof(*r->holds));
	return r->clients && r->heap && r->holds ? 0 : CFT_E_NOMEM;
}

void shim_relay_free(struct shim_relay *r)
{
	for (unsigned i = 0; r->clients && i < SHIM_CLIENTS_MAX; i++)
		if (r->clients[i].used)
			client_forget(r, i);
	while (r->nheap) {
		struct shim_held h = heap_pop(r);

		free(h.data);
	}
	for (unsigned i = 0; i < r->nholds; i++)
		free(r->holds[i].data);
	free(r->clients);
	free(r->heap);
	free(r->holds);
	memset(r, 0, sizeof(*r));
}
