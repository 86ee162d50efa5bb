#!/bin/bash
# f60-fence: dead-node fencing over (fake) IPMI, recovery of the dead node's VMs and
# self-fencing (issue #8, docs/fencing.md). Three coordinators with VMs (libvirt test
# driver), keepalive 1 s, fence_intervals 5, suicide_intervals 3; a fake ipmitool
# first on PATH records its calls (tests/lib/fake-ipmitool).
#   0. ZooKeeper frozen longer than the dead threshold: nobody is fenced afterwards
#   1. self-fence: hv1's zk-election frozen (cut off from ZooKeeper): hv1 destroys its
#      VMs before the others start them; one fence of hv1; VMs elsewhere, lastnode hv1
#   2. kill -9 of hv2's whole daemon while hv3 is frozen: exactly one fence, not before
#      5 s; VMs run elsewhere exactly once with lastnode hv2; domainstate flushed
#   3. hv3 frozen past the dead threshold, resumed once marked dead: not fenced
#  3b. hv3 resumed while the fencer waits for a read lock: not even marked dead
#   4. failed IPMI with failed_fence None: hv3's VMs stay assigned to it
#   5. failed IPMI with failed_fence migrate (self-fencing on): they are recovered
#   and throughout: the BMC password appears in no `ps` output and no log.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root

PW=TopSecretIpmiPassw0rd # tests/lib/node.sh writes it into every config
KA=1 FI=5 SI=3
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
export ZK_HOSTS=$NODE_ZK
zkcli init-cluster >/dev/null

FAKE=$PVCT_WORK/fakebin
mkdir -p "$FAKE"
install -m 0755 "$PVCT_ROOT/tests/lib/fake-ipmitool" "$FAKE/ipmitool"
ctl_fake() { printf '%s\n' "$@" >"$FAKE/fake-ipmitool.ctl.new" && chmod 0644 "$FAKE/fake-ipmitool.ctl.new" &&
	mv "$FAKE/fake-ipmitool.ctl.new" "$FAKE/fake-ipmitool.ctl"; }
ctl_fake "SLEEP=0.4"
chmod 0755 "$PVCT_WORK" "$FAKE"
export PATH="$FAKE:$PATH"

# ---- password watch: every `ps` listing for the whole run ------------------------------
PSLOG=$PVCT_WORK/ps.log
(while :; do ps -eo args >>"$PSLOG" 2>/dev/null; sleep 0.1; done) &
PSPID=$!
on_exit "kill $PSPID 2>/dev/null"

# hv3's session outlives the dead threshold (15 s > 5 s): after a cut-off shorter than
# that it comes back in the same session, where the `dead` written meanwhile is only
# learnt from a watch (case 3); the others' 4 s sessions expire first
start_node() {
	local sess=4000
	[[ $1 == hv3 ]] && sess=15000
	NODE_SESSION_MS=$sess NODE_HYPERVISOR=true NODE_KEEPALIVE=$KA NODE_FENCE=$FI NODE_SUICIDE=$SI \
		NODE_FENCE_FAIL=${FAILED_FENCE:-None} \
		NODE_SUPERVISOR_EXTRA="      hang_timeout_ms: 60000" \
		NODE_LIBVIRT_URI="test://$PVCT_WORK/$1.xml" node_config "$1" >/dev/null
	node_start "$1"
}
for n in hv1 hv2 hv3; do
	cat >"$PVCT_WORK/$n.xml" <<'X'
<node>
  <cpu><mode>paravirt</mode><active>16</active><total>16</total></cpu>
  <memory>33554432</memory>
</node>
X
	chmod 0644 "$PVCT_WORK/$n.xml"
	start_node $n
done
for n in hv1 hv2 hv3; do
	if ! node_wait_ready $n 30; then fail "$n starts" "see $(node_log $n)"; finish; fi
	zkcli set "/nodes/$n/domainstate" ready >/dev/null
done

NVM=6
uuid_of() { printf '%08d-0000-4000-8000-6000%08d\n' "$1" "$1"; }
for i in $(seq 1 $NVM); do
	x=$PVCT_WORK/vm$i.xml
	printf "<domain type='test'><name>vm%s</name><uuid>%s</uuid><memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n" \
		"$i" "$(uuid_of "$i")" >"$x"
	chmod 0644 "$x"
done
# vm1-3 on hv1, vm4-6 on hv3
for i in 1 2 3; do zkcli define-vm "$(uuid_of $i)" "vm$i" hv1 "$PVCT_WORK/vm$i.xml" --state start >/dev/null; done
for i in 4 5 6; do zkcli define-vm "$(uuid_of $i)" "vm$i" hv3 "$PVCT_WORK/vm$i.xml" --state start >/dev/null; done

running_on() { zkcli get "/nodes/$1/runningdomains" 2>/dev/null || true; }
count_running() { # UUID -> on how many live nodes' runningdomains it appears
	local c=0 n
	# a dead node's list is what it last published: stale by definition
	for n in hv1 hv2 hv3; do
		zk_is "/nodes/$n/daemonstate" run || continue
		grep -q "$1" <<<"$(running_on $n)" && c=$((c + 1))
	done
	echo $c
}
all_running() { # FIRST LAST NODE
	local i
	for i in $(seq "$1" "$2"); do grep -q "$(uuid_of "$i")" <<<"$(running_on "$3")" || return 1; done
}
if ! wait_for 30 all_running 1 3 hv1 || ! wait_for 30 all_running 4 6 hv3; then
	fail "VMs start" "hv1: $(running_on hv1) hv3: $(running_on hv3)"
	finish
fi
pass "6 VMs running (3 on hv1, 3 on hv3)"

# log line timestamp (local time, µs) -> epoch ms
log_ms() {
	"$PVCT_PY" -c 'import sys,time,datetime
s=sys.argv[1]
d=datetime.datetime.strptime(s, "%Y/%m/%d %H:%M:%S.%f")
print(int(time.mktime(d.timetuple())*1000 + d.microsecond//1000))' "$1"
}
# epoch ms of the first line matching ERE in FILE after line MARK
first_ms() {
	local l
	# no early-exiting grep in a pipeline: pipefail would see tail's SIGPIPE
	l=$(tail -n +"$3" "$2" | grep -E "$1" | grep -oE '[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]{8}\.[0-9]{6}' |
		sed -n 1p)
	[[ -n $l ]] || return 1
	log_ms "$l"
}
all_logs() { cat "$(node_log hv1)" "$(node_log hv2)" "$(node_log hv3)"; }
resets_for() { all_logs | grep -c "FAKE-IPMITOOL host=$1-lom.test action=reset" || true; }
vm_where() { # I -> "state node lastnode"
	local u
	u=$(uuid_of "$1")
	echo "$(zkcli get "/domains/$u/state") $(zkcli get "/domains/$u/node") $(zkcli get "/domains/$u/lastnode")"
}
# VMs FIRST..LAST: state start, node not DEAD, lastnode DEAD, running exactly once, where assigned
recovered() {
	local i s n l
	for i in $(seq "$1" "$2"); do
		read -r s n l <<<"$(vm_where "$i")"
		[[ $s == start && $n != "$3" && $l == "$3" ]] || return 1
		[[ $(count_running "$(uuid_of "$i")") == 1 ]] || return 1
		grep -q "$(uuid_of "$i")" <<<"$(running_on "$n")" || return 1
	done
}
runs_once() { [[ $(count_running "$(uuid_of "$1")") == 1 ]]; }
all_zk_run() { local n; for n in hv1 hv2 hv3; do zk_is "/nodes/$n/daemonstate" run || return 1; done; }
all_running_again() { all_running 1 3 hv1 && all_running 4 6 hv3; }
mark_of() { wc -l <"$(node_log "$1")"; }
# ERE in NODE's log after its mark (or in every log with NODE = all)
logged() {
	# no grep -q: with pipefail its early exit would fail the pipeline (SIGPIPE)
	if [[ $1 == all ]]; then all_logs | grep -E "$2" >/dev/null; else
		tail -n +"${M[$1]}" "$(node_log "$1")" | grep -E "$2" >/dev/null; fi
}
zk_is() { [[ $(zkcli get "$1" 2>/dev/null) == "$2" ]]; }
declare -A M
marks() { local n; for n in hv1 hv2 hv3; do M[$n]=$(mark_of $n); done; }

# ---- 0. a ZooKeeper outage longer than the dead threshold fences nobody -------------------------
marks
kill -STOP "$ZK_PID"
sleep $((KA * FI + 3))
kill -CONT "$ZK_PID"
# every node gets a full threshold from its return; watch for twice that
sleep $((2 * KA * FI))
check_eq "outage case: no node judged dead after an $((KA * FI + 3)) s ZooKeeper outage" 0 \
	"$(all_logs | grep -c "node is dead" || true)"
check "outage case: every node run again" wait_for 15 all_zk_run
check "outage case: VMs (self-fenced meanwhile) run again where they were" \
	wait_for 30 all_running_again
# the outage exceeded the self-fence window: each node stopped its VMs, then
# restarted them after keepalives and a fresh VM list
check "outage case: hv1 self-fenced and resumed" logged hv1 "self-fence lifted"

# ---- 1. self-fencing: hv1 cut off from ZooKeeper (zk-election frozen) ------------------------
marks
ZK1=$(node_worker hv1 zk-election)
kill -STOP "$ZK1"
t_cut=$(now_ms)
if wait_for 40 recovered 1 3 hv1; then pass "self-fence case: hv1's VMs run elsewhere exactly once, lastnode hv1"; else
	fail "self-fence case: hv1's VMs run elsewhere exactly once, lastnode hv1" "$(for i in 1 2 3; do vm_where $i; done)"; fi
check_eq "self-fence case: one IPMI reset of hv1" 1 "$(resets_for hv1)"
check "self-fence case: hv1 domainstate flushed" wait_for 10 zk_is /nodes/hv1/domainstate flushed
bad=""
for i in 1 2 3; do
	d=$(first_ms "self-fence: destroying VM vm$i\$" "$(node_log hv1)" "${M[hv1]}") || d=""
	s2=$(first_ms "vm vm$i: started" "$(node_log hv2)" "${M[hv2]}") || s2=""
	s3=$(first_ms "vm vm$i: started" "$(node_log hv3)" "${M[hv3]}") || s3=""
	s=${s2:-$s3}
	if [[ -z $d || -z $s || $d -ge $s ]]; then bad+="vm$i destroyed=${d:-never} started=${s:-never} "; else
		echo "  vm$i: destroyed on hv1 $((d - t_cut)) ms after the cut, started elsewhere $((s - t_cut)) ms after"; fi
done
check_eq "self-fence case: hv1 destroyed each VM before another node started it" "" "$bad"
kill -CONT "$ZK1" 2>/dev/null || true
node_kill hv1
sleep 0.5

# hv1 comes back empty (a rebooted node) and is made a target again
start_node hv1
check "hv1 restarts" node_wait_ready hv1 30
check "hv1 daemonstate run again" wait_for 10 zk_is /nodes/hv1/daemonstate run
zkcli set /nodes/hv1/domainstate ready >/dev/null

# ---- 2. kill -9 of hv2 while hv3 is frozen ---------------------------------------------------
VMS_HV2=""
for i in 1 2 3; do [[ $(zkcli get "/domains/$(uuid_of $i)/node") == hv2 ]] && VMS_HV2+="$i "; done
sleep 2 # hv1 judges from its first keepalive round; let it settle
marks
P3=$(node_pid hv3)
kill -STOP -- "-$P3"
t_kill=$(now_ms)
node_kill hv2
sleep 2.5
kill -CONT -- "-$P3"
check "kill case: hv2 marked dead" wait_for 30 logged all "fence: node hv2: marked .dead."
check "kill case: hv2 domainstate flushed" wait_for 30 zk_is /nodes/hv2/domainstate flushed
check_eq "kill case: exactly one IPMI reset of hv2" 1 "$(resets_for hv2)"
check_eq "kill case: one coordinator marked hv2 dead" 1 "$(all_logs | grep -c "fence: node hv2: marked .dead.")"
tm=""
for n in hv1 hv3; do tm=${tm:-$(first_ms "fence: node hv2: marked .dead." "$(node_log $n)" "${M[$n]}" || true)}; done
# hv2's last keepalive may precede the kill by up to one interval
if [[ -n $tm ]] && ((tm - t_kill >= KA * (FI - 1) * 1000)); then
	pass "kill case: marked dead $((tm - t_kill)) ms after the kill (>= $((KA * (FI - 1) * 1000)))"; else
	fail "kill case: marked dead not before $((KA * (FI - 1) * 1000)) ms" "marked at ${tm:-?}, kill at $t_kill"; fi
age=$(all_logs | sed -n 's/.*fence: node hv2: keepalive \([0-9]*\) ms old.*/\1/p' | head -1)
check "kill case: judged on a keepalive ${age:-?} ms old by ZooKeeper's clock (> $((KA * FI * 1000)))" \
	test "${age:-0}" -gt $((KA * FI * 1000))
ok=1
for i in $VMS_HV2; do
	read -r s n l <<<"$(vm_where "$i")"
	[[ $s == start && $n != hv2 && $l == hv2 ]] || ok=0
	wait_for 20 runs_once "$i" || ok=0
done
if ((ok)) && [[ -n $VMS_HV2 ]]; then pass "kill case: hv2's VMs ($VMS_HV2) run elsewhere exactly once, lastnode hv2"; else
	fail "kill case: hv2's VMs run elsewhere exactly once, lastnode hv2" "vms '$VMS_HV2': $(for i in 1 2 3; do vm_where $i; done)"; fi
check "kill case: hv3 (frozen 2.5 s) was not fenced" test "$(resets_for hv3)" = 0

# ---- 3. hv3's zk-election frozen past the threshold, back during the saving throws ---------------
# (same session: its first keepalive after the return does not rewrite `run`, it has
# not seen the `dead` yet; vm-manager, not frozen, self-fences on time)
sleep 2
marks
ZK3=$(node_worker hv3 zk-election)
kill -STOP "$ZK3"
if wait_for 30 logged hv1 "fence: node hv3: marked .dead."; then
	kill -CONT "$ZK3"
	pass "throws case: hv3 marked dead while frozen"
else
	kill -CONT "$ZK3"
	fail "throws case: hv3 marked dead while frozen" "$(tail -5 "$(node_log hv1)")"
fi
check "throws case: fence of hv3 aborted (came back)" wait_for 15 logged hv1 "fence: node hv3: came back"
check "throws case: hv3 daemonstate run" wait_for 10 zk_is /nodes/hv3/daemonstate run
sleep 3
check_eq "throws case: no IPMI reset of hv3" 0 "$(resets_for hv3)"
check "throws case: hv3 self-fenced its VMs while cut off" logged hv3 "self-fence: destroying VM vm4"
check "throws case: hv3 restarts its VMs after a fresh VM list" wait_for 30 all_running 4 6 hv3
# the fencer's recovery checks the version of its `dead`: only a `run` written after
# it makes the recovery fail, so vm-manager may act on its VMs only after that write
t_run=$(first_ms "daemon state is now run" "$(node_log hv3)" "${M[hv3]}" || true)
t_lift=$(first_ms "self-fence lifted" "$(node_log hv3)" "${M[hv3]}" || true)
if [[ -n $t_run && -n $t_lift ]] && ((t_lift >= t_run)); then
	pass "throws case: self-fence lifted $((t_lift - t_run)) ms after hv3 rewrote \`run\`"; else
	fail "throws case: self-fence lifted only after hv3 rewrote \`run\`" "run ${t_run:-never}, lifted ${t_lift:-never}"; fi

# ---- 3b. hv3 back while the fencer waits for a kazoo read lock: not marked `dead` -----------------
# (under the lock the fencer re-checks that the keepalive it judged has not moved: a
# live node marked `dead` would relinquish the primary, and its VMs would flap)
sleep 2
marks
LOCK3=$PVCT_WORK/lock3b.out
ZK3=$(node_worker hv3 zk-election)
kill -STOP "$ZK3"
sleep 3
zkcli hold-lock /nodes/hv3/daemonstate read 5 >"$LOCK3" 2>&1 &
L3PID=$!
on_exit "kill $L3PID 2>/dev/null"
judged=0
wait_for 20 logged hv1 "fence: node hv3: keepalive [0-9]+ ms old" && judged=1
kill -CONT "$ZK3"
check_eq "lock-wait case: hv3 judged dead while frozen, read lock still held" "1 0" \
	"$judged $(grep -c released "$LOCK3" || true)"
check "lock-wait case: the read lock was released" wait_for 20 grep -q released "$LOCK3"
check "lock-wait case: fence dropped (keepalive moved since the judgement)" \
	wait_for 10 logged hv1 "fence: node hv3: wrote a keepalive since it was judged dead"
check_eq "lock-wait case: hv3 not marked dead" 0 \
	"$(tail -n +"${M[hv1]}" "$(node_log hv1)" | grep -c "fence: node hv3: marked" || true)"
check "lock-wait case: hv3 runs its VMs again" wait_for 30 all_running 4 6 hv3
# ---- 4. failed IPMI, failed_fence None: VMs stay assigned --------------------------------------
ctl_fake "SLEEP=0.4" "RESET_RC=1" "POWER=off"
marks
# a kazoo read lock on hv3's daemonstate (as the API may take): the fencer's write
# lock must wait for it (ref §0.5), so the marking comes after its release
LOCKOUT=$PVCT_WORK/lock.out
zkcli hold-lock /nodes/hv3/daemonstate read 7 >"$LOCKOUT" 2>&1 &
LOCKPID=$!
on_exit "kill $LOCKPID 2>/dev/null"
wait_for 10 grep -q held "$LOCKOUT" || true
node_kill hv3
t_rel=""
if wait_for 15 grep -q released "$LOCKOUT"; then t_rel=$(now_ms); fi
wait_for 15 logged hv1 "fence: node hv3: marked .dead." || true
tm=$(first_ms "fence: node hv3: marked .dead." "$(node_log hv1)" "${M[hv1]}" || true)
# t_rel is seen by polling, up to ~0.2 s after the release itself; without the wait
# the marking would come 1-2 s before it
if [[ -n $t_rel && -n $tm ]] && ((tm >= t_rel - 500)); then
	pass "failed case: write lock waited for a kazoo read lock (marked $((tm - t_rel)) ms after its release)"; else
	fail "failed case: write lock waited for a kazoo read lock" "released ${t_rel:-never}, marked ${tm:-never}"; fi
check "failed case: fence of hv3 reported failed" wait_for 30 logged hv1 "fence: node hv3: IPMI fence FAILED"
check "failed case: VMs left in place (failed_fence None)" wait_for 10 logged hv1 "fence: node hv3: failed_fence is None"
ok=1
for i in 4 5 6; do read -r s n l <<<"$(vm_where "$i")"; [[ $s == start && $n == hv3 ]] || ok=0; done
check_eq "failed case: hv3's VMs still start on hv3" 1 "$ok"
check "failed case: hv3 domainstate not flushed" test "$(zkcli get /nodes/hv3/domainstate)" != flushed
check "failed case: power on was tried after the status said off" logged all "FAKE-IPMITOOL host=hv3-lom.test action=on"

# ---- 5. failed IPMI, failed_fence migrate, self-fencing on: VMs recovered -----------------------
# hv1 (the fencer) restarts with failed_fence: migrate; hv3 comes back with its VMs
ctl_fake "SLEEP=0.1" "RESET_RC=1" "POWER=off"
node_kill hv1
sleep 0.5
FAILED_FENCE=migrate start_node hv1
start_node hv3
for n in hv1 hv3; do check "migrate case: $n restarts" node_wait_ready $n 30; done
check "migrate case: hv3 runs its VMs again" wait_for 30 all_running 4 6 hv3
sleep 2
marks
node_kill hv3
check "migrate case: fence of hv3 failed" wait_for 30 logged hv1 "fence: node hv3: IPMI fence FAILED"
if wait_for 20 recovered 4 6 hv3; then pass "migrate case: hv3's VMs recovered despite the failed fence (self-fencing on)"; else
	fail "migrate case: hv3's VMs recovered despite the failed fence" "$(for i in 4 5 6; do vm_where $i; done)"; fi
check "migrate case: hv3 domainstate flushed" wait_for 10 zk_is /nodes/hv3/domainstate flushed

# ---- the password ------------------------------------------------------------------------------
kill "$PSPID" 2>/dev/null || true
check "fake ipmitool saw the password in its environment only" \
	test "$(all_logs | grep -c 'password-env=set password-in-argv=no')" -ge 4
check_eq "no ipmitool call had it in argv" 0 "$(all_logs | grep -c 'password-in-argv=yes')"
check "ps sampled ipmitool while it ran" grep -q "ipmitool -I lanplus" "$PSLOG"
check_eq "password in no ps output" 0 "$(grep -c "$PW" "$PSLOG" || true)"
check_eq "password in no log file" "" "$(grep -rl "$PW" "$PVCT_WORK"/hv*/log 2>/dev/null || true)"
finish
