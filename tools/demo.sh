#!/bin/bash
# make demo: a local 3-node PVC cluster on this host.
#
# Its own ZooKeeper, three network namespaces (pvct-n1..3) joined by a bridge, one
# pvcnoded per namespace (libvirt test driver as the hypervisor), then:
#   1. election: exactly one primary, which holds the cluster floating IP;
#   2. a VM is started and migrated between nodes (cold path: the test driver cannot
#      live-migrate);
#   3. failover: the primary's whole daemon is killed; another node takes over.
# Then it keeps showing the cluster until Ctrl-C (or `make demo-stop`), and cleans up.
# DEMO_ONESHOT=1 (or CI=true) stops after the steps.
set -euo pipefail

STATE=/run/pvc-demo.pid

if [[ ${1:-} == stop ]]; then
	read -r dpid dwork <"$STATE" 2>/dev/null || true
	if [[ -n ${dpid:-} ]] && kill -0 "$dpid" 2>/dev/null; then
		kill -INT "$dpid"
		echo "demo: asked the running demo to stop"
		for _ in $(seq 150); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
	fi
	# whatever a killed demo left behind: only its own daemons
	if [[ -n ${dwork:-} && -d $dwork ]]; then
		for p in "$dwork"/*/pid; do
			[[ -s $p ]] && kill -KILL -- "-$(cat "$p")" 2>/dev/null
		done
		for p in "$dwork"/zk/*/pid; do
			[[ -s $p ]] && kill -KILL "$(cat "$p")" 2>/dev/null
		done
	fi
	. "$(dirname "$0")/../tests/lib/common.sh"
	. "$PVCT_ROOT/tests/lib/netns.sh"
	netns_teardown >/dev/null 2>&1 || true
	rm -f "$STATE"
	echo "demo: stopped"
	exit 0
fi

if ((EUID != 0)); then
	echo "make demo needs root (network namespaces, a daemon that confines itself)" >&2
	exit 1
fi

. "$(dirname "$0")/../tests/lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
PVCT_KEEP=
echo "$$ $PVCT_WORK" >"$STATE"
on_exit "rm -f $STATE"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
NODES=(hv1 hv2 hv3)

say "network: 3 node namespaces + an observer on bridge pvct-br0 (10.200.0.0/24)"
netns_setup 3
ZK_ADDR=$NETNS_HOST_ADDR
say "ZooKeeper: standalone server on $ZK_ADDR"
zk_start_standalone
on_exit zk_stop_all
ZK=$(zk_connect_string)
zkcli -s "$ZK" init-cluster >/dev/null

NODE_ZK=$ZK
NODE_NETWORKING=true
NODE_HYPERVISOR=true
i=0
for n in "${NODES[@]}"; do
	i=$((i + 1))
	d=$(node_dir "$n")
	mkdir -p "$d"
	cat >"$d/libvirt-node.xml" <<EOF
<node>
  <cpu><mhz>2000</mhz><model>demo</model><active>8</active><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads></cpu>
  <memory>16777216</memory>
</node>
EOF
	chmod 0644 "$d/libvirt-node.xml"
	NODE_LIBVIRT_URI="test://$d/libvirt-node.xml" node_config "$n" >/dev/null
	node_start "$n" "pvct-n$i"
	disown -a 2>/dev/null || true # no job-control noise when they are stopped
done
say "three daemons started (logs: $PVCT_WORK/hvN/log/stdout.log)"
for n in "${NODES[@]}"; do node_wait_ready "$n" 30 || echo "  $n: not all workers up yet"; done

show() {
	local n
	printf '  %-5s %-8s %-11s %-9s %-14s %s\n' node daemon router domain floating-ip "running VMs"
	for n in "${NODES[@]}"; do
		local i=${n#hv} ds rs dm vms fip=""
		ds=$(zkcli -s "$ZK" get "/nodes/$n/daemonstate" 2>/dev/null || echo -)
		rs=$(zkcli -s "$ZK" get "/nodes/$n/routerstate" 2>/dev/null || echo -)
		dm=$(zkcli -s "$ZK" get "/nodes/$n/domainstate" 2>/dev/null || echo -)
		vms=$(zkcli -s "$ZK" get "/nodes/$n/runningdomains" 2>/dev/null || echo -)
		if ip -n "pvct-n$i" -4 addr show 2>/dev/null | grep -q "10.200.0.254/"; then fip=10.200.0.254; fi
		printf '  %-5s %-8s %-11s %-9s %-14s %s\n' "$n" "$ds" "$rs" "$dm" "${fip:--}" "${vms:--}"
	done
	printf '  /primary_node = %s\n' "$(zkcli -s "$ZK" get /primary_node 2>/dev/null || echo ?)"
}

primary() { zkcli -s "$ZK" get /primary_node 2>/dev/null; }
has_primary() { local p; p=$(primary); [[ -n $p && $p != none && $(zkcli -s "$ZK" get "/nodes/$p/routerstate" 2>/dev/null) == primary ]]; }

say "1. election"
wait_for 30 has_primary || true
show
P=$(primary)
echo "  the observer reaches the floating IP: $(ip netns exec pvct-obs ping -c1 -W1 10.200.0.254 >/dev/null 2>&1 && echo yes || echo no)"

say "2. a VM: defined on hv2, started, then migrated to hv3"
for n in "${NODES[@]}"; do zkcli -s "$ZK" set "/nodes/$n/domainstate" ready >/dev/null; done
UUID=6f9619ff-8b86-4011-b42d-00c04fc964ff
cat >"$PVCT_WORK/demo-vm.xml" <<EOF
<domain type='test'><name>demo-vm</name><uuid>$UUID</uuid><memory>1048576</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>
EOF
zkcli -s "$ZK" define-vm "$UUID" demo-vm hv2 "$PVCT_WORK/demo-vm.xml" --state start >/dev/null
running_on() { [[ $(zkcli -s "$ZK" get "/nodes/$1/runningdomains" 2>/dev/null) == *"$UUID"* ]]; }
if wait_for 20 running_on hv2; then echo "  demo-vm runs on hv2"; else echo "  demo-vm did not start (see logs)"; fi
zkcli -s "$ZK" multi-set "/domains/$UUID/state=migrate" "/domains/$UUID/node=hv3" "/domains/$UUID/lastnode=hv2" >/dev/null
t0=$(now_ms)
if wait_for 60 running_on hv3; then
	echo "  demo-vm migrated to hv3 in $(($(now_ms) - t0)) ms (state: $(zkcli -s "$ZK" get "/domains/$UUID/state"))"
else
	echo "  migration did not finish (see logs)"
fi
show

say "3. failover: kill -9 of the primary's whole daemon ($P)"
t0=$(now_ms)
node_kill "$P"
new_primary() { local p; p=$(primary); [[ -n $p && $p != none && $p != "$P" ]] && has_primary; }
if wait_for 30 new_primary; then
	echo "  new primary $(primary) after $(($(now_ms) - t0)) ms (session timeout 4000 ms)"
else
	echo "  no new primary (see logs)"
fi
show
i=${P#hv}
node_start "$P" "pvct-n$i"
disown -a 2>/dev/null || true
say "$P restarted; it rejoins as secondary"
node_wait_ready "$P" 30 || true
sleep 2
show

if [[ -n ${DEMO_ONESHOT:-} || ${CI:-} == true ]]; then
	exit 0
fi
say "the cluster keeps running; Ctrl-C or 'make demo-stop' ends the demo"
while true; do
	sleep 5
	show
done
