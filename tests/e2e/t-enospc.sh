# A full disk at the receiver: exit 3 on both sides with a clear message,
# nothing under the final name, no temporary file left behind.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/src" $((3 * 1024 * 1024)) 41
CFT_FAULT_WRITE_NTH=2 CFT_FAULT_WRITE_ERRNO=ENOSPC CFT_FAULT_PATH="$T/out" \
	LD_PRELOAD="$FAULTLIB" start_recv "$T/out"
rc=0
"$BIN/cft-send" "$T/src" "127.0.0.1:$PORT" >/dev/null 2>"$T/send.log" || rc=$?
kill -TERM "$RECV_PID"; wait_recv
[ "$rc" = 3 ] || fail "cft-send exited $rc, expected 3"
st=$(json_num "$T/recv.json" status)
[ "$st" = 3 ] || fail "cft-recv reported the session as ${st:-missing}, expected 3"
grep -q "src: receiver: receiver disk full" "$T/send.log" || fail "unclear message: $(cat "$T/send.log")"
[ ! -e "$T/out/src" ] || fail "a file appeared under its final name"
assert_no_temp "$T/out"
# Say that the error is the expected one: a bare error line here would read
# like a failure of the suite.
note "disk full as injected: exit 3, and 3 in the receiver's report; cft-send said: $(tail -n 1 "$T/send.log")"

# A claim larger than the free space (less the reserve) is refused at the
# offer, before any data travels, and nothing of it is kept; a file that
# fits is taken.  No space is reserved ahead, so a claim costs nothing.
# The free space is what the fault library says (the disk's own would move
# with whatever else writes to it while the test runs), a little less than
# the disk really has.
rm -f "$T/out"/* "$T/out"/.cft-tmp.* 2>/dev/null
random_file "$T/big" $((16 * 1024 * 1024)) 42
random_file "$T/small" $((1024 * 1024)) 43
avail=$(($(df --output=avail -B1 "$T/out" | tail -n 1) - 64 * 1024 * 1024))
[ "$avail" -gt $((16 * 1024 * 1024)) ] || fail "less than 80 MiB free under $T"
CFT_FAULT_AVAIL=$avail LD_PRELOAD="$FAULTLIB" \
	start_recv "$T/out" --reserve $((avail - 8 * 1024 * 1024))
rc=0
"$BIN/cft-send" "$T/big" "127.0.0.1:$PORT" >/dev/null 2>"$T/send.log" || rc=$?
[ "$rc" = 3 ] || fail "an offer past the reserve: cft-send exited $rc, expected 3"
grep -q "big: receiver: receiver disk full.*needed" "$T/send.log" ||
	fail "unclear message: $(cat "$T/send.log")"
[ -z "$(ls -A "$T/out")" ] || fail "a refused offer left $(ls -A "$T/out")"
"$BIN/cft-send" -q "$T/small" "127.0.0.1:$PORT" 2>"$T/send.log" ||
	fail "a file that fits: cft-send exited $?: $(cat "$T/send.log")"
assert_same "$T/small" "$T/out/small"
kill -TERM "$RECV_PID"; wait_recv
note "16 MiB offered with 8 MiB free beyond the reserve: refused at the offer; 1 MiB taken"

# A resume refused for space keeps the partial file it would have resumed:
# the next attempt, with room, still resumes.
rm -rf "$T/out"; mkdir "$T/out"
random_file "$T/res" $((16 * 1024 * 1024)) 44
start_recv "$T/out"
start_shim --seed 5 --rate 4M
"$BIN/cft-send" -q "$T/res" "127.0.0.1:$SHIM_PORT" 2>/dev/null & pid=$!
sleep 2
{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null
stop_shim
kill -TERM "$RECV_PID"; wait_recv
CFT_FAULT_AVAIL=$avail LD_PRELOAD="$FAULTLIB" \
	start_recv "$T/out" --reserve $((avail - 1024 * 1024))
rc=0
"$BIN/cft-send" -q "$T/res" "127.0.0.1:$PORT" 2>"$T/send.log" || rc=$?
[ "$rc" = 3 ] || fail "a resume past the reserve: cft-send exited $rc, expected 3"
kill -TERM "$RECV_PID"; wait_recv
ls -A "$T/out" | grep -q '^\.cft-tmp\..*\.state$' || fail "the refused resume lost its partial file"
start_recv "$T/out"
start_shim --seed 6
"$BIN/cft-send" -q "$T/res" "127.0.0.1:$SHIM_PORT" 2>"$T/send.log" || fail "the resume: exit $?"
stop_shim
assert_same "$T/res" "$T/out/res"
bytes=$(shim_count forward forwarded_bytes)
[ "$bytes" -lt $((16 * 1024 * 1024 * 9 / 10)) ] || fail "$bytes bytes: the partial file was not resumed"
kill -TERM "$RECV_PID"; wait_recv
note "a resume refused for space kept its partial file; with room it resumed ($bytes bytes for 16 MiB)"
