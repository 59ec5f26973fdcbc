# cft-shim is reproducible: the same seed and the same datagrams give the
# same faults (the same log, line for line); another seed gives others.
. "$(dirname "$0")/lib.sh"

PORT=9	# nothing listens there: the faults, not the service, are under test
run() {	# run SEED OUT
	start_shim --seed "$1" --drop 10% --corrupt 5% --corrupt-bits 3 --truncate 3% \
		--duplicate 5% --reorder 5% --replay 2%
	"$BUILD/cft-dgram" "127.0.0.1:$SHIM_PORT" garbage 2000 5 || fail "cft-dgram"
	sleep 0.5
	stop_shim
	# Drop the client's address (its port differs from run to run).
	cut -d' ' -f1,3- "$T/shim-faults.log" >"$2"
}
run 1 "$T/a"
run 1 "$T/b"
run 2 "$T/c"
[ -s "$T/a" ] || fail "no faults logged"
cmp -s "$T/a" "$T/b" || fail "seed 1 twice gave different faults: $(diff "$T/a" "$T/b" | head -5)"
cmp -s "$T/a" "$T/c" && fail "seeds 1 and 2 gave the same faults"
note "seed 1 twice: $(wc -l <"$T/a") identical fault lines; seed 2 differs"
