/* cft-send: options, checks on the files, the session in the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/cli.h"
#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/limits.h"
#include "cft/loop.h"
#include "cft/net.h"
#include "cft/util.h"
#include "cft/version.h"
#include "programs.h"
#include "send-report.h"
#include "send-session.h"
#include "tree.h"

/* Longest sleep, microseconds: the progress line is refreshed this often. */
#define MAX_WAIT_US 200000

struct send_opts {
	long long timeout_s;
	long long block_size;	/* 0: choose */
	long long bwlimit;	/* bytes per second; 0: none */
	bool quiet, verbose, json, no_clobber, dry_run, compress;
	const char *key_path;	/* --key FILE */
	uint8_t key[CFT_KEY_LEN];
	int nfiles;
	char **paths;
	const char *peer;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cft-send [OPTIONS] FILE... HOST:PORT\n"
		"Send each FILE, under its base name, to a cft-recv at HOST:PORT, and\n"
		"exit 0 only once every byte is verified on the receiver's disk.\n"
		"\n"
		"  -t, --timeout SECONDS   give up when the receiver is silent this long (%d)\n"
		"  -b, --block-size BYTES  digest and repair unit, %uK to %uM (K, M suffixes);\n"
		"                          default %uM, raised for files over %u blocks\n"
		"      --bwlimit RATE      send at most RATE bytes per second (K, M, G\n"
		"                          suffixes, 1024s), %uK to %uG\n"
		"  -q, --quiet             print nothing but errors\n"
		"  -v, --verbose           report each step and repair\n"
		"      --json              print one JSON summary on standard output\n"
		"  -n, --dry-run           ask the receiver what it holds: up to date, would\n"
		"                          send, or differs, per file; nothing is written\n"
		"      --no-clobber        never replace an existing destination (exit 2)\n"
		"  -z, --compress          compress data with zlib where it compresses\n"
		"  -k, --key FILE          the key shared with the receiver (cft genkey):\n"
		"                          every datagram authenticated and encrypted\n"
		"  -h, --help              this text\n"
		"  -V, --version           print the version\n"
		"\n"
		"Exit: 0 verified, 1 usage, 2 refused, 3 file error, 4 network, 5 digests\n"
		"never agreed, 6 key refused, 7 source changed, 130 interrupted.\n"
		"See cft-send(1).\n",
		CFT_TIMEOUT_DEFAULT_S, CFT_BLOCK_SIZE_MIN / 1024, CFT_BLOCK_SIZE_MAX / (1024 * 1024),
		CFT_BLOCK_SIZE_DEFAULT / (1024 * 1024), CFT_BLOCKS_MAX, (unsigned)(CFT_BWLIMIT_MIN / 1024),
		(unsigned)(CFT_BWLIMIT_MAX >> 30));
}

/* Every FILE and tree walked before any byte moves: a bad one fails the run
 * now, not after the others have gone.  Returns 0 or an exit status. */
static int collect(struct tree *t, int n, char **paths)
{
	for (int i = 0; i < n; i++) {
		int rc = tree_add(t, paths[i]);

		if (rc)
			return rc;
	}
	return tree_check_names(t);
}

/* The block size for the session: as asked, or the default raised until the
 * largest file fits in CFT_BLOCKS_MAX blocks. */
static int choose_block_size(const struct send_file *files, unsigned n, long long asked,
			     uint32_t *out)
{
	uint64_t largest = 0, need;
	uint32_t bs = asked ? (uint32_t)asked : CFT_BLOCK_SIZE_DEFAULT;

	for (unsigned i = 0; i < n; i++)
		if (files[i].size > largest)
			largest = files[i].size;
	need = (largest + CFT_BLOCKS_MAX - 1) / CFT_BLOCKS_MAX;
	if (asked && need > bs) {
		log_error("--block-size %lld is too small for a %llu-byte file "
			  "(at most %u blocks per file)", asked,
			  (unsigned long long)largest, CFT_BLOCKS_MAX);
		return CFT_EXIT_USAGE;
	}
	while (bs < need && bs < CFT_BLOCK_SIZE_MAX)
		bs *= 2;
	*out = bs;
	return 0;
}

/* The running program: the loop's context. */
struct send_run {
	struct send_session *s;
	struct net_out out;		/* the socket, connected to the receiver */
	struct send_report rep;
	const char *peer;		/* HOST:PORT as given */
	struct net_addr addrs[CFT_ADDRS_MAX];	/* what it resolves to */
	unsigned naddrs, at;		/* ... how many, and the one in use */
	unsigned refused;		/* port unreachable replies from it so far */
	int dontfrag;			/* the socket's: 1 on, 0 off, -1 not set */
	uint64_t route_at;		/* its route's MTU last looked at */
};

/* How often the route's MTU is looked at while larger datagrams may go. */
#define ROUTE_CHECK_US 100000

/*
 * While datagrams larger than the default may leave (a padded HELLO, DATA of
 * larger chunks), the socket refuses to cut them in IP fragments: a chunk
 * the path does not carry whole must be lost, not arrive in pieces that
 * cost it whole when one is lost; the sender then takes the default chunks
 * (cft-protocol(7), Chunks).  The default chunks keep the system's way,
 * which fragments them on a path of an MTU below 1500.
 */
static void set_dontfrag(struct send_run *r)
{
	int on = send_large_datagrams(r->s);

	if (on != r->dontfrag && net_set_dontfrag(r->out.fd, on) == 0)
		r->dontfrag = on;
}

static unsigned run_fds(void *ctx, int *fds, unsigned cap)
{
	struct send_run *r = ctx;

	(void)cap;
	fds[0] = r->out.fd;
	return 1;
}

static void run_datagram(void *ctx, unsigned which, uint64_t now, const struct net_addr *from,
			 const uint8_t *buf, size_t len)
{
	struct send_run *r = ctx;

	(void)which;
	(void)from;	/* connected: only the receiver's datagrams arrive */
	send_on_datagram(r->s, now, buf, len);
}

/*
 * Nothing listens at the receiver's address and port (its host answered an
 * ICMP port unreachable): if no receiver ever answered this run, say so at
 * once rather than after --timeout.  A receiver that answered before and is
 * restarting gets the whole timeout to come back, as ever.
 */
static int open_socket(const struct net_addr *a)
{
	int fd = net_udp_socket(NULL, a->ss.ss_family);

	if (fd >= 0 && connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The largest chunk the route to the receiver takes in one packet: what
 * the HELLO tries beside the default (the path beyond the first hop has
 * its say by delivering it, or not). */
static uint32_t route_chunk(const struct send_run *r)
{
	return proto_path_chunk(net_path_mtu(r->out.fd), r->addrs[r->at].ss.ss_family);
}

static void run_refused(void *ctx, unsigned which, uint64_t now)
{
	struct send_run *r = ctx;
	char why[256], shown[80];

	(void)which;
	if (!r->s || send_answered(r->s) || ++r->refused < CFT_REFUSED_MAX)
		return;
	net_addr_str(&r->addrs[r->at], shown, sizeof(shown));
	/* The name's next address, if it has one that takes a socket: the
	 * HELLO goes there at its next retry. */
	while (r->at + 1 < r->naddrs) {
		int fd = open_socket(&r->addrs[++r->at]);
		char next[80];

		if (fd < 0)
			continue;
		close(r->out.fd);
		r->out.fd = fd;
		r->refused = 0;
		r->dontfrag = -1;
		send_peer_moved(r->s, now, route_chunk(r));
		net_addr_str(&r->addrs[r->at], next, sizeof(next));
		log_verbose("%s: nothing listens at %s; trying %s", r->peer, shown, next);
		return;
	}
	snprintf(why, sizeof(why), "%s: nothing listens there (port unreachable%s); is cft-recv "
		 "running, on that port and address?", r->peer,
		 r->naddrs > 1 ? " at every address it names" : "");
	send_abort(r->s, CFT_EXIT_NETWORK, why);
}

static void run_tick(void *ctx, uint64_t now)
{
	struct send_run *r = ctx;

	/* An ICMP may have told the kernel that the path takes less than the
	 * HELLO showed: the socket refuses larger datagrams from then on.  A
	 * look every ROUTE_CHECK_US, not every wake-up. */
	if (now - r->route_at >= ROUTE_CHECK_US && send_large_datagrams(r->s)) {
		r->route_at = now;
		send_route_mtu(r->s, now, route_chunk(r));
	}
	send_on_timer(r->s, now);
	send_report_tick(&r->rep, now);
}

static uint64_t run_deadline(void *ctx, uint64_t now)
{
	return send_next_deadline(((struct send_run *)ctx)->s, now);
}

static void run_flush(void *ctx)
{
	struct send_run *r = ctx;

	set_dontfrag(r);
	net_out_flush(&r->out);
}

static bool run_finished(void *ctx)
{
	return send_finished(((struct send_run *)ctx)->s);
}

/* Long options without a short letter. */
enum { OPT_BWLIMIT = 256, OPT_NO_CLOBBER };

/* Parse the command line into o.  Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct send_opts *o)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "bwlimit", required_argument, NULL, OPT_BWLIMIT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "compress", no_argument, NULL, 'z' },
		{ "no-clobber", no_argument, NULL, OPT_NO_CLOBBER },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:b:k:qvnzhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (cli_num("--timeout", optarg, 1, CFT_TIMEOUT_MAX_S, 0, "seconds",
				    &o->timeout_s) < 0)
				return CFT_EXIT_USAGE;
			break;
		case 'b':
			if (cli_num("--block-size", optarg, CFT_BLOCK_SIZE_MIN, CFT_BLOCK_SIZE_MAX, 1,
				    "bytes", &o->block_size) < 0)
				return CFT_EXIT_USAGE;
			if (o->block_size % CFT_BLOCK_SIZE_STEP != 0) {
				log_error("--block-size '%s': not a multiple of %u", optarg,
					  CFT_BLOCK_SIZE_STEP);
				return CFT_EXIT_USAGE;
			}
			break;
		case OPT_BWLIMIT:
			if (cli_num("--bwlimit", optarg, CFT_BWLIMIT_MIN, CFT_BWLIMIT_MAX, 1,
				    "bytes per second", &o->bwlimit) < 0)
				return CFT_EXIT_USAGE;
			break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case 'j': o->json = true; break;
		case 'n': o->dry_run = true; break;
		case 'z': o->compress = true; break;
		case OPT_NO_CLOBBER: o->no_clobber = true; break;
		case 'k': o->key_path = optarg; break;
		case 'h': usage(stdout); return CFT_EXIT_OK;
		case 'V': printf("cft-send %s (protocol %d)\n", CFT_VERSION, CFT_PROTO_VERSION);
			return CFT_EXIT_OK;
		default:
			cli_bad_option(optopt, argv, optind);
			usage(stderr);
			return CFT_EXIT_USAGE;
		}
	}
	if (cli_verbosity(o->quiet, o->verbose) != 0)
		return CFT_EXIT_USAGE;
	o->nfiles = argc - optind - 1;
	if (o->nfiles < 1) {
		log_error(argc - optind < 1 ? "missing FILE and HOST:PORT" : "missing FILE");
		usage(stderr);
		return CFT_EXIT_USAGE;
	}
	if (o->nfiles > CFT_FILES_MAX) {
		log_error("%d files: at most %d per run", o->nfiles, CFT_FILES_MAX);
		return CFT_EXIT_USAGE;
	}
	o->paths = argv + optind;
	o->peer = argv[argc - 1];
	if (o->key_path && cli_key(o->key_path, o->key) != 0)
		return CFT_EXIT_USAGE;
	return -1;
}

/* A UDP socket connected to the receiver.  Returns it, or -1 after saying
 * why (*rc: the exit status). */
static int connect_peer(struct send_run *r, const char *spec, int *rc)
{
	const char *why;
	int fd, err = net_resolve(spec, CFT_DEFAULT_PORT, 0, r->addrs, CFT_ADDRS_MAX, &r->naddrs,
				  &why);

	if (err < 0) {
		if (err == CFT_E_SYNTAX)
			log_error("'%s': %s (expected HOST:PORT or [IPV6]:PORT)", spec, why);
		else
			log_error("%s: %s", spec, why);
		*rc = err == CFT_E_SYNTAX ? CFT_EXIT_USAGE : CFT_EXIT_NETWORK;
		return -1;
	}
	/* The first address that takes a socket; the others wait their turn
	 * (run_refused). */
	for (r->at = 0; r->at < r->naddrs; r->at++) {
		fd = open_socket(&r->addrs[r->at]);
		if (fd >= 0)
			return fd;
	}
	log_error("%s: %s", spec, strerror(errno));
	*rc = CFT_EXIT_NETWORK;
	return -1;
}

/* Run the session to its end; returns the exit status. */
static int run(struct send_run *r, const struct send_opts *o, struct tree *t,
	       uint32_t block_size)
{
	struct send_config cfg = {
		.files = t->files,
		.nfiles = t->n,
		.block_size = block_size,
		.chunk_max = route_chunk(r),
		.timeout_us = (uint64_t)o->timeout_s * 1000000u,
		.no_clobber = o->no_clobber,
		.dry_run = o->dry_run,
		.compress = o->compress,
		.key = o->key_path ? o->key : NULL,
		.bwlimit = (double)o->bwlimit,
		.threads = true,
		.out = { net_out_datagram, &r->out, net_out_room, net_out_commit },
		.event = send_report_event,
		.event_ctx = &r->rep,
	};
	const struct loop loop = {
		.ctx = r, .dgram_max = CFT_DATAGRAM_MAX, .max_wait_us = MAX_WAIT_US,
		.fds = run_fds, .datagram = run_datagram, .tick = run_tick,
		.deadline = run_deadline, .flush = run_flush, .finished = run_finished,
		.refused = run_refused,
	};

	if (digest_random(&cfg.session, sizeof(cfg.session)) < 0 ||
	    digest_random(cfg.random, sizeof(cfg.random)) < 0 ||
	    net_batch_init(&r->out.batch, CFT_DATAGRAM_BIG_MAX, NET_SEND) < 0 ||
	    !(r->s = send_new(&cfg))) {
		log_error("cannot start: out of memory or no randomness");
		return CFT_EXIT_LOCAL;
	}
	r->rep.s = r->s;
	r->dontfrag = -1;
	set_dontfrag(r);
	r->rep.started = r->rep.last_repairs = util_now_us();
	send_start(r->s, r->rep.started);
	if (loop_run(&loop) != 0) {
		/* A signal, or the wait failed: tell the receiver we stop. */
		send_abort(r->s, CFT_EXIT_SIGNAL, loop_caught() ? "interrupted" : strerror(errno));
		net_out_flush(&r->out);
	}
	return send_outcome(r->s);
}

/* Was --json given, even if the command line is wrong otherwise?  A script
 * that asked for JSON gets an object whatever happens. */
static bool json_asked(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			return true;
	return false;
}

int send_main(int argc, char **argv)
{
	struct send_opts o = { .timeout_s = CFT_TIMEOUT_DEFAULT_S };
	static struct send_run r;
	struct send_file *files = NULL;
	struct tree tree = { 0 };
	uint32_t block_size;
	int rc;

	log_prog = "cft-send";
	r.out.fd = -1;
	rc = parse_options(argc, argv, &o);
	if (rc > 0 && json_asked(argc, argv))
		send_report_usage(rc, log_last_error());
	if (rc >= 0)
		return rc;
	files = calloc((size_t)o.nfiles, sizeof(*files));
	if (!files) {
		log_error("out of memory");
		return CFT_EXIT_LOCAL;
	}
	r.rep = (struct send_report){ .files = files, .nfiles = (uint32_t)o.nfiles,
				      .verbose = o.verbose, .json = o.json, .dry_run = o.dry_run,
				      .progress = !o.quiet && !o.verbose && isatty(STDERR_FILENO) };
	for (int i = 0; i < o.nfiles; i++)
		files[i].path = o.paths[i];	/* named in the report whatever happens */
	loop_signals();
	r.peer = o.peer;
	r.out.fd = connect_peer(&r, o.peer, &rc);
	if (r.out.fd >= 0)
		rc = collect(&tree, o.nfiles, o.paths);
	if (r.out.fd >= 0 && rc == 0) {
		/* The report names what is sent from now on. */
		r.rep.files = tree.files;
		r.rep.nfiles = tree.n;
		r.rep.skipped = tree.skipped;
		rc = choose_block_size(tree.files, tree.n, o.block_size, &block_size);
	}
	if (r.out.fd >= 0 && rc == 0)
		rc = run(&r, &o, &tree, block_size);
	send_report_end(&r.rep, rc,
			r.s ? send_error(r.s) : log_last_error()[0] ? log_last_error() :
			"stopped before sending", o.quiet, util_now_us());
	send_free(r.s);
	net_batch_free(&r.out.batch);
	if (r.out.fd >= 0)
		close(r.out.fd);
	tree_free(&tree);
	free(files);
	memset(o.key, 0, sizeof(o.key));
	return rc;
}
