# The chunk a DATA carries is as large as the path has shown it carries
# (cft-protocol(7), Chunks): 16 KiB on loopback, where the route takes it
# and the receiver answers the padded HELLO; 1400 bytes when something on
# the way drops datagrams that large (a shim playing a 1500-byte link, or a
# link of that MTU between two namespaces), at no cost but the HELLO that
# was lost; and the route's own MTU bounds what is tried (9000 takes 8 KiB).
# Every copy is compared with the source by cmp.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/src" 3000000 31
start_recv "$T/out"

chunk_of() { json_num "$1" chunk_size; }

# Loopback, straight: the largest chunks.
"$BIN/cft-send" -q --json "$T/src" "127.0.0.1:$PORT" >"$T/a.json" 2>"$T/send.log" ||
	fail "loopback: exit $?"
assert_same "$T/src" "$T/out/src"
[ "$(chunk_of "$T/a.json")" = 16384 ] || fail "loopback: chunks of $(chunk_of "$T/a.json")"
rm "$T/out/src"

# Through a shim that drops what a 1500-byte IPv4 link would not carry:
# the padded HELLO is lost, the plain one answered, and the session runs on
# 1400-byte chunks; no datagram past the limit goes after the HELLOs.
start_shim --seed 5 --max-size 1472
"$BIN/cft-send" -q --json "$T/src" "127.0.0.1:$SHIM_PORT" >"$T/b.json" 2>"$T/send.log" ||
	fail "past a 1472-byte limit: exit $? ($(shim_seed))"
stop_shim
assert_same "$T/src" "$T/out/src"
[ "$(chunk_of "$T/b.json")" = 1400 ] || fail "past a 1472-byte limit: chunks of $(chunk_of "$T/b.json")"
big=$(shim_count forward too_big)
[ "${big:-0}" -ge 1 ] && [ "$big" -le 2 ] ||
	fail "past a 1472-byte limit: ${big:-no} datagrams too big (only the padded HELLO should be)"
rm "$T/out/src"

# The same limit with loss and damage on the way: the HELLOs may be lost
# too, and what is chosen must still hold.
start_shim --seed 6 --max-size 1472 --drop 0.1 --corrupt 0.05
"$BIN/cft-send" -q --json "$T/src" "127.0.0.1:$SHIM_PORT" >"$T/c.json" 2>"$T/send.log" ||
	fail "past a 1472-byte limit, with loss: exit $? ($(shim_seed))"
stop_shim
assert_same "$T/src" "$T/out/src"
[ "$(chunk_of "$T/c.json")" = 1400 ] || fail "with loss: chunks of $(chunk_of "$T/c.json")"
rm "$T/out/src"

# Large chunks under loss and damage: repairs are whole 16 KiB chunks.
start_shim --seed 7 --drop 0.05 --corrupt 0.05 --duplicate 0.02 --reorder 0.05
"$BIN/cft-send" -q --json "$T/src" "127.0.0.1:$SHIM_PORT" >"$T/d.json" 2>"$T/send.log" ||
	fail "16 KiB chunks with loss: exit $? ($(shim_seed))"
stop_shim
assert_same "$T/src" "$T/out/src"
[ "$(chunk_of "$T/d.json")" = 16384 ] || fail "16 KiB chunks with loss: chunks of $(chunk_of "$T/d.json")"
kill -TERM "$RECV_PID"; wait_recv
assert_no_temp "$T/out"
note "loopback: 16384-byte chunks; past a 1472-byte limit: 1400 ($big HELLO dropped); both under loss: $(send_repairs "$T/d.json")"

# A real link's MTU, between two namespaces this test creates (root, ip(8)):
# 1500 gives the default chunks without trying more, 9000 gives 8 KiB.
namespaces_or_skip cftch 10.197.0 "the link MTUs"
mkdir "$T/ns"
ip netns exec "$NS_B" "$BIN/cft-recv" -v --insecure --listen 10.197.0.2:7411 "$T/ns" \
	2>"$T/ns-recv.log" & pid=$!
started "$T/ns-recv.log" "listening on" "$pid" || fail "cft-recv in $NS_B did not start"
for mtu in 1500 9000; do
	ip -n "$NS_A" link set "$NETNS_DEV_A" mtu $mtu
	ip -n "$NS_B" link set "$NETNS_DEV_B" mtu $mtu
	ip netns exec "$NS_A" "$BIN/cft-send" -q --json "$T/src" 10.197.0.2:7411 \
		>"$T/mtu$mtu.json" 2>"$T/send.log" || fail "MTU $mtu: exit $?"
	assert_same "$T/src" "$T/ns/src"
	rm "$T/ns/src"
done
[ "$(chunk_of "$T/mtu1500.json")" = 1400 ] || fail "MTU 1500: chunks of $(chunk_of "$T/mtu1500.json")"
[ "$(chunk_of "$T/mtu9000.json")" = 8192 ] || fail "MTU 9000: chunks of $(chunk_of "$T/mtu9000.json")"
note "a link of MTU 1500: 1400-byte chunks; of MTU 9000: 8192"

# The path stops carrying 8 KiB datagrams half way (slowed by --bwlimit so
# that it is half way): the receiving end's MTU drops with nothing said to
# the sender (a black hole), or the sending end's drops (its socket then
# refuses them).  Each time the sender opens the session again with the
# default chunks and the receiver checks what it holds.
for side in B A; do
	ip -n "$NS_A" link set "$NETNS_DEV_A" mtu 9000
	ip -n "$NS_B" link set "$NETNS_DEV_B" mtu 9000
	if [ $side = B ]; then ns=$NS_B dev=$NETNS_DEV_B; else ns=$NS_A dev=$NETNS_DEV_A; fi
	( sleep 1; ip -n "$ns" link set "$dev" mtu 1500 ) & drop=$!
	ip netns exec "$NS_A" "$BIN/cft-send" -v --json --bwlimit 1M "$T/src" 10.197.0.2:7411 \
		>"$T/drop$side.json" 2>"$T/send.log" || fail "MTU dropped at $side: exit $?"
	wait "$drop"
	assert_same "$T/src" "$T/ns/src"
	rm "$T/ns/src"
	grep -q "stopped carrying larger datagrams" "$T/send.log" ||
		fail "MTU dropped at $side: the sender did not say it took smaller chunks"
	[ "$(chunk_of "$T/drop$side.json")" = 1400 ] ||
		fail "MTU dropped at $side: chunks of $(chunk_of "$T/drop$side.json") at the end"
done
kill -TERM "$pid"; wait "$pid" 2>/dev/null
note "the MTU dropped half way, at either end: on with 1400-byte chunks, verified"
