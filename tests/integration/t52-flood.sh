#!/bin/bash
# A worker flooding the supervisor (issue #16, quotas and logs), with the test build's
# PVC_TEST_FLOOD=flush: for 15 s after READY, flush sends log lines (with terminal
# escapes and a newline), status lines, FLUSH_HELLOs for zk-election and frames the
# policy forbids as fast as its socket takes them, and a stderr line per batch.
# While it floods:
#  - the node keeps working: its keepalive in ZooKeeper advances, pvcctl status shows
#    every worker running, a ZooKeeper read through zk-election answers;
#  - the supervisor's RSS stays within 16 MiB of its size before the flood;
#  - the drops and suppressions are reported (role and count), flush is not killed;
#  - no worker text reaches the log raw: ESC and newline appear as \xNN, no forged
#    line; stderr lines are logged as flush's; status lines are cleaned too.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root

TB=$PVCT_ROOT/build-test/pvcnoded
# incremental: cheap when the test build is current (build-test is shared: callers
# serialize integration tests under /tmp/pvc-integ.lock)
if ! make -C "$PVCT_ROOT" --no-print-directory test-build >"$PVCT_WORK/test-build.log" 2>&1; then
	echo "note: make test-build failed (see $PVCT_WORK/test-build.log); using the existing binary"
fi
[[ -x $TB ]] || skip_all "build-test/pvcnoded missing (make test-build)"

zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
zkcli -s "$NODE_ZK" init-cluster >/dev/null

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
keepalive() { zkcli -s "$NODE_ZK" get /nodes/fl1/keepalive 2>/dev/null || echo 0; }

NODE_COORDINATORS="fl1" node_config fl1 >/dev/null
log=$(node_log fl1)
PVC_TEST_FLOOD=flush PVCT_DAEMON=$TB node_start fl1
if ! wait_for 30 grep -q "flood test: flooding the supervisor" "$log"; then
	fail "flush starts flooding" "no 'flood test' line in $log"
	finish
fi
sup=$(node_pid fl1)
base=$(rss_kib "$sup")
pass "flush floods (supervisor pid $sup, VmRSS ${base} KiB)"
if ! node_wait_ready fl1 30; then
	fail "node starts under the flood" "see $log"
	finish
fi
pass "node starts under the flood"

# during the flood (15 s from flush's READY): the node works
k1=$(keepalive)
advanced() { (($(keepalive) > k1)); }
if wait_for 8 advanced; then
	pass "keepalive advances during the flood ($k1 -> $(keepalive))"
else
	fail "keepalive advances during the flood" "stuck at $k1"
fi
st=$(node_ctl fl1 --json status 2>&1 || true)
for r in zk-election vm-manager net-router flush fence; do
	check "pvcctl status during the flood: $r running" \
		grep -q "\"worker.$r.state\":\"running\"" <<<"$st"
done
nl=$(node_ctl fl1 node list 2>&1 || true)
check "pvcctl node list answers during the flood (through zk-election)" grep -q "fl1" <<<"$nl"
txt=$(node_ctl fl1 status 2>&1 || true)
check "status line of flush shown cleaned" grep -qF 'flush.flood' <<<"$txt"
check "status line escape shown as \\x1b" grep -qF '\x1b]0;owned\x07x' <<<"$txt"
if grep -q $'\e' <<<"$txt"; then
	fail "no raw ESC in pvcctl status" "$(grep -a $'\e' <<<"$txt" | head -n1 | cat -v)"
else
	pass "no raw ESC in pvcctl status"
fi

# memory: sampled until the flood ends
peak=$base
sample() {
	local r
	r=$(rss_kib "$sup") || return 1
	((r > peak)) && peak=$r
	grep -q "flood test: done" "$log"
}
if ! wait_for 40 sample; then
	fail "flush survives its flood to the end" "no 'flood test: done' in $log"
fi
check "supervisor VmRSS stays bounded (${base} -> peak ${peak} KiB, limit +16 MiB)" \
	test $((peak - base)) -lt 16384
if grep -qE "killing flush|worker flush \(pid [0-9]+\) died" "$log"; then
	fail "flush is not killed for flooding" "$(grep -E "killing flush|worker flush" "$log" | head -n1)"
else
	pass "flush is not killed for flooding (its frames are dropped)"
fi

# reports: role and count, at most one of each kind a second
check "frame drops reported with role and count" \
	grep -qE "flush: [0-9]+ frames dropped \(over its budget of [0-9]+ per second" "$log"
check "log lines suppressed reported" \
	grep -qE "flush: [0-9]+ log lines suppressed" "$log"
nrep=$(grep -cE "flush: [0-9]+ frames dropped" "$log" || true)
check "drop reports are rate-limited ($nrep for a 15 s flood)" test "$nrep" -le 20
lines=$(grep -c "flood line" "$log" || true)
check "flood log lines held to the budget ($lines logged)" test "$lines" -le $((5000 + 500 * 40))

# cleaned text
check "stderr lines logged as flush's" grep -q "flush: output - flood stderr" "$log"
check "ESC in stderr shown as \\x1b" grep -qF '\x1b[31mred' "$log"
check "ESC in log frames shown as \\x1b" grep -qF 'flood line 0 \x1b[2J\x0aforged: line' "$log"
if grep -qa $'\e' "$log"; then
	fail "no raw ESC in the log" "$(grep -a $'\e' "$log" | head -n1 | cat -v)"
else
	pass "no raw ESC in the log"
fi
if grep -qa '^forged: line' "$log"; then
	fail "no forged line in the log" "a line starts with 'forged: line'"
else
	pass "no forged line in the log"
fi
# the node still works after the flood
k2=$(keepalive)
after() { (($(keepalive) > k2)); }
check "keepalive advances after the flood" wait_for 5 after
node_stop fl1 20 || true
finish
