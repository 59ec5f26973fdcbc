# Every address a name resolves to is tried: a name whose first address has
# nothing listening (its host says port unreachable) and whose second has
# the receiver is sent to at once; a name with nothing at any address ends
# the run at once (exit 4), saying so.  The fault library makes the name
# resolve so, whatever /etc/hosts says.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/src" 300000 8
start_recv "$T/out"
start=$(date +%s%N)
CFT_FAULT_RESOLVE="cft-two-addrs=127.0.0.9,127.0.0.1" LD_PRELOAD="$FAULTLIB" \
	"$BIN/cft-send" -v "$T/src" "cft-two-addrs:$PORT" >/dev/null 2>"$T/send.log" ||
	fail "cft-send exited $?: $(cat "$T/send.log")"
ms=$((($(date +%s%N) - start) / 1000000))
assert_same "$T/src" "$T/out/src"
grep -q "nothing listens at 127.0.0.9:$PORT; trying 127.0.0.1:$PORT" "$T/send.log" ||
	fail "no word of the second address: $(cat "$T/send.log")"
[ "$ms" -lt 5000 ] || fail "took $ms ms to reach the second address"
kill -TERM "$RECV_PID"; wait_recv
rc=0
CFT_FAULT_RESOLVE="cft-two-addrs=127.0.0.9,127.0.0.10" LD_PRELOAD="$FAULTLIB" \
	"$BIN/cft-send" -q --timeout 30 "$T/src" "cft-two-addrs:$PORT" 2>"$T/send.log" || rc=$?
[ "$rc" = 4 ] && grep -q "nothing listens there (port unreachable at every address it names)" \
	"$T/send.log" || fail "nothing anywhere: exit $rc, $(cat "$T/send.log")"
note "the second address of a name reached in $ms ms; none listening: exit 4 at once"
