# Threat 4, bursty: Gilbert-Elliott loss (2% chance of entering a bad state,
# 30% of leaving it, 80% loss inside), 1% truncation, 2 ms delay with 2 ms
# jitter, both directions.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-777}

mkdir "$T/out"
random_file "$T/src" $((8 * 1024 * 1024)) 32
start_recv "$T/out" --once
start_shim --seed "$SEED" --burst 2%,30%,80% --truncate 1% --delay 2 --jitter 2
"$BIN/cft-send" "$T/src" "127.0.0.1:$SHIM_PORT" >/dev/null 2>"$T/send.log" ||
	fail "seed $SEED: cft-send exited $?"
wait_recv
stop_shim
[ "$RECV_RC" = 0 ] || fail "seed $SEED: cft-recv exited $RECV_RC"
assert_same "$T/src" "$T/out/src"
for k in burst_dropped truncated delayed; do
	[ "$(shim_count forward $k)" -gt 0 ] || fail "seed $SEED: no forward $k injected"
done
[ "$(recv_counter truncated)" -gt 0 ] || [ "$(recv_counter checksum)" -gt 0 ] ||
	fail "seed $SEED: receiver saw no damaged datagram"
note "$(shim_seed): burst-dropped $(shim_count forward burst_dropped)+$(shim_count reverse burst_dropped), truncated $(shim_count forward truncated); $(grep -o 'repaired: .*' "$T/send.log")"
