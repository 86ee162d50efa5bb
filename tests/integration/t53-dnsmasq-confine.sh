#!/bin/bash
# dnsmasq faces tenant VMs: it runs under a seccomp filter of its own stacked on
# net-router's (no packet socket, rtnetlink only, no pidfd signals) and without
# CAP_NET_RAW unless its network sends router advertisements (issue #16).
#  - an IPv4 network's dnsmasq: CapEff/CapPrm/CapAmb without NET_RAW (0x2000),
#    with NET_ADMIN and NET_BIND_SERVICE; one more seccomp filter than net-router
#  - it still hands out a DHCP lease to a "VM" namespace
#  - a dual-stack network's dnsmasq (RA needs a raw ICMPv6 socket) keeps NET_RAW
#    and announces router advertisements
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make all)"
[[ -x $PVCT_BUILD/pvc-dhcp-lease ]] || skip_all "build/pvc-dhcp-lease missing (make all)"
[[ -x /usr/sbin/dnsmasq ]] || skip_all "dnsmasq missing"
command -v busybox >/dev/null || skip_all "busybox missing (udhcpc)"
getent passwd nobody >/dev/null || skip_all "no user nobody"
grep -q '^Seccomp_filters:' /proc/self/status || skip_all "kernel without Seccomp_filters in /proc/PID/status"

VNI=1051
VNI6=1054
GW=10.151.0.1
VM=pvct-vm53
VMMAC=52:54:00:10:51:01
chmod 0711 "$PVCT_WORK"
netns_setup 1
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
zkcli -s "$NODE_ZK" init-cluster >/dev/null
NODE_NETWORKING=true
NODE_COORDINATORS="hv1"
zk() { zkcli -s "$NODE_ZK" "$@"; }
NS=$(netns_name 1)

status_field() { # PID FIELD -> value
	local line
	line=$(grep "^$2:" "/proc/$1/status" 2>/dev/null) || return 1
	line=${line#*:}
	printf '%s\n' "${line#"${line%%[![:space:]]*}"}"
}
has_bit() { (( (16#$1 & $2) != 0 )); }
NET_RAW=$((1 << 13))
NET_ADMIN=$((1 << 12))
NET_BIND=$((1 << 10))
pid_of() { # VNI -> dnsmasq pid from pvcctl status
	node_ctl hv1 status 2>/dev/null | sed -n "s/^net-router.dnsmasq .*\b$1:\([1-9][0-9]*\).*/\1/p"
}
runs() { local p; p=$(pid_of "$1"); [[ -n $p ]] && [[ $(readlink "/proc/$p/exe" 2>/dev/null) == /usr/sbin/dnsmasq ]]; }
DHCP_OUT=$PVCT_WORK/dhcp.out
dhcp() {
	rm -f "$DHCP_OUT"
	PVCT_DHCP_OUT=$DHCP_OUT ip netns exec "$VM" busybox udhcpc -i eth0 -n -q -t 6 -T 1 \
		-s "$PVCT_ROOT/tests/lib/udhcpc-script" >>"$PVCT_WORK/udhcpc.log" 2>&1 || true
	[[ -s $DHCP_OUT ]]
}

node_config hv1 >/dev/null
node_start hv1 "$NS"
on_exit "node_kill hv1"
node_wait_ready hv1 20 || { fail "hv1 ready" "see $(node_log hv1)"; finish; }
primary_is_hv1() { [[ $(zk get /primary_node 2>/dev/null || true) == hv1 ]]; }
check "hv1 is primary" wait_for 20 primary_is_hv1

zk define-network $VNI --type managed --domain net$VNI.test --net4 10.151.0.0/24 --gw4 $GW \
	--dhcp4 True --start 10.151.0.100 --end 10.151.0.199 >/dev/null
zk define-network $VNI6 --type managed --net4 10.154.0.0/24 --gw4 10.154.0.1 --dhcp4 True \
	--start 10.154.0.100 --end 10.154.0.150 --net6 fd00:1054::/64 --gw6 fd00:1054::1 --dhcp6 True >/dev/null
if ! wait_for 20 runs $VNI; then
	fail "dnsmasq of $VNI runs" "see $(node_log hv1) and $(node_dir hv1)/log/dnsmasq/"
	finish
fi
pass "dnsmasq of $VNI runs"
D=$(pid_of $VNI)
R=$(node_worker hv1 net-router)

# ---- an IPv4 network: no NET_RAW, one more filter -----------------------------------
for f in CapEff CapPrm CapAmb; do
	v=$(status_field "$D" $f)
	check "dnsmasq $VNI $f ($v) lacks CAP_NET_RAW" bash -c "! (( (16#$v & $NET_RAW) != 0 ))"
done
v=$(status_field "$D" CapEff)
check "dnsmasq $VNI CapEff ($v) keeps NET_ADMIN and NET_BIND_SERVICE" \
	bash -c "(( (16#$v & $NET_ADMIN) != 0 && (16#$v & $NET_BIND) != 0 ))"
check_eq "dnsmasq $VNI Seccomp mode" 2 "$(status_field "$D" Seccomp)"
df=$(status_field "$D" Seccomp_filters)
rf=$(status_field "$R" Seccomp_filters)
check "dnsmasq $VNI has more seccomp filters ($df) than net-router ($rf)" bash -c "(( $df > $rf ))"
check "net-router logged the start without CAP_NET_RAW" \
	bash -c "grep \"network $VNI: dnsmasq started (pid $D)\" '$(node_log hv1)' | grep -vq NET_RAW"

# ---- it still serves DHCP ------------------------------------------------------------
ip netns add "$VM"
on_exit "ip netns del $VM 2>/dev/null || true"
ip link add pvct-vmh53 netns "$NS" type veth peer name eth0 netns "$VM"
ip -n "$NS" link set pvct-vmh53 master vmbr$VNI up
ip -n "$VM" link set eth0 address $VMMAC mtu 1450 up
ip -n "$VM" link set lo up
if wait_for 20 dhcp; then
	pass "VM got a DHCP lease ($(cat "$DHCP_OUT")) from the confined dnsmasq"
else
	fail "VM got a DHCP lease" "see $PVCT_WORK/udhcpc.log and $(node_dir hv1)/log/dnsmasq/dnsmasq-$VNI.log"
fi
check_eq "dnsmasq $VNI is still the same process (no SIGSYS restart)" "$D" "$(pid_of $VNI)"
check "no dnsmasq killed by SIGSYS" bash -c "! grep -q 'dnsmasq.*SIGSYS' '$(node_log hv1)'"

# ---- a dual-stack network: router advertisements keep NET_RAW -------------------------
if wait_for 20 runs $VNI6; then pass "dnsmasq of $VNI6 (RA) runs"; else fail "dnsmasq of $VNI6 runs" "see $(node_log hv1)"; finish; fi
D6=$(pid_of $VNI6)
v=$(status_field "$D6" CapEff)
check "dnsmasq $VNI6 CapEff ($v) keeps CAP_NET_RAW for RA" bash -c "(( (16#$v & $NET_RAW) != 0 ))"
check "dnsmasq $VNI6 has more seccomp filters than net-router" \
	bash -c "(( $(status_field "$D6" Seccomp_filters) > $rf ))"
check "its log shows router advertisements enabled" wait_for 10 \
	grep -q "router advertisement on fd00:1054::" "$(node_dir hv1)/log/dnsmasq/dnsmasq-$VNI6.log"
check_eq "dnsmasq $VNI6 is still the same process" "$D6" "$(pid_of $VNI6)"
finish
