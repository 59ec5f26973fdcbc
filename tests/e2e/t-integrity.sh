# The end-to-end check covers what the user sees: name, size, mode and
# modification time as well as content.  200 small files and two larger
# ones go through cft-shim damaging datagrams in both directions, with the
# CRC recomputed over the damage (a router, a NIC) and then with every
# keyless check recomputed (a host that damaged the bytes before computing
# them).  Every file must arrive under its own name with its own size, mode,
# mtime to the nanosecond and content, as stat(1) and sha256sum(1) see them,
# with nothing else in the directory; both programs exit 0.  Then the repair
# unit: 16 MiB with 5% of its DATA damaged and resealed verifies with at
# most 1.5 times its size on the wire.
. "$(dirname "$0")/lib.sh"

mkdir "$T/src"
modes="600 640 644 664 700 755 444 400"
set -- $modes
for i in $(seq 1 200); do
	f="$T/src/file_$i.dat"
	random_file "$f" $((i * 37 % 5000)) "$i"
	shift $(( (i % 8) )) 2>/dev/null || set -- $modes
	[ $# -gt 0 ] || set -- $modes
	chmod "$1" "$f"
	touch -d "@$((1600000000 + i * 86400)).$(printf %09d $((i * 12345679 % 1000000000)))" "$f"
done
random_file "$T/src/big-one.bin" $((3 * 1024 * 1024 + 17)) 300
random_file "$T/src/big-two.bin" $((2 * 1024 * 1024)) 301
chmod 600 "$T/src/big-one.bin"

# facts DIR: one line per file, "name size mode mtime", sorted.
facts() {
	(cd "$1" && stat -c '%n %s %a %.9Y' -- * | sort)
}
facts "$T/src" >"$T/want"
(cd "$T/src" && sha256sum -- *) >"$T/sums"

# Every mode is to arrive as it is: the operator allows it (t-modes.sh
# tests the receiver's mask and umask).
umask 000
run() {	# run SEED MODE
	rm -rf "$T/out"
	mkdir "$T/out"
	start_recv "$T/out" --once --mode-mask 0777
	start_shim --seed "$1" --corrupt 3% --recompute-checksum="$2"
	"$BIN/cft-send" -q --json "$T"/src/* "127.0.0.1:$SHIM_PORT" >"$T/send.json" \
		2>"$T/send.log" || fail "seed $1 ($2): cft-send exited $?"
	wait_recv
	stop_shim
	[ "$RECV_RC" = 0 ] || fail "seed $1 ($2): cft-recv exited $RECV_RC"
	facts "$T/out" >"$T/have"
	diff "$T/want" "$T/have" >"$T/facts.diff" ||
		fail "seed $1 ($2): names, sizes, modes or mtimes differ: $(head -5 "$T/facts.diff")"
	(cd "$T/out" && sha256sum --quiet -c "$T/sums") >/dev/null 2>&1 ||
		fail "seed $1 ($2): contents differ"
	assert_no_temp "$T/out"
	note "seed $1, $2 resealed: $(shim_count forward resealed)+$(shim_count reverse resealed) damaged both ways; 202 names, sizes, modes, mtimes and contents agree; $(send_repairs "$T/send.json")"
}
run 5 crc
run 8 all

# 16 MiB, default blocks, 5% of forward datagrams damaged and resealed.
random_file "$T/big" $((16 * 1024 * 1024)) 302
size=$((16 * 1024 * 1024))
for mode in crc all; do
	rm -rf "$T/out"
	mkdir "$T/out"
	start_recv "$T/out" --once
	start_shim --seed 16 --direction forward --corrupt 5% --recompute-checksum=$mode
	"$BIN/cft-send" -q "$T/big" "127.0.0.1:$SHIM_PORT" >/dev/null 2>"$T/send.log" ||
		fail "16 MiB ($mode): cft-send exited $?"
	wait_recv
	stop_shim
	assert_same "$T/big" "$T/out/big"
	bytes=$(shim_count forward seen_bytes)
	[ "$bytes" -le $((size * 3 / 2)) ] ||
		fail "16 MiB ($mode): $bytes bytes on the wire, over 1.5 times the file"
	note "16 MiB, 5% damaged, $mode resealed: $(awk "BEGIN { printf \"%.2f\", $bytes / $size }")x on the wire"
done
