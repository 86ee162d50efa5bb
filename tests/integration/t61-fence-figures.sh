#!/bin/bash
# t61-fence-figures: after a fence and the recovery of the dead node's VMs, the dead
# node's runningdomains is empty and its domainscount 0, written in the transaction
# that moved the first VM (issue #15 item 5; docs/fencing.md §6), so that `pvc node
# list` never counts a VM on its new node and on the dead one at once.
# Two coordinators with VMs (libvirt test driver), keepalive 1 s, fence_intervals 3,
# a fake ipmitool first on PATH (tests/lib/fake-ipmitool); hv2 is killed with -9.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root

zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
export ZK_HOSTS=$NODE_ZK
zkcli init-cluster >/dev/null

FAKE=$PVCT_WORK/fakebin
mkdir -p "$FAKE"
install -m 0755 "$PVCT_ROOT/tests/lib/fake-ipmitool" "$FAKE/ipmitool"
chmod 0755 "$PVCT_WORK" "$FAKE"
export PATH="$FAKE:$PATH"

export NODE_COORDINATORS="hv1 hv2"
for n in hv1 hv2; do
	cat >"$PVCT_WORK/$n.xml" <<'X'
<node>
  <cpu><mode>paravirt</mode><active>16</active><total>16</total></cpu>
  <memory>33554432</memory>
</node>
X
	chmod 0644 "$PVCT_WORK/$n.xml"
	NODE_HYPERVISOR=true NODE_KEEPALIVE=1 NODE_FENCE=3 NODE_SUICIDE=0 \
		NODE_SUPERVISOR_EXTRA="      hang_timeout_ms: 60000" \
		NODE_LIBVIRT_URI="test://$PVCT_WORK/$n.xml" node_config "$n" >/dev/null
	node_start "$n"
done
for n in hv1 hv2; do
	if ! node_wait_ready $n 30; then fail "$n starts" "see $(node_log $n)"; finish; fi
	zkcli set "/nodes/$n/domainstate" ready >/dev/null
done

uuid_of() { printf '%08d-0000-4000-8000-6100%08d\n' "$1" "$1"; }
for i in 1 2 3; do
	x=$PVCT_WORK/vm$i.xml
	printf "<domain type='test'><name>vm%s</name><uuid>%s</uuid><memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n" \
		"$i" "$(uuid_of "$i")" >"$x"
	chmod 0644 "$x"
	zkcli define-vm "$(uuid_of "$i")" "vm$i" hv2 "$x" --state start >/dev/null
done

get() { zkcli get "$1" 2>/dev/null || true; }
zk_is() { [[ $(get "$1") == "$2" ]]; }
all_on() { # NODE: vm1-3 in its runningdomains
	local i
	for i in 1 2 3; do grep -q "$(uuid_of "$i")" <<<"$(get "/nodes/$1/runningdomains")" || return 1; done
}
recovered() { # vm1-3: state start, node hv1, lastnode hv2, running on hv1
	local i u
	for i in 1 2 3; do
		u=$(uuid_of "$i")
		[[ $(get "/domains/$u/state") == start && $(get "/domains/$u/node") == hv1 &&
			$(get "/domains/$u/lastnode") == hv2 ]] || return 1
	done
	all_on hv1
}
# mzxid: the id of the transaction that last wrote a key (one id per multi)
mzxid() {
	"$PVCT_PY" -c 'import os,sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=os.environ["ZK_HOSTS"]); zk.start(timeout=10)
for p in sys.argv[1:]:
    st = zk.exists(p)
    print(st.mzxid if st else "none")
zk.stop()' "$@"
}

check "3 VMs running on hv2" wait_for 30 all_on hv2
check "hv2 counts its 3 domains" wait_for 10 zk_is /nodes/hv2/domainscount 3

node_kill hv2
check "hv2 marked dead" wait_for 30 zk_is /nodes/hv2/daemonstate dead
check "hv2 fenced with its BMC credentials (fence worker got the password)" \
	wait_for 30 bash -c "grep -q 'FAKE-IPMITOOL host=hv2-lom.test action=reset password-env=set' '$(node_log hv1)'"
if wait_for 40 recovered; then pass "hv2's VMs run on hv1, lastnode hv2"; else
	fail "hv2's VMs run on hv1, lastnode hv2" "hv1 runs '$(get /nodes/hv1/runningdomains)'"; fi
check "hv2 domainstate flushed" wait_for 10 zk_is /nodes/hv2/domainstate flushed

# the regression: without the fix both keep what hv2 last published
check_eq "dead hv2's runningdomains is empty" "" "$(get /nodes/hv2/runningdomains)"
check_eq "dead hv2's domainscount is 0" 0 "$(get /nodes/hv2/domainscount)"
# ... written by the transaction that moved a VM, not after it
read -r -d '' zr zc z1 z2 z3 < <(mzxid /nodes/hv2/runningdomains /nodes/hv2/domainscount \
	"/domains/$(uuid_of 1)/node" "/domains/$(uuid_of 2)/node" "/domains/$(uuid_of 3)/node" &&
	printf '\0') || true
moved=" $z1 $z2 $z3 "
if [[ $zr == "$zc" && $moved == *" $zr "* ]]; then
	pass "cleared in the transaction that moved a VM (zxid $zr)"; else
	fail "cleared in the transaction that moved a VM" \
		"runningdomains $zr, domainscount $zc, the VMs' node keys$moved"; fi
finish
