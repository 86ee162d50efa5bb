#!/bin/bash
# Start-up safety (issues #15 and #16):
#  - a configuration that group or others may read or write, or that root does not
#    own, is refused by the daemon and by --check-config, naming file, owner, mode
#  - pvc.node differing from the host's short name is warned about (not when equal
#    or unset), by --check-config and in the start-up log
#  - a networking node whose log_directory does not exist yet starts: the supervisor
#    creates it (and <log>/dnsmasq for net-router) with the documented owner/mode,
#    and net-router runs without a restart
#  - pvcctl status shows the Landlock state
#  - the supervisor holds no CAP_SYS_ADMIN (bit 21) in CapEff and CapBnd
#  - one user per role (issue 16): two roles sharing a user are refused (exit 78), a
#    missing role user or one outside the common group stops the daemon at start with
#    an error naming the key, the user and how to create it
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make all)"
[[ -x /usr/sbin/dnsmasq ]] || skip_all "dnsmasq missing"
# the worker users traverse the work dir (mktemp makes it 0700)
chmod 0711 "$PVCT_WORK"
D=$PVCT_BUILD/pvcnoded

# ---- the configuration file's owner and mode (#16) -------------------------------------
NODE_ZK=127.0.0.1:1 NODE_COORDINATORS="hv1" node_config cfg >/dev/null
good=$(node_dir cfg)/pvcnoded.yaml
check_eq "node_config writes mode 600" 600 "$(stat -c %a "$good")"
st=0
"$D" -c "$good" --check-config >/dev/null 2>&1 || st=$?
check_eq "--check-config accepts a root-owned 0600 file" 0 "$st"

refused() { # NAME FILE UID MODE CMD-ARGS...
	local name=$1 f=$2 uid=$3 mode=$4 out st=0
	shift 4
	# bounded: a daemon that wrongly accepts the file would run on
	out=$(timeout -s KILL 15 "$D" -c "$f" "$@" 2>&1) || st=$?
	if [[ $st -ne 0 && $out == *"$f: refusing a configuration owned by uid $uid with mode $mode"* ]]; then
		pass "$name (exit $st)"
	else
		fail "$name" "exit $st: $out"
	fi
}
for m in 0644 0640 0604 0620; do
	f=$PVCT_WORK/mode$m.yaml
	cp "$good" "$f"
	chmod "$m" "$f"
	refused "--check-config refuses mode $m" "$f" 0 "$m" --check-config
done
refused "the daemon refuses mode 0644" "$PVCT_WORK/mode0644.yaml" 0 0644
f=$PVCT_WORK/owned-by-nobody.yaml
cp "$good" "$f"
chmod 0600 "$f"
chown nobody "$f"
nobody_uid=$(id -u nobody)
refused "--check-config refuses a file owned by nobody" "$f" "$nobody_uid" 0600 --check-config
refused "the daemon refuses a file owned by nobody" "$f" "$nobody_uid" 0600
st=0
timeout -s KILL 15 "$D" -c "$PVCT_WORK/mode0644.yaml" >/dev/null 2>&1 || st=$?
check_eq "refused config: exit status 78" 78 "$st"

# ---- one user per role (#16) -------------------------------------------------------------
users_variant() { # NAME SED-EXPR: a copy of the good config
	local f=$PVCT_WORK/users-$1.yaml
	sed "$2" "$good" >"$f"
	chmod 0600 "$f"
	printf '%s\n' "$f"
}
start_refused() { # NAME FILE EXPECTED-TEXT...: the daemon stops at start, saying all of them
	local name=$1 f=$2 out st=0 t miss=
	shift 2
	out=$(timeout -s KILL 15 "$D" -c "$f" 2>&1) || st=$?
	for t in "$@"; do [[ $out == *"$t"* ]] || miss+="[$t] "; done
	if [[ $st -ne 0 && $st -ne 137 && -z $miss ]]; then pass "$name (exit $st)"; else
		fail "$name" "exit $st, missing $miss: $out"; fi
}
f=$(users_variant shared 's/flush: pvct-flush/flush: pvct-zk/')
st=0
out=$("$D" -c "$f" --check-config 2>&1) || st=$?
if [[ $st -eq 78 && $out == *'pvc.system.supervisor.users.flush: "pvct-zk" is also the user of another role'* ]]; then
	pass "--check-config refuses two roles with one user (exit 78)"; else
	fail "--check-config refuses two roles with one user" "exit $st: $out"; fi
f=$(users_variant nobody 's/fence: pvct-fence/fence: nobody/')
st=0
out=$("$D" -c "$f" --check-config 2>&1) || st=$?
if [[ $st -eq 78 && $out == *'pvc.system.supervisor.users.fence: "nobody" is shared by nature'* ]]; then
	pass "--check-config refuses a role as nobody (exit 78)"; else
	fail "--check-config refuses a role as nobody" "exit $st: $out"; fi
f=$(users_variant missing 's/flush: pvct-flush/flush: pvct-missing/')
getent passwd pvct-missing >/dev/null && fail "user pvct-missing must not exist" "it does"
start_refused "a missing role user stops the daemon, naming key, user and remedy" "$f" \
	'pvc.system.supervisor.users.flush: no user "pvct-missing"' 'make install' 'systemd-sysusers'
f=$(users_variant group 's/^      group: pvct$/      group: nogroup/')
start_refused "a role user outside the common group stops the daemon" "$f" \
	'pvc.system.supervisor.group: user "pvct-zk" (zk-election) is not a member of group "nogroup"'

# ---- node name against the host's short name (#15 item 4) ------------------------------
short=$(hostname | cut -d. -f1)
warned() { "$D" -c "$1" --check-config 2>&1 >/dev/null | grep -q "WARNING: pvc.node \"$2\" differs from this host's short name \"$short\""; }
if [[ $short == cfg ]]; then
	fail "node name warning" "the host is called cfg: cannot test"
else
	check "--check-config warns: pvc.node cfg differs from host $short" warned "$good" cfg
fi
f=$PVCT_WORK/node-equal.yaml
sed "s/^  node: cfg\$/  node: $short/" "$good" >"$f"
chmod 0600 "$f"
out=$("$D" -c "$f" --check-config 2>&1) || true
if [[ $out == *"valid (node $short"* && $out != *WARNING* ]]; then
	pass "no warning when pvc.node equals the short host name"; else
	fail "no warning when pvc.node equals the short host name" "$out"; fi
f=$PVCT_WORK/node-unset.yaml
sed '/^  node: cfg$/d' "$good" >"$f"
chmod 0600 "$f"
out=$("$D" -c "$f" --check-config 2>&1) || true
if [[ $out == *"valid (node $short"* && $out != *WARNING* ]]; then
	pass "no warning when pvc.node is unset"; else
	fail "no warning when pvc.node is unset" "$out"; fi

# ---- a networking node with a missing log_directory (#15 item 2) ------------------------
netns_setup 1
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
zkcli -s "$NODE_ZK" init-cluster >/dev/null
LOGD=$(node_dir hv1)/newlogs/pvc
NODE_NETWORKING=true NODE_COORDINATORS="hv1" NODE_LOG_DIR=$LOGD node_config hv1 >/dev/null
check "log_directory is missing before the start" test ! -e "$(node_dir hv1)/newlogs"
node_start hv1 "$(netns_name 1)"
if ! node_wait_ready hv1 30; then
	fail "node with a missing log_directory starts" "see $(node_log hv1)"
	finish
fi
pass "node with a missing log_directory starts"
check_eq "log_directory created root:pvct 750" "root:pvct 750" "$(stat -c '%U:%G %a' "$LOGD")"
check_eq "missing parent created root:pvct 750" "root:pvct 750" "$(stat -c '%U:%G %a' "$(node_dir hv1)/newlogs")"
check_eq "<log>/dnsmasq owned by net-router's user, 750" "pvct-net:pvct-net 750" "$(stat -c '%U:%G %a' "$LOGD/dnsmasq")"
status=$(node_ctl hv1 status 2>&1 || true)
nr_running() { node_ctl hv1 status 2>/dev/null | grep -qE "^net-router +[0-9]+ +running +[0-9]+ +0\$"; }
if wait_for 10 nr_running; then pass "net-router runs, never restarted"; else
	fail "net-router runs, never restarted" "$(node_ctl hv1 status 2>&1)"; fi
if grep -q "cannot create\|escalating" "$(node_log hv1)"; then
	fail "no directory error in the log" "$(grep "cannot create\|escalating" "$(node_log hv1)")"; else
	pass "no directory error in the log"; fi
check "start-up log warns about pvc.node hv1 vs host $short" \
	grep -q "WARNING: pvc.node \"hv1\" differs from this host's short name \"$short\"" "$(node_log hv1)"

# ---- Landlock state in pvcctl status (#16) ------------------------------------------------
abi=$("$PVCT_PY" -c 'import ctypes; print(max(ctypes.CDLL(None).syscall(444, None, 0, 1), 0))')
ll=$(sed -n 's/^sandbox.landlock  *//p' <<<"$status")
if [[ $abi -ge 1 ]]; then
	check_eq "status shows Landlock enforced" "enforced (ABI $abi) in every worker" "$ll"
else
	fail "status shows Landlock enforced" "this kernel has no Landlock (the daemon should have refused): '$ll'"
fi

# ---- the supervisor holds no CAP_SYS_ADMIN (#16) -------------------------------------------
sup=$(node_pid hv1)
for f in CapEff CapBnd; do
	v=$(sed -n "s/^$f:[[:space:]]*//p" "/proc/$sup/status")
	if [[ -n $v ]] && (( ((16#$v) >> 21 & 1) == 0 )); then
		pass "supervisor $f ($v) lacks CAP_SYS_ADMIN"; else
		fail "supervisor $f lacks CAP_SYS_ADMIN" "$f=$v"; fi
done
check_eq "supervisor CapEff" 00000000000035eb "$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$sup/status")"

node_stop hv1 25 || true
finish
