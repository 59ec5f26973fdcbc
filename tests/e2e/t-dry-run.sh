# -n/--dry-run: the receiver is asked what it holds, as a re-run would check
# it (read back from its disk), and cft-send prints, per file, up to date /
# would send / differs; nothing is written on the receiver (no file, no
# partial, no directory), and a dry run does not end a --once receiver.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/out" "$T/src/tree/sub"
random_file "$T/src/same" 300000 1
random_file "$T/src/changed" 200000 2
random_file "$T/src/new" 5000 3
random_file "$T/src/tree/sub/deep" 7000 4
cp -p "$T/src/same" "$T/out/same"
random_file "$T/out/changed" 200000 9		# the same size, other bytes
snapshot() { (cd "$T/out" && find . -printf '%P %y %m %s %T@\n' | LC_ALL=C sort && cat ./* 2>/dev/null | sha256sum); }
snapshot >"$T/before"

start_recv "$T/out" --once
"$BIN/cft-send" -n "$T/src/same" "$T/src/changed" "$T/src/new" "$T/src/tree" \
	"127.0.0.1:$PORT" >"$T/dry.out" 2>"$T/dry.log" || fail "cft-send -n exited $?"
grep -qx 'up to date  same' "$T/dry.out" || fail "same: $(cat "$T/dry.out")"
grep -qx 'differs     changed' "$T/dry.out" || fail "changed: $(cat "$T/dry.out")"
grep -qx 'would send  new' "$T/dry.out" || fail "new: $(cat "$T/dry.out")"
grep -qx 'would send  tree/sub/deep' "$T/dry.out" || fail "tree: $(cat "$T/dry.out")"
grep -qx 'would send  tree/' "$T/dry.out" || fail "tree/: $(cat "$T/dry.out")"
grep -q 'nothing was written' "$T/dry.log" || fail "no summary: $(cat "$T/dry.log")"
snapshot >"$T/after"
cmp -s "$T/before" "$T/after" || fail "the dry run changed the receiver's directory: $(diff "$T/before" "$T/after")"
kill -0 "$RECV_PID" 2>/dev/null || fail "a dry run ended cft-recv --once"

# --json says the same per file.
"$BIN/cft-send" --dry-run --json "$T/src/same" "$T/src/new" "127.0.0.1:$PORT" >"$T/dry.json" \
	2>>"$T/dry.log" ||
	fail "cft-send --dry-run --json exited $?"
grep -q '"name": "same", .*"dry_run": "up to date"' "$T/dry.json" || fail "JSON: $(cat "$T/dry.json")"
grep -q '"name": "new", .*"dry_run": "would send"' "$T/dry.json" || fail "JSON: $(cat "$T/dry.json")"

# The real run then does what the dry run said, and ends --once.
"$BIN/cft-send" -q "$T/src/same" "$T/src/changed" "$T/src/new" "$T/src/tree" \
	"127.0.0.1:$PORT" || fail "the real run exited $?"
wait_recv
[ "$RECV_RC" = 0 ] || fail "cft-recv --once exited $RECV_RC after the real run"
for f in same changed new tree/sub/deep; do
	cmp -s "$T/src/$f" "$T/out/$f" || fail "$f differs after the real run"
done
note "$(head -n 1 "$T/dry.log" | sed 's/^cft-send: //'); the real run then verified"
