# Results are confined to DIR, and nothing can hang either end: a FIFO given
# to cft-send is refused at once (opening it must not wait for a writer); on
# the receiver, a destination that is a hard link (its other name may be
# outside DIR) is never checked or changed in place, but replaced by a new
# file, so the other name keeps its content and its mode.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
mkfifo "$T/fifo"
start_recv "$T/out"
rc=0
timeout -s KILL 10 "$BIN/cft-send" -q "$T/fifo" "127.0.0.1:$PORT" 2>"$T/send.log" || rc=$?
[ "$rc" = 3 ] || fail "a FIFO: cft-send exited $rc, expected 3 (137: it hung)"
grep -q "not a regular file" "$T/send.log" || fail "unclear: $(cat "$T/send.log")"

# The same content as the source, linked from outside DIR, mode 0600.
random_file "$T/src" 300000 12
chmod 644 "$T/src"
cp "$T/src" "$T/outside"
chmod 600 "$T/outside"
ln "$T/outside" "$T/out/src"
"$BIN/cft-send" -q "$T/src" "127.0.0.1:$PORT" 2>"$T/send.log" || fail "cft-send exited $?"
assert_same "$T/src" "$T/out/src"
[ "$(stat -c %a "$T/outside")" = 600 ] || fail "the outside name got mode $(stat -c %a "$T/outside")"
[ "$(stat -c %i "$T/outside")" != "$(stat -c %i "$T/out/src")" ] ||
	fail "the destination is still the outside file's inode"
[ "$(stat -c %h "$T/outside")" = 1 ] || fail "the outside file still has $(stat -c %h "$T/outside") links"
kill -TERM "$RECV_PID"; wait_recv
assert_no_temp "$T/out"
note "a FIFO refused at once (exit 3); a hard-linked destination replaced, its other name untouched"
