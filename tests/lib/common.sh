# shellcheck shell=bash
# tests/lib/common.sh: shared helpers for the integration and fault scripts.
#
# Source it first (the other libraries source it themselves when needed):
#
#   #!/bin/bash
#   set -euo pipefail
#   . "$(dirname "$0")/../lib/common.sh"
#
# What it provides:
#   PVCT_ROOT            repository root (absolute)
#   PVCT_BUILD           build directory ($PVCT_ROOT/build unless set)
#   PVCT_WORK            per-test work dir /tmp/pvct.XXXXXX (exported; removed at
#                        exit when every case passed, kept otherwise or with
#                        PVCT_KEEP=1). Everything a test creates goes below it.
#   PVCT_PY              /usr/bin/python3 (Debian's, sees python3-kazoo)
#   zkcli ARGS...        runs tests/lib/zkcli.py (see there)
#   pass NAME            prints "PASS: NAME", counts
#   fail NAME MSG        prints "FAIL: NAME: MSG", counts
#   check NAME CMD...    pass if CMD succeeds, else fail (shows the command)
#   check_eq NAME EXPECTED ACTUAL
#   skip_all REASON      prints "SKIP: REASON" and exits 77 (whole script skipped)
#   require_root         skip_all unless running as root
#   pvct_users           create (once, idempotent) the test system users of the worker
#                        roles pvct-zk, pvct-vm, pvct-net, pvct-flush, pvct-fence, each
#                        with its own group and a member of the group pvct, so that the
#                        tests run the real one-uid-per-role scheme (needs root)
#   PVCT_ROLE_USERS      "zk-election:pvct-zk vm-manager:pvct-vm ..." (role:user pairs)
#   wait_for TIMEOUT_S CMD...   poll CMD every 50 ms until it succeeds (return 0)
#                        or TIMEOUT_S (may be fractional) passed (return 1)
#   now_ms               monotonic-enough wall clock in milliseconds
#   pids_by_comm NAME [ROOTPID] PIDs whose /proc/PID/comm is NAME (and that are
#                        ROOTPID or descend from it), one per line
#   on_exit CMD          register a shell command (string, eval'd); all run in
#                        reverse order by the EXIT trap, failures ignored
#   finish               print a summary; exit 0 if no case failed, else 1
#
# Leftover detection: $PVCT_WORK/owner holds "PID STARTTIME" of the test shell.
# tests/run-all.sh kills processes belonging to a work dir whose owner is dead
# (ZooKeeper servers by their command line, daemons by PVCT_WORK in their
# environment), so every process a test starts should inherit PVCT_WORK.

if [[ -n ${PVCT_COMMON_LOADED:-} ]]; then
	return 0
fi
PVCT_COMMON_LOADED=1

PVCT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PVCT_BUILD=${PVCT_BUILD:-$PVCT_ROOT/build}
PVCT_PY=/usr/bin/python3
PVCT_PASSED=0
PVCT_FAILED=0
PVCT_EXIT_CMDS=()
export PVCT_ROOT PVCT_BUILD

PVCT_WORK=$(mktemp -d /tmp/pvct.XXXXXX)
export PVCT_WORK

# "PID STARTTIME" of a process (starttime = field 22 of /proc/PID/stat), so a
# reused PID is not mistaken for the original owner.
pvct_proc_id() {
	local pid=$1 stat rest
	{ read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
	rest=${stat##*) }
	local -a f
	read -r -a f <<<"$rest"
	printf '%s %s\n' "$pid" "${f[19]}"
}

pvct_proc_id $$ >"$PVCT_WORK/owner"

zkcli() {
	"$PVCT_PY" "$PVCT_ROOT/tests/lib/zkcli.py" "$@"
}

pass() {
	PVCT_PASSED=$((PVCT_PASSED + 1))
	printf 'PASS: %s\n' "$1"
}

fail() {
	PVCT_FAILED=$((PVCT_FAILED + 1))
	printf 'FAIL: %s: %s\n' "$1" "${2:-failed}"
}

check() {
	local name=$1
	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name" "command failed: $*"
	fi
}

check_eq() {
	if [[ $2 == "$3" ]]; then
		pass "$1"
	else
		fail "$1" "expected '$2', got '$3'"
	fi
}

skip_all() {
	printf 'SKIP: %s\n' "$1"
	exit 77
}

require_root() {
	if ((EUID != 0)); then
		skip_all "needs root"
	fi
}

PVCT_ROLE_USERS="zk-election:pvct-zk vm-manager:pvct-vm net-router:pvct-net flush:pvct-flush fence:pvct-fence api-units:pvct-api dns-aggregator:pvct-dns metadata:pvct-meta ceph:pvct-ceph"
PVCT_GROUP=pvct

# Concurrent scripts may race on /etc/passwd's lock: a failed add is fine when the
# entry exists afterwards.
pvct_users() {
	local pair u
	getent group "$PVCT_GROUP" >/dev/null ||
		groupadd --system "$PVCT_GROUP" 2>/dev/null || getent group "$PVCT_GROUP" >/dev/null ||
		{ echo "pvct_users: cannot create group $PVCT_GROUP" >&2; return 1; }
	for pair in $PVCT_ROLE_USERS; do
		u=${pair#*:}
		getent passwd "$u" >/dev/null ||
			useradd --system --user-group --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin --groups "$PVCT_GROUP" "$u" 2>/dev/null ||
			getent passwd "$u" >/dev/null ||
			{ echo "pvct_users: cannot create user $u" >&2; return 1; }
		id -nG "$u" | tr ' ' '\n' | grep -qx "$PVCT_GROUP" ||
			usermod -a -G "$PVCT_GROUP" "$u" ||
			{ echo "pvct_users: cannot add $u to $PVCT_GROUP" >&2; return 1; }
	done
}

now_ms() {
	local t=${EPOCHREALTIME/./}
	printf '%s\n' "${t:0:-3}"
}

wait_for() {
	local timeout=$1
	shift
	local t=${EPOCHREALTIME/./} deadline us
	# TIMEOUT_S -> microseconds without forking (accepts "2", "0.5", "2.25").
	if [[ $timeout == *.* ]]; then
		local int=${timeout%%.*} frac=${timeout#*.}000000
		us=$((10#${int:-0} * 1000000 + 10#${frac:0:6}))
	else
		us=$((timeout * 1000000))
	fi
	deadline=$((t + us))
	while true; do
		if "$@"; then
			return 0
		fi
		t=${EPOCHREALTIME/./}
		if ((t >= deadline)); then
			return 1
		fi
		sleep 0.05
	done
}

pids_by_comm() {
	local name=$1 root=${2:-} d pid stat comm rest q
	local -A ppid=()
	local -a f matches=()
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		{ read -r stat <"$d/stat"; } 2>/dev/null || continue
		comm=${stat#*(}
		comm=${comm%)*}
		rest=${stat##*) }
		read -r -a f <<<"$rest"
		ppid[$pid]=${f[1]}
		if [[ $comm == "$name" ]]; then
			matches+=("$pid")
		fi
	done
	for pid in "${matches[@]}"; do
		if [[ -z $root ]]; then
			printf '%s\n' "$pid"
			continue
		fi
		q=$pid
		while [[ -n $q && $q != 0 && $q != "$root" ]]; do
			q=${ppid[$q]:-}
		done
		if [[ $q == "$root" ]]; then
			printf '%s\n' "$pid"
		fi
	done
}

on_exit() {
	PVCT_EXIT_CMDS+=("$1")
}

pvct_run_exit() {
	local rc=$? i
	set +e
	trap - ERR
	for ((i = ${#PVCT_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${PVCT_EXIT_CMDS[i]}" || true
	done
	PVCT_EXIT_CMDS=()
	if ((rc == 0 || rc == 77)) && ((PVCT_FAILED == 0)) && [[ -z ${PVCT_KEEP:-} ]]; then
		rm -rf "$PVCT_WORK"
	else
		printf 'work dir kept: %s\n' "$PVCT_WORK" >&2
	fi
	exit "$rc"
}

finish() {
	printf 'summary: %d passed, %d failed\n' "$PVCT_PASSED" "$PVCT_FAILED"
	if ((PVCT_FAILED > 0)); then
		exit 1
	fi
	exit 0
}

trap pvct_run_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
# Show where an unexpected failure aborted the script (set -e).
trap 'printf "error: %s:%s: %s (status %s)\n" "${BASH_SOURCE[0]##*/}" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR
