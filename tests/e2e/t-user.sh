# Least privilege: started as root, cft-recv --user NAME binds and opens DIR,
# then runs as NAME for good, with no-new-privileges, and still receives.
# Without --user it sets no-new-privileges too.  Needs root; says so and
# skips otherwise.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	rc=0
	"$BIN/cft-recv" --user nobody --listen 127.0.0.1:1 "$T" 2>"$T/err" || rc=$?
	[ "$rc" = 1 ] && grep -q "only root" "$T/err" || fail "--user as non-root: $rc $(cat "$T/err")"
	note "not root: --user refused (exit 1); the rest skipped"
	exit 0
fi
user=nobody
id "$user" >/dev/null 2>&1 || { note "no user $user: skipped"; exit 0; }
mkdir "$T/out"
chown "$user" "$T/out"
chmod 755 "$T"
random_file "$T/src" 500000 5
chmod 644 "$T/src"
start_recv "$T/out" --user "$user"
uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$RECV_PID/status")
[ "$uid" = "$(id -u "$user") $(id -u "$user") $(id -u "$user") $(id -u "$user")" ] ||
	fail "cft-recv --user $user runs with uids $uid"
nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$RECV_PID/status")
[ "$nnp" = 1 ] || fail "no-new-privileges not set ($nnp)"
grep -q "^Groups:\s*$" "/proc/$RECV_PID/status" || fail "supplementary groups kept"
"$BIN/cft-send" -q "$T/src" "127.0.0.1:$PORT" 2>"$T/send.log" || fail "cft-send exited $?"
assert_same "$T/src" "$T/out/src"
[ "$(stat -c %U "$T/out/src")" = "$user" ] || fail "the file belongs to $(stat -c %U "$T/out/src")"
kill -TERM "$RECV_PID"; wait_recv
rc=0
"$BIN/cft-recv" --user no-such-user-here --listen 127.0.0.1:1 "$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "no such user" "$T/err" || fail "an unknown user: $rc $(cat "$T/err")"
note "--user $user: all uids $(id -u "$user"), no groups, NoNewPrivs 1; the file received is $user's"
