# Without a key anybody who reaches the port could write into DIR, so
# cft-recv serves this host only unless told the network is trusted
# (--insecure): a non-loopback --listen is refused at start, and on a
# wildcard address datagrams from beyond loopback are dropped and counted.
# The second part runs the programs in two network namespaces this test
# creates (root, ip(8)); it says so and skips when it cannot.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
rc=0
"$BIN/cft-recv" --listen 192.0.2.1:7411 "$T/out" 2>"$T/recv.err" || rc=$?
[ "$rc" = 1 ] && grep -q -- "--insecure" "$T/recv.err" ||
	fail "a non-loopback --listen without --insecure: exit $rc, $(cat "$T/recv.err")"

note "refused at start without --insecure"
namespaces_or_skip cftlo 10.198.0 "the rest"
random_file "$T/src" 200000 2

# A wildcard address, no --insecure: the other namespace gets nothing.
ip netns exec "$NS_B" "$BIN/cft-recv" -v --listen 0.0.0.0:7411 "$T/out" 2>"$T/recv.log" & pid=$!
started "$T/recv.log" "listening on" "$pid" || fail "cft-recv in $NS_B did not start"
rc=0
ip netns exec "$NS_A" "$BIN/cft-send" -q --timeout 2 "$T/src" 10.198.0.2:7411 2>"$T/send.log" || rc=$?
kill -TERM "$pid"; wait "$pid" 2>/dev/null
[ "$rc" = 4 ] || fail "from beyond loopback without --insecure: cft-send exited $rc, expected 4"
grep -Eq "not loopback [1-9]" "$T/recv.log" || fail "drops not counted: $(cat "$T/recv.log")"
[ -z "$(ls -A "$T/out")" ] || fail "files arrived: $(ls -A "$T/out")"

# --insecure: served.
ip netns exec "$NS_B" "$BIN/cft-recv" -v --insecure --listen 10.198.0.2:7411 "$T/out" \
	2>"$T/recv.log" & pid=$!
started "$T/recv.log" "listening on" "$pid" || fail "cft-recv --insecure did not start"
ip netns exec "$NS_A" "$BIN/cft-send" -q "$T/src" 10.198.0.2:7411 2>"$T/send.log" ||
	fail "with --insecure: cft-send exited $?: $(cat "$T/send.log")"
kill -TERM "$pid"; wait "$pid" 2>/dev/null
assert_same "$T/src" "$T/out/src"
note "refused at start; from another namespace: dropped without --insecure, served with it"
