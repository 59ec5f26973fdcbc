# The end-to-end argument in one test: a router that damages DATA and then
# recomputes the datagram checksum over the damage.  The checksum cannot see
# it; the block digests must, and the file must still verify.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-99}

mkdir "$T/out"
random_file "$T/src" $((4 * 1024 * 1024)) 33
start_recv "$T/out" --once
start_shim --seed "$SEED" --direction forward --corrupt 1% --recompute-checksum
"$BIN/cft-send" --block-size 16K "$T/src" "127.0.0.1:$SHIM_PORT" >/dev/null 2>"$T/send.log" ||
	fail "seed $SEED: cft-send exited $?"
wait_recv
stop_shim
[ "$RECV_RC" = 0 ] || fail "seed $SEED: cft-recv exited $RECV_RC"
assert_same "$T/src" "$T/out/src"
[ "$(shim_count forward resealed)" -gt 0 ] || fail "seed $SEED: nothing resealed"
caught=$(recv_count block_mismatch)
[ "${caught:-0}" -gt 0 ] || fail "seed $SEED: no block digest mismatch counted (block_mismatch ${caught:-missing})"
n=$(recv_count bad_checksum)
[ "$n" = 0 ] || fail "seed $SEED: the checksum saw damage it should not have (bad_checksum ${n:-missing})"
note "$(shim_seed): $(shim_count forward resealed) datagrams damaged and resealed; checksum caught 0, block digests caught $caught; verified"
