#!/bin/bash
# t13-session-timeouts: every accepted ZooKeeper session timeout T gives a stable
# primary on a healthy cluster (issue "Election timing" item 1). For each T, three
# coordinators run for T13_SECONDS and must log no lease lapse, no step-down and
# keep one primary throughout. Before the lease pings followed the lease window
# (workers/zk/session.c: zk_session_ping_period_ms), T = 3000 flapped several times
# a second: pings every T/6 = 500 ms against a 500 ms window.
#
#   T13_TIMEOUTS  the T values in ms (default "3000 4000 10000 60000"; the test
#                 ZooKeeper runs with maxSessionTimeout=60000, since its tickTime 500
#                 would cap negotiated timeouts at 20 ticks = 10000)
# Each T must also be what ZooKeeper granted (the "timeout T ms" of the session line),
# so a server-side cap cannot make a larger T pass as a smaller one. T below 3000 is
# refused by the configuration with the reason (t05).
#   T13_SECONDS   observation time per T (default 15; the issue's sweep used 60)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/zk.sh"
. "$(dirname "$0")/../lib/node.sh"

TIMEOUTS=${T13_TIMEOUTS:-3000 4000 10000 60000}
SECS=${T13_SECONDS:-15}
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make first)"

ZK_EXTRA_CFG=maxSessionTimeout=60000 zk_start_standalone
export ZK_HOSTS
NODE_ZK=$ZK_HOSTS
NODES="hv1 hv2 hv3"
OBS_NODES=$NODES
. "$PVCT_ROOT/tests/lib/election.sh"

count_in_logs() {
	local pat=$1 n total=0
	for n in $NODES; do
		total=$((total + $(grep -c -- "$pat" "$(node_log "$n")" || true)))
	done
	echo "$total"
}

for T in $TIMEOUTS; do
	zkcli delete -r /primary_node >/dev/null 2>&1 || true
	zkcli delete -r /nodes >/dev/null 2>&1 || true
	for n in $NODES; do
		NODE_SESSION_MS=$T node_config "$n" >/dev/null
		: >"$(node_log "$n")"
	done
	for n in $NODES; do node_start "$n"; done
	if ! wait_for 20 one_primary; then
		fail "T=$T: one primary at start" "primaries: '$(primaries)'"
		for n in $NODES; do node_kill "$n"; done
		continue
	fi
	granted=0
	for n in $NODES; do
		grep -q "ZooKeeper session 0x[0-9a-f]* established (timeout $T ms)" "$(node_log "$n")" &&
			granted=$((granted + 1))
	done
	check_eq "T=$T: ZooKeeper granted $T ms to every node" 3 "$granted"
	first=$(zkcli get /primary_node)
	changes=0 samples=0 prev=$first
	end=$((SECONDS + SECS))
	while ((SECONDS < end)); do
		cur=$(zkcli get /primary_node 2>/dev/null || echo "?")
		samples=$((samples + 1))
		[[ $cur == "$prev" ]] || changes=$((changes + 1))
		prev=$cur
		sleep 0.5
	done
	lapses=$(count_in_logs "session lease lapsed")
	downs=$(count_in_logs "stepping down")
	echo "T=$T ms, ${SECS} s: $lapses lease lapses, $downs step-downs, $changes primary changes in $samples samples"
	for n in $NODES; do
		grep -H -e "session lease lapsed" -e "stepping down" "$(node_log "$n")" | head -5 || true
		cp "$(node_log "$n")" "$PVCT_WORK/T$T-$n.log" # kept for a failure's diagnosis
	done
	check_eq "T=$T: no lease lapse in ${SECS} s" 0 "$lapses"
	check_eq "T=$T: no step-down in ${SECS} s" 0 "$downs"
	check_eq "T=$T: /primary_node never changed" 0 "$changes"
	check "T=$T: still exactly one primary" one_primary
	for n in $NODES; do node_stop "$n" 15 || true; done
done
finish
