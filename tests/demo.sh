#!/usr/bin/env bash
# The README's first command: a real transfer on loopback through cft-shim,
# which drops, damages, duplicates and reorders datagrams (some damage with
# the checksum recomputed, so only cft's digests can see it).  Prints what
# was injected, what cft repaired, and the digest checked three ways.
set -eu
cd "$(dirname "$0")/.."
d=$(mktemp -d /tmp/cft-demo.XXXXXX)
rpid= spid=
trap '[ -z "$rpid" ] || kill $rpid 2>/dev/null; [ -z "$spid" ] || kill $spid 2>/dev/null; rm -rf "$d"' EXIT
size=${DEMO_SIZE:-33554432}
seed=${DEMO_SEED:-2026}
rport=$((20000 + RANDOM % 20000))
sport=$((rport + 20000))
mkdir "$d/in" "$d/out"
head -c "$size" /dev/urandom >"$d/in/demo.bin"

wait_for() { for _ in $(seq 50); do grep -q "$2" "$1" 2>/dev/null && return; sleep 0.1; done; }

echo "== cft demo: $((size / 1048576)) MiB of random data over UDP, through cft-shim"
bin/cft-recv -v --json --once --listen "127.0.0.1:$rport" "$d/out" >"$d/recv.json" 2>"$d/recv.log" &
rpid=$!
wait_for "$d/recv.log" listening
faults="--drop 5% --duplicate 2% --reorder 2% --direction reverse --corrupt 1% --direction forward --corrupt 0.05% --recompute-checksum"
echo "   faults: $faults (seed $seed)"
# shellcheck disable=SC2086
bin/cft-shim --seed "$seed" --listen "127.0.0.1:$sport" --forward "127.0.0.1:$rport" $faults \
	2>"$d/shim.log" &
spid=$!
wait_for "$d/shim.log" relaying
bin/cft-send "$d/in/demo.bin" "127.0.0.1:$sport" >"$d/sums" 2>"$d/send.log"
wait $rpid; rpid=
kill -INT $spid; wait $spid || true; spid=
echo "== what cft-shim injected"
grep -E "^cft-shim: (forward|reverse)" "$d/shim.log" | sed 's/^cft-shim: /   /'
echo "== what cft repaired"
sed 's/^/   /' "$d/send.log"
# From the receiver's --json report (cft-recv(1)), not its -v prose.
grep -o '"bad_chunk": [0-9]*' "$d/recv.json" | tail -n 1 |
	sed 's/"bad_chunk":/   cft-recv: chunks that failed their SHA-256 check (damage the CRC could not see):/'
echo "== verified digest, next to sha256sum's"
echo "   $(cut -d' ' -f1 "$d/sums")  cft: source, read back from the receiver's disk"
echo "   $(sha256sum <"$d/in/demo.bin" | cut -d' ' -f1)  sha256sum: source"
echo "   $(sha256sum <"$d/out/demo.bin" | cut -d' ' -f1)  sha256sum: received copy"
cmp "$d/in/demo.bin" "$d/out/demo.bin"
[ "$(cut -d' ' -f1 "$d/sums")" = "$(sha256sum <"$d/out/demo.bin" | cut -d' ' -f1)" ]
echo "== identical (cmp).  Verified."
