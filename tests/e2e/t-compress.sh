# -z: chunks that compress go compressed (ZDATA), the rest as they are;
# digests stay over the real content; the summary says what was saved.
# Through a lossy link, text crosses in far fewer bytes than it holds.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-21}

mkdir "$T/out"
for i in $(seq 1 60000); do echo "2026-11-26T06:00:00Z host cft-recv[42]: line $i: received a file"; done >"$T/log.txt"
random_file "$T/noise" $((2 * 1024 * 1024)) 6
text=$(stat -c %s "$T/log.txt")
start_recv "$T/out" --once
start_shim --seed "$SEED" --drop 2% --duplicate 1% --reorder 2%
"$BIN/cft-send" -z --json "$T/log.txt" "$T/noise" "127.0.0.1:$SHIM_PORT" >"$T/send.json" \
	2>"$T/send.log" || fail "seed $SEED: cft-send -z exited $?"
stop_shim
wait_recv
assert_same "$T/log.txt" "$T/out/log.txt"
assert_same "$T/noise" "$T/out/noise"
wire=$(shim_count forward forwarded_bytes)
saved=$(json_num "$T/send.json" compression_saved)
[ "$saved" -gt $((text / 2)) ] || fail "compression saved $saved bytes of $text of text"
[ "$wire" -lt $((text / 2 + 3 * 1024 * 1024)) ] ||
	fail "$wire bytes on the wire for $text of text and 2 MiB of noise"
grep -q 'compression saved' "$T/send.log" || fail "the summary does not say what was saved"
note "$(shim_seed): $text bytes of text and 2 MiB of noise in $wire bytes; saved $saved; verified"
