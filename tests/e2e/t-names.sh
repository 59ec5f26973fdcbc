# Logs an operator can use: names chosen by a sender (a right-to-left
# override, a C1 control, bytes that are not UTF-8, a backslash) arrive as
# they are, but reach the log escaped and the --json report as valid UTF-8;
# log lines carry a time when standard error is not a terminal; and a peer
# that fails session after session gets CFT_LOG_BURST (10) lines per cause
# and a count of the rest, even with -q.
. "$(dirname "$0")/lib.sh"

mkdir "$T/src" "$T/out"
rlo=$(printf 'invoice\342\200\256fdp.exe')
c1=$(printf 'bell\302\205line')
raw=$(printf 'latin1-\351t\351')
for n in "$rlo" "$c1" "$raw" 'back\slash'; do
	printf '%s' "$n" >"$T/src/$n"
done
start_recv "$T/out"
"$BIN/cft-send" -q "$T/src"/* "127.0.0.1:$PORT" 2>"$T/send.log" || fail "cft-send exited $?"
for n in "$rlo" "$c1" "$raw" 'back\slash'; do
	assert_same "$T/src/$n" "$T/out/$n"
done
kill -TERM "$RECV_PID"; wait_recv
LC_ALL=C grep -q "$(printf '\342\200\256')" "$T/recv.log" && fail "a raw RLO in the log"
LC_ALL=C grep -q "$(printf '\302\205')" "$T/recv.log" && fail "a raw C1 control in the log"
LC_ALL=C grep -q "$(printf '\351')" "$T/recv.log" && fail "a byte that is not UTF-8 in the log"
grep -qF 'invoice\u{202e}fdp.exe' "$T/recv.log" || fail "the RLO not shown escaped: $(cat "$T/recv.log")"
grep -qF 'latin1-\xe9t\xe9' "$T/recv.log" || fail "bad bytes not shown escaped"
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z cft-recv: ' "$T/recv.log" || fail "no times in the log"
iconv -f UTF-8 -t UTF-8 "$T/recv.json" >/dev/null 2>&1 || fail "--json is not valid UTF-8"
grep -qF '"latin1-\ufffdt\ufffd"' "$T/recv.json" || fail "bad bytes not replaced in JSON"
note "hostile names arrive as they are; escaped in the log, valid UTF-8 in --json"

# 25 sessions that fail the same way (refused: --no-clobber, destination differs).
printf 'other' >"$T/out/x"
printf 'mine' >"$T/src/x"
PORT=$(random_port)
"$BIN/cft-recv" -q --listen "127.0.0.1:$PORT" "$T/out" 2>"$T/recv.log" & RECV_PID=$!
# -q says nothing: wait until the port is bound (a sender that nobody
# answered and that is refused gives up at once).
for _ in $(seq 100); do
	[ -n "$(ss -Huln "sport = :$PORT")" ] && break
	sleep 0.05
done
for i in $(seq 1 25); do
	"$BIN/cft-send" -q --no-clobber "$T/src/x" "127.0.0.1:$PORT" 2>/dev/null && fail "accepted"
done
kill -TERM "$RECV_PID"; wait_recv
n=$(grep -c "failed:" "$T/recv.log")
[ "$n" = 10 ] || fail "$n lines for 25 failed sessions, expected 10: $(cat "$T/recv.log")"
grep -q "15 more sessions failed with status 2" "$T/recv.log" || fail "no count of the rest"
note "25 failed sessions: 10 lines and one count of 15"
