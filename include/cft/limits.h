/*
 * Every limit cft enforces, in one place, with its unit and the reason for
 * its value.  The man pages (cft-send(1), cft-recv(1), cft-protocol(7))
 * document the same numbers; tests probe each one at and just past the limit.
 */
#ifndef CFT_LIMITS_H
#define CFT_LIMITS_H

/* Protocol version spoken by this build.  Bumped on any incompatible change. */
#define CFT_PROTO_VERSION 8
#define CFT_STR_(x) #x
#define CFT_STR(x) CFT_STR_(x)
#define CFT_PROTO_VERSION_STR CFT_STR(CFT_PROTO_VERSION)

/* Default UDP port (no unit). */
#define CFT_DEFAULT_PORT 7411

/*
 * Largest datagram a path is taken to carry until it has shown that it
 * carries more, in bytes of UDP payload: 1500-byte Ethernet MTU minus 40
 * (IPv6) minus 8 (UDP), so every path that carries plain Ethernet frames
 * takes it, over IPv4 and IPv6, without IP fragmentation.  Every datagram
 * but DATA, ZDATA and the HELLO that proves a path for larger chunks fits
 * in it, whatever the session.
 */
#define CFT_DATAGRAM_MAX 1452

/*
 * Bytes of file data in one DATA datagram (a "chunk"), by default: what fits
 * CFT_DATAGRAM_MAX beside the header and the DATA fields (and, sealed, the
 * AEAD tag; ZDATA's tag), rounded down.  A session's chunk size is fixed by
 * its HELLO, which keeps the offset of every chunk computable from its index.
 */
#define CFT_CHUNK_SIZE 1400
/* Bytes a session's largest datagram takes besides its chunk: a chunk of
 * CFT_CHUNK_SIZE makes datagrams of at most CFT_DATAGRAM_MAX. */
#define CFT_DATAGRAM_OVERHEAD (CFT_DATAGRAM_MAX - CFT_CHUNK_SIZE)

/*
 * Larger chunks, for a path that has shown it carries them (the HELLO that
 * asks for one is padded to the size of its largest DATA: cft-protocol(7)),
 * in steps of 4096 up to 16384.  On loopback, where the per-datagram cost
 * bounds the rate, 16 KiB chunks cut the CPU a transfer takes by a fifth;
 * past that, less than the noise, while a lost datagram costs more.  9000-byte
 * jumbo frames carry 8 KiB chunks.
 */
#define CFT_CHUNK_SIZE_STEP 4096u
#define CFT_CHUNK_SIZE_MAX 16384u
/* The largest datagram of any kind: a full DATA of the largest chunk, or the
 * HELLO that asks for it. */
#define CFT_DATAGRAM_BIG_MAX (CFT_CHUNK_SIZE_MAX + CFT_DATAGRAM_OVERHEAD)
/* A session of larger chunks whose receiver answers, but has counted none
 * of the DATA on its way for this long, in microseconds, takes the path to
 * have stopped carrying them (a route or a tunnel changed, or a smaller MTU
 * was learned): it opens again with the default chunks, for the rest of the
 * run. */
#define CFT_CHUNK_STALL_US 2000000

/*
 * Block size range, in bytes.  A block is the unit of the cryptographic digest
 * and of selective re-sending after a mismatch.  The receiver holds each open
 * block in memory until its digest checks, so the maximum bounds memory; the
 * minimum keeps the per-block overhead (one digest, one BLOCK datagram) small.
 */
#define CFT_BLOCK_SIZE_MIN (4u * 1024)
#define CFT_BLOCK_SIZE_MAX (4u * 1024 * 1024)
#define CFT_BLOCK_SIZE_DEFAULT (1u * 1024 * 1024)
/* Block sizes are multiples of this: a block starts at a multiple of the
 * block size, and direct I/O wants offsets and lengths aligned to the
 * device's blocks (dio.h's DIO_ALIGN).  6144-byte blocks put the sender's
 * direct reads at offsets a 4096-byte device refuses, and its read-ahead
 * out of step with its buffers. */
#define CFT_BLOCK_SIZE_STEP 4096u

/*
 * Most blocks in one file.  Each side keeps one SHA-256 digest per block
 * (32 bytes), so this caps that table at 32 MiB.  With the default block size
 * it allows 1 TiB files; cft-send picks a larger block size by itself when a
 * file needs it (up to CFT_BLOCK_SIZE_MAX, so 4 TiB in all).
 */
#define CFT_BLOCKS_MAX (1u << 20)

/* Largest file, in bytes: CFT_BLOCKS_MAX blocks of the largest size. */
#define CFT_FILE_SIZE_MAX ((unsigned long long)CFT_BLOCKS_MAX * CFT_BLOCK_SIZE_MAX)

/* Longest file name, in bytes (NAME_MAX on Linux and the BSDs), and the
 * longest name on the wire: a path below DIR, names joined by '/' (a file
 * of a directory tree), which FILE and a verified STATUS must still fit. */
#define CFT_NAME_MAX 255
#define CFT_PATH_MAX 1024

/* Most files in one session; more files means another session. */
#define CFT_FILES_MAX 65536

/* A sender that no receiver answered yet gives up (exit 4) after this many
 * ICMP port unreachable replies to its HELLOs, instead of waiting out its
 * timeout; one may be a receiver starting a moment late. */
#define CFT_REFUSED_MAX 3
/* ... and tries at most this many of the addresses its name resolves to. */
#define CFT_ADDRS_MAX 8

/* Sessions a receiver serves at once; more are refused (busy). */
#define CFT_SESSIONS_MAX 8
/* ... and from one source address (any port), so that one host cannot take
 * them all. */
#define CFT_SESSIONS_PER_SOURCE 4

/*
 * Return routability: a HELLO opens a session only with the cookie the
 * receiver sent to its address and port, a keyed digest (HMAC-SHA-256 with a
 * secret the receiver draws at start) of that address and port, the session
 * and the period of CFT_COOKIE_PERIOD_US it was made in; the cookie of this
 * period and of the one before are taken, so one lives 30 to 60 s.  Before,
 * the receiver keeps nothing, and answers no datagram with more than
 * CFT_AMPLIFICATION times its size.
 */
#define CFT_COOKIE_LEN 16
#define CFT_COOKIE_PERIOD_US (30 * 1000000ull)
#define CFT_COOKIE_SECRET_LEN 32
#define CFT_AMPLIFICATION 3

/*
 * Keys (cft genkey, --key): a pre-shared key of CFT_KEY_LEN bytes; each
 * side of a session adds CFT_RANDOM_LEN fresh random bytes to the session
 * keys it derives (HKDF).  A receiver remembers the HELLOs of the last
 * CFT_REPLAY_SESSIONS sessions it opened for as long as their cookies hold
 * (two periods), so that a recorded session cannot be played to it again;
 * each end drops a datagram whose packet number it has seen, or that is
 * CFT_REPLAY_WINDOW numbers or more behind the highest.  A sender refused
 * for its key (or for having none) waits CFT_KEY_GRACE_US for an answer it
 * can authenticate, since anyone on the path could have sent the refusal,
 * then gives up (exit 6).
 */
#define CFT_KEY_LEN 32
#define CFT_RANDOM_LEN 32
#define CFT_REPLAY_SESSIONS 1024
#define CFT_REPLAY_WINDOW 4096
#define CFT_KEY_GRACE_US (2 * 1000000ull)

/*
 * Receiver memory for open (incomplete) blocks of one session, in bytes.
 * This is also the sender's window: it never has more than this much data
 * outstanding.  With CFT_SESSIONS_MAX it bounds the receiver at 64 MiB of
 * block buffers whatever the file sizes.
 */
#define CFT_WINDOW_BYTES (8u * 1024 * 1024)
/* ... and in blocks: at least 2 so sending overlaps verifying, at most 64 so
 * the set of complete blocks in the window fits one 64-bit mask in STATUS. */
#define CFT_WINDOW_BLOCKS_MIN 2
#define CFT_WINDOW_BLOCKS_MAX 64

/*
 * DATA datagrams in flight, whatever the path model says: at least
 * CFT_CWND_MIN (so a path with a tiny estimate still gets samples), at most
 * CFT_CWND_MAX (the sender's records of what it sent), and CFT_CWND_INIT
 * before the first round trip is measured.
 */
#define CFT_CWND_MIN 32
#define CFT_CWND_INIT 128
#define CFT_CWND_MAX 8192

/*
 * The path model that paces DATA (src/send/cc.h, cft-protocol(7)).
 * Bandwidth: the largest delivery rate of the last CFT_CC_BW_ROUNDS round
 * trips.  Round trip without queue: the smallest of the last
 * CFT_CC_MIN_RTT_WINDOW_US.  Pacing gains: CFT_CC_STARTUP_GAIN (2/ln 2: the
 * pace doubles every round trip) until the bandwidth grew by less than
 * CFT_CC_FULL_BW_GROWTH for CFT_CC_FULL_BW_ROUNDS rounds, its inverse to
 * drain (or at once when the reports of CFT_CC_SPREAD_MIN datagrams came
 * in over more than CFT_CC_FULL_BW_GROWTH times the time they took to
 * send, plus CFT_CC_BURST_US: a bottleneck spread them out, and its rate is
 * the pace of those reports), then CFT_CC_PROBE_GAIN for one phase of eight and its complement
 * (2 - gain) for the next, each phase a round trip (at least
 * CFT_CC_PHASE_MIN_US).  In flight: at most CFT_CC_CWND_GAIN times the
 * bandwidth-delay product, and never fewer than CFT_CWND_MIN.  A loss means
 * congestion only with a queue of CFT_CC_QUEUE_US (or a sixteenth of the
 * round trip) behind it; then the bandwidth is cut to CFT_CC_BETA of
 * itself, once a round.  A queue that stays CFT_CC_QUEUE_ROUNDS rounds (a
 * whole probing cycle, its draining phase included) is another flow's: the
 * sender then shares like TCP, from a window of one bandwidth-delay product
 * (no queue of its own), cut to CFT_CC_BETA on a loss and, once losses
 * show the other flow fills the queue, grown by CFT_CC_AI datagrams a round
 * trip up to CFT_CC_CWND_GAIN times where it started; it leaves sharing
 * after CFT_CC_SHARE_EXIT_ROUNDS rounds in a row without a queue.
 * Random loss is seen through: rate samples are scaled up by the share
 * lost while no queue builds, up to CFT_CC_LOSS_SEEN_MAX.  Pacing lets a
 * burst of CFT_CC_BURST_US (at least CFT_CC_BURST_MIN datagrams) through
 * when the sender fell behind; before any round trip is measured, the first
 * window goes out paced over 1/CFT_CC_FIRST_SPREAD of the handshake's round
 * trip (CFT_CC_RTT_GUESS_US without one), at least CFT_CC_BURST_US.
 */
#define CFT_CC_BW_ROUNDS 10
#define CFT_CC_MIN_RTT_WINDOW_US 10000000
#define CFT_CC_STARTUP_GAIN 2.77
#define CFT_CC_FULL_BW_GROWTH 1.25
#define CFT_CC_FULL_BW_ROUNDS 3
#define CFT_CC_PROBE_GAIN 1.25
#define CFT_CC_PHASE_MIN_US 1000
#define CFT_CC_CWND_GAIN 2.0
#define CFT_CC_QUEUE_US 2000
#define CFT_CC_BETA 0.7
#define CFT_CC_AI 2
#define CFT_CC_QUEUE_ROUNDS 8
#define CFT_CC_SHARE_EXIT_ROUNDS 2
#define CFT_CC_BURST_US 1000
#define CFT_CC_BURST_MIN 8
#define CFT_CC_RTT_GUESS_US 1000
#define CFT_CC_FIRST_SPREAD 32
#define CFT_CC_SPREAD_MIN 32
#define CFT_CC_LOSS_SEEN_MAX 0.5

/* cft-send --bwlimit, bytes per second of DATA (each datagram counted at
 * CFT_DATAGRAM_MAX): from about ten datagrams a second to any link. */
#define CFT_BWLIMIT_MIN (16LL * 1024)
#define CFT_BWLIMIT_MAX (1024LL * 1024 * 1024 * 1024)

/* The receiver sends STATUS after this many DATA datagrams of the default
 * chunks (ack clocking), or as many of larger chunks as carry as many bytes,
 * rounded up: the sender's windows count bytes. */
#define CFT_STATUS_EVERY 16
/* ... or this long after the first unreported one, in microseconds. */
#define CFT_STATUS_DELAY_US 2000

/*
 * Retransmission timer, in microseconds: initial value before any round-trip
 * sample, floor (loopback RTTs are tens of microseconds, but schedulers are
 * not), and ceiling of the exponential backoff.
 */
#define CFT_RTO_INIT_US 200000
#define CFT_RTO_MIN_US 10000
#define CFT_RTO_MAX_US 2000000

/*
 * Round-trip smoothing, as RFC 6298: SRTT moves by 1/8 (2^-3) of each
 * sample's difference, RTTVAR by 1/4 (2^-2) of its deviation, and the timer
 * is SRTT + max(G, K * RTTVAR), G being the granularity we can count on from
 * a scheduler (1 ms), before the bounds above apply.
 */
#define CFT_RTT_GAIN_SHIFT 3
#define CFT_RTTVAR_GAIN_SHIFT 2
#define CFT_RTO_K 4
#define CFT_RTO_GRANULARITY_US 1000

/*
 * In the data phase, ask for a STATUS (PROBE) after this long without one,
 * in microseconds, or two round trips if longer: well before the
 * retransmission timer, so a lost STATUS does not stall the window.
 */
#define CFT_PROBE_EARLY_US 2000

/* Default and largest --timeout, in seconds: how long a peer may stay silent. */
#define CFT_TIMEOUT_DEFAULT_S 30
#define CFT_TIMEOUT_MAX_S 86400

/*
 * Partial files (and their state) untouched this long are removed by
 * cft-recv, in seconds: a week by default, so a nightly job that failed can
 * resume the next night and the one after, and at most a year.
 */
#define CFT_PARTIAL_TTL_DEFAULT_S (7 * 24 * 3600)

/* The permission bits a receiver gives at most (--mode-mask), less its
 * umask: never group- or world-writable unless the operator says so.  The
 * protocol carries the permission bits alone, never set-user-ID, set-group-ID
 * or sticky. */
#define CFT_MODE_MASK_DEFAULT 0755

/*
 * Free space a receiver keeps for everyone else (--reserve, up to
 * CFT_RESERVE_MAX): an offer is refused (disk full) when its size, less what
 * its partial file holds already, and the sizes other sessions are still
 * receiving would leave less than this free.
 */
#define CFT_RESERVE_DEFAULT (64ull * 1024 * 1024)
#define CFT_RESERVE_MAX (1ull << 50)

/*
 * Space that partial files of sessions no longer live may keep (for a
 * resume) in DIR, --partial-quota: when a file is offered and they take
 * more, the least recently written are removed until they fit.  The default
 * is a quarter of the file system.
 */
#define CFT_PARTIAL_QUOTA_SHARE 4
#define CFT_PARTIAL_TTL_MAX_S (366 * 24 * 3600)
/* A receiver looks for abandoned partial files at start, then after a
 * session ends, but at most once in this long (a peer that opens and ends
 * sessions must not make it read DIR again and again). */
#define CFT_SWEEP_INTERVAL_S 60

/* A receiver logs at most CFT_LOG_BURST failed sessions of one cause (their
 * exit status) in CFT_LOG_INTERVAL_S, and counts the rest in one line. */
#define CFT_LOG_BURST 10
#define CFT_LOG_INTERVAL_S 60

/*
 * Times one block may fail its digest at the receiver before the file fails
 * (exit 5): a link that damages data faster than we can repair it.
 */
#define CFT_BLOCK_RETRIES_MAX 16

/* End-to-end rounds (read back, compare, re-send what differs) per file
 * before the sender gives up with exit 5. */
#define CFT_E2E_ROUNDS_MAX 4

/*
 * Times, in one round of one file, a chunk read again to be re-sent may
 * differ from the read its block was sent from (a bad read on one side,
 * or a file changed under a time that did not move).  Each time the block
 * is read again from the disk and sent whole; past this the sender takes
 * the source for changed (exit 7), rather than read and send for ever.
 */
#define CFT_REREADS_MAX 4

/*
 * Bytes read and hashed per step of a read-back (the receiver's, the
 * sender's independent read), and the size of the buffer each keeps for it,
 * in huge pages (dio.h) so that each direct read is one request of few
 * segments.  Each read costs both hosts an interrupt and wake-ups: 4 MiB
 * used 0.14 s less CPU than 2 MiB for 1 GiB (both ends, median of 8 pairs),
 * and was no slower; a worker checks between steps whether to stop.
 */
#define CFT_READBACK_STEP (4u * 1024 * 1024)

/*
 * While a new file still arrives, the receiver reads back what is written
 * each time this much more is (after making it durable): large enough that
 * the fdatasync it costs is rare, small enough that little is left to read
 * once the last block is written.  32 MiB left a 32 MiB file all to read
 * at the end (1.7% of a 100 Mbit/s link); 8 MiB costs nothing measurable on
 * 1 GiB over loopback.
 */
#define CFT_READBACK_AHEAD (8ull * 1024 * 1024)

/*
 * Files passed behind the next one (cft-protocol(7), "Passing a file
 * behind"): read back and committed by the receiver while the next is
 * offered and sent.  One: each end keeps one such file (the receiver's
 * `behind`, the sender's), and each remembers the commits of that many
 * files and one more, to say (or take) "committed" again after a loss or a
 * reconnect.
 */
#define CFT_FILES_BEHIND 1

/* SHA-256 digest length, in bytes. */
#define CFT_DIGEST_LEN 32

/*
 * Bytes kept of a SHA-256 where a datagram carries a digest to recognise
 * something rather than to prove a file's content: tags, echoes of the offer and the HELLO, references of ERRORs.  128 bits: no
 * damage, random or repeated, lands on a match.
 */
#define CFT_SHORT_DIGEST_LEN 16

/* Block digests carried in one SUMS datagram (fits CFT_DATAGRAM_MAX). */
#define CFT_SUMS_PER_DATAGRAM 40

/* Chunk leaves (4 bytes) carried in one CHUNKSUMS datagram (fits
 * CFT_DATAGRAM_MAX); a 4 MiB block's list is 10 datagrams. */
#define CFT_CHUNKSUMS_PER_DATAGRAM 320

/* Chunks in the largest block, with the smallest chunks. */
#define CFT_CHUNKS_MAX ((CFT_BLOCK_SIZE_MAX + CFT_CHUNK_SIZE - 1) / CFT_CHUNK_SIZE)

/* Bytes of human-readable detail in an ERROR datagram. */
#define CFT_ERROR_MSG_MAX 200

#endif
