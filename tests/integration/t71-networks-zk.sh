#!/bin/bash
# Client networks, ZooKeeper side (issue #9): zk-election reads /networks and sends
# the valid set to net-router; the DHCP lease helper writes leases through the
# primary's lease socket. Two nodes in network namespaces: hv1 (coordinator,
# becomes primary) and hv2 (hypervisor with networking: it builds the networks too).
#  - networks defined before the start are sent on both nodes
#  - bad definitions (invalid CIDR, gateway outside, VNI out of range, VLAN range)
#    are logged with vni and key and skipped; the others stay
#  - a fix, a change, a reservation and an ACL propagate; a deleted network goes
#  - build/pvc-dhcp-lease against hv1's socket: add (upsert), old, init, del,
#    garbage refused; the lease tree in ZooKeeper; hv2 (not primary) refuses;
#    a hostname with '_' is kept; add+del of one MAC at once end as the later one
#  - no watch is left on keys of deleted reservations and networks (4lw wchp)
#  - a set over one IPC frame is refused with the network named, then resumes
#  - zero networks: the empty set is sent and applied
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make all)"
[[ -x $PVCT_BUILD/pvc-dhcp-lease ]] || skip_all "build/pvc-dhcp-lease missing (make all)"
getent passwd nobody >/dev/null || skip_all "no user nobody"

netns_setup 2
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
Z() { zkcli -s "$NODE_ZK" "$@"; }
Z init-cluster >/dev/null
NODE_NETWORKING=true
NODE_COORDINATORS="hv1"
NODE_SESSION_MS=4000

# logged() NODE FIXED-STRING: the node's log has that text
logged() { grep -qF -- "$2" "$(node_log "$1")"; }
# sent_last NODE: the VNI list of the node's last "networks: sent" line
sent_last() {
	sed -n 's/.*networks: sent [0-9]* valid network(s) \[\([^]]*\)\].*/\1/p' "$(node_log "$1")" | tail -n1
}
sent_is() { [[ $(sent_last "$1") == "$2" ]]; }
nsent() { grep -c "networks: sent" "$(node_log "$1")" || true; }
more_sent() { (($(nsent "$1") > $2)); } # NODE COUNT: a send after the COUNT-th
# applied NODE: net-router's networks= status value
applied() { node_ctl "$1" status 2>/dev/null | sed -n 's/^net-router.networks *//p'; }
applied_is() { [[ $(applied "$1") == "$2" ]]; }
applied_has() { [[ ,$(applied "$1"), == *",$2,"* ]]; }

# ---- networks present before the daemons start -----------------------------------
Z define-network 100 --net4 10.1.1.0/24 --gw4 10.1.1.1 --dhcp4 True --start 10.1.1.100 \
	--end 10.1.1.199 --ns "['10.1.1.1']" >/dev/null
Z define-network 200 --type bridged >/dev/null

NODE_HYPERVISOR=false node_config hv1 >/dev/null
NODE_HYPERVISOR=true node_config hv2 >/dev/null
node_start hv1 "$(netns_name 1)"
node_start hv2 "$(netns_name 2)"
for n in hv1 hv2; do
	node_wait_ready "$n" 20 || { fail "$n ready" "see $(node_log "$n")"; finish; }
done
for n in hv1 hv2; do
	if wait_for 15 sent_is "$n" "100 200"; then pass "$n: networks 100 200 sent at start"; else
		fail "$n: networks 100 200 sent at start" "last: '$(sent_last "$n")'"; fi
done
# (whether net-router can build vlan200 depends on the kernel's 8021q: not our test)
if wait_for 15 applied_has hv2 100; then pass "hv2 net-router applied network 100"; else
	fail "hv2 net-router applied network 100" "networks='$(applied hv2)'"; fi
check "hv1 logged network 100 valid" logged hv1 "network 100: managed network valid, 10.1.1.0/24"

# ---- bad definitions are logged and skipped ----------------------------------------
Z define-network 101 --net4 10.1.2.300/24 >/dev/null
Z define-network 102 --net4 10.1.3.0/24 --gw4 10.1.4.1 >/dev/null
Z define-network 16777216 --net4 10.1.5.0/24 >/dev/null
Z define-network 5000 --type bridged >/dev/null
for what in "network 101 skipped: ip4_network: '10.1.2.300/24'" \
	"network 102 skipped: ip4_gateway: '10.1.4.1' is not a host address of 10.1.3.0/24" \
	"network 16777216 skipped: vni" "network 5000 skipped: vni: '5000' is out of the VLAN range"; do
	for n in hv1 hv2; do
		if wait_for 10 logged "$n" "$what"; then pass "$n: $what"; else fail "$n: $what" "not logged"; fi
	done
done
sleep 1 # a re-send would name the bad networks: give it time to happen (it must not)
check_eq "valid set unchanged by bad definitions" "100 200" "$(sent_last hv1)"
check_eq "each problem logged once" 1 "$(grep -c "network 101 skipped" "$(node_log hv1)")"

# ---- a fix, a change, a reservation, an ACL, a deletion ---------------------------
Z set /networks/101/ip4_network 10.1.2.0/24 >/dev/null
if wait_for 10 sent_is hv1 "100 101 200"; then pass "fixed network 101 is sent"; else
	fail "fixed network 101 is sent" "last: '$(sent_last hv1)'"; fi
check "fix logged" wait_for 5 logged hv1 "network 101: managed network valid"
n0=$(nsent hv1)
Z set /networks/100/ip4_gateway 10.1.1.2 >/dev/null
if wait_for 10 more_sent hv1 "$n0"; then pass "gateway change re-sends the set"; else
	fail "gateway change re-sends the set" "no new 'networks: sent'"; fi
Z set /networks/100/ip4_gateway 10.9.9.9 >/dev/null
KEEP="network 100: invalid change ignored, keeping its last valid definition:"
check "gateway outside is logged" wait_for 10 logged hv1 "$KEEP ip4_gateway: '10.9.9.9'"
sleep 0.5
check_eq "network 100 keeps its last valid definition" "100 101 200" "$(sent_last hv1)"
check "definition with the good gateway is still used" eval '! grep -q "gw 10.9.9.9" "$(node_log hv1)"'
n0=$(nsent hv1)
Z set /networks/100/ip4_gateway 10.1.1.1 >/dev/null
if wait_for 10 more_sent hv1 "$n0"; then pass "fixed gateway re-sends the set"; else
	fail "fixed gateway re-sends the set" "no new 'networks: sent'"; fi
check "fixed gateway logged" wait_for 5 logged hv1 "network 100: definition changed (managed, 10.1.1.0/24 gw 10.1.1.1"
n0=$(nsent hv1)
Z add-reservation 100 52:54:00:00:00:0a 10.1.1.10 vm10 >/dev/null
if wait_for 10 more_sent hv1 "$n0"; then pass "reservation re-sends the set"; else
	fail "reservation re-sends the set" "no new 'networks: sent'"; fi
Z add-reservation 100 52:54:00:00:00:0b 10.2.2.2 bad >/dev/null
check "reservation outside the network is logged" wait_for 10 logged hv1 \
	"$KEEP dhcp4_reservations: '52:54:00:00:00:0b' reserves 10.2.2.2"
Z delete -r /networks/100/dhcp4_reservations/52:54:00:00:00:0b >/dev/null
check "valid again after the bad reservation is removed" wait_for 10 eval '(( $(grep -c "network 100: managed network valid" "$(node_log hv1)") >= 3 ))'
# watches on keys that left the tree are dropped (ZooKeeper's 4lw "wchp": watched paths)
zkwatched() { zk_probe "${NODE_ZK%:*}" "${NODE_ZK##*:}" wchp | grep -c "^$1" || true; }
if wait_for 5 eval '(( $(zkwatched /networks/100/dhcp4_reservations/52:54:00:00:00:0b/) == 0 ))'; then
	pass "no watch left on the deleted reservation's keys"; else
	fail "no watch left on the deleted reservation's keys" "$(zkwatched /networks/100/dhcp4_reservations/52:54:00:00:00:0b/) path(s) still watched"; fi
n0=$(nsent hv1)
Z add-acl 100 in web 10 "tcp dport 80 accept" >/dev/null
Z add-acl 100 in ssh 2 "tcp dport 22 accept" >/dev/null
if wait_for 10 more_sent hv1 "$n0"; then pass "ACLs re-send the set"; else
	fail "ACLs re-send the set" "no new 'networks: sent'"; fi
Z add-acl 100 out evil 1 "drop; flush ruleset" >/dev/null
check "ACL with ';' is logged" wait_for 10 logged hv1 "$KEEP firewall_rules/out: 'drop; flush ruleset'"
Z delete -r "/networks/100/firewall_rules/out/evil" >/dev/null
check "valid again after the bad ACL is removed" wait_for 10 eval '(( $(grep -c "network 100: managed network valid" "$(node_log hv1)") >= 4 ))'
# garbage: binary data in a key, a child of /networks that is not a VNI
Z set /networks/101/domain $'bad\x01\xff domain' >/dev/null
check "binary garbage in a key is logged with the key" wait_for 10 logged hv1 \
	"network 101: invalid change ignored, keeping its last valid definition: domain: 'bad?"
Z set /networks/101/domain net101.local >/dev/null
Z create /networks/abc "" >/dev/null
check "a non-VNI child is logged" wait_for 10 logged hv1 "network abc skipped: vni: the name is not a VNI"
Z delete /networks/abc >/dev/null
Z delete -r /networks/200 >/dev/null
for n in hv1 hv2; do
	if wait_for 10 sent_is "$n" "100 101"; then pass "$n: deleted network 200 is gone"; else
		fail "$n: deleted network 200 is gone" "last: '$(sent_last "$n")'"; fi
done
check "removal logged" logged hv1 "network 200: removed from ZooKeeper"
if wait_for 5 eval '(( $(zkwatched /networks/200/) == 0 ))'; then pass "no watch left below the deleted network 200"; else
	fail "no watch left below the deleted network 200" "$(zkwatched /networks/200/) path(s) still watched"; fi
if wait_for 15 applied_is hv2 "100,101"; then pass "hv2 net-router applied 100,101"; else
	fail "hv2 net-router applied 100,101" "networks='$(applied hv2)'"; fi

# ---- the lease path ---------------------------------------------------------------
if wait_for 20 eval '[[ $(Z get /primary_node 2>/dev/null) == hv1 ]]'; then pass "hv1 is primary"; else
	fail "hv1 is primary" "/primary_node=$(Z get /primary_node 2>/dev/null || true)"; finish; fi
wait_for 10 eval '[[ $(Z get /nodes/hv1/routerstate 2>/dev/null) == primary ]]' || true
SOCK1=$(node_dir hv1)/run/dnsmasq/lease.sock
SOCK2=$(node_dir hv2)/run/dnsmasq/lease.sock
check "hv1 lease socket exists" wait_for 10 test -S "$SOCK1"
L=/networks/100/dhcp4_leases/52:54:00:12:34:56
helper() { # SOCK VMBR EXPIRES ARGS...: the helper as dnsmasq runs it
	local sock=$1 br=$2 exp=$3
	shift 3
	env -i DNSMASQ_BRIDGE_INTERFACE="$br" DNSMASQ_LEASE_EXPIRES="$exp" PVC_LEASE_SOCKET="$sock" \
		"$PVCT_BUILD/pvc-dhcp-lease" "$@"
}
leaseval() { Z get "$L/$1" 2>/dev/null; }
check "add exits 0" helper "$SOCK1" vmbr100 1700000000 add 52:54:00:12:34:56 10.1.1.50 vm50
check_eq "add: expiry" 1700000000 "$(leaseval expiry)"
check_eq "add: ipaddr" 10.1.1.50 "$(leaseval ipaddr)"
check_eq "add: hostname" vm50 "$(leaseval hostname)"
check_eq "add: clientid" "*" "$(leaseval clientid)"
check "add again (upsert) exits 0" env -i DNSMASQ_BRIDGE_INTERFACE=vmbr100 DNSMASQ_LEASE_EXPIRES=1700000100 \
	DNSMASQ_CLIENT_ID=01:52:54:00:12:34:56 PVC_LEASE_SOCKET="$SOCK1" \
	"$PVCT_BUILD/pvc-dhcp-lease" add 52:54:00:12:34:56 10.1.1.50 vm50
check_eq "upsert: expiry" 1700000100 "$(leaseval expiry)"
check_eq "upsert: clientid" 01:52:54:00:12:34:56 "$(leaseval clientid)"
check "old exits 0" helper "$SOCK1" vmbr100 1700000300 old 52:54:00:12:34:56 10.1.1.50 renamed
check_eq "old: expiry refreshed" 1700000300 "$(leaseval expiry)"
check_eq "old: hostname updated" renamed "$(leaseval hostname)"
check "second lease without hostname" helper "$SOCK1" vmbr100 0 add 52:54:00:12:34:57 10.1.1.51
out=$(helper "$SOCK1" vmbr100 0 init) || true
printf '%s\n' "$out" >"$PVCT_WORK/init.txt"
check "init lists the first lease" grep -qx "1700000300 52:54:00:12:34:56 10.1.1.50 renamed \\*" "$PVCT_WORK/init.txt"
check "init lists the second lease (hostname *)" grep -qx "0 52:54:00:12:34:57 10.1.1.51 \\* \\*" "$PVCT_WORK/init.txt"
check_eq "init prints exactly 2 lines" 2 "$(grep -c . "$PVCT_WORK/init.txt")"
check "del exits 0" helper "$SOCK1" vmbr100 0 del 52:54:00:12:34:56 10.1.1.50
check "del removed the lease" eval '! Z get "$L" >/dev/null 2>&1'
check "del of an absent lease exits 0" helper "$SOCK1" vmbr100 0 del 52:54:00:12:34:56 10.1.1.50
check_eq "one lease left" "52:54:00:12:34:57" "$(Z ls /networks/100/dhcp4_leases)"
# refusals: nothing written, exit status 1
check "ip outside the network refused" eval '! helper "$SOCK1" vmbr100 0 add 52:54:00:12:34:58 10.9.9.9 2>/dev/null'
check "refusal logged naming the ip" wait_for 5 logged hv1 "refused: ip 10.9.9.9 is not a host address of network 100"
check "unknown network refused" eval '! helper "$SOCK1" vmbr999 0 add 52:54:00:12:34:58 10.1.1.52 2>/dev/null'
check "bad mac refused by the helper" eval '! helper "$SOCK1" vmbr100 0 add 52:54:00:12:34 10.1.1.52 2>/dev/null'
check "bad interface refused by the helper" eval '! helper "$SOCK1" eth0 0 add 52:54:00:12:34:58 10.1.1.52 2>/dev/null'
raw=$("$PVCT_PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(b"add\t100\t52:54:00:12:34:58\t10.1.1.52\t$(reboot)\t0\t*\n")
print(s.recv(4096).decode(errors="replace").split("\n")[0])' "$SOCK1" 2>&1 || true)
if [[ $raw == -* ]]; then pass "garbage request on the socket gets a negative rc"; else
	fail "garbage request on the socket gets a negative rc" "reply '$raw'"; fi
check_eq "no lease written by refused requests" "52:54:00:12:34:57" "$(Z ls /networks/100/dhcp4_leases)"
# dnsmasq's legal_hostname() allows '_': such a name must be kept, not dropped
check "add with hostname my_vm exits 0" helper "$SOCK1" vmbr100 0 add 52:54:00:12:34:5a 10.1.1.54 my_vm
check_eq "hostname with '_' stored" my_vm "$(Z get /networks/100/dhcp4_leases/52:54:00:12:34:5a/hostname 2>/dev/null)"
helper "$SOCK1" vmbr100 0 del 52:54:00:12:34:5a 10.1.1.54 || true
# hv2 is not the primary: its zk-election refuses
if [[ -S $SOCK2 ]]; then
	err=$(helper "$SOCK2" vmbr100 0 add 52:54:00:12:34:59 10.1.1.53 2>&1) && rc=0 || rc=$?
	check_eq "hv2 (not primary) refuses leases" 1 "$rc"
	if [[ $err == *"rc -1000"* ]]; then pass "hv2 refusal says rc -1000"; else
		fail "hv2 refusal says rc -1000" "stderr: $err"; fi
	check "hv2 logged the refusal" wait_for 5 logged hv2 "refused: this node is not the primary"
else
	fail "hv2 lease socket exists" "$SOCK2 missing"
fi

# ---- back-to-back events for one MAC: the one that arrived last wins ------------
# An add and a del of a new lease, sent at once on two connections: zk-election
# must run them in arrival order (net-router's event ids, logged as [event N]).
# Started together, the del used to find nothing and the add to create the lease.
"$PVCT_PY" - "$SOCK1" >"$PVCT_WORK/race.txt" 2>&1 <<'PY' || true
import socket, sys
out = []
for i in range(20):
    mac = "52:54:00:aa:00:%02x" % i
    cs = []
    for line in ("add\t100\t%s\t10.1.1.%d\t\t0\t*\n" % (mac, 60 + i), "del\t100\t%s\t10.1.1.%d\t\t\t\n" % (mac, 60 + i)):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.settimeout(15); c.connect(sys.argv[1])
        cs.append((c, line))
    for c, line in cs:
        c.sendall(line.encode())
    rcs = []
    for c, _ in cs:
        data = b""
        while True:
            b = c.recv(4096)
            if not b:
                break
            data += b
        rcs.append(data.decode(errors="replace").split("\t")[0])
    print(mac, *rcs)
PY
race_bad=""
for i in $(seq 0 19); do
	mac=$(printf '52:54:00:aa:00:%02x' "$i")
	grep -q "^$mac 0 0\$" "$PVCT_WORK/race.txt" || race_bad+=" $mac:rc($(grep "^$mac" "$PVCT_WORK/race.txt" || true))"
	last=$(grep -E "lease (add|del) $mac .*\[event [0-9]+\]" "$(node_log hv1)" |
		sed -n 's/.*lease \(add\|del\) .*\[event \([0-9]*\)\]$/\2 \1/p' | sort -n | tail -n1 | cut -d' ' -f2)
	if Z get "/networks/100/dhcp4_leases/$mac" >/dev/null 2>&1; then have=add; else have=del; fi
	[[ $last == "$have" ]] || race_bad+=" $mac:last=${last:-?},zk=$have"
done
check_eq "add+del of one MAC at once: ZooKeeper follows the later event (20 pairs)" "" "$race_bad"
for i in $(seq 0 19); do Z delete -r "$(printf '/networks/100/dhcp4_leases/52:54:00:aa:00:%02x' "$i")" >/dev/null 2>&1 || true; done

# ---- scale: 60 managed networks with 5 reservations each, one transaction --------
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$(node_worker hv1 zk-election)/status"; }
rss0=$(rss)
t_commit=$("$PVCT_PY" - "$NODE_ZK" <<'PY'
import sys, time
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1])
zk.start(timeout=10)
t = zk.transaction()
for i in range(60):
    b, net = "/networks/%d" % (1000 + i), "10.100.%d" % i
    kv = [(b, "scale"), (b + "/nettype", "managed"), (b + "/domain", "s%d.local" % i),
          (b + "/name_servers", ""), (b + "/ip6_network", "None"), (b + "/ip6_gateway", "None"),
          (b + "/dhcp6_flag", "False"), (b + "/ip4_network", net + ".0/24"),
          (b + "/ip4_gateway", net + ".1"), (b + "/dhcp4_flag", "True"),
          (b + "/dhcp4_start", net + ".100"), (b + "/dhcp4_end", net + ".200"),
          (b + "/dhcp4_leases", ""), (b + "/dhcp4_reservations", ""), (b + "/firewall_rules", ""),
          (b + "/firewall_rules/in", ""), (b + "/firewall_rules/out", "")]
    for r in range(5):
        m = b + "/dhcp4_reservations/52:54:00:00:%02x:%02x" % (i, r)
        kv += [(m, "static"), (m + "/ipaddr", "%s.%d" % (net, 10 + r)), (m + "/hostname", "h%d" % r)]
    for p, v in kv:
        t.create(p, v.encode())
t0 = time.time()
bad = [r for r in t.commit() if isinstance(r, Exception)]
zk.stop()
print("%.6f" % t0 if not bad else "failed %r" % bad[:1])
PY
)
sent62() { grep -q "networks: sent 62 valid network(s) \[100 101 1000 1001 .* 1058 1059\]" "$(node_log "$1")"; }
if wait_for 30 sent62 hv1; then pass "62 networks sent"; else
	fail "62 networks sent" "last: '$(sent_last hv1)' (commit: $t_commit)"; fi
# the daemon's own timestamp of that line, against the commit time
ts=$(grep "networks: sent 62 valid" "$(node_log hv1)" | head -n1 | sed -n 's/^[a-z]*: \([0-9/]* [0-9:.]*\) - .*/\1/p')
if [[ -n $ts && $t_commit != failed* ]]; then
	ms=$(( ( $(date -d "${ts//\//-}" +%s%N) / 1000 - ${t_commit/./} ) / 1000 ))
	printf 'FIGURE: 60 networks (300 reservations, ~2100 keys) read and sent in %d ms; zk-election RSS %s -> %s kB\n' \
		"$ms" "$rss0" "$(rss)"
	check "60 networks read and sent within 10 s of the commit" test "$ms" -lt 10000
fi
check_eq "each scale network sent with its 5 reservations" 60 \
	"$(grep -c "network 10[0-9][0-9]: managed network valid" "$(node_log hv1)")"

# ---- reconnection: the set is sent again once everything is re-read -----------------
n0=$(nsent hv2)
kill -KILL "$(node_worker hv2 zk-election)"
if wait_for 20 more_sent hv2 "$n0" && [[ $(sent_last hv2) == "100 101 1000 1001 "*" 1058 1059" ]]; then
	pass "restarted zk-election re-sends all 62 networks"; else
	fail "restarted zk-election re-sends all 62 networks" "last: '$(sent_last hv2)'"; fi
# the re-read re-armed the watches: a change after the restart is seen
Z set /networks/1059/ip4_gateway 10.100.59.2 >/dev/null
check "hv2 sees a change after the restart" wait_for 10 logged hv2 "network 1059: definition changed (managed, 10.100.59.0/24 gw 10.100.59.2"
"$PVCT_PY" - "$NODE_ZK" <<'PY'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1])
zk.start(timeout=10)
for i in range(60):
    zk.delete("/networks/%d" % (1000 + i), recursive=True)
zk.stop()
PY
for n in hv1 hv2; do
	if wait_for 20 sent_is "$n" "100 101"; then pass "$n: 60 deleted networks are gone"; else
		fail "$n: 60 deleted networks are gone" "last: '$(sent_last "$n")'"; fi
done
if wait_for 10 eval '(( $(zkwatched /networks/10[0-9][0-9]) == 0 ))'; then pass "no watch left below the 60 deleted networks"; else
	fail "no watch left below the 60 deleted networks" "$(zkwatched /networks/10[0-9][0-9]) path(s) still watched: $(zk_probe "${NODE_ZK%:*}" "${NODE_ZK##*:}" wchc | grep -E '^0x|/networks/10[0-9][0-9]' | head -n 12 | tr '\n' ' ')"; fi

# ---- a set larger than one IPC frame (1 MiB): logged, not sent, no crash --------
# 3 networks x 400 ACLs of ~1000 bytes = ~1.2 MB of records
n0=$(nsent hv1)
"$PVCT_PY" - "$NODE_ZK" <<'PY' || fail "big ACL sets created" "kazoo failed"
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1])
zk.start(timeout=10)
rule = "tcp dport 1 accept comment \"" + "x" * 960 + "\""
for v in (3000, 3001, 3002):
    b = "/networks/%d" % v
    t = zk.transaction()
    for p, d in ((b, "big"), (b + "/nettype", "managed"), (b + "/ip4_network", "10.30.%d.0/24" % (v - 3000)),
                 (b + "/firewall_rules", ""), (b + "/firewall_rules/in", ""), (b + "/firewall_rules/out", "")):
        t.create(p, d.encode())
    t.commit()
    for k in range(0, 400, 100):
        t = zk.transaction()
        for j in range(k, k + 100):
            a = "%s/firewall_rules/in/rule%03d" % (b, j)
            t.create(a, b"")
            t.create(a + "/order", str(j).encode())
            t.create(a + "/rule", rule.encode())
        if [r for r in t.commit() if isinstance(r, Exception)]:
            sys.exit(1)
zk.stop()
PY
TOOBIG="networks: the 5 valid network(s) do not fit in one MSG_NET_NETWORKS frame (at most 1048576 bytes, 65536 strings): network 3002 and the 0 after it did not fit"
if wait_for 30 logged hv1 "$TOOBIG"; then pass "a set over 1 MiB is refused naming the network that did not fit"; else
	fail "a set over 1 MiB is refused naming the network that did not fit" "$(grep 'do not fit\|cannot encode' "$(node_log hv1)" | tail -n1)"; fi
n1=$(nsent hv1)
ntb=$(grep -c "do not fit in one MSG_NET_NETWORKS" "$(node_log hv1)" || true)
Z set /networks/3000 big2 >/dev/null
check "a change while too large is refused again" wait_for 10 eval \
	'(( $(grep -c "do not fit in one MSG_NET_NETWORKS" "$(node_log hv1)") > ntb ))'
check_eq "nothing sent while the set is too large" "$n1" "$(nsent hv1)"
"$PVCT_PY" - "$NODE_ZK" <<'PY'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1])
zk.start(timeout=10)
for v in (3000, 3001, 3002):
    zk.delete("/networks/%d" % v, recursive=True)
zk.stop()
PY
n0=$(nsent hv1)
Z set /networks/101/domain net101b.local >/dev/null
if wait_for 15 more_sent hv1 "$n0"; then pass "sending resumes once the set fits again"; else
	fail "sending resumes once the set fits again" "no new 'networks: sent'"; fi

# ---- zero networks: the empty set is sent and applied -----------------------------
Z delete -r /networks/100 >/dev/null
Z delete -r /networks/101 >/dev/null
for n in hv1 hv2; do
	if wait_for 15 eval 'grep -qF "networks: sent 0 valid network(s) [] to net-router" "$(node_log '"$n"')"'; then
		pass "$n: the empty set is sent"; else fail "$n: the empty set is sent" "last: '$(sent_last "$n")'"; fi
done
if wait_for 15 eval 'node_ctl hv2 status 2>/dev/null | grep -Eq "^net-router\.networks *\$"'; then
	pass "hv2 net-router applied the empty set"; else
	fail "hv2 net-router applied the empty set" "networks='$(applied hv2)'"; fi

for n in hv1 hv2; do
	node_stop "$n" 20 || fail "$n stops" "killed"
done
check "no zk-election died on hv1" eval '! grep -q "worker zk-election .* died" "$(node_log hv1)"'
check_eq "hv2's zk-election died once (the kill)" 1 "$(grep -c "worker zk-election .* died" "$(node_log hv2)")"
finish
