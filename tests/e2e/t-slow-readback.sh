# A disk that reads back slower than the network delivers: a large file is
# passed behind a small one while most of its read-back is still to come,
# and the small one's own check waits behind it.  The read-back of the file
# behind is progress: the sender must not give up for "no progress" while
# it goes on (each read on the receiver's side takes 100 ms longer here, and
# the sender's --timeout is shorter than the read-back behind).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/src" "$T/out"
random_file "$T/src/a-large" $((32 * 1024 * 1024)) 5
random_file "$T/src/b-small" 5000 6
random_file "$T/src/c-small" 6000 7

CFT_FAULT_READ_DELAY_MS=100 CFT_FAULT_PATH="$T/out" LD_PRELOAD="$FAULTLIB" start_recv "$T/out"
start=$(date +%s)
"$BIN/cft-send" -v --timeout 2 --json "$T/src" "127.0.0.1:$PORT" >"$T/send.json" \
	2>"$T/send.log" || fail "cft-send exited $? with a slow read-back behind the next file"
for f in a-large b-small c-small; do
	assert_same "$T/src/$f" "$T/out/src/$f"
done
assert_no_temp "$T/out/src"
note "32 MiB read back at 100 ms a read (2 s timeout): verified in $(($(date +%s) - start)) s," \
	"$(grep -o '[0-9]* files passed behind the next' "$T/send.log")"
