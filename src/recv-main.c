/* cft-recv: options, the destination, the socket and the poll loop. */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/limits.h"
#include "cft/net.h"
#include "cft/store.h"
#include "cft/util.h"
#include "check.h"
#include "cli.h"
#include "programs.h"
#include "recv-session.h"
#include "sig.h"
#include "version.h"

/* Batches of datagrams handled per wake-up before timers run. */
#define RECV_ROUNDS 8
/* Longest sleep, microseconds: the loop re-checks its deadlines this often. */
#define MAX_WAIT_US 1000000

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cft-recv [OPTIONS] DIR\n"
		"Receive files from cft-send into DIR; each appears under its name only\n"
		"once read back from disk and verified against the sender's digest.\n"
		"\n"
		"  -l, --listen ADDR:PORT  where to listen (default [::]:%d, all addresses;\n"
		"                          IPv6 as [ADDR]:PORT, :PORT for any address)\n"
		"  -1, --once              serve one session, exit with its status\n"
		"  -t, --timeout SECONDS   drop a sender silent this long (%d)\n"
		"  -p, --partial-ttl SECONDS  remove partial files untouched this long (%d)\n"
		"  -q, --quiet             print nothing but errors\n"
		"  -v, --verbose           report sessions, files, drops and repairs\n"
		"      --json              one JSON object per finished session on stdout\n"
		"  -h, --help              this text\n"
		"  -V, --version           print the version\n"
		"\n"
		"Exit: 0 done, 1 usage, 2 refused, 3 file error, 4 network, 5 digests never\n"
		"agreed.  See cft-recv(1).\n",
		CFT_DEFAULT_PORT, CFT_TIMEOUT_DEFAULT_S, CFT_PARTIAL_TTL_DEFAULT_S);
}

/* The receiver's counters, named once for -v and for --json (group: where
 * they go in the -v line). */
static const struct {
	const char *text, *json;
	size_t off;
	unsigned group;		/* 0 total, 1 dropped, 2 repaired, 3 refused */
} counter_names[] = {
#define C(t, j, f, g) { t, j, offsetof(struct recv_counters, f), g }
	C("datagrams", "datagrams", datagrams, 0),
	C("checksum", "bad_checksum", bad_checksum, 1),
	C("not cft", "not_cft", bad_magic, 1),
	C("truncated", "truncated", truncated, 1),
	C("malformed", "malformed", malformed, 1),
	C("version", "bad_version", bad_version, 1),
	C("unknown session", "unknown_session", unknown_session, 1),
	C("wrong peer", "wrong_peer", wrong_peer, 1),
	C("stale", "stale", stale, 1),
	C("duplicate", "duplicate", duplicate, 1),
	C("outside window", "outside_window", window_full, 1),
	C("block digest", "block_mismatch", block_mismatch, 2),
	C("read-back", "readback_mismatch", readback_mismatch, 2),
	C("refused", "refused", refused, 3),
#undef C
};

static unsigned long long counter(const struct recv_counters *c, unsigned i)
{
	return *(const uint64_t *)(const void *)((const char *)c + counter_names[i].off);
}

/* Files listed per session in --json output; past this they are counted. */
#define JSON_FILES_MAX 1024

struct json_file {
	char *name;
	uint64_t size;
	uint8_t digest[CFT_DIGEST_LEN];
};

struct json_session {
	uint64_t id;
	unsigned n;
	uint64_t omitted, bytes;
	struct json_file files[JSON_FILES_MAX];
};

struct emit_ctx {
	int fd;
	struct net_batch batch;
	int json;
	const struct recv_server *srv;
	struct json_session *js[CFT_SESSIONS_MAX];
};

static struct json_session *json_find(struct emit_ctx *e, uint64_t id, int create)
{
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
		if (e->js[i] && e->js[i]->id == id)
			return e->js[i];
	if (!create)
		return NULL;
	for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++) {
		if (!e->js[i]) {
			e->js[i] = calloc(1, sizeof(*e->js[i]));
			if (e->js[i])
				e->js[i]->id = id;
			return e->js[i];
		}
	}
	return NULL;
}

static void on_committed(void *ctx, uint64_t session, const char *name, uint64_t size,
			 const uint8_t digest[CFT_DIGEST_LEN])
{
	struct emit_ctx *e = ctx;
	struct json_session *j;

	if (!e->json || !(j = json_find(e, session, 1)))
		return;
	j->bytes += size;
	if (j->n == JSON_FILES_MAX || !(j->files[j->n].name = strdup(name))) {
		j->omitted++;
		return;
	}
	j->files[j->n].size = size;
	memcpy(j->files[j->n].digest, digest, CFT_DIGEST_LEN);
	j->n++;
}

/* --json: one object per finished session on stdout; keys in cft-recv(1). */
static void on_ended(void *ctx, uint64_t session, const char *peer, int status,
		     const char *why, uint64_t usec)
{
	struct emit_ctx *e = ctx;
	struct json_session *j;
	const struct recv_counters *c = &e->srv->c;
	char hex[2 * CFT_DIGEST_LEN + 1];

	if (!e->json)
		return;
	j = json_find(e, session, 1);
	printf("{\"program\": \"cft-recv\", \"session\": \"%016llx\", \"peer\": ",
	       (unsigned long long)session);
	util_json_string(stdout, peer);
	printf(", \"status\": %d, \"error\": ", status);
	if (why)
		util_json_string(stdout, why);
	else
		printf("null");
	printf(", \"seconds\": %.3f, \"files\": [", (double)usec / 1e6);
	for (unsigned i = 0; j && i < j->n; i++) {
		digest_hex(j->files[i].digest, hex);
		printf("%s{\"name\": ", i ? ", " : "");
		util_json_string(stdout, j->files[i].name);
		printf(", \"bytes\": %llu, \"sha256\": \"%s\"}",
		       (unsigned long long)j->files[i].size, hex);
	}
	printf("], \"files_omitted\": %llu, \"bytes\": %llu, ",
	       (unsigned long long)(j ? j->omitted : 0), (unsigned long long)(j ? j->bytes : 0));
	printf("\"counters\": {");
	for (unsigned i = 0; i < CFT_ARRAY_LEN(counter_names); i++)
		printf("%s\"%s\": %llu", i ? ", " : "", counter_names[i].json, counter(c, i));
	printf("}}\n");
	fflush(stdout);
	if (j) {
		for (unsigned i = 0; i < CFT_SESSIONS_MAX; i++)
			if (e->js[i] == j)
				e->js[i] = NULL;
		for (unsigned i = 0; i < j->n; i++)
			free(j->files[i].name);
		free(j);
	}
}

/* Replies leave in batches; the loop flushes after every round of work. */
static void emit_udp(void *ctx, const struct net_addr *to, const uint8_t *buf, size_t len)
{
	struct emit_ctx *e = ctx;

	net_batch_add(e->fd, &e->batch, to, buf, len);
}

static void print_counters(const struct recv_counters *c)
{
	static const char *const group[] = { "", "; dropped: ", "; repaired: ", "; " };
	char line[1024];
	size_t o = 0;

	for (unsigned i = 0; i < CFT_ARRAY_LEN(counter_names) && o < sizeof(line); i++) {
		unsigned g = counter_names[i].group;
		int first = i == 0 || counter_names[i - 1].group != g;

		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s %llu",
				      first ? group[g] : ", ", counter_names[i].text, counter(c, i));
	}
	log_info("%s; committed %llu file(s), %llu bytes", line,
		 (unsigned long long)c->files_committed, (unsigned long long)c->bytes_committed);
}

/* Remove partial files abandoned for longer than the TTL. */
static void sweep(int dirfd, uint64_t ttl_s)
{
	int n = store_sweep(dirfd, ttl_s);

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

int recv_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "once", no_argument, NULL, '1' },
		{ "timeout", required_argument, NULL, 't' },
		{ "partial-ttl", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_at = NULL, *why;
	struct recv_server srv;
	static struct emit_ctx ectx;	/* large: batches of datagrams */
	static struct net_batch in;
	struct net_addr addr;
	long long timeout_s = CFT_TIMEOUT_DEFAULT_S, ttl_s = CFT_PARTIAL_TTL_DEFAULT_S;
	unsigned swept_at = 0;
	int c, rc, once = 0, quiet = 0, verbose = 0, dirfd, ret = CFT_EXIT_OK;
	char shown[80];

	log_prog = "cft-recv";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "l:1t:p:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_at = optarg; break;
		case '1': once = 1; break;
		case 't':
			rc = util_parse_num(optarg, 1, CFT_TIMEOUT_MAX_S, 0, &timeout_s);
			if (rc < 0) {
				log_error("--timeout '%s': %s (1 to %d seconds)", optarg,
					  cft_strerror(rc), CFT_TIMEOUT_MAX_S);
				return CFT_EXIT_USAGE;
			}
			break;
		case 'p':
			rc = util_parse_num(optarg, 1, CFT_PARTIAL_TTL_MAX_S, 0, &ttl_s);
			if (rc < 0) {
				log_error("--partial-ttl '%s': %s (1 to %d seconds)", optarg,
					  cft_strerror(rc), CFT_PARTIAL_TTL_MAX_S);
				return CFT_EXIT_USAGE;
			}
			break;
		case 'q': quiet = 1; break;
		case 'v': verbose = 1; break;
		case 'j': ectx.json = 1; break;
		case 'h': usage(stdout); return CFT_EXIT_OK;
		case 'V': printf("cft-recv %s (protocol %d)\n", CFT_VERSION, CFT_PROTO_VERSION);
			return CFT_EXIT_OK;
		default:
			cli_bad_option(optopt, argv, optind);
			usage(stderr);
			return CFT_EXIT_USAGE;
		}
	}
	if (cli_verbosity(quiet, verbose) != 0)
		return CFT_EXIT_USAGE;
	if (argc - optind != 1) {
		log_error(argc - optind < 1 ? "missing DIR" : "one DIR only");
		usage(stderr);
		return CFT_EXIT_USAGE;
	}
	if (listen_at) {
		rc = net_parse_hostport(listen_at, CFT_DEFAULT_PORT, 1, &addr, &why);
		if (rc < 0) {
			log_error("--listen '%s': %s", listen_at, why);
			return rc == CFT_E_SYNTAX ? CFT_EXIT_USAGE : CFT_EXIT_NETWORK;
		}
	}
	dirfd = store_open_dir(argv[optind]);
	if (dirfd < 0) {
		log_error("%s: %s (DIR must be an existing, writable directory)", argv[optind],
			  strerror(errno));
		return CFT_EXIT_LOCAL;
	}
	ectx.fd = listen_at ? net_udp_socket(&addr, 0) : bind_default(&addr);
	if (ectx.fd < 0) {
		log_error("cannot listen on %s: %s", listen_at ? listen_at : "the default port",
			  strerror(errno));
		close(dirfd);
		return CFT_EXIT_NETWORK;
	}
	if (recv_server_init(&srv, dirfd, (uint64_t)timeout_s * 1000000u,
			     (struct recv_io){ emit_udp, &ectx, on_committed, on_ended }) < 0) {
		log_error("out of memory");
		close(ectx.fd);
		close(dirfd);
		return CFT_EXIT_LOCAL;
	}
	ectx.srv = &srv;
	sweep(dirfd, (uint64_t)ttl_s);
	net_addr_str(&addr, shown, sizeof(shown));
	log_verbose("listening on %s, writing into %s", shown, argv[optind]);
	sig_setup();

	for (;;) {
		uint64_t now = util_now_us();

		if (sig_caught) {
			log_verbose("signal %d: shutting down", (int)sig_caught);
			/* --once that never finished its session did not succeed. */
			ret = once ? CFT_EXIT_NETWORK : CFT_EXIT_OK;
			break;
		}
		sig_poll(ectx.fd, recv_server_next_deadline(&srv, now), now, MAX_WAIT_US);
		for (int round = 0; round < RECV_ROUNDS; round++) {
			int n = net_batch_recv(ectx.fd, &in);

			if (n < 0) {
				log_error("receive: %s", strerror(errno));
				break;
			}
			for (int i = 0; i < n; i++) {
				if (in.m[i].msg_len > CFT_DATAGRAM_MAX) {
					srv.c.datagrams++;
					srv.c.malformed++;	/* oversized: never ours */
					continue;
				}
				recv_server_on_datagram(&srv, util_now_us(), &in.addr[i], in.buf[i],
							in.m[i].msg_len);
			}
			net_batch_flush(ectx.fd, &ectx.batch);
			if (n < NET_BATCH)
				break;
		}
		recv_server_on_timer(&srv, util_now_us());
		net_batch_flush(ectx.fd, &ectx.batch);
		if (srv.sessions_done != swept_at) {
			swept_at = srv.sessions_done;
			sweep(dirfd, (uint64_t)ttl_s);
		}
		if (once && srv.sessions_done > 0) {
			ret = srv.last_status;
			break;
		}
	}
	if (verbose)
		print_counters(&srv.c);
	recv_server_free(&srv);
	net_batch_flush(ectx.fd, &ectx.batch);
	close(ectx.fd);
	close(dirfd);
	return ret;
}
