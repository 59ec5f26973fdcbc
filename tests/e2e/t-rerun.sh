# Re-running the same job: an identical file is verified, not sent (under 1%
# of its size on the wire); a destination that differs is replaced, keeping
# its old content under the name until the new is verified; --no-clobber
# refuses with exit 2; a source that changes during the transfer gives exit
# 7 and nothing is committed.
. "$(dirname "$0")/lib.sh"

size=$((16 * 1024 * 1024))
mkdir "$T/out"
random_file "$T/src" $size 62
start_recv "$T/out"
"$BIN/cft-send" -q "$T/src" "127.0.0.1:$PORT" || fail "first run exited $?"

start_shim --seed 1
"$BIN/cft-send" --json "$T/src" "127.0.0.1:$SHIM_PORT" >"$T/rerun.json" 2>"$T/send.log" ||
	fail "identical re-run exited $?"
stop_shim
grep -q '"up_to_date": true' "$T/rerun.json" || fail "not reported up to date: $(cat "$T/rerun.json")"
grep -q "already up to date" "$T/send.log" || fail "no up-to-date line: $(cat "$T/send.log")"
bytes=$(shim_count forward forwarded_bytes)
[ "$bytes" -lt $((size / 100)) ] || fail "identical re-run sent $bytes bytes"
note "identical re-run: $bytes bytes on the wire for a $size-byte file"

# A destination that differs: --no-clobber refuses, a plain run replaces it.
printf 'X' | dd of="$T/out/src" bs=1 seek=12345 conv=notrunc 2>/dev/null
cp "$T/out/src" "$T/changed"
rc=0
"$BIN/cft-send" -q --no-clobber "$T/src" "127.0.0.1:$PORT" 2>"$T/send.log" || rc=$?
[ "$rc" = 2 ] || fail "--no-clobber exited $rc, expected 2"
grep -q "destination exists" "$T/send.log" || fail "unclear --no-clobber message: $(cat "$T/send.log")"
cmp -s "$T/out/src" "$T/changed" || fail "--no-clobber touched the destination"
"$BIN/cft-send" -q "$T/src" "127.0.0.1:$PORT" || fail "replacing run exited $?"
assert_same "$T/src" "$T/out/src"
note "a differing destination: --no-clobber exit 2 and untouched; replaced without it"

# The source changes while it is sent (slowed by the shim so that it can).
random_file "$T/moving" $size 63
# So that the state file waited for below can only be this transfer's.
assert_no_temp "$T/out"
start_shim --seed 2 --rate 20M
rc=0
"$BIN/cft-send" -q "$T/moving" "127.0.0.1:$SHIM_PORT" 2>"$T/send.log" & pid=$!
# Change it once the receiver has the offer (it has written the partial
# file's state), so the sender has opened it.
wait_partial "$T/out" || fail "the receiver never took the offer of 'moving'"
printf 'changed' | dd of="$T/moving" bs=1 seek=100 conv=notrunc 2>/dev/null
wait $pid || rc=$?
stop_shim
[ "$rc" = 7 ] || fail "source changed: exit $rc, expected 7: $(cat "$T/send.log")"
grep -q "source changed during transfer" "$T/send.log" || fail "unclear: $(cat "$T/send.log")"
[ ! -e "$T/out/moving" ] || fail "a changed source was committed"
kill -TERM "$RECV_PID"; wait_recv
note "a source changed mid-transfer: exit 7, nothing committed"

# --no-clobber and a destination with the same content but another time:
# refused, and the time left as it is, even when the receiver's report is
# lost and the sender's COMMIT, sent early, comes again after the read-back
# (the receiver decides, not the sender).
random_file "$T/nc" 3000000 64
start_recv "$T/out"
"$BIN/cft-send" -q "$T/nc" "127.0.0.1:$PORT" || fail "first copy of nc: exit $?"
touch -d '2020-01-01' "$T/out/nc"
before=$(stat -c %Y "$T/out/nc")
for seed in 1 2 3 4; do
	start_shim --seed "$seed" --direction reverse --drop 0.4 --delay 20
	rc=0
	"$BIN/cft-send" -q --no-clobber --timeout 10 "$T/nc" "127.0.0.1:$SHIM_PORT" \
		2>"$T/send.log" || rc=$?
	stop_shim
	[ "$rc" = 2 ] || fail "seed $seed: --no-clobber onto another time exited $rc: $(cat "$T/send.log")"
	[ "$(stat -c %Y "$T/out/nc")" = "$before" ] || fail "seed $seed: --no-clobber changed the time"
done
kill -TERM "$RECV_PID"; wait_recv
note "--no-clobber onto the same content with another time: exit 2 and untouched, 4 lossy runs"
