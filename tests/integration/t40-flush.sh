#!/bin/bash
# t40-flush: flush and unflush end to end on three nodes (libvirt test driver, cold
# migrations), with pvcctl: 20 VMs of different sizes (T40_NVM) leave hv1 and come back,
# unflush cancels a running flush, kill -9 of the flush worker mid-flush, a cluster
# without room (shutdown + node_autostart), pvcctl progress and exit statuses.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root

NVM=${T40_NVM:-20}
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
export ZK_HOSTS=$NODE_ZK
zkcli init-cluster >/dev/null

for n in hv1 hv2 hv3; do
	cat >"$PVCT_WORK/$n.xml" <<'X'
<node>
  <cpu><mode>paravirt</mode><active>64</active><total>64</total></cpu>
  <memory>134217728</memory>
</node>
X
	chmod 0644 "$PVCT_WORK/$n.xml"
	NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
		NODE_EXTRA_SYSTEM=$'    flush:\n      vm_timeout: 30\n      in_flight: 1' \
		NODE_LIBVIRT_URI="test://$PVCT_WORK/$n.xml" node_config $n >/dev/null
	node_start $n
done
for n in hv1 hv2 hv3; do
	if ! node_wait_ready $n 30; then fail "$n starts" "see $(node_log $n)"; finish; fi
done
CFG=$(node_dir hv1)/pvcnoded.yaml
ctl() { "$PVCT_BUILD/pvcctl" -c "$CFG" "$@"; }
LOG=$(node_log hv1)

uuid_of() { printf '%08d-0000-4000-8000-%012d\n' "$1" "$1"; }
for i in $(seq 1 "$NVM"); do
	u=$(uuid_of "$i")
	x=$PVCT_WORK/vm$i.xml
	printf "<domain type='test'><name>vm%s</name><uuid>%s</uuid><memory>%d</memory><vcpu>%d</vcpu><os><type>hvm</type></os></domain>\n" \
		"$i" "$u" $((262144 * (i % 8 + 1))) $((i % 4 + 1)) >"$x"
	zkcli define-vm "$u" "vm$i" hv1 "$x" --state start >/dev/null
done
nrun() { local r; r=$(zkcli get "/nodes/$1/runningdomains" 2>/dev/null) || r=""; wc -w <<<"$r"; }
all_on_hv1() { [[ $(nrun hv1) -eq $NVM ]]; }
if ! wait_for 60 all_on_hv1; then fail "$NVM VMs start on hv1" "$(nrun hv1) running"; finish; fi
pass "$NVM VMs start on hv1"

# New nodes register as flushed: make them targets (pvcctl unflush with nothing to move).
for n in hv1 hv2 hv3; do
	check "ready $n (exit 0)" ctl node ready --wait --timeout 30 $n
done

# ---- status --------------------------------------------------------------------------
st=$(ctl status)
for r in zk-election vm-manager net-router flush; do
	if grep -qE "^$r +[0-9]+ +running" <<<"$st"; then pass "status shows $r running"; else
		fail "status shows $r running" "$st"; fi
done
check "status shows the flush job" grep -qE '^flush\.job +idle' <<<"$st"

# ---- checks over all VMs ---------------------------------------------------------------
# Every VM: state, node, lastnode as given; running on its node. Prints mismatches.
vm_check() { # STATE NODE|!NODE LASTNODE [FIRST LAST]
	local i u bad=0 s n l want=$2
	for i in $(seq "${4:-1}" "${5:-$NVM}"); do
		u=$(uuid_of "$i")
		s=$(zkcli get "/domains/$u/state")
		n=$(zkcli get "/domains/$u/node")
		l=$(zkcli get "/domains/$u/lastnode")
		if [[ $s != "$1" || $l != "$3" ]] ||
			{ [[ $want == !* ]] && [[ $n == "${want#!}" ]]; } ||
			{ [[ $want != !* ]] && [[ $n != "$want" ]]; } ||
			{ [[ $s == start ]] && ! zkcli get "/nodes/$n/runningdomains" | grep -q "$u"; }; then
			echo "vm$i: state=$s node=$n lastnode=$l"
			bad=1
		fi
	done
	return $bad
}
moved_count() {
	local i c=0
	for i in $(seq 1 "$NVM"); do
		[[ $(zkcli get "/domains/$(uuid_of "$i")/lastnode") == hv1 ]] && c=$((c + 1))
	done
	echo $c
}
at_least_moved() { [[ $(moved_count) -ge $1 ]]; }
# The same from hv1's log after line $mark: one grep instead of $NVM ZooKeeper reads,
# so a case that must act mid-flush sees the third move at once (moved_count takes
# seconds on a loaded machine, long enough for a whole flush to finish).
moved_since_mark() { [[ $(tail -n +"$mark" "$LOG" | grep -c -- "- flush - flush: VM .* moved in") -ge $1 ]]; }
ds() { zkcli get /nodes/hv1/domainstate; }
# Put every VM back on hv1, running, before a case, so that one case's failure (a VM
# left stopped by a failed cold migration) does not cascade into the next.
reset_vms() {
	local i u args=()
	for i in $(seq 1 "$NVM"); do
		u=$(uuid_of "$i")
		args+=("/domains/$u/node=hv1" "/domains/$u/lastnode=" "/domains/$u/node_autostart=False"
			"/domains/$u/node_limit=" "/domains/$u/state=start")
	done
	zkcli multi-set "${args[@]}" >/dev/null
	wait_for 60 all_on_hv1 || echo "reset: only $(nrun hv1) VMs running on hv1" >&2
}

# ---- 1. flush: every VM leaves with lastnode=hv1, choices logged once each ----------------
mark=$(wc -l <"$LOG")
out=$(ctl node flush --wait --timeout 600 2>&1) && rc=0 || rc=$?
check_eq "flush --wait exits 0" 0 "$rc"
check "flush --wait shows progress" grep -qE "^flush hv1: [0-9]+/$NVM VMs moved, in flight: " <<<"$out"
check_eq "domainstate flushed" flushed "$(ds)"
if bad=$(vm_check start '!hv1' hv1); then pass "flush: every VM runs elsewhere with lastnode=hv1"; else
	fail "flush: every VM runs elsewhere with lastnode=hv1" "$bad"; fi
check_eq "flush: hv1 runs nothing" 0 "$(nrun hv1)"
# each VM got exactly one placement, and runs where it was sent
bad=""
for i in $(seq 1 "$NVM"); do
	u=$(uuid_of "$i")
	lines=$(tail -n +"$mark" "$LOG" | grep -c "flush: migrating VM $u to ") || true
	tgt=$(tail -n +"$mark" "$LOG" | sed -n "s/.*flush: migrating VM $u to \([^ ]*\) .*/\1/p" | head -1)
	[[ $lines == 1 && $tgt == "$(zkcli get "/domains/$u/node")" ]] || bad+="vm$i:$lines:$tgt "
done
check_eq "flush: one placement per VM, to the node it runs on" "" "$bad"
check "flush: node_selector written back (None -> default)" \
	test "$(zkcli get "/domains/$(uuid_of 1)/node_selector")" != None

# ---- 2. unflush: all back, lastnode cleared ---------------------------------------------
out=$(ctl node unflush --wait --timeout 600 hv1 2>&1) && rc=0 || rc=$?
check_eq "unflush --wait exits 0" 0 "$rc"
check "unflush --wait shows progress" grep -qE "^unflush hv1: [0-9]+/$NVM VMs moved" <<<"$out"
check_eq "domainstate ready" ready "$(ds)"
if bad=$(vm_check start hv1 ""); then pass "unflush: every VM back on hv1, lastnode cleared"; else
	fail "unflush: every VM back on hv1, lastnode cleared" "$bad"; fi

# ---- 3. pvcctl: timeout, refusals, usage --------------------------------------------------
reset_vms
out=$(ctl node flush --wait --timeout 1 2>&1) && rc=0 || rc=$?
check_eq "flush --timeout 1 exits 1" 1 "$rc"
check "timeout names the reason" grep -q "timed out after 1 s" <<<"$out"
out=$(ctl node flush --wait --timeout 600 2>&1) && rc=0 || rc=$?
check_eq "flush resumed by a second --wait exits 0" 0 "$rc"
out=$(ctl node flush --wait hv9 2>&1) && rc=0 || rc=$?
check_eq "flush of an unknown node exits 1" 1 "$rc"
check "refusal names the reason" grep -q "refused: no such node" <<<"$out"
prim=$(zkcli get /primary_node)
other=hv2
[[ $prim == hv2 ]] && other=hv3
out=$(ctl node secondary $other 2>&1) && rc=0 || rc=$?
check_eq "secondary of a non-primary exits 1" 1 "$rc"
check "secondary refusal names the primary" grep -q "is not the primary (primary: $prim)" <<<"$out"
out=$(ctl node primary hv1 --wait 2>&1) && rc=0 || rc=$?
check_eq "usage error exits 2" 2 "$rc"
out=$(ctl node flush --timeout soon 2>&1) && rc=0 || rc=$?
check_eq "bad --timeout exits 2" 2 "$rc"
out=$("$PVCT_BUILD/pvcctl" -s "$PVCT_WORK/nowhere.sock" status 2>&1) && rc=0 || rc=$?
check_eq "daemon unreachable exits 1" 1 "$rc"
out=$(ctl --json node list) && rc=0 || rc=$?
check "node list --json parses" "$PVCT_PY" -c 'import json,sys; d=json.loads(sys.argv[1]); assert len(d)==3' "$out"
out=$(ctl node unflush --wait --timeout 600 hv1 2>&1) && rc=0 || rc=$?
check_eq "unflush after the timeout case exits 0" 0 "$rc"

# ---- 4. unflush during a flush cancels it ----------------------------------------------------
reset_vms
mark=$(wc -l <"$LOG")
ctl node flush >/dev/null
if wait_for 120 moved_since_mark 3; then
	out=$(ctl node unflush --wait --timeout 600 hv1 2>&1) && rc=0 || rc=$?
	check_eq "unflush during flush exits 0" 0 "$rc"
	check "flush reports the cancellation" grep -q "flush: cancelled by domainstate unflush" \
		<(tail -n +"$mark" "$LOG")
	if tail -n +"$mark" "$LOG" | grep -q " - flush - flush done"; then
		fail "cancelled flush never wrote flushed" "found 'flush done'"; else
		pass "cancelled flush never wrote flushed"; fi
	if bad=$(vm_check start hv1 ""); then pass "cancel: every VM back on hv1"; else
		fail "cancel: every VM back on hv1" "$bad"; fi
else
	fail "unflush during flush" "flush did not start moving"
fi

# ---- 5. kill -9 of the flush worker mid-flush --------------------------------------------------
reset_vms
mark=$(wc -l <"$LOG")
fpid=$(node_worker hv1 flush)
ctl node flush >/dev/null
if wait_for 120 moved_since_mark 3; then
	kill -9 "$fpid"
	new_worker() { local p; p=$(node_worker hv1 flush); [[ -n $p && $p != "$fpid" ]]; }
	check "flush worker restarted" wait_for 20 new_worker
	out=$(ctl node flush --wait --timeout 600 2>&1) && rc=0 || rc=$?
	check_eq "flush completes after kill -9" 0 "$rc"
	if bad=$(vm_check start '!hv1' hv1); then pass "kill -9: every VM moved"; else
		fail "kill -9: every VM moved" "$bad"; fi
	bad=""
	for i in $(seq 1 "$NVM"); do
		n=$(tail -n +"$mark" "$LOG" | grep -c "flush: migrating VM $(uuid_of "$i") to ") || true
		[[ $n -le 1 ]] || bad+="vm$i:$n "
	done
	check_eq "kill -9: no VM moved twice" "" "$bad"
else
	fail "kill -9 mid-flush" "flush did not start moving"
fi
out=$(ctl node unflush --wait --timeout 600 hv1 2>&1) && rc=0 || rc=$?
check_eq "unflush after kill -9 exits 0" 0 "$rc"

# ---- 6. no room: node_limit only hv1 -> shutdown + autostart; unflush starts them ---------------
reset_vms
args=()
for i in 1 2 3 4 5; do args+=("/domains/$(uuid_of "$i")/node_limit=hv1"); done
zkcli multi-set "${args[@]}" >/dev/null
out=$(ctl node flush --wait --timeout 600 2>&1) && rc=0 || rc=$?
check_eq "flush without room exits 0" 0 "$rc"
bad=""
for i in 1 2 3 4 5; do
	u=$(uuid_of "$i")
	r="$(zkcli get "/domains/$u/state") $(zkcli get "/domains/$u/node") $(zkcli get "/domains/$u/node_autostart")"
	[[ $r == "stop hv1 True" ]] || bad+="vm$i:$r "
done
check_eq "no room: shut down, node_autostart=True, still assigned to hv1" "" "$bad"
if bad=$(vm_check start '!hv1' hv1 6 "$NVM"); then pass "no room: the others moved"; else
	fail "no room: the others moved" "$bad"; fi
out=$(ctl node unflush --wait --timeout 600 hv1 2>&1) && rc=0 || rc=$?
check_eq "unflush after no room exits 0" 0 "$rc"
if bad=$(vm_check start hv1 ""); then pass "no room: unflush starts them and brings all back"; else
	fail "no room: unflush starts them and brings all back" "$bad"; fi
bad=""
for i in 1 2 3 4 5; do
	[[ $(zkcli get "/domains/$(uuid_of "$i")/node_autostart") == False ]] || bad+="vm$i "
done
check_eq "no room: node_autostart cleared" "" "$bad"

check "flush worker never crashed" test "$(grep -c 'flush.*exited\|flush.*killed by signal' "$LOG" || true)" -le 1
finish
