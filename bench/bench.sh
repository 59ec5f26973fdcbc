#!/usr/bin/env bash
# make bench: cft next to the usual ways of moving one file, in one
# invocation, on this machine, over loopback, with the same random file.
#
#   BENCH_SIZE  bytes of random data to move (default 1073741824, 1 GiB)
#   BENCH_RUNS  rounds; each round runs every tool once (default 3)
#   BENCH_FILES small files for the second part (default 2000; 0: none)
#   TMPDIR      where the files go (default /tmp): needs 2 x BENCH_SIZE free,
#               on a real disk (on tmpfs "read back from disk" means nothing)
#
# The tools:
#   rsync                   rsync --whole-file to a local rsync daemon: fast,
#                           but nothing is checked once the data is on disk
#   rsync --fsync + rehash  rsync --fsync, then sync, drop the page cache and
#                           sha256sum the source and the copy from disk
#   nc + openssl by hand    openssl dgst of the source, nc -N to nc -l, sync,
#                           drop the page cache, openssl dgst of the copy and
#                           of the source again (both ends re-hash from disk)
#   cft                     cft-recv --once and cft-send, which returns once
#                           the receiver has read the copy back from its disk
#                           and both ends' digests agree
#   disk alone              not a transfer: build/cft-disk (tests/tools/
#                           disk.c) doing cft's reads and writes, directly
#                           (O_DIRECT) from buffers laid out as cft's are:
#                           the source read twice at once, as the datagrams'
#                           read and the independent one; the copy written
#                           and made durable, then read back.  What the
#                           device needs for the work cft's guarantees ask
#                           of it, on a loopback where both ends share one
#                           disk.  (dd does the same more slowly: its 1 MiB
#                           buffers are in 4 KiB pages, which a virtual disk
#                           takes as 256 pieces; see include/cft/dio.h.)
# The two "re-hash from disk" steps run at the same time, as they would on two
# hosts, and their digests must be the source's.  The page cache is dropped
# before each tool's run, so every tool starts by reading the source from
# disk.  After each run, sha256sum checks the copy against the source; the
# benchmark stops loudly if any differs.
#
# Figures, for each tool the median over the rounds:
#   wall s   from the start of the first process of the transfer to the end
#            of the last (servers are started, and seen listening, before)
#   MB/s     BENCH_SIZE / wall, in 10^6 bytes per second
#   CPU s    user + system time of all the tool's processes
#   RSS MiB  peak resident set size of the tool's largest process
# The machine may be shared and noisy: the tools take turns within each round
# (starting with a different one each round) so that a drift in its speed
# hits them all alike, and cft's ratios are taken within each round before
# their median is taken.
#
# Then many small files (BENCH_FILES of 1 to 16 KiB in 20 directories):
# rsync -r to the daemon, rsync -r --fsync (the same durability as cft: each
# file on disk before it counts), and cft sending the directory as a tree;
# wall time, files per second, and cft's ratios, median of the rounds.
#
# Needs root (for dropping the page cache; without it, a note says the reads
# may come from memory) and what `make deps` installs: rsync, netcat-openbsd,
# time, openssl, iproute2 (ss).  No network beyond 127.0.0.1.
set -eu
export LC_ALL=C	# a "." in $EPOCHREALTIME and in every number printed
cd "$(dirname "$0")/.."

size=${BENCH_SIZE:-1073741824}
runs=${BENCH_RUNS:-3}
files=${BENCH_FILES:-2000}
TIME=/usr/bin/time

# die MESSAGE [FILE]: stop loudly, after what FILE holds (what a failed
# program said); on lines of their own when a round's line is open.
midline=no
die() {
	[ $midline = no ] || echo
	[ -z "${2:-}" ] || sed 's/^/  | /' "$2" >&2
	echo "bench: $1" >&2
	exit 1
}

case $size in '' | *[!0-9]* | 0) die "BENCH_SIZE must be a positive number of bytes" ;; esac
case $runs in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive number" ;; esac
case $files in '' | *[!0-9]*) die "BENCH_FILES must be a number" ;; esac
for c in rsync nc openssl sha256sum ss setsid; do
	command -v "$c" >/dev/null || die "$c not found (make deps installs it)"
done
[ -x "$TIME" ] || die "$TIME not found (make deps installs package time)"
# Only OpenBSD netcat has -N (close the connection at the end of the input).
nc -h 2>&1 | grep -q -- '-N' || die "nc has no -N: install netcat-openbsd"
if ! [ -x bin/cft-send ] || ! [ -x bin/cft-recv ] || ! [ -x build/cft-disk ]; then
	die "bin/cft-send, bin/cft-recv or build/cft-disk missing: run make bench"
fi

d=$(mktemp -d "${TMPDIR:-/tmp}/cft-bench.XXXXXX")

# --- processes and cleanup
# Every process of the benchmark runs under /usr/bin/time in a session of its
# own (setsid), so that cleanup can stop it and whatever it forked (the rsync
# daemon's per-connection child) by its process group, and so that a Ctrl-C
# reaches only this script, which then stops them all.  live holds the
# process groups not waited for yet.
declare -A live=()
cleanup() {
	local rc=$? p i
	for p in "${!live[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
	for i in $(seq 20); do	# give them 2 s to go, then insist
		for p in "${!live[@]}"; do group_alive "$p" || unset "live[$p]"; done
		[ ${#live[@]} = 0 ] && break
		sleep 0.1
	done
	for p in "${!live[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$d"
	exit "$rc"
}
# group_alive PGID: true while a process of group PGID is running (a zombie
# writes no more files, so a dying daemon's children do not count).
group_alive() {
	local f s state
	for f in /proc/[0-9]*/stat; do
		{ read -r s <"$f"; } 2>/dev/null || continue
		s=${s##*) }	# "STATE PPID PGRP ...", after "PID (COMMAND) "
		state=${s%% *}
		s=${s#* }
		s=${s#* }	# "PGRP ..."
		[ "${s%% *}" = "$1" ] && [ "$state" != Z ] && return 0
	done
	return 1
}
trap cleanup EXIT
stopped() {
	[ $midline = no ] || echo
	echo "bench: $1, stopping" >&2
	exit "$2"
}
trap 'stopped interrupted 130' INT
trap 'stopped terminated 143' TERM
trap 'stopped "hung up" 129' HUP

# start NAME COMMAND...: run COMMAND in the background under /usr/bin/time,
# whose figures ("wall user sys maxrss-KiB") go to $d/NAME.time; sets pid.
# "<&0" keeps the caller's standard input: without job control bash would
# otherwise give a background command /dev/null (nc -N reads the file there).
# setsid does not fork here (a background job of a script is no group
# leader), so $! is the process group too.
start() {
	local name=$1
	shift
	rm -f "$d/$name.time"
	setsid "$TIME" -f '%e %U %S %M' -o "$d/$name.time" "$@" <&0 &
	pid=$!
	live[$pid]=1
}

# finish PID WHAT [ERRORS]: wait for a process started by start; stop loudly
# if it failed, showing the file ERRORS that holds what it said.
finish() {
	local rc=0
	wait "$1" || rc=$?
	unset "live[$1]"
	[ "$rc" = 0 ] || die "$2 failed (exit status $rc)" "${3:-}"
}

# parent_of PID: set parent to the parent of PID, from /proc (procps, and
# pgrep with it, is not always installed); false once PID is gone.  Sets a
# variable rather than printing so that scanning every process forks nothing.
parent_of() {
	local s
	parent=
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }	# after "PID (COMMAND) "
	s=${s#* }	# after the state letter
	parent=${s%% *}
}

# has_children PID: true while PID has a child process (a zombie included).
has_children() {
	local f
	for f in /proc/[0-9]*; do
		parent_of "${f#/proc/}" && [ "$parent" = "$1" ] && return 0
	done
	return 1
}

# A random port in 20000-60000.
random_port() { echo $((20000 + (RANDOM * 32768 + RANDOM) % 40001)); }

# listening tcp|udp PORT WRAPPER: wait until the program /usr/bin/time runs
# as WRAPPER listens on PORT; false if it exits first (port taken, say).
listening() {
	local i p
	for i in $(seq 200); do
		kill -0 "$3" 2>/dev/null || return 1
		for p in $(ss -Hln -p --"$1" "sport = :$2" | grep -o 'pid=[0-9]*'); do
			parent_of "${p#pid=}" && [ "$parent" = "$3" ] && return 0
		done
		sleep 0.025
	done
	return 1
}

# serve NAME tcp|udp COMMAND...: start a server on a random free loopback
# port (@PORT@ in COMMAND stands for it) and wait until it listens; when it
# cannot (the port was taken meanwhile), try another.  Sets port and server.
# What it says goes to $d/NAME.err, shown if it fails (a failed try on a
# busy port is no news).
serve() {
	local name=$1 proto=$2 _
	shift 2
	for _ in $(seq 10); do
		port=$(random_port)
		[ -z "$(ss -Htuln "sport = :$port")" ] || continue
		start "$name" "${@//@PORT@/$port}" 2>"$d/$name.err"
		server=$pid
		listening "$proto" "$port" "$server" && return 0
		kill -TERM -- "-$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
		unset "live[$server]"
	done
	die "could not start $name on a free port" "$d/$name.err"
}

# --- the page cache
# Dropping it makes the next reads come from disk; it needs root, and a
# container may forbid it even then: say so once and go on without it.
can_drop=yes
drop_cache() {
	sync
	[ $can_drop = yes ] || return 0
	if ! (echo 1 >/proc/sys/vm/drop_caches) 2>/dev/null; then
		can_drop=no
		echo "note: cannot drop the page cache (not root, or not allowed here):"
		echo "      the reads meant to come from disk may come from memory"
	fi
}

# --- the source
fstype=$(stat -f -c %T "$d")
need=$((2 * size + 64 * 1048576))	# the source and one copy at a time
avail=$(df -B1 --output=avail "$d" | tail -n 1)
[ "$avail" -ge "$need" ] || die "$d: $need bytes needed, $avail free (set TMPDIR)"
echo "bench: $size bytes of random data, rounds: $runs, loopback, $(nproc) cores, $d on $fstype"
head -c "$size" /dev/urandom >"$d/src.bin"
src_sum=$(sha256sum <"$d/src.bin" | cut -d' ' -f1)
drop_cache

# check_copy TOOL FILE: the copy must be the source, byte for byte.
check_copy() {
	local sum
	[ -f "$2" ] || die "$1: no copy at $2"
	sum=$(sha256sum <"$2" | cut -d' ' -f1)
	[ "$sum" = "$src_sum" ] || die "$1: THE COPY DIFFERS FROM THE SOURCE ($sum, source $src_sum)"
}

# same_digest TOOL FILE...: the digests the tool's own steps printed (first
# word of each file) must all be the source's.
same_digest() {
	local tool=$1 f sum
	shift
	for f; do
		sum=$(cut -d' ' -f1 "$f")
		[ "$sum" = "$src_sum" ] || die "$tool: digest in $f is $sum, source $src_sum"
	done
}

# fresh_out: an empty receiving directory for the next run.
fresh_out() { rm -rf "$d/out" && mkdir "$d/out"; }

# record TOOL T0 T1 NAME...: one line of results: round, tool, wall seconds,
# CPU seconds over the NAME.time files, largest RSS in MiB.
record() {
	local tool=$1 t0=$2 t1=$3 n files=()
	shift 3
	for n; do files+=("$d/$n.time"); done
	# The last line of a .time file holds the figures (a line before it may
	# say how the command ended).
	tail -q -n 1 "${files[@]}" | awk -v r="$round" -v tool="$tool" -v t0="$t0" -v t1="$t1" '
		{ cpu += $2 + $3; if ($4 > rss) rss = $4 }
		END { printf "%d %s %.3f %.2f %.1f\n", r, tool, t1 - t0, cpu, rss / 1024 }' \
		>>"$d/results"
	printf '  %s %.2f s' "$tool" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

# --- the tools: one run each, results appended to $d/results

# The rsync daemon, its own configuration, one per run (so that its CPU time
# is this run's): sets port, server, and daemon (the rsync process itself).
# It logs to the file serve shows if it cannot start.
start_rsyncd() {
	cat >"$d/rsyncd.conf" <<-CONF
		use chroot = no
		uid = $(id -u)
		gid = $(id -g)
		pid file = $d/rsyncd.pid
		log file = $d/rsyncd.err
		[out]
		path = $d/out
		read only = no
	CONF
	rm -f "$d/rsyncd.pid"
	serve rsyncd tcp rsync --daemon --no-detach --address=127.0.0.1 --port=@PORT@ \
		--config="$d/rsyncd.conf" </dev/null >/dev/null
	daemon=$(cat "$d/rsyncd.pid")
}

# stop_rsyncd: the daemon's work is done; stop it (not its /usr/bin/time, which
# must write the figures, including those of the children it reaped).
stop_rsyncd() {
	kill -TERM "$daemon" 2>/dev/null || true
	wait "$server" 2>/dev/null || true	# killed: its status is no news
	unset "live[$server]"
}

# rsync_copy [OPTION]: the client, to the daemon; returns once the daemon's
# child that received the file is gone too.
rsync_copy() {
	start rsync rsync --whole-file "$@" "$d/src.bin" "rsync://127.0.0.1:$port/out/"
	finish "$pid" "rsync"
	local i
	for i in $(seq 3000); do
		has_children "$daemon" || return 0
		sleep 0.01
	done
	die "the rsync daemon's child still runs 30 s after its client" "$d/rsyncd.err"
}

run_rsync() {
	fresh_out
	drop_cache
	start_rsyncd
	local t0=$EPOCHREALTIME
	rsync_copy
	local t1=$EPOCHREALTIME
	stop_rsyncd
	check_copy "rsync" "$d/out/src.bin"
	record rsync "$t0" "$t1" rsync rsyncd
}

run_rsync_fsync() {
	fresh_out
	drop_cache
	start_rsyncd
	local t0=$EPOCHREALTIME a
	rsync_copy --fsync
	drop_cache	# sync, then drop: the digests read what is on the disk
	start hash-src sha256sum "$d/src.bin" >"$d/hash-src.out"
	a=$pid
	start hash-copy sha256sum "$d/out/src.bin" >"$d/hash-copy.out"
	finish "$a" "sha256sum of the source"
	finish "$pid" "sha256sum of the copy"
	local t1=$EPOCHREALTIME
	stop_rsyncd
	same_digest "rsync --fsync + rehash" "$d/hash-src.out" "$d/hash-copy.out"
	check_copy "rsync --fsync + rehash" "$d/out/src.bin"
	record rsync-fsync "$t0" "$t1" rsync rsyncd hash-src hash-copy
}

run_nc() {
	fresh_out
	drop_cache
	serve nc-recv tcp nc -l 127.0.0.1 @PORT@ </dev/null >"$d/out/src.bin"
	local recv=$server t0=$EPOCHREALTIME a
	# The sender takes its digest first, then sends.
	start nc-dgst openssl dgst -sha256 -r "$d/src.bin" >"$d/nc-dgst.out"
	finish "$pid" "openssl dgst of the source"
	start nc-send nc -N 127.0.0.1 "$port" <"$d/src.bin" >/dev/null
	finish "$pid" "nc (sending)"
	finish "$recv" "nc -l (receiving)" "$d/nc-recv.err"
	# Then each end reads its file back from disk.
	drop_cache
	start nc-dgst-copy openssl dgst -sha256 -r "$d/out/src.bin" >"$d/nc-dgst-copy.out"
	a=$pid
	start nc-dgst-src openssl dgst -sha256 -r "$d/src.bin" >"$d/nc-dgst-src.out"
	finish "$a" "openssl dgst of the copy"
	finish "$pid" "openssl dgst of the source, again"
	local t1=$EPOCHREALTIME
	same_digest "nc + openssl" "$d/nc-dgst.out" "$d/nc-dgst-copy.out" "$d/nc-dgst-src.out"
	check_copy "nc + openssl" "$d/out/src.bin"
	record nc "$t0" "$t1" nc-dgst nc-send nc-recv nc-dgst-copy nc-dgst-src
}

run_disk() {
	fresh_out
	drop_cache
	local t0=$EPOCHREALTIME
	start cft-disk build/cft-disk "$d/src.bin" "$d/out/src.bin"
	finish "$pid" "cft-disk"
	local t1=$EPOCHREALTIME
	check_copy "disk alone" "$d/out/src.bin"
	record disk "$t0" "$t1" cft-disk
}

run_cft() {
	fresh_out
	drop_cache
	serve cft-recv udp bin/cft-recv -q --once --listen 127.0.0.1:@PORT@ "$d/out" \
		</dev/null >/dev/null
	local recv=$server t0=$EPOCHREALTIME
	start cft-send bin/cft-send -q "$d/src.bin" "127.0.0.1:$port" </dev/null >/dev/null
	finish "$pid" "cft-send"
	finish "$recv" "cft-recv" "$d/cft-recv.err"
	local t1=$EPOCHREALTIME
	check_copy "cft" "$d/out/src.bin"
	record cft "$t0" "$t1" cft-send cft-recv
}

# --- the rounds
tools=(rsync rsync-fsync nc cft disk)
: >"$d/results"
for round in $(seq "$runs"); do
	printf 'round %d/%d:' "$round" "$runs"
	midline=yes
	for i in $(seq 0 $((${#tools[@]} - 1))); do
		# Round r starts with the r-th tool (cyclically), so that none is
		# always the first or the last of a round.
		case ${tools[(i + round - 1) % ${#tools[@]}]} in
		rsync) run_rsync ;;
		rsync-fsync) run_rsync_fsync ;;
		nc) run_nc ;;
		cft) run_cft ;;
		disk) run_disk ;;
		esac
	done
	echo
	midline=no
done
[ $can_drop = yes ] || echo "(without dropping the page cache: the figures flatter every tool)"

# --- the table
# median: the median of the numbers on standard input (the mean of the two
# middle ones when there is an even number of them).
median() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# col TOOL wall|MB/s|cpu|rss: that figure of TOOL, one line per round.
col() {
	awk -v t="$1" -v what="$2" -v size="$size" '$2 == t {
		v["wall"] = $3; v["MB/s"] = size / $3 / 1e6; v["cpu"] = $4; v["rss"] = $5
		print v[what] }' "$d/results"
}
# ratio TOOL: cft's wall time over TOOL's, one per round.
ratio() {
	awk -v t="$1" '{ w[$1 " " $2] = $3 }
		END { for (r = 1; ("" r " cft") in w; r++) print w[r " cft"] / w[r " " t] }' "$d/results"
}

echo
echo "median of $runs rounds, $size bytes:"
printf '%-24s %8s %9s %8s %9s\n' "tool" "wall s" "MB/s" "CPU s" "RSS MiB"
for t in rsync rsync-fsync nc cft disk; do
	case $t in
	rsync) label="rsync (daemon)" ;;
	rsync-fsync) label="rsync --fsync + rehash" ;;
	nc) label="nc + openssl by hand" ;;
	cft) label="cft" ;;
	disk) label="disk alone" ;;
	esac
	printf '%-24s %8.2f %9.1f %8.2f %9.1f\n' "$label" \
		"$(col $t wall | median)" "$(col $t MB/s | median)" \
		"$(col $t cpu | median)" "$(col $t rss | median)"
done

echo
echo "cft (wall: median of the per-round ratios; below 1 means cft is faster)"
printf '  wall  cft / rsync                     %6.2f\n' "$(ratio rsync | median)"
printf '  wall  cft / (rsync --fsync + rehash)  %6.2f\n' "$(ratio rsync-fsync | median)"
printf '  wall  cft / disk alone                %6.2f\n' "$(ratio disk | median)"
printf '  wall  cft / (nc + openssl by hand)    %6.2f\n' "$(ratio nc | median)"
printf '  cft total CPU, sender + receiver      %6.2f s\n' "$(col cft cpu | median)"
printf '  cft largest process RSS               %6.1f MiB\n' "$(col cft rss | median)"

# --- many small files
[ "$files" -gt 0 ] || exit 0
rm -f "$d/src.bin"
mkdir "$d/tree"
for i in $(seq "$files"); do
	mkdir -p "$d/tree/d$((i % 20))"
	head -c $((1024 + (i * 7919) % 15360)) /dev/urandom >"$d/tree/d$((i % 20))/f$i"
done
tree_bytes=$(du -sb "$d/tree" | cut -f1)

# check_tree TOOL: the copy must be the tree, every file.
check_tree() {
	diff -r "$d/tree" "$d/out/tree" >"$d/diff" 2>&1 || die "$1: THE COPY OF THE TREE DIFFERS" "$d/diff"
}

run_rsync_tree() {	# [--fsync]
	fresh_out
	drop_cache
	start_rsyncd
	local t0=$EPOCHREALTIME
	start rsync rsync -r --whole-file "$@" "$d/tree" "rsync://127.0.0.1:$port/out/"
	finish "$pid" "rsync -r"
	local t1=$EPOCHREALTIME
	stop_rsyncd
	check_tree rsync
	record "small-rsync${1:-}" "$t0" "$t1" rsync rsyncd
}

run_cft_tree() {
	fresh_out
	drop_cache
	serve cft-recv udp bin/cft-recv -q --once --listen 127.0.0.1:@PORT@ "$d/out" \
		</dev/null >/dev/null
	local recv=$server t0=$EPOCHREALTIME
	start cft-send bin/cft-send -q "$d/tree" "127.0.0.1:$port" </dev/null >/dev/null
	finish "$pid" "cft-send of the tree"
	finish "$recv" "cft-recv" "$d/cft-recv.err"
	local t1=$EPOCHREALTIME
	check_tree cft
	record small-cft "$t0" "$t1" cft-send cft-recv
}

echo
echo "bench: $files small files ($tree_bytes bytes) in 20 directories"
small=(small-rsync small-rsync--fsync small-cft)
for round in $(seq "$runs"); do
	printf 'round %d/%d:' "$round" "$runs"
	midline=yes
	for i in 0 1 2; do
		case ${small[(i + round - 1) % 3]} in
		small-rsync) run_rsync_tree ;;
		small-rsync--fsync) run_rsync_tree --fsync ;;
		small-cft) run_cft_tree ;;
		esac
	done
	echo
	midline=no
done
# ratio_of A B: A's wall time over B's, one per round.
ratio_of() {
	awk -v a="$1" -v b="$2" '{ w[$1 " " $2] = $3 }
		END { for (r = 1; ("" r " " a) in w; r++) print w[r " " a] / w[r " " b] }' "$d/results"
}
echo
echo "median of $runs rounds, $files files:"
printf '%-24s %8s %9s %8s\n' "tool" "wall s" "files/s" "CPU s"
for t in small-rsync small-rsync--fsync small-cft; do
	case $t in
	small-rsync) label="rsync -r (daemon)" ;;
	small-rsync--fsync) label="rsync -r --fsync" ;;
	small-cft) label="cft (a tree)" ;;
	esac
	printf '%-24s %8.2f %9.0f %8.2f\n' "$label" "$(col $t wall | median)" \
		"$(awk -v n="$files" -v w="$(col $t wall | median)" 'BEGIN { print n / w }')" \
		"$(col $t cpu | median)"
done
echo
printf '  wall  cft / rsync -r                  %6.2f\n' "$(ratio_of small-cft small-rsync | median)"
printf '  wall  cft / rsync -r --fsync          %6.2f\n' "$(ratio_of small-cft small-rsync--fsync | median)"
