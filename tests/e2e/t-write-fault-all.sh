# Every write on the receiving host is damaged: the digests can never agree.
# The sender must give up with exit 5 after its retry budget, and nothing may
# appear under the final name, nor any temporary file be left behind.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/src" 300000 8
CFT_FAULT_WRITE_ALL=1 LD_PRELOAD="$FAULTLIB" start_recv "$T/out"
rc=0
"$BIN/cft-send" --json --block-size 64K "$T/src" "127.0.0.1:$PORT" >"$T/send.json" 2>"$T/send.log" ||
	rc=$?
# A failed session does not end the receiver (not even with --once): its
# report says how it ended.
kill -TERM "$RECV_PID"; wait_recv
[ "$rc" = 5 ] || fail "cft-send exited $rc, expected 5"
st=$(json_num "$T/recv.json" status)
[ "$st" = 5 ] || fail "cft-recv reported the session as ${st:-missing}, expected 5"
grep -q "digests never agreed" "$T/send.log" || fail "no clear message"
[ ! -e "$T/out/src" ] || fail "an unverified file appeared under its final name"
assert_no_temp "$T/out"
note "exit 5 after $(json_num "$T/send.json" e2e_rounds) end-to-end rounds; nothing committed"
