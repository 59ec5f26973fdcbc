#!/usr/bin/env bash
# The README's first command: a real transfer on loopback, checked three
# ways (cft's own end-to-end verdict, cmp, and sha256sum on both copies).
set -eu
cd "$(dirname "$0")/.."
d=$(mktemp -d /tmp/cft-demo.XXXXXX)
rpid=
trap '[ -z "$rpid" ] || kill $rpid 2>/dev/null; rm -rf "$d"' EXIT
size=${DEMO_SIZE:-33554432}
port=$((20000 + RANDOM % 40000))
mkdir "$d/in" "$d/out"
head -c "$size" /dev/urandom >"$d/in/demo.bin"

echo "== cft demo: $((size / 1048576)) MiB of random data over UDP on 127.0.0.1:$port"
bin/cft-recv --once --listen "127.0.0.1:$port" "$d/out" 2>"$d/recv.log" &
rpid=$!
for _ in $(seq 50); do ss -lun 2>/dev/null | grep -q ":$port " && break; sleep 0.1; done
sleep 0.2
bin/cft-send "$d/in/demo.bin" "127.0.0.1:$port"
wait $rpid
rpid=
cat "$d/recv.log"
echo "== independent check"
(cd "$d/in" && sha256sum demo.bin | sed 's/$/   (source, by sha256sum)/')
(cd "$d/out" && sha256sum demo.bin | sed 's/$/   (received copy, by sha256sum)/')
cmp "$d/in/demo.bin" "$d/out/demo.bin" && echo "cmp: identical.  Verified."
