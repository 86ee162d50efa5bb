#!/bin/bash
# t00-harness: the test harness itself works (ZooKeeper standalone and
# ensemble, zkcli, network namespaces, cleanup).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=tests/lib/zk.sh
. "$PVCT_ROOT/tests/lib/zk.sh"
# shellcheck source=tests/lib/netns.sh
. "$PVCT_ROOT/tests/lib/netns.sh"
require_root

# --- common.sh helpers -------------------------------------------------------
t0=$(now_ms)
if ! wait_for 0.3 false; then
	dt=$(($(now_ms) - t0))
	if ((dt >= 280 && dt < 1000)); then
		pass "wait_for-timeout (${dt} ms)"
	else
		fail wait_for-timeout "returned after ${dt} ms, wanted ~300"
	fi
else
	fail wait_for-timeout "wait_for false succeeded"
fi
marker=$PVCT_WORK/marker
(sleep 0.2 && : >"$marker") &
check wait_for-success wait_for 5 test -e "$marker"
sleep 30 &
sleeper=$!
found=$(pids_by_comm sleep $$ | tr '\n' ' ')
if [[ " $found " == *" $sleeper "* ]]; then
	pass pids_by_comm
else
	fail pids_by_comm "sleep $sleeper not in '$found'"
fi
# PID 1 is an ancestor of everything; PID 2 (kthreadd) of no sleep.
check_eq pids_by_comm-root1 "$sleeper" "$(pids_by_comm sleep 1 | grep -x "$sleeper" || true)"
check_eq pids_by_comm-other-root "" "$(pids_by_comm sleep 2)"
kill "$sleeper"
wait "$sleeper" 2>/dev/null || true

# --- standalone ZooKeeper + zkcli ---------------------------------------------
t0=$(now_ms)
if zk_start_standalone ZK; then
	pass "zk-standalone-start ($(($(now_ms) - t0)) ms, $ZK_HOSTS)"
else
	fail zk-standalone-start "see $PVCT_WORK/zk"
	finish
fi
export ZK_HOSTS

check zkcli-init-cluster zkcli init-cluster
check_eq zkcli-get-primary none "$(zkcli get /primary_node)"
check_eq zkcli-get-maintenance False "$(zkcli get /maintenance)"
check_eq zkcli-ls-root "ceph cmd domains locks maintenance networks nodes primary_node upstream_ip zookeeper" \
	"$(zkcli ls / | tr '\n' ' ' | sed 's/ $//')"
check_eq zkcli-ls-ceph "osds pools snapshots volumes" "$(zkcli ls /ceph | tr '\n' ' ' | sed 's/ $//')"
rc=0
zkcli get /no/such/key 2>/dev/null || rc=$?
check_eq zkcli-get-absent-exit2 2 "$rc"

check zkcli-set-makepath zkcli set /nodes/n1/daemonstate init
check_eq zkcli-get-after-set init "$(zkcli get /nodes/n1/daemonstate)"
check_eq zkcli-stat-version 0 "$(zkcli stat /nodes/n1/daemonstate version)"
check zkcli-multi-set zkcli multi-set /nodes/n1/daemonstate=run /nodes/n1/routerstate=secondary /primary_node=n1
check_eq zkcli-multi-set-values "run secondary n1 1" \
	"$(zkcli get /nodes/n1/daemonstate) $(zkcli get /nodes/n1/routerstate) $(zkcli get /primary_node) $(zkcli stat /nodes/n1/daemonstate version)"
stat_out=$(zkcli stat /primary_node)
if [[ $stat_out == *version=1* && $stat_out == *mtime=* && $stat_out == *ephemeralOwner=0x0* ]]; then
	pass zkcli-stat
else
	fail zkcli-stat "unexpected: $(echo "$stat_out" | tr '\n' ' ')"
fi
printf '<domain type="test"><name>vm1</name></domain>\n' >"$PVCT_WORK/vm1.xml"
uuid=0b1f7c2e-5a4d-4c3b-9e8f-123456789abc
check zkcli-define-vm zkcli define-vm "$uuid" vm1 n1 "$PVCT_WORK/vm1.xml"
check_eq zkcli-define-vm-tree "vm1 stop n1 None False" \
	"$(zkcli get "/domains/$uuid") $(zkcli get "/domains/$uuid/state") $(zkcli get "/domains/$uuid/node") $(zkcli get "/domains/$uuid/node_selector") $(zkcli get "/domains/$uuid/node_autostart")"
(sleep 0.3 && zkcli set /nodes/n1/domainstate flushed) &
check zkcli-wait zkcli wait /nodes/n1/domainstate flushed --timeout 5
wait

# --- 3-server ensemble, leader failover -----------------------------------------
t0=$(now_ms)
if zk_start_ensemble; then
	pass "zk-ensemble-start ($(($(now_ms) - t0)) ms, $ZK_ENS_HOSTS)"
else
	fail zk-ensemble-start "see $PVCT_WORK/zk"
	finish
fi
# shellcheck disable=SC2119  # no PREFIX: the ensemble's connect string
check_eq zk-connect-string "$ZK_ENS_HOSTS" "$(zk_connect_string)"
check zkcli-ensemble-set zkcli -s "$ZK_ENS_HOSTS" set /before-kill 1
leader=
if wait_for 5 zk_leader_index >/dev/null; then
	leader=$(zk_leader_index)
	pass "zk-leader-found (server $leader)"
else
	fail zk-leader-found "no server reports Mode: leader"
fi
if [[ -n $leader ]]; then
	zk_kill_server "$leader"
	t0=$(now_ms)
	if timeout 15 "$PVCT_PY" "$PVCT_ROOT/tests/lib/zkcli.py" -s "$ZK_ENS_HOSTS" set /after-kill 2; then
		dt=$(($(now_ms) - t0))
		if ((dt < 5000)); then
			pass "zk-set-after-leader-kill (${dt} ms)"
		else
			fail zk-set-after-leader-kill "took ${dt} ms"
		fi
	else
		fail zk-set-after-leader-kill "zkcli set failed"
	fi
	if wait_for 5 zk_leader_index >/dev/null; then
		new=$(zk_leader_index)
		if [[ $new != "$leader" ]]; then
			pass "zk-new-leader (server $new)"
		else
			fail zk-new-leader "killed server $leader still leader?"
		fi
	else
		fail zk-new-leader "no leader within 5 s"
	fi
	check_eq zk-data-survives 1 "$(zkcli -s "$ZK_ENS_HOSTS" get /before-kill)"
	t0=$(now_ms)
	if zk_start_server "$leader"; then
		pass "zk-restart-server ($(($(now_ms) - t0)) ms, mode $(zk_mode "$leader"))"
	else
		fail zk-restart-server "server $leader did not come back"
	fi
fi

# --- network namespaces -------------------------------------------------------
t0=$(now_ms)
if netns_setup 2; then
	pass "netns-setup ($(($(now_ms) - t0)) ms)"
else
	fail netns-setup "netns_setup 2 failed"
	finish
fi
check netns-list bash -c "ip netns list | grep -q '^pvct-n1' && ip netns list | grep -q '^pvct-n2' && ip netns list | grep -q '^pvct-obs'"
check netns-ens4-up bash -c "ip -n pvct-n1 -o link show ens4 | grep -q 'state UP\|LOWER_UP'"
check_eq netns-ens4-no-addr "" "$(ip -n pvct-n1 -o -4 addr show dev ens4)"
# shellcheck disable=SC2317  # called through check
ping_from() {
	netns_exec "$1" ping -c1 -W2 -q "$2" >/dev/null
}
check netns-obs-ping-host ping_from "$NETNS_OBS" "$NETNS_HOST_ADDR"
netns_give_addr pvct-n2 10.200.0.12/24
check netns-obs-ping-given-addr ping_from "$NETNS_OBS" 10.200.0.12

# ZooKeeper on the bridge, used from inside a node namespace (n2 has an address).
if ZK_ADDR=$NETNS_HOST_ADDR zk_start_standalone ZKBR; then
	# shellcheck disable=SC2153  # ZKBR_HOSTS is set by zk_start_standalone ZKBR
	check zk-on-bridge-from-netns netns_exec pvct-n2 "$PVCT_PY" "$PVCT_ROOT/tests/lib/zkcli.py" \
		-s "$ZKBR_HOSTS" set /from-ns n2
	check_eq zk-on-bridge-value n2 "$(zkcli -s "$ZKBR_HOSTS" get /from-ns)"
else
	fail zk-on-bridge "standalone server on $NETNS_HOST_ADDR did not start"
fi

# --- teardown -----------------------------------------------------------------
zk_stop_all
netns_teardown
left=$(pgrep -f "QuorumPeerMain $PVCT_WORK/" || true)
check_eq teardown-no-zookeeper "" "$left"
# Another test run may take the namespace lock right after we released it;
# only check when nobody holds it.
if flock -n "$PVCT_NETNS_LOCK" true; then
	check_eq teardown-no-namespaces "" "$(ip netns list | grep '^pvct-' || true)"
	check_eq teardown-no-links "" "$(ip -o link show | grep -o ': pvct-[^:@]*' || true)"
else
	pass "teardown-no-namespaces (skipped check: another run holds the namespace lock)"
fi
finish
