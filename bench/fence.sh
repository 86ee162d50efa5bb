#!/bin/bash
# bench/fence.sh: time from a node's death (kill -9 of its whole daemon) to all its
# VMs running elsewhere, on a local 3-coordinator cluster (own ZooKeeper, libvirt
# test driver, fake ipmitool answering at once), once with the default intervals
# (keepalive 5 s, fence_intervals 6) and once with short ones (keepalive 1 s,
# fence_intervals 3, suicide_intervals 2: each side tolerates one missed keepalive).
# Also prints the phases from the fencer's log: marked dead, IPMI done, recovery.
#
#   BENCH_NVM=6 BENCH_CASES="5:6:0 1:3:2" bash bench/fence.sh
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build first (make)"

NVM=${BENCH_NVM:-6}
FAKE=$PVCT_WORK/fakebin
mkdir -p "$FAKE"
install -m 0755 "$PVCT_ROOT/tests/lib/fake-ipmitool" "$FAKE/ipmitool"
printf 'SLEEP=0\n' >"$FAKE/fake-ipmitool.ctl"
chmod 0755 "$PVCT_WORK" "$FAKE"
chmod 0644 "$FAKE/fake-ipmitool.ctl"
export PATH="$FAKE:$PATH"
uuid_of() { printf '%08d-0000-4000-8000-7000%08d\n' "$1" "$1"; }

log_ms() {
	"$PVCT_PY" -c 'import sys,time,datetime
s=sys.argv[1]
d=datetime.datetime.strptime(s, "%Y/%m/%d %H:%M:%S.%f")
print(int(time.mktime(d.timetuple())*1000 + d.microsecond//1000))' "$1"
}
line_ms() { # ERE FILE... -> epoch ms of the earliest matching line
	local l
	l=$(grep -h -E "$1" "${@:2}" | grep -oE '[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]{8}\.[0-9]{6}' |
		sort | head -n1)
	[[ -n $l ]] || return 1
	log_ms "$l"
}
all_elsewhere() {
	local i u n
	for i in $(seq 1 "$NVM"); do
		u=$(uuid_of "$i")
		n=$(zkcli get "/domains/$u/node")
		[[ $n != hv1 && $(zkcli get "/domains/$u/state") == start ]] || return 1
		zkcli get "/nodes/$n/runningdomains" | grep -q "$u" || return 1
	done
}
all_on_hv1() {
	local r
	r=$(zkcli get /nodes/hv1/runningdomains)
	[[ $(wc -w <<<"$r") -eq $NVM ]]
}

run_case() { # KEEPALIVE FENCE SUICIDE
	local ka=$1 fi=$2 si=$3 n i t0 t1 dir logs
	dir=$PVCT_WORK/c$ka-$fi
	mkdir -p "$dir"
	chmod 0755 "$dir"
	zk_start_standalone
	NODE_ZK=$(zk_connect_string)
	export ZK_HOSTS=$NODE_ZK
	zkcli init-cluster >/dev/null
	for n in hv1 hv2 hv3; do
		printf '<node><cpu><mode>paravirt</mode><active>16</active><total>16</total></cpu><memory>33554432</memory></node>\n' \
			>"$dir/$n.xml"
		chmod 0644 "$dir/$n.xml"
		NODE_HYPERVISOR=true NODE_KEEPALIVE=$ka NODE_FENCE=$fi NODE_SUICIDE=$si \
			NODE_SUPERVISOR_EXTRA="      hang_timeout_ms: 60000" \
			NODE_LIBVIRT_URI="test://$dir/$n.xml" node_config "$n" >/dev/null
		: >"$(node_log $n)"
		node_start "$n"
	done
	for n in hv1 hv2 hv3; do node_wait_ready "$n" 30 || { echo "start of $n failed" >&2; return 1; }; done
	for n in hv1 hv2 hv3; do zkcli set "/nodes/$n/domainstate" ready >/dev/null; done
	for i in $(seq 1 "$NVM"); do
		printf "<domain type='test'><name>vm%s</name><uuid>%s</uuid><memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n" \
			"$i" "$(uuid_of "$i")" >"$dir/vm$i.xml"
		chmod 0644 "$dir/vm$i.xml"
		zkcli define-vm "$(uuid_of "$i")" "vm$i" hv1 "$dir/vm$i.xml" --state start >/dev/null
	done
	wait_for 60 all_on_hv1 || { echo "VMs did not start on hv1" >&2; return 1; }
	sleep "$((2 * ka))" # a steady state: every node has judged a few rounds
	t0=$(now_ms)
	node_kill hv1
	if ! wait_for $((ka * (fi + 8) + 60)) all_elsewhere; then
		echo "keepalive $ka s, fence_intervals $fi: VMs not recovered" >&2
		return 1
	fi
	t1=$(now_ms)
	logs=("$(node_log hv2)" "$(node_log hv3)")
	local tm ti tr ts=0 x
	# the last VM started, from the targets' own logs (the poll above is coarse)
	for i in $(seq 1 "$NVM"); do
		x=$(line_ms "vm vm$i: started" "${logs[@]}") || x=$t1
		((x > ts)) && ts=$x
	done
	tm=$(line_ms "fence: node hv1: marked .dead." "${logs[@]}") || tm=$t0
	ti=$(line_ms "fence: node hv1: IPMI fence (succeeded|FAILED)" "${logs[@]}") || ti=$t0
	tr=$(line_ms "fence: node hv1: recovery done" "${logs[@]}") || tr=$t0
	printf 'keepalive %ss fence_intervals %s: death -> all %d VMs running elsewhere: %.1f s (marked dead %.1f s, IPMI done %.1f s, recovery written %.1f s; seen by polling %.1f s)\n' \
		"$ka" "$fi" "$NVM" "$(((ts - t0)))e-3" "$(((tm - t0)))e-3" "$(((ti - t0)))e-3" "$(((tr - t0)))e-3" "$(((t1 - t0)))e-3"
	for n in hv2 hv3; do node_stop "$n" 20 || true; done
	zk_stop_all
}

for c in ${BENCH_CASES:-5:6:0 1:3:2}; do
	IFS=: read -r ka fi si <<<"$c"
	run_case "$ka" "$fi" "$si"
done
echo "reference daemon (ref §3.8): ~60 s with keepalive 5 s, fence_intervals 6"
