#!/bin/bash
# net-router's core without ZooKeeper (issue #4): bench/net_router drives the same
# code as the worker (workers/net/primary.c, net_host.c) inside test namespaces.
#  1. host networking is idempotent: a second run changes nothing
#  2. takeover: the observer reaches the floating IP and its neighbour entry
#     carries the primary's MAC
#  3. a lapsed lease removes every primary address
#  4. switchover: the observer's entry moves to the new primary's MAC from the
#     announcement alone, without the observer asking (no ARP expiry)
#     (4b: the same for an IPv6 floating IP, by unsolicited NA)
#  5. kill -9 of the holder: the kernel drops the addresses within L + 1 s
#  6. a bad gateway entry / unknown device is refused with an error ack, the
#     valid gateway is still added, nothing crashes
#  7. start-up reconciliation removes a killed holder's leftovers (floating,
#     metadata, gateways) at once
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/netns.sh"
require_root

BIN=$PVCT_BUILD/bench/net_router
if [[ ! -x $BIN ]]; then
	make -s -C "$PVCT_ROOT" "${PVCT_BUILD#"$PVCT_ROOT"/}/bench/net_router" >/dev/null ||
		skip_all "cannot build $BIN"
fi
netns_setup 2
N1=$(netns_name 1)
N2=$(netns_name 2)
OBS=$NETNS_OBS
FLOAT=10.200.0.254

run() { # NS ID ARGS... (foreground)
	local ns=$1 id=$2
	shift 2
	BENCH_ID=$id ip netns exec "$ns" "$BIN" "$@"
}
start() { # NS ID LOG ARGS... (background; PID in $BG)
	local ns=$1 id=$2 log=$3
	shift 3
	BENCH_ID=$id ip netns exec "$ns" "$BIN" "$@" >"$log" 2>&1 &
	BG=$!
}
# (no "ip | grep -q": with pipefail, grep's early exit makes ip die of SIGPIPE)
has_float() {
	local a
	a=$(ip -n "$1" -o addr show 2>/dev/null) || return 1
	[[ $a == *" $FLOAT/"* ]]
}
no_float() { ! has_float "$1"; }
mac_of() { ip -n "$1" -o link show brcluster | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
obs_mac() { ip -n "$OBS" neigh show "$FLOAT" dev eth0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p'; }
addr_snapshot() { # addresses and links without lifetimes/counters
	ip -n "$1" -o addr show | awk '{print $2, $3, $4}' | sort
	ip -n "$1" -o link show | sed 's/qlen [0-9]*//' | awk '{print $2, $3, $5, $9, $10}' | sort
}

# ---- 1. idempotent host networking ------------------------------------------------
export BENCH_UPSTREAM_GW=10.200.0.250
run "$N1" 1 setup
before=$(addr_snapshot "$N1"; ip -n "$N1" route show)
run "$N1" 1 setup
after=$(addr_snapshot "$N1"; ip -n "$N1" route show)
check_eq "host setup twice changes nothing" "$before" "$after"
check "upstream default route via the gateway" bash -c "ip -n $N1 route show default | grep -q 'via 10.200.0.250 dev brcluster'"
unset BENCH_UPSTREAM_GW
check "cluster address on brcluster" bash -c "ip -n $N1 -o addr show brcluster | grep -q ' 10.200.0.1/24 '"
check "ens4 enslaved to brcluster" bash -c "ip -n $N1 -o link show ens4 | grep -q 'master brcluster'"
check_eq "ip_forward set" 1 "$(ip netns exec "$N1" cat /proc/sys/net/ipv4/ip_forward)"
run "$N2" 2 setup

# ---- 2. takeover -------------------------------------------------------------------
start "$N1" 1 "$PVCT_WORK/n1.log" hold 3000
P1=$BG
if wait_for 2 has_float "$N1"; then pass "takeover adds the floating IP"; else fail "takeover adds the floating IP" "absent"; fi
check "observer reaches the floating IP" bash -c "ip netns exec $OBS ping -c1 -W1 -q $FLOAT >/dev/null"
check_eq "observer's neighbour entry carries n1's MAC" "$(mac_of "$N1")" "$(obs_mac)"
check "metadata address on lo" bash -c "ip -n $N1 -o addr show lo | grep -q ' 169.254.169.254/32 '"
check "lifetime is finite (1 s)" bash -c "ip -n $N1 addr show brcluster | grep -A1 ' $FLOAT/' | grep -q 'valid_lft [12]sec'"

# ---- 3. lapse ----------------------------------------------------------------------
if wait_for 5 no_float "$N1"; then pass "lapsed lease removes the addresses"; else fail "lapsed lease removes the addresses" "still present"; fi
wait "$P1" || true
check "no primary address left after the lapse" bash -c "! ip -n $N1 -o addr | grep -qE ' (10.20[0-2].0.254|169.254.169.254)/'"

# ---- 4. switchover by announcement -------------------------------------------------
start "$N1" 1 "$PVCT_WORK/n1b.log" hold 1200
P1=$BG
wait_for 2 has_float "$N1" || true
ip netns exec "$OBS" ping -c1 -W1 -q "$FLOAT" >/dev/null || true
check_eq "observer learned n1's MAC" "$(mac_of "$N1")" "$(obs_mac)"
wait "$P1" || true
wait_for 3 no_float "$N1" || true
start "$N2" 2 "$PVCT_WORK/n2.log" hold 3000
P2=$BG
wait_for 2 has_float "$N2" || true
# no traffic from the observer in between: only the announcement can change it
sleep 0.2
check_eq "observer's entry moved to n2's MAC without ARP expiry" "$(mac_of "$N2")" "$(obs_mac)"
check "observer reaches the floating IP on n2" bash -c "ip netns exec $OBS ping -c1 -W1 -q $FLOAT >/dev/null"
kill "$P2" 2>/dev/null || true
wait "$P2" 2>/dev/null || true
wait_for 3 no_float "$N2" || true

# ---- 4b. the same for IPv6: unsolicited neighbour advertisements ----------------
F6=fd00:200::254
export BENCH_STORAGE_NET=fd00:200::/64 BENCH_STORAGE_FLOAT=$F6/64
ip -n "$OBS" addr add fd00:200::200/64 dev eth0 nodad
has_f6() {
	local a
	a=$(ip -n "$1" -o addr show 2>/dev/null) || return 1
	[[ $a == *" $F6/64"* ]]
}
no_f6() { ! has_f6 "$1"; }
obs_mac6() { ip -n "$OBS" -6 neigh show "$F6" dev eth0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p'; }
start "$N1" 1 "$PVCT_WORK/n1v6.log" hold 1200
P1=$BG
wait_for 2 has_f6 "$N1" || true
ip netns exec "$OBS" ping -6 -c1 -W1 -q "$F6" >/dev/null 2>&1 || true
check_eq "observer learned n1's MAC for the IPv6 floating IP" "$(mac_of "$N1")" "$(obs_mac6)"
wait "$P1" || true
wait_for 3 no_f6 "$N1" || true
start "$N2" 2 "$PVCT_WORK/n2v6.log" hold 2000
P2=$BG
wait_for 2 has_f6 "$N2" || true
sleep 0.2
check_eq "IPv6 entry moved to n2's MAC by unsolicited NA" "$(mac_of "$N2")" "$(obs_mac6)"
check "observer reaches the IPv6 floating IP on n2" bash -c "ip netns exec $OBS ping -6 -c1 -W1 -q $F6 >/dev/null"
wait "$P2" || true
unset BENCH_STORAGE_NET BENCH_STORAGE_FLOAT

# ---- 5. kill -9 fail-safe ----------------------------------------------------------
start "$N1" 1 "$PVCT_WORK/n1c.log" hold 30000
P1=$BG
wait_for 2 has_float "$N1" || true
sleep 0.6 # several refreshes
kill -KILL "$P1"
t0=$(now_ms)
wait "$P1" 2>/dev/null || true
if wait_for 4 no_float "$N1"; then
	dt=$(($(now_ms) - t0))
	# L + 1 s of kernel slack, plus the 50 ms sampling
	if ((dt <= 2100)); then pass "killed holder's address vanished by itself (${dt} ms)"; else fail "killed holder's address vanished by itself" "${dt} ms > 2100 ms"; fi
else
	fail "killed holder's address vanished by itself" "still present after 4 s"
fi
check "metadata address vanished too" bash -c "! ip -n $N1 -o addr show lo | grep -q 169.254.169.254"

# ---- 6. bad gateway entries ----------------------------------------------------------
ip -n "$N1" link add vmbr100 type bridge
ip -n "$N1" link set vmbr100 up
out=$(run "$N1" 1 gw 300 "vni=100 gw4=10.100.0.1/24 gw6=fd00:100::1/64" "vni=999 gw4=10.99.0.1/24 gw6=None" "vni=7 gw4=10.7.0.1/40 gw6=None" 2>&1) || true
printf '%s\n' "$out" >"$PVCT_WORK/gw.log"
ack=$(printf '%s\n' "$out" | grep '^ack ' || true)
check "error ack for a missing device names it" bash -c "[[ '$ack' == *'error=19'* && '$ack' == *vmbr999* ]]"
check "invalid prefix named in the ack" bash -c "[[ '$ack' == *10.7.0.1/40* ]]"
check "valid addresses still up (primary=1)" bash -c "[[ '$ack' == *'primary=1'* ]]"
check "harness exited normally after refusing" bash -c "grep -q 'lease lapsed' '$PVCT_WORK/gw.log'"

# ---- 7. start-up reconciliation after a crash -----------------------------------------
start "$N1" 1 "$PVCT_WORK/gw2.log" gw 30000 "vni=100 gw4=10.100.0.1/24 gw6=fd00:100::1/64"
P1=$BG
wait_for 2 has_float "$N1" || true
kill -KILL "$P1"
wait "$P1" 2>/dev/null || true
out=$(run "$N1" 1 reconcile 2>&1) || true
check_eq "reconciliation removed 4 floating/metadata + 2 gateway leftovers" "removed 6" "$out"
check "nothing left after reconciliation" bash -c "! ip -n $N1 -o addr | grep -qE ' (10.20[0-2].0.254|169.254.169.254|10.100.0.1|fd00:100::1)/'"

finish
