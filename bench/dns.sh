#!/bin/bash
# shellcheck disable=SC2034 # ZK_ADDR, NODE_*: read by the sourced test libraries
# Benchmark of the DNS aggregator (issue 17 item 2), whole daemon: two coordinators
# in network namespaces, standalone ZooKeeper, PostgreSQL 15 with the PowerDNS
# schema, one managed network with a domain. Over R planned switchovers it prints
#   takeover->answer: /primary_node written -> the new primary's pdns_server
#       answers the zone's SOA at the cluster floating address and says it is the
#       new primary (`dig id.server CH TXT`, pdns's server-id = node name); dig is
#       polled every ~20 ms, so this includes the election, net-router's takeover
#       and pdns's start. The reference measured 4.7-5.3 s on this machine
#       (environment.md).
# Needs root. Usage: bench/dns.sh [ROUNDS]
set -euo pipefail
R=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
if ((EUID != 0)); then
	echo "dns bench: needs root (network namespaces)"
	exit 0
fi
. "$root/tests/lib/common.sh"
. "$root/tests/lib/netns.sh"
. "$root/tests/lib/zk.sh"
. "$root/tests/lib/node.sh"
. "$root/tests/lib/pg.sh"
[[ -x $PVCT_BUILD/pvc-dns-aggregator ]] || { echo "dns bench: make all first"; exit 0; }
[[ -x /usr/sbin/pdns_server ]] || { echo "dns bench: pdns-server missing (tools/install-deps.sh --services)"; exit 0; }
command -v dig >/dev/null || { echo "dns bench: dig missing"; exit 0; }

FLOAT=10.200.0.254
DOM=bench.test
netns_setup 2
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
zk define-network 1001 --type managed --domain $DOM --net4 10.101.0.0/24 --gw4 10.101.0.1 \
	--dhcp4 True --start 10.101.0.100 --end 10.101.0.199 >/dev/null
for i in 1 2; do node_config "hv$i" >/dev/null; done
node_start hv1 "$(netns_name 1)"
wait_for 20 eval '[[ $(zk get /primary_node 2>/dev/null) == hv1 ]]' || { echo "dns bench: no primary"; exit 1; }
node_start hv2 "$(netns_name 2)"
for i in 1 2; do node_wait_ready "hv$i" 20 || { echo "dns bench: hv$i not ready"; exit 1; }; done
serving() { # NODE: the SOA is answered by NODE's pdns
	[[ $(dig +short +time=1 +tries=1 @$FLOAT id.server CH TXT 2>/dev/null) == "\"$1\"" ]] &&
		[[ -n $(dig +short +time=1 +tries=1 @$FLOAT $DOM SOA 2>/dev/null) ]]
}
wait_for 30 serving hv1 || { echo "dns bench: hv1 never answered"; exit 1; }
echo "dns bench: 2 coordinators, zone $DOM, $R switchovers"
times=()
to=hv2
for ((r = 1; r <= R; r++)); do
	sleep 2 # let the former primary settle (its pdns stopped, the sync done)
	t0=$(now_ms)
	zk set /primary_node $to >/dev/null
	ok=0
	while (($(now_ms) - t0 < 30000)); do
		if serving $to; then ok=1; break; fi
		sleep 0.02
	done
	t=$(($(now_ms) - t0))
	if ((ok)); then
		echo "  switchover $r -> $to: takeover->answer $t ms"
		times+=("$t")
	else
		echo "  switchover $r -> $to: no answer within 30 s"
	fi
	[[ $to == hv1 ]] && to=hv2 || to=hv1
done
if ((${#times[@]})); then
	sorted=$(printf '%s\n' "${times[@]}" | sort -n)
	med=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	echo "dns takeover->answer: median ${med} ms, min $(echo "$sorted" | head -n1) ms, max $(echo "$sorted" | tail -n1) ms over ${#times[@]} (reference: 4700-5300 ms)"
fi
for i in 1 2; do node_stop "hv$i" 20 >/dev/null 2>&1 || true; done
