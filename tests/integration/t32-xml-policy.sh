#!/bin/bash
# pvc.system.libvirt.xml_policy (issue 16): under `strict`, domain XML that reaches
# the host (here <qemu:commandline>, a foreign <emulator>) is never handed to libvirt:
# the VM ends `fail` with a failedreason naming the element, written once as the
# answer to the `start` it served; a plain VM still starts. Under the default
# (`permissive`) the same XML is handed to libvirt as before.
# Two nodes on libvirt's test driver: hv1 strict, hv2 default.
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

node_file() { # NAME: an empty simulated host for the test driver
	cat >"$PVCT_WORK/$1.xml" <<'EOF'
<node>
  <cpu><mode>paravirt</mode><active>16</active><total>16</total></cpu>
  <memory>33554432</memory>
</node>
EOF
	chmod 0644 "$PVCT_WORK/$1.xml"
}
uuid_of() { printf '%08d-0000-4000-8000-%012d\n' "$1" "$1"; }
QNS=http://libvirt.org/schemas/domain/qemu/1.0
vm_xml() { # N EXTRA: a test-driver domain with EXTRA inside <domain>
	printf "<domain type='test' xmlns:qemu='%s'><name>vm%s</name><uuid>%s</uuid><memory>1048576</memory><vcpu>1</vcpu><os><type>hvm</type></os>%s</domain>\n" \
		"$QNS" "$1" "$(uuid_of "$1")" "$2" >"$PVCT_WORK/vm$1.xml"
}
define() { # N NODE STATE
	zkcli define-vm "$(uuid_of "$1")" "vm$1" "$2" "$PVCT_WORK/vm$1.xml" --state "$3"
}
state() { zkcli get "/domains/$(uuid_of "$1")/state"; }
reason() { zkcli get "/domains/$(uuid_of "$1")/failedreason"; }
running_on() { zkcli get "/nodes/$2/runningdomains" 2>/dev/null | grep -q "$(uuid_of "$1")"; }
not_running_on() { ! running_on "$1" "$2"; }
state_is() { [[ $(state "$1") == "$2" ]]; }
stays() { local i; for i in 1 2 3 4 5 6; do "$@" || return 1; sleep 0.5; done; }
expect_running() { # CASE N NODE
	if wait_for 15 running_on "$2" "$3"; then pass "$1"; else
		fail "$1" "vm$2 not in /nodes/$3/runningdomains (state $(state "$2"), reason '$(reason "$2")')"; fi
}

chmod 0755 "$PVCT_WORK"
node_file hv1
node_file hv2
cfg=$(NODE_COORDINATORS="hv1 hv2" NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
	NODE_LIBVIRT_URI="test://$PVCT_WORK/hv1.xml" node_config hv1)
sed -i 's|^\(      uri: "test://.*\)$|\1\n      xml_policy: strict|' "$cfg"
check "hv1's configuration sets xml_policy: strict" grep -q "^      xml_policy: strict$" "$cfg"
NODE_COORDINATORS="hv1 hv2" NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
	NODE_LIBVIRT_URI="test://$PVCT_WORK/hv2.xml" node_config hv2 >/dev/null
node_start hv1
node_start hv2
if ! node_wait_ready hv1 20 || ! node_wait_ready hv2 20; then
	fail "nodes start" "see $(node_log hv1) $(node_log hv2)"
	finish
fi
pass "a configuration with xml_policy: strict loads"

cmdline="<qemu:commandline><qemu:arg value='-device'/><qemu:arg value='x'/></qemu:commandline>"

# ---- strict: refused before libvirt, fail + reason, one versioned write ---------------
vm_xml 1 "$cmdline"
define 1 hv1 start # state created at version 0
if wait_for 15 state_is 1 fail; then pass "strict: qemu:commandline VM ends in state fail"; else
	fail "strict: qemu:commandline VM ends in state fail" "state '$(state 1)'"; fi
r=$(reason 1)
if [[ $r == "xml_policy strict: <qemu:commandline>"*"runs arbitrary host commands"* ]]; then
	pass "strict: failedreason names <qemu:commandline> and why"; else
	fail "strict: failedreason names <qemu:commandline> and why" "'$r'"; fi
check_eq "strict: one compare-and-set write answering the start (version 0)" "1" \
	"$(zkcli stat "/domains/$(uuid_of 1)/state" version)"
if stays not_running_on 1 hv1; then pass "strict: the VM never ran"; else
	fail "strict: the VM never ran" "in runningdomains"; fi
if grep -q "vm vm1: /domains/$(uuid_of 1)/xml refused: xml_policy strict" "$(node_log hv1)" &&
	! grep -q "vm vm1: started\|vm vm1: failed to start" "$(node_log hv1)"; then
	pass "strict: refused by vm-manager, never given to libvirt"; else
	fail "strict: refused by vm-manager, never given to libvirt" "$(grep 'vm vm1' "$(node_log hv1)" | tail -3)"; fi

# the same prefix trick under another name, and a foreign emulator
vm_xml 2 "<devices><emulator>/tmp/evil-qemu</emulator></devices>"
sed -i "s|xmlns:qemu='$QNS'|xmlns:q2='$QNS'|" "$PVCT_WORK/vm2.xml"
printf '%s\n' "$(sed "s|</domain>|<q2:commandline/></domain>|" "$PVCT_WORK/vm2.xml")" >"$PVCT_WORK/vm2.xml"
define 2 hv1 start
if wait_for 15 state_is 2 fail; then pass "strict: q2: prefix bound to the QEMU namespace refused"; else
	fail "strict: q2: prefix bound to the QEMU namespace refused" "state '$(state 2)'"; fi
check_eq "strict: the first offending element is named" \
	"xml_policy strict: <emulator>/tmp/evil-qemu</emulator>" "$(reason 2 | cut -c1-54)"

# ---- strict: a plain VM starts -------------------------------------------------------
vm_xml 3 "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>"
define 3 hv1 start
expect_running "strict: a plain VM starts" 3 hv1
check_eq "strict: plain VM state stays start" "start" "$(state 3)"

# ---- strict: restart of a VM whose XML turned bad is refused too --------------------
vm_xml 3 "$cmdline"
zkcli set "/domains/$(uuid_of 3)/xml" "$(cat "$PVCT_WORK/vm3.xml")"
zkcli set "/domains/$(uuid_of 3)/state" restart
if wait_for 20 state_is 3 fail; then pass "strict: restart with qemu:commandline XML ends fail"; else
	fail "strict: restart with qemu:commandline XML ends fail" "state '$(state 3)'"; fi

# ---- permissive (default): the same XML goes to libvirt as before ------------------
vm_xml 4 "$cmdline"
define 4 hv2 start
expect_running "permissive: the qemu:commandline VM is accepted (test driver ignores it)" 4 hv2
if grep -q "xml refused" "$(node_log hv2)"; then
	fail "permissive: nothing refused" "$(grep 'xml refused' "$(node_log hv2)")"; else
	pass "permissive: nothing refused"; fi

finish
