# Threat 2/3 on the receiving host: one bit flipped in one pwrite(), after
# the data arrived intact and passed its block digest.  Only the read-back
# from disk can see it; the block must be sent again and the file verify.
# Twice: in a file read back at the end, and early in a file read back while
# it still arrives (CFT_READBACK_AHEAD, 32 MiB), where the damaged range is
# read back long before the last block is in.
. "$(dirname "$0")/lib.sh"

# one_fault SIZE NTH: a file of SIZE bytes, the NTH write damaged.
one_fault() {
	rm -rf "$T/out" "$T/faults"
	mkdir "$T/out"
	random_file "$T/src" "$1" 7
	start_recv_damaging "$2" "$T/out" --once
	"$BIN/cft-send" --json "$T/src" "127.0.0.1:$PORT" >"$T/send.json" 2>"$T/send.log" ||
		fail "cft-send exited $?"
	wait_recv
	[ "$RECV_RC" = 0 ] || fail "cft-recv exited $RECV_RC"
	[ "$(wc -l <"$T/faults")" = 1 ] || fail "expected one injected fault, log: $(cat "$T/faults")"
	assert_same "$T/src" "$T/out/src"
	mismatch=$(recv_count readback_mismatch)
	[ "${mismatch:-0}" -ge 1 ] ||
		fail "the receiver did not count a read-back mismatch (readback_mismatch ${mismatch:-missing})"
	n=$(json_num "$T/send.json" e2e_mismatches)
	[ "$n" = 1 ] || fail "sender did not report the repair (e2e_mismatches ${n:-missing}, expected 1)"
	note "$(($1 >> 20)) MiB, injected: $(cat "$T/faults"); read-back caught $mismatch block(s), re-sent, verified"
}

one_fault $((8 * 1024 * 1024)) 3
one_fault $((48 * 1024 * 1024)) 5
