/*
 * cft-shim: a fault-injecting UDP relay.  Clients talk to --listen; each gets
 * its own socket towards --forward, so replies find their way back.  Faults
 * are decided per datagram by shim_decide (shim-faults.c); this file holds
 * the sockets, the queue of held datagrams, the counters and the reports.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/net.h"
#include "cft/util.h"
#include "check.h"
#include "cli.h"
#include "programs.h"
#include "shim.h"
#include "sig.h"
#include "version.h"

/* Bytes held in memory at once, across all held datagrams. */
#define SHIM_HELD_BYTES_MAX (64u * 1024 * 1024)
/* A client silent this long is forgotten and its socket closed, seconds. */
#define SHIM_CLIENT_IDLE_S 120

static const char *const dir_name[2] = { "forward", "reverse" };

struct counters {
	uint64_t seen_bytes, forwarded_bytes;
	uint64_t seen, forwarded, dropped, burst_dropped, corrupted, truncated,
		 resealed, duplicated, replayed, reordered, delayed, rate_dropped,
		 overflow_dropped;
};

struct held {
	uint64_t due;			/* microseconds; when to send */
	uint64_t release_idx;		/* reorder: after this index passes; 0 none */
	unsigned client;
	unsigned dir;
	uint64_t gen;			/* client generation: stale after eviction */
	size_t len;
	uint8_t *data;
};

struct client {
	bool used;
	uint64_t gen;
	struct net_addr addr;
	int upfd;			/* connected to --forward */
	uint64_t last_active;
	uint64_t idx[2];		/* datagrams seen per direction */
	bool ge_bad[2];
	uint64_t next_free[2];		/* --rate: when the link is free again */
	uint8_t *ring[2][SHIM_REPLAY_RING];	/* for --replay */
	size_t ring_len[2][SHIM_REPLAY_RING];
};

struct shim {
	struct shim_dir_cfg cfg[2];
	uint64_t seed;
	int lfd;
	struct net_addr fwd;
	struct client clients[SHIM_CLIENTS_MAX];
	uint64_t gen;
	struct held *heap;		/* min-heap by due */
	unsigned nheap;
	struct held *holds;		/* reorder holds, unordered */
	unsigned nholds;
	size_t held_bytes;
	struct counters c[2];
	FILE *log;
	uint8_t buf[SHIM_DATAGRAM_MAX + 1];
};

static void heap_swap(struct held *a, struct held *b)
{
	struct held t = *a;
	*a = *b;
	*b = t;
}

static void heap_push(struct shim *sh, struct held h)
{
	unsigned i = sh->nheap++;

	sh->heap[i] = h;
	while (i > 0 && sh->heap[(i - 1) / 2].due > sh->heap[i].due) {
		heap_swap(&sh->heap[(i - 1) / 2], &sh->heap[i]);
		i = (i - 1) / 2;
	}
}

static struct held heap_pop(struct shim *sh)
{
	struct held top = sh->heap[0];
	unsigned i = 0;

	sh->heap[0] = sh->heap[--sh->nheap];
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;

		if (l < sh->nheap && sh->heap[l].due < sh->heap[m].due)
			m = l;
		if (r < sh->nheap && sh->heap[r].due < sh->heap[m].due)
			m = r;
		if (m == i)
			break;
		heap_swap(&sh->heap[i], &sh->heap[m]);
		i = m;
	}
	return top;
}

static void logf_fault(struct shim *sh, unsigned dir, unsigned client, uint64_t idx,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void logf_fault(struct shim *sh, unsigned dir, unsigned client, uint64_t idx,
		       const char *fmt, ...)
{
	char who[64];
	va_list ap;

	if (!sh->log)
		return;
	net_addr_str(&sh->clients[client].addr, who, sizeof(who));
	fprintf(sh->log, "%s %s %llu ", dir_name[dir], who, (unsigned long long)idx);
	va_start(ap, fmt);
	vfprintf(sh->log, fmt, ap);
	va_end(ap);
	fputc('\n', sh->log);
}

static void transmit(struct shim *sh, unsigned client, unsigned dir, const uint8_t *buf,
		     size_t len)
{
	struct client *cl = &sh->clients[client];

	if (dir == SHIM_FORWARD)
		(void)send(cl->upfd, buf, len, 0);
	else
		net_send(sh->lfd, &cl->addr, buf, len);
	sh->c[dir].forwarded++;
	sh->c[dir].forwarded_bytes += len;
}

/* Hold a copy until `due`, or count it lost when the caps are reached. */
static void hold(struct shim *sh, unsigned client, unsigned dir, const uint8_t *buf,
		 size_t len, uint64_t due, uint64_t release_idx)
{
	struct held h = { due, release_idx, client, dir, sh->clients[client].gen, len, NULL };

	if (sh->nheap + sh->nholds >= SHIM_HELD_MAX ||
	    sh->held_bytes + len > SHIM_HELD_BYTES_MAX || !(h.data = malloc(len ? len : 1))) {
		sh->c[dir].overflow_dropped++;
		return;
	}
	memcpy(h.data, buf, len);
	sh->held_bytes += len;
	if (release_idx)
		sh->holds[sh->nholds++] = h;
	else
		heap_push(sh, h);
}

/* Send now, or later when delayed or when the rate limit says the link is
 * busy; a rate queue longer than SHIM_RATE_QUEUE_MS drops, like a router. */
static void emit(struct shim *sh, unsigned client, unsigned dir, const uint8_t *buf,
		 size_t len, uint64_t now, uint64_t delay_us)
{
	const struct shim_dir_cfg *c = &sh->cfg[dir];
	uint64_t due = now + delay_us;

	if (c->rate) {
		uint64_t *free_at = &sh->clients[client].next_free[dir];
		uint64_t start = *free_at > due ? *free_at : due;

		if (start - due > (uint64_t)SHIM_RATE_QUEUE_MS * 1000) {
			sh->c[dir].rate_dropped++;
			return;
		}
		*free_at = start + (uint64_t)len * 1000000u / c->rate;
		due = start;
	}
	if (due <= now)
		transmit(sh, client, dir, buf, len);
	else
		hold(sh, client, dir, buf, len, due, 0);
}

static void release_holds(struct shim *sh, unsigned client, unsigned dir, uint64_t idx,
			  uint64_t now)
{
	for (unsigned i = 0; i < sh->nholds;) {
		struct held *h = &sh->holds[i];

		if (h->client == client && h->dir == dir && h->gen == sh->clients[client].gen &&
		    (h->release_idx <= idx || h->due <= now)) {
			struct held t = *h;

			sh->holds[i] = sh->holds[--sh->nholds];
			sh->held_bytes -= t.len;
			emit(sh, t.client, t.dir, t.data, t.len, now, 0);
			free(t.data);
			continue;
		}
		i++;
	}
}

static void remember(struct shim *sh, struct client *cl, unsigned dir, const uint8_t *buf,
		     size_t len)
{
	unsigned slot = (unsigned)(cl->idx[dir] % SHIM_REPLAY_RING);
	uint8_t *copy;

	if (sh->cfg[dir].replay <= 0)
		return;
	copy = realloc(cl->ring[dir][slot], len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, buf, len);
	cl->ring[dir][slot] = copy;
	cl->ring_len[dir][slot] = len;
}

/* One datagram from client (dir forward) or to it (dir reverse). */
static void relay(struct shim *sh, unsigned client, unsigned dir, size_t len, uint64_t now)
{
	struct client *cl = &sh->clients[client];
	const struct shim_dir_cfg *c = &sh->cfg[dir];
	struct counters *k = &sh->c[dir];
	struct shim_verdict v;
	uint64_t idx = ++cl->idx[dir];
	uint8_t *buf = sh->buf;

	k->seen++;
	k->seen_bytes += len;
	cl->last_active = now;
	shim_decide(c, sh->seed, dir, idx, &cl->ge_bad[dir], buf, len, &v);
	if (v.drop) {
		if (v.burst_drop)
			k->burst_dropped++;
		else
			k->dropped++;
		logf_fault(sh, dir, client, idx, "%s", v.burst_drop ? "burst-drop" : "drop");
		release_holds(sh, client, dir, idx, now);
		return;
	}
	if (v.truncated) {
		k->truncated++;
		logf_fault(sh, dir, client, idx, "truncate %zu->%zu", len, v.len);
	}
	if (v.nbits) {
		char bits[SHIM_CORRUPT_BITS_MAX * 8] = "";
		size_t o = 0;

		for (unsigned i = 0; i < v.nbits && o < sizeof(bits) - 12; i++)
			o += (size_t)snprintf(bits + o, sizeof(bits) - o, "%s%u", i ? "," : "",
					      v.bits[i]);
		k->corrupted++;
		logf_fault(sh, dir, client, idx, "corrupt bits %s%s", bits,
			   v.resealed ? " resealed" : "");
	}
	if (v.resealed)
		k->resealed++;
	if (v.delay_us)
		k->delayed++;
	if (v.reorder) {
		k->reordered++;
		logf_fault(sh, dir, client, idx, "reorder depth %u", c->reorder_depth);
		hold(sh, client, dir, buf, v.len, now + (uint64_t)SHIM_REORDER_HOLD_MS * 1000,
		     idx + (c->reorder_depth ? c->reorder_depth : 1));
	} else {
		emit(sh, client, dir, buf, v.len, now, v.delay_us);
	}
	if (v.duplicate) {
		k->duplicated++;
		logf_fault(sh, dir, client, idx, "duplicate after %llu us",
			   (unsigned long long)v.dup_delay_us);
		emit(sh, client, dir, buf, v.len, now, v.delay_us + v.dup_delay_us);
	}
	if (v.replay && cl->idx[dir] > 1) {
		/* An old datagram from the ring, never the one just seen. */
		uint64_t have = cl->idx[dir] - 1 < SHIM_REPLAY_RING ? cl->idx[dir] - 1 : SHIM_REPLAY_RING;
		uint64_t back = 1 + v.replay_pick % have;
		unsigned slot = (unsigned)((cl->idx[dir] - back) % SHIM_REPLAY_RING);

		if (cl->ring[dir][slot]) {
			k->replayed++;
			logf_fault(sh, dir, client, idx, "replay of %llu",
				   (unsigned long long)(cl->idx[dir] - back));
			emit(sh, client, dir, cl->ring[dir][slot], cl->ring_len[dir][slot], now,
			     v.delay_us);
		}
	}
	/* Kept as it went on, damage and all: a replay is old traffic exactly
	 * as the peer once saw it. */
	remember(sh, cl, dir, buf, v.len);
	release_holds(sh, client, dir, idx, now);
}

static void client_forget(struct shim *sh, unsigned i)
{
	struct client *cl = &sh->clients[i];

	close(cl->upfd);
	for (unsigned d = 0; d < 2; d++)
		for (unsigned j = 0; j < SHIM_REPLAY_RING; j++)
			free(cl->ring[d][j]);
	memset(cl, 0, sizeof(*cl));
	cl->upfd = -1;
}

/* The client slot for addr, opening one (and its upstream socket) if new;
 * the least recently active is forgotten when the table is full. */
static int client_for(struct shim *sh, const struct net_addr *addr, uint64_t now)
{
	unsigned victim = 0;
	int fd;

	for (unsigned i = 0; i < SHIM_CLIENTS_MAX; i++)
		if (sh->clients[i].used && net_addr_equal(&sh->clients[i].addr, addr))
			return (int)i;
	for (unsigned i = 0; i < SHIM_CLIENTS_MAX; i++) {
		if (!sh->clients[i].used) {
			victim = i;
			break;
		}
		if (sh->clients[i].last_active < sh->clients[victim].last_active)
			victim = i;
	}
	if (sh->clients[victim].used)
		client_forget(sh, victim);
	fd = net_udp_socket(NULL, sh->fwd.ss.ss_family);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&sh->fwd.ss, sh->fwd.len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sh->clients[victim] = (struct client){ .used = true, .gen = ++sh->gen, .addr = *addr,
					       .upfd = fd, .last_active = now };
	return (int)victim;
}

/* The counters, named once for the text report and the JSON keys. */
static const struct {
	const char *text, *json;
	size_t off;
} counter_names[] = {
#define C(t, j, f) { t, j, offsetof(struct counters, f) }
	C("seen", "seen", seen),
	C("forwarded", "forwarded", forwarded),
	C("bytes seen", "seen_bytes", seen_bytes),
	C("bytes forwarded", "forwarded_bytes", forwarded_bytes),
	C("dropped", "dropped", dropped),
	C("burst-dropped", "burst_dropped", burst_dropped),
	C("corrupted", "corrupted", corrupted),
	C("truncated", "truncated", truncated),
	C("resealed", "resealed", resealed),
	C("duplicated", "duplicated", duplicated),
	C("replayed", "replayed", replayed),
	C("reordered", "reordered", reordered),
	C("delayed", "delayed", delayed),
	C("rate-dropped", "rate_dropped", rate_dropped),
	C("overflow-dropped", "overflow_dropped", overflow_dropped),
#undef C
};

static unsigned long long counter(const struct counters *k, unsigned i)
{
	return *(const uint64_t *)(const void *)((const char *)k + counter_names[i].off);
}

static void print_stats(const struct shim *sh)
{
	for (unsigned d = 0; d < 2; d++) {
		char line[1024];
		size_t o = 0;

		for (unsigned i = 0; i < CFT_ARRAY_LEN(counter_names) && o < sizeof(line); i++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s %llu", i ? ", " : "",
					      counter_names[i].text, counter(&sh->c[d], i));
		log_info("%s: %s", dir_name[d], line);
	}
}

static int write_json(const struct shim *sh, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "{\"seed\": %llu", (unsigned long long)sh->seed);
	for (unsigned d = 0; d < 2; d++) {
		fprintf(f, ", \"%s\": {", dir_name[d]);
		for (unsigned i = 0; i < CFT_ARRAY_LEN(counter_names); i++)
			fprintf(f, "%s\"%s\": %llu", i ? ", " : "", counter_names[i].json,
				counter(&sh->c[d], i));
		fprintf(f, "}");
	}
	fprintf(f, "}\n");
	return fclose(f) == 0 ? 0 : -1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cft-shim --listen ADDR:PORT --forward ADDR:PORT [OPTIONS] [FAULTS]\n"
		"Relay UDP both ways between clients and a server, injecting faults\n"
		"reproducibly from a seed.  See cft-shim(1).\n"
		"\n"
		"  -l, --listen ADDR:PORT     where clients send\n"
		"  -f, --forward ADDR:PORT    the service behind the shim\n"
		"  -s, --seed N               fault seed (default: random; always printed)\n"
		"      --log FILE             one line per injected fault\n"
		"      --stats-json FILE      counters as JSON at exit\n"
		"      --duration SECONDS     exit after this long\n"
		"  -q, --quiet, -v, --verbose, -h, --help, -V, --version\n"
		"\n"
		"Faults (P is a probability, 0.05 or 5%%), for the direction chosen by the\n"
		"last --direction before them (both|forward|reverse; default both):\n"
		"  --drop P   --burst ENTER,LEAVE,LOSS   --corrupt P   --corrupt-bits N\n"
		"  --truncate P   --duplicate P   --duplicate-later MS   --reorder P\n"
		"  --reorder-depth N   --replay P   --delay MS   --jitter MS\n"
		"  --rate BYTES/S (K, M, G suffixes)   --recompute-checksum\n");
}

enum {
	OPT_LOG = 256, OPT_JSON, OPT_DURATION, OPT_DIRECTION, OPT_DROP, OPT_BURST,
	OPT_CORRUPT, OPT_CORRUPT_BITS, OPT_TRUNCATE, OPT_DUPLICATE, OPT_DUP_LATER,
	OPT_REORDER, OPT_REORDER_DEPTH, OPT_REPLAY, OPT_DELAY, OPT_JITTER, OPT_RATE,
	OPT_RECOMPUTE,
};

/* Apply one fault option to the directions selected. */
static int set_fault(struct shim *sh, unsigned dirs, int opt, const char *name, const char *arg)
{
	double p = 0, q = 0, r = 0;
	long long n = 0;
	int rc = 0;

	switch (opt) {
	case OPT_DROP: case OPT_CORRUPT: case OPT_TRUNCATE: case OPT_DUPLICATE:
	case OPT_REORDER: case OPT_REPLAY:
		rc = util_parse_prob(arg, &p);
		break;
	case OPT_BURST: {
		char *copy = strdup(arg), *a, *b, *c, *save = NULL;

		a = copy ? strtok_r(copy, ",", &save) : NULL;
		b = a ? strtok_r(NULL, ",", &save) : NULL;
		c = b ? strtok_r(NULL, ",", &save) : NULL;
		if (!c || strtok_r(NULL, ",", &save) || util_parse_prob(a, &p) < 0 ||
		    util_parse_prob(b, &q) < 0 || util_parse_prob(c, &r) < 0)
			rc = CFT_E_SYNTAX;
		free(copy);
		break;
	}
	case OPT_CORRUPT_BITS:
		rc = util_parse_num(arg, 1, SHIM_CORRUPT_BITS_MAX, 0, &n);
		break;
	case OPT_REORDER_DEPTH:
		rc = util_parse_num(arg, 1, SHIM_REORDER_DEPTH_MAX, 0, &n);
		break;
	case OPT_DELAY: case OPT_JITTER: case OPT_DUP_LATER:
		rc = util_parse_num(arg, 0, SHIM_DELAY_MAX_MS, 0, &n);
		break;
	case OPT_RATE:
		rc = util_parse_num(arg, 1, 1LL << 40, 1, &n);
		break;
	default:
		break;
	}
	if (rc < 0) {
		log_error("--%s '%s': %s", name, arg ? arg : "", cft_strerror(rc));
		return -1;
	}
	for (unsigned d = 0; d < 2; d++) {
		struct shim_dir_cfg *c = &sh->cfg[d];

		if (!(dirs & (1u << d)))
			continue;
		switch (opt) {
		case OPT_DROP: c->drop = p; break;
		case OPT_BURST: c->ge_enter = p; c->ge_leave = q; c->ge_loss = r; break;
		case OPT_CORRUPT: c->corrupt = p; break;
		case OPT_CORRUPT_BITS: c->corrupt_bits = (unsigned)n; break;
		case OPT_TRUNCATE: c->truncate = p; break;
		case OPT_DUPLICATE: c->duplicate = p; break;
		case OPT_DUP_LATER: c->dup_later_ms = (uint32_t)n; break;
		case OPT_REORDER: c->reorder = p; break;
		case OPT_REORDER_DEPTH: c->reorder_depth = (unsigned)n; break;
		case OPT_REPLAY: c->replay = p; break;
		case OPT_DELAY: c->delay_ms = (uint32_t)n; break;
		case OPT_JITTER: c->jitter_ms = (uint32_t)n; break;
		case OPT_RATE: c->rate = (uint64_t)n; break;
		case OPT_RECOMPUTE: c->recompute = true; break;
		default: break;
		}
	}
	return 0;
}

int shim_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "forward", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "stats-json", required_argument, NULL, OPT_JSON },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "direction", required_argument, NULL, OPT_DIRECTION },
		{ "drop", required_argument, NULL, OPT_DROP },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "corrupt", required_argument, NULL, OPT_CORRUPT },
		{ "corrupt-bits", required_argument, NULL, OPT_CORRUPT_BITS },
		{ "truncate", required_argument, NULL, OPT_TRUNCATE },
		{ "duplicate", required_argument, NULL, OPT_DUPLICATE },
		{ "duplicate-later", required_argument, NULL, OPT_DUP_LATER },
		{ "reorder", required_argument, NULL, OPT_REORDER },
		{ "reorder-depth", required_argument, NULL, OPT_REORDER_DEPTH },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "delay", required_argument, NULL, OPT_DELAY },
		{ "jitter", required_argument, NULL, OPT_JITTER },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "recompute-checksum", no_argument, NULL, OPT_RECOMPUTE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct shim sh;
	const char *listen_at = NULL, *forward_to = NULL, *log_path = NULL, *json_path = NULL;
	const char *why;
	struct net_addr laddr;
	long long duration = 0, seed = -1;
	unsigned dirs = 3;
	int c, idx, rc, quiet = 0, verbose = 0, ret = CFT_EXIT_OK;
	uint64_t started, deadline = UINT64_MAX;

	log_prog = "cft-shim";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "l:f:s:qvhV", longopts, &idx)) != -1) {
		switch (c) {
		case 'l': listen_at = optarg; break;
		case 'f': forward_to = optarg; break;
		case 's':
			if (util_parse_num(optarg, 0, INT64_MAX, 0, &seed) < 0) {
				log_error("--seed '%s': not a number from 0", optarg);
				return CFT_EXIT_USAGE;
			}
			break;
		case OPT_LOG: log_path = optarg; break;
		case OPT_JSON: json_path = optarg; break;
		case OPT_DURATION:
			if (util_parse_num(optarg, 1, CFT_TIMEOUT_MAX_S, 0, &duration) < 0) {
				log_error("--duration '%s': 1 to %d seconds", optarg,
					  CFT_TIMEOUT_MAX_S);
				return CFT_EXIT_USAGE;
			}
			break;
		case OPT_DIRECTION:
			if (strcmp(optarg, "both") == 0)
				dirs = 3;
			else if (strcmp(optarg, "forward") == 0)
				dirs = 1;
			else if (strcmp(optarg, "reverse") == 0)
				dirs = 2;
			else {
				log_error("--direction '%s': both, forward or reverse", optarg);
				return CFT_EXIT_USAGE;
			}
			break;
		case 'q': quiet = 1; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return CFT_EXIT_OK;
		case 'V': printf("cft-shim %s\n", CFT_VERSION); return CFT_EXIT_OK;
		default:
			if (c >= OPT_DROP && c <= OPT_RECOMPUTE) {
				if (set_fault(&sh, dirs, c, longopts[idx].name, optarg) < 0)
					return CFT_EXIT_USAGE;
				break;
			}
			cli_bad_option(optopt, argv, optind);
			usage(stderr);
			return CFT_EXIT_USAGE;
		}
	}
	if (cli_verbosity(quiet, verbose) != 0)
		return CFT_EXIT_USAGE;
	if (!listen_at || !forward_to || optind != argc) {
		log_error(optind != argc ? "unexpected argument '%s'" : "--listen and --forward are required",
			  optind != argc ? argv[optind] : "");
		usage(stderr);
		return CFT_EXIT_USAGE;
	}
	rc = net_parse_hostport(listen_at, CFT_DEFAULT_PORT, 1, &laddr, &why);
	if (rc < 0) {
		log_error("--listen '%s': %s", listen_at, why);
		return rc == CFT_E_SYNTAX ? CFT_EXIT_USAGE : CFT_EXIT_NETWORK;
	}
	rc = net_parse_hostport(forward_to, CFT_DEFAULT_PORT, 0, &sh.fwd, &why);
	if (rc < 0) {
		log_error("--forward '%s': %s", forward_to, why);
		return rc == CFT_E_SYNTAX ? CFT_EXIT_USAGE : CFT_EXIT_NETWORK;
	}
	if (seed < 0) {
		uint64_t r = 0;

		(void)digest_random(&r, sizeof(r));
		seed = (long long)(r >> 1);
	}
	sh.seed = (uint64_t)seed;
	sh.heap = calloc(SHIM_HELD_MAX, sizeof(*sh.heap));
	sh.holds = calloc(SHIM_HELD_MAX, sizeof(*sh.holds));
	if (!sh.heap || !sh.holds) {
		log_error("out of memory");
		return CFT_EXIT_LOCAL;
	}
	if (log_path && !(sh.log = fopen(log_path, "w"))) {
		log_error("--log %s: %s", log_path, strerror(errno));
		return CFT_EXIT_LOCAL;
	}
	sh.lfd = net_udp_socket(&laddr, 0);
	if (sh.lfd < 0) {
		log_error("cannot listen on %s: %s", listen_at, strerror(errno));
		return CFT_EXIT_NETWORK;
	}
	for (unsigned i = 0; i < SHIM_CLIENTS_MAX; i++)
		sh.clients[i].upfd = -1;
	/* The seed is always printed: it is what makes a run reproducible. */
	log_info("seed %llu: relaying %s -> %s", (unsigned long long)sh.seed, listen_at,
		 forward_to);
	sig_setup();
	started = util_now_us();
	if (duration)
		deadline = started + (uint64_t)duration * 1000000u;

	for (;;) {
		struct pollfd pfd[1 + SHIM_CLIENTS_MAX];
		unsigned who[1 + SHIM_CLIENTS_MAX], np = 0;
		uint64_t now = util_now_us(), next = deadline;
		int timeout_ms;

		if (sig_caught || now >= deadline)
			break;
		if (sh.nheap && sh.heap[0].due < next)
			next = sh.heap[0].due;
		for (unsigned i = 0; i < sh.nholds; i++)
			if (sh.holds[i].due < next)
				next = sh.holds[i].due;
		timeout_ms = next == UINT64_MAX ? 1000 :
			     next <= now ? 0 : (int)((next - now + 999) / 1000);
		if (timeout_ms > 1000)
			timeout_ms = 1000;
		pfd[np].fd = sh.lfd;
		pfd[np].events = POLLIN;
		who[np++] = UINT32_MAX;
		for (unsigned i = 0; i < SHIM_CLIENTS_MAX; i++) {
			if (!sh.clients[i].used)
				continue;
			if (now - sh.clients[i].last_active > (uint64_t)SHIM_CLIENT_IDLE_S * 1000000u) {
				client_forget(&sh, i);
				continue;
			}
			pfd[np].fd = sh.clients[i].upfd;
			pfd[np].events = POLLIN;
			who[np++] = i;
		}
		{
			struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000 };
			sigset_t none;

			sigemptyset(&none);
			if (ppoll(pfd, np, &ts, &none) < 0 && errno != EINTR) {
				log_error("poll: %s", strerror(errno));
				ret = CFT_EXIT_NETWORK;
				break;
			}
		}
		now = util_now_us();
		for (unsigned p = 0; p < np; p++) {
			/* POLLERR too: an ICMP error must be read to be cleared. */
			if (!(pfd[p].revents & (POLLIN | POLLERR)))
				continue;
			for (int burst = 0; burst < 64; burst++) {
				struct net_addr from;
				long n;

				if (who[p] == UINT32_MAX) {
					n = net_recv(sh.lfd, sh.buf, SHIM_DATAGRAM_MAX, &from);
					if (n <= 0)
						break;
					int cl = client_for(&sh, &from, now);
					if (cl >= 0)
						relay(&sh, (unsigned)cl, SHIM_FORWARD, (size_t)n, now);
				} else {
					unsigned cl = who[p];

					if (!sh.clients[cl].used)
						break;
					n = net_recv(sh.clients[cl].upfd, sh.buf, SHIM_DATAGRAM_MAX, &from);
					if (n <= 0)
						break;
					relay(&sh, cl, SHIM_REVERSE, (size_t)n, now);
				}
			}
		}
		/* Send what is due. */
		now = util_now_us();
		while (sh.nheap && sh.heap[0].due <= now) {
			struct held h = heap_pop(&sh);

			sh.held_bytes -= h.len;
			if (sh.clients[h.client].used && sh.clients[h.client].gen == h.gen)
				transmit(&sh, h.client, h.dir, h.data, h.len);
			free(h.data);
		}
		for (unsigned i = 0; i < sh.nholds;) {
			if (sh.holds[i].due <= now) {
				struct held h = sh.holds[i];

				sh.holds[i] = sh.holds[--sh.nholds];
				sh.held_bytes -= h.len;
				if (sh.clients[h.client].used && sh.clients[h.client].gen == h.gen)
					emit(&sh, h.client, h.dir, h.data, h.len, now, 0);
				free(h.data);
				continue;
			}
			i++;
		}
	}
	print_stats(&sh);
	if (json_path && write_json(&sh, json_path) < 0) {
		log_error("--stats-json %s: %s", json_path, strerror(errno));
		ret = CFT_EXIT_LOCAL;
	}
	if (sh.log)
		fclose(sh.log);
	for (unsigned i = 0; i < SHIM_CLIENTS_MAX; i++)
		if (sh.clients[i].used)
			client_forget(&sh, i);
	while (sh.nheap) {
		struct held h = heap_pop(&sh);
		free(h.data);
	}
	for (unsigned i = 0; i < sh.nholds; i++)
		free(sh.holds[i].data);
	free(sh.heap);
	free(sh.holds);
	close(sh.lfd);
	return ret;
}
