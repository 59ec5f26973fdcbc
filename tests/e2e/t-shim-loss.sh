# 100% loss: exit 4 within --timeout.  50% loss both ways: still verifies.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-5050}

mkdir "$T/out"
random_file "$T/src" 500000 34
start_recv "$T/out"
start_shim --seed "$SEED" --drop 100%
start=$(date +%s%N)
rc=0
"$BIN/cft-send" --timeout 2 "$T/src" "127.0.0.1:$SHIM_PORT" >/dev/null 2>"$T/send.log" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
stop_shim
[ "$rc" = 4 ] || fail "100% loss: exit $rc, expected 4"
[ "$ms" -lt 5000 ] || fail "100% loss: took $ms ms for --timeout 2"
[ ! -e "$T/out/src" ] || fail "a file appeared"

start_shim --seed "$SEED" --drop 50%
"$BIN/cft-send" --json --timeout 30 "$T/src" "127.0.0.1:$SHIM_PORT" >"$T/send.json" 2>"$T/send.log" ||
	fail "seed $SEED: 50% loss: cft-send exited $?"
stop_shim
assert_same "$T/src" "$T/out/src"
[ "$(shim_count forward dropped)" -gt 0 ] && [ "$(shim_count reverse dropped)" -gt 0 ] ||
	fail "seed $SEED: loss not injected both ways"
kill -TERM "$RECV_PID"; wait_recv
assert_no_temp "$T/out"
note "100% loss: exit 4 after $ms ms; $(shim_seed) 50% loss: verified, $(send_repairs "$T/send.json")"
