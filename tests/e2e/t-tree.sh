# Directory trees: a directory argument arrives as that directory under
# DIR, with every file and subdirectory (empty ones too), modes and
# modification times, through a lossy link; symbolic links and special
# files are named and left out; `sha256sum -c` of cft-send's output checks
# the copies; a re-run sends nothing; a changed file alone is sent again.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-77}

src=$T/photos
mkdir -p "$src/2024/january" "$src/2024/empty" "$src/raw" "$T/out"
random_file "$src/cover.jpg" 300000 1
random_file "$src/2024/january/img 001.jpg" 2000000 2
random_file "$src/2024/january/été.jpg" 70000 3
printf 'notes\n' >"$src/raw/notes.txt"
: >"$src/raw/empty-file"
chmod 0600 "$src/raw/notes.txt"
chmod 0750 "$src/2024"
touch -d '2021-06-01 12:00:00.123456789' "$src/cover.jpg" "$src/raw" "$src/2024/empty"
touch -d '2020-01-01 00:00:01' "$src/2024/january" "$src"
ln -s cover.jpg "$src/link-to-cover"
mkfifo "$src/raw/fifo"
random_file "$T/single" 5000 4

# What a copy must hold: every file and directory, the top one too (not
# links, not FIFOs), with its type, mode, size (files) and modification
# time.
listing() {
	(cd "$1" && find . -mindepth 0 \( -type f -printf '%P f %m %s %T@\n' \) -o \
		\( -type d -printf '%P d %m - %T@\n' \) | LC_ALL=C sort)
}

start_recv "$T/out"
start_shim --seed "$SEED" --drop 3% --duplicate 2% --reorder 3% --direction both
"$BIN/cft-send" --json "$src" "$T/single" "127.0.0.1:$SHIM_PORT" >"$T/send.json" \
	2>"$T/send.log" || fail "seed $SEED: cft-send of a tree exited $?"
stop_shim
listing "$src" >"$T/want"
listing "$T/out/photos" >"$T/got"
diff "$T/want" "$T/got" >"$T/diff" || fail "the copy differs: $(cat "$T/diff")"
cmp -s "$T/single" "$T/out/single" || fail "the single file beside the tree differs"
for f in cover.jpg "2024/january/img 001.jpg" "2024/january/été.jpg" raw/notes.txt; do
	cmp -s "$src/$f" "$T/out/photos/$f" || fail "photos/$f differs"
done
[ ! -e "$T/out/photos/link-to-cover" ] && [ ! -e "$T/out/photos/raw/fifo" ] ||
	fail "a link or a FIFO was sent"
grep -q 'link-to-cover: not sent (a symbolic link' "$T/send.log" || fail "the link not named"
grep -q 'raw/fifo: not sent (a FIFO)' "$T/send.log" || fail "the FIFO not named"
[ "$(json_num "$T/send.json" skipped)" = 2 ] || fail "skipped is not 2 in the JSON"
assert_no_temp "$T/out"
note "$(shim_seed): a tree of $(wc -l <"$T/want") entries arrived whole: types, modes, sizes, times"

# The digests cft-send prints check the copies where they are.
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null; RECV_PID=
start_recv "$T/out"
"$BIN/cft-send" "$src" "127.0.0.1:$PORT" >"$T/sums" 2>"$T/send2.log" ||
	fail "the re-run exited $?"
(cd "$T/out" && sha256sum --quiet -c "$T/sums") || fail "sha256sum -c of the output failed"
grep -q 'photos/2024/january/img 001.jpg' "$T/sums" || fail "no digest line for a file in the tree"
grep -q '4 already up to date' "$T/send2.log" || fail "the re-run sent data: $(tail -n 1 "$T/send2.log")"

# One file changed: it alone is sent; the tree is whole again.
random_file "$src/raw/notes.txt" 40000 9
touch -d '2022-02-02' "$src/raw"
"$BIN/cft-send" "$src" "127.0.0.1:$PORT" >/dev/null 2>"$T/send3.log" ||
	fail "the run after a change exited $?"
listing "$src" >"$T/want"
listing "$T/out/photos" >"$T/got"
diff "$T/want" "$T/got" >"$T/diff" || fail "after a change the copy differs: $(cat "$T/diff")"
note "re-run: nothing sent; one file changed: $(tail -n 1 "$T/send3.log" | sed 's/^cft-send: //')"
