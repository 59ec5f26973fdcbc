# Old datagrams replayed at the right address (what no checksum can catch),
# late duplicates, and a bandwidth limit with a bounded queue: the file
# still verifies.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-31337}

mkdir "$T/out"
random_file "$T/src" $((4 * 1024 * 1024)) 42
start_recv "$T/out" --once
start_shim --seed "$SEED" --replay 2% --duplicate 5% --duplicate-later 30 --rate 20M
"$BIN/cft-send" "$T/src" "127.0.0.1:$SHIM_PORT" >/dev/null 2>"$T/send.log" ||
	fail "seed $SEED: cft-send exited $?"
wait_recv
stop_shim
[ "$RECV_RC" = 0 ] || fail "seed $SEED: cft-recv exited $RECV_RC"
assert_same "$T/src" "$T/out/src"
for k in replayed duplicated; do
	[ "$(shim_count forward $k)" -gt 0 ] || fail "seed $SEED: no forward $k injected"
done
note "$(shim_seed): replayed $(shim_count forward replayed)+$(shim_count reverse replayed), duplicated $(shim_count forward duplicated), rate-dropped $(shim_count forward rate_dropped); verified"
