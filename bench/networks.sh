#!/bin/bash
# shellcheck disable=SC2034 # ZK_ADDR, NODE_*: read by the sourced test libraries
# Benchmark of the client networks (issue #9), whole daemon: two coordinators
# in network namespaces, standalone ZooKeeper, N managed networks (default 50)
# with DHCP and one ACL each. Prints, from net-router's own log lines:
#   one more:   the message that brings the N-th network: its interfaces,
#               firewall (and on the primary gateway and dnsmasq) in place
#   cold:       a secondary without any client interface, net-router killed:
#               the restarted net-router builds all N (links, bridges, sysctls,
#               nftables) from one MSG_NET_NETWORKS
#   takeover:   NET_TAKEOVER received -> every gateway up and announced and every
#               dnsmasq forked (N of them), over R planned switchovers
#   relinquish: NET_RELINQUISH received -> every dnsmasq stopped and reaped,
#               every gateway removed
#   serving:    /primary_node written -> the new primary's status shows N running
#               dnsmasq (polled every 50 ms: includes election and pvcctl)
# Needs root. Usage: bench/networks.sh [N] [ROUNDS]
set -euo pipefail
N=${1:-50}
R=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
if ((EUID != 0)); then
	echo "networks bench: needs root (network namespaces)"
	exit 0
fi
. "$root/tests/lib/common.sh"
. "$root/tests/lib/netns.sh"
. "$root/tests/lib/zk.sh"
. "$root/tests/lib/node.sh"
[[ -x $PVCT_BUILD/pvcnoded && -x $PVCT_BUILD/pvc-dhcp-lease ]] || { echo "networks bench: make all first"; exit 0; }
chmod 0711 "$PVCT_WORK"
netns_setup 2
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
zkcli -s "$NODE_ZK" init-cluster >/dev/null
NODE_NETWORKING=true
NODE_COORDINATORS="hv1 hv2"
for i in 1 2; do
	node_config "hv$i" >/dev/null
	node_start "hv$i" "$(netns_name "$i")"
done
for i in 1 2; do node_wait_ready "hv$i" 30 || { echo "hv$i not ready"; exit 1; }; done
primary() { zkcli -s "$NODE_ZK" get /primary_node 2>/dev/null || true; }
wait_for 30 bash -c '[[ $('"$PVCT_PY $PVCT_ROOT/tests/lib/zkcli.py -s $NODE_ZK"' get /primary_node 2>/dev/null) == hv[12] ]]'
for ((k = 0; k < N; k++)); do
	v=$((2000 + k))
	zkcli -s "$NODE_ZK" define-network $v --net4 10.$((100 + k / 200)).$((k % 200)).0/24 \
		--gw4 10.$((100 + k / 200)).$((k % 200)).1 --dhcp4 True \
		--start 10.$((100 + k / 200)).$((k % 200)).100 --end 10.$((100 + k / 200)).$((k % 200)).199 >/dev/null
	zkcli -s "$NODE_ZK" add-acl $v in ssh 10 "tcp dport 22 accept" >/dev/null
done
running() { node_ctl "$1" status 2>/dev/null | sed -n 's/^net-router.dnsmasq *//p' | tr ',' '\n' | grep -c ':[1-9]' || true; }
P=$(primary)
wait_for 60 bash -c "[[ \$(\"$PVCT_BUILD/pvcctl\" -s $(node_dir "$P")/run/pvcnoded.sock status 2>/dev/null | sed -n 's/^net-router.dnsmasq *//p' | tr ',' '\n' | grep -c ':[1-9]') == $N ]]" ||
	{ echo "primary $P never ran $N dnsmasq"; exit 1; }
serving=()
for ((r = 0; r < R; r++)); do
	P=$(primary)
	if [[ $P == hv1 ]]; then Q=hv2; else Q=hv1; fi
	t0=$(now_ms)
	zkcli -s "$NODE_ZK" set /primary_node "$Q" >/dev/null
	for ((i = 0; i < 1200; i++)); do
		[[ $(running "$Q") == "$N" ]] && break
		sleep 0.05
	done
	serving+=($(($(now_ms) - t0)))
	sleep 1
done
logs="$(node_log hv1) $(node_log hv2)"
# shellcheck disable=SC2086
define=$(grep -h "net-router - $N client networks applied" $logs | sed -n 's/.* in \([0-9]*\) ms$/\1/p')
# shellcheck disable=SC2086
take=$(grep -h "net-router - took over: .* $N dnsmasq running in" $logs | sed -n 's/.* running in \([0-9]*\) ms.*/\1/p')
# shellcheck disable=SC2086
rel=$(grep -h "net-router - relinquished: .* $N dnsmasq stopped in" $logs | sed -n 's/.* stopped in \([0-9]*\) ms.*/\1/p')
# cold: the secondary loses every client interface and its net-router (kill -9);
# the restarted one builds all N networks (links + firewall) from one message
cold=()
for ((r = 0; r < 3; r++)); do
	S=hv1
	[[ $(primary) == hv1 ]] && S=hv2
	ns=$(netns_name "${S#hv}")
	for l in $(ip -n "$ns" -o link show | sed -n 's/^[0-9]*: \(vmbr[0-9]*\|vxlan[0-9]*\)[:@].*/\1/p'); do
		ip -n "$ns" link del "$l" 2>/dev/null || true
	done
	before=$(grep -c "net-router - $N client networks applied" "$(node_log "$S")" || true)
	kill -KILL "$(node_worker "$S" net-router)"
	wait_for 30 bash -c "(( \$(grep -c 'net-router - $N client networks applied' $(node_log "$S")) > $before ))" || { echo "cold start of $S never applied $N networks"; exit 1; }
	cold+=("$(grep "net-router - $N client networks applied" "$(node_log "$S")" | tail -1 | sed -n 's/.* in \([0-9]*\) ms$/\1/p')")
done
stats() { # label, values...
	local label=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v l="$label" '{v[NR]=$1; s+=$1} END {if (NR) printf "%-11s n=%-3d min=%d ms  median=%d ms  max=%d ms  mean=%.1f ms\n", l, NR, v[1], v[int((NR+1)/2)], v[NR], s/NR}'
}
echo "client networks: $N managed networks (vxlan + vmbr + nft chains + gateway + dnsmasq each), $R switchovers"
# shellcheck disable=SC2086
stats "one more" $define
stats "cold" "${cold[@]}"
# shellcheck disable=SC2086
stats "takeover" $take
# shellcheck disable=SC2086
stats "relinquish" $rel
stats "serving" "${serving[@]}"
finish
