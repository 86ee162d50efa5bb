#!/bin/bash
# t10-election-basic: zk-election against a real ZooKeeper, networking disabled
# (the router state is the only primary resource, DESIGN §3). An observer
# (t10-observer.py) samples every node's routerstate every 5 ms and fails the
# script on any instant with two primaries.
#
#   T10_COLD_RUNS   cold starts of 3 coordinators at once (default 8; make bench
#                   runs 50 cold starts and counts runs without exactly one primary)
#   T10_SWITCH_RUNS planned switchovers each way (default 5)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/zk.sh"
. "$(dirname "$0")/../lib/node.sh"

COLD_RUNS=${T10_COLD_RUNS:-8}
SWITCH_RUNS=${T10_SWITCH_RUNS:-5}
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make first)"

zk_start_standalone
export ZK_HOSTS
NODE_ZK=$ZK_HOSTS
NODES="hv1 hv2 hv3"
for n in $NODES; do node_config "$n" >/dev/null; done
NODE_HYPERVISOR=false node_config hv4 >/dev/null # not in the coordinator list

OBS_NODES="hv1 hv2 hv3 hv4"
. "$PVCT_ROOT/tests/lib/election.sh"
primary_is() { [[ $(zkcli get /primary_node 2>/dev/null) == "$1" ]]; }

wipe_tree() {
	zkcli delete -r /primary_node >/dev/null 2>&1 || true
	zkcli delete -r /nodes >/dev/null 2>&1 || true
}

stop_nodes() {
	local n pids=()
	for n in "$@"; do
		node_stop "$n" 15 &
		pids+=($!)
	done
	wait "${pids[@]}" || true
}

# ---- cold start of 3 coordinators at once, repeated ----------------------------
obs_start cold
bad=0
for ((run = 1; run <= COLD_RUNS; run++)); do
	wipe_tree
	for n in $NODES; do node_start "$n"; done
	if ! wait_for 10 one_primary; then
		bad=$((bad + 1))
		echo "run $run: no primary: $(primaries)" >&2
	else
		sleep 0.5
		p=$(primaries)
		if [[ $p == *" "* ]] || ! primary_is "$p"; then
			bad=$((bad + 1))
			echo "run $run: primaries '$p', /primary_node $(zkcli get /primary_node)" >&2
		fi
		holders=$(zkcli lock-holders /primary_node | wc -l)
		if [[ $holders != 1 ]]; then
			bad=$((bad + 1))
			echo "run $run: $holders lock contenders" >&2
		fi
	fi
	stop_nodes $NODES
done
check_eq "cold start x$COLD_RUNS: exactly one primary, named by /primary_node, one contender" 0 "$bad"
obs_stop cold

# ---- a running cluster: 3 coordinators + 1 hypervisor ---------------------------
wipe_tree
for n in $NODES hv4; do node_start "$n"; done
wait_for 10 one_primary || true
P=$(primaries)
check "startup: one primary ($P)" one_primary
check "hypervisor hv4 gets routerstate client" wait_for 5 is_rs hv4 client

# registration keys of ref §1.2
missing=""
for k in daemonmode daemonstate routerstate domainstate staticdata memtotal memused memfree \
	memalloc vcpualloc cpuload domainscount runningdomains networkscount keepalive \
	ipmihostname ipmiusername ipmipassword; do
	zkcli get "/nodes/hv1/$k" >/dev/null 2>&1 || missing+=" $k"
done
check_eq "registration: every key of ref §1.2 exists" "" "$missing"
check_eq "registration: daemonmode" coordinator "$(zkcli get /nodes/hv1/daemonmode)"
check_eq "registration: hypervisor daemonmode" hypervisor "$(zkcli get /nodes/hv4/daemonmode)"
check_eq "daemonstate run" run "$(zkcli get /nodes/hv2/daemonstate)"
check "cpuload is a Python float" bash -c "[[ \$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /nodes/hv1/cpuload) =~ ^[0-9]+\.[0-9]+\$ ]]"
check "staticdata has 4 fields" bash -c "[[ \$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /nodes/hv1/staticdata) =~ ^[0-9]+\ [^\ ]+\ GNU/Linux\ [^\ ]+\$ ]]"
k1=$(zkcli get /nodes/hv3/keepalive)
sleep 2.2
k2=$(zkcli get /nodes/hv3/keepalive)
check "keepalive advances (${k1} -> ${k2})" test "$k2" -gt "$k1"
check "base keys: /upstream_ip /maintenance /locks/primary_node /cmd/domains" \
	bash -c "for k in /upstream_ip /maintenance /locks/primary_node /cmd/domains /ceph/osds; do ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get \$k >/dev/null || exit 1; done"

# kazoo sees the primary's lock contender, with the kazoo naming
locks=$(zkcli ls /primary_node)
check "one kazoo contender <32hex>__lock__<10 digits> (${locks})" \
	bash -c "[[ '$locks' =~ ^[0-9a-f]{32}__lock__[0-9]{10}\$ ]]"
check_eq "kazoo Lock.contenders() names the primary" "$P" "$(zkcli lock-holders /primary_node | head -n1)"
owner=$(zkcli stat "/primary_node/$locks" ephemeralOwner)
check "contender is ephemeral ($owner)" test "$owner" != 0x0

# ---- planned switchover, both ways ----------------------------------------------
obs_start switch
others() { local n; for n in $NODES; do [[ $n != "$1" ]] && printf '%s\n' "$n"; done; }
sw_bad=0
maxms=0
for ((i = 1; i <= SWITCH_RUNS; i++)); do
	for target in $(others "$P" | head -n1) "$P"; do
		old=$(primaries)
		t0=$(now_ms)
		zkcli set /primary_node "$target"
		if ! wait_for 3 bash -c "[[ \$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /nodes/$target/routerstate) == primary ]]"; then
			sw_bad=$((sw_bad + 1))
			echo "switchover to $target: not primary" >&2
			continue
		fi
		wait_for 2 is_rs "$old" secondary || { sw_bad=$((sw_bad + 1)); echo "old $old not secondary" >&2; }
	done
done
check_eq "planned switchover x$((2 * SWITCH_RUNS)): target primary, old secondary" 0 "$sw_bad"
obs_stop switch
# latency from the observer's own timeline (zkcli start-up excluded): the time
# from the /primary_node change to the target's routerstate primary
lat=$("$PVCT_PY" - "$PVCT_WORK/obs-switch.log" <<'PY'
import sys
ev = [l.split() for l in open(sys.argv[1]) if l[0].isdigit()]
worst, t_p, tgt = 0, None, None
for e in ev:
    if e[1] == "primary" and len(e) > 2 and e[2] != "none":
        t_p, tgt = int(e[0]), e[2]
    elif e[1] == "rs" and len(e) > 3 and t_p is not None and e[2] == tgt and e[3] == "primary":
        worst = max(worst, int(e[0]) - t_p)
        t_p = None
print(worst)
PY
)
check "switchover: new primary within 1 s of the /primary_node write (worst ${lat} ms)" test "$lat" -lt 1000

# ---- contention: /primary_node = none -> exactly one winner ---------------------
obs_start none
none_bad=0
for ((i = 1; i <= 5; i++)); do
	old=$(primaries)
	zkcli set /primary_node none
	if ! wait_for 5 bash -c "p=\$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /primary_node); [[ \$p != none && \$p != $old ]]"; then
		none_bad=$((none_bad + 1))
		echo "none: no new winner" >&2
		continue
	fi
	w=$(zkcli get /primary_node)
	wait_for 3 is_rs "$w" primary || { none_bad=$((none_bad + 1)); echo "winner $w not primary" >&2; }
	wait_for 3 one_primary || none_bad=$((none_bad + 1))
	sleep 0.3
done
check_eq "contention on none x5: one winner (not the old primary), primary" 0 "$none_bad"
obs_stop none

# ---- garbage in ZooKeeper: logged and ignored, never a crash -----------------------
zpids=$(for n in $NODES hv4; do node_worker "$n" zk-election; done | tr '\n' ' ')
zkcli set /nodes/hv1/domainstate 'flushing?!' >/dev/null
zkcli set /nodes/hv2/routerstate "$(printf 'prim\001ary')" >/dev/null
zkcli create /domains/not-a-uuid x >/dev/null 2>&1 || true
zkcli create /primary_node/garbage-child x >/dev/null 2>&1 || true
zkcli set /primary_node "$(printf 'bogus value \377')" >/dev/null
check "garbage /primary_node: replaced by contention, one primary" \
	wait_for 8 bash -c "p=\$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /primary_node); [[ \$p == hv[123] && \$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /nodes/\$p/routerstate) == primary ]]"
check "garbage: one primary" wait_for 5 one_primary
check_eq "garbage: no zk-election restarted" "$zpids" "$(for n in $NODES hv4; do node_worker "$n" zk-election; done | tr '\n' ' ')"
zkcli set /nodes/hv1/domainstate ready >/dev/null
zkcli delete /domains/not-a-uuid >/dev/null 2>&1 || true
zkcli delete /primary_node/garbage-child >/dev/null 2>&1 || true

# ---- graceful stop of the primary: another one takes over ------------------------
old=$(primaries)
node_stop "$old" 15
check "stopped primary $old: another coordinator is primary" wait_for 5 one_primary
check_eq "stopped primary's daemonstate" stop "$(zkcli get "/nodes/$old/daemonstate")"
check_eq "stopped primary's routerstate" secondary "$(rs "$old")"

t0=$(now_ms)
stop_nodes $NODES hv4
check "orderly stop of the whole cluster in $(($(now_ms) - t0)) ms (< 10 s)" test $(($(now_ms) - t0)) -lt 10000
check_eq "after the stop of every coordinator: /primary_node" none "$(zkcli get /primary_node)"
check_eq "after the stop: no lock contender left" "" "$(zkcli ls /primary_node)"
finish
