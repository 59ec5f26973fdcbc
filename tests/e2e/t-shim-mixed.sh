# Threat 4: 10% drop, 2% corruption, 5% duplication and 5% reordering in both
# directions, seeded.  A 32 MiB file must verify, and the faults must really
# have been injected.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-4242}

mkdir "$T/out"
random_file "$T/src" $((32 * 1024 * 1024)) 31
start_recv "$T/out" --once
start_shim --seed "$SEED" --drop 10% --corrupt 2% --duplicate 5% --reorder 5%
"$BIN/cft-send" -v --json "$T/src" "127.0.0.1:$SHIM_PORT" >"$T/send.json" 2>"$T/send.log" ||
	fail "seed $SEED: cft-send exited $?"
wait_recv
stop_shim
[ "$RECV_RC" = 0 ] || fail "seed $SEED: cft-recv exited $RECV_RC"
assert_same "$T/src" "$T/out/src"
for k in dropped corrupted duplicated reordered; do
	for d in forward reverse; do
		[ "$(shim_count $d $k)" -gt 0 ] || fail "seed $SEED: no $d $k injected"
	done
done
n=$(recv_count bad_checksum)
[ "${n:-0}" -gt 0 ] || fail "seed $SEED: receiver caught no bad checksum (bad_checksum ${n:-missing})"
note "$(shim_seed): injected forward drop $(shim_count forward dropped), corrupt $(shim_count forward corrupted), dup $(shim_count forward duplicated), reorder $(shim_count forward reordered); reverse drop $(shim_count reverse dropped)"
note "$(send_repairs "$T/send.json")"
