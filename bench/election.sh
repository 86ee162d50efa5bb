#!/bin/bash
# bench/election.sh: figures for the zk-election primary election (not a test).
#
# 3 coordinators on one host against a standalone ZooKeeper, networking disabled:
# the router state is the primary's only resource, so "holding everything" means
# routerstate `primary` and "holding nothing" routerstate `secondary`.
#
#   planned switchover  BENCH_SWITCH_RUNS (100): /primary_node := X, time until
#                       X is primary and the old primary secondary
#   contention          BENCH_CONTENTION_RUNS (200): /primary_node := none, time
#                       until one winner is primary; overlaps counted
#   dead primary        BENCH_KILL_RUNS (10): kill -9 of the primary's process
#                       group, time until another node is primary (T = 4000 ms)
#   cold start          BENCH_COLD_RUNS (50): 3 coordinators started at once,
#                       time to the first primary; runs with != 1 primary counted
# An observer (tests/integration/t10-observer.py) samples every routerstate every
# 5 ms for the whole run and reports instants with two primaries.
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"
. "$(dirname "$0")/../tests/lib/zk.sh"
. "$(dirname "$0")/../tests/lib/node.sh"

SWITCH_RUNS=${BENCH_SWITCH_RUNS:-100}
CONT_RUNS=${BENCH_CONTENTION_RUNS:-200}
KILL_RUNS=${BENCH_KILL_RUNS:-10}
COLD_RUNS=${BENCH_COLD_RUNS:-50}
T_MS=4000
[[ -x $PVCT_BUILD/pvcnoded ]] || { echo "build/pvcnoded missing (make first)"; exit 1; }

zk_start_standalone
export ZK_HOSTS
NODE_ZK=$ZK_HOSTS
NODE_SESSION_MS=$T_MS
NODES="hv1 hv2 hv3"
for n in $NODES; do node_config "$n" >/dev/null; done

DRV=$PVCT_WORK/drv.py
cat >"$DRV" <<'PY'
import sys, time
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

hosts, mode = sys.argv[1], sys.argv[2]
nodes = ["hv1", "hv2", "hv3"]
zk = KazooClient(hosts=hosts, timeout=10.0)
zk.start(timeout=10.0)

def rs(n):
    try:
        return zk.get("/nodes/%s/routerstate" % n)[0].decode()
    except NoNodeError:
        return ""

def prims():
    return [n for n in nodes if rs(n) == "primary"]

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]

def fig(name, v):
    if not v:
        print("%-22s no samples" % name)
        return
    print("%-22s n=%d p50=%.1f ms p99=%.1f ms max=%.1f ms" % (name, len(v), pct(v, 50), pct(v, 99), max(v)))

def wait_one_primary(deadline):
    while time.time() < deadline:
        p = prims()
        if len(p) == 1:
            return p[0]
        time.sleep(0.002)
    return None

if mode == "switch":
    runs, lat, bad = int(sys.argv[3]), [], 0
    for i in range(runs):
        old = wait_one_primary(time.time() + 5)
        tgt = [n for n in nodes if n != old][i % 2]
        t0 = time.time()
        zk.set("/primary_node", tgt.encode())
        while time.time() - t0 < 5:
            if rs(tgt) == "primary" and rs(old) == "secondary":
                lat.append((time.time() - t0) * 1000)
                break
        else:
            bad += 1
        time.sleep(0.05)
    fig("planned switchover", lat)
    print("%-22s %d of %d runs did not complete within 5 s" % ("", bad, runs))
elif mode == "contention":
    runs, lat, bad, multi = int(sys.argv[3]), [], 0, 0
    for i in range(runs):
        old = wait_one_primary(time.time() + 10)
        t0 = time.time()
        zk.set("/primary_node", b"none")
        won = None
        while time.time() - t0 < 10:
            p = zk.get("/primary_node")[0].decode()
            if p != "none" and rs(p) == "primary":
                won = p
                break
        if won is None:
            bad += 1
            continue
        lat.append((time.time() - t0) * 1000)
        time.sleep(0.03)
        if len(prims()) != 1:
            multi += 1
    fig("contention (none)", lat)
    print("%-22s %d runs without a winner in 10 s, %d with != 1 primary after 30 ms" % ("", bad, multi))
elif mode == "wait-other":
    old, t0 = sys.argv[3], int(sys.argv[4]) / 1000.0
    while time.time() - t0 < 20:
        p = prims()
        if len(p) == 1 and p[0] != old:
            print("%.1f" % ((time.time() - t0) * 1000))
            break
        time.sleep(0.002)
    else:
        print("-1")
elif mode == "wait-one":
    t0 = int(sys.argv[3]) / 1000.0
    p = wait_one_primary(t0 + 15)
    time.sleep(0.5)
    ok = p is not None and len(prims()) == 1 and zk.get("/primary_node")[0].decode() == p
    print("%.1f %s" % ((time.time() - 0.5 - t0) * 1000, "ok" if ok else "bad"))
elif mode == "fig":
    fig(sys.argv[3], [float(x) for x in sys.argv[4:] if float(x) >= 0])
zk.stop()
PY

"$PVCT_PY" "$PVCT_ROOT/tests/integration/t10-observer.py" "$ZK_HOSTS" $NODES --out "$PVCT_WORK/obs.log" &
OBS_PID=$!
on_exit "kill -TERM $OBS_PID 2>/dev/null"

stop_all() {
	local n pids=()
	for n in $NODES; do node_stop "$n" 15 & pids+=($!); done
	wait "${pids[@]}" || true
}

# cold starts
cold=() coldbad=0
for ((i = 0; i < COLD_RUNS; i++)); do
	zkcli delete -r /primary_node >/dev/null 2>&1 || true
	zkcli delete -r /nodes >/dev/null 2>&1 || true
	t0=$(now_ms)
	for n in $NODES; do node_start "$n"; done
	read -r ms verdict < <("$PVCT_PY" "$DRV" "$ZK_HOSTS" wait-one "$t0")
	[[ $verdict == ok ]] || coldbad=$((coldbad + 1))
	cold+=("$ms")
	stop_all
done

for n in $NODES; do node_start "$n"; done
"$PVCT_PY" "$DRV" "$ZK_HOSTS" wait-one "$(now_ms)" >/dev/null
"$PVCT_PY" "$DRV" "$ZK_HOSTS" switch "$SWITCH_RUNS"
"$PVCT_PY" "$DRV" "$ZK_HOSTS" contention "$CONT_RUNS"

# dead primary
kills=() killbad=0
for ((i = 0; i < KILL_RUNS; i++)); do
	"$PVCT_PY" "$DRV" "$ZK_HOSTS" wait-one "$(now_ms)" >/dev/null
	P=""
	for n in $NODES; do [[ $(zkcli get "/nodes/$n/routerstate") == primary ]] && P=$n; done
	t0=$(now_ms)
	node_kill "$P"
	ms=$("$PVCT_PY" "$DRV" "$ZK_HOSTS" wait-other "$P" "$t0")
	[[ $ms == -1 ]] && killbad=$((killbad + 1))
	kills+=("$ms")
	node_start "$P"
	wait_for 10 bash -c "[[ \$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /nodes/$P/routerstate) == secondary ]]" || true
done
stop_all
kill -TERM "$OBS_PID"
wait "$OBS_PID" || true

"$PVCT_PY" "$DRV" "$ZK_HOSTS" fig "dead-primary failover" "${kills[@]}"
echo "                       session timeout $T_MS ms; $killbad of $KILL_RUNS runs without a new primary in 20 s"
"$PVCT_PY" "$DRV" "$ZK_HOSTS" fig "cold start (3 at once)" "${cold[@]}"
echo "                       $coldbad of $COLD_RUNS runs without exactly one primary named by /primary_node"
echo "observer: $(grep -c OVERLAP "$PVCT_WORK/obs.log" | head -1) line(s) mentioning OVERLAP; $(tail -n1 "$PVCT_WORK/obs.log")"
