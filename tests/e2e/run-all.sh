#!/usr/bin/env bash
# Run every end-to-end test (t-*.sh) and print one closing line that CI reads.
cd "$(dirname "$0")" || exit 1
pass=0 failed=0 names=
for t in t-*.sh; do
	echo "e2e: $t"
	start=$(date +%s)
	if bash "$t"; then
		pass=$((pass + 1))
		echo "e2e: $t ok ($(($(date +%s) - start)) s)"
	else
		failed=$((failed + 1))
		names="$names $t"
		echo "e2e: $t FAILED"
	fi
done
[ $failed -eq 0 ] || echo "failed:$names"
echo "e2e: $pass passed, $failed failed"
[ $failed -eq 0 ]
