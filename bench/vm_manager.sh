#!/bin/bash
# vm-manager benchmark (libvirt test driver, real ZooKeeper, real daemons):
#   1. start N VMs (default 200) on one node: from the state writes to each VM's
#      appearance in /nodes/hv1/runningdomains (and to vm-manager's "started" log
#      line, which excludes the keepalive publication delay);
#   2. move M VMs (default 100) from hv1 to hv2 (state=migrate, node=hv2): the test
#      driver cannot live-migrate, so this is the cold path (live attempt fails ->
#      shutdown -> stop -> target writes start -> target starts), until each VM is in
#      hv2's runningdomains with state=start.
# Prints p50/p99 per VM and totals. Usage: bench/vm_manager.sh [N] [M]
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
N=${1:-200}
M=${2:-100}

zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
export ZK_HOSTS=$NODE_ZK
zkcli init-cluster >/dev/null
for n in hv1 hv2; do
	cat >"$PVCT_WORK/$n.xml" <<'EOF'
<node>
  <cpu><mode>paravirt</mode><active>64</active><total>64</total></cpu>
  <memory>1073741824</memory>
</node>
EOF
	chmod 0644 "$PVCT_WORK/$n.xml"
	NODE_COORDINATORS="hv1 hv2" NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
		NODE_LIBVIRT_URI="test://$PVCT_WORK/$n.xml" node_config "$n" >/dev/null
	node_start "$n"
done
for n in hv1 hv2; do
	node_wait_ready "$n" 20 || { echo "node $n did not start: $(node_log "$n")" >&2; exit 1; }
done

"$PVCT_PY" - "$NODE_ZK" "$N" "$M" "$(node_log hv1)" <<'EOF'
import re, sys, threading, time
from kazoo.client import KazooClient

hosts, N, M, log1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
zk = KazooClient(hosts=hosts); zk.start(15)
uu = ["%08d-0000-4000-8000-%012d" % (i, i) for i in range(1, N + 1)]

def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]

def define(i, u):
    x = ("<domain type='test'><name>bvm%d</name><uuid>%s</uuid><memory>1048576</memory>"
         "<vcpu>1</vcpu><os><type>hvm</type></os></domain>" % (i, u))
    t = zk.transaction()
    b = "/domains/" + u
    t.create(b, ("bvm%d" % i).encode())
    for k, v in (("state", "stop"), ("node", "hv1"), ("lastnode", ""), ("node_limit", ""),
                 ("node_selector", "None"), ("node_autostart", "False"), ("failedreason", ""),
                 ("consolelog", ""), ("rbdlist", ""), ("profile", "None"), ("xml", x)):
        t.create(b + "/" + k, v.encode())
    t.commit()

for i, u in enumerate(uu, 1):
    define(i, u)
time.sleep(2)  # every node learns the VMs (state stop: nothing to do)

def watch_running(node, wanted, seen, done):
    lock = threading.Lock()
    def cb(data, stat):
        now = time.time()
        if data is None:
            return
        with lock:
            for u in data.decode().split():
                if u in wanted and u not in seen:
                    seen[u] = now
            if len(seen) == len(wanted):
                done.set()
    zk.DataWatch("/nodes/%s/runningdomains" % node, cb)

# ---- 1. start N on hv1 ----------------------------------------------------------------
seen, done, wt = {}, threading.Event(), {}
watch_running("hv1", set(uu), seen, done)
t0 = time.time()
for u in uu:
    wt[u] = time.time()
    zk.set("/domains/%s/state" % u, b"start")
tw = time.time()
ok = done.wait(120)
t1 = time.time()
lat = [seen[u] - wt[u] for u in uu if u in seen]
print("start %d VMs on one node: %d/%d in runningdomains; writes took %.3f s; total %.3f s"
      % (N, len(seen), N, tw - t0, (max(seen.values()) if seen else t1) - t0))
if lat:
    print("  per VM (state write -> runningdomains): p50 %.0f ms, p99 %.0f ms, max %.0f ms"
          % (pct(lat, 50) * 1e3, pct(lat, 99) * 1e3, max(lat) * 1e3))
# vm-manager's own latency: its "started" log line (wall clock with microseconds)
pat = re.compile(r"^\w+: (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+) - vm-manager - vm bvm(\d+): started")
st = {}
with open(log1, errors="replace") as f:
    for line in f:
        m = pat.match(line)
        if m:
            ts = time.mktime(time.strptime(m.group(1)[:19], "%Y/%m/%d %H:%M:%S")) + float("0." + m.group(1)[20:])
            st.setdefault(int(m.group(2)), ts)
l2 = [st[i] - wt[u] for i, u in enumerate(uu, 1) if i in st]
if l2:
    print("  per VM (state write -> vm-manager 'started'): p50 %.0f ms, p99 %.0f ms; last at %.3f s"
          % (pct(l2, 50) * 1e3, pct(l2, 99) * 1e3, max(st.values()) - t0))
if not ok:
    print("  INCOMPLETE after 120 s"); sys.exit(1)

# ---- 2. move M from hv1 to hv2 (cold path) ------------------------------------------------
mv = uu[:M]
seen2, done2, wt2 = {}, threading.Event(), {}
watch_running("hv2", set(mv), seen2, done2)
t0 = time.time()
for u in mv:
    t = zk.transaction()
    t.set_data("/domains/%s/node" % u, b"hv2")
    t.set_data("/domains/%s/lastnode" % u, b"hv1")
    t.set_data("/domains/%s/state" % u, b"migrate")
    wt2[u] = time.time()
    t.commit()
ok = done2.wait(300)
# a VM is moved when it runs on hv2 AND its state is start AND it left hv1
deadline = time.time() + 60
while time.time() < deadline:
    st1 = set((zk.get("/nodes/hv1/runningdomains")[0] or b"").decode().split())
    states = [zk.get("/domains/%s/state" % u)[0] for u in mv]
    if all(s == b"start" for s in states) and not (st1 & set(mv)):
        break
    time.sleep(0.2)
t1 = time.time()
lat = [seen2[u] - wt2[u] for u in mv if u in seen2]
nstart = sum(1 for u in mv if zk.get("/domains/%s/state" % u)[0] == b"start")
print("move %d VMs hv1 -> hv2 (cold path): %d/%d running on hv2, %d with state=start, %d left on hv1; total %.3f s"
      % (M, len(seen2), M, nstart, len(st1 & set(mv)), t1 - t0))
if lat:
    print("  per VM (migrate write -> hv2 runningdomains): p50 %.0f ms, p99 %.0f ms, max %.0f ms"
          % (pct(lat, 50) * 1e3, pct(lat, 99) * 1e3, max(lat) * 1e3))
zk.stop()
sys.exit(0 if ok else 1)
EOF
