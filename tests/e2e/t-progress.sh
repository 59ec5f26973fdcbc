# The progress line on a terminal (a pseudo-terminal from script(1)): words
# while nothing moves ("waiting for the receiver"), rate and time left while
# data moves.  (The words of each phase: tests/unit/test_progress.c.)
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || { note "no script(1): skipped"; exit 0; }

mkdir "$T/out"
random_file "$T/src" $((6 * 1024 * 1024)) 5
# A receiver that does not answer: the shim in front of a port nobody
# listens on (the refusal stops at the shim).
start_recv "$T/out"
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null; RECV_PID=
start_shim
script -qfec "'$BIN/cft-send' --timeout 2 '$T/src' 127.0.0.1:$SHIM_PORT" /dev/null \
	>"$T/tty-silent" 2>&1
stop_shim
tr '\r' '\n' <"$T/tty-silent" | grep -q 'waiting for the receiver' ||
	fail "no 'waiting for the receiver' on the terminal: $(tr '\r' '\n' <"$T/tty-silent" | tail -n 3)"

# A real transfer, slowed to 2 MB/s so that the line is drawn many times.
start_recv "$T/out"
start_shim --rate 2M
script -qfec "'$BIN/cft-send' '$T/src' 127.0.0.1:$SHIM_PORT" /dev/null >"$T/tty" 2>&1 ||
	fail "cft-send under script(1) failed: $(tail -c 300 "$T/tty")"
stop_shim
assert_same "$T/src" "$T/out/src"
tr '\r' '\n' <"$T/tty" >"$T/lines"
grep -q 'MiB/s  ETA [0-9]*:[0-9][0-9]' "$T/lines" || fail "no time left shown: $(tail -n 3 "$T/lines")"
note "on a terminal: $(grep -m1 'ETA' "$T/lines" | sed 's/\x1b\[K//g')"
