# shellcheck shell=bash disable=SC2034  # the variables are the sourcing script's
# tests/lib/metadata.sh: the metadata API's test cluster, for tests/services/s30-metadata.sh
# and bench/metadata.sh (root only).
#
#   meta_cluster_setup   two coordinators hv1, hv2 (namespaces pvct-n1, pvct-n2), ZooKeeper
#                        and PostgreSQL (the provisioner's tables userdata and profile,
#                        profile prof1 -> user-data "basic", profile bare without) on the
#                        host side of the test bridge, managed client network $VNI with
#                        DHCP, a "VM" namespace $VM (MAC $VMMAC) on hv1's vmbr$VNI, VM
#                        $UUID (vm-one, profile prof1) in ZooKeeper, its DHCP lease.
#                        Sets P (primary), Q (the other), MD (the API's URL). On a
#                        failure it reports FAIL and calls finish.
#   meta_get PATH [CURL ARGS...]  from the VM: "CODE BODY" (newlines as \n)

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
. "$PVCT_ROOT/tests/lib/pg.sh"

VNI=1001
GW=10.101.0.1
VM=pvct-vm
VMMAC=52:54:00:10:01:01
UUID=0a1b2c3d-0000-4000-8000-0000000000a1
MD=http://169.254.169.254
DHCP_OUT=$PVCT_WORK/dhcp.out

zk() { zkcli -s "$NODE_ZK" "$@"; }
ns_of() { netns_name "${1#hv}"; }
primary() { zk get /primary_node 2>/dev/null || true; }
primary_is_node() { [[ $(primary) == hv[12] ]]; }
holds_md() { ip -n "$(ns_of "$1")" -o addr show dev lo 2>/dev/null | grep -q ' 169.254.169.254/'; }
listens() { ip netns exec "$(ns_of "$1")" ss -Hltn 'sport = :80' 2>/dev/null | grep -q 169.254.169.254; }
# nothing listens on :80 in $1's namespace; fails (not passes) if ss cannot be run there
listens_not() {
	local out
	out=$(ip netns exec "$(ns_of "$1")" ss -Hltn 'sport = :80') || return 1
	[[ -z $out ]]
}
has_vmbr() { ip -n "$(ns_of "$1")" link show "vmbr$VNI" >/dev/null 2>&1; }
lease_in_zk() { zk get "/networks/$VNI/dhcp4_leases/$VMMAC/ipaddr" >/dev/null 2>&1; }
meta_dhcp() {
	rm -f "$DHCP_OUT"
	PVCT_DHCP_OUT=$DHCP_OUT ip netns exec "$VM" busybox udhcpc -i eth0 -n -q -t 6 -T 1 \
		-s "$PVCT_ROOT/tests/lib/udhcpc-script" >>"$PVCT_WORK/udhcpc.log" 2>&1 || true
	[[ -s $DHCP_OUT ]]
}
meta_get() {
	local p=$1
	shift
	ip netns exec "$VM" curl -s -m 5 -o "$PVCT_WORK/body" -w '%{http_code}' "$@" "$MD$p" >"$PVCT_WORK/code" 2>/dev/null || true
	printf '%s %s' "$(cat "$PVCT_WORK/code")" "$(sed ':a;N;$!ba;s/\n/\\n/g' "$PVCT_WORK/body" 2>/dev/null)"
}

meta_cluster_setup() {
	chmod 0711 "$PVCT_WORK"
	netns_setup 2
	ZK_ADDR=$NETNS_HOST_ADDR
	zk_start_standalone
	on_exit zk_stop_all
	NODE_ZK=$(zk_connect_string)
	zkcli -s "$NODE_ZK" init-cluster >/dev/null

	# ---- the provisioner's database -----------------------------------------------------
	pg_start "$NETNS_HOST_ADDR"
	pg_create_db pvcprov pvcprov pvcprov
	pg_psql -d pvcprov <<-'SQL'
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
	# ---- client network, VM, lease ------------------------------------------------------
	zk define-network $VNI --type managed --net4 10.101.0.0/24 --gw4 $GW --dhcp4 True \
		--start 10.101.0.100 --end 10.101.0.199 >/dev/null
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
	cat >"$PVCT_WORK/vm.xml" <<-XML
	<domain type='kvm'><name>vm-one</name><uuid>$UUID</uuid><memory unit='MiB'>512</memory>
	<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices>
	<interface type='bridge'><mac address='${VMMAC^^}'/><source bridge='vmbr$VNI'/><model type='virtio'/></interface>
	</devices></domain>
	XML
	zk define-vm "$UUID" vm-one hv1 "$PVCT_WORK/vm.xml" >/dev/null
	zk set "/domains/$UUID/profile" prof1 >/dev/null
	if wait_for 20 meta_dhcp; then pass "VM got a DHCP lease ($(cat "$DHCP_OUT"))"; else fail "VM got a DHCP lease" "see $PVCT_WORK/udhcpc.log"; finish; fi
	check "lease in ZooKeeper" wait_for 10 lease_in_zk
}
