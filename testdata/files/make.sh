#!/bin/bash
# This is how the known-answer files here were made; run it to make them
# again (the output is the same every time).  Each kat-SIZE is SIZE bytes
# of AES-128-CTR keystream under a key derived from "cft-kat-SIZE": data
# with no pattern, that anyone with openssl can regenerate.  Its digests in
# kat-SIZE.sums come from sha256sum over dd slices, independent of cft, so
# they can judge cft's digest code.  Only bash, openssl, dd and sha256sum.
set -euo pipefail
cd "$(dirname "$0")"

bs=4096
# Empty, one byte, a block less one, one block, a block and one byte, and
# three blocks and a short fourth.
sizes="0 1 4095 4096 4097 $((3 * bs + 100))"

# The hex digest of standard input.
sha256() {
	local line
	line=$(sha256sum)
	printf '%s\n' "${line%% *}"
}

for size in $sizes; do
	name=kat-$size
	# -iter and -md are spelled out so a change of openssl's defaults
	# cannot change the data.
	dd if=/dev/zero bs=$bs count="$size" iflag=count_bytes status=none |
		openssl enc -aes-128-ctr -nosalt -pbkdf2 -iter 10000 -md sha256 \
			-pass "pass:cft-kat-$size" >"$name"
	{
		printf 'block_size %d\n' "$bs"
		printf 'size %d\n' "$size"
		printf 'sha256 %s\n' "$(sha256 <"$name")"
		# One line per block, the last possibly short; none when empty.
		for ((i = 0; i * bs < size; i++)); do
			printf 'block %d %s\n' "$i" \
				"$(dd if="$name" bs=$bs skip="$i" count=1 status=none | sha256)"
		done
	} >"$name.sums"
done
