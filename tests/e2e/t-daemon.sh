# A long-running receiver: several sessions, one after another and at the
# same time, over IPv4 and IPv6, then a clean exit on SIGTERM.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
for i in 1 2 3 4; do random_file "$T/f$i" $((500000 * i)) "2$i"; done
start_recv "$T/out"
"$BIN/cft-send" -q "$T/f1" "127.0.0.1:$PORT" || fail "first session exited $?"
"$BIN/cft-send" -q "$T/f2" "127.0.0.1:$PORT" & a=$!
"$BIN/cft-send" -q "$T/f3" "127.0.0.1:$PORT" & b=$!
wait $a || fail "concurrent session A failed"
wait $b || fail "concurrent session B failed"
for i in 1 2 3; do assert_same "$T/f$i" "$T/out/f$i"; done
kill -TERM "$RECV_PID"
wait_recv
[ "$RECV_RC" = 0 ] || fail "SIGTERM exit $RECV_RC"
assert_no_temp "$T/out"

# IPv6, where the machine has it
if ! grep -qs . /proc/net/if_inet6; then
	note "no IPv6 loopback here: skipped the [::1] transfer"
else
	PORT=$(random_port)
	"$BIN/cft-recv" -v --once --listen "[::1]:$PORT" "$T/out" 2>"$T/recv6.log" & RECV_PID=$!
	started "$T/recv6.log" "listening on" "$RECV_PID" || fail "cft-recv on [::1] did not start"
	"$BIN/cft-send" -q "$T/f4" "[::1]:$PORT" || fail "IPv6 transfer exited $?"
	wait_recv
	assert_same "$T/f4" "$T/out/f4"
	note "IPv6 [::1] transfer verified"
fi
note "3 sessions (2 concurrent) on one receiver, clean SIGTERM"
