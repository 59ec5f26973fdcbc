# A full disk at the receiver: exit 3 on both sides with a clear message,
# nothing under the final name, no temporary file left behind.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/src" $((3 * 1024 * 1024)) 41
CFT_FAULT_WRITE_NTH=2 CFT_FAULT_WRITE_ERRNO=ENOSPC CFT_FAULT_PATH="$T/out" \
	LD_PRELOAD="$FAULTLIB" start_recv "$T/out" --once
rc=0
"$BIN/cft-send" "$T/src" "127.0.0.1:$PORT" >/dev/null 2>"$T/send.log" || rc=$?
wait_recv
[ "$rc" = 3 ] || fail "cft-send exited $rc, expected 3"
[ "$RECV_RC" = 3 ] || fail "cft-recv exited $RECV_RC, expected 3"
grep -q "src: receiver: receiver disk full" "$T/send.log" || fail "unclear message: $(cat "$T/send.log")"
[ ! -e "$T/out/src" ] || fail "a file appeared under its final name"
assert_no_temp "$T/out"
# Say that the error is the expected one: a bare error line here would read
# like a failure of the suite.
note "disk full as injected: exit 3 on both sides; cft-send said: $(tail -n 1 "$T/send.log")"
