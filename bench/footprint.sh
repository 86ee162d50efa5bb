#!/bin/bash
# shellcheck disable=SC2034 # ZK_ADDR, NODE_*: read by the sourced test libraries
# bench/footprint.sh: memory and idle CPU of one node's processes (figures, not
# a test; `make bench-footprint`).
#
# 3 coordinators in network namespaces (networking on, no client networks;
# hypervisor on with the libvirt test driver, no VMs), keepalive 5 s, ZooKeeper
# session timeout 4000 ms, standalone ZooKeeper on the test bridge. Once one node
# is primary and BENCH_FOOTPRINT_SETTLE (15) s passed, it samples the primary and
# one secondary over BENCH_FOOTPRINT_SECONDS (60) s, per process of the node (the
# supervisor and everything below it):
#   memory   /proc/PID/smaps_rollup at the end of the window: PSS (shared pages
#            split among every process mapping them: the other two nodes on this
#            host too), RSS, and private (clean + dirty) pages
#   CPU      on-CPU time in the window: schedstat (ns, summed over threads) and
#            utime+stime from /proc/PID/stat (10 ms ticks, for comparison)
#   wakeups  voluntary + nonvoluntary context switches in the window, summed
#            over /proc/PID/task/*/status (each thread counts its own)
# Goals (issue "House and footprint"): PSS of a node < 8 MiB, idle CPU of a node
# < 0.05 % of a core (< 30 ms CPU per minute). Needs root (network namespaces).
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
((EUID == 0)) || { echo "footprint: needs root (network namespaces)"; exit 0; }
SECS=${BENCH_FOOTPRINT_SECONDS:-60}
SETTLE=${BENCH_FOOTPRINT_SETTLE:-15}
NODES="hv1 hv2 hv3"
[[ -x $PVCT_BUILD/pvcnoded ]] || { echo "footprint: $PVCT_BUILD/pvcnoded missing (make all)"; exit 1; }

chmod 0711 "$PVCT_WORK"
netns_setup 3
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
export ZK_HOSTS
zkcli init-cluster >/dev/null
for n in $NODES; do
	# An empty test-driver host: test:///default would bring a running VM.
	printf '<node><cpu><active>8</active><total>8</total></cpu><memory>8388608</memory></node>\n' \
		>"$PVCT_WORK/$n.xml"
	chmod 0644 "$PVCT_WORK/$n.xml"
	NODE_ZK=$ZK_HOSTS NODE_NETWORKING=true NODE_HYPERVISOR=true NODE_KEEPALIVE=5 \
		NODE_SESSION_MS=4000 NODE_LIBVIRT_URI="test://$PVCT_WORK/$n.xml" node_config "$n" >/dev/null
	node_start "$n" "$(netns_name "${n#hv}")"
done
for n in $NODES; do
	node_wait_ready "$n" 30 || { echo "footprint: $n not ready; see $(node_log "$n")"; exit 1; }
done
primary() { zkcli get /primary_node 2>/dev/null || true; }
is_primary() { local p; p=$(primary); [[ $p == hv? && $(zkcli get "/nodes/$p/routerstate" 2>/dev/null) == primary ]]; }
wait_for 60 is_primary || { echo "footprint: no primary after 60 s"; exit 1; }
P=$(primary)
S=hv1
[[ $P == hv1 ]] && S=hv2
sleep "$SETTLE"

# The supervisor and its descendants, one PID a line.
node_pids() {
	local root d pid stat rest q
	local -A ppid=()
	local -a f all=()
	root=$(node_pid "$1")
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		{ read -r stat <"$d/stat"; } 2>/dev/null || continue
		rest=${stat##*) }
		read -r -a f <<<"$rest"
		ppid[$pid]=${f[1]}
		all+=("$pid")
	done
	for pid in "${all[@]}"; do
		q=$pid
		while [[ -n $q && $q != 0 && $q != "$root" ]]; do q=${ppid[$q]:-}; done
		if [[ $q == "$root" ]]; then printf '%s\n' "$pid"; fi
	done
}

# sample PID: "comm cpu_ns ticks wakeups" (counters since the process started).
sample() {
	local pid=$1 stat rest comm t ns=0 sw=0 k v a
	local -a f
	{ read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
	comm=${stat#*(}
	comm=${comm%)*}
	rest=${stat##*) }
	read -r -a f <<<"$rest"
	for t in /proc/"$pid"/task/*; do
		{ read -r a _ <"$t/schedstat"; } 2>/dev/null && ns=$((ns + a))
		while read -r k v; do
			[[ $k == *ctxt_switches: ]] && sw=$((sw + v))
		done <"$t/status" 2>/dev/null || true
	done
	printf '%s %s %s %s\n' "$comm" "$ns" "$((f[11] + f[12]))" "$sw"
}

# mem PID: "PSS RSS private" in KiB (private = what this process alone maps).
mem() {
	awk '/^Pss:/ { p = $2 } /^Rss:/ { r = $2 } /^Private_(Clean|Dirty):/ { u += $2 }
		END { print p + 0, r + 0, u + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0 0 0
}

declare -A PIDS0 S0 T0
snap0() {
	local n=$1 pid
	PIDS0[$n]=$(node_pids "$n" | tr '\n' ' ')
	T0[$n]=${EPOCHREALTIME/./}
	for pid in ${PIDS0[$n]}; do S0[$pid]=$(sample "$pid" || echo "? 0 0 0"); done
}

# report NODE ROLE: one line per process "comm pid pss dns dticks dwakeups",
# formatted (and totalled) by awk over the real length of the window.
report() {
	local n=$1 role=$2 pid now c1 ns1 t1 w1 c0 ns0 t0 w0 us
	us=$((${EPOCHREALTIME/./} - T0[$n]))
	printf '\nnode %s (%s), %d s idle window, keepalive 5 s, session 4000 ms\n' "$n" "$role" "$SECS"
	for pid in ${PIDS0[$n]}; do
		if read -r c1 ns1 t1 w1 < <(sample "$pid"); then
			read -r c0 ns0 t0 w0 <<<"${S0[$pid]}"
			echo "$c1 $pid $(mem "$pid") $((ns1 - ns0)) $((t1 - t0)) $((w1 - w0))"
		else
			echo "gone $pid 0 0 0 0 0 0"
		fi
	done | awk -v us="$us" '
	function row(c, pid, p, r, u, ns, t, w) {
		printf "  %-12s %7s %8d %8d %8d %8.1f %8d %8d %7.2f\n", c, pid, p, r, u, ns / 1e6, t * 10, w, w / s
	}
	BEGIN {
		s = us / 1e6
		printf "  %-12s %7s %8s %8s %8s %8s %8s %8s %7s\n", "process", "pid", "PSS KiB", "RSS KiB",
			"priv KiB", "CPU ms", "tick ms", "wakeups", "wake/s"
	}
	{ row($1, $2, $3, $4, $5, $6, $7, $8); P += $3; R += $4; U += $5; NS += $6; T += $7; W += $8 }
	END {
		row("total", "", P, R, U, NS, T, W)
		ms = NS / 1e6
		printf "  => PSS %.2f MiB (goal < 8 MiB); CPU %.4f %% of a core = %.1f ms CPU per minute (goal < 0.05 %%, < 30 ms/min)\n",
			P / 1024, ms / (s * 1000) * 100, ms * 60 / s
	}'
	now=$(node_pids "$n" | tr '\n' ' ')
	[[ $now == "${PIDS0[$n]}" ]] || printf '  note: process set changed: was %s now %s\n' "${PIDS0[$n]}" "$now"
}

echo "footprint: build $PVCT_BUILD, primary $P, sampling $P and $S for $SECS s"
snap0 "$P"
snap0 "$S"
sleep "$SECS"
report "$P" primary
report "$S" secondary
for n in $NODES; do node_stop "$n" 15 & done
wait
