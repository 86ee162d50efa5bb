#!/bin/bash
# t10-election-network: the election with net-router holding the real primary
# resources (networking enabled): 3 coordinators in network namespaces against a
# standalone ZooKeeper on the test bridge. The observer is the kernel itself:
# `ip -ts monitor address` in every namespace records when the cluster floating
# address (10.200.0.254) appears and disappears; the case fails if two
# namespaces ever hold it at the same time (intervals from event timestamps).
#
#   planned switchover both ways, contention on none, kill -9 of the primary
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/zk.sh"
. "$(dirname "$0")/../lib/node.sh"

require_root
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make first)"
RUNS=${T10N_RUNS:-5}
FLOAT=10.200.0.254
T_MS=4000

netns_setup 3
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
export ZK_HOSTS
NODES="hv1 hv2 hv3"
ns_of() { netns_name "${1#hv}"; }
for n in $NODES; do
	NODE_ZK=$ZK_HOSTS NODE_NETWORKING=true NODE_SESSION_MS=$T_MS node_config "$n" >/dev/null
done

MON_PIDS=()
for n in $NODES; do
	ip -n "$(ns_of "$n")" -ts monitor address >"$PVCT_WORK/mon-$n.log" 2>&1 &
	MON_PIDS+=($!)
done
on_exit 'kill ${MON_PIDS[*]} 2>/dev/null'

holds() { ip -n "$(ns_of "$1")" -br addr show 2>/dev/null | grep -q " $FLOAT/"; }
holders() {
	local n out=""
	for n in $NODES; do holds "$n" && out+="$n "; done
	printf '%s\n' "${out% }"
}
one_holder() { local h; h=$(holders); [[ -n $h && $h != *" "* ]]; }
holder_not() { local h; h=$(holders); [[ -n $h && $h != *" "* && $h != "$1" ]]; }
rs() { zkcli get "/nodes/$1/routerstate" 2>/dev/null || true; }
primary_rs_is_holder() { local h; h=$(holders); [[ -n $h && $(rs "$h") == primary ]]; }

# overlaps: intervals [add, del) of the floating address per namespace
overlaps() {
	"$PVCT_PY" - "$FLOAT" "$PVCT_WORK"/mon-hv*.log <<'PY'
import re, sys, datetime
addr, files = sys.argv[1], sys.argv[2:]
iv = []
for f in files:
    node = f.rsplit("mon-", 1)[1][:-4]
    start = None
    for line in open(f):
        m = re.match(r"\[([0-9T:.-]+)\]\s+(Deleted )?.*inet %s/" % re.escape(addr), line)
        if not m:
            continue
        t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
        if m.group(2):
            if start is not None:
                iv.append((start, t, node))
            start = None
        elif start is None:
            start = t
    if start is not None:
        iv.append((start, float("inf"), node))
iv.sort()
bad = 0
for i in range(len(iv)):
    for j in range(i + 1, len(iv)):
        a, b = iv[i], iv[j]
        if a[2] != b[2] and b[0] < a[1]:
            bad += 1
            print("overlap: %s %.6f-%.6f and %s %.6f-%.6f" % (a[2], a[0], a[1], b[2], b[0], b[1]), file=sys.stderr)
print(bad, len(iv))
PY
}

for n in $NODES; do node_start "$n" "$(ns_of "$n")"; done
check "start: one namespace holds $FLOAT" wait_for 15 one_holder
check "start: the holder's routerstate is primary" wait_for 5 primary_rs_is_holder

check_eq "the primary publishes /upstream_ip" 10.201.0.254/24 \
	"$(wait_for 3 bash -c "[[ \$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /upstream_ip) != none ]]"; zkcli get /upstream_ip)"

bad=0
for ((i = 0; i < RUNS; i++)); do
	P=$(holders)
	for T in $NODES; do [[ $T != "$P" ]] && break; done
	zkcli set /primary_node "$T"
	wait_for 3 holder_not "$P" || { bad=$((bad + 1)); echo "switch to $T: holders '$(holders)'" >&2; }
	wait_for 3 primary_rs_is_holder || bad=$((bad + 1))
done
check_eq "planned switchover x$RUNS: the address moves with the primary" 0 "$bad"

bad=0
for ((i = 0; i < RUNS; i++)); do
	P=$(holders)
	zkcli set /primary_node none
	wait_for 5 holder_not "$P" || { bad=$((bad + 1)); echo "none: holders '$(holders)'" >&2; }
	wait_for 3 primary_rs_is_holder || bad=$((bad + 1))
done
check_eq "contention on none x$RUNS: the address moves to the winner" 0 "$bad"

# kill -9 of the holder's zk-election: the restarted worker resumes the session and
# renews net-router's lease in time: the address never goes away
P=$(holders)
dels_before=$(grep -c "Deleted.*inet $FLOAT/" "$PVCT_WORK/mon-$P.log" || true)
zpid=$(node_worker "$P" zk-election)
kill -KILL "$zpid"
sleep 3
npid=$(node_worker "$P" zk-election || true)
check "kill -9 zk-election of $P: restarted ($zpid -> $npid)" test -n "$npid" -a "$npid" != "$zpid"
check_eq "kill -9 zk-election: $P still the only holder" "$P" "$(holders)"
check_eq "kill -9 zk-election: the address was never removed" "$dels_before" \
	"$(grep -c "Deleted.*inet $FLOAT/" "$PVCT_WORK/mon-$P.log" || true)"

P=$(holders)
t0=$(now_ms)
node_kill "$P"
if wait_for $(((T_MS + 4000) / 1000)) holder_not "$P"; then
	t1=$(now_ms)
	check "kill -9 primary $P: another node holds $FLOAT after $((t1 - t0)) ms (limit $((T_MS + 1500)))" \
		test $((t1 - t0)) -le $((T_MS + 1500))
else
	fail "kill -9 primary $P: another node holds $FLOAT" "holders '$(holders)'"
fi
sleep 0.5
read -r nover niv < <(overlaps)
check_eq "never two holders of $FLOAT ($niv holding intervals)" 0 "$nover"

pids=()
for n in $NODES; do node_stop "$n" 15 & pids+=($!); done
wait "${pids[@]}" || true
finish
