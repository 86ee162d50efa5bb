#!/bin/bash
# c20-locks: RBD locks against a real single-host Ceph 16 and a real ZooKeeper.
#   - `pvc vm flush-locks` as PVC's client library does it (daemon-common vm.py
#     flush_locks: /cmd/domains, the kazoo read lock, success-/failure-) breaks the
#     lock a killed writer (rbd bench, SIGKILL) left on a stopped VM's volume;
#   - `pvc storage osd add` (ceph.py add_osd through /cmd/ceph) is answered failure-
#     by the named node, with the reason in its log;
#   - fence recovery breaks the dead node's lock on a VM's volume before the VM is
#     placed elsewhere, past 32 volumes and past volumes that fail.
# Two coordinators (hypervisor + storage, libvirt test driver), keepalive 1 s,
# fence_intervals 3, a fake ipmitool first on PATH.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
. "$PVCT_ROOT/tests/lib/ceph.sh"
require_root
[[ -x $PVCT_BUILD/pvc-ceph ]] || skip_all "build/pvc-ceph missing (make first)"
command -v ceph-mon >/dev/null || skip_all "ceph-mon missing (tools/install-deps.sh --ceph)"
REF=/work/shared/reference/pvc-b413e042
[[ -d $REF/daemon-common ]] && "$PVCT_PY" -c 'import kazoo, click, lxml' 2>/dev/null ||
	skip_all "PVC's client library (daemon-common) or its Python modules missing"

ceph_start || { fail ceph-start "the single-host Ceph did not come up"; finish; }
ceph_pool_image vms disk0 || fail ceph-pool "pool vms / image disk0"
ceph_rbd create --size 64 vms/disk1 || fail ceph-image "image disk1"
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
export ZK_HOSTS=$NODE_ZK
zkcli init-cluster >/dev/null

pvct_users
# hv1's keyring as it must be (pvc-ceph only); hv2's readable by all: hv2 warns
install -m 0400 -o pvct-ceph -g root "$CEPH_KEYRING" "$CEPH_DIR/pvc-hv1.keyring"
install -m 0444 -o pvct-ceph -g root "$CEPH_KEYRING" "$CEPH_DIR/pvc-hv2.keyring"
FAKE=$PVCT_WORK/fakebin
mkdir -p "$FAKE" "$PVCT_WORK/pylib"
install -m 0755 "$PVCT_ROOT/tests/lib/fake-ipmitool" "$FAKE/ipmitool"
chmod 0755 "$PVCT_WORK" "$FAKE"
export PATH="$FAKE:$PATH"
ln -s "$REF/daemon-common" "$PVCT_WORK/pylib/daemon_lib"

export NODE_COORDINATORS="hv1 hv2"
for n in hv1 hv2; do
	cat >"$PVCT_WORK/$n.xml" <<'X'
<node>
  <cpu><mode>paravirt</mode><active>16</active><total>16</total></cpu>
  <memory>33554432</memory>
</node>
X
	chmod 0644 "$PVCT_WORK/$n.xml"
	NODE_HYPERVISOR=true NODE_STORAGE=true NODE_KEEPALIVE=1 NODE_FENCE=3 NODE_SUICIDE=0 \
		NODE_SUPERVISOR_EXTRA="      hang_timeout_ms: 60000" NODE_EXTRA_SYSTEM="    ceph:
      conf: $CEPH_CONF
      keyring: $CEPH_DIR/pvc-$n.keyring" \
		NODE_LIBVIRT_URI="test://$PVCT_WORK/$n.xml" node_config "$n" >/dev/null
	node_start "$n"
done
for n in hv1 hv2; do
	if ! node_wait_ready $n 30; then fail "$n starts" "see $(node_log $n)"; finish; fi
	zkcli set "/nodes/$n/domainstate" ready >/dev/null
done

check "hv2 warns that its keyring is readable by all" wait_for 15 \
	grep -q "ceph: keyring $CEPH_DIR/pvc-hv2.keyring is readable by others than its owner (mode 0444)" "$(node_log hv2)"
ceph_up_hv1() { grep -q "ceph: writing the cluster statistics\|started ceph" "$(node_log hv1)"; }
wait_for 15 ceph_up_hv1 || true
if grep -q "ceph: keyring .* is readable by others" "$(node_log hv1)"; then
	fail "hv1's pvc-ceph-only keyring draws no warning" "it did"
else pass "hv1's pvc-ceph-only keyring draws no warning"; fi

get() { zkcli get "$1" 2>/dev/null || true; }
zk_is() { [[ $(get "$1") == "$2" ]]; }
no_lock() { [[ $(ceph_rbd lock ls --format json "vms/$1") == "[]" ]]; }
# A writer that dies holding its exclusive lock (what a crashed or fenced node leaves).
killed_writer() {
	(timeout -s KILL 4 rbd --conf "$CEPH_CONF" bench --io-type write --io-size 4K \
		--io-total 1G "vms/$1" >/dev/null 2>&1 || true)
	ceph_rbd lock ls --format json "vms/$1" | grep -q '"auto '
}
pvc_py() { PYTHONPATH=$PVCT_WORK/pylib "$PVCT_PY" -; }

vmxml() { # NAME UUID FILE
	printf "<domain type='test'><name>%s</name><uuid>%s</uuid><memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n" \
		"$1" "$2" >"$3"
	chmod 0644 "$3"
}
U9=00000009-0000-4000-8000-610000000009
U1=00000001-0000-4000-8000-610000000001

# ---- flush_locks through /cmd/domains, as `pvc vm flush-locks` ---------------------
vmxml vm9 $U9 "$PVCT_WORK/vm9.xml"
zkcli define-vm $U9 vm9 hv1 "$PVCT_WORK/vm9.xml" --state stop >/dev/null
zkcli set /domains/$U9/rbdlist vms/disk0 >/dev/null
check "a killed writer left its lock on disk0" killed_writer disk0
check "primary known" wait_for 20 bash -c "[[ \$(ZK_HOSTS=$ZK_HOSTS $PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py get /primary_node) == hv* ]]"
t0=$(now_ms)
out=$(pvc_py <<PY
from kazoo.client import KazooClient
zk = KazooClient(hosts="$ZK_HOSTS"); zk.start()
import daemon_lib.vm as vm
print(vm.flush_locks(zk, "vm9"))
zk.stop()
PY
)
echo "flush_locks: $out ($(($(now_ms) - t0)) ms)"
check_eq "pvc vm flush-locks succeeds" "(True, 'Flushed locks on VM \"vm9\"')" "$out"
check "disk0 has no lock any more" no_lock disk0
check_eq "/cmd/domains reset by the client" "" "$(get /cmd/domains)"

# A VM without volumes: success too (the reference's flush_locks returns True).
zkcli set /domains/$U9/rbdlist "" >/dev/null
out=$(pvc_py <<PY
from kazoo.client import KazooClient
zk = KazooClient(hosts="$ZK_HOSTS"); zk.start()
import daemon_lib.vm as vm
print(vm.flush_locks(zk, "vm9")[0])
zk.stop()
PY
)
check_eq "flush-locks of a VM without volumes" True "$out"

# ---- /cmd/ceph osd_add: answered failure- by the named node -------------------------
# The client says failure whatever it reads (its own command, unanswered, too): what
# it read must be the node's answer.
out=$(pvc_py <<PY
from kazoo.client import KazooClient
zk = KazooClient(hosts="$ZK_HOSTS"); zk.start()
import daemon_lib.ceph as ceph
import daemon_lib.zkhandler as zkhandler
seen, readdata = [], zkhandler.readdata
def spy(conn, key):
    v = readdata(conn, key)
    if key == "/cmd/ceph":
        seen.append(v)
    return v
zkhandler.readdata = spy
print(ceph.add_osd(zk, "hv2", "/dev/pvct-nodisk", "1.0"))
print(seen)
zk.stop()
PY
)
check_eq "pvc storage osd add answered failure" \
	"(False, 'ERROR: Failed to create new OSD; check node logs for details.')" "$(sed -n 1p <<<"$out")"
check_eq "the client read hv2's failure- answer" \
	"['failure-osd_add hv2,/dev/pvct-nodisk,1.0']" "$(sed -n 2p <<<"$out")"
check "hv2 says why" grep -q "osd_add hv2,/dev/pvct-nodisk,1.0: failed: pvcnoded does not create" "$(node_log hv2)"
if grep -q "ceph command: osd_add" "$(node_log hv1)"; then
	fail "hv1 leaves hv2's osd_add alone" "hv1 acted on it"
else pass "hv1 leaves hv2's osd_add alone"; fi

# ---- fence recovery breaks the dead node's RBD locks ----------------------------------
vmxml vm1 $U1 "$PVCT_WORK/vm1.xml"
zkcli define-vm $U1 vm1 hv2 "$PVCT_WORK/vm1.xml" --state start >/dev/null
# 33 volumes that do not exist before disk1: two MSG_CEPH_CMD (32 volumes each at
# most), and the second breaks disk1's lock after its first volume failed.
vols=$(printf 'vms/none%d,' $(seq 0 32))vms/disk1
zkcli set /domains/$U1/rbdlist "$vols" >/dev/null
running_on() { grep -q "$2" <<<"$(get "/nodes/$1/runningdomains")"; }
check "vm1 runs on hv2" wait_for 30 running_on hv2 $U1
check "hv2's writer left its lock on disk1" killed_writer disk1
node_kill hv2
check "hv2 marked dead" wait_for 30 zk_is /nodes/hv2/daemonstate dead
check "vm1 recovered to hv1" wait_for 60 zk_is /domains/$U1/node hv1
check "disk1's lock broken by the recovery" no_lock disk1
check "both chunks answered, the failures reported" grep -q \
	"RBD locks of its VMs NOT broken (32 failure(s) on 32 volume(s), 0 lock(s) freed: cannot open volume none0: .*; 1 failure(s) on 2 volume(s), 1 lock(s) freed: cannot open volume none32" \
	"$(node_log hv1)"
l_broken=$(grep -n "fence: node hv2: RBD locks of its VMs" "$(node_log hv1)" | head -1 | cut -d: -f1)
l_moved=$(grep -n "fence: node hv2: VM vm1 -> hv1" "$(node_log hv1)" | head -1 | cut -d: -f1)
if [[ -n $l_broken && -n $l_moved ]] && ((l_broken < l_moved)); then
	pass "locks broken before vm1 is placed on hv1"
else
	fail "locks broken before vm1 is placed on hv1" "log lines '$l_broken' '$l_moved'"
fi
finish
