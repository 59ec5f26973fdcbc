#!/usr/bin/env bash
# make bench: cft against two peers, in one run on the same machine, on
# loopback, with the same random file:
#   - rsync to a local rsync daemon (a whole-file checksum of what it received)
#   - netcat, with sha256sum of the source and of the received copy
# Figures: wall time, MB/s, CPU time (user+sys, both ends), peak RSS (largest
# process).  Ratios are cft's figure over the peer's: the machine is shared
# and noisy, so only figures from one invocation are compared.
set -eu
cd "$(dirname "$0")/.."
size=${BENCH_SIZE:-1073741824}
d=$(mktemp -d /tmp/cft-bench.XXXXXX)
pids=
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; rm -rf "$d"' EXIT
port() { echo $((20000 + RANDOM % 40000)); }
T="/usr/bin/time -f %e:%U:%S:%M"

echo "bench: $size bytes of random data, loopback, $(nproc) cores"
head -c "$size" /dev/urandom >"$d/src.bin"
src_sum=$(sha256sum <"$d/src.bin" | cut -d' ' -f1)
drop_cache() { sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

# --- cft
mkdir "$d/cft-out"
p=$(port)
drop_cache
$T -o "$d/cft-recv.time" bin/cft-recv -q --once --listen "127.0.0.1:$p" "$d/cft-out" &
rpid=$!; pids="$pids $rpid"
sleep 0.3
$T -o "$d/cft-send.time" bin/cft-send -q "$d/src.bin" "127.0.0.1:$p"
wait $rpid
[ "$(sha256sum <"$d/cft-out/src.bin" | cut -d' ' -f1)" = "$src_sum" ] || { echo "cft copy differs"; exit 1; }
rm -f "$d/cft-out/src.bin"

# --- rsync to a daemon
mkdir "$d/rsync-out"
p=$(port)
cat >"$d/rsyncd.conf" <<CONF
use chroot = no
uid = $(id -u)
gid = $(id -g)
pid file = $d/rsyncd.pid
[out]
path = $d/rsync-out
read only = no
CONF
drop_cache
$T -o "$d/rsyncd.time" rsync --daemon --no-detach --address=127.0.0.1 --port="$p" --config="$d/rsyncd.conf" &
dpid=$!; pids="$pids $dpid"
sleep 0.5
$T -o "$d/rsync.time" rsync --whole-file "$d/src.bin" "rsync://127.0.0.1:$p/out/"
kill "$(cat "$d/rsyncd.pid")"; wait $dpid 2>/dev/null || true
[ "$(sha256sum <"$d/rsync-out/src.bin" | cut -d' ' -f1)" = "$src_sum" ] || { echo "rsync copy differs"; exit 1; }
rm -f "$d/rsync-out/src.bin"

# --- netcat + sha256sum at both ends
p=$(port)
drop_cache
$T -o "$d/nc-recv.time" bash -c "nc -l 127.0.0.1 $p >'$d/nc.out' && sha256sum '$d/nc.out' >/dev/null" &
npid=$!; pids="$pids $npid"
sleep 0.3
$T -o "$d/nc-send.time" bash -c "sha256sum '$d/src.bin' >/dev/null && nc -N 127.0.0.1 $p <'$d/src.bin'"
wait $npid
[ "$(sha256sum <"$d/nc.out" | cut -d' ' -f1)" = "$src_sum" ] || { echo "nc copy differs"; exit 1; }

# wall = sender's elapsed (it finishes last: cft and nc wait for the far end)
row() {	# row NAME SENDER.time RECEIVER.time
	awk -F: -v name="$1" -v size="$size" '
		NR == FNR { split($0, s, ":"); next }
		{ split($0, r, ":") }
		END {
			wall = s[1]; cpu = s[2] + s[3] + r[2] + r[3];
			rss = (s[4] > r[4] ? s[4] : r[4]) / 1024;
			printf "%-22s %8.2f %9.1f %8.2f %10.1f\n", name, wall, size / wall / 1e6, cpu, rss;
			printf "%s %f %f %f\n", name, wall, cpu, rss > "/dev/stderr";
		}' <(tail -n 1 "$2") <(tail -n 1 "$3")
}
echo
printf "%-22s %8s %9s %8s %10s\n" "tool" "wall s" "MB/s" "CPU s" "RSS MiB"
{
	row "cft" "$d/cft-send.time" "$d/cft-recv.time"
	row "rsync (daemon)" "$d/rsync.time" "$d/rsyncd.time"
	row "nc + sha256sum" "$d/nc-send.time" "$d/nc-recv.time"
} 2>"$d/raw"
echo
awk '{ w[NR] = $(NF-2); c[NR] = $(NF-1); r[NR] = $NF; n[NR] = $1 }
	END {
		printf "cft / rsync:          wall %.2fx  CPU %.2fx  RSS %.2fx\n", w[1]/w[2], c[1]/c[2], r[1]/r[2];
		printf "cft / nc + sha256sum: wall %.2fx  CPU %.2fx  RSS %.2fx\n", w[1]/w[3], c[1]/c[3], r[1]/r[3];
	}' "$d/raw"
