# A partial file belongs to its source, not to its name: another offer of
# the same name (another file, another size or time; a stranger, or the
# user's next version) is received beside it, and does not delete it.  So
# the sender that was cut short still resumes with what it had sent.
. "$(dirname "$0")/lib.sh"

size=$((16 * 1024 * 1024))
mkdir "$T/out" "$T/a" "$T/b"
random_file "$T/a/doc" $size 71
random_file "$T/b/doc" 100000 72
start_recv "$T/out"
# The first sender is killed half way (slowed by the shim so that it can be).
start_shim --seed 3 --rate 4M
"$BIN/cft-send" -q "$T/a/doc" "127.0.0.1:$SHIM_PORT" 2>"$T/send.log" & pid=$!
sleep 2
{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null
stop_shim
# Another file of the same name arrives meanwhile, and is committed.
"$BIN/cft-send" -q "$T/b/doc" "127.0.0.1:$PORT" 2>"$T/send.log" || fail "the other doc: exit $?"
assert_same "$T/b/doc" "$T/out/doc"
# The first sender runs again: it resumes from its partial file.
start_shim --seed 4
"$BIN/cft-send" -q --json "$T/a/doc" "127.0.0.1:$SHIM_PORT" >"$T/send.json" 2>"$T/send.log" ||
	fail "the resumed run: exit $?"
stop_shim
# A resume is not a mismatch: nothing was damaged on the way.
[ "$(json_num "$T/send.json" resumed)" = 1 ] && [ "$(json_num "$T/send.json" e2e_mismatches)" = 0 ] ||
	fail "a resume reported as: $(grep -o '"repairs": {[^}]*}' "$T/send.json")"
assert_same "$T/a/doc" "$T/out/doc"
bytes=$(shim_count forward forwarded_bytes)
[ "$bytes" -lt $((size * 8 / 10)) ] ||
	fail "$bytes bytes on the wire for the second run of a $size-byte file: it did not resume"
kill -TERM "$RECV_PID"; wait_recv
assert_no_temp "$T/out"
note "another file of the same name did not take the partial: the run resumed with $bytes bytes for $size"
