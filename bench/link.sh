#!/usr/bin/env bash
# make bench-link: cft over a shaped link between two network namespaces
# that this script creates (veth pair, tbf on the sending side), to check
# that what is tuned for loopback costs nothing on a real link: the file
# must arrive, verified, at 90% of the link rate or better.
#
#   LINK_RATE_MBIT  the link's rate (default 100)
#   LINK_SIZE       bytes of random data (default 67108864, 64 MiB)
#   LINK_RUNS       transfers (default 3); the median is reported
#
# Goodput is file bytes over the sender's whole run (session, data, the
# end-to-end check, the commit), in Mbit/s of file data, against the rate
# tbf gives the link at layer 2: a 1400-byte chunk costs 1484 bytes there
# (DATA's 42-byte header, UDP, IPv4, Ethernet), so 94% is the most any
# transfer of this protocol can reach.
#
# Needs root (namespaces, tc); uses only the addresses of its own
# namespaces (10.199.0.1 and .2, inside them) and removes them on exit.
set -euo pipefail

RATE=${LINK_RATE_MBIT:-100}
SIZE=${LINK_SIZE:-67108864}
RUNS=${LINK_RUNS:-3}
BIN=${CFT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
NS_A=cft-link-a.$$
NS_B=cft-link-b.$$
DIR=$(mktemp -d "${TMPDIR:-/tmp}/cft-link.XXXXXX")
RECV_PID=

cleanup() {
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null && wait "$RECV_PID" 2>/dev/null
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "bench-link: needs root (network namespaces, tc)" >&2
	exit 2
fi
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add cftla$$ type veth peer name cftlb$$
ip link set cftla$$ netns "$NS_A"
ip link set cftlb$$ netns "$NS_B"
ip -n "$NS_A" addr add 10.199.0.1/24 dev cftla$$
ip -n "$NS_B" addr add 10.199.0.2/24 dev cftlb$$
ip -n "$NS_A" link set cftla$$ up
ip -n "$NS_B" link set cftlb$$ up
# The link: RATE, a queue of 50 ms at that rate, a burst of one jumbo frame.
tc -n "$NS_A" qdisc add dev cftla$$ root tbf rate "${RATE}mbit" burst 64kbit latency 50ms

head -c "$SIZE" /dev/urandom >"$DIR/src"
mkdir "$DIR/out"
echo "bench-link: $SIZE bytes over a ${RATE} Mbit/s tbf link between two namespaces, $RUNS runs"
rates=()
for run in $(seq "$RUNS"); do
	rm -f "$DIR/out/src"
	ip netns exec "$NS_B" "$BIN/cft-recv" -q --once --listen 10.199.0.2:7411 "$DIR/out" &
	RECV_PID=$!
	sleep 0.3
	start=$(date +%s%N)
	ip netns exec "$NS_A" "$BIN/cft-send" -q "$DIR/src" 10.199.0.2:7411 >/dev/null
	end=$(date +%s%N)
	wait "$RECV_PID"
	RECV_PID=
	cmp "$DIR/src" "$DIR/out/src" || { echo "bench-link: the copy differs" >&2; exit 1; }
	mbit=$(awk -v b="$SIZE" -v ns=$((end - start)) 'BEGIN { printf "%.1f", b * 8 / (ns / 1e3) }')
	echo "  run $run: $(awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }') s, $mbit Mbit/s of file data"
	rates+=("$mbit")
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
pct=$(awk -v m="$median" -v r="$RATE" 'BEGIN { printf "%.0f", 100 * m / r }')
echo "median: $median Mbit/s, $pct% of the ${RATE} Mbit/s link (94% is the most DATA's overhead leaves)"
[ "$pct" -ge 90 ] || { echo "bench-link: below 90% of the link rate" >&2; exit 1; }
