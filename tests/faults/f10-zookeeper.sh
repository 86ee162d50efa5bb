#!/bin/bash
# f10-zookeeper: ZooKeeper itself fails under a running cluster (tests/faults/lib.sh:
# 3-server ensemble, 3 coordinators in namespaces, 6 VMs on private libvirtds).
#
#   1. the ZooKeeper leader is killed (-9) during a switchover, restarted later:
#      no failover beyond the requested one, everything healthy
#   2. all three ZooKeeper servers down for 30 s, then back: the primary gives up
#      its floating IP while cut off (its lease runs out), VMs keep running (nobody
#      can order anything), afterwards one primary, every daemon healthy
# After each case: never two primaries (observer), no VM active on two nodes and
# the floating IP never on two namespaces (sampler), then the health invariants.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/faults/lib.sh"

fl_setup
# every domain active in every node's libvirt with its ID (a restarted VM gets a new ID)
vm_ids() { local n; for n in $FL_NODES; do fl_vs "$n" list | awk -v n="$n" 'NR > 2 && NF { print n ":" $2 ":" $1 }'; done | sort | tr '\n' ' '; }

# ---- 1. ZooKeeper leader killed -------------------------------------------------------
fl_case_begin leader
P=$(fl_primary)
L=$(zk_leader_index)
for n in $FL_NODES; do [[ $n != "$P" ]] && { X=$n; break; }; done
zkcli set /primary_node "$X"
zk_kill_server "$L"
t0=$(now_ms)
new_leader() { local l; l=$(zk_leader_index) && [[ $l != "$L" ]]; }
if wait_for 30 new_leader; then pass "leader: ensemble elected a new leader ($(zk_leader_index)) in $(($(now_ms) - t0)) ms"; else
	fail "leader: ensemble elected a new leader" "none after 30 s"; fi
check "leader: switchover to $X completed with the leader dead" wait_for 20 is_rs "$X" primary
fl_healthy leader-killed 40 || true
zk_start_server "$L"
sleep 2
fl_case_end leader 40
check_eq "leader: primary is $X" "$X" "$(fl_primary)"

# ---- 2. all of ZooKeeper down for 30 s ---------------------------------------------------
fl_case_begin zkdown
P=$(fl_primary)
ids_before=$(vm_ids)
for i in 1 2 3; do zk_kill_server "$i"; done
t0=$(now_ms)
addr_gone() { ! ip -n "$(fl_ns "$P")" -o addr show | grep -q " $FL_FLOAT/"; }
if wait_for 10 addr_gone; then pass "zkdown: cut-off primary $P dropped $FL_FLOAT after $(($(now_ms) - t0)) ms"; else
	fail "zkdown: cut-off primary $P dropped $FL_FLOAT" "still there after 10 s"; fi
sleep $((30 - ($(now_ms) - t0) / 1000))
check_eq "zkdown: VMs untouched while ZooKeeper was down" "$ids_before" "$(vm_ids)"
for i in 1 2 3; do zk_start_server "$i" nowait; done
for i in 1 2 3; do zk_wait_server "$i" 60 || fail "zkdown: ZooKeeper server $i back" "not serving"; done
pass "zkdown: ZooKeeper back after $((($(now_ms) - t0) / 1000)) s"
fl_case_end zkdown 90
check_eq "zkdown: no VM restarted (same libvirt domains)" "$ids_before" "$(vm_ids)"
for n in $FL_NODES; do
	c=$(grep -cE "daemon will now terminate|escalat" "$(node_log "$n")" || true)
	check_eq "zkdown: $n did not escalate or exit" 0 "$c"
done

fl_teardown
finish
