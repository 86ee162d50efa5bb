#!/bin/bash
# The DNS aggregator (issue 17 item 2): on the primary coordinator, pdns_server
# serves the client networks' zones from PostgreSQL, filled by AXFR from each
# network's dnsmasq. Real ZooKeeper, PostgreSQL 15, pdns_server, dnsmasq; two
# coordinators in network namespaces (hv1 primary first); a "VM" namespace takes
# a DHCP lease with a host name from the primary's dnsmasq.
#  - the worker runs confined (user, capabilities) on both coordinators
#  - the zone and the VM's A record reach the database (a lease triggers a transfer:
#    well before the 10 s round); dig at the cluster floating address gets the VM's
#    address from pdns on the primary only
#  - switchover: the old primary's pdns stops, the new one answers
#  - PostgreSQL stopped: logged, no worker restart, a switchover still completes;
#    PostgreSQL back (with TLS): the aggregator reconnects over TLS
#  - PostgreSQL silent (packets dropped): the same, and no worker killed as hung
#  - PostgreSQL stopped (kill -STOP): the worker's step deadline ends the calls
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
. "$PVCT_ROOT/tests/lib/pg.sh"
require_root
[[ -x $PVCT_BUILD/pvc-dns-aggregator ]] || skip_all "build/pvc-dns-aggregator missing (make all)"
[[ -x /usr/sbin/pdns_server ]] || skip_all "pdns-server missing (tools/install-deps.sh --services)"
[[ -x /usr/sbin/dnsmasq ]] || skip_all "dnsmasq missing"
command -v dig >/dev/null || skip_all "dig missing"
command -v busybox >/dev/null || skip_all "busybox missing (udhcpc)"

VNI=1001
GW=10.101.0.1
DOM=net$VNI.test
VM=pvct-vm
VMMAC=52:54:00:10:01:21
FLOAT=10.200.0.254

netns_setup 2
[[ -n ${S20_KEEP:-} ]] && on_exit "rm -rf $S20_KEEP; mkdir -p $S20_KEEP; cp -r $PVCT_WORK/hv1 $PVCT_WORK/hv2 $S20_KEEP/"
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
pg_start "$NETNS_HOST_ADDR"
pg_create_db pvcdns pvcdns dnspw >/dev/null
NODE_ZK=$(zk_connect_string)
zk() { zkcli -s "$NODE_ZK" "$@"; }
zk init-cluster >/dev/null
NODE_NETWORKING=true
NODE_COORDINATORS="hv1 hv2"
NODE_DNS_DB="host: $NETNS_HOST_ADDR, port: $PG_PORT, name: pvcdns, user: pvcdns, pass: dnspw"
primary() { zk get /primary_node 2>/dev/null || true; }
ns_of() { netns_name "${1#hv}"; }
sql() { pg_psql -d pvcdns -c "$1"; }
answer() { dig +short +time=1 +tries=1 @"$FLOAT" "$1" A 2>/dev/null | head -n1; }
answers() { [[ $(answer "$1") == "$2" ]]; }
pdns_pid() { pgrep -u pvct-dns -x pdns_server 2>/dev/null | while read -r p; do
	[[ $(ip netns identify "$p" 2>/dev/null) == "$(ns_of "$1")" ]] && echo "$p"; done; }
has_pdns() { [[ -n $(pdns_pid "$1") ]]; }
no_pdns() { [[ -z $(pdns_pid "$1") ]]; }
logged() { grep -qF -- "$2" "$(node_log "$1")"; }

zk define-network $VNI --type managed --desc "dns net" --domain $DOM \
	--net4 10.101.0.0/24 --gw4 $GW --dhcp4 True --start 10.101.0.100 --end 10.101.0.199 >/dev/null
for i in 1 2; do node_config "hv$i" >/dev/null; done
node_start hv1 "$(netns_name 1)"
wait_for 20 eval '[[ $(primary) == hv1 ]]' || true
node_start hv2 "$(netns_name 2)"
for i in 1 2; do
	node_wait_ready "hv$i" 20 || { fail "hv$i ready" "see $(node_log "hv$i")"; finish; }
done
if wait_for 20 eval '[[ $(primary) == hv1 ]]'; then pass "hv1 is primary"; else
	fail "hv1 is primary" "/primary_node=$(primary)"; finish; fi

# ---- the worker: confined, on both coordinators --------------------------------------
for i in 1 2; do
	check "hv$i runs dns-aggregator" wait_for 10 eval '[[ -n $(node_worker hv'$i' dns-aggregator) ]]'
done
W=$(node_worker hv1 dns-aggregator)
st=/proc/$W/status
check_eq "dns-aggregator user" "$(id -u pvct-dns)" "$(awk '/^Uid:/{print $2}' "$st")"
check_eq "dns-aggregator capabilities: CAP_NET_BIND_SERVICE only" 0000000000000400 "$(awk '/^CapEff:/{print $2}' "$st")"
check_eq "dns-aggregator seccomp filter" 2 "$(awk '/^Seccomp:/{print $2}' "$st")"
check "hv1 (primary) runs pdns_server" wait_for 10 has_pdns hv1
check "hv2 (secondary) runs no pdns_server" no_pdns hv2
P=$(pdns_pid hv1)
check "pdns_server has no password on its command line" eval '! tr "\0" " " </proc/'"$P"'/cmdline | grep -q dnspw'
check_eq "pdns_server runs as pvct-dns" "$(id -u pvct-dns)" "$(awk '/^Uid:/{print $2}' /proc/"$P"/status)"
# (at most CAP_NET_BIND_SERVICE: PowerDNS may drop it itself once bound)
PCAP=$(awk '/^CapEff:/{print $2}' /proc/"$P"/status)
check "pdns_server capabilities: at most CAP_NET_BIND_SERVICE ($PCAP)" eval '(( (0x'"$PCAP"' & ~0x400) == 0 ))'
check_eq "pdns_server bounding set: CAP_NET_BIND_SERVICE only" 0000000000000400 "$(awk '/^CapBnd:/{print $2}' /proc/"$P"/status)"
# the worker ignores SIGTERM; an ignored signal stays ignored across execve
check "pdns_server does not ignore SIGTERM" eval '(( (0x$(awk '"'"'/^SigIgn:/{print $2}'"'"' /proc/'"$P"'/status) & 0x4000) == 0 ))'
PDIR=$(node_dir hv1)/run/pdns
check_eq "pdns.conf (it has the database password): mode 0600" 600 "$(stat -c %a "$PDIR/pdns.conf")"
check_eq "its directory: mode 0750" 750 "$(stat -c %a "$PDIR")"
check "zone $DOM in the database" wait_for 15 eval '[[ $(sql "SELECT count(*) FROM domains WHERE name='"'$DOM'"'") == 1 ]]'
check "SOA of $DOM answered by pdns" wait_for 10 eval '[[ -n $(dig +short +time=1 +tries=1 @'$FLOAT' '$DOM' SOA) ]]'

# ---- a VM with a host name takes a lease: its record is served ------------------------
ip netns add "$VM"
on_exit "ip netns del $VM 2>/dev/null || true"
for i in 1 2; do
	j=$((3 - i))
	ip netns exec "$(netns_name $i)" bridge fdb append 00:00:00:00:00:00 dev vxlan$VNI dst 10.200.0.$j 2>/dev/null || true
done
check "vmbr$VNI on hv1" wait_for 10 eval 'ip -n '"$(ns_of hv1)"' link show vmbr'$VNI' >/dev/null 2>&1'
ip link add pvct-vmh netns "$(netns_name 1)" type veth peer name eth0 netns "$VM"
ip -n "$(netns_name 1)" link set pvct-vmh master vmbr$VNI up
ip -n "$VM" link set eth0 address $VMMAC mtu 1450 up
ip -n "$VM" link set lo up
DHCP_OUT=$PVCT_WORK/dhcp.out
dhcp() {
	rm -f "$DHCP_OUT"
	PVCT_DHCP_OUT=$DHCP_OUT ip netns exec "$VM" busybox udhcpc -i eth0 -n -q -t 6 -T 1 -x hostname:dnsvm \
		-s "$PVCT_ROOT/tests/lib/udhcpc-script" >>"$PVCT_WORK/udhcpc.log" 2>&1 || true
	[[ -s $DHCP_OUT ]]
}
if wait_for 20 dhcp; then pass "VM got a lease ($(cat "$DHCP_OUT"))"; else
	fail "VM got a lease" "see $PVCT_WORK/udhcpc.log"; finish; fi
IP=$(sed 's/\/.*//' "$DHCP_OUT")
t_lease=$(now_ms)
check "A record of dnsvm.$DOM in the database within 5 s of the lease" wait_for 5 eval \
	'[[ $(sql "SELECT content FROM records WHERE name='"'dnsvm.$DOM'"' AND type='"'A'"'") == '"$IP"' ]]'
if wait_for 10 answers "dnsvm.$DOM" "$IP"; then
	pass "dig dnsvm.$DOM @$FLOAT: $IP (pdns on hv1, $(($(now_ms) - t_lease)) ms after the lease)"; else
	fail "dig dnsvm.$DOM @$FLOAT" "got '$(answer "dnsvm.$DOM")'"; fi
check "serial bumped above 1" eval '(( $(sql "SELECT split_part(content, '"' '"', 3) FROM records WHERE type='"'SOA'"' AND name='"'$DOM'"'") > 1 ))'

# ---- switchover: hv2 takes over, its pdns answers --------------------------------------
t0=$(now_ms)
zk set /primary_node hv2 >/dev/null
# id.server is pdns' server-id (the node name): the answer must come from hv2, not
# from hv1's pdns still holding the floating address
server_id() { dig +short +time=1 +tries=1 @"$FLOAT" id.server CH TXT 2>/dev/null | tr -d '"' | head -n1; }
from_hv2() { [[ $(server_id) == hv2 ]] && answers "dnsvm.$DOM" "$IP"; }
if wait_for 30 from_hv2; then
	pass "after the switchover dnsvm.$DOM is answered by hv2 ($(($(now_ms) - t0)) ms)"
else
	fail "after the switchover hv2 answers" "id.server '$(server_id)', got '$(answer "dnsvm.$DOM")', pdns on hv2: $(pdns_pid hv2)"
fi
check "hv1's pdns_server stopped" wait_for 10 no_pdns hv1
check "hv1 logged the relinquish" logged hv1 "DNS aggregator: relinquishing: stopping"
sleep 2
check_eq "record still served after the new primary's sync" "$IP" "$(answer "dnsvm.$DOM")"

# ---- PostgreSQL outage: logged, no crash, the election carries on ---------------------
W2=$(node_worker hv2 dns-aggregator)
pg_stop
check "hv2 logs the database outage" wait_for 25 logged hv2 "pdns keeps serving, retrying"
zk set /primary_node hv1 >/dev/null
if wait_for 30 eval '[[ $(zk get /nodes/hv1/routerstate 2>/dev/null) == primary ]]'; then
	pass "switchover to hv1 completes with PostgreSQL down"; else
	fail "switchover to hv1 completes with PostgreSQL down" "hv1 routerstate $(zk get /nodes/hv1/routerstate 2>/dev/null || true)"; fi
check "hv1 runs pdns_server again" wait_for 10 has_pdns hv1
check_eq "hv2's dns-aggregator was not restarted" "$W2" "$(node_worker hv2 dns-aggregator)"
check_eq "hv1's dns-aggregator was not restarted" "$W" "$(node_worker hv1 dns-aggregator)"
# back with TLS on (Debian's default): libpq negotiates it inside the sandbox, for the
# worker and for pdns_server alike
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=pvct-pg -keyout "$PG_DATA/server.key" \
	-out "$PG_DATA/server.crt" >/dev/null 2>&1
chown postgres: "$PG_DATA/server.key" "$PG_DATA/server.crt"
chmod 0600 "$PG_DATA/server.key"
echo "ssl = on" >>"$PG_DATA/postgresql.auto.conf"
pg_start
check "hv1 reconnects once PostgreSQL is back" wait_for 40 logged hv1 "the DNS database is reachable again"
ssl_of() { pg_psql -d postgres -c "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '$1'" | head -n1; }
check_eq "... the worker's connection uses TLS (pg_stat_ssl)" t "$(ssl_of pvc-dns-aggregator)"
if wait_for 15 answers "dnsvm.$DOM" "$IP"; then pass "hv1 answers dnsvm.$DOM again"; else
	fail "hv1 answers dnsvm.$DOM again" "got '$(answer "dnsvm.$DOM")'"; fi

# ---- PostgreSQL silent (its packets dropped): every call is bounded, the worker --------
# ---- keeps answering the supervisor's heartbeat (never killed as hung) ---------------
nretry() { grep -c "pdns keeps serving, retrying" "$(node_log "$1")" || true; }
nback() { grep -c "the DNS database is reachable again" "$(node_log "$1")" || true; }
r0=$(nretry hv1)
nft add table inet pvct_s20
on_exit "nft delete table inet pvct_s20 2>/dev/null || true"
nft add chain inet pvct_s20 in '{ type filter hook input priority 0; }'
nft add rule inet pvct_s20 in ip daddr "$NETNS_HOST_ADDR" tcp dport "$PG_PORT" drop
sleep 1
zk add-reservation $VNI 52:54:00:10:01:99 10.101.0.99 silentvm >/dev/null # a change: a round now
check "hv1 logs the silent database" wait_for 20 eval '(( $(nretry hv1) > r0 ))'
sleep 5
check_eq "hv1's dns-aggregator survived the silent database" "$W" "$(node_worker hv1 dns-aggregator)"
check "no worker was killed as hung" eval '! grep -q "(hung)" "$(node_log hv1)" "$(node_log hv2)"'
b0=$(nback hv2)
zk set /primary_node hv2 >/dev/null
if wait_for 30 eval '[[ $(zk get /nodes/hv2/routerstate 2>/dev/null) == primary ]]'; then
	pass "switchover to hv2 completes with PostgreSQL silent"; else
	fail "switchover to hv2 completes with PostgreSQL silent" "hv2 routerstate $(zk get /nodes/hv2/routerstate 2>/dev/null || true)"; fi
nft delete table inet pvct_s20
check "hv2 reconnects once PostgreSQL answers again" wait_for 40 eval '(( $(nback hv2) > b0 ))'
if wait_for 15 answers "dnsvm.$DOM" "$IP"; then pass "hv2 answers dnsvm.$DOM again"; else
	fail "hv2 answers dnsvm.$DOM again" "got '$(answer "dnsvm.$DOM")'"; fi

# ---- PostgreSQL stopped (kill -STOP): its kernel still accepts and acknowledges, so ----
# ---- only the worker's own step deadline ends a call; never killed as hung ------------
pg_pids() { local m; m=$(head -n1 "$PG_DATA/postmaster.pid"); echo "$m" $(pgrep -P "$m"); }
W2=$(node_worker hv2 dns-aggregator)
r0=$(nretry hv2)
kill -STOP $(pg_pids)
on_exit "kill -CONT $(pg_pids) 2>/dev/null || true"
zk add-reservation $VNI 52:54:00:10:01:98 10.101.0.98 stoppedvm >/dev/null # a round now
check "hv2 logs the stopped database" wait_for 20 eval '(( $(nretry hv2) > r0 ))'
check "... as a call past the step's deadline" logged hv2 "no answer within the step's"
sleep 4
check_eq "hv2's dns-aggregator survived the stopped database" "$W2" "$(node_worker hv2 dns-aggregator)"
check "no worker was killed as hung" eval '! grep -q "(hung)" "$(node_log hv1)" "$(node_log hv2)"'
b0=$(nback hv2)
kill -CONT $(pg_pids)
check "hv2 reconnects once PostgreSQL runs again" wait_for 40 eval '(( $(nback hv2) > b0 ))'

# ---- a deleted network's zone goes -----------------------------------------------------
# the recursive delete races with the leases the restarted dnsmasq reports meanwhile
# (removing the reservations changes the network first): again until it is gone
net_gone() { zk delete -r /networks/$VNI >/dev/null 2>&1 || ! zk get /networks/$VNI >/dev/null 2>&1; }
check "network $VNI deleted from ZooKeeper" wait_for 10 net_gone
check "zone $DOM removed from the database" wait_for 20 eval '[[ $(sql "SELECT count(*) FROM domains WHERE name='"'$DOM'"'") == 0 ]]'
for n in hv1 hv2; do
	check "$n: no worker killed by seccomp" eval '! grep -q "SIGSYS\|seccomp filter" "$(node_log '$n')"'
done
for n in hv1 hv2; do node_stop "$n" 20 || true; done
check "no pdns_server left" eval '[[ -z $(pgrep -u pvct-dns -x pdns_server) ]]'
for n in hv1 hv2; do
	check "$n: pdns_server stopped by SIGTERM every time (no SIGKILL fallback)" \
		eval '! grep -q "still running after" "$(node_log '$n')"'
done
finish
