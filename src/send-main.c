/* cft-send: options, checks on the files, the poll loop, the summary. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/exit.h"
#include "cft/limits.h"
#include "cft/net.h"
#include "cft/util.h"
#include "cli.h"
#include "programs.h"
#include "send-session.h"
#include "sig.h"
#include "version.h"

/* Batches drained from the socket per wake-up before the timer runs. */
#define RECV_ROUNDS 4
/* Progress line refresh, and -v repair report, microseconds. */
#define PROGRESS_EVERY_US 200000
#define REPORT_EVERY_US 1000000

struct send_opts {
	long long timeout_s;
	long long block_size;	/* 0: choose */
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
		"  -q, --quiet             print nothing but errors\n"
		"  -v, --verbose           report each step and repair\n"
		"      --json              print one JSON summary on standard output\n"
		"  -n, --no-clobber        never replace an existing destination (exit 2)\n"
		"  -h, --help              this text\n"
		"  -V, --version           print the version\n"
		"\n"
		"Exit: 0 verified, 1 usage, 2 refused, 3 file error, 4 network, 5 digests\n"
		"never agreed, 7 source changed, 130 interrupted.  See cft-send(1).\n",
		CFT_TIMEOUT_DEFAULT_S, CFT_BLOCK_SIZE_MIN / 1024, CFT_BLOCK_SIZE_MAX / (1024 * 1024),
		CFT_BLOCK_SIZE_DEFAULT / (1024 * 1024), CFT_BLOCKS_MAX);
}

struct out {
	int fd;
	struct net_batch batch;
};

/* Datagrams leave in batches; the loop flushes after every round of work. */
static void emit_udp(void *ctx, const uint8_t *buf, size_t len)
{
	struct out *o = ctx;

	net_batch_add(o->fd, &o->batch, NULL, buf, len);
}

/* Check every FILE before any byte moves: a bad one fails the run now, not
 * after the others have gone.  Returns 0 or an exit status. */
static int check_files(struct send_file *files, int n, char **paths)
{
	for (int i = 0; i < n; i++) {
		struct stat st;
		char *copy, *base;
		int fd;

		files[i].path = paths[i];
		fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			log_error("%s: %s", paths[i], strerror(errno));
			return CFT_EXIT_LOCAL;
		}
		if (fstat(fd, &st) < 0) {
			log_error("%s: %s", paths[i], strerror(errno));
			close(fd);
			return CFT_EXIT_LOCAL;
		}
		close(fd);
		if (S_ISDIR(st.st_mode)) {
			log_error("%s: is a directory (directory trees are not supported yet)",
				  paths[i]);
			return CFT_EXIT_LOCAL;
		}
		if (!S_ISREG(st.st_mode)) {
			log_error("%s: not a regular file", paths[i]);
			return CFT_EXIT_LOCAL;
		}
		if ((unsigned long long)st.st_size > CFT_FILE_SIZE_MAX) {
			log_error("%s: larger than the %llu-byte limit", paths[i],
				  (unsigned long long)CFT_FILE_SIZE_MAX);
			return CFT_EXIT_LOCAL;
		}
		files[i].size = (uint64_t)st.st_size;
		copy = strdup(paths[i]);
		if (!copy) {
			log_error("out of memory");
			return CFT_EXIT_LOCAL;
		}
		base = basename(copy);
		if (util_name_valid((const uint8_t *)base, strlen(base)) < 0) {
			log_error("%s: name cannot be sent (empty, '.', '..', control characters, "
				  "over %d bytes, or starting with " CFT_TEMP_PREFIX ")",
				  paths[i], CFT_NAME_MAX);
			free(copy);
			return CFT_EXIT_USAGE;
		}
		files[i].name = strdup(base);
		free(copy);
		if (!files[i].name) {
			log_error("out of memory");
			return CFT_EXIT_LOCAL;
		}
		for (int j = 0; j < i; j++) {
			if (strcmp(files[j].name, files[i].name) == 0) {
				log_error("%s and %s would both be sent as '%s'", files[j].path,
					  files[i].path, files[i].name);
				return CFT_EXIT_USAGE;
			}
		}
	}
	return 0;
}

/* The block size for the session: as asked, or the default raised until the
 * largest file fits in CFT_BLOCKS_MAX blocks. */
static int choose_block_size(const struct send_file *files, int n, long long asked,
			     uint32_t *out)
{
	uint64_t largest = 0, need;
	uint32_t bs = asked ? (uint32_t)asked : CFT_BLOCK_SIZE_DEFAULT;

	for (int i = 0; i < n; i++)
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

static void progress(const struct send_session *s, const struct send_file *files,
		     uint64_t started, uint64_t now, int final)
{
	uint64_t cur_bytes, done = 0, total = 0;
	uint32_t cur = send_current(s, &cur_bytes);
	uint32_t nfiles = 0;
	double secs = (double)(now - started) / 1e6;
	char a[32], b[32];

	for (; files[nfiles].path; nfiles++) {
		total += files[nfiles].size;
		if (files[nfiles].committed)
			done += files[nfiles].size;
	}
	if (cur < nfiles && !files[cur].committed)
		done += cur_bytes > files[cur].size ? files[cur].size : cur_bytes;
	util_human_bytes(done, a, sizeof(a));
	util_human_bytes(total, b, sizeof(b));
	enum send_phase ph = send_phase(s);

	fprintf(stderr, "\r\033[K%s %3.0f%% %s / %s %.1f MiB/s%s",
		cur < nfiles ? files[cur].name : "",
		total ? 100.0 * (double)done / (double)total : 100.0, a, b,
		secs > 0 ? (double)done / secs / 1048576.0 : 0.0,
		ph == SEND_VERIFY ? "  checking the copy on the receiver's disk" :
		ph == SEND_SUMS ? "  finding the blocks that differ" : "");
	if (final)
		fprintf(stderr, "\r\033[K");
}

/* --json: one object on stdout, whatever the outcome; keys in cft-send(1). */
static void json_summary(const struct send_session *s, const struct send_file *files, int n,
			 uint64_t usec, int status)
{
	static const char early[] = "stopped before sending; see standard error";

	const struct send_stats *st = s ? send_stats(s) : NULL;
	uint64_t total = 0;
	char hex[2 * CFT_DIGEST_LEN + 1];

	printf("{\"program\": \"cft-send\", \"status\": %d, \"error\": ", status);
	if (status == CFT_EXIT_OK)
		printf("null");
	else
		util_json_string(stdout, s ? send_error(s) : early);
	printf(", \"seconds\": %.3f, \"files\": [", (double)usec / 1e6);
	for (int i = 0; i < n; i++) {
		total += files[i].size;
		printf("%s{\"name\": ", i ? ", " : "");
		util_json_string(stdout, files[i].name ? files[i].name : "");
		printf(", \"path\": ");
		util_json_string(stdout, files[i].path ? files[i].path : "");
		printf(", \"bytes\": %llu, \"committed\": %s, \"sha256\": ",
		       (unsigned long long)files[i].size, files[i].committed ? "true" : "false");
		if (files[i].committed) {
			digest_hex(files[i].digest, hex);
			printf("\"%s\"", hex);
		} else {
			printf("null");
		}
		printf(", \"up_to_date\": %s, \"seconds\": %.3f}",
		       files[i].committed && files[i].datagrams == 0 && files[i].size > 0 ?
		       "true" : "false",
		       (double)files[i].usec / 1e6);
	}
	printf("], \"bytes\": %llu", (unsigned long long)total);
	if (st)
		printf(", \"repairs\": {\"datagrams_sent\": %llu, \"datagrams_resent\": %llu, "
		       "\"blocks_resent\": %llu, \"e2e_mismatches\": %llu, \"e2e_rounds\": %llu, "
		       "\"probes\": %llu, \"timeouts\": %llu, \"reconnects\": %llu}",
		       (unsigned long long)st->datagrams, (unsigned long long)st->retransmits,
		       (unsigned long long)st->blocks_resent, (unsigned long long)st->e2e_mismatches,
		       (unsigned long long)st->e2e_rounds, (unsigned long long)st->probes,
		       (unsigned long long)st->timeouts, (unsigned long long)st->reconnects);
	printf("}\n");
	fflush(stdout);
}

static void summary(const struct send_session *s, const struct send_file *files, int n,
		    uint64_t usec, int digests)
{
	const struct send_stats *st = send_stats(s);
	uint64_t total = 0;
	char hex[2 * CFT_DIGEST_LEN + 1], human[32], fresh[64] = "";
	double secs = (double)usec / 1e6;
	int same = 0;

	for (int i = 0; i < n; i++) {
		total += files[i].size;
		same += files[i].datagrams == 0 && files[i].size > 0;
		digest_hex(files[i].digest, hex);
		/* The sha256sum format, so `sha256sum -c` can check the far end. */
		if (digests)
			printf("%s  %s\n", hex, files[i].name);
	}
	fflush(stdout);
	util_human_bytes(total, human, sizeof(human));
	log_verbose("%llu DATA datagrams sent, %llu probes, %llu retransmission timeouts, "
		    "%llu end-to-end rounds", (unsigned long long)st->datagrams,
		    (unsigned long long)st->probes, (unsigned long long)st->timeouts,
		    (unsigned long long)st->e2e_rounds);
	if (same)
		snprintf(fresh, sizeof(fresh), " (%d already up to date: no data sent)", same);
	log_info("%d file%s%s, %s verified on the receiver's disk in %.2f s (%.1f MiB/s); "
		 "repaired: %llu datagram%s resent, %llu block%s resent, %llu end-to-end "
		 "mismatch%s",
		 n, n == 1 ? "" : "s", fresh, human, secs,
		 secs > 0 ? (double)total / secs / 1048576.0 : 0.0,
		 (unsigned long long)st->retransmits, st->retransmits == 1 ? "" : "s",
		 (unsigned long long)st->blocks_resent, st->blocks_resent == 1 ? "" : "s",
		 (unsigned long long)st->e2e_mismatches, st->e2e_mismatches == 1 ? "" : "es");
}

int send_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-clobber", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct send_opts o = { .timeout_s = CFT_TIMEOUT_DEFAULT_S };
	struct send_file *files = NULL;
	struct send_session *s = NULL;
	struct send_config cfg;
	struct net_addr peer;
	const char *why;
	static struct out out;	/* large: batches of datagrams */
	static struct net_batch in;
	uint64_t started = 0, last_progress = 0, last_report = 0;
	int c, nfiles, rc, fd = -1, err, show_progress;
	int quiet = 0, verbose = 0, json = 0, no_clobber = 0;
	uint32_t block_size;

	log_prog = "cft-send";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:b:qvnhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			rc = util_parse_num(optarg, 1, CFT_TIMEOUT_MAX_S, 0, &o.timeout_s);
			if (rc < 0) {
				log_error("--timeout '%s': %s (1 to %d seconds)", optarg,
					  cft_strerror(rc), CFT_TIMEOUT_MAX_S);
				return CFT_EXIT_USAGE;
			}
			break;
		case 'b':
			rc = util_parse_num(optarg, CFT_BLOCK_SIZE_MIN, CFT_BLOCK_SIZE_MAX, 1,
					    &o.block_size);
			if (rc < 0) {
				log_error("--block-size '%s': %s (%u to %u bytes)", optarg,
					  cft_strerror(rc), CFT_BLOCK_SIZE_MIN, CFT_BLOCK_SIZE_MAX);
				return CFT_EXIT_USAGE;
			}
			break;
		case 'q': quiet = 1; break;
		case 'v': verbose = 1; break;
		case 'j': json = 1; break;
		case 'n': no_clobber = 1; break;
		case 'h': usage(stdout); return CFT_EXIT_OK;
		case 'V': printf("cft-send %s (protocol %d)\n", CFT_VERSION, CFT_PROTO_VERSION);
			return CFT_EXIT_OK;
		default:
			cli_bad_option(optopt, argv, optind);
			usage(stderr);
			return CFT_EXIT_USAGE;
		}
	}
	if (cli_verbosity(quiet, verbose) != 0)
		return CFT_EXIT_USAGE;
	nfiles = argc - optind - 1;
	if (nfiles < 1) {
		log_error(argc - optind < 1 ? "missing FILE and HOST:PORT" : "missing FILE");
		usage(stderr);
		return CFT_EXIT_USAGE;
	}
	if (nfiles > CFT_FILES_MAX) {
		log_error("%d files: at most %d per run", nfiles, CFT_FILES_MAX);
		return CFT_EXIT_USAGE;
	}
	rc = net_parse_hostport(argv[argc - 1], CFT_DEFAULT_PORT, 0, &peer, &why);
	if (rc == CFT_E_SYNTAX) {
		log_error("'%s': %s (expected HOST:PORT or [IPV6]:PORT)", argv[argc - 1], why);
		return CFT_EXIT_USAGE;
	}
	if (rc < 0) {
		log_error("%s: %s", argv[argc - 1], why);
		return CFT_EXIT_NETWORK;
	}

	files = calloc((size_t)nfiles + 1, sizeof(*files));	/* NULL-path end */
	if (!files) {
		log_error("out of memory");
		return CFT_EXIT_LOCAL;
	}
	rc = check_files(files, nfiles, argv + optind);
	if (rc == 0)
		rc = choose_block_size(files, nfiles, o.block_size, &block_size);
	if (rc != 0)
		goto out;

	fd = net_udp_socket(NULL, peer.ss.ss_family);
	if (fd < 0 || connect(fd, (struct sockaddr *)&peer.ss, peer.len) < 0) {
		log_error("%s: %s", argv[argc - 1], strerror(errno));
		rc = CFT_EXIT_NETWORK;
		goto out;
	}
	cfg = (struct send_config){
		.files = files,
		.nfiles = (uint32_t)nfiles,
		.block_size = block_size,
		.timeout_us = (uint64_t)o.timeout_s * 1000000u,
		.no_clobber = no_clobber != 0,
		.io = { emit_udp, &out },
	};
	out.fd = fd;
	s = send_new(&cfg, &err);
	if (!s) {
		log_error("cannot start: %s", cft_strerror(err));
		rc = CFT_EXIT_LOCAL;
		goto out;
	}
	sig_setup();
	show_progress = !quiet && !verbose && isatty(STDERR_FILENO);
	started = last_report = util_now_us();
	send_start(s, started);
	while (!send_finished(s)) {
		uint64_t now = util_now_us();

		if (sig_caught) {
			send_abort(s, CFT_EXIT_SIGNAL, "interrupted");
			net_batch_flush(fd, &out.batch);
			break;
		}
		sig_poll(fd, send_next_deadline(s, now), now, PROGRESS_EVERY_US);
		for (int round = 0; round < RECV_ROUNDS; round++) {
			int n = net_batch_recv(fd, &in);

			for (int i = 0; i < n; i++)
				send_on_datagram(s, util_now_us(), in.buf[i], in.m[i].msg_len);
			if (n < NET_BATCH)
				break;
		}
		now = util_now_us();
		send_on_timer(s, now);
		net_batch_flush(fd, &out.batch);
		if (show_progress && now - last_progress >= PROGRESS_EVERY_US) {
			progress(s, files, started, now, 0);
			last_progress = now;
		}
		if (verbose && now - last_report >= REPORT_EVERY_US) {
			const struct send_stats *st = send_stats(s);
			uint64_t done;
			uint32_t cur = send_current(s, &done);

			log_verbose("%s: %llu bytes confirmed; so far %llu datagrams resent, "
				    "%llu blocks resent, %llu timeouts, %llu end-to-end mismatches",
				    cur < (uint32_t)nfiles ? files[cur].name : "-",
				    (unsigned long long)done, (unsigned long long)st->retransmits,
				    (unsigned long long)st->blocks_resent,
				    (unsigned long long)st->timeouts,
				    (unsigned long long)st->e2e_mismatches);
			last_report = now;
		}
	}
	if (show_progress)
		progress(s, files, started, util_now_us(), 1);
	rc = send_status(s);
	if (rc == CFT_EXIT_OK) {
		if (!quiet)
			summary(s, files, nfiles, util_now_us() - started, !json);
	} else {
		log_error("%s", send_error(s));
	}
out:
	if (json && files)
		json_summary(s, files, nfiles, s ? util_now_us() - started : 0, rc);
	send_free(s);
	if (fd >= 0)
		close(fd);
	for (int i = 0; files && i < nfiles; i++)
		free((void *)files[i].name);
	free(files);
	return rc;
}
