# The front command runs the same programs; its help comes from its table.
. "$(dirname "$0")/lib.sh"

"$BIN/cft" --help >"$T/help" || fail "cft --help exited $?"
grep -q "^  send " "$T/help" && grep -q "^  recv " "$T/help" || fail "subcommands missing: $(cat "$T/help")"
"$BIN/cft" --version | grep -q "^cft [0-9]" || fail "cft --version"
rc=0; "$BIN/cft" frobnicate 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "unknown subcommand exited $rc"

mkdir "$T/out"
random_file "$T/src" 100000 12
PORT=$(random_port)
"$BIN/cft" recv -v --once --listen "127.0.0.1:$PORT" "$T/out" 2>"$T/recv.log" &
RECV_PID=$!
started "$T/recv.log" "listening on" "$RECV_PID" || fail "cft recv did not start"
"$BIN/cft" send -q "$T/src" "127.0.0.1:$PORT" || fail "cft send exited $?"
wait_recv
[ "$RECV_RC" = 0 ] || fail "cft recv exited $RECV_RC"
assert_same "$T/src" "$T/out/src"
note "cft send / cft recv move a file; help lists the subcommands"
