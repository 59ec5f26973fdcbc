# Keys: cft genkey makes them; --key refuses a key file others may read;
# a keyed transfer verifies through damage, duplicates and replays (which
# the seal drops); no key, the wrong key, or a key the receiver lacks all
# end the sender with exit 6 within a few seconds, and nothing is written.
. "$(dirname "$0")/lib.sh"
SEED=${SEED:-4242}

# genkey: base64 of 32 bytes, one line, different every time; to a file,
# mode 0600, never over an existing one.
k1=$("$BIN/cft" genkey) || fail "cft genkey exited $?"
k2=$("$BIN/cft" genkey)
[ "${#k1}" = 44 ] && [ "$(printf %s "$k1" | base64 -d | wc -c)" = 32 ] ||
	fail "cft genkey printed '$k1', not 32 bytes in base64"
[ "$k1" != "$k2" ] || fail "two keys alike"
"$BIN/cft" genkey "$T/key" || fail "cft genkey FILE exited $?"
[ "$(stat -c %a "$T/key")" = 600 ] || fail "key file mode $(stat -c %a "$T/key")"
cp "$T/key" "$T/key.before"
"$BIN/cft" genkey "$T/key" 2>"$T/genkey.log" && fail "cft genkey overwrote a file"
cmp -s "$T/key" "$T/key.before" || fail "cft genkey changed an existing file"
"$BIN/cft" genkey "$T/other"
# Redirected to a file others may read, it warns (--key would refuse it).
(umask 022; "$BIN/cft" genkey >"$T/shared-key" 2>"$T/genkey-warn.log")
grep -q 'open to group or others' "$T/genkey-warn.log" || fail "no warning for a 0644 key file"
(umask 077; "$BIN/cft" genkey >"$T/own-key" 2>"$T/genkey-quiet.log")
[ ! -s "$T/genkey-quiet.log" ] || fail "a warning for a 0600 key file: $(cat "$T/genkey-quiet.log")"

# A key others may read is refused, by both programs, before anything.
mkdir "$T/out"
random_file "$T/src" $((6 * 1024 * 1024)) 7
cp "$T/key" "$T/open"; chmod 0644 "$T/open"
"$BIN/cft-send" --key "$T/open" "$T/src" 127.0.0.1:9 2>"$T/open.log"
rc=$?
[ $rc = 1 ] || fail "cft-send with a 0644 key file exited $rc, not 1"
grep -q 'group or others' "$T/open.log" || fail "no word of the mode: $(cat "$T/open.log")"
"$BIN/cft-recv" --key "$T/open" "$T/out" 2>>"$T/open.log"
[ $? = 1 ] || fail "cft-recv took a 0644 key file"
"$BIN/cft-recv" --key "$T/key" --insecure "$T/out" 2>>"$T/open.log"
[ $? = 1 ] || fail "cft-recv took --key with --insecure"

# With the key, through a damaging link: verified.
start_recv "$T/out" --key "$T/key"
start_shim --seed "$SEED" --drop 5% --corrupt 3% --duplicate 5% --reorder 5% --replay 2% \
	--direction both
"$BIN/cft-send" --key "$T/key" --json "$T/src" "127.0.0.1:$SHIM_PORT" >"$T/send.json" \
	2>"$T/send.log" || fail "seed $SEED: keyed cft-send exited $?"
stop_shim
assert_same "$T/src" "$T/out/src"
for k in unauthentic replayed; do
	[ "$(recv_count $k)" -gt 0 ] || fail "seed $SEED: the receiver counted no $k datagrams"
done
note "$(shim_seed): keyed, through drops, damage, duplicates and replays: verified;" \
	"$(recv_counts unauthentic replayed bad_checksum)"

# The wrong key, no key, and a key the receiver has not: exit 6, soon,
# nothing written.
refused() {	# WHAT SEND-ARGS...
	local what=$1 t0 t1 rc
	shift
	rm -rf "$T/out"/* "$T/out"/.cft-tmp.* 2>/dev/null
	t0=$(date +%s%N)
	"$BIN/cft-send" "$@" "$T/src" "127.0.0.1:$PORT" >/dev/null 2>"$T/refused.log"
	rc=$?
	t1=$(date +%s%N)
	[ $rc = 6 ] || fail "$what: cft-send exited $rc, not 6"
	[ $(( (t1 - t0) / 1000000 )) -lt 6000 ] || fail "$what: exit 6 took $(( (t1 - t0) / 1000000 )) ms"
	[ -z "$(ls -A "$T/out")" ] || fail "$what: the receiver wrote $(ls -A "$T/out")"
	note "$what: exit 6 in $(( (t1 - t0) / 1000000 )) ms, nothing written: $(tail -n 1 "$T/refused.log")"
}
refused "another key" --key "$T/other"
refused "no key"
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null; RECV_PID=
start_recv "$T/out"
refused "a key the receiver lacks" --key "$T/key"

# The keyed receiver restarts mid-transfer: its new sessions' keys are new,
# the sender's old session is unknown there (said with a signature), and the
# sender opens a new one, with a new id, and resumes.
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null; RECV_PID=
rm -rf "$T/out"/*
start_recv "$T/out" --key "$T/key"
start_shim --seed 6 --rate 4M
"$BIN/cft-send" --key "$T/key" --json --timeout 20 "$T/src" "127.0.0.1:$SHIM_PORT" \
	>"$T/send.json" 2>"$T/send.log" & pid=$!
sleep 0.6
kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null
"$BIN/cft-recv" --key "$T/key" --once --listen "127.0.0.1:$PORT" "$T/out" 2>"$T/recv2.log" &
RECV_PID=$!
rc=0
wait $pid || rc=$?
stop_shim
[ "$rc" = 0 ] || fail "keyed cft-send across a receiver restart exited $rc"
assert_same "$T/src" "$T/out/src"
[ "$(json_num "$T/send.json" reconnects)" -ge 1 ] || fail "no reconnect counted"
note "keyed, the receiver restarted mid-transfer: resumed and verified"
wait "$RECV_PID" 2>/dev/null; RECV_PID=

# A keyed receiver under a flood of keyless openings from 200 other
# addresses, during a keyed transfer: each gets a refusal no larger than
# 3 times what it sent, nothing is kept, and the transfer verifies.
rm -rf "$T/out"/*
start_recv "$T/out" --key "$T/key"
flood_beside_send 5 2000 8 --key "$T/key"
ls -A "$T/out" | grep -qv '^src$' && fail "files from the flood: $(ls -A "$T/out")"
note "keyed, beside 2000 keyless openings: verified; $FLOOD_SENT bytes in, $FLOOD_GOT out;" \
	"$(recv_counts bad_key unauthentic)"
