# Bad input on the command line and missing peers: the documented exit
# status and one clear line naming the cause.
. "$(dirname "$0")/lib.sh"

expect() {	# expect STATUS PATTERN COMMAND...
	local want=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$T/out.txt" 2>"$T/err.txt" </dev/null || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$T/err.txt")"
	grep -q -- "$pattern" "$T/err.txt" || fail "'$*': message lacks '$pattern': $(cat "$T/err.txt")"
}

mkdir "$T/d"
echo hello >"$T/f"
cp "$T/f" "$T/d/f"
S="$BIN/cft-send"
R="$BIN/cft-recv"

# usage: exit 1
expect 1 "unknown" "$S" --bogus "$T/f" 127.0.0.1:9
expect 1 "missing FILE" "$S" 127.0.0.1:9
expect 1 "missing FILE and HOST:PORT" "$S"
expect 1 "--timeout '0'" "$S" --timeout 0 "$T/f" 127.0.0.1:9
expect 1 "--timeout '86401'" "$S" --timeout 86401 "$T/f" 127.0.0.1:9
expect 1 "--timeout 'soon'" "$S" --timeout soon "$T/f" 127.0.0.1:9
expect 1 "--block-size '4095'" "$S" --block-size 4095 "$T/f" 127.0.0.1:9
expect 1 "--block-size '4194305'" "$S" --block-size 4194305 "$T/f" 127.0.0.1:9
expect 1 "--block-size '6144': not a multiple of 4096" "$S" --block-size 6144 "$T/f" 127.0.0.1:9
expect 1 "port out of range" "$S" "$T/f" 127.0.0.1:65536
expect 1 "IPv6 addresses must be written" "$S" "$T/f" ::1:7411
expect 1 "would both be sent as 'f'" "$S" "$T/f" "$T/d/f" 127.0.0.1:9
expect 1 "contradict" "$S" -q -v "$T/f" 127.0.0.1:9
expect 1 "missing DIR" "$R"
expect 1 "unknown" "$R" --nope "$T/d"
expect 1 "--listen" "$R" --listen '[::1' "$T/d"

# local file errors: exit 3, naming the file
expect 3 "$T/missing: No such file" "$S" "$T/missing" 127.0.0.1:9
expect 3 "not a regular file or a directory" "$S" /dev/null 127.0.0.1:9
expect 3 "$T/nodir: No such file" "$R" "$T/nodir"
expect 3 "not a directory\|Not a directory" "$R" "$T/f"
if [ "$(id -u)" != 0 ]; then
	chmod 000 "$T/f"
	expect 3 "Permission denied" "$S" "$T/f" 127.0.0.1:9
	chmod 644 "$T/f"
fi

# File size limits, with sparse files (no data is read before the peer
# answers): CFT_BLOCKS_MAX blocks of the block size, and CFT_FILE_SIZE_MAX.
if truncate -s $((4096 * 1048576)) "$T/at-blocks" 2>/dev/null &&
	truncate -s $((4096 * 1048576 + 1)) "$T/past-blocks" &&
	truncate -s $((4 * 1024 * 1024 * 1024 * 1024 + 1)) "$T/past-size" 2>/dev/null; then
	expect 1 "too small for a 4294967297-byte file" "$S" --block-size 4K "$T/past-blocks" 127.0.0.1:9
	# exactly 1048576 blocks: accepted, so it fails later, for want of a peer
	expect 4 "nothing listens" "$S" --timeout 5 --block-size 4K "$T/at-blocks" 127.0.0.1:9
	expect 3 "larger than the 4398046511104-byte limit" "$S" "$T/past-size" 127.0.0.1:9
	rm -f "$T/at-blocks" "$T/past-blocks" "$T/past-size"
else
	note "no sparse files here: size limits not probed"
fi

# nobody listening (the host says so: port unreachable): exit 4 at once,
# naming the address and what to check, long before --timeout
start=$(date +%s%N)
expect 4 "127.0.0.1:9: nothing listens there (port unreachable); is cft-recv running" \
	"$S" --timeout 30 "$T/f" 127.0.0.1:9
refused_ms=$((($(date +%s%N) - start) / 1000000))
[ "$refused_ms" -lt 2500 ] || fail "a refused port took $refused_ms ms, expected under 2 s"
# a peer that listens and never answers: exit 4 once --timeout has passed,
# not before, not long after
PORT=$(random_port)
nc -u -l 127.0.0.1 "$PORT" >/dev/null 2>&1 & ncpid=$!
sleep 0.2
start=$(date +%s%N)
expect 4 "no answer from the receiver for 2 s" "$S" --timeout 2 "$T/f" "127.0.0.1:$PORT"
ms=$((($(date +%s%N) - start) / 1000000))
kill "$ncpid" 2>/dev/null; wait "$ncpid" 2>/dev/null
[ "$ms" -ge 1900 ] && [ "$ms" -lt 6000 ] || fail "gave up after $ms ms, expected about 2000"

# --help and --version succeed and say what they are
"$S" --help | grep -q "usage: cft-send" || fail "cft-send --help"
"$R" --help | grep -q "usage: cft-recv" || fail "cft-recv --help"
"$S" --version | grep -q "^cft-send [0-9]" || fail "cft-send --version"
note "usage errors exit 1, file errors exit 3, refused port exit 4 after ${refused_ms} ms, silent peer after ${ms} ms"
