#!/bin/bash
# t12-election-interop: rolling upgrade from the reference daemon (issue 15 item 3).
# One real ZooKeeper; C node hv1 (root namespace, networking off: its routerstate is
# its only primary resource) beside the UNMODIFIED reference pvcnoded (Python, PVC
# b413e042) as hv2 in network namespace pvct-n1 with networking on (the reference
# only runs its become-primary/secondary sequences with networking), its
# systemctl/patronictl/killall/arping/ipmitool/pdns_server pointed at logging stubs
# and its PostgreSQL at the pyref fakepg stub.
#
#   (a) reference primary + C secondary: C does not depose it; SIGTERM to the
#       reference (as systemd would) -> C takes over after it relinquished
#   (b) C primary + reference secondary: the reference does not take over;
#       /primary_node := hv2 -> the reference becomes primary, C relinquishes
#   (c) t12-observer.py samples /primary_node and both routerstates every 100 ms:
#       never two nodes in takeover/primary/relinquish at once
#
#   T12_PYREF_SRC  the reference's node-daemon directory
#                  [/work/shared/reference/pvc-b413e042/node-daemon]
#   T12_FAKEPG     [/work/shared/reference/pyref/stubs/fakepg.py]
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/zk.sh"
. "$(dirname "$0")/../lib/node.sh"
. "$(dirname "$0")/../lib/netns.sh"

SRC=${T12_PYREF_SRC:-/work/shared/reference/pvc-b413e042/node-daemon}
FAKEPG=${T12_FAKEPG:-/work/shared/reference/pyref/stubs/fakepg.py}
require_root
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make first)"
[[ -f $SRC/pvcnoded/Daemon.py && -f $FAKEPG ]] || skip_all "reference daemon not found at $SRC"
/usr/bin/python3 -c 'import kazoo, psutil, libvirt, apscheduler, psycopg2, flask, lxml, yaml' 2>/dev/null ||
	skip_all "python3 modules of the reference missing (python3-psutil python3-libvirt python3-apscheduler python3-psycopg2 python3-flask python3-lxml)"
command -v brctl >/dev/null || skip_all "brctl missing (bridge-utils)"
T0=$(now_ms)

# ---- ZooKeeper where the reference finds it: <coordinator>:2181 -----------------
netns_setup 1
NS=$(netns_name 1)
ip -n "$NS" link add ens5 type veth peer name ens5p
ip -n "$NS" link set ens5p up
ZKD=$PVCT_WORK/zk/t12
zk_write_cfg "$ZKD" "$NETNS_HOST_ADDR" 2181
zk_launch "$ZKD"
zk_wait_dir "$ZKD" "$NETNS_HOST_ADDR" 2181 "${ZK_START_TIMEOUT:-30}" || { fail "zookeeper" "did not start"; finish; }
ZK_HOSTS=$NETNS_HOST_ADDR:2181
export ZK_HOSTS
/usr/bin/python3 "$FAKEPG" "$NETNS_HOST_ADDR" 5432 "$PVCT_WORK/fakepg.log" >/dev/null 2>&1 &
FAKEPG_PID=$!
on_exit "kill $FAKEPG_PID"

NODE_ZK=$ZK_HOSTS NODE_COORDINATORS="hv1 hv2" NODE_FENCE=60 node_config hv1 >/dev/null
. "$PVCT_ROOT/tests/integration/t12-pyref.bash"
py_prepare

obs_start() {
	/usr/bin/python3 "$PVCT_ROOT/tests/integration/t12-observer.py" "$ZK_HOSTS" hv1 hv2 \
		--interval-ms 100 --out "$PVCT_WORK/obs.log" &
	OBS_PID=$!
	on_exit "kill -TERM $OBS_PID 2>/dev/null"
	wait_for 10 grep -qs start "$PVCT_WORK/obs.log"
}
rs() { zkcli get "/nodes/$1/routerstate" 2>/dev/null || true; }
is_rs() { [[ $(rs "$1") == "$2" ]]; }
primary_is() { [[ $(zkcli get /primary_node 2>/dev/null) == "$1" ]]; }
# stays STATE for S seconds (checked every 0.2 s)
holds() {
	local s=$1 end
	shift
	end=$(($(now_ms) + s * 1000))
	while (($(now_ms) < end)); do
		"$@" || return 1
		sleep 0.2
	done
}
ref_primary_steady() { primary_is hv2 && is_rs hv2 primary && is_rs hv1 secondary; }
ref_alone_primary() { primary_is hv2 && is_rs hv2 primary; }
c_primary_steady() { primary_is hv1 && is_rs hv1 primary && is_rs hv2 secondary; }

zkcli init-cluster >/dev/null
obs_start

# ---- (a) reference primary, C secondary ------------------------------------------
py_start
or_py_dead() { "$@" || py_gone; }
wait_for 40 or_py_dead ref_alone_primary || true
if ref_alone_primary; then pass "a: reference hv2 is primary"; else
	fail "a: reference hv2 is primary" "rs hv2=$(rs hv2) /primary_node=$(zkcli get /primary_node)"; fi
node_start hv1
wait_for 15 is_rs hv1 secondary || true
check "a: C hv1 leaves the reference primary alone (6 s)" holds 6 ref_primary_steady
t=$(now_ms)
py_stop_term
if wait_for 30 c_primary_steady; then
	pass "a: SIGTERM to the reference -> C hv1 primary ($(($(now_ms) - t)) ms)"
else
	fail "a: SIGTERM to the reference -> C hv1 primary" "rs hv1=$(rs hv1) hv2=$(rs hv2) /primary_node=$(zkcli get /primary_node)"
fi
check "a: the reference exited" wait_for 20 py_gone

# ---- (b) C primary, reference secondary ------------------------------------------
py_start
wait_for 40 or_py_dead py_running || true
py_running || fail "b: reference hv2 running" "daemonstate $(zkcli get /nodes/hv2/daemonstate)"
check "b: the reference leaves the C primary alone (6 s)" holds 6 c_primary_steady
t=$(now_ms)
zkcli set /primary_node hv2
if wait_for 30 ref_primary_steady; then
	pass "b: /primary_node := hv2 -> reference primary, C secondary ($(($(now_ms) - t)) ms)"
else
	fail "b: /primary_node := hv2 -> reference primary" "rs hv1=$(rs hv1) hv2=$(rs hv2) /primary_node=$(zkcli get /primary_node)"
fi
check "b: C hv1 leaves the reference primary alone (4 s)" holds 4 ref_primary_steady
# and back: the reference stops, C takes over (the reference never finishes its own
# stop without a peer taking over)
py_stop_term
check "b: SIGTERM to the reference again -> C hv1 primary" wait_for 30 c_primary_steady
check "b: the reference exited" wait_for 20 py_gone
node_stop hv1 15

# ---- (c) the observer ------------------------------------------------------------
kill -TERM "$OBS_PID" 2>/dev/null || true
rc=0
wait "$OBS_PID" || rc=$?
if ((rc == 0)) && grep -q '^OVERLAPS 0$' "$PVCT_WORK/obs.log"; then
	pass "c: never two nodes acting as primary ($(grep -c ' rs ' "$PVCT_WORK/obs.log") routerstate changes sampled)"
else
	fail "c: never two nodes acting as primary" "$(grep -m3 -E 'OVERLAP|error' "$PVCT_WORK/obs.log" | tr '\n' ' ')"
fi
printf 'elapsed %d ms\n' "$(($(now_ms) - T0))"
finish
