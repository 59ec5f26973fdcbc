/*
 * One damaged datagram costs a retry, never a wrong result, an abort or a
 * hang.  For every kind of datagram (and every state of STATUS), each byte
 * (for DATA: of its header, fields and check, and the end of its payload)
 * gets one bit flipped, and then its CRC recomputed (a router, a NIC) or
 * every check the protocol defines without a key (a host that damaged the
 * bytes before computing them).  Every transfer must still end verified,
 * with the right names, contents, modes and times, nothing left under a
 * temporary name, and within a few retransmission timeouts.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cft/exit.h"
#include "cft/wire.h"
#include "harness.h"

/* DATA, SUMS and CHUNKSUMS are long and mostly alike: bytes flipped from
 * their start (header, fields, check) and from their end. */
#define LONG_FROM_START 64
#define LONG_FROM_END 16
/* Shorter than this, every byte. */
#define SHORT_MAX 256
/* A retry costs a timeout or two; a hang shows as the fake clock running
 * on.  Microseconds of fake time a damaged transfer may take. */
#define RETRY_BOUND_US (15 * 1000000ull)

TestSuite(damage, .init = harness_setup, .fini = harness_teardown, .timeout = 600);

enum scenario {
	FRESH,		/* two files, sent afresh */
	DIFFERS,	/* the destination differs: a round of SUMS */
	FORGED,		/* chunks damaged past their checks: CHUNKSUMS */
};

static const char *names[] = { "a", "b" };

/* Which datagram of the type is damaged: the first, or (HELLO, HELLO_ACK)
 * the second, which carries the cookie and opens the session. */
static unsigned nth = 1;

/* "a": 4 blocks, or with DIFFERS 42 (two SUMS datagrams, so that the
 * receiver reports a count of them). */
static size_t a_size(enum scenario sc)
{
	return (sc == DIFFERS ? 41 * 4096 : 3 * 4096) + 100;
}

static void prepare(enum scenario sc)
{
	static enum scenario made = (enum scenario)-1;

	clear_dst();
	if (made != sc) {
		make_file("a", a_size(sc), 21);
		make_file("b", 10, 22);
		made = sc;
	}
	if (sc == DIFFERS) {
		/* Same size, other content: checked, found to differ, fixed. */
		char path[200];
		FILE *f;

		snprintf(path, sizeof(path), "%s/a", dir_dst);
		f = fopen(path, "wb");
		cr_assert_not_null(f);
		for (size_t i = 0; i < a_size(sc); i++)
			fputc(0, f);
		fclose(f);
	}
}

/* One transfer with datagram `type` (STATUS: of `state`) damaged at `byte`.
 * Returns false when no such datagram or byte was there to damage. */
static bool one(enum scenario sc, unsigned type, unsigned state, unsigned byte, bool from_end,
		bool all)
{
	struct faults f = { .hit_type = type, .hit_state = state, .hit_nth = nth,
			    .hit_byte = byte, .hit_from_end = from_end, .hit_all = all,
			    .forge_pct = sc == FORGED ? 20 : 0 };
	uint64_t seed = 1000 + type * 100 + state;	/* the same faults around each hit */
	struct run r;
	int rc;

	prepare(sc);
	rc = run_transfer(&r, names, 2, 4096, seed, &f, 1000000 + 4 * RETRY_BOUND_US);
	if (L.sr.damaged + L.rs.damaged == 0 || !L.hit_done) {
		run_free(&r);
		return false;
	}
	cr_assert_eq(rc, CFT_EXIT_OK, "%s %u (state %u) byte %s%u%s: exit %d: %s",
		     wire_type_name(type), type, state, from_end ? "-" : "", byte,
		     all ? ", every check resealed" : "", rc, send_error(r.s));
	cr_assert_lt(r.now, 1000000 + RETRY_BOUND_US, "%s byte %s%u%s: %llu us",
		     wire_type_name(type), from_end ? "-" : "", byte, all ? " (all)" : "",
		     (unsigned long long)(r.now - 1000000));
	assert_same("a");
	assert_same("b");
	cr_assert_eq(temp_files(), 0, "%s byte %u: a temporary file left", wire_type_name(type),
		     byte);
	run_free(&r);
	return true;
}

/* Every byte of the first `type` datagram (of a long one, of interest),
 * both reseals. */
static void sweep(enum scenario sc, unsigned type, unsigned state)
{
	unsigned hit = 0;
	size_t len;

	cr_assert(one(sc, type, state, 0, false, false), "no %s datagram was damaged",
		  wire_type_name(type));
	len = L.hit_len;
	for (int all = 0; all < 2; all++) {
		if (len <= SHORT_MAX) {
			for (unsigned b = 0; b < len; b++)
				hit += one(sc, type, state, b, false, all);
			continue;
		}
		for (unsigned b = 0; b < LONG_FROM_START; b++)
			hit += one(sc, type, state, b, false, all);
		for (unsigned b = 0; b < LONG_FROM_END; b++)
			hit += one(sc, type, state, b, true, all);
	}
	cr_assert_eq(hit, 2 * (len <= SHORT_MAX ? len : LONG_FROM_START + LONG_FROM_END),
		     "%s: %u transfers", wire_type_name(type), hit);
}

Test(damage, hello) { sweep(FRESH, WIRE_HELLO, 0); }
Test(damage, hello_ack) { sweep(FRESH, WIRE_HELLO_ACK, 0); }
Test(damage, hello_with_cookie) { nth = 2; sweep(FRESH, WIRE_HELLO, 0); }
Test(damage, hello_ack_opened) { nth = 2; sweep(FRESH, WIRE_HELLO_ACK, 0); }
Test(damage, file) { sweep(FRESH, WIRE_FILE, 0); }
Test(damage, block) { sweep(FRESH, WIRE_BLOCK, 0); }
Test(damage, data) { sweep(FRESH, WIRE_DATA, 0); }
Test(damage, probe) { sweep(FRESH, WIRE_PROBE, 0); }
Test(damage, status_receiving) { sweep(FRESH, WIRE_STATUS, WIRE_FS_RECEIVING); }
Test(damage, status_verifying) { sweep(FRESH, WIRE_STATUS, WIRE_FS_VERIFYING); }
/* A fresh file commits on the COMMIT sent beside the data: the report is
 * for files that differ. */
Test(damage, status_verified) { sweep(DIFFERS, WIRE_STATUS, WIRE_FS_VERIFIED); }
Test(damage, status_committed) { sweep(FRESH, WIRE_STATUS, WIRE_FS_COMMITTED); }
Test(damage, commit) { sweep(FRESH, WIRE_COMMIT, 0); }
Test(damage, bye) { sweep(FRESH, WIRE_BYE, 0); }
Test(damage, bye_ack) { sweep(FRESH, WIRE_BYE_ACK, 0); }
Test(damage, sums) { sweep(DIFFERS, WIRE_SUMS, 0); }
Test(damage, status_sums) { sweep(DIFFERS, WIRE_STATUS, WIRE_FS_SUMS); }
Test(damage, chunksums) { sweep(FORGED, WIRE_CHUNKSUMS, 0); }

/* A real refusal still ends the run with its own exit status, however its
 * ERROR is damaged on the way: a damaged one is ignored, asked again, and
 * refused again. */
Test(damage, a_damaged_refusal_is_asked_again)
{
	for (int all = 0; all < 2; all++) {
		for (unsigned b = 0; b < 64; b += 3) {
			struct faults f = { .hit_type = WIRE_ERROR, .hit_nth = 1, .hit_byte = b,
					    .hit_all = all };
			struct run r;
			int rc;

			prepare(DIFFERS);
			rc = run_transfer_opts(&r, names, 2, 4096, 7 + b, &f,
					       1000000 + 4 * RETRY_BOUND_US, true);
			cr_assert_eq(rc, CFT_EXIT_REFUSED, "ERROR byte %u%s: exit %d: %s", b,
				     all ? " (all)" : "", rc, send_error(r.s));
			cr_assert(strstr(send_error(r.s), "destination exists"),
				  "byte %u: %s", b, send_error(r.s));
			run_free(&r);
		}
	}
}
