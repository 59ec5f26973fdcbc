# Edge sizes and awkward names in one session, checked with cmp and
# sha256sum; the sender's digest lines must satisfy `sha256sum -c` at the
# receiving end.
. "$(dirname "$0")/lib.sh"

mkdir "$T/src" "$T/out"
: >"$T/src/empty"
random_file "$T/src/one-byte" 1 1
random_file "$T/src/one-block" 1048576 2		# exactly the default block
random_file "$T/src/one-block-plus-one" 1048577 3
random_file "$T/src/name with spaces" 5000 4
random_file "$T/src/naïve-café-日本.bin" 7000 5

start_recv "$T/out" --once
(cd "$T/src" && "$BIN/cft-send" --timeout 10 empty one-byte one-block one-block-plus-one \
	"name with spaces" "naïve-café-日本.bin" "127.0.0.1:$PORT") >"$T/sums" 2>"$T/send.log" ||
	fail "cft-send exited $?"
wait_recv
[ "$RECV_RC" = 0 ] || fail "cft-recv exited $RECV_RC"

for f in "$T"/src/*; do
	assert_same "$f" "$T/out/$(basename "$f")"
done
assert_no_temp "$T/out"
[ "$(wc -l <"$T/sums")" = 6 ] || fail "expected 6 digest lines, got: $(cat "$T/sums")"
(cd "$T/out" && sha256sum --quiet -c "$T/sums") || fail "sha256sum -c rejects the sender's digests"
grep -q "6 files, .* verified" "$T/send.log" || fail "no summary line"
note "6 files (0 B to 1 MiB + 1, non-ASCII names) verified by cmp and sha256sum -c"
