# Threat 6, the part this issue covers: garbage, truncated, oversized,
# damaged, wrong-version and stray datagrams at the receiver are dropped and
# counted, and the receiver goes on to serve a real transfer.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/src" 3000000 9
start_recv "$T/out"
for kind in garbage truncated oversize version badcrc stray; do
	"$BUILD/cft-dgram" "127.0.0.1:$PORT" $kind 200 11 || fail "cft-dgram $kind"
done
sleep 0.3
kill -0 "$RECV_PID" || fail "cft-recv died from garbage"
"$BIN/cft-send" -q "$T/src" "127.0.0.1:$PORT" 2>"$T/send.log" || fail "cft-send exited $?"
assert_same "$T/src" "$T/out/src"
kill -TERM "$RECV_PID"
wait_recv
[ "$RECV_RC" = 0 ] || fail "cft-recv exited $RECV_RC after SIGTERM"
# The receiver's totals, from its --json report of the session that followed.
drops="bad_checksum not_cft truncated malformed bad_version unknown_session"
for c in $drops; do
	n=$(recv_count "$c")
	[ "${n:-0}" -gt 0 ] || fail "counter '$c' is ${n:-missing}"
done
assert_no_temp "$T/out"
ls -A "$T/out" | grep -qv '^src$' && fail "unexpected files: $(ls -A "$T/out")"
# shellcheck disable=SC2086 # $drops is a list of keys
note "1200 hostile datagrams counted: $(recv_counts $drops)"
