#!/bin/bash
# f40-freeze-term: hung workers and a stop in the middle of a takeover
# (tests/faults/lib.sh cluster: 3-server ensemble, 3 coordinators in namespaces,
# 6 VMs on private libvirtds).
#
#   6. each worker in turn frozen with SIGSTOP (on the primary, whose workers all
#      have work): the supervisor's heartbeat (hang_timeout_ms 3000 in these
#      configs) must kill and restart it; afterwards everything healthy.
#   7. SIGTERM to the supervisor in the middle of a takeover, two ways:
#      a) deterministic: the new primary's net-router is frozen (SIGSTOP), so the
#         node stays in `takeover` waiting for its NET_ACK; a ZooKeeper watch sends
#         SIGTERM when takeover is written. (No test hook is needed: the freeze
#         holds the node in the window.)
#      b) the same watch, nothing frozen: SIGTERM lands during or just after the
#         takeover.
#      Either way the node must stop in order (exit 0) without ever being primary
#      alongside another, keep no floating IP, another node becomes primary, and the
#      node restarted afterwards rejoins as secondary.
# After each case: never two primaries (observer), no VM active on two nodes, the
# floating IP never in two namespaces, and the health invariants.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/faults/lib.sh"

fl_setup
other_primary() { local p; p=$(fl_primary); [[ -n $p && $p != "$1" ]]; }
holds_float() { ip -n "$(fl_ns "$1")" -o addr show 2>/dev/null | grep -q " $FL_FLOAT/"; }

# ---- 6. SIGSTOP of each worker ------------------------------------------------------------
fl_case_begin freeze
for role in $FL_WORKERS; do
	P=$(fl_primary)
	[[ -n $P ]] || wait_for 20 one_primary || true
	P=$(fl_primary)
	pid=$(node_worker "$P" "$role")
	kill -STOP "$pid"
	t0=$(now_ms)
	newpid() { local p; p=$(node_worker "$1" "$2"); [[ -n $p && $p != "$3" ]]; }
	if wait_for 15 newpid "$P" "$role" "$pid"; then
		pass "freeze: $role of $P (pid $pid) replaced after $(($(now_ms) - t0)) ms (hang_timeout_ms 3000)"
	else
		fail "freeze: $role of $P (pid $pid) replaced" "still $(node_worker "$P" "$role") after 15 s"
	fi
	check "freeze: supervisor of $P logged the hang of $role" \
		grep -q "killing $role (pid $pid): no heartbeat answer" "$(node_log "$P")"
	fl_healthy "freeze-$role" 40 quiet || fail "freeze: healthy after freezing $role" "see above"
done
fl_case_end freeze 40

# ---- 7. SIGTERM in the middle of a takeover ------------------------------------------------
# Exit status 0, then the cluster without X, then X restarted. TERM_AT: when SIGTERM went.
sigterm_checks() { # CASE X SUPPID
	local c=$1 X=$2 spid=$3 rc=0
	wait "$spid" || rc=$?
	check_eq "$c: $X stopped in order (exit status; $(($(now_ms) - TERM_AT)) ms after SIGTERM at most)" 0 "$rc"
	check "$c: another node primary" wait_for 20 other_primary "$X"
	check "$c: $X holds no floating IP" bash -c "! ip -n $(fl_ns "$X") -o addr show | grep -q ' $FL_FLOAT/'"
	check_eq "$c: $X's routerstate after the stop" secondary "$(rs "$X")"
	check_eq "$c: $X's daemonstate after the stop" stop "$(zkcli get "/nodes/$X/daemonstate")"
	node_start "$X" "$(fl_ns "$X")"
	check "$c: $X restarted" node_wait_ready "$X" 30
	check "$c: $X back as secondary" wait_for 20 is_rs "$X" secondary
}

# term_on_takeover X: arm a ZooKeeper watch that sends SIGTERM to X's supervisor the
# moment X's routerstate becomes takeover (or already primary, when the takeover
# completed before the watch could read it) (background job $WPID; its log says when).
term_on_takeover() {
	"$PVCT_PY" - "$ZK_HOSTS" "/nodes/$1/routerstate" "$(node_pid "$1")" \
		>"$PVCT_WORK/sigterm-$1.log" 2>&1 <<'PY' &
import logging, os, signal, sys, threading, time
from kazoo.client import KazooClient
logging.basicConfig(level=logging.CRITICAL)
hosts, path, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
zk = KazooClient(hosts=hosts, timeout=10.0)
zk.start(timeout=15.0)
done = threading.Event()
def watch(data, stat):
    # A watch re-reads the value after the event: a takeover that completed within
    # that read shows as primary already, which is still "just after" it.
    if data in (b"takeover", b"primary") and not done.is_set():
        os.kill(pid, signal.SIGTERM)
        print("SIGTERM sent at %d (routerstate %s, version %d)"
              % (time.time() * 1000, data.decode(), stat.version), flush=True)
        done.set()
        return False
    return True
zk.DataWatch(path, watch)
print("armed", flush=True)
done.wait(30)
zk.stop()
PY
	WPID=$!
	wait_for 15 grep -qs armed "$PVCT_WORK/sigterm-$1.log" || true
}

# 7a: the target's net-router frozen, so it stays in takeover waiting for NET_ACK;
# the watch sends SIGTERM as takeover is written (the freeze keeps the node in the
# window however late the signal lands, up to hang_timeout_ms).
fl_case_begin term-frozen
P=$(fl_primary)
for n in $FL_NODES; do [[ $n != "$P" ]] && { X=$n; break; }; done
npid=$(node_worker "$X" net-router)
spid=$(node_pid "$X")
term_on_takeover "$X"
kill -STOP "$npid"
zkcli set /primary_node "$X"
wait "$WPID" || true
TERM_AT=$(now_ms)
if grep -q "SIGTERM sent at [0-9]* (routerstate takeover" "$PVCT_WORK/sigterm-$X.log"; then
	pass "term-frozen: SIGTERM to $X in takeover, its net-router frozen"
	check_eq "term-frozen: $X was never primary" "" \
		"$(awk -v x="$X" '$2 == "rs" && $3 == x && $4 == "primary"' "$PVCT_WORK/obs-term-frozen.log")"
else
	fail "term-frozen: SIGTERM to $X in takeover" "routerstate '$(rs "$X")'; $(tr '\n' ' ' <"$PVCT_WORK/sigterm-$X.log")"
	kill -CONT "$npid" 2>/dev/null || true
	kill -TERM "$spid"
fi
sigterm_checks term-frozen "$X" "$spid"
fl_case_end term-frozen 40

# ---- 7b. SIGTERM the moment takeover is written, nothing frozen ---------------------------
fl_case_begin term-watch
P=$(fl_primary)
for n in $FL_NODES; do [[ $n != "$P" ]] && { X=$n; break; }; done
spid=$(node_pid "$X")
term_on_takeover "$X"
zkcli set /primary_node "$X"
wait "$WPID" || true
TERM_AT=$(now_ms)
if grep -q "SIGTERM sent" "$PVCT_WORK/sigterm-$X.log"; then
	pass "term-watch: SIGTERM to $X as it took over ($(grep -o 'routerstate [a-z]*' "$PVCT_WORK/sigterm-$X.log"))"
else
	fail "term-watch: SIGTERM to $X as it wrote takeover" "$(tr '\n' ' ' <"$PVCT_WORK/sigterm-$X.log")"
	kill -TERM "$spid"
fi
sigterm_checks term-watch "$X" "$spid"
fl_case_end term-watch 40

fl_teardown
finish
