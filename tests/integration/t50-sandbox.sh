#!/bin/bash
# Worker confinement (issue #7), seen from outside:
#  1. a running node (networking on, inside a test namespace): every worker's
#     /proc/PID/status shows its own role's user (five distinct uids, issue 16), the
#     expected groups, capabilities and bounding set, NoNewPrivs 1, Seccomp 2; no
#     inherited file is open; the supervisor is root; no role's user can signal or
#     read /proc/PID/environ of another role's worker. docs/privileges.md is the table
#     this checks.
#  2. the test build (PVC_TEST_HOOKS; in $PVCT_TEST_BUILD, default build-test): a
#     forbidden action in a worker
#     (PVC_TEST_FORBIDDEN=<role>:<action>) gets it killed by SIGSYS (or refused)
#     and the supervisor starts it again; PVC_SECCOMP_LOG=1 names the syscall.
#  3. the normal build contains no test hook.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root

ROLES=(zk-election vm-manager net-router flush fence)
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make all)"
pvct_users
declare -A ROLE_USER
for pair in $PVCT_ROLE_USERS; do ROLE_USER[${pair%%:*}]=${pair#*:}; done
PVCT_GID=$(getent group "$PVCT_GROUP" | cut -d: -f3)

# Namespaces when available: net-router then really holds its capabilities on a
# device of its own. Without them the node runs with networking off.
NS=
if command -v ip >/dev/null && ip netns list >/dev/null 2>&1; then
	. "$PVCT_ROOT/tests/lib/netns.sh"
	if netns_setup 1 >/dev/null 2>&1; then
		NS=$(netns_name 1)
		ZK_ADDR=$NETNS_HOST_ADDR
	fi
fi
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
zkcli -s "$NODE_ZK" init-cluster >/dev/null

status_field() { # PID FIELD -> value (tabs kept)
	local line
	line=$(grep "^$2:" "/proc/$1/status" 2>/dev/null) || return 1
	line=${line#*:}
	printf '%s\n' "${line#"${line%%[![:space:]]*}"}"
}

# net-router: NET_ADMIN + NET_RAW; with networking also NET_BIND_SERVICE, and the three
# ambient (inheritable) for the dnsmasq it executes (docs/privileges.md).
# dns-aggregator (coordinators with networking): NET_BIND_SERVICE, ambient, for the
# pdns_server it executes on the primary.
expected_caps() {
	if [[ $1 == dns-aggregator ]]; then echo 0000000000000400
	elif [[ $1 != net-router ]]; then echo 0000000000000000
	elif [[ $NODE_NETWORKING == true ]]; then echo 0000000000003400
	else echo 0000000000003000; fi
}
expected_ambient() {
	if [[ $1 == dns-aggregator ]]; then echo 0000000000000400
	elif [[ $1 == net-router && $NODE_NETWORKING == true ]]; then echo 0000000000003400
	else echo 0000000000000000; fi
}

# ---- 1. a running node --------------------------------------------------------------
if [[ -n $NS ]]; then NODE_NETWORKING=true; else NODE_NETWORKING=false; fi
# a coordinator with networking also runs the metadata API (docs/metadata.md)
[[ $NODE_NETWORKING == true ]] && ROLES+=(metadata)
# and the DNS aggregator (docs/dns-aggregator.md)
[[ $NODE_NETWORKING == true ]] && ROLES+=(dns-aggregator)
NODE_HYPERVISOR=true NODE_COORDINATORS="hv1" node_config hv1 >/dev/null
# Started with cores allowed: the processes themselves must forbid them.
(
	ulimit -S -c unlimited 2>/dev/null || true
	node_start hv1 "$NS"
)
on_exit "node_kill hv1"
if ! node_wait_ready hv1 30; then
	fail "node starts (networking=$NODE_NETWORKING)" "see $(node_log hv1)"
	finish
fi
pass "node starts (networking=$NODE_NETWORKING${NS:+, namespace $NS})"
wait_for 10 node_has_worker hv1 fence || true
sleep 0.5 # past worker_ready: confinement is complete before READY is sent

sup=$(node_pid hv1)
check_eq "supervisor runs as root" 0 "$(status_field "$sup" Uid | cut -f1)"
# supervisor/priv.c: CHOWN DAC_OVERRIDE FOWNER KILL SETGID SETUID SETPCAP NET_ADMIN NET_BIND_SERVICE
# NET_RAW, nothing else (no SYS_ADMIN: nothing calls setns or mount), also in the bounding set (docs/privileges.md)
check_eq "supervisor CapEff" 00000000000035eb "$(status_field "$sup" CapEff)"
check_eq "supervisor CapBnd" 00000000000035eb "$(status_field "$sup" CapBnd)"

for r in "${ROLES[@]}"; do
	pid=$(node_worker hv1 "$r")
	if [[ -z $pid ]]; then
		fail "$r is running" "no process with comm $r"
		continue
	fi
	u=${ROLE_USER[$r]}
	uid=$(id -u "$u")
	gid=$(id -g "$u")
	check_eq "$r Uid is its own user $u" "$uid	$uid	$uid	$uid" "$(status_field "$pid" Uid)"
	check_eq "$r Gid is $u's group" "$gid	$gid	$gid	$gid" "$(status_field "$pid" Gid)"
	# the common group (the daemon's directories), and libvirt's socket for vm-manager
	want_groups=$PVCT_GID
	if [[ $r == vm-manager ]] && getent group libvirt >/dev/null; then
		want_groups=$(printf '%s\n' "$PVCT_GID" "$(getent group libvirt | cut -d: -f3)" | sort -n | xargs)
	fi
	check_eq "$r supplementary groups" "$want_groups" "$(status_field "$pid" Groups | xargs)"
	want=$(expected_caps "$r")
	check_eq "$r CapEff" "$want" "$(status_field "$pid" CapEff)"
	check_eq "$r CapPrm" "$want" "$(status_field "$pid" CapPrm)"
	check_eq "$r CapBnd" "$want" "$(status_field "$pid" CapBnd)"
	check_eq "$r CapInh" "$(expected_ambient "$r")" "$(status_field "$pid" CapInh)"
	check_eq "$r CapAmb" "$(expected_ambient "$r")" "$(status_field "$pid" CapAmb)"
	check_eq "$r NoNewPrivs" 1 "$(status_field "$pid" NoNewPrivs)"
	check_eq "$r Seccomp" 2 "$(status_field "$pid" Seccomp)"
	# Inherited fds: beyond 0-2 and the socketpair (3) a worker holds only what it
	# opened itself (sockets, pipes, eventfds): never a file or directory.
	files=
	for fd in /proc/"$pid"/fd/*; do
		n=${fd##*/}
		((n > 3)) || continue
		t=$(readlink "$fd" 2>/dev/null) || continue
		[[ $t == /* ]] && files+="$n->$t "
	done
	check_eq "$r holds no file beyond fd 3" "" "$files"
	t=$(readlink /proc/"$pid"/fd/3 2>/dev/null || true)
	check "$r fd 3 is its socketpair" test "${t#socket:}" != "$t"
done

# One uid per role (issue 16): five different uids, and no role's user may signal
# (kill -0: only the uid matters, dumpable or not) or read /proc/PID/environ of another
# role's worker. With a shared user the kill -0 succeeds.
uids=$(for r in "${ROLES[@]}"; do id -u "${ROLE_USER[$r]}"; done | sort -u | wc -l)
check_eq "the ${#ROLES[@]} roles run as ${#ROLES[@]} different uids" "${#ROLES[@]}" "$uids"
reached=
for r in "${ROLES[@]}"; do
	pid=$(node_worker hv1 "$r")
	[[ -n $pid ]] || continue
	for o in "${ROLES[@]}"; do
		[[ $o != "$r" ]] || continue
		as=(setpriv --reuid="${ROLE_USER[$o]}" --regid="${ROLE_USER[$o]}" --clear-groups)
		if "${as[@]}" kill -0 "$pid" 2>/dev/null; then reached+="$o-signals-$r "; fi
		if "${as[@]}" cat "/proc/$pid/environ" >/dev/null 2>&1; then reached+="$o-reads-$r/environ "; fi
	done
done
check_eq "no role's user can signal or read the environment of another role" "" "$reached"
# the check itself can fail: the same user reaches its own worker with kill -0
zpid=$(node_worker hv1 zk-election)
check "kill -0 works for the worker's own user (the check above can fail)" \
	setpriv --reuid="${ROLE_USER[zk-election]}" --regid="${ROLE_USER[zk-election]}" --clear-groups kill -0 "$zpid"

# Secrets (issue #7): the IPMI password of the config (tests/lib/node.sh) is in no
# argv, no environment, no log line, and no process can dump a core.
SECRET=TopSecretIpmiPassw0rd
leaks=
for pid in "$sup" $(for r in "${ROLES[@]}"; do node_worker hv1 "$r"; done); do
	for f in cmdline environ; do
		if tr '\0' '\n' <"/proc/$pid/$f" 2>/dev/null | grep -q "$SECRET"; then
			leaks+="$pid/$f "
		fi
	done
	core=$(awk '/^Max core file size/ {print $5}' "/proc/$pid/limits")
	if [[ $pid == "$sup" ]]; then
		check_eq "supervisor core size limit 0" 0 "$core"
	else
		check_eq "$(cat /proc/"$pid"/comm) core size limit 0" 0 "$core"
	fi
done
check_eq "IPMI password in no argv or environment" "" "$leaks"
if grep -rq "$SECRET" "$(node_dir hv1)/log"; then
	fail "IPMI password in no log line" "found in $(grep -rl "$SECRET" "$(node_dir hv1)/log")"
else
	pass "IPMI password in no log line"
fi
node_stop hv1 20 || true

# ---- 2. forbidden actions in the test build ---------------------------------------------
TBD=${PVCT_TEST_BUILD:-$PVCT_ROOT/build-test}
TB=$TBD/pvcnoded
# incremental: cheap when the test build is current
if ! make -C "$PVCT_ROOT" --no-print-directory BUILD="$TBD" EXTRA_CFLAGS=-DPVC_TEST_HOOKS all \
	>"$PVCT_WORK/test-build.log" 2>&1; then
	echo "note: make test-build failed (see $PVCT_WORK/test-build.log); using the existing binary"
fi
if [[ ! -x $TB ]]; then
	fail "test build exists" "$TB could not be built: $PVCT_WORK/test-build.log"
	finish
fi

n=0
# forbidden_case ROLE ACTION [SECCOMP_LOG]: killed by SIGSYS (or refused), then restarted
forbidden_case() {
	local role=$1 action=$2 slog=${3:-} name log why
	n=$((n + 1))
	name=fb$n
	NODE_COORDINATORS="$name" node_config "$name" >/dev/null
	log=$(node_log "$name")
	PVC_TEST_FORBIDDEN="$role:$action" PVC_SECCOMP_LOG=$slog PVCT_DAEMON=$TB \
		node_start "$name" "$NS"
	# two deaths of two different PIDs = killed, restarted, killed again
	deaths() { grep -E "worker $role \(pid [0-9]+\) died: (signal 31|exit 1)" "$log" |
		grep -oE "pid [0-9]+" | sort -u | wc -l; }
	enough() { (($(deaths) >= 2)); }
	if ! wait_for 20 enough; then
		fail "$role:$action is stopped and $role restarted" \
			"$(deaths) death(s) seen; log $log"
		node_kill "$name"
		return
	fi
	if grep -q "sandbox test: $action NOT STOPPED" "$log"; then
		fail "$role:$action is stopped" "the action succeeded"
	elif grep -qE "worker $role \(pid [0-9]+\) died: signal 31" "$log"; then
		pass "$role:$action: killed by SIGSYS, restarted"
	elif grep -q "sandbox test: $action denied" "$log"; then
		why=$(grep -o "sandbox test: $action denied: .*" "$log" | head -n1)
		pass "$role:$action: refused (${why##*: }), restarted"
	else
		fail "$role:$action is stopped" "no SIGSYS and no refusal in $log"
	fi
	if [[ -n $slog ]]; then
		if grep -q "pvcnoded: seccomp: forbidden syscall [0-9]" "$log"; then
			pass "$role:$action: PVC_SECCOMP_LOG names the syscall"
		else
			fail "$role:$action: PVC_SECCOMP_LOG names the syscall" "no line in $log"
		fi
	fi
	node_kill "$name"
}

forbidden_case vm-manager tcp
forbidden_case zk-election netlink
forbidden_case flush exec
forbidden_case net-router exec
forbidden_case vm-manager open
forbidden_case vm-manager readable # /etc/passwd: refused by Landlock alone
forbidden_case zk-election readable # /etc: only the resolver files
forbidden_case flush fork
forbidden_case flush tcp 1
forbidden_case fence tcp     # UDP only (lanplus): a TCP socket kills it
forbidden_case fence netlink
forbidden_case fence readdir # /var is outside its Landlock paths
if [[ $NODE_NETWORKING == true ]]; then
	forbidden_case metadata exec      # no execve
	forbidden_case metadata netlink   # TCP/UDP client sockets only
	forbidden_case metadata readable  # /etc/passwd: outside its Landlock paths
fi

# ---- 3. the installed programs have no trigger ----------------------------------------
# The trigger lives in the worker programs (workers/common), not in pvcnoded itself.
hooked=()
for prog in "$PVCT_BUILD"/pvcnoded "$PVCT_BUILD"/pvc-*; do
	[[ -x $prog ]] || continue
	if grep -q PVC_TEST_FORBIDDEN "$prog"; then
		hooked+=("${prog##*/}")
	fi
done
if ((${#hooked[@]})); then
	fail "normal build has no test hooks" "PVC_TEST_FORBIDDEN found in ${hooked[*]}"
else
	pass "normal build has no test hooks"
fi
check "test build has the hooks" grep -q PVC_TEST_FORBIDDEN "$TBD/pvc-zk-election"
finish
