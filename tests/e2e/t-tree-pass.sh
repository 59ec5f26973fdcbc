# Many small files: each new file's fsync, read-back and commit run while
# the next file is offered and sent (cft-protocol(7), "Passing a file
# behind").  Through a lossy, duplicating, reordering link, every file must
# arrive whole, committed in order; and a bit flipped in one pwrite() on the
# receiver (threat 2/3: seen only by the read-back from disk), whether its
# file was behind the next or not, costs one end-to-end round and no file.
# How many files were passed depends on the disk (tmpfs syncs at once); the
# unit tests (test_pass.c) show the rules with a slow disk, deterministically.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-41}

src=$T/many
mkdir "$T/out"
random_tree "$src" 60 0

same_tree() {
	diff -r "$src" "$1/many" >"$T/diff" 2>&1 || fail "the copy differs: $(head -5 "$T/diff")"
	for f in "$src"/a/* "$src"/b/*; do
		assert_same "$f" "$1/many/${f#"$src"/}"
	done
	assert_no_temp "$1"
	assert_no_temp "$1/many/a"
	assert_no_temp "$1/many/b"
}

start_recv "$T/out"
start_shim --seed "$SEED" --drop 5% --duplicate 3% --reorder 5% --direction both
"$BIN/cft-send" -v --json "$src" "127.0.0.1:$SHIM_PORT" >"$T/send.json" \
	2>"$T/send.log" || fail "seed $SEED: cft-send exited $?"
stop_shim
same_tree "$T/out"
passed=$(grep -o '[0-9]* files passed behind the next' "$T/send.log" | cut -d' ' -f1)
[ -n "$passed" ] || fail "cft-send -v did not say how many files were passed behind"
note "$(shim_seed): 60 files in 3 directories arrived whole; $passed passed behind the next" \
	"(receiver: $(recv_counts passed))"

# One write damaged on the receiver, in the 20th file's data.
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null; RECV_PID=
mkdir "$T/out2"
start_recv_damaging 20 "$T/out2" --once
"$BIN/cft-send" --json "$src" "127.0.0.1:$PORT" >"$T/send2.json" 2>"$T/send2.log" ||
	fail "cft-send with a damaged write exited $?"
wait_recv
[ "$RECV_RC" = 0 ] || fail "cft-recv exited $RECV_RC"
[ "$(wc -l <"$T/faults")" = 1 ] || fail "expected one injected fault, log: $(cat "$T/faults")"
[ "$(json_num "$T/send2.json" e2e_mismatches)" = 1 ] ||
	fail "the damage did not cost exactly one round (e2e_mismatches" \
		"$(json_num "$T/send2.json" e2e_mismatches))"
[ "$(recv_count readback_mismatch)" -ge 1 ] || fail "the read-back did not see the damage"
same_tree "$T/out2"
note "one write damaged ($(cat "$T/faults")): caught at read-back, sent again, all 60 verified" \
	"($(recv_counts passed readback_mismatch))"
