# Threat 1 on the sending host: one bit flipped in one read of the source.
# Whichever read it hits (the one that feeds datagrams, or the independent
# one for the end-to-end digest), the digests disagree, the block is sent
# again, and the file verifies.  Both cases are run: the two reads run on
# threads of their own, at the same time, so the fault library is told
# which thread's read to damage.  The read ahead's last read (of three, 2 MiB
# each) is still held when the round ends: the block sent again must be read
# afresh, not taken from what the bad read left in memory.
. "$(dirname "$0")/lib.sh"

random_file "$T/src" $((6 * 1024 * 1024)) 40
for which in "feed 2" "feed 3" "vread 2"; do
	reader=${which% *}
	rm -rf "$T/out"; mkdir "$T/out"
	: >"$T/faults"
	start_recv "$T/out" --once
	nth="${which#* } of cft-send-$reader"
	CFT_FAULT_PATH="$T/src" CFT_FAULT_THREAD="cft-send-$reader" CFT_FAULT_READ_NTH=${which#* } \
		CFT_FAULT_LOG="$T/faults" \
		LD_PRELOAD="$FAULTLIB" "$BIN/cft-send" --json "$T/src" "127.0.0.1:$PORT" \
		>"$T/send.json" 2>"$T/send.log" || fail "read $nth damaged: cft-send exited $?"
	wait_recv
	[ "$RECV_RC" = 0 ] || fail "cft-recv exited $RECV_RC"
	[ "$(wc -l <"$T/faults")" = 1 ] || fail "read $nth: expected one fault, got: $(cat "$T/faults")"
	assert_same "$T/src" "$T/out/src"
	n=$(json_num "$T/send.json" e2e_mismatches)
	[ "$n" = 1 ] || fail "read $nth: no end-to-end repair reported (e2e_mismatches ${n:-missing}, expected 1)"
	note "read $nth: $(cat "$T/faults"); caught end to end, re-sent, verified"
done
