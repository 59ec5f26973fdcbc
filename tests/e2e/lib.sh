# Helpers for the end-to-end tests: the real programs, on loopback only.
# Each test is a script that sources this file, and exits 0 (pass) or not.

set -u
BIN=${CFT_BIN:?CFT_BIN must point at the built bin/ directory}
BUILD=${CFT_BUILD:?CFT_BUILD must point at the build directory}
FAULTLIB=$BUILD/libcft-faultio.so
# The fault library is preloaded into sanitized binaries too; ASan wants to
# come first, and it does not matter here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0:detect_leaks=1}

T=$(mktemp -d /tmp/cft-e2e.XXXXXX)
RECV_PID=
cleanup() {
	[ -n "$RECV_PID" ] && kill "$RECV_PID" 2>/dev/null
	[ -n "${SHIM_PID:-}" ] && kill "$SHIM_PID" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then echo "  (kept $T)"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# fail MESSAGE: say why, show the end of every log and JSON report the test
# kept (the assertions read the JSON), and stop the test.
fail() {
	echo "  FAIL: $*"
	for f in "$T"/*.log "$T"/*.json; do
		[ -f "$f" ] || continue
		echo "  --- $f"; tail -n 15 "$f" | sed 's/^/  | /'
	done
	exit 1
}

note() { echo "  $*"; }

# Random bytes, reproducibly: random_file PATH BYTES SEED
random_file() {
	openssl enc -aes-128-ctr -nosalt -pass "pass:cft-$3" -in /dev/zero 2>/dev/null |
		head -c "$2" >"$1"
}

# start_recv DIR [OPTIONS...]: cft-recv -v --json on a free loopback port, in
# the background; sets PORT and RECV_PID; its stderr goes to $T/recv.log
# (read only to see that it is up, and by people), its JSON reports to
# $T/recv.json (what the tests assert on: see recv_count).
# started LOG PATTERN PID: wait until the background program PID has written
# PATTERN to LOG (it is up); false if it exits first (its port was taken).
started() {
	for _ in $(seq 50); do
		grep -q "$2" "$1" && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	wait "$3" 2>/dev/null
	return 1
}

# A random port for a server of the test's own.
random_port() {
	echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000))
}

start_recv() {
	local dir=$1 try
	shift
	for try in 1 2 3 4 5 6 7 8; do
		PORT=$(random_port)
		"$BIN/cft-recv" -v --json --listen "127.0.0.1:$PORT" "$@" "$dir" \
			>"$T/recv.json" 2>"$T/recv.log" &
		RECV_PID=$!
		started "$T/recv.log" "listening on" "$RECV_PID" && return 0
		RECV_PID=
	done
	fail "could not start cft-recv"
}

# recv_crashes CRASH...: cft-recv --once on $PORT into $T/out, once per
# CRASH (an assignment of the fault library's, CFT_FAULT_KILL_...), each
# run killed there, then once more with none: it must end the transfer
# with exit 0.  The crashes are logged in $T/faults.
recv_crashes() {
	local crash rc
	for crash in "$@" ""; do
		env $crash CFT_FAULT_PATH="$T/out" CFT_FAULT_LOG="$T/faults" LD_PRELOAD="$FAULTLIB" \
			"$BIN/cft-recv" -v --once --listen "127.0.0.1:$PORT" "$T/out" 2>>"$T/recv.log" &
		RECV_PID=$!
		# Bash notes a job's death by SIGKILL on wait's stderr: the crash
		# is the point, and its status is checked just below.
		rc=0; wait "$RECV_PID" 2>/dev/null || rc=$?
		RECV_PID=
		if [ -n "$crash" ]; then
			[ "$rc" = 137 ] || fail "seed $SEED: cft-recv with $crash exited $rc, not killed"
		else
			[ "$rc" = 0 ] || fail "seed $SEED: the last cft-recv exited $rc"
		fi
	done
}
# random_tree DIR N SEED: N files of random bytes, 300 to a few KiB, in
# DIR/a and DIR/b.
random_tree() {
	local i
	mkdir -p "$1/a" "$1/b"
	for i in $(seq 1 "$2"); do
		random_file "$1/$([ $((i % 3)) = 0 ] && echo a || echo b)/f$i" $((300 + i * 211)) \
			"$((i + $3))"
	done
}
# start_recv_damaging NTH DIR [OPTIONS...]: start_recv with the fault
# library flipping one bit of the receiver's NTH write (threat 2/3: after
# the data arrived intact); what it did goes to $T/faults, one line each.
start_recv_damaging() {
	local nth=$1
	shift
	: >"$T/faults"
	CFT_FAULT_WRITE_NTH=$nth CFT_FAULT_LOG="$T/faults" LD_PRELOAD="$FAULTLIB" start_recv "$@"
}
# run_killed LOG COMMAND...: run COMMAND in the foreground with its stderr
# appended to LOG, and return its status; for a program the test means to
# have killed (the fault library's SIGKILL), whose status the caller checks.
# Bash itself prints a "Killed" notice when a job dies of a signal; that
# death is the point here, so the notice goes to /dev/null, while whatever
# the program says stays in LOG for fail to show.
run_killed() {
	local log=$1 rc=0
	shift
	{ "$@" 2>>"$log"; } 2>/dev/null || rc=$?
	return "$rc"
}

# wait_recv: wait for the background receiver; sets RECV_RC.
wait_recv() {
	RECV_RC=0
	wait "$RECV_PID" || RECV_RC=$?
	RECV_PID=
}

# No temporary file may be left in, or appear under a final name in, DIR.
assert_no_temp() {
	if ls -A "$1" | grep -q '^\.cft-tmp\.'; then
		fail "temporary files left in $1: $(ls -A "$1")"
	fi
}

# assert_same SRC DST: byte for byte, and by sha256sum as an independent tool.
assert_same() {
	cmp "$1" "$2" || fail "$2 differs from $1"
	[ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$(sha256sum <"$2" | cut -d' ' -f1)" ] ||
		fail "sha256sum of $2 differs"
}

# json_num FILE KEY: the number under "KEY" in the last JSON object of FILE
# that has it; prints nothing and fails when there is none.  Both programs
# print one object per line, and the keys asked for here (cft-recv's
# counters, cft-send's repairs, "status") occur once in an object.  A quote
# inside a JSON string is escaped, so a file name cannot fake a key.  No jq:
# grep only, as on a bare CI machine.
json_num() {
	local n
	n=$(grep -o "\"$2\": [0-9][0-9]*" "$1" 2>/dev/null | tail -n 1 | grep -o '[0-9]*$')
	[ -n "$n" ] && echo "$n"
}

# recv_count KEY: a counter of the receiver's (cft-recv(1), --json
# "counters"), from $T/recv.json.  Each report carries the receiver's
# totals since it started, so the last one has them all.
recv_count() {
	json_num "$T/recv.json" "$1"
}

# recv_counts KEY...: "KEY N, KEY N" from $T/recv.json, for notes.
recv_counts() {
	local k out=
	for k in "$@"; do out="$out${out:+, }$k $(recv_count "$k")"; done
	echo "$out"
}

# send_repairs FILE: what cft-send repaired, from its --json report FILE,
# for notes: "repaired: 3 datagrams resent, 1 block resent, ...".
send_repairs() {
	local d b m
	d=$(json_num "$1" datagrams_resent)
	b=$(json_num "$1" blocks_resent)
	m=$(json_num "$1" e2e_mismatches)
	echo "repaired: ${d:-?} datagram$([ "$d" = 1 ] || echo s) resent," \
		"${b:-?} block$([ "$b" = 1 ] || echo s) resent," \
		"${m:-?} end-to-end mismatch$([ "$m" = 1 ] || echo es)"
}

# wait_partial DIR: wait until a receiver writing into DIR has taken a
# file's offer (its state file for the partial file appears, before any data
# is asked for); false after 5 s without one.
wait_partial() {
	local f
	for _ in $(seq 100); do
		for f in "$1"/.cft-tmp.*.state; do
			[ -e "$f" ] && return 0
		done
		sleep 0.05
	done
	return 1
}

# start_shim FAULTS...: cft-shim in front of the receiver at $PORT; sets
# SHIM_PORT and SHIM_PID; its report goes to $T/shim.log, its counters to
# $T/shim.json when it stops (stop_shim).
start_shim() {
	local try
	for try in 1 2 3 4 5 6 7 8; do
		SHIM_PORT=$(random_port)
		"$BIN/cft-shim" --listen "127.0.0.1:$SHIM_PORT" --forward "127.0.0.1:$PORT" \
			--stats-json "$T/shim.json" --log "$T/shim-faults.log" "$@" 2>"$T/shim.log" &
		SHIM_PID=$!
		started "$T/shim.log" "relaying" "$SHIM_PID" && return 0
		SHIM_PID=
	done
	fail "could not start cft-shim"
}

stop_shim() {
	kill -INT "$SHIM_PID" 2>/dev/null
	wait "$SHIM_PID" 2>/dev/null
	SHIM_PID=
}

# shim_count DIRECTION KEY: a counter from the shim's JSON report.
shim_count() {
	grep -o "\"$1\": {[^}]*}" "$T/shim.json" | grep -o "\"$2\": [0-9]*" | grep -o '[0-9]*$'
}

# The seed in use, for messages: every fault test prints it on failure.
shim_seed() {
	grep -o 'seed [0-9]*' "$T/shim.log" | head -n 1
}

# flood_beside_send SEED COUNT FLOODSEED [CFT-SEND OPTIONS...]: send $T/src
# through a 20 MB/s shim (so that the two meet) while cft-dgram floods the
# receiver with COUNT openings from 200 other loopback addresses; fails
# unless the copy verifies and no address got back more than 3 times what
# it sent.  Sets FLOOD_SENT and FLOOD_GOT (bytes).
flood_beside_send() {
	local seed=$1 count=$2 fseed=$3 pid out rc=0
	shift 3
	start_shim --seed "$seed" --rate 20M
	"$BIN/cft-send" -q --timeout 20 "$@" "$T/src" "127.0.0.1:$SHIM_PORT" 2>"$T/send.log" &
	pid=$!
	out=$("$BUILD/cft-dgram" "127.0.0.1:$PORT" flood "$count" "$fseed") || fail "cft-dgram flood"
	wait $pid || rc=$?
	stop_shim
	[ "$rc" = 0 ] || fail "cft-send beside the flood exited $rc: $(cat "$T/send.log")"
	assert_same "$T/src" "$T/out/src"
	read -r _ FLOOD_SENT _ FLOOD_GOT <<<"$out"
	[ "$FLOOD_GOT" -le $((3 * FLOOD_SENT)) ] ||
		fail "answers of $FLOOD_GOT bytes to $FLOOD_SENT bytes sent (more than 3x)"
}

# namespaces_or_skip NAME NET WHAT: two network namespaces of the test's own
# joined by veth (tests/netns.sh: NS_A holds NET.1, NS_B NET.2), removed when
# the test ends; where they cannot be made (not root, no ip(8)) the test
# says that WHAT is skipped and ends, passed.
namespaces_or_skip() {
	# shellcheck source=../netns.sh
	. "$(dirname "${BASH_SOURCE[0]}")/../netns.sh"
	NS_A=$1-a$$ NS_B=$1-b$$
	trap 'ip netns del "$NS_A" 2>/dev/null; ip netns del "$NS_B" 2>/dev/null; cleanup' EXIT
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! netns_pair "$NS_A" "$NS_B" "$2"; then
		note "namespaces not available here: $3 skipped"
		exit 0
	fi
}
