# Results are confined: the receiver's mask and umask decide the permission
# bits a file gets, not the sender.  A file never arrives group- or
# world-writable unless the operator's --mode-mask allows it, the umask is
# honoured (fchmod alone would ignore it), and the sender, told by the
# receiver's report, agrees to the fewer bits and still verifies end to end.
. "$(dirname "$0")/lib.sh"

mode_of() { stat -c %a "$1"; }

mkdir "$T/out"
for m in 666 777 640 600; do
	random_file "$T/m$m" 100000 $m
	chmod "$m" "$T/m$m"
done

# send NAME EXPECTED: send $T/NAME, which must arrive with mode EXPECTED.
send() {
	"$BIN/cft-send" -q "$T/$1" "127.0.0.1:$PORT" 2>"$T/send.log" ||
		fail "$1: cft-send exited $?: $(cat "$T/send.log")"
	assert_same "$T/$1" "$T/out/$1"
	[ "$(mode_of "$T/out/$1")" = "$2" ] ||
		fail "$1 (mode $(mode_of "$T/$1")) arrived $(mode_of "$T/out/$1"), not $2"
}

umask 022
start_recv "$T/out"
send m666 644
send m777 755
send m640 640
# An existing file of mode 0600 replaced by a 0666 source: 0644, not 0666.
printf 'old' >"$T/out/m600"
chmod 600 "$T/out/m600"
cp "$T/m666" "$T/m600"
chmod 666 "$T/m600"
send m600 644
# Re-runs onto an identical destination whose mode or time differ: verified
# in place, given the offered mode (masked) and time, nothing sent again.
chmod 600 "$T/out/m640"
send m640 640
chmod 644 "$T/out/m666"
touch -d '2001-01-01' "$T/out/m666"
send m666 644
[ "$(stat -c %Y "$T/out/m666")" = "$(stat -c %Y "$T/m666")" ] || fail "m666: time not given"
kill -TERM "$RECV_PID"; wait_recv
note "umask 022, default mask 0755: 0666 -> 0644, 0777 -> 0755, 0640 kept; re-runs onto other modes and times verify"


rm -f "$T/out"/m*
umask 077
start_recv "$T/out"
send m666 600
send m777 700
kill -TERM "$RECV_PID"; wait_recv
note "umask 077: 0666 -> 0600, 0777 -> 0700"

rm -f "$T/out"/m*
umask 000
start_recv "$T/out" --mode-mask 0777
send m666 666
kill -TERM "$RECV_PID"; wait_recv
umask 022
note "--mode-mask 0777 with umask 000: 0666 kept"

# The option's own limits.
rc=0
"$BIN/cft-recv" --mode-mask 01777 "$T/out" 2>"$T/recv.err" || rc=$?
[ "$rc" = 1 ] && grep -q "mode-mask" "$T/recv.err" ||
	fail "--mode-mask 01777: exit $rc, $(cat "$T/recv.err")"
assert_no_temp "$T/out"
