#!/usr/bin/env bash
# make bench-link: cft on links that are not loopback, with the figures of
# cft-protocol(7)'s congestion control against their targets.
#
# 1. Through cft-shim on loopback, playing a bottleneck: LINK_SHIM_RATE
#    bytes/s with a 50 ms drop-tail queue, 20 ms each way, and random loss
#    (none, 1%, 10%, 10% both ways), then 100 ms each way.  No root needed.
# 2. On a veth pair between two network namespaces this script creates and
#    removes (tbf at LINK_RATE_MBIT on the sending side, 50 ms queue): cft
#    alone, then beside one TCP flow (iperf3).  Needs root, and iperf3 for
#    the second; says so and skips otherwise.
#
#   LINK_SIZE   bytes of random data (default 33554432, 32 MiB)
#   LINK_RUNS   transfers per row (default 3); the median is reported
#
# Goodput is file bytes over the sender's whole run (session, data, the
# end-to-end check, the commit) against the link's rate.  Sent/needed is
# what crossed the shim forwards over the file's size.  Through the shim on
# loopback the chunks are 16 KiB (the route and the shim carry them: a DATA
# is 16426 bytes of UDP payload for 16384 of file, so 99.7% at most); on the
# veth pair, of MTU 1500, 1400 bytes in 1442 (1484 on Ethernet), so 94%.
# The script reports; it fails only if a copy differs.  It uses only
# loopback and the addresses of its own namespaces (10.199.0.1 and .2).
set -euo pipefail

SIZE=${LINK_SIZE:-33554432}
RUNS=${LINK_RUNS:-3}
SHIM_RATE=${LINK_SHIM_RATE:-12500000}
RATE=${LINK_RATE_MBIT:-100}
BIN=${CFT_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
NS_A=cft-link-a.$$
NS_B=cft-link-b.$$
DIR=$(mktemp -d "${TMPDIR:-/tmp}/cft-link.XXXXXX")
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000)); }

head -c "$SIZE" /dev/urandom >"$DIR/src"
mkdir "$DIR/out"

# shim_run FORWARD_FAULTS -- REVERSE_FAULTS: one transfer through cft-shim;
# prints "seconds sent/needed".
shim_run() {
	local fwd=() rev=() side=f a rp sp t0 t1 seen
	for a in "$@"; do
		if [ "$a" = -- ]; then side=r; continue; fi
		if [ $side = f ]; then fwd+=("$a"); else rev+=("$a"); fi
	done
	rm -f "$DIR/out/src" "$DIR/shim.json"
	rp=$(port); sp=$(port)
	"$BIN/cft-recv" -q --once --listen "127.0.0.1:$rp" "$DIR/out" & PIDS+=($!)
	"$BIN/cft-shim" -q --seed "$RANDOM" --listen "127.0.0.1:$sp" --forward "127.0.0.1:$rp" \
		--stats-json "$DIR/shim.json" --direction forward "${fwd[@]}" \
		--direction reverse "${rev[@]}" & PIDS+=($!)
	sleep 0.3
	t0=$(date +%s%N)
	"$BIN/cft-send" -q "$DIR/src" "127.0.0.1:$sp"
	t1=$(date +%s%N)
	wait "${PIDS[-2]}"
	kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
	PIDS=()
	cmp -s "$DIR/src" "$DIR/out/src" || { echo "bench-link: the copy differs" >&2; exit 1; }
	seen=$(grep -o '"forward": *{[^}]*' "$DIR/shim.json" | grep -o '"seen_bytes": *[0-9]*' |
	       grep -o '[0-9]*$')
	awk -v ns=$((t1 - t0)) -v s="$SIZE" -v f="$seen" 'BEGIN { printf "%.3f %.2f\n", ns / 1e9, f / s }'
}

echo "bench-link: $SIZE bytes, median of $RUNS runs"
echo
echo "Through cft-shim on loopback: $SHIM_RATE bytes/s, 50 ms queue"
printf '  %-26s %9s %8s %7s %12s\n' link goodput share target sent/needed
link="--rate $SHIM_RATE --queue 50"
while IFS='|' read -r name target fwd rev; do
	secs=(); ratio=()
	for _ in $(seq "$RUNS"); do
		read -r s r < <(shim_run $fwd -- $rev)
		secs+=("$s"); ratio+=("$r")
	done
	s=$(printf '%s\n' "${secs[@]}" | median)
	r=$(printf '%s\n' "${ratio[@]}" | median)
	awk -v s="$s" -v b="$SIZE" -v l="$SHIM_RATE" -v n="$name" -v t="$target" -v r="$r" 'BEGIN {
		g = b / s; p = 100 * g / l
		printf "  %-26s %6.2f MB/s %6.0f%% %6d%% %11sx%s\n", n, g / 1e6, p, t, r,
		       p < t ? "  (below target)" : "" }'
done <<EOF
no loss, 20 ms each way|85|$link --delay 20|--delay 20
1% loss|80|$link --delay 20 --drop 0.01|--delay 20
10% loss|70|$link --delay 20 --drop 0.1|--delay 20
10% loss both ways|60|$link --delay 20 --drop 0.1|--delay 20 --drop 0.1
200 ms round trip|70|$link --delay 100|--delay 100
EOF

echo
if [ "$(id -u)" != 0 ]; then
	echo "veth + tbf: skipped (needs root: network namespaces, tc)"
	exit 0
fi
# shellcheck source=../tests/netns.sh
. "$(dirname "$0")/../tests/netns.sh"
netns_pair "$NS_A" "$NS_B" 10.199.0 || { echo "veth + tbf: could not make namespaces"; exit 1; }
# The link: RATE, a queue of 50 ms at that rate, a burst of one jumbo frame.
tc -n "$NS_A" qdisc add dev "$NETNS_DEV_A" root tbf rate "${RATE}mbit" burst 64kbit latency 50ms

# veth_run: one transfer A to B; prints its start and end, ns since the epoch.
veth_run() {
	local t0 t1
	rm -f "$DIR/out/src"
	ip netns exec "$NS_B" "$BIN/cft-recv" -q --once --insecure --listen 10.199.0.2:7411 "$DIR/out" &
	PIDS+=($!)
	sleep 0.3
	t0=$(date +%s%N)
	ip netns exec "$NS_A" "$BIN/cft-send" -q "$DIR/src" 10.199.0.2:7411 >/dev/null
	t1=$(date +%s%N)
	wait "${PIDS[-1]}"
	PIDS=()
	cmp -s "$DIR/src" "$DIR/out/src" || { echo "bench-link: the copy differs" >&2; exit 1; }
	echo "$t0 $t1"
}

echo "veth + tbf at $RATE Mbit/s between two namespaces"
mbits=()
for _ in $(seq "$RUNS"); do
	read -r t0 t1 < <(veth_run)
	mbits+=("$(awk -v b="$SIZE" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", b * 8 / (ns / 1e3) }')")
done
m=$(printf '%s\n' "${mbits[@]}" | median)
awk -v m="$m" -v r="$RATE" 'BEGIN { p = 100 * m / r
	printf "  cft alone: %.1f Mbit/s, %.0f%% of the link (target 90%%)%s\n", m, p,
	       p < 90 ? "  (below target)" : "" }'

if ! command -v iperf3 >/dev/null; then
	echo "  beside TCP: skipped (no iperf3)"
	exit 0
fi
# Beside one TCP flow: iperf3 runs alone for 2 s, then cft sends twice
# LINK_SIZE;
# each one's rate over the seconds cft ran.
head -c $((2 * SIZE)) /dev/urandom >"$DIR/src"
for run in $(seq "$RUNS"); do
	ip netns exec "$NS_B" iperf3 -s -1 -p 5201 >/dev/null 2>&1 & PIDS+=($!)
	sleep 0.3
	ti=$(date +%s%N)
	ip netns exec "$NS_A" iperf3 -c 10.199.0.2 -p 5201 -t 60 -i 1 -f m --forceflush \
		>"$DIR/iperf.txt" 2>&1 &
	ipc=$!
	sleep 2
	read -r t0 t1 < <(veth_run)
	kill -INT "$ipc" 2>/dev/null || true
	wait "$ipc" || true
	wait || true
	PIDS=()
	awk -v a=$(((t0 - ti) / 1000000)) -v b=$(((t1 - ti) / 1000000)) -v size=$((2 * SIZE)) \
	    -v ns=$((t1 - t0)) -v r="$RATE" -v run="$run" '
		$3 ~ /^[0-9.]+-[0-9.]+$/ {
			split($3, t, "-"); s = t[1] * 1000; e = t[2] * 1000
			for (i = 4; i <= NF; i++)
				if ($i == "Mbits/sec" && s >= a && e <= b && e - s <= 1500) {
					sum += $(i - 1); n++
				}
		}
		END {
			c = size * 8 / (ns / 1e3); tcp = n ? sum / n : 0
			printf "  beside TCP, run %d: cft %.1f Mbit/s (%.0f%%), TCP %.1f Mbit/s (%.0f%%) (target 30-70%% each)\n",
			       run, c, 100 * c / r, tcp, 100 * tcp / r
		}' "$DIR/iperf.txt"
done
