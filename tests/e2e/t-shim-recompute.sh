# The end-to-end argument in one test: damage to DATA with the datagram's
# checks recomputed over it.  A router or a NIC recomputes the CRC: the
# check each DATA carries must catch it, chunk by chunk.  A host that
# damaged the bytes before computing any check leaves every datagram
# looking whole: the block roots must catch it, and the sender's lists of
# chunk leaves find the chunks.  Both ways the file must verify.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-99}

random_file "$T/src" $((4 * 1024 * 1024)) 33
for mode in crc all; do
	rm -rf "$T/out"
	mkdir "$T/out"
	start_recv "$T/out" --once
	start_shim --seed "$SEED" --direction forward --corrupt 1% --recompute-checksum=$mode
	"$BIN/cft-send" --block-size 64K "$T/src" "127.0.0.1:$SHIM_PORT" >/dev/null \
		2>"$T/send.log" || fail "seed $SEED ($mode): cft-send exited $?"
	wait_recv
	stop_shim
	[ "$RECV_RC" = 0 ] || fail "seed $SEED ($mode): cft-recv exited $RECV_RC"
	assert_same "$T/src" "$T/out/src"
	resealed=$(shim_count forward resealed)
	[ "$resealed" -gt 0 ] || fail "seed $SEED ($mode): nothing resealed"
	n=$(recv_count bad_checksum)
	[ "$n" = 0 ] || fail "seed $SEED ($mode): the CRC saw damage it should not have (bad_checksum ${n:-missing})"
	chunks=$(recv_count bad_chunk)
	roots=$(recv_count block_mismatch)
	if [ $mode = crc ]; then
		[ "${chunks:-0}" -gt 0 ] || fail "seed $SEED: no damaged chunk caught by its check (bad_chunk ${chunks:-missing})"
	else
		[ "${roots:-0}" -gt 0 ] || fail "seed $SEED: no block caught by its root (block_mismatch ${roots:-missing})"
	fi
	note "$(shim_seed), $mode resealed: $resealed datagrams damaged; CRC caught 0, DATA checks $chunks, block roots $roots; verified"
done
