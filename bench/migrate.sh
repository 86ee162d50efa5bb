#!/bin/bash
# Live migration of a 256 MiB TCG guest between two real hypervisor nodes on this host
# (tests/lib/qemu.sh: two libvirtd + QEMU, each in its own network namespace):
#
#   pvcnoded: a client writes node=<other>, lastnode, state=migrate in one transaction
#             (as PVC's API does); measured from that write until the target's
#             vm-manager has written state=start (the VM runs there, the migration
#             is complete for PVC), with a ZooKeeper watch (no polling);
#   virsh:    `virsh migrate --live --p2p VM qemu+tcp://<other>/system --migrateuri
#             tcp://<other>` against the source libvirtd, the same flags and URIs
#             vm-manager uses, on a second guest of the same size that PVC does not
#             know (vm-manager leaves unknown domains alone); wall time of the command.
#
# The guests run one at a time, alternating hv1 -> hv2 and back, N runs each (default
# 10), 1 s apart. Prints p50/p99/max per method and the difference of the medians.
#
# Usage: bench/migrate.sh [N]          (root; `make bench-migrate MIGRATE_RUNS=N`)
set -euo pipefail
. "$(dirname "$0")/../tests/lib/common.sh"
. "$PVCT_ROOT/tests/lib/qemu.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
N=${1:-10}
MEM=256
QEMU_GUEST=$(bash "$PVCT_ROOT/tests/qemu/guest.sh")

pvct_users
qemu_setup
ZK_ADDR=$QEMU_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
export ZK_HOSTS=$NODE_ZK
zkcli init-cluster >/dev/null
for i in 1 2; do
	n=$(qemu_node_name "$i")
	NODE_COORDINATORS="hv1 hv2" NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
		NODE_LIBVIRT_URI="$(qemu_uri "$i")" node_config "$n" >/dev/null
	QEMU_MIGRATION_TIMEOUT=120 qemu_node_config "$n" "$(qemu_console_dir "$i")"
	node_start "$n" "$(qemu_ns "$i")"
done
for n in hv1 hv2; do
	node_wait_ready "$n" 30 || { echo "bench: $n does not start; see $(node_log "$n")" >&2; exit 1; }
done

booted() { # I NAME
	local c
	c=$(qemu_counter "$1" "$2") && [[ -n $c ]] && ((c >= 5))
}

UP=00000000-0000-4000-8000-0000000000b1
UV=00000000-0000-4000-8000-0000000000b2
qemu_domain_xml bpvc "$UP" "$MEM" >"$PVCT_WORK/bpvc.xml"
qemu_domain_xml bvirsh "$UV" "$MEM" >"$PVCT_WORK/bvirsh.xml"

echo "bench: $N live migrations each way of a $MEM MiB TCG guest ($(nproc) CPUs)"
zkcli define-vm "$UP" bpvc hv1 "$PVCT_WORK/bpvc.xml" --state start >/dev/null
wait_for 90 booted 1 bpvc || { echo "bench: bpvc does not boot" >&2; exit 1; }

"$PVCT_PY" - "$NODE_ZK" "$UP" "$N" >"$PVCT_WORK/pvc.times" <<'EOF'
import sys, threading, time
from kazoo.client import KazooClient
hosts, uuid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
zk = KazooClient(hosts=hosts)
zk.start(timeout=10)
base = "/domains/" + uuid
ev = threading.Event()
want = {"v": None}
def watch(data, stat):
    if data is not None and want["v"] is not None and stat.version > want["v"] \
            and data.decode() == "start":
        ev.set()
    return True
zk.DataWatch(base + "/state", watch)
node = zk.get(base + "/node")[0].decode()
for i in range(n):
    target = "hv2" if node == "hv1" else "hv1"
    ev.clear()
    want["v"] = zk.exists(base + "/state").version
    t0 = time.monotonic()
    tx = zk.transaction()
    tx.set_data(base + "/node", target.encode())
    tx.set_data(base + "/lastnode", node.encode())
    tx.set_data(base + "/state", b"migrate")
    if any(isinstance(r, Exception) for r in tx.commit()):
        sys.exit("transaction failed")
    if not ev.wait(300):
        sys.exit("run %d: no state=start within 300 s" % i)
    print("%.1f" % ((time.monotonic() - t0) * 1e3), flush=True)
    node = target
    time.sleep(1)
zk.stop()
EOF
zkcli set "/domains/$UP/state" stop
gone() { ! vsh 1 domstate bpvc >/dev/null 2>&1 && ! vsh 2 domstate bpvc >/dev/null 2>&1; }
wait_for 30 gone || echo "bench: bpvc still runs" >&2

# the same guest unknown to PVC, moved by virsh alone
vsh 1 create "$PVCT_WORK/bvirsh.xml" >/dev/null
wait_for 90 booted 1 bvirsh || { echo "bench: bvirsh does not boot" >&2; exit 1; }
from=1
for ((r = 0; r < N; r++)); do
	to=$((3 - from))
	t0=${EPOCHREALTIME/./}
	vsh "$from" migrate --live --p2p bvirsh "qemu+tcp://$(qemu_node_name "$to")/system" \
		--migrateuri "tcp://$(qemu_node_name "$to")" >/dev/null
	t1=${EPOCHREALTIME/./}
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }' >>"$PVCT_WORK/virsh.times"
	from=$to
	sleep 1
done
vsh "$from" destroy bvirsh >/dev/null 2>&1 || true

"$PVCT_PY" - "$PVCT_WORK/pvc.times" "$PVCT_WORK/virsh.times" <<'EOF'
import sys
def load(p):
    return [float(l) for l in open(p) if l.strip()]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]
pvc, virsh = load(sys.argv[1]), load(sys.argv[2])
for name, v in (("pvcnoded (migrate write -> state=start)", pvc),
                ("virsh migrate --live --p2p alone      ", virsh)):
    print("  %s: n=%d p50 %.0f ms, p99 %.0f ms, max %.0f ms"
          % (name, len(v), pct(v, 50), pct(v, 99), max(v)))
d = pct(pvc, 50) - pct(virsh, 50)
print("  difference of the medians: %+.0f ms (goal: within 100 ms)" % d)
EOF
