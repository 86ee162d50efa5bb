#!/bin/bash
# bench/flush.sh: flush and unflush of a node running 100 VMs (libvirt test driver,
# so every move is a cold migration: live attempt fails, shutdown, start on the
# receiver), on a local 3-node cluster with its own ZooKeeper, for 1 and 4 moves in
# flight. Prints total time and per-VM p50/p99 (from the flush worker's "VM ... in N
# ms" lines: from taking the VM up to seeing it run at its destination). VMs are
# 64..512 MiB so that all fit on the two other nodes (the simulated nodes share the
# host's memory figures); a VM without room would be shut down instead.
#
#   BENCH_NVM=100 BENCH_IN_FLIGHT="1 4" bash bench/flush.sh
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
[[ -x $PVCT_BUILD/pvcnoded && -x $PVCT_BUILD/pvcctl ]] || skip_all "build first (make)"

NVM=${BENCH_NVM:-100}
uuid_of() { printf '%08d-0000-4000-8000-%012d\n' "$1" "$1"; }

# per-VM durations (ms) of the given job since line MARK of LOG -> "p50 p99 n"
percentiles() { # LOG MARK KIND
	tail -n +"$2" "$1" | sed -n "s/.* - flush - $3: VM [0-9a-f-]* .* in \([0-9]*\) ms$/\1/p" | sort -n |
		awk '{a[NR]=$1} END { if (NR == 0) { print "- - 0"; exit }
			i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999);
			if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1;
			print a[i50], a[i99], NR }'
}

run_one() { # IN_FLIGHT
	local inf=$1 n i u x t0 t1 mark log cfg p
	zk_start_standalone
	NODE_ZK=$(zk_connect_string)
	export ZK_HOSTS=$NODE_ZK
	zkcli init-cluster >/dev/null
	for n in hv1 hv2 hv3; do
		mkdir -p "$PVCT_WORK/if$inf"
		cat >"$PVCT_WORK/if$inf-$n.xml" <<'X'
<node>
  <cpu><mode>paravirt</mode><active>256</active><total>256</total></cpu>
  <memory>536870912</memory>
</node>
X
		chmod 0644 "$PVCT_WORK/if$inf-$n.xml"
		NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
			NODE_EXTRA_SYSTEM=$'    flush:\n      vm_timeout: 60\n      in_flight: '"$inf" \
			NODE_LIBVIRT_URI="test://$PVCT_WORK/if$inf-$n.xml" node_config $n >/dev/null
		node_start $n
	done
	for n in hv1 hv2 hv3; do node_wait_ready $n 30 || { echo "$n did not start"; return 1; }; done
	cfg=$(node_dir hv1)/pvcnoded.yaml
	log=$(node_log hv1)
	for n in hv1 hv2 hv3; do "$PVCT_BUILD/pvcctl" -c "$cfg" node ready --wait --timeout 30 $n >/dev/null; done
	for i in $(seq 1 "$NVM"); do
		u=$(uuid_of "$i")
		x=$PVCT_WORK/if$inf-vm$i.xml
		printf "<domain type='test'><name>vm%s</name><uuid>%s</uuid><memory>%d</memory><vcpu>%d</vcpu><os><type>hvm</type></os></domain>\n" \
			"$i" "$u" $((65536 * (i % 8 + 1))) $((i % 4 + 1)) >"$x"
		zkcli define-vm "$u" "vm$i" hv1 "$x" --state start >/dev/null
	done
	running() { [[ $(zkcli get /nodes/hv1/runningdomains | wc -w) -eq $NVM ]]; }
	wait_for 120 running || { echo "VMs did not start"; return 1; }
	sleep 2 # let the keepalives publish the figures

	mark=$(wc -l <"$log")
	t0=$(now_ms)
	"$PVCT_BUILD/pvcctl" -c "$cfg" node flush --wait --timeout 3600 >/dev/null || echo "(flush reported failure)"
	t1=$(now_ms)
	read -r p50 p99 cnt < <(percentiles "$log" "$mark" flush)
	sd=$(tail -n +"$mark" "$log" | grep -c 'flush: no target for VM') || true
	printf 'in_flight=%s flush   %3d VMs: total %6.1f s, per VM p50 %5s ms p99 %5s ms (%s moved)\n' \
		"$inf" "$NVM" "$(awk "BEGIN{print ($t1-$t0)/1000}")" "$p50" "$p99" "$cnt"
	[[ $sd == 0 ]] || echo "  ($sd of them had no target and were shut down instead)"
	mark=$(wc -l <"$log")
	t0=$(now_ms)
	"$PVCT_BUILD/pvcctl" -c "$cfg" node unflush --wait --timeout 3600 >/dev/null || echo "(unflush reported failure)"
	t1=$(now_ms)
	read -r p50 p99 cnt < <(percentiles "$log" "$mark" unflush)
	printf 'in_flight=%s unflush %3d VMs: total %6.1f s, per VM p50 %5s ms p99 %5s ms (%s moved)\n' \
		"$inf" "$NVM" "$(awk "BEGIN{print ($t1-$t0)/1000}")" "$p50" "$p99" "$cnt"
	p=$(grep -c 'not moved' <(tail -n +1 "$log")) || true
	[[ $p == 0 ]] || echo "in_flight=$inf: $p job(s) ended with VMs not moved (see $log)"
	for n in hv1 hv2 hv3; do node_stop $n 20 >/dev/null 2>&1 || true; done
	zk_stop_all
}

for inf in ${BENCH_IN_FLIGHT:-1 4}; do
	run_one "$inf"
done
finish >/dev/null
