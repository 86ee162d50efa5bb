#!/bin/bash
# f20-isolation: one node loses ZooKeeper (tests/faults/lib.sh cluster: 3-server
# ensemble, 3 coordinators in namespaces, 6 VMs on private libvirtds).
#
#   3. session expiry of the primary: nftables inside its namespace drops its packets
#      to ZooKeeper for T + 3 s (T = 4 s session timeout), so the ensemble expires
#      its session while the node and its link stay up; then the rule goes. The node
#      must give up primary before another takes over, notice the expiry, open a
#      new session, register again and end up healthy, its VMs untouched.
#   4. a secondary partitioned: its namespace link down for 12 s (> T), then up.
#      Its VMs keep running there and nowhere else (fencing is off in these
#      configs); it comes back as secondary with a new session.
# After each case: never two primaries (observer), no VM active on two nodes, the
# floating IP never in two namespaces, and the health invariants.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/faults/lib.sh"

fl_setup
# domains active in NODE's libvirt with their IDs (a restarted VM gets a new ID)
vm_ids() { fl_vs "$1" list | awk 'NR > 2 && NF { print $2 ":" $1 }' | sort | tr '\n' ' '; }
sessions() { grep -c "ZooKeeper session 0x.* established" "$(node_log "$1")" || true; }
other_primary() { local p; p=$(fl_primary); [[ -n $p && $p != "$1" ]]; }

# ---- 3. session expiry of the primary -------------------------------------------------
fl_case_begin expiry
P=$(fl_primary)
ns=$(fl_ns "$P")
ids=$(vm_ids "$P")
nsess=$(sessions "$P")
ip netns exec "$ns" nft -f - <<EOF
table inet pvct_fault {
	chain out { type filter hook output priority 0; ip daddr $NETNS_HOST_ADDR meta l4proto tcp drop; }
	chain in { type filter hook input priority 0; ip saddr $NETNS_HOST_ADDR meta l4proto tcp drop; }
}
EOF
on_exit "ip netns exec $ns nft delete table inet pvct_fault 2>/dev/null"
t0=$(now_ms)
check "expiry: another node primary while $P is cut off" wait_for $(((T_MS + 6000) / 1000)) other_primary "$P"
# cut off for at least T + 3 s in all
left=$((T_MS + 3000 - ($(now_ms) - t0)))
if ((left > 0)); then sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"; fi
ip netns exec "$ns" nft delete table inet pvct_fault
check "expiry: $P noticed its session expired" \
	wait_for 15 grep -q "ZooKeeper session 0x.* expired: every lock is lost" "$(node_log "$P")"
newsess() { (($(sessions "$P") > nsess)); }
check "expiry: $P opened a new session" wait_for 15 newsess
check "expiry: $P registered again as secondary" wait_for 15 is_rs "$P" secondary
fl_case_end expiry 40
check_eq "expiry: VMs of $P untouched (same libvirt domain IDs)" "$ids" "$(vm_ids "$P")"

# ---- 4. a secondary partitioned ---------------------------------------------------------
fl_case_begin partition
P=$(fl_primary)
for n in $FL_NODES; do [[ $n != "$P" ]] && { S=$n; break; }; done
ids=$(vm_ids "$S")
nsess=$(sessions "$S")
ip link set "$(fl_ns "$S")h" down
on_exit "ip link set $(fl_ns "$S")h up"
sleep 12
check_eq "partition: primary unchanged while $S is cut off" "$P" "$(fl_primary)"
check_eq "partition: $S's VMs still running there" "$ids" "$(vm_ids "$S")"
ip link set "$(fl_ns "$S")h" up
newsess() { (($(sessions "$S") > nsess)); }
check "partition: $S opened a new session after the heal" wait_for 20 newsess
check "partition: $S back as secondary" wait_for 15 is_rs "$S" secondary
fl_case_end partition 40
check_eq "partition: $S's VMs never restarted (same libvirt domain IDs)" "$ids" "$(vm_ids "$S")"

fl_teardown
finish
