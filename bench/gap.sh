#!/bin/bash
# shellcheck disable=SC2034,SC2016,SC2119,SC1091 # variables read by the sourced libraries; on_exit strings are eval'd later
# bench/gap.sh: what a client of the cluster floating IP sees during primary
# changes (figures, not a test; `make bench-gap`). Needs root.
#
# 3 coordinators (networking on, hypervisor off), each in its own network
# namespace pvcg-n1..3 ("ens4" on the bridge pvcg-br0), a standalone ZooKeeper
# on the bridge's host address, and a client namespace pvcg-cli whose
# build/bench/gap_ping sends an ICMP echo to the cluster floating IP every
# millisecond and records the kernel receive time of every reply. Event classes:
#
#   planned switchover  GAP_SWITCHES (20): /primary_node := another coordinator
#                       (what `pvc node primary` writes, as bench/election.sh)
#   daemon kill -9      GAP_KILLS (3): SIGKILL to the primary's pvcnoded (the
#                       supervisor; its workers see it vanish), host and link up.
#                       GAP_KILL_TREE=1: the whole process group instead
#   host death          GAP_DEATHS (3): the primary's link down (host end of its
#                       veth) + SIGKILL of its whole process group
#
# For every event: gap = time between the last reply before the outage and the
# first reply after it. Planned switchover: the interval between replies that
# spans the moment the address left the old primary (ip -ts monitor address in
# every node namespace, mon-NODE.log), so that host noise elsewhere in the
# window is not counted; kill and death: the largest interval between replies in
# the event's window. 1 ms = the client noticed nothing. Prints n, p50, p99 and
# max per class at the session timeout GAP_T_MS (4000), and a baseline (the same
# pings while nothing happens: the host's own noise).
#
# GAP_KEEP=1 keeps the work dir (node logs, replies.txt, marks.txt,
# mon-NODE.log); GAP_TRACE=1 also records there br.pcap (ZooKeeper traffic and
# ARP on the bridge) and cli.pcap (ARP at the client), for a breakdown of each
# event. GAP_BUILD=DIR runs the daemons of another build directory (default
# $PVCT_BUILD). GAP_INTERVAL_US (1000) is the ping period. GAP_NICE=N renices
# ZooKeeper, the daemons and the pinger (an experiment: how much of a gap is
# waiting for a CPU on a busy host).
#
# Own names and addresses so it can run beside the test suite: namespaces and
# links pvcg-*, networks 10.230.0.0/24 (cluster, floating .254), 10.231.0.0/24
# (upstream), 10.232.0.0/24 (storage), ZooKeeper on 10.230.0.250 at a free port.
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh" # netns_add_ns only: the pvct-* set-up is not ours
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
((EUID == 0)) || { echo "gap: needs root (network namespaces, raw sockets)"; exit 1; }

T_MS=${GAP_T_MS:-4000}
SWITCHES=${GAP_SWITCHES:-20}
KILLS=${GAP_KILLS:-3}
DEATHS=${GAP_DEATHS:-3}
INTERVAL_US=${GAP_INTERVAL_US:-1000}
GBUILD=${GAP_BUILD:-$PVCT_BUILD}
[[ $GBUILD == /* ]] || GBUILD=$PVCT_ROOT/$GBUILD
PING=$PVCT_BUILD/bench/gap_ping
[[ -x $GBUILD/pvcnoded ]] || { echo "gap: $GBUILD/pvcnoded missing (make all)"; exit 1; }
[[ -x $PING ]] || { echo "gap: $PING missing (make $PVCT_BUILD/bench/gap_ping)"; exit 1; }
export PVCT_DAEMON=$GBUILD/pvcnoded
[[ -n ${GAP_KEEP:-} ]] && export PVCT_KEEP=1

PFX=pvcg
NETNS_BR=$PFX-br0
NET=10.230.0
HOST_ADDR=$NET.250
CLI_ADDR=$NET.200
FLOAT=$NET.254
NODES="hv1 hv2 hv3"
ns_of() { printf '%s-n%s\n' "$PFX" "${1#hv}"; }
CLI_NS=$PFX-cli
MARKS=$PVCT_WORK/marks.txt
REPLIES=$PVCT_WORK/replies.txt

# ---- namespaces (ours only: pvcg-*) -----------------------------------------------
gap_net_down() {
	local ns pids link
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns == "$PFX"-* ]] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086 # PID list
		[[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	while read -r link; do
		ip link del "$link" 2>/dev/null || true
	done < <(ip -o link show 2>/dev/null | sed -n "s/^[0-9]*: \($PFX-[^:@]*\)[:@].*/\1/p")
}
gap_net_down # leftovers of a killed run
on_exit gap_net_down
ip link add "$NETNS_BR" type bridge
ip link set "$NETNS_BR" type bridge stp_state 0 forward_delay 0
ip addr add "$HOST_ADDR/24" dev "$NETNS_BR"
ip link set "$NETNS_BR" up
for n in $NODES; do netns_add_ns "$(ns_of "$n")" "$(ns_of "$n")h" ens4; done
netns_add_ns "$CLI_NS" "$PFX-clih" eth0
ip -n "$CLI_NS" addr add "$CLI_ADDR/24" dev eth0

ZK_ADDR=$HOST_ADDR
zk_start_standalone
export ZK_HOSTS
zkcli init-cluster >/dev/null 2>&1 || true
for n in $NODES; do
	NODE_ZK=$ZK_HOSTS NODE_NETWORKING=true NODE_SESSION_MS=$T_MS \
		NODE_CLUSTER_NET=$NET.0/24 NODE_CLUSTER_FLOAT=$FLOAT/24 \
		NODE_UPSTREAM_NET=10.231.0.0/24 NODE_UPSTREAM_FLOAT=10.231.0.254/24 \
		NODE_STORAGE_NET=10.232.0.0/24 NODE_STORAGE_FLOAT=10.232.0.254/24 \
		node_config "$n" >/dev/null
done

holds() { ip -n "$(ns_of "$1")" -br addr show 2>/dev/null | grep -q " $FLOAT/"; }
holders() {
	local n out=""
	for n in $NODES; do holds "$n" && out+="$n "; done
	printf '%s\n' "${out% }"
}
rs() { zkcli get "/nodes/$1/routerstate" 2>/dev/null || true; }
# exactly one holder, it is not $1, and its routerstate is primary
settled_not() {
	local h
	h=$(holders)
	[[ -n $h && $h != *" "* && $h != "${1:-}" && $(rs "$h") == primary ]]
}
mark() { printf '%s %s %s\n' "${EPOCHREALTIME}" "$1" "$2" >>"$MARKS"; }

if [[ -n ${GAP_TRACE:-} ]]; then
	# kernel-timestamped evidence for a breakdown: ZooKeeper traffic and ARP on
	# the bridge, ARP at the client
	TRACE_PIDS=()
	tcpdump -i "$NETNS_BR" -n -U -s 0 -w "$PVCT_WORK/br.pcap" "tcp port $ZK_PORT or arp" 2>/dev/null &
	TRACE_PIDS+=($!)
	ip netns exec "$CLI_NS" tcpdump -i eth0 -n -U -s 128 -w "$PVCT_WORK/cli.pcap" arp 2>/dev/null &
	TRACE_PIDS+=($!)
	on_exit 'kill ${TRACE_PIDS[*]} 2>/dev/null'
	sleep 1
fi
# when the floating address leaves the old primary: the moment a planned
# switchover's gap must span (kernel address events, timestamped by ip)
MON_PIDS=()
for n in $NODES; do
	ip -n "$(ns_of "$n")" -ts monitor address >"$PVCT_WORK/mon-$n.log" 2>&1 &
	MON_PIDS+=($!)
done
on_exit 'kill ${MON_PIDS[*]} 2>/dev/null'
for n in $NODES; do node_start "$n" "$(ns_of "$n")"; done
for n in $NODES; do
	node_wait_ready "$n" 30 || { echo "gap: $n not ready; see $(node_log "$n")"; exit 1; }
done
wait_for 30 settled_not "" || { echo "gap: no primary holding $FLOAT after 30 s"; exit 1; }
# GAP_NICE=N (experiment): renice ZooKeeper and everything in our namespaces to N,
# i.e. what `Nice=N` in the units would do, to see how much of a gap is waiting for a CPU
gap_nice() {
	[[ -n ${GAP_NICE:-} ]] || return 0
	local ns pids
	pids="$ZK_PID"
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns == "$PFX"-* ]] && pids+=" $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
	done
	# nice is per thread: every task of every process (the JVM has many)
	local p tids=""
	local t
	for p in $pids; do
		for t in /proc/"$p"/task/*; do [[ -e $t ]] && tids+=" ${t##*/}"; done
	done
	# shellcheck disable=SC2086 # TID list
	renice -n "$GAP_NICE" -p $tids >/dev/null 2>&1 || true
}
gap_nice

ip netns exec "$CLI_NS" "$PING" "$FLOAT" "$REPLIES" "$INTERVAL_US" 2>"$PVCT_WORK/ping.err" &
PING_PID=$!
on_exit "kill -TERM $PING_PID 2>/dev/null; wait $PING_PID 2>/dev/null"
sleep 2
gap_nice
[[ -s $REPLIES ]] || { echo "gap: no reply from $FLOAT"; exit 1; }

failed=0
# restart NODE after a kill and wait until it is a secondary again
bring_back() {
	local n=$1
	ip link set "$(ns_of "$n")h" up
	node_start "$n" "$(ns_of "$n")"
	node_wait_ready "$n" 30 || true
	gap_nice
	wait_for 30 bash -c "[[ \$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /nodes/$n/routerstate) == secondary ]]" ||
		echo "gap: $n not secondary again" >&2
}

# ---- planned switchovers -----------------------------------------------------------
for ((i = 0; i < SWITCHES; i++)); do
	P=$(holders)
	others=()
	for n in $NODES; do [[ $n != "$P" ]] && others+=("$n"); done
	tgt=${others[i % 2]}
	mark switch "$P->$tgt"
	zkcli set /primary_node "$tgt"
	if ! wait_for 5 settled_not "$P"; then
		echo "gap: switchover $P -> $tgt did not settle in 5 s (holders '$(holders)')" >&2
		failed=$((failed + 1))
	fi
	mark settle "$P"
	sleep 0.3
done

# ---- daemon kill -9, host alive ------------------------------------------------------
for ((i = 0; i < KILLS; i++)); do
	P=$(holders)
	mark kill "$P"
	if [[ -n ${GAP_KILL_TREE:-} ]]; then
		node_kill "$P"
	else
		kill -KILL "$(node_pid "$P")"
	fi
	if ! wait_for $(((T_MS + 10000) / 1000)) settled_not "$P"; then
		echo "gap: no new holder after kill -9 of $P" >&2
		failed=$((failed + 1))
	fi
	sleep 0.3
	mark settle "$P"
	node_kill "$P" # whatever is left of it
	bring_back "$P"
	sleep 0.5
done

# ---- host death: link down + kill -9 of the whole process group ---------------------------
for ((i = 0; i < DEATHS; i++)); do
	P=$(holders)
	mark death "$P"
	ip link set "$(ns_of "$P")h" down
	node_kill "$P"
	if ! wait_for $(((T_MS + 10000) / 1000)) settled_not "$P"; then
		echo "gap: no new holder after the death of $P" >&2
		failed=$((failed + 1))
	fi
	sleep 0.3
	mark settle "$P"
	bring_back "$P"
	sleep 0.5
done
mark end -

kill -TERM "$PING_PID"
wait "$PING_PID" 2>/dev/null || true
cat "$PVCT_WORK/ping.err"

"$PVCT_PY" - "$MARKS" "$REPLIES" "$T_MS" "$failed" "$FLOAT" "$PVCT_WORK" <<'PY'
import bisect, datetime, re, sys
marks_f, replies_f, t_ms, failed, flt, work = sys.argv[1:7]
failed = int(failed)
marks = []
for line in open(marks_f):
    t, kind, what = line.split()
    marks.append((float(t), kind, what))
rt = sorted(float(l.split()[0]) for l in open(replies_f) if l.strip())
# times the floating address was deleted, per node (ip -ts monitor address)
dels = {}
for n in ("hv1", "hv2", "hv3"):
    d = []
    try:
        for line in open("%s/mon-%s.log" % (work, n)):
            m = re.match(r"\[([0-9T:.-]+)\]\s+Deleted .*inet %s/" % re.escape(flt), line)
            if m:
                d.append(datetime.datetime.fromisoformat(m.group(1)).timestamp())
    except OSError:
        pass
    dels[n] = sorted(d)
names = {"switch": "planned switchover", "kill": "daemon kill -9", "death": "host death"}
gaps = {k: [] for k in names}
worst = {k: None for k in names}
busy = []  # [start, end] of every event window
for i, (t0, kind, what) in enumerate(marks):
    if kind not in names:
        continue
    t1 = marks[i + 1][0] if i + 1 < len(marks) else float("inf")
    busy.append((t0, t1))
    best = None
    if kind == "switch":
        # the interval between replies that spans the old holder's address removal
        old = what.split("->")[0]
        d = [x for x in dels.get(old, []) if t0 <= x <= t1]
        if d:
            m = bisect.bisect_right(rt, d[0])
            if 0 < m < len(rt):
                best = (rt[m] - rt[m - 1], rt[m - 1], rt[m])
                # ip's timestamp may trail the kernel's removal: never under-report
                for q in range(bisect.bisect_right(rt, d[0] - 0.05), m):
                    if q > 0 and rt[q] - rt[q - 1] > best[0]:
                        best = (rt[q] - rt[q - 1], rt[q - 1], rt[q])
    if best is None:
        # otherwise: the largest interval between replies ending in (t0, t1]
        j = bisect.bisect_right(rt, t0)
        k = bisect.bisect_right(rt, t1)
        for m in range(max(j, 1), k):
            g = rt[m] - rt[m - 1]
            if best is None or g > best[0]:
                best = (g, rt[m - 1], rt[m])
    if best is None:
        print("%s %s: no reply after the event" % (names[kind], what))
        continue
    gaps[kind].append(best[0] * 1000)
    if worst[kind] is None or best[0] > worst[kind][0]:
        worst[kind] = best + (what,)

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]

print("client gap at the cluster floating IP, 1 ms pings, session timeout %s ms" % t_ms)
for k, name in names.items():
    v = gaps[k]
    if not v:
        print("%-20s no events" % name)
        continue
    print("%-20s n=%-3d p50=%9.1f ms  p99=%9.1f ms  max=%9.1f ms" % (name, len(v), pct(v, 50), pct(v, 99), max(v)))
# the same pings while nothing happened: what the host itself costs
quiet, qs = [], 0.0
for m in range(1, len(rt)):
    a, b = rt[m - 1], rt[m]
    if any(s <= b and a <= e for s, e in busy):
        continue
    quiet.append((b - a) * 1000)
    qs += b - a
if quiet:
    print("%-20s %.0f s without events: p50=%.1f ms  p99.9=%.1f ms  max=%.1f ms  %d gap(s) > 5 ms" %
          ("baseline", qs, pct(quiet, 50), pct(quiet, 99.9), max(quiet), sum(1 for g in quiet if g > 5)))
for k, name in names.items():
    if worst[k]:
        g, a, b, what = worst[k]
        print("  worst %s (%s): last reply %.6f, next %.6f" % (name, what, a, b))
if failed:
    print("%d event(s) did not settle (see above)" % failed)
PY
