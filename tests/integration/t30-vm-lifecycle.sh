#!/bin/bash
# vm-manager: every row of the decision table (ref §5.3), restart, bad input, a burst
# of 50 state changes, cold migration between two nodes, shutdown timeout (test build).
# Nodes use libvirt's test driver, each with its own node file.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root

zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
export ZK_HOSTS=$NODE_ZK
zkcli init-cluster >/dev/null

node_file() { # NAME: an empty simulated host for the test driver
	cat >"$PVCT_WORK/$1.xml" <<'EOF'
<node>
  <cpu><mode>paravirt</mode><active>16</active><total>16</total></cpu>
  <memory>33554432</memory>
</node>
EOF
	chmod 0644 "$PVCT_WORK/$1.xml"
}
uuid_of() { printf '%08d-0000-4000-8000-%012d\n' "$1" "$1"; }
define() { # N NODE STATE [xml-override-file]
	local u x
	u=$(uuid_of "$1")
	x=$PVCT_WORK/vm$1.xml
	if [[ -n ${4:-} ]]; then cp "$4" "$x"; else
		printf "<domain type='test'><name>vm%s</name><uuid>%s</uuid><memory>1048576</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>\n" "$1" "$u" >"$x"
	fi
	zkcli define-vm "$u" "vm$1" "$2" "$x" --state "$3"
}
state() { zkcli get "/domains/$(uuid_of "$1")/state"; }
set_state() { zkcli set "/domains/$(uuid_of "$1")/state" "$2"; }
running_on() { zkcli get "/nodes/$2/runningdomains" 2>/dev/null | grep -q "$(uuid_of "$1")"; }
not_running_on() { ! running_on "$1" "$2"; }
state_is() { [[ $(state "$1") == "$2" ]]; }
expect_state() { # CASE N STATE [TIMEOUT]
	if wait_for "${4:-10}" state_is "$2" "$3"; then pass "$1"; else
		fail "$1" "state is '$(state "$2")', expected '$3'"; fi
}
expect_running() { # CASE N NODE
	if wait_for 10 running_on "$2" "$3"; then pass "$1"; else
		fail "$1" "vm$2 not in /nodes/$3/runningdomains: '$(zkcli get "/nodes/$3/runningdomains")'"; fi
}
expect_stopped() { # CASE N NODE
	if wait_for 10 not_running_on "$2" "$3"; then pass "$1"; else
		fail "$1" "vm$2 still in /nodes/$3/runningdomains"; fi
}
# stays so for a while (negative checks must not pass by being too quick)
stays() { local i; for i in 1 2 3 4 5 6; do "$@" || return 1; sleep 0.5; done; }

# the worker (user nobody) must reach the console logs and node files below it
chmod 0755 "$PVCT_WORK"
node_file hv1
node_file hv2
NODE_COORDINATORS="hv1 hv2" NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
	NODE_LIBVIRT_URI="test://$PVCT_WORK/hv1.xml" node_config hv1 >/dev/null
node_start hv1
if ! node_wait_ready hv1 20; then fail "hv1 starts" "see $(node_log hv1)"; finish; fi
vmpid=$(node_worker hv1 vm-manager)

# ---- owner, not running -----------------------------------------------------------
define 1 hv1 start
expect_running "owner+stopped+start: started" 1 hv1
check_eq "start clears failedreason" "" "$(zkcli get "/domains/$(uuid_of 1)/failedreason")"

# ---- console log: last console_log_lines (100) lines, invalid UTF-8 replaced ------------
clog=$(node_dir hv1)/console/vm1.log
{ for i in $(seq 1 150); do echo "boot line $i"; done; printf 'bad \xff byte\n'; } >"$clog"
chmod 0644 "$clog"
console() { zkcli get "/domains/$(uuid_of 1)/consolelog"; }
has_tail() { console | grep -q "bad"; }
if wait_for 5 has_tail; then pass "console log uploaded"; else fail "console log uploaded" "$(console | tail -2)"; fi
check_eq "console log: last 100 lines" "100 boot line 52" "$(console | grep -c .) $(console | head -1)"
if console | grep -q $'bad \xef\xbf\xbd byte'; then pass "console log: invalid byte replaced by U+FFFD"; else
	fail "console log: invalid byte replaced by U+FFFD" "$(console | tail -1 | od -c | head -2)"; fi
echo "after boot" >>"$clog"
follows() { console | grep -q "after boot"; }
if wait_for 5 follows; then pass "console log follows the file"; else fail "console log follows the file" "not updated"; fi

define 2 hv1 stop
if stays not_running_on 2 hv1 && state_is 2 stop; then pass "owner+stopped+stop: nothing"; else
	fail "owner+stopped+stop: nothing" "state $(state 2)"; fi
set_state 2 shutdown
if stays not_running_on 2 hv1 && state_is 2 shutdown; then pass "owner+stopped+shutdown: nothing"; else
	fail "owner+stopped+shutdown: nothing" "state $(state 2)"; fi
set_state 2 disable
if stays not_running_on 2 hv1 && state_is 2 disable; then pass "owner+stopped+disable: nothing"; else
	fail "owner+stopped+disable: nothing" "state $(state 2)"; fi

define 3 hv1 stop
set_state 3 restart
expect_state "owner+stopped+restart: state=start" 3 start
expect_running "owner+stopped+restart: then started" 3 hv1

# receive, cold path on one node: migrate -> shutdown -> stop (what a failed sender
# writes) -> this node writes start and starts it
define 4 hv1 stop
set_state 4 migrate
sleep 1
set_state 4 shutdown
set_state 4 stop
expect_state "owner+stopped+migrate: receive (cold) writes start after stop" 4 start
expect_running "owner+stopped+migrate: receive (cold) then starts it" 4 hv1

# ---- owner, running ----------------------------------------------------------------
set_state 1 start
if stays running_on 1 hv1 && state_is 1 start; then pass "owner+running+start: adopted, unchanged"; else
	fail "owner+running+start: adopted, unchanged" "state $(state 1)"; fi
set_state 1 migrate
expect_state "owner+running+migrate: state=start" 1 start
check "owner+running+migrate: still running" running_on 1 hv1
set_state 1 disable
if stays running_on 1 hv1 && state_is 1 disable; then pass "owner+running+disable: keeps running"; else
	fail "owner+running+disable: keeps running" "state $(state 1)"; fi
set_state 1 restart
expect_state "owner+running+restart: ends in state=start" 1 start
check "owner+running+restart: running again" running_on 1 hv1
if grep -q "vm vm1: shut down, starting it again (restart)" "$(node_log hv1)"; then
	pass "owner+running+restart: shut down and started"; else
	fail "owner+running+restart: shut down and started" "no log line"; fi
set_state 1 shutdown
expect_state "owner+running+shutdown: state=stop" 1 stop
expect_stopped "owner+running+shutdown: stopped" 1 hv1
set_state 1 start
expect_running "restart after shutdown" 1 hv1
set_state 1 stop
expect_stopped "owner+running+stop: destroyed" 1 hv1
expect_state "owner+running+stop: state stays stop" 1 stop

# ---- not owner ---------------------------------------------------------------------
# running here but assigned elsewhere with state start: terminate, no state write
define 5 hv1 start
expect_running "vm5 started" 5 hv1
v0=$(zkcli stat "/domains/$(uuid_of 5)/state" version)
zkcli multi-set "/domains/$(uuid_of 5)/node=hv9" "/domains/$(uuid_of 5)/state=start"
expect_stopped "other+running+start: terminated" 5 hv1
sleep 1
check_eq "other+running+start: no state write" "$((v0 + 1)) start" \
	"$(zkcli stat "/domains/$(uuid_of 5)/state" version) $(state 5)"
if stays not_running_on 5 hv1; then pass "other+stopped+start: nothing"; else
	fail "other+stopped+start: nothing" "started"; fi

define 6 hv1 start
expect_running "vm6 started" 6 hv1
zkcli multi-set "/domains/$(uuid_of 6)/node=hv9" "/domains/$(uuid_of 6)/state=shutdown"
expect_state "other+running+shutdown: shut down, state=stop" 6 stop
expect_stopped "other+running+shutdown: stopped" 6 hv1

define 7 hv1 start
expect_running "vm7 started" 7 hv1
zkcli multi-set "/domains/$(uuid_of 7)/node=hv9" "/domains/$(uuid_of 7)/state=stop"
expect_stopped "other+running+stop: terminated" 7 hv1

# migrate out to a node without libvirt: the live migration fails -> shutdown -> stop
define 8 hv1 start
expect_running "vm8 started" 8 hv1
zkcli multi-set "/domains/$(uuid_of 8)/node=hv9" "/domains/$(uuid_of 8)/lastnode=hv1" \
	"/domains/$(uuid_of 8)/state=migrate"
expect_state "other+running+migrate: live fails, cold fallback ends in stop" 8 stop
expect_stopped "other+running+migrate: stopped here" 8 hv1
if grep -q "vm vm8: live migration failed" "$(node_log hv1)"; then
	pass "other+running+migrate: live migration attempted"; else
	fail "other+running+migrate: live migration attempted" "no log line"; fi

# ---- bad input ---------------------------------------------------------------------
printf "<domain type='test'><name>vm9</name><uuid>%s</uuid>" "$(uuid_of 9)" >"$PVCT_WORK/bad.xml"
define 9 hv1 start "$PVCT_WORK/bad.xml"
expect_state "XML libvirt rejects: state=fail" 9 fail
r=$(zkcli get "/domains/$(uuid_of 9)/failedreason")
if [[ -n $r ]]; then pass "XML libvirt rejects: failedreason set"; else
	fail "XML libvirt rejects: failedreason set" "empty"; fi
set_state 3 bogus-state
zkcli create "/domains/not-a-uuid" x >/dev/null
zkcli create "/domains/not-a-uuid/state" start >/dev/null
sleep 2
check_eq "garbage does not crash vm-manager" "$vmpid" "$(node_worker hv1 vm-manager)"
check "garbage: vm3 keeps running" running_on 3 hv1
# remove the garbage again: nodes started later must not depend on how zk-election
# treats it during their initial sync
set_state 3 start
zkcli delete -r /domains/not-a-uuid >/dev/null

# ---- burst: 50 state changes, the last one wins --------------------------------------
burst() { # N LAST
	"$PVCT_PY" - "$NODE_ZK" "/domains/$(uuid_of "$1")/state" "$2" <<'EOF'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1]); zk.start(10)
seq = ["stop", "start", "restart", "shutdown", "start", "stop", "restart"]
for i in range(49):
    zk.set(sys.argv[2], seq[i % len(seq)].encode())
zk.set(sys.argv[2], sys.argv[3].encode())
zk.stop()
EOF
}
define 10 hv1 start
expect_running "vm10 started" 10 hv1
burst 10 stop
sleep 3
if stays not_running_on 10 hv1 && state_is 10 stop; then pass "burst of 50 ending in stop: stopped"; else
	fail "burst of 50 ending in stop: stopped" "state $(state 10)"; fi
burst 10 start
if wait_for 10 running_on 10 hv1 && sleep 2 && stays running_on 10 hv1 && state_is 10 start; then
	pass "burst of 50 ending in start: running, state start"; else
	fail "burst of 50 ending in start: running, state start" "state $(state 10)"; fi
check_eq "burst: vm-manager survived" "$vmpid" "$(node_worker hv1 vm-manager)"

# ---- cold migration between two nodes ---------------------------------------------------
NODE_COORDINATORS="hv1 hv2" NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
	NODE_LIBVIRT_URI="test://$PVCT_WORK/hv2.xml" node_config hv2 >/dev/null
node_start hv2
if ! node_wait_ready hv2 20; then fail "hv2 starts" "see $(node_log hv2)"; finish; fi
define 11 hv1 start
expect_running "vm11 started on hv1" 11 hv1
zkcli multi-set "/domains/$(uuid_of 11)/node=hv2" "/domains/$(uuid_of 11)/lastnode=hv1" \
	"/domains/$(uuid_of 11)/state=migrate"
expect_running "migration: running on the target" 11 hv2
expect_state "migration: state=start" 11 start
expect_stopped "migration: gone from the source" 11 hv1
sleep 2
if running_on 11 hv2 && not_running_on 11 hv1 && state_is 11 start; then
	pass "migration: stable afterwards (only on the target)"; else
	fail "migration: stable afterwards (only on the target)" "state $(state 11)"; fi

# ---- status line ------------------------------------------------------------------------
if node_ctl hv1 status 2>/dev/null | grep -Eq "vms_running[= ]+[0-9]"; then pass "status shows vms_running"; else
	fail "status shows vms_running" "$(node_ctl hv1 status 2>&1 | grep -i vm | head -3)"; fi

node_stop hv2 || true
node_stop hv1 || true

# ---- shutdown timeout (test build: the guest ignores ACPI) --------------------------------
if [[ -x $PVCT_ROOT/build-test/pvcnoded ]]; then
	node_file hv3
	NODE_COORDINATORS="hv3" NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
		NODE_LIBVIRT_URI="test://$PVCT_WORK/hv3.xml" node_config hv3 >/dev/null
	PVC_TEST_VM_IGNORE_ACPI=1 PVCT_DAEMON=$PVCT_ROOT/build-test/pvcnoded node_start hv3
	if node_wait_ready hv3 20; then
		define 12 hv3 start
		expect_running "vm12 started on hv3" 12 hv3
		set_state 12 shutdown
		sleep 3
		if running_on 12 hv3 && state_is 12 shutdown; then
			pass "ACPI ignored: still running before the timeout"; else
			fail "ACPI ignored: still running before the timeout" "state $(state 12)"; fi
		expect_state "shutdown timeout (5 s): destroyed, state=stop" 12 stop 10
		expect_stopped "shutdown timeout: not running" 12 hv3
		if grep -q "vm vm12: no shutdown after 5 s: destroying it" "$(node_log hv3)"; then
			pass "shutdown timeout is logged"; else fail "shutdown timeout is logged" "no line"; fi
	else
		fail "hv3 (test build) starts" "see $(node_log hv3)"
	fi
	node_stop hv3 || true
else
	printf 'SKIP: shutdown timeout (needs make test-build)\n'
fi

finish
