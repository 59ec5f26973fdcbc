/*
 * cft-shim: a fault-injecting UDP relay.  Clients talk to --listen; each gets
 * its own socket towards --forward, so replies find their way back.  This
 * file holds the options, the sockets and the reports; the relay itself
 * (shim-relay.c) and the fault model (shim-faults.c) have no sockets.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cft/check.h"
#include "cft/cli.h"
#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/loop.h"
#include "cft/net.h"
#include "cft/util.h"
#include "cft/version.h"
#include "programs.h"
#include "shim-relay.h"

/* Longest sleep, microseconds: --duration and idle clients are checked. */
#define MAX_WAIT_US 1000000

static const char *const dir_name[2] = { "forward", "reverse" };

struct shim_opts {
	const char *listen_at, *forward_to, *log_path, *json_path;
	long long duration, seed;
	bool quiet, verbose;
	struct shim_dir_cfg cfg[2];
};

/* The running program: the loop's context. */
struct shim_run {
	struct shim_relay relay;
	int lfd;
	int upfd[SHIM_CLIENTS_MAX];	/* per client, connected to --forward */
	unsigned who[LOOP_FDS_MAX];	/* loop descriptor index -> client */
	struct net_addr fwd;
	FILE *log;
	uint64_t deadline;		/* --duration; UINT64_MAX for none */
};

/* The counters, named once for the text report and the JSON keys. */
static const struct {
	const char *text, *json;
	size_t off;
} counter_names[] = {
#define C(t, j, f) { t, j, offsetof(struct shim_counters, f) }
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
	C("too big", "too_big", too_big),
#undef C
};

static unsigned long long counter(const struct shim_counters *k, unsigned i)
{
	return *(const uint64_t *)(const void *)((const char *)k + counter_names[i].off);
}

static void print_stats(const struct shim_relay *sh)
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

static int write_json(const struct shim_relay *sh, uint64_t seed, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "{\"seed\": %llu", (unsigned long long)seed);
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
		"  --rate BYTES/S (K, M, G suffixes)   --queue MS (at the rate; default %d)\n"
		"  --max-size BYTES (longer datagrams dropped, as by a smaller MTU)\n"
		"  --recompute-checksum[=crc|all]\n", SHIM_RATE_QUEUE_MS);
}

enum {
	OPT_LOG = 256, OPT_JSON, OPT_DURATION, OPT_DIRECTION, OPT_DROP, OPT_BURST,
	OPT_CORRUPT, OPT_CORRUPT_BITS, OPT_TRUNCATE, OPT_DUPLICATE, OPT_DUP_LATER,
	OPT_REORDER, OPT_REORDER_DEPTH, OPT_REPLAY, OPT_DELAY, OPT_JITTER, OPT_RATE, OPT_QUEUE, OPT_MAX_SIZE,
	OPT_RECOMPUTE,
};

/* Apply one fault option to the directions selected. */
static int set_fault(struct shim_dir_cfg cfg[2], unsigned dirs, int opt, const char *name, const char *arg)
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
	case OPT_QUEUE:
		rc = util_parse_num(arg, 1, SHIM_DELAY_MAX_MS, 0, &n);
		break;
	case OPT_MAX_SIZE:
		rc = util_parse_num(arg, 1, SHIM_DATAGRAM_MAX, 0, &n);
		break;
	case OPT_RATE:
		rc = util_parse_num(arg, 1, 1LL << 40, 1, &n);
		break;
	case OPT_RECOMPUTE:
		/* Alone, the CRC-32 (a router); "all": every keyless check. */
		n = !arg || strcmp(arg, "crc") == 0 ? SHIM_RESEAL_CRC :
		    strcmp(arg, "all") == 0 ? SHIM_RESEAL_ALL : -1;
		rc = n < 0 ? CFT_E_SYNTAX : 0;
		break;
	default:
		break;
	}
	if (rc < 0) {
		log_error("--%s '%s': %s", name, arg ? arg : "",
			  opt == OPT_RECOMPUTE ? "crc or all" : cft_strerror(rc));
		return -1;
	}
	for (unsigned d = 0; d < 2; d++) {
		struct shim_dir_cfg *c = &cfg[d];

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
		case OPT_QUEUE: c->queue_ms = (uint32_t)n; break;
		case OPT_MAX_SIZE: c->max_size = (uint32_t)n; break;
		case OPT_RECOMPUTE: c->recompute = (unsigned)n; break;
		default: break;
		}
	}
	return 0;
}

static int io_open(void *ctx, unsigned client)
{
	struct shim_run *r = ctx;
	int fd = net_udp_socket(NULL, r->fwd.ss.ss_family);

	if (fd >= 0 && connect(fd, (const struct sockaddr *)&r->fwd.ss, r->fwd.len) < 0) {
		close(fd);
		fd = -1;
	}
	r->upfd[client] = fd;
	return fd < 0 ? -1 : 0;
}

static void io_close(void *ctx, unsigned client)
{
	struct shim_run *r = ctx;

	if (r->upfd[client] >= 0)
		close(r->upfd[client]);
	r->upfd[client] = -1;
}

static void io_transmit(void *ctx, unsigned client, unsigned dir, const struct net_addr *addr,
			const uint8_t *buf, size_t len)
{
	struct shim_run *r = ctx;

	if (dir == SHIM_FORWARD)
		(void)send(r->upfd[client], buf, len, 0);
	else
		net_send(r->lfd, addr, buf, len);
}

static void io_fault(void *ctx, unsigned dir, const struct net_addr *client, uint64_t idx,
		     const char *what)
{
	struct shim_run *r = ctx;
	char who[64];

	net_addr_str(client, who, sizeof(who));
	fprintf(r->log, "%s %s %llu %s\n", dir_name[dir], who, (unsigned long long)idx, what);
}

static unsigned run_fds(void *ctx, int *fds, unsigned cap)
{
	struct shim_run *r = ctx;
	unsigned n = 0;

	r->who[n] = UINT32_MAX;
	fds[n++] = r->lfd;
	for (unsigned i = 0; i < SHIM_CLIENTS_MAX && n < cap; i++) {
		if (!shim_relay_client(&r->relay, i, NULL))
			continue;
		r->who[n] = i;
		fds[n++] = r->upfd[i];
	}
	return n;
}

static void run_datagram(void *ctx, unsigned which, uint64_t now, const struct net_addr *from,
			 const uint8_t *buf, size_t len)
{
	struct shim_run *r = ctx;

	if (r->who[which] == UINT32_MAX)
		shim_relay_forward(&r->relay, now, from, buf, len);
	else
		shim_relay_reverse(&r->relay, now, r->who[which], buf, len);
}

static void run_tick(void *ctx, uint64_t now)
{
	shim_relay_on_timer(&((struct shim_run *)ctx)->relay, now);
}

static uint64_t run_deadline(void *ctx, uint64_t now)
{
	struct shim_run *r = ctx;
	uint64_t t = shim_relay_next_deadline(&r->relay);

	(void)now;
	return t < r->deadline ? t : r->deadline;
}

static void run_flush(void *ctx)
{
	(void)ctx;	/* datagrams go one at a time, each at its own moment */
}

static bool run_finished(void *ctx)
{
	return util_now_us() >= ((struct shim_run *)ctx)->deadline;
}

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
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "recompute-checksum", optional_argument, NULL, OPT_RECOMPUTE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Parse the command line into o.  Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct shim_opts *o)
{
	unsigned dirs = 3;
	int c, idx;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "l:f:s:qvhV", longopts, &idx)) != -1) {
		switch (c) {
		case 'l': o->listen_at = optarg; break;
		case 'f': o->forward_to = optarg; break;
		case 's':
			if (cli_num("--seed", optarg, 0, INT64_MAX, 0, "", &o->seed) < 0)
				return CFT_EXIT_USAGE;
			break;
		case OPT_LOG: o->log_path = optarg; break;
		case OPT_JSON: o->json_path = optarg; break;
		case OPT_DURATION:
			if (cli_num("--duration", optarg, 1, CFT_TIMEOUT_MAX_S, 0, "seconds",
				    &o->duration) < 0)
				return CFT_EXIT_USAGE;
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
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); return CFT_EXIT_OK;
		case 'V': printf("cft-shim %s\n", CFT_VERSION); return CFT_EXIT_OK;
		default:
			if (c >= OPT_DROP && c <= OPT_RECOMPUTE) {
				if (set_fault(o->cfg, dirs, c, longopts[idx].name, optarg) < 0)
					return CFT_EXIT_USAGE;
				break;
			}
			cli_bad_option(optopt, argv, optind);
			usage(stderr);
			return CFT_EXIT_USAGE;
		}
	}
	if (cli_verbosity(o->quiet, o->verbose) != 0)
		return CFT_EXIT_USAGE;
	if (!o->listen_at || !o->forward_to || optind != argc) {
		if (optind != argc)
			log_error("unexpected argument '%s'", argv[optind]);
		else
			log_error("--listen and --forward are required");
		usage(stderr);
		return CFT_EXIT_USAGE;
	}
	return -1;
}

/* Addresses, the listening socket, the log.  Returns -1 to go on, or an
 * exit status. */
static int open_ends(struct shim_run *r, const struct shim_opts *o)
{
	struct net_addr laddr;
	const char *why;
	int rc = net_parse_hostport(o->listen_at, CFT_DEFAULT_PORT, 1, &laddr, &why);

	if (rc < 0) {
		log_error("--listen '%s': %s", o->listen_at, why);
		return rc == CFT_E_SYNTAX ? CFT_EXIT_USAGE : CFT_EXIT_NETWORK;
	}
	rc = net_parse_hostport(o->forward_to, CFT_DEFAULT_PORT, 0, &r->fwd, &why);
	if (rc < 0) {
		log_error("--forward '%s': %s", o->forward_to, why);
		return rc == CFT_E_SYNTAX ? CFT_EXIT_USAGE : CFT_EXIT_NETWORK;
	}
	if (o->log_path && !(r->log = fopen(o->log_path, "w"))) {
		log_error("--log %s: %s", o->log_path, strerror(errno));
		return CFT_EXIT_LOCAL;
	}
	r->lfd = net_udp_socket(&laddr, 0);
	if (r->lfd < 0) {
		log_error("cannot listen on %s: %s", o->listen_at, strerror(errno));
		return CFT_EXIT_NETWORK;
	}
	return -1;
}

int shim_main(int argc, char **argv)
{
	static struct shim_opts o;
	static struct shim_run r;
	const struct loop loop = {
		.ctx = &r, .dgram_max = SHIM_DATAGRAM_MAX, .max_wait_us = MAX_WAIT_US,
		.fds = run_fds, .datagram = run_datagram, .tick = run_tick,
		.deadline = run_deadline, .flush = run_flush, .finished = run_finished,
	};
	struct shim_io io = { io_open, io_close, io_transmit, NULL, &r };
	int rc;

	log_prog = "cft-shim";
	o.seed = -1;
	r.lfd = -1;
	for (unsigned i = 0; i < SHIM_CLIENTS_MAX; i++)
		r.upfd[i] = -1;
	rc = parse_options(argc, argv, &o);
	if (rc < 0)
		rc = open_ends(&r, &o);
	if (rc >= 0)
		goto out;
	if (o.seed < 0) {
		uint64_t rnd = 0;

		(void)digest_random(&rnd, sizeof(rnd));
		o.seed = (long long)(rnd >> 1);
	}
	if (r.log)
		io.fault = io_fault;
	if (shim_relay_init(&r.relay, o.cfg, (uint64_t)o.seed, io) < 0) {
		log_error("out of memory");
		rc = CFT_EXIT_LOCAL;
		goto out;
	}
	/* The seed is always printed: it is what makes a run reproducible. */
	log_info("seed %llu: relaying %s -> %s", (unsigned long long)o.seed, o.listen_at,
		 o.forward_to);
	loop_signals();
	r.deadline = o.duration ? util_now_us() + (uint64_t)o.duration * 1000000u : UINT64_MAX;
	rc = loop_run(&loop) < 0 ? CFT_EXIT_NETWORK : CFT_EXIT_OK;
	print_stats(&r.relay);
	if (o.json_path && write_json(&r.relay, (uint64_t)o.seed, o.json_path) < 0) {
		log_error("--stats-json %s: %s", o.json_path, strerror(errno));
		rc = CFT_EXIT_LOCAL;
	}
	shim_relay_free(&r.relay);
out:
	if (r.log)
		fclose(r.log);
	if (r.lfd >= 0)
		close(r.lfd);
	return rc;
}
