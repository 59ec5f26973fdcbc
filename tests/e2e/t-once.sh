# Keyless, anybody who reaches the port can open a session and end it with a
# status of their choosing (an ERROR, a BYE, a refused offer).  So cft-recv
# --once ends only with a session that committed every file: failed and
# abandoned sessions are reported and it goes on serving.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/src" 200000 3
printf 'other' >"$T/out/src"
start_recv "$T/out" --once
# A session that fails (refused: --no-clobber and the destination differs).
rc=0
"$BIN/cft-send" -q --no-clobber "$T/src" "127.0.0.1:$PORT" 2>"$T/send.log" || rc=$?
[ "$rc" = 2 ] || fail "--no-clobber exited $rc, expected 2: $(cat "$T/send.log")"
# Openings of sessions from other addresses, never completed.
"$BUILD/cft-dgram" "127.0.0.1:$PORT" flood 10 1 >/dev/null || fail "cft-dgram"
sleep 0.3
kill -0 "$RECV_PID" 2>/dev/null || { wait_recv; fail "a failed session ended --once (exit $RECV_RC)"; }
# The real one ends it, with 0.
"$BIN/cft-send" -q "$T/src" "127.0.0.1:$PORT" 2>"$T/send.log" || fail "cft-send exited $?"
wait_recv
[ "$RECV_RC" = 0 ] || fail "cft-recv --once exited $RECV_RC after a complete session"
assert_same "$T/src" "$T/out/src"
note "a refused session and a flood did not end --once; the complete one did, exit 0"
