#!/bin/bash
# bench/metadata.sh: figures for the metadata API (issue 17, item 3; not a test).
#
# The cluster of tests/services/s30-metadata.sh (tests/lib/metadata.sh): two
# coordinators, real ZooKeeper and PostgreSQL, a VM namespace with a DHCP lease.
#   load      build/bench/metadata from the VM, on meta-data/instance-id and on
#             user-data, a new connection per request (as cloud-init):
#             burst: BENCH_META_BURSTS (200) times BENCH_META_CLIENTS (50) requests
#               started at the same instant (50 VMs asking at once, as the
#               reference was measured: p99 2.3-2.6 s; target p99 < 10 ms)
#             closed loop: 50 clients for BENCH_META_SECONDS (5): requests/s (the
#               server at saturation; latency there is clients / throughput)
#             The generator runs on the same CPUs as the two nodes.
#   takeover  BENCH_META_RUNS (10) planned switchovers; a poller in the VM asks every
#             2 ms (50 ms connect timeout). Per run: the new primary's takeover
#             (zk-election's log line "taking over as primary coordinator": the decision, before net-router adds the addresses)
#             -> the VM's first answer from it (target < 100 ms; the reference:
#             4.1-4.8 s after the /primary_node write), and write -> answer, and the
#             outage the VM saw.
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"
. "$PVCT_ROOT/tests/lib/metadata.sh"
CLIENTS=${BENCH_META_CLIENTS:-50}
SECONDS_=${BENCH_META_SECONDS:-5}
RUNS=${BENCH_META_RUNS:-10}
BURSTS=${BENCH_META_BURSTS:-200}
if ((EUID != 0)); then
	echo "metadata bench: needs root (network namespaces)"
	exit 0
fi
[[ -x $PVCT_BUILD/pvc-metadata ]] || { echo "build/pvc-metadata missing (make first)"; exit 1; }
for need in /usr/lib/postgresql/15/bin/initdb /usr/sbin/dnsmasq "$(command -v curl || echo curl)" "$(command -v busybox || echo busybox)"; do
	[[ -x $need ]] || { echo "metadata bench: $need missing (tools/install-deps.sh --services): skipped"; exit 0; }
done
[[ -x $PVCT_BUILD/bench/metadata ]] || make -s -C "$PVCT_ROOT" "$PVCT_BUILD/bench/metadata"

meta_cluster_setup >"$PVCT_WORK/setup.log"
answers() { [[ $(meta_get /latest/user-data) == "200 #cloud-config"* ]]; }
wait_for 10 answers || { echo "metadata bench: no answer from the VM"; cat "$PVCT_WORK/setup.log"; exit 1; }

echo "load (primary $P, $(nproc) CPUs):"
for path in /latest/meta-data/instance-id /latest/user-data; do
	ip netns exec "$VM" "$PVCT_BUILD/bench/metadata" 169.254.169.254 80 "$path" "$CLIENTS" "burst:$BURSTS"
	ip netns exec "$VM" "$PVCT_BUILD/bench/metadata" 169.254.169.254 80 "$path" "$CLIENTS" "$SECONDS_"
done

cat >"$PVCT_WORK/poll.py" <<'PY'
import os, socket, sys, time
out, stop = sys.argv[1], sys.argv[2]
req = b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
events = []
while not os.path.exists(stop):
    t, ok = time.time(), False
    try:
        s = socket.create_connection(("169.254.169.254", 80), timeout=0.05)
        s.settimeout(0.2)
        s.sendall(req)
        ok = s.recv(64).startswith(b"HTTP/1.1 200")
        s.close()
    except OSError:
        pass
    events.append("%.6f %d" % (t, ok))
    time.sleep(0.002)
open(out, "w").write("\n".join(events) + "\n")
PY
# the wall-clock time (s) of the last "$2" line in node $1's log
log_time() {
	grep "$2" "$(node_log "$1")" | tail -n1 |
		sed -n 's/^[a-z]*: \([0-9/]* [0-9:.]*\) - .*/\1/p' |
		python3 -c 'import sys,datetime; print(datetime.datetime.strptime(sys.stdin.read().strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp())'
}
echo "takeover ($RUNS planned switchovers):"
: >"$PVCT_WORK/takeover.txt"
cur=$P
for ((r = 1; r <= RUNS; r++)); do
	next=hv1
	[[ $cur == hv1 ]] && next=hv2
	rm -f "$PVCT_WORK/stop" "$PVCT_WORK/poll.out"
	ip netns exec "$VM" python3 "$PVCT_WORK/poll.py" "$PVCT_WORK/poll.out" "$PVCT_WORK/stop" &
	poller=$!
	sleep 0.3
	n_before=$(grep -c "taking over as primary coordinator" "$(node_log "$next")" || true)
	t_write=$(date +%s.%N)
	zk set /primary_node "$next" >/dev/null
	done_=0
	for ((i = 0; i < 200; i++)); do
		if (($(grep -c "taking over as primary coordinator" "$(node_log "$next")" || true) > n_before)) && answers; then
			done_=1
			break
		fi
		sleep 0.05
	done
	sleep 0.3
	touch "$PVCT_WORK/stop"
	wait "$poller" || true
	if ((!done_)); then
		echo "  run $r: $next did not take over (see $(node_log "$next"))"
		cur=$next
		continue
	fi
	t_take=$(log_time "$next" "taking over as primary coordinator")
	t_serve=$(log_time "$next" "metadata: serving")
	python3 - "$PVCT_WORK/poll.out" "$t_write" "$t_take" "$r" "$next" "$t_serve" <<'PY' | tee -a "$PVCT_WORK/takeover.txt"
import sys
ev = [l.split() for l in open(sys.argv[1]) if l.strip()]
t_write, t_take = float(sys.argv[2]), float(sys.argv[3])
ev = [(float(t), int(ok)) for t, ok in ev]
# a planned switchover relinquishes on the old primary before the new one decides to
# take over: an answer after that decision comes from the new primary
first = next((t for t, ok in ev if ok and t >= t_take), None)
fails = [t for t, ok in ev if not ok and t >= t_write]
outage = (first - fails[0]) * 1000 if first and fails and fails[0] < first else 0.0
if first is None:
    print("run %s: no answer seen after the switchover" % sys.argv[4])
else:
    print("run %s -> %s: takeover -> answer %.0f ms (-> serving %.1f ms), /primary_node write -> answer %.0f ms, outage %.0f ms"
          % (sys.argv[4], sys.argv[5], (first - t_take) * 1000, (float(sys.argv[6]) - t_take) * 1000,
             (first - t_write) * 1000, outage))
PY
	cur=$next
done
python3 - "$PVCT_WORK/takeover.txt" <<'PY'
import re, sys
rows = [l for l in open(sys.argv[1]) if "takeover ->" in l]
if rows:
    a = sorted(float(re.search(r"takeover -> answer (-?\d+)", l).group(1)) for l in rows)
    w = sorted(float(re.search(r"write -> answer (-?\d+)", l).group(1)) for l in rows)
    v = sorted(float(re.search(r"-> serving (-?[\d.]+)", l).group(1)) for l in rows)
    med = lambda v: v[len(v) // 2]
    print("takeover -> first answer in the VM: median %.0f ms, max %.0f ms; takeover -> the new primary serving (its log): median %.1f ms, max %.1f ms; /primary_node write -> first answer: median %.0f ms, max %.0f ms (%d runs)"
          % (med(a), a[-1], med(v), v[-1], med(w), w[-1], len(rows)))
PY
finish >/dev/null 2>&1 || true
