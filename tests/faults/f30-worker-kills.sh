#!/bin/bash
# f30-worker-kills: 5. every worker kill -9'ed 50 times during activity
# (tests/faults/lib.sh cluster: 3-server ensemble, 3 coordinators in namespaces,
# 6 VMs on private libvirtds, so VMs outlive a killed vm-manager).
#
# Activity in the background the whole time, round robin over the nodes:
# planned switchovers (/primary_node := next node), VM stop + start, and a flush
# of a node followed by its unflush (pvcctl --wait). Meanwhile, for each role in
# turn (zk-election, vm-manager, net-router, flush, fence), 50 kill -9 of that
# worker, rotating over the nodes; each next kill waits until the supervisor has
# restarted the previous victim (new PID), then a random 50-300 ms.
# The configs allow it (tests/faults/lib.sh): crashloop_max 1000 in 60 s,
# healthy_reset_s 1, restart_backoff_max_ms 100; with the defaults (10 in 60 s)
# the daemon would rightly escalate.
# Then: no supervisor exited, every restart accounted for, never two primaries,
# no VM active on two nodes, floating IP never on two nodes, no node left
# flushed, and the health invariants.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/faults/lib.sh"

KILLS=${F30_KILLS:-50}
fl_setup
declare -A sup
for n in $FL_NODES; do sup[$n]=$(node_pid "$n"); done
read -r -a nodes <<<"$FL_NODES"

activity() {
	local i=0 k v u
	while [[ ! -e $PVCT_WORK/stop-activity ]]; do
		k=${nodes[i % 3]}
		v=$((i % FL_NVM + 1))
		u=$(fl_uuid "$v")
		echo "activity $i: switchover to $k"
		zkcli set /primary_node "$k" || echo "activity: switchover write failed"
		echo "activity $i: vm$v stop + start"
		zkcli set "/domains/$u/state" stop || true
		sleep 1
		zkcli set "/domains/$u/state" start || true
		echo "activity $i: flush $k"
		fl_ctl "$k" node flush --wait --timeout 60 "$k" || echo "activity: flush of $k: exit $?"
		echo "activity $i: unflush $k"
		fl_ctl "$k" node ready --wait --timeout 60 "$k" || echo "activity: unflush of $k: exit $?"
		i=$((i + 1))
	done
	echo "activity: $i rounds"
}

fl_case_begin kills
activity >"$PVCT_WORK/activity.log" 2>&1 &
act=$!
on_exit "touch $PVCT_WORK/stop-activity; kill $act"

declare -A killed
t0=$(now_ms)
for role in $FL_WORKERS; do
	killed[$role]=0
	for ((i = 0; i < KILLS; i++)); do
		n=${nodes[i % 3]}
		pid=
		wait_for 10 node_has_worker "$n" "$role" && pid=$(node_worker "$n" "$role")
		if [[ -z $pid ]]; then
			fail "kills: $role of $n running before kill $((i + 1))" "not running after 10 s"
			break
		fi
		kill -KILL "$pid" 2>/dev/null || continue
		killed[$role]=$((killed[$role] + 1))
		newpid() { local p; p=$(node_worker "$1" "$2"); [[ -n $p && $p != "$3" ]]; }
		wait_for 10 newpid "$n" "$role" "$pid" || true
		sleep "0.$((RANDOM % 250 + 50))"
	done
	echo "kills: $role killed ${killed[$role]} times ($((($(now_ms) - t0) / 1000)) s so far)"
done
touch "$PVCT_WORK/stop-activity"
wait "$act" || true
rounds=$(sed -n 's/^activity: \([0-9]*\) rounds$/\1/p' "$PVCT_WORK/activity.log")
echo "kills: activity ran ${rounds:-?} rounds (switchover, VM stop+start, flush+unflush each)"

for n in $FL_NODES; do
	check "kills: $n's supervisor survived (pid ${sup[$n]})" kill -0 "${sup[$n]}"
done
# make sure no node is left flushed by an interrupted flush/unflush round
for n in $FL_NODES; do
	fl_ctl "$n" node ready --wait --timeout 60 "$n" >/dev/null || true
done
fl_case_end kills 90
for role in $FL_WORKERS; do
	restarts=0
	for n in $FL_NODES; do
		r=$(fl_ctl "$n" --json status | "$PVCT_PY" -c "import json,sys; print(json.load(sys.stdin).get('worker.$role.restarts', 0))" || echo 0)
		restarts=$((restarts + r))
	done
	check "kills: $role: ${killed[$role]} kills, $restarts restarts by the supervisors" \
		test "${killed[$role]}" -eq "$KILLS" -a "$restarts" -ge "${killed[$role]}"
done
for n in $FL_NODES; do
	check_eq "kills: $n domainstate ready (no node left flushed)" ready "$(zkcli get "/nodes/$n/domainstate")"
done
c=$(cat "$(node_log hv1)" "$(node_log hv2)" "$(node_log hv3)" | grep -c "crashed more than" || true)
check_eq "kills: no escalation" 0 "$c"

fl_teardown
finish
