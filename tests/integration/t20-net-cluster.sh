#!/bin/bash
# net-router end to end (issue #4): three coordinators in their own namespaces,
# ZooKeeper on the host side of the test bridge, an observer namespace.
#  - the elected primary holds the floating IPs and the metadata address; the
#    observer reaches the cluster floating IP at the primary's MAC
#  - planned switchover (/primary_node := other): the observer's neighbour entry
#    carries the new MAC without ARP expiry; the old primary keeps no address
#  - a repeated takeover (zk-election killed and resumed) is harmless
#  - kill -9 of net-router on the primary: addresses back after the restart
#  - kill -9 of the primary's whole daemon: its addresses vanish by themselves,
#    another node takes over
#  - cut-off primary (ZooKeeper frozen): the addresses go before T
#  - throughout: a sampler fails the test if two namespaces ever hold the cluster
#    floating IP at the same time
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make all)"
getent passwd nobody >/dev/null || skip_all "no user nobody"

FLOAT=10.200.0.254
netns_setup 3
ZK_ADDR=$NETNS_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
zkcli -s "$NODE_ZK" init-cluster >/dev/null
NODE_NETWORKING=true
NODE_COORDINATORS="hv1 hv2 hv3"
NODE_SESSION_MS=4000

ns_of() { netns_name "${1#hv}"; }
# (no "ip | grep -q" under pipefail: grep's early exit kills ip with SIGPIPE)
holds() { # NODE ADDR
	local a
	a=$(ip -n "$(ns_of "$1")" -o addr show 2>/dev/null) || return 1
	[[ $a == *" $2/"* ]]
}
holds_float() { holds "$1" "$FLOAT"; }
holds_nothing() {
	local a
	a=$(ip -n "$(ns_of "$1")" -o addr show 2>/dev/null) || return 1
	[[ $a != *" 10.200.0.254/"* && $a != *" 10.201.0.254/"* && $a != *" 10.202.0.254/"* &&
		$a != *" 169.254.169.254/"* ]]
}
holds_all() {
	holds "$1" 10.200.0.254 && holds "$1" 10.201.0.254 && holds "$1" 10.202.0.254 &&
		holds "$1" 169.254.169.254
}
mac_of() { ip -n "$(ns_of "$1")" -o link show brcluster | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
obs_mac() { ip -n "$NETNS_OBS" neigh show "$FLOAT" dev eth0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p'; }
primary() { zkcli -s "$NODE_ZK" get /primary_node 2>/dev/null || true; }
primary_is_node() { [[ $(primary) == hv[123] ]]; }
obs_ping() { ip netns exec "$NETNS_OBS" ping -c1 -W1 -q "$FLOAT" >/dev/null 2>&1; }

# Overlap sampler: the namespaces are probed round-robin (one `ip` call each, so
# the three probes of a round are not simultaneous). An overlap is recorded only
# when it is certain: X held the floating IP at two consecutive probes of X and
# another namespace's probe in between found it too. (A hand-over completing
# between two probes is not an overlap and is not reported.)
SAMPLER_LOG=$PVCT_WORK/overlap.log
: >"$SAMPLER_LOG"
sampler() {
	local -A cur=([hv1]=0 [hv2]=0 [hv3]=0)
	local x y prev others
	while [[ -e $PVCT_WORK/sampling ]]; do
		for x in hv1 hv2 hv3; do
			prev=${cur[$x]}
			if holds_float "$x"; then cur[$x]=1; else cur[$x]=0; fi
			if ((prev && cur[$x])); then
				others=
				for y in hv1 hv2 hv3; do
					[[ $y != "$x" ]] && ((cur[$y])) && others+=" $y"
				done
				if [[ -n $others ]]; then
					printf '%s overlap: %s held it throughout while%s held it\n' \
						"$(now_ms)" "$x" "$others" >>"$SAMPLER_LOG"
				fi
			fi
		done
		sleep 0.01
	done
}
touch "$PVCT_WORK/sampling"
sampler &
SAMPLER=$!
on_exit "rm -f '$PVCT_WORK/sampling'; kill $SAMPLER 2>/dev/null || true"

for i in 1 2 3; do
	node_config "hv$i" >/dev/null
	node_start "hv$i" "$(netns_name "$i")"
done
for i in 1 2 3; do
	node_wait_ready "hv$i" 20 || { fail "hv$i ready" "see $(node_log "hv$i")"; finish; }
done

# ---- election and takeover --------------------------------------------------------
if wait_for 20 primary_is_node; then pass "a primary was elected"; else fail "a primary was elected" "/primary_node=$(primary)"; finish; fi
P=$(primary)
if wait_for 5 holds_all "$P"; then pass "primary $P holds floating IPs and metadata address"; else fail "primary $P holds floating IPs and metadata address" "$(ip -n "$(ns_of "$P")" -o addr)"; fi
for i in 1 2 3; do
	[[ hv$i == "$P" ]] && continue
	check "secondary hv$i holds no primary address" holds_nothing "hv$i"
done
check "observer reaches the floating IP" obs_ping
check_eq "observer's neighbour entry carries $P's MAC" "$(mac_of "$P")" "$(obs_mac)"
check "net-router logged the takeover" grep -q "net-router - took over" "$(node_log "$P")"
st=$(node_ctl "$P" status 2>&1 || true)
printf "%s\n" "$st" >"$PVCT_WORK/status.txt"
check "pvcctl status shows net-router primary=1" grep -qE "^net-router.primary +1$" "$PVCT_WORK/status.txt"
check "pvcctl status shows 4 addresses" grep -qE "^net-router.addresses +4$" "$PVCT_WORK/status.txt"
check_eq "sysctl written by the confined worker" 1 "$(ip netns exec "$(ns_of "$P")" cat /proc/sys/net/ipv4/ip_forward)"

# ---- planned switchover -------------------------------------------------------------
for i in 1 2 3; do [[ hv$i != "$P" ]] && { Q=hv$i; break; }; done
zkcli -s "$NODE_ZK" set /primary_node "$Q" >/dev/null
if wait_for 10 holds_float "$Q"; then pass "switchover: $Q holds the floating IP"; else fail "switchover: $Q holds the floating IP" "absent"; fi
sleep 0.3 # no observer traffic: only the announcement can move the entry
check_eq "observer's entry moved to $Q's MAC without ARP expiry" "$(mac_of "$Q")" "$(obs_mac)"
if wait_for 5 holds_nothing "$P"; then pass "relinquish left nothing on $P"; else fail "relinquish left nothing on $P" "$(ip -n "$(ns_of "$P")" -o addr)"; fi
check "observer reaches the floating IP on $Q" obs_ping
check "net-router on $P logged the relinquish" grep -q "net-router - relinquished" "$(node_log "$P")"

# ---- repeated takeover: zk-election restarts and re-sends the desired state -----
ZKP=$(node_worker "$Q" zk-election)
kill -KILL "$ZKP"
if wait_for 10 grep -q "takeover repeated" "$(node_log "$Q")"; then
	pass "a second takeover while primary is acknowledged"
else
	fail "a second takeover while primary is acknowledged" "no 'takeover repeated' in $(node_log "$Q")"
fi
check "addresses stayed on $Q" holds_all "$Q"

# ---- kill -9 of net-router on the primary -----------------------------------------
NRP=$(node_worker "$Q" net-router)
kill -KILL "$NRP"
t0=$(now_ms)
if wait_for 5 bash -c "n=\$(pgrep -P $(node_pid "$Q") -x net-router); [[ -n \$n && \$n != $NRP ]]"; then :; fi
if wait_for 5 holds_all "$Q"; then
	pass "net-router restarted: addresses back on $Q after $(($(now_ms) - t0)) ms"
else
	fail "net-router restarted: addresses back on $Q" "absent"
fi

# ---- kill -9 of the primary's whole daemon ----------------------------------------
node_kill "$Q"
t0=$(now_ms)
if wait_for 5 holds_nothing "$Q"; then
	dt=$(($(now_ms) - t0))
	if ((dt <= 2100)); then pass "dead daemon's addresses vanished by themselves (${dt} ms)"; else fail "dead daemon's addresses vanished by themselves" "${dt} ms"; fi
else
	fail "dead daemon's addresses vanished by themselves" "still there after 5 s"
fi
new_primary() { local p; p=$(primary); [[ $p == hv[123] && $p != "$Q" ]] && holds_float "$p"; }
if wait_for 30 new_primary; then
	pass "$(primary) took over after the primary died ($(($(now_ms) - t0)) ms)"
else
	fail "another node took over" "/primary_node=$(primary)"
fi

# ---- cut-off primary: ZooKeeper stops answering -----------------------------------
# The lease (t_ok + T - 2.5 s) lapses and the addresses must be gone before the
# server could expire the session, i.e. within T = 4 s of the last answered ping.
R=$(primary)
if [[ $R == hv[123] ]] && holds_all "$R"; then
	kill -STOP "$ZK_PID"
	on_exit "kill -CONT $ZK_PID 2>/dev/null || true"
	t0=$(now_ms)
	if wait_for 6 holds_nothing "$R"; then
		dt=$(($(now_ms) - t0))
		if ((dt < 4000)); then pass "cut-off primary dropped its addresses (${dt} ms)"; else fail "cut-off primary dropped its addresses" "${dt} ms >= T"; fi
	else
		fail "cut-off primary dropped its addresses" "still held 6 s after ZooKeeper froze"
	fi
	kill -CONT "$ZK_PID"
	NR=$(node_worker "$R" net-router)
	check "net-router survived the lapse (same process, confined)" test -n "$NR"
else
	fail "cut-off primary dropped its addresses" "no primary holding addresses before the freeze"
fi

rm -f "$PVCT_WORK/sampling"
wait "$SAMPLER" 2>/dev/null || true
if [[ -s $SAMPLER_LOG ]]; then
	fail "no two namespaces ever held the floating IP at once" "$(head -3 "$SAMPLER_LOG")"
else
	pass "no two namespaces ever held the floating IP at once"
fi
for i in 1 2 3; do [[ hv$i != "$Q" ]] && node_stop "hv$i" 20 || true; done
finish
