#!/bin/bash
# t11-election-faults: failures around the primary, 3 coordinators in network
# namespaces (pvct-n1..3, 10.200.0.1-3) against a 3-server ZooKeeper ensemble on
# the test bridge (10.200.0.250), networking disabled (routerstate is the
# resource). An observer (t10-observer.py) in the root namespace samples every
# routerstate every 5 ms; any instant with two primaries fails the case.
#
#   kill -9 of the primary's process group -> new primary within T + 1.5 s, only
#     after the old contender vanished
#   kill -9 of the primary's zk-election -> no failover, same session
#   restart of the ZooKeeper leader -> no failover
#   the primary's link down -> it steps down before another node takes over
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/zk.sh"
. "$(dirname "$0")/../lib/node.sh"

require_root
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make first)"
T_MS=4000

netns_setup 3
for i in 1 2 3; do netns_give_addr "$(netns_name $i)" "10.200.0.$i/24"; done
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_ensemble
ZK_HOSTS=$ZK_ENS_HOSTS
export ZK_HOSTS
NODE_ZK=$ZK_HOSTS
NODE_SESSION_MS=$T_MS
NODES="hv1 hv2 hv3"
ns_of() { netns_name "${1#hv}"; }
for n in $NODES; do node_config "$n" >/dev/null; done

. "$PVCT_ROOT/tests/lib/election.sh"
primary_other_than() { local p; p=$(primaries); [[ -n $p && $p != *" "* && $p != "$1" ]]; }
# first observer timestamp at which NODE's routerstate became primary after T0
obs_primary_at() {
	awk -v n="$2" -v t0="$3" '$2 == "rs" && $3 == n && $4 == "primary" && $1 >= t0 { print $1; exit }' "$1"
}
# log line timestamp (local time, µs) -> epoch ms
log_ms() {
	"$PVCT_PY" -c 'import sys,time,datetime
s=sys.argv[1]
d=datetime.datetime.strptime(s, "%Y/%m/%d %H:%M:%S.%f")
print(int(time.mktime(d.timetuple())*1000 + d.microsecond//1000))' "$1"
}

for n in $NODES; do node_start "$n" "$(ns_of "$n")"; done
check "start: one primary" wait_for 15 one_primary

# ---- kill -9 of the primary's whole daemon -------------------------------------
obs_start kill
P=$(primaries)
t0=$(now_ms)
node_kill "$P"
wait_for $(((T_MS + 3000) / 1000)) primary_other_than "$P" || true
sleep 0.3
obs_stop kill
N=$(primaries)
tn=$(obs_primary_at "$PVCT_WORK/obs-kill.log" "$N" "$t0")
if [[ -n $N && $N != "$P" && -n $tn ]]; then
	check "kill -9 primary $P: $N primary after $((tn - t0)) ms (limit $((T_MS + 1500)))" \
		test $((tn - t0)) -le $((T_MS + 1500))
else
	fail "kill -9 primary $P: another primary" "primaries now '$N'"
fi
# the new primary took over only after the dead primary's contender vanished
order=$(awk -v p="$P" -v n="$N" -v t0="$t0" '
	$1 < t0 { next }
	$2 == "locks" && index($3, p ":") == 0 && !gone { gone = NR }
	$2 == "rs" && $3 == n && $4 == "primary" && !up { up = NR }
	END { print (gone && up && gone < up) ? "ok" : "bad gone=" gone " up=" up }' "$PVCT_WORK/obs-kill.log")
check_eq "kill -9: old contender gone before the new primary" ok "$order"
node_start "$P" "$(ns_of "$P")"
check "killed node $P back as secondary" wait_for 10 is_rs "$P" secondary

# ---- kill -9 of the primary's zk-election only: no failover ------------------------
P=$(primaries)
lock_before=$(zkcli ls /primary_node)
sess_before=$(zkcli stat "/primary_node/$lock_before" ephemeralOwner)
obs_start zkcrash
zpid=$(node_worker "$P" zk-election)
kill -KILL "$zpid"
wait_for 5 bash -c "grep -q 'session 0x.* resumed' $(node_log "$P")" || true
sleep 2
obs_stop zkcrash
npid=$(node_worker "$P" zk-election || true)
check "zk-election of $P restarted (pid $zpid -> $npid)" test -n "$npid" -a "$npid" != "$zpid"
check "zk-election resumed its session" grep -q "session 0x.* resumed" "$(node_log "$P")"
check_eq "kill -9 zk-election: primary unchanged" "$P" "$(primaries)"
check_eq "kill -9 zk-election: same lock contender" "$lock_before" "$(zkcli ls /primary_node)"
check_eq "kill -9 zk-election: same session" "$sess_before" "$(zkcli stat "/primary_node/$lock_before" ephemeralOwner)"
changes=$(awk -v p="$P" '$2 == "rs" && $3 == p' "$PVCT_WORK/obs-zkcrash.log" | wc -l)
check_eq "kill -9 zk-election: routerstate of $P never changed" 1 "$changes"

# ---- restart of the ZooKeeper leader: no failover ----------------------------------
P=$(primaries)
obs_start leader
L=$(zk_leader_index)
zk_stop_server "$L"
sleep 1
zk_start_server "$L"
sleep 3
obs_stop leader
check_eq "ZooKeeper leader $L restarted: primary unchanged" "$P" "$(primaries)"
changes=$(awk -v p="$P" '$2 == "rs" && $3 == p' "$PVCT_WORK/obs-leader.log" | wc -l)
check_eq "leader restart: routerstate of $P never changed" 1 "$changes"

# ---- the primary cut off from ZooKeeper: steps down before another takes over ----------
P=$(primaries)
obs_start cut
t0=$(now_ms)
ip link set "$(ns_of "$P")h" down
wait_for $(((T_MS + 4000) / 1000)) primary_other_than "$P" || true
sleep 0.3
obs_stop cut
N=$(primaries)
tn=$(obs_primary_at "$PVCT_WORK/obs-cut.log" "$N" "$t0")
line=$(grep "stepping down" "$(node_log "$P")" | tail -n1 || true)
if [[ -n $line && -n $tn && $N != "$P" ]]; then
	ts=$(sed -n 's/^[a-z]*: \([0-9/]* [0-9:.]*\) - .*/\1/p' <<<"$line")
	td=$(log_ms "$ts")
	check "cut-off primary $P stepped down $((td - t0)) ms after the cut, $N primary after $((tn - t0)) ms" \
		test "$td" -lt "$tn" -a "$td" -ge "$t0"
else
	fail "cut-off primary: step down, then another primary" "log '$line', new '$N' at '$tn'"
fi
ip link set "$(ns_of "$P")h" up
sessions() { grep -c "ZooKeeper session 0x.* established" "$(node_log "$1")"; }
nsess=$(sessions "$P")
check "reconnected $P: its session expired, a new one is established" \
	wait_for 20 bash -c "(( \$(grep -c 'ZooKeeper session 0x.* established' $(node_log "$P")) > $nsess ))"
check "reconnected $P: registered again as secondary" wait_for 5 is_rs "$P" secondary
check "after the cut: one primary" wait_for 5 one_primary

pids=()
for n in $NODES; do node_stop "$n" 15 & pids+=($!); done
wait "${pids[@]}" || true
finish
