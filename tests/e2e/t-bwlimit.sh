# cft-send --bwlimit: its limits, at and just past each one, and that it
# caps the rate.  The cap is checked as a lower bound on the time a
# transfer takes (a slow machine only makes it longer, so this is not a
# timed assertion that can fail by chance); how fast cft goes without it is
# a benchmark's business (make bench-link).
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/small" 4096 1
random_file "$T/big" $((3 * 1024 * 1024)) 2
start_recv "$T/out"

for bad in 16383 1025G 0 1.5M fast; do
	rc=0
	"$BIN/cft-send" -q --bwlimit "$bad" "$T/small" "127.0.0.1:$PORT" 2>"$T/err.txt" || rc=$?
	[ "$rc" = 1 ] || fail "--bwlimit $bad: exit $rc, expected 1"
	grep -q -- "--bwlimit '$bad'" "$T/err.txt" || fail "--bwlimit $bad: $(cat "$T/err.txt")"
done
"$BIN/cft-send" -q --bwlimit 16K "$T/small" "127.0.0.1:$PORT" || fail "--bwlimit 16K refused"
assert_same "$T/small" "$T/out/small"
rm "$T/out/small"
"$BIN/cft-send" -q --bwlimit 1024G "$T/small" "127.0.0.1:$PORT" || fail "--bwlimit 1024G refused"
assert_same "$T/small" "$T/out/small"
note "--bwlimit: 16K and 1024G taken; 16383, 1025G, 0, 1.5M and words refused (exit 1)"

# 3 MiB at 1 MiB/s: at least 3 s of data at the cap (less the first
# window, which goes before any pace is known: 2.5 s is the floor asserted).
t0=$(date +%s%N)
"$BIN/cft-send" -q --bwlimit 1M "$T/big" "127.0.0.1:$PORT" || fail "--bwlimit 1M: transfer failed"
t1=$(date +%s%N)
assert_same "$T/big" "$T/out/big"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 2500 ] || fail "3 MiB at --bwlimit 1M took $ms ms: the cap did not hold"
note "3 MiB at --bwlimit 1M: $ms ms ($((3 * 1024 * 1000 / ms)) KiB/s), verified"
kill -TERM "$RECV_PID"; wait_recv
