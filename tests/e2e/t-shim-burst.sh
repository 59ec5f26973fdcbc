# Threat 4, bursty: Gilbert-Elliott loss (2% chance of entering a bad state,
# 30% of leaving it, 80% loss inside), 1% truncation, 2 ms delay with 2 ms
# jitter, both directions.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-777}

mkdir "$T/out"
random_file "$T/src" $((8 * 1024 * 1024)) 32
start_recv "$T/out" --once
start_shim --seed "$SEED" --burst 2%,30%,80% --truncate 1% --delay 2 --jitter 2
"$BIN/cft-send" --json "$T/src" "127.0.0.1:$SHIM_PORT" >"$T/send.json" 2>"$T/send.log" ||
	fail "seed $SEED: cft-send exited $?"
wait_recv
stop_shim
[ "$RECV_RC" = 0 ] || fail "seed $SEED: cft-recv exited $RECV_RC"
assert_same "$T/src" "$T/out/src"
for k in burst_dropped truncated delayed; do
	[ "$(shim_count forward $k)" -gt 0 ] || fail "seed $SEED: no forward $k injected"
done
truncated=$(recv_count truncated) checksum=$(recv_count bad_checksum)
[ "${truncated:-0}" -gt 0 ] || [ "${checksum:-0}" -gt 0 ] ||
	fail "seed $SEED: receiver saw no damaged datagram (truncated ${truncated:-missing}, bad_checksum ${checksum:-missing})"
note "$(shim_seed): burst-dropped $(shim_count forward burst_dropped)+$(shim_count reverse burst_dropped), truncated $(shim_count forward truncated); $(send_repairs "$T/send.json")"
