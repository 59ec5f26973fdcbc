/* cft-recv: options, the destination, the socket, the server in the loop. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cft/cli.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/limits.h"
#include "cft/loop.h"
#include "cft/net.h"
#include "cft/util.h"
#include "cft/version.h"
#include "privs.h"
#include "programs.h"
#include "recv-report.h"
#include "recv-server.h"
#include "store.h"

/* Longest sleep, microseconds: the loop re-checks its deadlines this often. */
#define MAX_WAIT_US 1000000

struct recv_opts {
	const char *listen_at;
	const char *dir;
	const char *user;
	const char *key;		/* --key FILE */
	long long timeout_s, ttl_s, mode_mask, reserve, quota;
	bool once, quiet, verbose, json, syslog, insecure;
};

/* The running program: the loop's context. */
struct recv_run {
	struct recv_opts o;
	struct recv_server srv;
	struct recv_report rep;
	struct net_out out;		/* the listening socket */
	int dirfd;
	char listening[160];		/* the address, and how it is served */
	unsigned swept_at;		/* sessions_done at the last sweep */
	uint64_t swept_when;		/* ... and when (loop clock, us) */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cft-recv [OPTIONS] DIR\n"
		"Receive files from cft-send into DIR; each appears under its name only\n"
		"once read back from disk and verified against the sender's digest.\n"
		"\n"
		"  -l, --listen ADDR:PORT  where to listen (default [::]:%d, all addresses;\n"
		"                          IPv6 as [ADDR]:PORT, :PORT for any address)\n"
		"  -1, --once              exit 0 once a session has committed every file\n"
		"  -t, --timeout SECONDS   drop a sender silent this long (%d)\n"
		"  -p, --partial-ttl SECONDS  remove partial files untouched this long (%d)\n"
		"      --mode-mask MODE    permission bits a file may get, less the umask\n"
		"                          (octal, default 0755: not group- or world-writable)\n"
		"      --reserve SIZE      free space to leave, K/M/G/T (default 64M)\n"
		"      --partial-quota SIZE  space for abandoned partial files (default:\n"
		"                          a quarter of the file system)\n"
		"  -q, --quiet             print nothing but errors\n"
		"  -v, --verbose           report sessions, files, drops and repairs\n"
		"      --json              one JSON object per finished session on stdout\n"
		"      --syslog            log to syslog (daemon) instead of standard error\n"
		"      --user NAME         become NAME once listening (when started as root)\n"
		"  -k, --key FILE          the key shared with senders (cft genkey): every\n"
		"                          datagram authenticated and encrypted\n"
		"      --insecure          serve beyond loopback without a key (a trusted LAN)\n"
		"  -h, --help              this text\n"
		"  -V, --version           print the version\n"
		"\n"
		"Exit: 0 done, 1 usage, 3 DIR unusable, 4 network (or --once interrupted).\n"
		"A session's own status (2 refused, 3 file error, 4 network, 5 digests never\n"
		"agreed, 6 key refused) is in its report.  See cft-recv(1).\n",
		CFT_DEFAULT_PORT, CFT_TIMEOUT_DEFAULT_S, CFT_PARTIAL_TTL_DEFAULT_S);
}

/* A quarter of DIR's file system (or no limit, if it cannot be told). */
static uint64_t default_quota(int dirfd)
{
	struct statvfs v;

	if (fstatvfs(dirfd, &v) < 0)
		return UINT64_MAX;
	return (uint64_t)v.f_blocks * v.f_frsize / CFT_PARTIAL_QUOTA_SHARE;
}

static bool live_file(void *ctx, const char *name)
{
	return recv_server_holds(ctx, name);
}

/* Remove partial files abandoned for longer than the TTL, none of a live
 * session's. */
static void sweep(struct recv_run *r)
{
	uint64_t ttl_s = (uint64_t)r->o.ttl_s;
	int n = store_sweep(r->dirfd, ttl_s, live_file, &r->srv);

	if (n > 0)
		log_verbose("removed %d abandoned temporary file%s (older than %llu s)", n,
			    n == 1 ? "" : "s", (unsigned long long)ttl_s);
}

/* Bind the default: dual-stack [::] where IPv6 exists, else 0.0.0.0. */
static int bind_default(struct net_addr *addr)
{
	const char *why;
	char spec[32];
	int fd;

	snprintf(spec, sizeof(spec), "[::]:%d", CFT_DEFAULT_PORT);
	if (net_parse_hostport(spec, CFT_DEFAULT_PORT, 1, addr, &why) == 0) {
		fd = net_udp_socket(addr, 0);
		if (fd >= 0)
			return fd;
	}
	snprintf(spec, sizeof(spec), "0.0.0.0:%d", CFT_DEFAULT_PORT);
	if (net_parse_hostport(spec, CFT_DEFAULT_PORT, 1, addr, &why) < 0)
		return -1;
	return net_udp_socket(addr, 0);
}

static unsigned run_fds(void *ctx, int *fds, unsigned cap)
{
	(void)cap;
	fds[0] = ((struct recv_run *)ctx)->out.fd;
	return 1;
}

static void run_datagram(void *ctx, unsigned which, uint64_t now, const struct net_addr *from,
			 const uint8_t *buf, size_t len)
{
	struct recv_run *r = ctx;

	(void)which;
	/* Without a key, anybody who reaches the port could write into DIR:
	 * only this host, unless the operator says the network is trusted. */
	if (!r->o.insecure && !r->srv.keyed && !net_addr_is_loopback(from)) {
		r->srv.c.datagrams++;
		r->srv.c.not_loopback++;
		return;
	}
	recv_server_on_datagram(&r->srv, now, from, buf, len);
}

static void run_tick(void *ctx, uint64_t now)
{
	struct recv_run *r = ctx;

	recv_server_on_timer(&r->srv, now);
	/* A session ended: a good time to clear out abandoned partial files,
	 * but not more than once in CFT_SWEEP_INTERVAL_S. */
	if (r->srv.sessions_done != r->swept_at &&
	    now - r->swept_when >= (uint64_t)CFT_SWEEP_INTERVAL_S * 1000000) {
		r->swept_at = r->srv.sessions_done;
		r->swept_when = now;
		sweep(r);
	}
}

static uint64_t run_deadline(void *ctx, uint64_t now)
{
	return recv_server_next_deadline(&((struct recv_run *)ctx)->srv, now);
}

static void run_flush(void *ctx)
{
	struct recv_run *r = ctx;

	net_out_flush(&r->out);
}

static bool run_finished(void *ctx)
{
	struct recv_run *r = ctx;

	/* Keyless, anybody can open a session and end it with the status of
	 * their choosing: only a session that committed every file ends
	 * --once. */
	return r->o.once && r->srv.sessions_complete > 0;
}

/* An octal mode of permission bits: 0 to 0777. */
static int parse_mask(const char *arg, long long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 8);
	if (errno || end == arg || *end || v < 0 || v > 0777) {
		log_error("--mode-mask '%s': not an octal mode from 0 to 0777", arg);
		return -1;
	}
	*out = v;
	return 0;
}

/* What the options say together, and DIR.  -1 to go on, or an exit status. */
static int check_options(int argc, char **argv, struct recv_opts *o)
{
	if (cli_verbosity(o->quiet, o->verbose) != 0)
		return CFT_EXIT_USAGE;
	if (o->key && o->insecure) {
		log_error("--key and --insecure: with a key the receiver may face any network; "
			  "--insecure is for none");
		return CFT_EXIT_USAGE;
	}
	if (argc - optind != 1) {
		log_error(argc - optind < 1 ? "missing DIR" : "one DIR only");
		usage(stderr);
		return CFT_EXIT_USAGE;
	}
	o->dir = argv[optind];
	return -1;
}

/* Parse the command line into o.  Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct recv_opts *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "once", no_argument, NULL, '1' },
		{ "timeout", required_argument, NULL, 't' },
		{ "partial-ttl", required_argument, NULL, 'p' },
		{ "mode-mask", required_argument, NULL, 'm' },
		{ "reserve", required_argument, NULL, 'r' },
		{ "partial-quota", required_argument, NULL, 'Q' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "syslog", no_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "l:1t:p:k:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o->listen_at = optarg; break;
		case '1': o->once = true; break;
		case 't':
			if (cli_num("--timeout", optarg, 1, CFT_TIMEOUT_MAX_S, 0, "seconds",
				    &o->timeout_s) < 0)
				return CFT_EXIT_USAGE;
			break;
		case 'p':
			if (cli_num("--partial-ttl", optarg, 1, CFT_PARTIAL_TTL_MAX_S, 0, "seconds",
				    &o->ttl_s) < 0)
				return CFT_EXIT_USAGE;
			break;
		case 'm':
			if (parse_mask(optarg, &o->mode_mask) < 0)
				return CFT_EXIT_USAGE;
			break;
		case 'r':
			if (cli_num("--reserve", optarg, 0, (long long)CFT_RESERVE_MAX, 1, "bytes",
				    &o->reserve) < 0)
				return CFT_EXIT_USAGE;
			break;
		case 'Q':
			if (cli_num("--partial-quota", optarg, 0, (long long)CFT_RESERVE_MAX, 1,
				    "bytes", &o->quota) < 0)
				return CFT_EXIT_USAGE;
			break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case 'j': o->json = true; break;
		case 's': o->syslog = true; break;
		case 'u': o->user = optarg; break;
		case 'I': o->insecure = true; break;
		case 'k': o->key = optarg; break;
		case 'h': usage(stdout); return CFT_EXIT_OK;
		case 'V': printf("cft-recv %s (protocol %d)\n", CFT_VERSION, CFT_PROTO_VERSION);
			return CFT_EXIT_OK;
		default:
			cli_bad_option(optopt, argv, optind);
			usage(stderr);
			return CFT_EXIT_USAGE;
		}
	}
	return check_options(argc, argv, o);
}

/* The destination and the socket.  Returns -1 to go on, or an exit status. */
static int open_ends(struct recv_run *r)
{
	struct net_addr addr;
	const char *why;
	char shown[80];
	int rc;

	if (r->o.listen_at) {
		rc = net_parse_hostport(r->o.listen_at, CFT_DEFAULT_PORT, 1, &addr, &why);
		if (rc < 0) {
			log_error("--listen '%s': %s", r->o.listen_at, why);
			return rc == CFT_E_SYNTAX ? CFT_EXIT_USAGE : CFT_EXIT_NETWORK;
		}
		if (!r->o.insecure && !r->o.key && !net_addr_is_loopback(&addr) &&
		    !net_addr_is_any(&addr)) {
			log_error("--listen '%s': without a key, cft-recv serves this host only "
				  "(loopback); --key FILE serves any network, --insecure a "
				  "trusted one", r->o.listen_at);
			return CFT_EXIT_USAGE;
		}
	}
	r->dirfd = store_open_dir(r->o.dir);
	if (r->dirfd < 0) {
		log_error("%s: %s (DIR must be an existing, writable directory)", r->o.dir,
			  strerror(errno));
		return CFT_EXIT_LOCAL;
	}
	r->out.fd = r->o.listen_at ? net_udp_socket(&addr, 0) : bind_default(&addr);
	if (r->out.fd < 0) {
		log_error("cannot listen on %s: %s",
			  r->o.listen_at ? r->o.listen_at : "the default port", strerror(errno));
		return CFT_EXIT_NETWORK;
	}
	net_addr_str(&addr, shown, sizeof(shown));
	/* What root was needed for is done: the port is bound, DIR is open. */
	if (privs_drop(r->o.user) < 0)
		return CFT_EXIT_USAGE;
	snprintf(r->listening, sizeof(r->listening), "%s%s", shown,
		 r->o.key ? " (keyed)" : r->o.insecure ? " (no key: trusted network)" :
		 " (this host only: no key)");
	return -1;
}

/* Serve until --once is done or a signal; returns the exit status. */
static int serve(struct recv_run *r)
{
	const struct loop loop = {
		.ctx = r, .dgram_max = CFT_DATAGRAM_BIG_MAX, .max_wait_us = MAX_WAIT_US,
		.fds = run_fds, .datagram = run_datagram, .tick = run_tick,
		.deadline = run_deadline, .flush = run_flush, .finished = run_finished,
	};
	int sig;

	sweep(r);
	/* Said once signals wait for the loop and the first sweep is done:
	 * whoever waits for this line finds the receiver serving. */
	log_verbose("listening on %s, writing into %s", r->listening, r->o.dir);
	sig = loop_run(&loop);
	if (sig == 0)
		return CFT_EXIT_OK;	/* --once, complete */
	if (sig > 0)
		log_verbose("signal %d: shutting down", sig);
	else
		log_error("poll: %s", strerror(errno));
	/* --once that never completed a session did not succeed. */
	return r->o.once || sig < 0 ? CFT_EXIT_NETWORK : CFT_EXIT_OK;
}

int recv_main(int argc, char **argv)
{
	static struct recv_run r;
	uint8_t key[CFT_KEY_LEN];
	int rc;

	log_prog = "cft-recv";
	r.o = (struct recv_opts){ .timeout_s = CFT_TIMEOUT_DEFAULT_S,
				  .ttl_s = CFT_PARTIAL_TTL_DEFAULT_S,
				  .mode_mask = CFT_MODE_MASK_DEFAULT,
				  .reserve = (long long)CFT_RESERVE_DEFAULT, .quota = -1 };
	r.out.fd = r.dirfd = -1;
	rc = parse_options(argc, argv, &r.o);
	if (rc >= 0)
		return rc;
	/* Before anything else, and before privileges go: a key readable only
	 * by root is the usual case. */
	if (r.o.key && cli_key(r.o.key, key) != 0)
		return CFT_EXIT_USAGE;
	/* A log kept in a file (a service's) needs the time of each line. */
	log_stamp = !isatty(STDERR_FILENO);
	if (r.o.syslog)
		log_syslog();
	rc = open_ends(&r);
	if (rc < 0 && net_batch_init(&r.out.batch, CFT_DATAGRAM_MAX, NET_SEND) == 0 &&
	    recv_server_init(&r.srv, r.dirfd, (uint64_t)r.o.timeout_s * 1000000u,
			     (struct recv_io){ { .datagram = net_out_datagram, .ctx = &r.out }, recv_report_event, &r.rep }) == 0) {
		mode_t um = umask(0);

		umask(um);
		r.srv.mode_mask = (uint32_t)r.o.mode_mask & ~(uint32_t)um;
		if (r.o.key)
			recv_server_set_key(&r.srv, key);
		r.srv.reserve = (uint64_t)r.o.reserve;
		r.srv.partial_quota = r.o.quota >= 0 ? (uint64_t)r.o.quota : default_quota(r.dirfd);
		r.rep.json = r.o.json;
		r.rep.c = &r.srv.c;
		r.srv.threads = true;
		loop_signals();
		rc = serve(&r);
		if (r.o.verbose)
			recv_report_counters(&r.srv.c);
		recv_server_free(&r.srv);
		net_out_flush(&r.out);
	} else if (rc < 0) {
		log_error("out of memory");
		rc = CFT_EXIT_LOCAL;
	}
	memset(key, 0, sizeof(key));
	memset(r.srv.key, 0, sizeof(r.srv.key));
	recv_report_free(&r.rep);
	net_batch_free(&r.out.batch);
	if (r.out.fd >= 0)
		close(r.out.fd);
	if (r.dirfd >= 0)
		close(r.dirfd);
	return rc;
}
