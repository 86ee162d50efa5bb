#!/bin/bash
# tests/run-all.sh [unit|integration|faults|services|ceph|asan|all|cleanup]
#
#   unit         every build/tests/test_* binary (cmocka); each test counted
#                from the "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)"
#                lines; a binary that crashes or exits non-zero without a
#                FAILED count is one failure
#   integration  every tests/integration/t*.sh (sorted), 300 s timeout each
#   faults       every tests/faults/f*.sh, the same way (the long fault suite,
#                `make check-faults`; not part of `all`)
#   services     every tests/services/s*.sh (the primary's services against real
#                PostgreSQL, PowerDNS and the API units' stand-ins; `make
#                check-services`; not part of `all`)
#   ceph         every tests/ceph/c*.sh (against a real single-host Ceph; `make
#                check-ceph`; not part of `all`)
#   asan         unit, then integration, on the sanitizer build (PVCT_BUILD,
#                default build-asan; `make check-asan`): ASAN_OPTIONS and
#                UBSAN_OPTIONS make every report fatal (halt_on_error,
#                abort_on_error) and write it under $LOGDIR/sanitizer/ (log_path)
#                for processes that can open files. Sandboxed workers cannot
#                (and get a scrubbed environment): their reports go to stderr,
#                i.e. the node logs, so every script runs with PVCT_KEEP=1 and its
#                work dir is scanned for sanitizer reports (copied to
#                $LOGDIR/sanitizer/) before it is removed. At the end each report
#                file is one failure. Script timeout 600 s (sanitizers are slow).
#   all          (default) unit, then integration
#   cleanup      only kill leftovers of earlier runs (see below) and exit
#
# Scripts: output goes to build/test-logs/<name>.log and is echoed live with
# a "[<name>] " prefix. Their "PASS: " / "FAIL: " lines are counted; exit 0
# without any PASS line counts as one pass, a non-zero exit without any FAIL
# line (or a timeout) as one failure, exit 77 as skipped.
#
# Leftovers (killed before, between and after scripts): ZooKeeper servers and
# any process whose test work dir (/tmp/pvct.*, PVCT_WORK in the environment
# or in a ZooKeeper command line) belongs to a test shell that is gone;
# pvcnoded/zk-election/vm-manager/net-router/flush processes running a binary
# from this repository's build directories that belong to no live test; pvct-*
# network namespaces and links unless a live test holds their lock.
#
# The last line of output is always "N passed, M failed[, K skipped]"; the
# exit status is 1 if M > 0.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ${1:-} == asan ]]; then
	BUILD=${PVCT_BUILD:-$ROOT/build-asan}
	SCRIPT_TIMEOUT=${PVCT_SCRIPT_TIMEOUT:-600}
else
	BUILD=${PVCT_BUILD:-$ROOT/build}
	SCRIPT_TIMEOUT=${PVCT_SCRIPT_TIMEOUT:-300}
fi
LOGDIR=$BUILD/test-logs
SANDIR=$LOGDIR/sanitizer
# what a sanitizer report looks like in a log
SAN_PATTERN='ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: UndefinedBehaviorSanitizer|runtime error: '
PY=/usr/bin/python3
UNIT_TIMEOUT=${PVCT_UNIT_TIMEOUT:-120}
NETNS_LOCK=/run/lock/pvct-netns.lock

mode=${1:-all}
case $mode in
unit | integration | faults | services | ceph | asan | all | cleanup) ;;
*)
	echo "usage: $0 [unit|integration|faults|services|ceph|asan|all|cleanup]" >&2
	exit 2
	;;
esac

passed=0
failed=0
skipped=0
failed_items=()
child=

kill_leftovers() {
	"$PY" - "$ROOT" "$$" <<'EOF' || true
import os, re, signal, sys, time

root, me = sys.argv[1], int(sys.argv[2])
DAEMONS = {"pvcnoded", "zk-election", "vm-manager", "net-router", "flush", "fence", "api-units", "ceph", "metadata",
           "dns-aggregator"}
WORKDIR = re.compile(r"(/tmp/pvct\.[A-Za-z0-9]+)")

def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None

def starttime(pid):
    s = read("/proc/%s/stat" % pid)
    if s is None:
        return None
    return s[s.rindex(")") + 2:].split()[19]

def ppid(pid):
    s = read("/proc/%s/stat" % pid)
    return int(s[s.rindex(")") + 2:].split()[1]) if s else 0

owner_cache = {}
def owner_alive(workdir):
    if workdir not in owner_cache:
        o = (read(workdir + "/owner") or "").split()
        owner_cache[workdir] = len(o) == 2 and starttime(o[0]) == o[1]
    return owner_cache[workdir]

protect = set()
p = me
while p > 1:
    protect.add(p)
    p = ppid(p)
protect.add(os.getpid())

info = {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    pid = int(d)
    stat = read("/proc/%d/stat" % pid)
    if not stat:
        continue
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    parent = int(stat[stat.rindex(")") + 2:].split()[1])
    cmdline = (read("/proc/%d/cmdline" % pid) or "").replace("\0", " ")
    env = read("/proc/%d/environ" % pid, "rb") or b""
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        exe = ""
    wd = None
    for var in env.split(b"\0"):
        if var.startswith(b"PVCT_WORK="):
            m = WORKDIR.match(var[10:].decode(errors="replace"))
            wd = m.group(1) if m else None
    if wd is None and ("QuorumPeerMain" in cmdline or comm in DAEMONS):
        m = WORKDIR.search(cmdline)  # e.g. zoo.cfg or -c .../pvcnoded.yaml
        wd = m.group(1) if m else None
    info[pid] = (parent, comm, exe, wd)

def work_dir(pid, depth=0):
    # A process's own PVCT_WORK, else its nearest ancestor's (workers get a
    # scrubbed environment from the supervisor).
    while pid in info and depth < 64:
        parent, _, _, wd = info[pid]
        if wd is not None:
            return wd
        pid, depth = parent, depth + 1
    return None

victims = []
for pid, (parent, comm, exe, _) in info.items():
    if pid in protect:
        continue
    wd = work_dir(pid)
    if wd is not None:
        if not owner_alive(wd):
            victims.append((pid, comm, wd))
    elif comm in DAEMONS and exe.startswith(root + "/build"):
        victims.append((pid, comm, exe))

for pid, comm, why in victims:
    try:
        os.kill(pid, signal.SIGKILL)
        print("run-all: killed leftover %d (%s, %s)" % (pid, comm, why), file=sys.stderr)
    except OSError:
        pass
deadline = time.monotonic() + 3
for pid, _, _ in victims:
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        st = read("/proc/%d/stat" % pid)
        if st and st[st.rindex(")") + 2] == "Z":
            break
        time.sleep(0.02)
EOF
	remove_stale_netns
}

remove_stale_netns() {
	local ns link pids
	command -v ip >/dev/null || return 0
	if [[ -z $(ip netns list 2>/dev/null | grep '^pvct-' || true) ]] &&
		[[ -z $(ip -o link show 2>/dev/null | grep ': pvct-' || true) ]]; then
		return 0
	fi
	(
		exec 9>>"$NETNS_LOCK"
		# A live test holds the lock while it owns the namespaces.
		flock -n 9 || exit 0
		while read -r ns _; do
			[[ $ns == pvct-* ]] || continue
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			if [[ -n $pids ]]; then
				# shellcheck disable=SC2086
				kill -KILL $pids 2>/dev/null || true
			fi
			ip netns del "$ns" 2>/dev/null || true
			echo "run-all: removed leftover namespace $ns" >&2
		done < <(ip netns list 2>/dev/null)
		while read -r link; do
			ip link del "$link" 2>/dev/null || true
		done < <(ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: \(pvct-[^:@]*\)[:@].*/\1/p')
	) 2>&1 || true
}

# shellcheck disable=SC2317  # invoked by the trap
on_signal() {
	trap - INT TERM
	if [[ -n $child ]]; then
		pkill -TERM -P "$child" 2>/dev/null || true
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	kill_leftovers
	echo "$passed passed, $((failed + 1)) failed (interrupted)"
	exit 1
}
trap on_signal INT TERM

# run_logged NAME TIMEOUT LOG CMD...: run CMD with its output in LOG, echoed
# live with a prefix; sets rc.
run_logged() {
	local name=$1 tmo=$2 log=$3 tailpid t0 dt
	shift 3
	t0=${EPOCHREALTIME/./}
	: >"$log"
	# In a subshell so that bash's "Segmentation fault"-style notice for a
	# command killed by a signal lands in the log too. The subshell ignores
	# INT/TERM so that on_signal can still find timeout as its child.
	(
		trap '' INT TERM
		timeout -k 10 "$tmo" "$@"
		exit $?
	) </dev/null >"$log" 2>&1 &
	child=$!
	tail -n +1 -s 0.1 -f --pid="$child" "$log" 2>/dev/null | sed -u "s|^|[$name] |" &
	tailpid=$!
	set +e
	wait "$child"
	rc=$?
	set -e
	child=
	wait "$tailpid" 2>/dev/null || true
	dt=$(((${EPOCHREALTIME/./} - t0) / 100000))
	echo "[$name] exit $rc after $((dt / 10)).$((dt % 10)) s"
}

count_lines() {
	local pattern=$1 file=$2 n
	n=$(grep -c -- "$pattern" "$file" 2>/dev/null) || true
	printf '%s\n' "${n:-0}"
}

run_unit() {
	local bin name log p f line
	shopt -s nullglob
	local bins=("$BUILD"/tests/test_*)
	shopt -u nullglob
	for bin in "${bins[@]}"; do
		[[ -f $bin && -x $bin ]] || continue
		name=${bin##*/}
		log=$LOGDIR/$name.log
		CMOCKA_MESSAGE_OUTPUT=stdout run_logged "$name" "$UNIT_TIMEOUT" "$log" "$bin"
		p=0
		f=0
		while IFS= read -r line; do
			if [[ $line =~ ^\[\ \ PASSED\ \ \]\ ([0-9]+)\ test ]]; then
				p=$((p + BASH_REMATCH[1]))
			elif [[ $line =~ ^\[\ \ FAILED\ \ \]\ ([0-9]+)\ test ]]; then
				f=$((f + BASH_REMATCH[1]))
			fi
		done <"$log"
		if ((rc != 0 && f == 0)); then
			f=1
			echo "[$name] FAIL: $name: exit status $rc$( ((rc == 124)) && echo ' (timeout)')"
		elif ((rc == 0 && p == 0 && f == 0)); then
			p=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		if ((f > 0)); then
			failed_items+=("$name($f)")
		fi
	done
	if ((${#bins[@]} == 0)); then
		echo "run-all: no unit test binaries in $BUILD/tests (not built?)"
	fi
}

run_scripts() {
	local dir=$1 prefix=$2 script name log p f
	shopt -s nullglob
	# Glob expansion is sorted (LC_ALL=C below).
	local scripts=("$ROOT/$dir/$prefix"*.sh)
	shopt -u nullglob
	for script in "${scripts[@]}"; do
		name=${script##*/}
		name=${name%.sh}
		log=$LOGDIR/$name.log
		run_logged "$name" "$SCRIPT_TIMEOUT" "$log" bash "$script"
		kill_leftovers
		if [[ $mode == asan ]]; then
			collect_sanitizer_reports "$name" "$log"
		fi
		p=$(count_lines '^PASS: ' "$log")
		f=$(count_lines '^FAIL: ' "$log")
		if ((rc == 77)); then
			skipped=$((skipped + 1))
		elif ((rc == 124 || rc == 137)); then
			echo "[$name] FAIL: $name: timed out after ${SCRIPT_TIMEOUT}s"
			f=$((f + 1))
		elif ((rc != 0 && f == 0)); then
			echo "[$name] FAIL: $name: exit status $rc without a FAIL line"
			f=1
		elif ((rc == 0 && p == 0 && f == 0)); then
			p=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		if ((f > 0)); then
			failed_items+=("$name($f)")
		fi
	done
	if ((${#scripts[@]} == 0)); then
		echo "run-all: no scripts $dir/$prefix*.sh"
	fi
}

# asan mode: scan the work dir a script kept (PVCT_KEEP=1) for sanitizer reports in
# its files (node logs), copy each such file to $SANDIR, then remove the work dir
# unless the script failed (its FAIL lines or exit status keep it for debugging).
collect_sanitizer_reports() {
	local name=$1 log=$2 wd f
	wd=$(sed -n 's/^work dir kept: \(\/tmp\/pvct\.[A-Za-z0-9]*\)$/\1/p' "$log" | tail -n 1)
	[[ -n $wd && -d $wd ]] || return 0
	while IFS= read -r f; do
		cp "$f" "$SANDIR/$name-$(tr '/' '_' <<<"${f#"$wd"/}")"
		echo "[$name] sanitizer report in $f"
	done < <(grep -rlaE -- "$SAN_PATTERN" "$wd" 2>/dev/null || true)
	if ((rc == 0)) && ! grep -q '^FAIL: ' "$log"; then
		rm -rf "$wd"
	fi
}

# asan mode: every file in $SANDIR is one failure.
check_sanitizer_reports() {
	local f n=0
	shopt -s nullglob
	for f in "$SANDIR"/*; do
		n=$((n + 1))
		echo "FAIL: sanitizer report ${f#"$ROOT"/}:"
		grep -m 3 -aE -- "$SAN_PATTERN" "$f" | sed 's/^/    /' || head -n 3 "$f" | sed 's/^/    /'
		failed_items+=("${f##*/}")
	done
	shopt -u nullglob
	if ((n == 0)); then
		echo "PASS: no sanitizer report (checked $SANDIR and the tests' work dirs)"
		passed=$((passed + 1))
	fi
	failed=$((failed + n))
}

export LC_ALL=C
cd "$ROOT"
kill_leftovers
if [[ $mode == cleanup ]]; then
	exit 0
fi
mkdir -p "$LOGDIR"

case $mode in
unit) run_unit ;;
integration) run_scripts tests/integration t ;;
faults) run_scripts tests/faults f ;;
services) run_scripts tests/services s ;;
ceph) run_scripts tests/ceph c ;;
asan)
	if [[ ! -x $BUILD/pvcnoded ]]; then
		echo "run-all: $BUILD/pvcnoded missing (make asan-build)"
		failed=$((failed + 1))
	else
		rm -rf "$SANDIR"
		mkdir -p "$SANDIR"
		# Fatal and visible: abort at the first report, into files where possible.
		export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:symbolize=1:log_path=$SANDIR/report:log_exe_name=1"
		export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:symbolize=1:log_path=$SANDIR/report:log_exe_name=1"
		export PVCT_BUILD=$BUILD PVCT_KEEP=1
		# The sanitizers look for memory and undefined-behaviour errors, not scale:
		# the two longest scripts run smaller (flush of 12 VMs, 3 burst rounds), which
		# keeps every code path and CI within its hour.
		export T40_NVM=${T40_NVM:-12} PVCT_BURST_ROUNDS=${PVCT_BURST_ROUNDS:-3}
		run_unit
		run_scripts tests/integration t
		check_sanitizer_reports
	fi
	;;
all)
	run_unit
	run_scripts tests/integration t
	;;
esac

kill_leftovers
if ((${#failed_items[@]})); then
	echo "failed: ${failed_items[*]} (logs in $LOGDIR)"
fi
summary="$passed passed, $failed failed"
if ((skipped > 0)); then
	summary+=", $skipped skipped"
fi
echo "$summary"
if ((failed > 0)); then
	exit 1
fi
exit 0
