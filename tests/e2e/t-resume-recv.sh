# Threat 5, the receiving side: cft-recv dies (SIGKILL, as a power cut)
# during the data, during the read-back, just before the commit's rename and
# just after it, and is started again each time.  The sender, never
# restarted, must end with exit 0, the copy must equal the source, and the
# bytes that crossed the wire (counted at cft-shim) stay under 1.3 times the
# file.  Crash points are chosen by count, from the seed.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-11}

size=$((64 * 1024 * 1024))
mkdir "$T/out"
random_file "$T/src" $size 60
# Crash points: the Nth block write, the Nth read of the read-back, the rename.
w=$((20 + SEED % 20))
r=$((3 + SEED % 10))
start_recv "$T/out"
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null; RECV_PID=	# just to learn a free PORT
start_shim --seed "$SEED"
"$BIN/cft-send" -v --json --timeout 20 "$T/src" "127.0.0.1:$SHIM_PORT" >"$T/send.json" 2>"$T/send.log" &
SEND_PID=$!
recv_crashes "CFT_FAULT_KILL_WRITE_NTH=$w" "CFT_FAULT_KILL_READ_NTH=$r" \
	"CFT_FAULT_KILL_RENAME=before" "CFT_FAULT_KILL_RENAME=after"
rc=0; wait "$SEND_PID" || rc=$?
stop_shim
[ "$rc" = 0 ] || fail "seed $SEED: cft-send exited $rc"
assert_same "$T/src" "$T/out/src"
assert_no_temp "$T/out"
[ "$(grep -c SIGKILL "$T/faults")" = 4 ] || fail "seed $SEED: expected 4 crashes: $(cat "$T/faults")"
bytes=$(shim_count forward forwarded_bytes)
[ "$bytes" -lt $((size * 13 / 10)) ] || fail "seed $SEED: $bytes bytes sent for a $size-byte file"
note "seed $SEED: 4 receiver crashes (write $w, read-back read $r, before and after rename); $bytes bytes on the wire for $size ($(awk "BEGIN { printf \"%.2f\", $bytes / $size }")x); $(send_repairs "$T/send.json")"
