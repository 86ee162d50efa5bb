#!/bin/bash
# Client networks, net-router side (issue #9): three coordinators in their own
# namespaces, ZooKeeper on the host side of the test bridge, a "VM" namespace
# whose veth is a port of vmbr<vni> on hv1.
#  - a managed network defined in ZooKeeper appears on every node (vxlan + vmbr,
#    MTUs, firewall chains); the primary holds its gateway and runs its dnsmasq
#  - an invalid network is refused and logged; the valid one is unaffected
#  - the VM gets a DHCP lease over VXLAN from the primary, the lease appears in
#    ZooKeeper, the VM reaches its gateway
#  - an ACL blocks a flow across the gateway and, removed, allows it again
#  - a reservation gives the reserved address
#  - planned switchover: the new primary serves DHCP and the gateway, the VM
#    changes nothing
#  - deleting the network removes interfaces, dnsmasq and rules on every node
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

VNI=1001
GW=10.101.0.1
VM=pvct-vm
VMMAC=52:54:00:10:01:01
RES_IP=10.101.0.50
# dnsmasq runs as the worker user and opens its hosts directory by path: the
# work dir (mktemp, 0700) must be traversable
chmod 0711 "$PVCT_WORK"
netns_setup 3
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
zkcli -s "$NODE_ZK" init-cluster >/dev/null
NODE_NETWORKING=true
NODE_COORDINATORS="hv1 hv2 hv3"
NODE_SESSION_MS=4000
zk() { zkcli -s "$NODE_ZK" "$@"; }

ns_of() { netns_name "${1#hv}"; }
links() { ip -n "$(ns_of "$1")" -o link show 2>/dev/null || true; }
has_link() { [[ $(links "$1") == *" $2:"* || $(links "$1") == *" $2@"* ]]; }
no_client_links() { [[ $(links "$1") != *vmbr$VNI* && $(links "$1") != *vxlan$VNI* ]]; }
holds() { # NODE ADDR DEV
	local a
	a=$(ip -n "$(ns_of "$1")" -o addr show dev "$3" 2>/dev/null) || return 1
	[[ $a == *" $2/"* ]]
}
status_of() { node_ctl "$1" status 2>/dev/null || true; }
dnsmasq_pid() { status_of "$1" | sed -n "s/^net-router.dnsmasq .*$VNI:\([0-9]*\).*/\1/p"; }
runs_dnsmasq() { local p; p=$(dnsmasq_pid "$1"); [[ -n $p && $p != 0 ]] && [[ $(readlink "/proc/$p/exe" 2>/dev/null) == /usr/sbin/dnsmasq ]]; }
no_dnsmasq() { [[ -z $(dnsmasq_pid "$1") ]] && ! ip netns pids "$(ns_of "$1")" | xargs -r -n1 -I{} readlink /proc/{}/exe 2>/dev/null | grep -q dnsmasq; }
nft_has() { ip netns exec "$(ns_of "$1")" nft list chain inet pvc "$2" >/dev/null 2>&1; }
primary() { zk get /primary_node 2>/dev/null || true; }
primary_is_node() { [[ $(primary) == hv[123] ]]; }
vm() { ip netns exec "$VM" "$@"; }
vm_ping() { vm ping -c1 -W1 -q "$1" >/dev/null 2>&1; }
vm_no_ping() { ! vm ping -c1 -W1 -q "$1" >/dev/null 2>&1; }
DHCP_OUT=$PVCT_WORK/dhcp.out
dhcp() { # -> address/prefix in $DHCP_OUT
	rm -f "$DHCP_OUT"
	PVCT_DHCP_OUT=$DHCP_OUT vm busybox udhcpc -i eth0 -n -q -t 6 -T 1 -s "$PVCT_ROOT/tests/lib/udhcpc-script" >>"$PVCT_WORK/udhcpc.log" 2>&1 || true
	[[ -s $DHCP_OUT ]]
}
dhcp_ip() { sed 's/\/.*//' "$DHCP_OUT" 2>/dev/null; }

for i in 1 2 3; do
	node_config "hv$i" >/dev/null
	node_start "hv$i" "$(netns_name "$i")"
done
for i in 1 2 3; do
	node_wait_ready "hv$i" 20 || { fail "hv$i ready" "see $(node_log "hv$i")"; finish; }
done
if wait_for 20 primary_is_node; then pass "a primary was elected"; else fail "a primary was elected" "/primary_node=$(primary)"; finish; fi
P=$(primary)

# ---- definition: interfaces on every node, gateway and dnsmasq on the primary --------
zk define-network $VNI --type managed --desc "client net" --domain net$VNI.test \
	--net4 10.101.0.0/24 --gw4 $GW --dhcp4 True --start 10.101.0.100 --end 10.101.0.199 >/dev/null
zk define-network 1002 --type managed --net4 10.102.0.0/24 --gw4 10.99.0.1 >/dev/null
for i in 1 2 3; do
	if wait_for 10 has_link "hv$i" vmbr$VNI && wait_for 5 has_link "hv$i" vxlan$VNI; then
		pass "hv$i: vmbr$VNI and vxlan$VNI exist"
	else
		fail "hv$i: vmbr$VNI and vxlan$VNI exist" "$(links "hv$i")"
	fi
	d=$(ip -n "$(ns_of "hv$i")" -d link show vxlan$VNI 2>/dev/null || true)
	check "hv$i: vxlan$VNI id $VNI dstport 4789, mtu 1450, in vmbr$VNI" \
		bash -c '[[ $0 == *"vxlan id '$VNI' "* && $0 == *"dstport 4789"* && $0 == *"mtu 1450 "* && $0 == *"master vmbr'$VNI'"* ]]' "$d"
	check "hv$i: firewall chain vxlan$VNI-in" wait_for 5 nft_has "hv$i" vxlan$VNI-in
	check_eq "hv$i: accept_dad=0 on vmbr$VNI" 0 "$(ip netns exec "$(ns_of "hv$i")" cat /proc/sys/net/ipv6/conf/vmbr$VNI/accept_dad)"
done
check "invalid network 1002 refused and logged" wait_for 5 grep -q "network 1002 skipped: ip4_gateway" "$(node_log "$P")"
check "no vmbr1002 anywhere" bash -c '! ip -n pvct-n1 link show vmbr1002 >/dev/null 2>&1'
check "$P holds gateway $GW/24 on vmbr$VNI" wait_for 5 holds "$P" $GW vmbr$VNI
check "$P runs dnsmasq for $VNI" wait_for 5 runs_dnsmasq "$P"
for i in 1 2 3; do
	[[ hv$i == "$P" ]] && continue
	check "hv$i (secondary) holds no gateway" bash -c '! ip -n '"$(ns_of "hv$i")"' -o addr show dev vmbr'$VNI' | grep -q " '$GW'/"'
	check "hv$i (secondary) runs no dnsmasq" no_dnsmasq "hv$i"
done
check "rules written to run/nft/networks/$VNI.nft" grep -q "vxlan$VNI-in" "$(node_dir "$P")/run/nft/networks/$VNI.nft"
sleep "${T70_PAUSE:-0}" # debugging: time to look around

# ---- a bridged network and a second managed one --------------------------------------------
zk define-network 100 --type bridged >/dev/null
zk define-network 1003 --type managed --net4 10.103.0.0/24 --gw4 10.103.0.1 >/dev/null
if ip -n "$(ns_of hv1)" link add link ens4 name pvctprobe type vlan id 4000 2>/dev/null; then
	ip -n "$(ns_of hv1)" link del pvctprobe
	for i in 1 2 3; do
		check "hv$i: bridged network: vlan100 (id 100) in vmbr100" wait_for 10 bash -c \
			'ip -n '"$(ns_of "hv$i")"' -d link show vlan100 2>/dev/null | grep -q "master vmbr100" && ip -n '"$(ns_of "hv$i")"' -d link show vlan100 | grep -q "vlan protocol 802.1Q id 100"'
	done
else
	# this kernel has no VLAN support (8021q): the failure is logged with the
	# network and the device, and the other networks carry on
	check "bridged network without kernel VLAN support: logged with VNI and device" \
		wait_for 10 grep -q "network 100: cannot create vlan100 (vlan on ens4)" "$(node_log "$P")"
fi
check "bridged network: no dnsmasq, no firewall chain" bash -c '! ip netns exec '"$(ns_of "$P")"' nft list chain inet pvc vxlan100-in >/dev/null 2>&1 && [[ $('"$PVCT_BUILD/pvcctl"' -s '"$(node_dir "$P")"'/run/pvcnoded.sock status | grep "^net-router.dnsmasq") != *100:* ]]'
pid_of() { status_of "$P" | sed -n "s/^net-router.dnsmasq .*\b$1:\([0-9]*\).*/\1/p"; }
check "$P runs dnsmasq for 1003 too" wait_for 10 bash -c "[[ -n \$(\"$PVCT_BUILD/pvcctl\" -s $(node_dir "$P")/run/pvcnoded.sock status | sed -n 's/^net-router.dnsmasq .*1003:\([1-9][0-9]*\).*/\1/p') ]]"
P1001=$(pid_of 1001)
P1003=$(pid_of 1003)
zk set /networks/$VNI/dhcp4_end 10.101.0.198 >/dev/null
changed() { local p; p=$(pid_of 1001); [[ -n $p && $p != 0 && $p != "$P1001" ]]; }
check "a new DHCP range restarts network $VNI's dnsmasq" wait_for 10 changed
check_eq "network 1003's dnsmasq is not touched" "$P1003" "$(pid_of 1003)"
# IPv6 with router advertisements (ICMPv6 raw socket, DHCPv6): under the same filter
zk define-network 1004 --type managed --net4 10.104.0.0/24 --gw4 10.104.0.1 --dhcp4 True \
	--start 10.104.0.100 --end 10.104.0.150 --net6 fd00:1004::/64 --gw6 fd00:1004::1 --dhcp6 True >/dev/null
check "$P holds the IPv6 gateway fd00:1004::1/64" wait_for 10 holds "$P" fd00:1004::1 vmbr1004
check "$P runs dnsmasq for dual-stack network 1004" wait_for 10 bash -c "[[ -n \$(\"$PVCT_BUILD/pvcctl\" -s $(node_dir "$P")/run/pvcnoded.sock status | sed -n 's/^net-router.dnsmasq .*1004:\([1-9][0-9]*\).*/\1/p') ]]"
P1004=$(pid_of 1004)
sleep 3
check_eq "dnsmasq of 1004 (RA, DHCPv6) still the same process 3 s later" "$P1004" "$(pid_of 1004)"
check "its log shows router advertisements enabled" grep -q "router advertisement on fd00:1004::" "$(node_dir "$P")/log/dnsmasq/dnsmasq-1004.log"
zk delete -r /networks/100 >/dev/null
zk delete -r /networks/1003 >/dev/null
zk delete -r /networks/1004 >/dev/null
check "bridged network removed: vlan100 and vmbr100 gone" wait_for 10 bash -c '! ip -n '"$(ns_of "$P")"' link show vmbr100 >/dev/null 2>&1 && ! ip -n '"$(ns_of "$P")"' link show vlan100 >/dev/null 2>&1'

# ---- VXLAN flooding between nodes (the FDB BGP-EVPN would fill) -------------------------
for i in 1 2 3; do
	for j in 1 2 3; do
		((i == j)) && continue
		ip netns exec "$(netns_name $i)" bridge fdb append 00:00:00:00:00:00 dev vxlan$VNI dst 10.200.0.$j
	done
done
# the VM: a veth whose other end is a port of vmbr<vni> on hv1
ip netns add "$VM"
on_exit "ip netns del $VM 2>/dev/null || true"
ip link add pvct-vmh netns "$(netns_name 1)" type veth peer name eth0 netns "$VM"
ip -n "$(netns_name 1)" link set pvct-vmh master vmbr$VNI up
ip -n "$VM" link set eth0 address $VMMAC mtu 1450 up
ip -n "$VM" link set lo up

# ---- DHCP, lease in ZooKeeper, gateway ---------------------------------------------------
if wait_for 20 dhcp; then pass "VM got a DHCP lease ($(cat "$DHCP_OUT")) from $P"; else fail "VM got a DHCP lease" "see $PVCT_WORK/udhcpc.log and $(node_dir "$P")/log/dnsmasq/dnsmasq-$VNI.log"; finish; fi
IP=$(dhcp_ip)
check "address inside the DHCP range" bash -c '[[ '"$IP"' =~ ^10\.101\.0\.1[0-9][0-9]$ ]]'
lease_in_zk() { zk get /networks/$VNI/dhcp4_leases/$VMMAC/ipaddr >/dev/null 2>&1; }
check "lease in ZooKeeper /networks/$VNI/dhcp4_leases/$VMMAC" wait_for 10 lease_in_zk
check_eq "lease ipaddr" "$IP" "$(zk get /networks/$VNI/dhcp4_leases/$VMMAC/ipaddr 2>/dev/null || true)"
check "VM pings its gateway" wait_for 5 vm_ping $GW

# ---- kill -9 of net-router on the primary: interfaces adopted, dnsmasq replaced --------------
ifindex() { ip -n "$(ns_of "$1")" -o link show "$2" 2>/dev/null | cut -d: -f1; }
IDX=$(ifindex "$P" vmbr$VNI)
OLD=$(dnsmasq_pid "$P")
# a dnsmasq that outlived its net-router (as after a crash with the parent-death
# signal lost), and a decoy process whose PID sits in a PID file as well
DMDIR=$(node_dir "$P")/run/dnsmasq
mkdir -p "$DMDIR/1999"
ip netns exec "$(ns_of "$P")" setsid /usr/sbin/dnsmasq --keep-in-foreground --port=0 --conf-file=/dev/null \
	--dhcp-hostsdir="$DMDIR/1999" --pid-file= </dev/null >/dev/null 2>&1 &
STRAY=$!
sleep 30 &
DECOY=$!
on_exit "kill $STRAY $DECOY 2>/dev/null || true"
is_dnsmasq() { [[ $(readlink "/proc/$1/exe" 2>/dev/null) == /usr/sbin/dnsmasq ]]; }
dead() { ! kill -0 "$1" 2>/dev/null || [[ $(ps -o stat= -p "$1") == Z* ]]; } # our child: a zombie until reaped
check "a stray dnsmasq runs" wait_for 5 is_dnsmasq $STRAY
echo "$STRAY" >"$DMDIR/dnsmasq-1999.pid"
echo "$DECOY" >"$DMDIR/dnsmasq-1998.pid"
kill -KILL "$(node_worker "$P" net-router)"
check "restart: a leftover dnsmasq found by its PID file is stopped" wait_for 10 dead $STRAY
check "restart: a PID file naming another program kills nothing" bash -c "! { ! kill -0 $DECOY 2>/dev/null || [[ \$(ps -o stat= -p $DECOY) == Z* ]]; }"
check "restart: the leftover PID files are removed" bash -c "[[ ! -e $DMDIR/dnsmasq-1999.pid && ! -e $DMDIR/dnsmasq-1998.pid ]]"
check "the killed net-router's dnsmasq ($OLD) is gone (parent-death signal)" wait_for 5 bash -c "! kill -0 $OLD 2>/dev/null"
new_dnsmasq() { local p; p=$(dnsmasq_pid "$P"); [[ -n $p && $p != 0 && $p != "$OLD" ]] && runs_dnsmasq "$P"; }
check "the restarted net-router runs a new dnsmasq" wait_for 20 new_dnsmasq
check_eq "vmbr$VNI adopted, not recreated (same ifindex)" "$IDX" "$(ifindex "$P" vmbr$VNI)"
check "VM pings its gateway after the restart" wait_for 10 vm_ping $GW
rebuilt() { (($(grep -c "net-router - nftables: table inet pvc rebuilt with" "$(node_log "$P")") >= 2)); }
check "restart: firewall table replaced in one transaction (no unfiltered gap)" wait_for 5 rebuilt
tx_csum() { # NS IFNAME -> 0/1 (SIOCETHTOOL ETHTOOL_GTXCSUM, what ethtool -k shows)
	ip netns exec "$1" "$PVCT_PY" - "$2" <<'PY'
import ctypes, fcntl, socket, struct, sys
ev = ctypes.create_string_buffer(struct.pack("II", 0x16, 0))  # ETHTOOL_GTXCSUM
ifr = struct.pack("16sP", sys.argv[1].encode(), ctypes.addressof(ev)) + b"\0" * 16
fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8946, ifr)  # SIOCETHTOOL
print(struct.unpack("II", ev.raw[:8])[1])
PY
}
check_eq "tx checksum offload off on vmbr$VNI (ethtool -K tx off)" 0 "$(tx_csum "$(ns_of "$P")" vmbr$VNI 2>&1)"
check_eq "(and on by default on a bridge, so the check means something)" 1 "$(ip -n "$(ns_of "$P")" link add pvctbr type bridge && tx_csum "$(ns_of "$P")" pvctbr 2>&1; ip -n "$(ns_of "$P")" link del pvctbr)"

# ---- ACL across the gateway: VM -> observer ------------------------------------------------
ip -n "$NETNS_OBS" route add 10.101.0.0/24 via 10.200.0.254
check "VM reaches the observer through the gateway" wait_for 10 vm_ping "$NETNS_OBS_ADDR"
zk add-acl $VNI out block-obs 10 "ip daddr $NETNS_OBS_ADDR drop" >/dev/null
check "ACL out 'block-obs' blocks the flow" wait_for 10 vm_no_ping "$NETNS_OBS_ADDR"
check "ACL rule visible in the nft file" grep -q "ip daddr $NETNS_OBS_ADDR drop" "$(node_dir "$P")/run/nft/networks/$VNI.nft"
zk add-acl $VNI in bad-rule 20 "ip saddr 10.0.0.1 frobnicate" >/dev/null
check "an invalid ACL is logged with its description" wait_for 10 grep -q "network $VNI: ACL in 20 \"bad-rule\" is invalid" "$(node_log "$P")"
check "the previous rules stay (still blocked)" vm_no_ping "$NETNS_OBS_ADDR"
zk delete -r /networks/$VNI/firewall_rules/in/bad-rule >/dev/null
zk delete -r /networks/$VNI/firewall_rules/out/block-obs >/dev/null
check "ACL removed: the flow passes again" wait_for 10 vm_ping "$NETNS_OBS_ADDR"

# ---- reservation ----------------------------------------------------------------------------
zk add-reservation $VNI $VMMAC $RES_IP vmhost >/dev/null
res_file() { grep -qs "$VMMAC,$RES_IP,vmhost" "$(node_dir "$P")/run/dnsmasq/$VNI/$VMMAC"; }
check "reservation file written (<mac>,<ip>,<hostname>)" wait_for 10 res_file
vm ip -4 addr flush dev eth0
if wait_for 20 dhcp && [[ $(dhcp_ip) == "$RES_IP" ]]; then pass "the reservation gives $RES_IP"; else fail "the reservation gives $RES_IP" "got $(cat "$DHCP_OUT" 2>/dev/null)"; fi
check "the old lease ($IP) was deleted through the helper ('del')" wait_for 10 grep -q "lease del $VMMAC $IP on network $VNI: removed from ZooKeeper" "$(node_log "$P")"
check "lease in ZooKeeper updated to $RES_IP" wait_for 10 bash -c '[[ $('"$PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py -s $NODE_ZK"' get /networks/'$VNI'/dhcp4_leases/'$VMMAC'/ipaddr) == '$RES_IP' ]]'

# ---- the lease socket directly (root may talk to it; everything is validated) ---------------
lease_talk() { # SOCKET REQUEST-LINE -> reply on stdout
	"$PVCT_PY" - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(12)
s.connect(sys.argv[1])
if sys.argv[2]:
    s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode(errors="replace"))
PY
}
SOCK=$(node_dir "$P")/run/dnsmasq/lease.sock
r=$(lease_talk "$SOCK" 'init\t'$VNI'\t\t\t\t\t\n' 2>&1 || true)
check "lease socket: init returns rc 0 and the VM's lease line" bash -c '[[ $0 == 0$'"'"'\t'"'"'* && $0 == *" '$VMMAC' "* ]]' "$r"
r=$(lease_talk "$SOCK" 'add\t'$VNI'\tnot-a-mac\t10.101.0.9\t\t0\t*\n' 2>&1 || true)
check "lease socket: a malformed request is refused (rc -1000)" bash -c '[[ $0 == -1000$'"'"'\t'"'"'* ]]' "$r"
t0=$(now_ms)
r=$(lease_talk "$SOCK" '' 2>&1 || true)
check "lease socket: a silent client is cut off after about 2 s" bash -c '(( $0 >= 1500 && $0 < 6000 ))' "$(($(now_ms) - t0))"

# ---- switchover -------------------------------------------------------------------------
for i in 1 2 3; do [[ hv$i != "$P" ]] && { Q=hv$i; break; }; done
zk set /primary_node "$Q" >/dev/null
check "switchover: $Q holds gateway $GW" wait_for 15 holds "$Q" $GW vmbr$VNI
check "switchover: $Q runs dnsmasq" wait_for 10 runs_dnsmasq "$Q"
check "switchover: $P stopped its dnsmasq" wait_for 10 no_dnsmasq "$P"
check "switchover: $P dropped the gateway" wait_for 5 bash -c '! ip -n '"$(ns_of "$P")"' -o addr show dev vmbr'$VNI' | grep -q " '$GW'/"'
check "VM pings the gateway on the new primary (VM unchanged)" wait_for 10 vm_ping $GW
if wait_for 20 dhcp && [[ $(dhcp_ip) == "$RES_IP" ]]; then pass "renewal served by $Q"; else fail "renewal served by $Q" "got $(cat "$DHCP_OUT" 2>/dev/null)"; fi
check "$Q's dnsmasq log shows the DHCPACK" wait_for 5 grep -q "DHCPACK(vmbr$VNI) $RES_IP $VMMAC" "$(node_dir "$Q")/log/dnsmasq/dnsmasq-$VNI.log"

# ---- removal ------------------------------------------------------------------------------
zk delete -r /networks/$VNI >/dev/null
for i in 1 2 3; do
	check "hv$i: interfaces of $VNI removed" wait_for 10 no_client_links "hv$i"
	check "hv$i: firewall chains of $VNI removed" wait_for 5 bash -c '! ip netns exec '"$(netns_name $i)"' nft list chain inet pvc vxlan'$VNI'-in >/dev/null 2>&1'
	check "hv$i: no dnsmasq" wait_for 5 no_dnsmasq "hv$i"
	check "hv$i: nft file removed" bash -c '[[ ! -e '"$(node_dir "hv$i")"'/run/nft/networks/'$VNI'.nft ]]'
done
for i in 1 2 3; do
	if grep -q "SIGSYS" "$(node_log "hv$i")"; then fail "hv$i: nothing killed by seccomp" "$(grep SIGSYS "$(node_log "hv$i")" | head -3)"; else pass "hv$i: nothing killed by seccomp"; fi
done
finish
