# Sparse files stay sparse: a 1 GiB file holding 2 MiB of data moves as
# about 2 MiB (holes found with SEEK_DATA go as HOLE datagrams), arrives
# taking about 2 MiB of disk, and is verified over its whole content.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
truncate -s 1G "$T/sparse"
random_file "$T/data" $((1024 * 1024)) 8
dd if="$T/data" of="$T/sparse" bs=1M seek=100 conv=notrunc status=none
dd if="$T/data" of="$T/sparse" bs=1M seek=900 conv=notrunc status=none
kib=$(du -k "$T/sparse" | cut -f1)
[ "$kib" -le 4096 ] || { note "this file system keeps no holes ($kib KiB): skipped"; exit 0; }

start_recv "$T/out" --once
start_shim --seed 3 --drop 2% --duplicate 1%
"$BIN/cft-send" --json "$T/sparse" "127.0.0.1:$SHIM_PORT" >"$T/send.json" 2>"$T/send.log" ||
	fail "cft-send of a sparse file exited $?"
stop_shim
wait_recv
cmp -s "$T/sparse" "$T/out/sparse" || fail "the copy differs"
got=$(du -k "$T/out/sparse" | cut -f1)
[ "$got" -le 4096 ] || fail "the copy takes $got KiB of disk, not about 2 MiB"
wire=$(shim_count forward forwarded_bytes)
[ "$wire" -le $((4 * 1024 * 1024)) ] || fail "$wire bytes crossed the shim for 2 MiB of data"
holes=$(json_num "$T/send.json" hole_bytes)
[ "$holes" -ge $((1022 * 1024 * 1024)) ] || fail "only $holes bytes of holes"
note "1 GiB with 2 MiB of data: $wire bytes on the wire forward, copy takes $got KiB; verified"
