# --json on both programs: one object each, with the digests sha256sum
# computes, the exit status, and the repair counters, for scripts.
. "$(dirname "$0")/lib.sh"

mkdir "$T/out"
random_file "$T/src" 2000000 50
PORT=$(random_port)
"$BIN/cft-recv" -q --json --once --listen "127.0.0.1:$PORT" "$T/out" >"$T/recv.json" 2>"$T/recv.log" &
RECV_PID=$!
sleep 0.3
"$BIN/cft-send" -q --json "$T/src" "127.0.0.1:$PORT" >"$T/send.json" 2>"$T/send.log" ||
	fail "cft-send exited $?"
wait_recv
sum=$(sha256sum <"$T/src" | cut -d' ' -f1)
[ "$(wc -l <"$T/send.json")" = 1 ] || fail "cft-send printed more than one line: $(cat "$T/send.json")"
for want in '"program": "cft-send"' '"status": 0' '"error": null' "\"sha256\": \"$sum\"" \
	'"committed": true' '"bytes": 2000000' '"datagrams_resent": ' '"e2e_mismatches": 0'; do
	grep -qF "$want" "$T/send.json" || fail "cft-send --json lacks $want: $(cat "$T/send.json")"
done
for want in '"program": "cft-recv"' '"status": 0' "\"sha256\": \"$sum\"" '"name": "src"' \
	'"bad_checksum": 0'; do
	grep -qF "$want" "$T/recv.json" || fail "cft-recv --json lacks $want: $(cat "$T/recv.json")"
done
# A failure still gives one object, with the status and the error.
rc=0
"$BIN/cft-send" --json --timeout 5 "$T/src" 127.0.0.1:9 >"$T/fail.json" 2>"$T/fail.log" || rc=$?
[ "$rc" = 4 ] || fail "expected exit 4, got $rc"
grep -q '"status": 4, "error": "127.0.0.1:9: nothing listens there' "$T/fail.json" ||
	fail "failure JSON: $(cat "$T/fail.json")"
rc=0
"$BIN/cft-send" --json "$T/missing" 127.0.0.1:9 >"$T/fail.json" 2>"$T/fail.log" || rc=$?
[ "$rc" = 3 ] && grep -q '"status": 3' "$T/fail.json" || fail "missing file JSON: $(cat "$T/fail.json")"
note "sender and receiver JSON carry status, sha256 $sum, repairs"

# A receiver stopped mid-transfer reports the session it cut short, and
# keeps the partial file for a resume.
random_file "$T/slow" 4000000 51
PORT=$(random_port)
"$BIN/cft-recv" -q --json --listen "127.0.0.1:$PORT" "$T/out" >"$T/stop.json" 2>"$T/recv-stop.log" &
RECV_PID=$!
sleep 0.3
start_shim --seed 3 --rate 2M
"$BIN/cft-send" -q --timeout 2 "$T/slow" "127.0.0.1:$SHIM_PORT" 2>"$T/send-slow.log" & spid=$!
wait_partial "$T/out"
sleep 0.3
kill -TERM "$RECV_PID"; wait_recv
wait $spid 2>/dev/null
stop_shim
grep -q '"status": 4, "error": "receiver stopped"' "$T/stop.json" || fail "no report of the cut session: $(cat "$T/stop.json")"
ls -A "$T/out" | grep -q '^\.cft-tmp\..*\.state$' || fail "the partial file was not kept: $(ls -A "$T/out")"
note "a receiver stopped mid-transfer reports the session (status 4) and keeps the partial file"

# JSON whatever happens: a command line refused, a file missing, with the
# real cause and the name, one valid object each.
rc=0
"$BIN/cft-send" --json --no-such-option "$T/src" "127.0.0.1:1" >"$T/usage.json" 2>/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q '^{"program": "cft-send", "status": 1, "error": "option .--no-such-option.: unknown' \
	"$T/usage.json" || fail "usage error JSON (exit $rc): $(cat "$T/usage.json")"
rc=0
"$BIN/cft-send" --json "$T/absent" "127.0.0.1:1" >"$T/absent.json" 2>/dev/null || rc=$?
[ "$rc" = 3 ] && grep -q '"error": "[^"]*absent: No such file or directory"' "$T/absent.json" &&
	grep -q '"name": "absent"' "$T/absent.json" || fail "missing file JSON: $(cat "$T/absent.json")"
[ "$(wc -l <"$T/usage.json")" = 1 ] && [ "$(wc -l <"$T/absent.json")" = 1 ] || fail "not one object each"
note "--json on a refused command line and a missing file: one object each, with the cause"
