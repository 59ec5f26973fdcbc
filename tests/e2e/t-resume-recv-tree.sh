# Threat 5 in a tree: cft-recv dies (SIGKILL) in the middle of many small
# files, at a write, at a read-back read and around a commit's rename, and
# is started again each time.  The sender, never restarted, opens a new
# session each time, starting at the file it is at (the ones before are
# committed); it must end with exit 0 and every file must be the source's.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-23}

src=$T/tree
mkdir "$T/out"
random_tree "$src" 40 "$SEED"
start_recv "$T/out"
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null; RECV_PID=	# just to learn a free PORT
"$BIN/cft-send" -v --json --timeout 20 "$src" "127.0.0.1:$PORT" >"$T/send.json" \
	2>"$T/send.log" &
SEND_PID=$!
# Crash points, past file 0: the Nth write, the Nth read, the first rename.
recv_crashes "CFT_FAULT_KILL_WRITE_NTH=$((8 + SEED % 5))" \
	"CFT_FAULT_KILL_READ_NTH=$((6 + SEED % 7))" "CFT_FAULT_KILL_RENAME=after"
rc=0; wait "$SEND_PID" || rc=$?
[ "$rc" = 0 ] || fail "seed $SEED: cft-send exited $rc"
diff -r "$src" "$T/out/tree" >"$T/diff" 2>&1 || fail "the tree differs: $(head -3 "$T/diff")"
for f in "$src"/a/* "$src"/b/*; do
	assert_same "$f" "$T/out/tree/${f#"$src"/}"
done
assert_no_temp "$T/out"
[ "$(grep -c SIGKILL "$T/faults")" = 3 ] || fail "seed $SEED: expected 3 crashes: $(cat "$T/faults")"
kills=$(grep SIGKILL "$T/faults" | awk '{ print $1, $2 }' | paste -sd, -)
note "seed $SEED: 40 files, the receiver killed 3 times mid-tree ($kills);" \
	"$(json_num "$T/send.json" reconnects) reconnects; all verified"
