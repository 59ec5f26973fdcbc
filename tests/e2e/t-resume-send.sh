# Threat 5, the sending side: cft-send dies (SIGKILL at its Nth read of the
# source, chosen from the seed) and the same command is run again.  The
# second run resumes: only what the receiver lacks travels, and the bytes on
# the wire over both runs (counted at cft-shim) stay under 1.3 times the file.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-23}

size=$((64 * 1024 * 1024))
mkdir "$T/out"
random_file "$T/src" $size 61
# --once: the sessions of the killed senders are taken over by the next run
# from the same host, and do not count as the one session served.
start_recv "$T/out" --once
start_shim --seed "$SEED"
for nth in $((20 + SEED % 20)) $((45 + SEED % 10)); do
	rc=0
	CFT_FAULT_PATH="$T/src" CFT_FAULT_KILL_READ_NTH=$nth CFT_FAULT_LOG="$T/faults" \
		LD_PRELOAD="$FAULTLIB" run_killed "$T/send.log" \
		"$BIN/cft-send" -q "$T/src" "127.0.0.1:$SHIM_PORT" || rc=$?
	[ "$rc" = 137 ] || fail "seed $SEED: cft-send meant to die at read $nth exited $rc"
	[ ! -e "$T/out/src" ] || fail "seed $SEED: a file appeared before it was verified"
done
"$BIN/cft-send" "$T/src" "127.0.0.1:$SHIM_PORT" >/dev/null 2>>"$T/send.log" ||
	fail "seed $SEED: the last run exited $?"
stop_shim
assert_same "$T/src" "$T/out/src"
wait_recv
[ "$RECV_RC" = 0 ] || fail "seed $SEED: cft-recv --once exited $RECV_RC"
assert_no_temp "$T/out"
bytes=$(shim_count forward forwarded_bytes)
[ "$bytes" -lt $((size * 13 / 10)) ] || fail "seed $SEED: $bytes bytes sent for a $size-byte file"
note "seed $SEED: 2 sender crashes, then a run that resumed; $bytes bytes on the wire for $size ($(awk "BEGIN { printf \"%.2f\", $bytes / $size }")x)"
