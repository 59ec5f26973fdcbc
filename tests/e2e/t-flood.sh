# Threat 6, the receiver's table and its answers: openings of sessions with
# fresh ids from 200 other loopback addresses (HELLO, HELLO with a guessed
# cookie, FILE, PROBE), before and while a real sender works.  Nothing is
# kept for an address that has not shown it receives at it, so the real
# sender is never told "busy" and its transfer verifies; and no address got
# back more than 3 times what it sent.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/src" 8000000 17
start_recv "$T/out"

# Before: a table that forged openings could fill would refuse the sender.
out=$("$BUILD/cft-dgram" "127.0.0.1:$PORT" flood 2000 5) || fail "cft-dgram flood"
read -r _ sent _ got <<<"$out"
[ "$got" -le $((3 * sent)) ] || fail "answers of $got bytes to $sent bytes sent (more than 3x)"
note "2000 openings from 200 addresses: $sent bytes in, $got bytes out"
"$BIN/cft-send" -q --timeout 20 "$T/src" "127.0.0.1:$PORT" 2>"$T/send.log" ||
	fail "cft-send after the flood exited $?: $(cat "$T/send.log")"
assert_same "$T/src" "$T/out/src"

# While: the same beside a transfer in progress.
rm -f "$T/out/src"
flood_beside_send 4 4000 6

kill -TERM "$RECV_PID"
wait_recv
# Most of the 12000 forged HELLOs (a burst may overflow a socket buffer).
cookies=$(recv_count cookies)
[ "${cookies:-0}" -ge 6000 ] || fail "cookies ${cookies:-missing}: forged HELLOs not answered with one"
refused=$(recv_count refused)
[ "${refused:-0}" = 0 ] || fail "the receiver refused ${refused} sessions"
assert_no_temp "$T/out"
ls -A "$T/out" | grep -qv '^src$' && fail "files from the flood: $(ls -A "$T/out")"
note "beside 4000 more: the transfer verified; $(recv_counts cookies unknown_session refused)"
