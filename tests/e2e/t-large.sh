# A 64 MiB random file over loopback; memory stays bounded.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/big" $((64 * 1024 * 1024)) 64
start_recv "$T/out" --once
/usr/bin/time -f "%M" -o "$T/send.rss" "$BIN/cft-send" -q "$T/big" "127.0.0.1:$PORT" \
	2>"$T/send.log" || fail "cft-send exited $?"
wait_recv
[ "$RECV_RC" = 0 ] || fail "cft-recv exited $RECV_RC"
assert_same "$T/big" "$T/out/big"
assert_no_temp "$T/out"
rss=$(tail -n 1 "$T/send.rss")
note "64 MiB verified; sender peak RSS ${rss} KiB"
# A generous bound that still catches buffering a whole file (64 MiB).
[ "${SANITIZE:-}" = 1 ] || [ "$rss" -lt 49152 ] || fail "sender used ${rss} KiB for a 64 MiB file"
