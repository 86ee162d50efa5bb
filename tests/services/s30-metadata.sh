#!/bin/bash
# The cloud-init metadata API (issue 17, item 3): two coordinators in their own
# namespaces, ZooKeeper and PostgreSQL (the provisioner's tables) on the host side of
# the test bridge, a "VM" namespace on a managed client network with a DHCP lease.
#  - the primary's metadata worker answers http://169.254.169.254/ with the VM's
#    instance-id, name, profile and the profile's user-data from PostgreSQL
#  - an unknown client gets 404, bad requests clear errors (405, 413, 431/414),
#    a slowloris connection is cut while others are served
#  - PostgreSQL stopped: user-data 503 with a log line, meta-data still served;
#    PostgreSQL back: user-data again
#  - planned switchover: the new primary answers, the old one listens no more
#  - the worker runs as its own user without capabilities
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
. "$PVCT_ROOT/tests/lib/pg.sh"
require_root
[[ -x $PVCT_BUILD/pvc-metadata ]] || skip_all "build/pvc-metadata missing (make all)"
[[ -x /usr/sbin/dnsmasq ]] || skip_all "dnsmasq missing"
command -v busybox >/dev/null || skip_all "busybox missing (udhcpc)"
command -v curl >/dev/null || skip_all "curl missing"

VNI=1001
GW=10.101.0.1
VM=pvct-vm
VMMAC=52:54:00:10:01:01
UUID=0a1b2c3d-0000-4000-8000-0000000000a1
MD=http://169.254.169.254
chmod 0711 "$PVCT_WORK"
netns_setup 2
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
zkcli -s "$NODE_ZK" init-cluster >/dev/null
zk() { zkcli -s "$NODE_ZK" "$@"; }

# ---- the provisioner's database -----------------------------------------------------
pg_start "$NETNS_HOST_ADDR"
pg_create_db pvcprov pvcprov pvcprov
pg_psql -d pvcprov <<'SQL'
CREATE TABLE userdata (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, userdata TEXT NOT NULL);
CREATE TABLE profile (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, system_template INT,
	network_template INT, storage_template INT, userdata INT REFERENCES userdata(id),
	script INT, arguments TEXT);
INSERT INTO userdata (name, userdata) VALUES ('basic', E'#cloud-config\nhostname: vm-one\n');
INSERT INTO profile (name, userdata) VALUES ('prof1', 1), ('bare', NULL);
ALTER TABLE userdata OWNER TO pvcprov;
ALTER TABLE profile OWNER TO pvcprov;
SQL

NODE_NETWORKING=true
NODE_COORDINATORS="hv1 hv2"
NODE_SESSION_MS=4000
NODE_META_DB_HOST=$NETNS_HOST_ADDR
NODE_META_DB_PORT=$PG_PORT
ns_of() { netns_name "${1#hv}"; }
primary() { zk get /primary_node 2>/dev/null || true; }
primary_is_node() { [[ $(primary) == hv[12] ]]; }
holds_md() { ip -n "$(ns_of "$1")" -o addr show dev lo 2>/dev/null | grep -q ' 169.254.169.254/'; }
listens() { ip netns exec "$(ns_of "$1")" ss -Hltn 'sport = :80' 2>/dev/null | grep -q 169.254.169.254; }
for i in 1 2; do
	node_config "hv$i" >/dev/null
	node_start "hv$i" "$(netns_name "$i")"
done
for i in 1 2; do
	node_wait_ready "hv$i" 20 || { fail "hv$i ready" "see $(node_log "hv$i")"; finish; }
done
if wait_for 20 primary_is_node; then pass "a primary was elected"; else fail "a primary was elected" "/primary_node=$(primary)"; finish; fi
P=$(primary)
Q=hv1
[[ $P == hv1 ]] && Q=hv2
if [[ -n $(node_worker hv1 metadata) && -n $(node_worker hv2 metadata) ]]; then
	pass "metadata worker runs on both coordinators"
else
	fail "metadata worker runs on both coordinators" "hv1 '$(node_worker hv1 metadata)' hv2 '$(node_worker hv2 metadata)'"
fi
check "$P listens on 169.254.169.254:80" wait_for 10 listens "$P"
check "$Q (secondary) does not listen on :80" bash -c "! ip netns exec $(ns_of "$Q") ss -Hltn 'sport = :80' | grep -q ."
MPID=$(node_worker "$P" metadata)
check_eq "metadata worker runs as pvct-meta" pvct-meta "$(ps -o user= -p "$MPID" | tr -d ' ')"
check_eq "metadata worker has no capability" 0000000000000000 "$(sed -n 's/^CapEff:\s*//p' "/proc/$MPID/status")"
check_eq "metadata worker is under seccomp" 2 "$(sed -n 's/^Seccomp:\s*//p' "/proc/$MPID/status")"

# ---- client network, VM, lease ------------------------------------------------------
zk define-network $VNI --type managed --net4 10.101.0.0/24 --gw4 $GW --dhcp4 True \
	--start 10.101.0.100 --end 10.101.0.199 >/dev/null
has_vmbr() { ip -n "$(ns_of "$1")" link show vmbr$VNI >/dev/null 2>&1; }
for i in 1 2; do
	wait_for 10 has_vmbr "hv$i" || { fail "hv$i: vmbr$VNI" "absent"; finish; }
done
ip netns exec "$(netns_name 1)" bridge fdb append 00:00:00:00:00:00 dev vxlan$VNI dst 10.200.0.2
ip netns exec "$(netns_name 2)" bridge fdb append 00:00:00:00:00:00 dev vxlan$VNI dst 10.200.0.1
ip netns add "$VM"
on_exit "ip netns del $VM 2>/dev/null || true"
ip link add pvct-vmh netns "$(netns_name 1)" type veth peer name eth0 netns "$VM"
ip -n "$(netns_name 1)" link set pvct-vmh master vmbr$VNI up
ip -n "$VM" link set eth0 address $VMMAC mtu 1450 up
ip -n "$VM" link set lo up
cat >"$PVCT_WORK/vm.xml" <<XML
<domain type='kvm'><name>vm-one</name><uuid>$UUID</uuid><memory unit='MiB'>512</memory>
<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices>
<interface type='bridge'><mac address='${VMMAC^^}'/><source bridge='vmbr$VNI'/><model type='virtio'/></interface>
</devices></domain>
XML
zk define-vm "$UUID" vm-one hv1 "$PVCT_WORK/vm.xml" >/dev/null
zk set "/domains/$UUID/profile" prof1 >/dev/null
DHCP_OUT=$PVCT_WORK/dhcp.out
dhcp() {
	rm -f "$DHCP_OUT"
	PVCT_DHCP_OUT=$DHCP_OUT ip netns exec "$VM" busybox udhcpc -i eth0 -n -q -t 6 -T 1 \
		-s "$PVCT_ROOT/tests/lib/udhcpc-script" >>"$PVCT_WORK/udhcpc.log" 2>&1 || true
	[[ -s $DHCP_OUT ]]
}
if wait_for 20 dhcp; then pass "VM got a DHCP lease ($(cat "$DHCP_OUT"))"; else fail "VM got a DHCP lease" "see $PVCT_WORK/udhcpc.log"; finish; fi
lease_in_zk() { zk get /networks/$VNI/dhcp4_leases/$VMMAC/ipaddr >/dev/null 2>&1; }
check "lease in ZooKeeper" wait_for 10 lease_in_zk

# ---- answers --------------------------------------------------------------------------
# get PATH [CURL ARGS...] -> "CODE BODY" (body newlines as \n)
get() {
	local p=$1
	shift
	ip netns exec "$VM" curl -s -m 5 -o "$PVCT_WORK/body" -w '%{http_code}' "$@" "$MD$p" >"$PVCT_WORK/code" 2>/dev/null || true
	printf '%s %s' "$(cat "$PVCT_WORK/code")" "$(sed ':a;N;$!ba;s/\n/\\n/g' "$PVCT_WORK/body" 2>/dev/null)"
}
answers() { [[ $(get /latest/meta-data/instance-id) == "200 $UUID" ]]; }
check "the VM reaches the metadata API" wait_for 10 answers
check_eq "instance-id" "200 $UUID" "$(get /latest/meta-data/instance-id)"
check_eq "name" "200 vm-one" "$(get /latest/meta-data/name)"
check_eq "profile" "200 prof1" "$(get /2009-04-04/meta-data/profile)"
check_eq "meta-data index" '200 instance-id\nname\nprofile' "$(get /latest/meta-data/)"
check_eq "user-data from PostgreSQL" '200 #cloud-config\nhostname: vm-one' "$(get /latest/user-data)"
check_eq "root" '200 {"message": "PVC Provisioner Metadata API version 1"}' "$(get /)"
zk set "/domains/$UUID/profile" bare >/dev/null
bare() { [[ $(get /latest/meta-data/profile) == "200 bare" ]]; }
check "a profile change is seen within the scan period" wait_for 8 bare
check_eq "profile without user-data: empty user-data" "200 " "$(get /latest/user-data)"
zk set "/domains/$UUID/profile" prof1 >/dev/null
wait_for 8 bash -c "[[ \$(ip netns exec $VM curl -s -m 2 $MD/latest/meta-data/profile) == prof1 ]]" || true

# ---- bad requests -----------------------------------------------------------------------
ip -n "$VM" addr add 10.101.0.77/24 dev eth0
check_eq "unknown client (no lease): 404" "404 no VM with a DHCP lease for 10.101.0.77" "$(get /latest/user-data --interface 10.101.0.77)"
check_eq "unknown path: 404" "404 not found" "$(get /latest/meta-data/secret)"
check_eq "POST: 405" "405 only GET and HEAD" "$(get /latest/user-data -X POST)"
check_eq "a request body: 413" "413 no request body expected" "$(get /latest/user-data -X GET --data-binary xyz)"
BIG=$(head -c 20000 /dev/zero | tr '\0' a)
code=$(get /latest/user-data -H "X-Big: $BIG")
check "oversized headers: 4xx ($code)" bash -c "[[ '${code%% *}' == 431 || '${code%% *}' == 413 || '${code%% *}' == 414 || '${code%% *}' == 400 ]]"
code=$(get "/latest/$BIG")
check "oversized URL: 4xx (${code%% *})" bash -c "[[ '${code%% *}' =~ ^4[0-9][0-9]$ ]]"
# slowloris: half a request line, then silence; cut after the idle timeout, while a
# normal client is served at once
ip netns exec "$VM" python3 - "$PVCT_WORK/slow.out" <<'PY' &
import socket, sys, time
s = socket.create_connection(("169.254.169.254", 80))
s.sendall(b"GET /latest/user-data HTTP/1.1\r\nHost: x\r\n")
t = time.monotonic()
s.settimeout(30)
try:
    d = s.recv(100)
except OSError:
    d = b""
open(sys.argv[1], "w").write("%.1f %d\n" % (time.monotonic() - t, len(d)))
PY
SLOW=$!
sleep 0.5
t0=$(now_ms)
r=$(get /latest/meta-data/instance-id)
dt=$(($(now_ms) - t0))
check_eq "served during a slowloris connection" "200 $UUID" "$r"
check "... within 1 s ($dt ms)" test "$dt" -lt 1000
wait "$SLOW" || true
check "slowloris connection closed after the idle timeout (5 s): $(cat "$PVCT_WORK/slow.out" 2>/dev/null)" \
	bash -c "awk '{exit !(\$1 >= 4 && \$1 < 10)}' '$PVCT_WORK/slow.out'"

# ---- database outage ----------------------------------------------------------------------
pg_stop
sleep 1.2 # past the user-data cache's 1 s
check_eq "PostgreSQL stopped: user-data 503" "503 metadata database unavailable: try again" "$(get /latest/user-data)"
check "... logged with the database" wait_for 5 grep -q "metadata: database pvcprov@$NETNS_HOST_ADDR:$PG_PORT/pvcprov: .*failed" "$(node_log "$P")"
check_eq "PostgreSQL stopped: meta-data still served" "200 vm-one" "$(get /latest/meta-data/name)"
check "the metadata worker did not restart" bash -c "[[ '$(node_worker "$P" metadata)' == $MPID ]]"
pg_start
ud_ok() { [[ $(get /latest/user-data) == '200 #cloud-config\nhostname: vm-one' ]]; }
check "PostgreSQL back: user-data again (reconnect with backoff)" wait_for 10 ud_ok

# ---- switchover ------------------------------------------------------------------------------
zk set /primary_node "$Q" >/dev/null
t0=$(now_ms)
from_q() { answers && grep -q "metadata: serving" "$(node_log "$Q")"; }
if wait_for 15 from_q; then pass "switchover: $Q answers ($(($(now_ms) - t0)) ms after the /primary_node write)"; else fail "switchover: $Q answers" "$(get /latest/meta-data/instance-id)"; fi
check "$Q listens on :80" listens "$Q"
check "$P listens no more" bash -c "! ip netns exec $(ns_of "$P") ss -Hltn 'sport = :80' | grep -q ."
check_eq "user-data from the new primary" '200 #cloud-config\nhostname: vm-one' "$(get /latest/user-data)"
check "$P logged the stop" grep -q "metadata: not primary: stopping the metadata API" "$(node_log "$P")"
for n in hv1 hv2; do
	check "no metadata worker crash on $n" bash -c "! grep -q 'worker metadata (pid [0-9]*) died' '$(node_log $n)'"
done
finish
