# Limits of the receiver's housekeeping and of the shim's options, at and
# just past each one.
. "$(dirname "$0")/lib.sh"

expect_rc() {	# expect_rc STATUS PATTERN COMMAND...: the status, and a message naming the cause
	local want=$1 pattern=$2 rc=0
	shift 2
	"$@" >/dev/null 2>"$T/err.txt" </dev/null || rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$T/err.txt")"
	[ -z "$pattern" ] || grep -q -- "$pattern" "$T/err.txt" ||
		fail "'$*': message lacks '$pattern': $(cat "$T/err.txt")"
}

# --partial-ttl: 1 s to a year (31622400 s).
mkdir "$T/out"
R="$BIN/cft-recv"
expect_rc 1 "--partial-ttl '0'" "$R" --partial-ttl 0 "$T/out"
expect_rc 1 "--partial-ttl '31622401'" "$R" --partial-ttl 31622401 "$T/out"
expect_rc 1 "--partial-ttl 'soon'" "$R" --partial-ttl soon "$T/out"
# --reserve and --partial-quota: 0 to 1P (CFT_RESERVE_MAX).  At the limit
# the option is taken (the run then fails on the missing DIR: exit 3).
for opt in --reserve --partial-quota; do
	expect_rc 3 "no-such-dir" "$R" $opt 1024T "$T/no-such-dir"
	expect_rc 3 "no-such-dir" "$R" $opt 0 "$T/no-such-dir"
	expect_rc 1 "$opt '1125899906842625'" "$R" $opt 1125899906842625 "$T/out"
	expect_rc 1 "$opt '-1'" "$R" $opt -1 "$T/out"
done

# Abandoned partial files older than the TTL go; younger ones stay; user
# files are never touched, however old.
for f in .cft-tmp.00000000000000aa .cft-tmp.00000000000000aa.state old-user-file; do
	echo x >"$T/out/$f"
	touch -d '8 days ago' "$T/out/$f"
done
echo x >"$T/out/.cft-tmp.00000000000000bb"
touch -d '6 days ago' "$T/out/.cft-tmp.00000000000000bb"
start_recv "$T/out" --partial-ttl 31622400	# at the limit: accepted
kill -TERM "$RECV_PID"; wait_recv
[ -e "$T/out/.cft-tmp.00000000000000aa" ] || fail "a year's TTL removed an 8-day-old file"
start_recv "$T/out"				# default: a week
kill -TERM "$RECV_PID"; wait_recv
[ ! -e "$T/out/.cft-tmp.00000000000000aa" ] || fail "an 8-day-old partial file was kept"
[ ! -e "$T/out/.cft-tmp.00000000000000aa.state" ] || fail "an 8-day-old state file was kept"
[ -e "$T/out/.cft-tmp.00000000000000bb" ] || fail "a 6-day-old partial file was removed"
[ -e "$T/out/old-user-file" ] || fail "a user's file was removed"
note "--partial-ttl: week default removes 8-day-old partials, keeps 6-day-old ones and user files"

# cft-shim's option limits.
S="$BIN/cft-shim"
base="--listen 127.0.0.1:$((20000 + RANDOM % 40000)) --forward 127.0.0.1:9 --duration 1 -q"
expect_rc 1 "--listen and --forward are required" "$S" --listen 127.0.0.1:5
expect_rc 1 "--drop '101%'" "$S" $base --drop 101%
expect_rc 1 "--drop '1.01'" "$S" $base --drop 1.01
expect_rc 1 "--drop '-0.1'" "$S" $base --drop -0.1
expect_rc 1 "--burst '1%,2%'" "$S" $base --burst 1%,2%
expect_rc 1 "--direction 'sideways'" "$S" $base --direction sideways
expect_rc 1 "--corrupt-bits '65'" "$S" $base --corrupt-bits 65
expect_rc 1 "--corrupt-bits '0'" "$S" $base --corrupt-bits 0
expect_rc 1 "--reorder-depth '1025'" "$S" $base --reorder-depth 1025
expect_rc 1 "--delay '60001'" "$S" $base --delay 60001
expect_rc 1 "--jitter '60001'" "$S" $base --jitter 60001
expect_rc 1 "--rate '0'" "$S" $base --rate 0
expect_rc 1 "--queue '0'" "$S" $base --rate 1M --queue 0
expect_rc 1 "--queue '60001'" "$S" $base --rate 1M --queue 60001
expect_rc 1 "--max-size '0'" "$S" $base --max-size 0
expect_rc 1 "--max-size '65536'" "$S" $base --max-size 65536
expect_rc 0 "" "$S" $base --drop 100% --corrupt-bits 64 --reorder-depth 1024 --delay 60000 \
	--jitter 60000 --duplicate-later 60000 --burst 1%,2%,3% --rate 1G --queue 60000 \
	--max-size 65535
expect_rc 0 "" "$S" $base --max-size 1
note "cft-shim: probabilities 0..1, --corrupt-bits 1..64, --reorder-depth 1..1024, delays 0..60000 ms, --queue 1..60000 ms, --max-size 1..65535"
