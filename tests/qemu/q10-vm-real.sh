#!/bin/bash
# vm-manager against two real hypervisors (libvirtd + QEMU/TCG, tests/lib/qemu.sh):
# start, console log capture, ACPI shutdown and its timeout fallback to destroy,
# live migration there and back while the guest keeps counting, adoption after a
# kill -9 of vm-manager, migration timeout + abort (cold fallback), cold fallback when
# the live migration fails at once, restart. Guest: tests/qemu/guest.sh.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/qemu.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86 not installed"
[[ -f $QEMU_GUEST/vmlinuz ]] || skip_all "no guest in $QEMU_GUEST (tests/qemu/guest.sh)"

MEM=${PVCQ_MEM_MIB:-128}
pvct_users
qemu_setup
ZK_ADDR=$QEMU_HOST_ADDR
zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
export ZK_HOSTS=$NODE_ZK
zkcli init-cluster >/dev/null

# ---- two pvcnoded nodes, each in its hypervisor's network namespace ------------------
for i in 1 2; do
	n=$(qemu_node_name "$i")
	NODE_COORDINATORS="hv1 hv2" NODE_HYPERVISOR=true NODE_KEEPALIVE=1 \
		NODE_LIBVIRT_URI="$(qemu_uri "$i")" node_config "$n" >/dev/null
	qemu_node_config "$n" "$(qemu_console_dir "$i")"
	node_start "$n" "$(qemu_ns "$i")"
done
for i in 1 2; do
	n=$(qemu_node_name "$i")
	node_wait_ready "$n" 30 || { fail "$n starts" "see $(node_log "$n")"; finish; }
done
pass "two nodes up, each vm-manager connected to its own libvirtd"

U1=00000000-0000-4000-8000-0000000000a1
U2=00000000-0000-4000-8000-0000000000a2
qemu_domain_xml vm1 "$U1" "$MEM" >"$PVCT_WORK/vm1.xml"
qemu_domain_xml vm2 "$U2" "$MEM" pvcq.noacpi >"$PVCT_WORK/vm2.xml"

state() { zkcli get "/domains/$1/state" 2>/dev/null; }
state_is() { [[ $(state "$1") == "$2" ]]; }
lv_running() { [[ $(vsh "$1" domstate "$2" 2>/dev/null) == running ]]; }
lv_absent() { ! vsh "$1" domstate "$2" >/dev/null 2>&1; }
qpid() { cat "$(qemu_dir "$1")/run/qemu/$2.pid" 2>/dev/null; }
counting() { # I NAME MIN: the guest on node I printed a count >= MIN
	local c
	c=$(qemu_counter "$1" "$2") || return 1
	[[ -n $c ]] && ((c >= $3))
}
# the serial log is appended to across boots and migrations: a line count marks "now"
log_lines() { { wc -l <"$(qemu_console_dir "$1")/$2.log"; } 2>/dev/null || echo 0; }
booted_since() { # I NAME LINES: a boot after line LINES has reached its second count
	tail -n +"$(($3 + 1))" "$(qemu_console_dir "$1")/$2.log" 2>/dev/null | tr -d '\r' |
		sed -n '/^pvcq-count 0$/,$p' | grep -qx "pvcq-count 2"
}
# expect NAME TIMEOUT CMD...: pass if CMD succeeds within TIMEOUT s
expect() {
	local name=$1 t=$2
	shift 2
	if wait_for "$t" "$@"; then pass "$name"; else fail "$name" "not within $t s: $*"; fi
}
migrate_to() { # UUID FROM TO
	zkcli multi-set "/domains/$1/node=$3" "/domains/$1/lastnode=$2" "/domains/$1/state=migrate"
}

# ---- start --------------------------------------------------------------------------
t0=$(now_ms)
zkcli define-vm "$U1" vm1 hv1 "$PVCT_WORK/vm1.xml" --state start >/dev/null
zkcli define-vm "$U2" vm2 hv2 "$PVCT_WORK/vm2.xml" --state start >/dev/null
expect "start: vm1 running in hv1's libvirtd" 30 lv_running 1 vm1
expect "start: vm2 running in hv2's libvirtd" 30 lv_running 2 vm2
in_running() { zkcli get "/nodes/$1/runningdomains" 2>/dev/null | grep -q "$2"; }
expect "start: vm1 in /nodes/hv1/runningdomains" 10 in_running hv1 "$U1"
expect "start: vm1 boots and counts on its serial console" 60 counting 1 vm1 3
printf 'info: start to first serial count: %d ms\n' $(($(now_ms) - t0))

# ---- console log capture -------------------------------------------------------------
# (the serial line ends in \r\n, kept as the reference keeps it)
consolelog_has() { zkcli get "/domains/$1/consolelog" 2>/dev/null | tr -d '\r' | grep -qx "pvcq-count $2"; }
c=$(qemu_counter 1 vm1)
expect "console: the real serial console reaches /domains/<uuid>/consolelog" 10 consolelog_has "$U1" "$c"

# ---- shutdown, ACPI ignored: destroyed after shutdown_timeout ---------------------------
expect "vm2 (ignores ACPI) boots" 60 counting 2 vm2 1
t0=$(now_ms)
zkcli set "/domains/$U2/state" shutdown
expect "shutdown timeout: state stop" 30 state_is "$U2" stop
el=$(($(now_ms) - t0))
if ((el >= 5000)) && lv_absent 2 vm2; then
	pass "shutdown timeout: destroyed after shutdown_timeout (${el} ms)"
else
	fail "shutdown timeout: destroyed after shutdown_timeout" "${el} ms, libvirt: $(vsh 2 domstate vm2 2>&1)"
fi
if grep -q "pvcq: ACPI power button" "$(qemu_console_dir 2)/vm2.log"; then
	fail "shutdown timeout: the guest really ignored ACPI" "it powered off by itself"
else
	pass "shutdown timeout: the guest really ignored ACPI"
fi

# ---- live migration hv1 -> hv2 -> hv1 while the guest keeps counting ------------------
live_migration() { # FROM_I TO_I
	local from=$1 to=$2 fn tn before after t0 el mark
	fn=$(qemu_node_name "$from") tn=$(qemu_node_name "$to")
	mark=$(log_lines "$to" vm1)
	before=$(qemu_counter "$from" vm1)
	t0=$(now_ms)
	migrate_to "$U1" "$fn" "$tn"
	if wait_for 60 lv_running "$to" vm1 && wait_for 30 state_is "$U1" start &&
		wait_for 10 lv_absent "$from" vm1; then
		el=$(($(now_ms) - t0))
		pass "live migration $fn -> $tn: running on $tn, state start, gone from $fn (${el} ms)"
	else
		fail "live migration $fn -> $tn" "state $(state "$U1"), $tn: $(vsh "$to" domstate vm1 2>&1), $fn: $(vsh "$from" domstate vm1 2>&1)"
	fi
	check_eq "live migration $fn -> $tn: node $tn" "$tn" "$(zkcli get "/domains/$U1/node")"
	wait_for 5 counting "$to" vm1 $((before + 1)) || true
	after=$(qemu_counter "$to" vm1)
	# the target's serial log begins with this migration: a guest that kept running
	# continues its count, a restarted one would begin again at 0
	if [[ -n $after ]] && ((after > before)) &&
		! tail -n +"$((mark + 1))" "$(qemu_console_dir "$to")/vm1.log" | tr -d '\r' | grep -qx "pvcq-count 0"; then
		pass "live migration $fn -> $tn: the guest kept counting ($before before, $after after)"
	else
		fail "live migration $fn -> $tn: the guest kept counting" "before $before, after '$after'"
	fi
	grep -q "vm1.*migrat" "$(node_log "$fn")" ||
		fail "live migration $fn -> $tn: sender log" "no migration line in $(node_log "$fn")"
}
live_migration 1 2
# receive side: the target answered start and hv2's vm-manager lists the VM as its own
if node_ctl hv2 status 2>/dev/null | grep -Eq "vms_running[= ]+1"; then
	pass "receive side: hv2's vm-manager counts the received VM"
else
	fail "receive side: hv2's vm-manager counts the received VM" "$(node_ctl hv2 status 2>&1 | grep -i vm)"
fi
live_migration 2 1

# ---- adoption after kill -9 of vm-manager ------------------------------------------------
qp=$(qpid 1 vm1)
vmpid=$(node_worker hv1 vm-manager)
kill -KILL "$vmpid"
new_worker() { local p; p=$(node_worker hv1 vm-manager) && [[ -n $p && $p != "$vmpid" ]]; }
expect "adoption: vm-manager restarted after kill -9" 10 new_worker
c=$(qemu_counter 1 vm1)
sleep 3
if [[ $(qpid 1 vm1) == "$qp" ]] && lv_running 1 vm1 && state_is "$U1" start && counting 1 vm1 $((c + 5)); then
	pass "adoption: the running guest was adopted (same QEMU, still counting, state start)"
else
	fail "adoption: the running guest was adopted" "qemu $qp -> $(qpid 1 vm1), state $(state "$U1")"
fi

# ---- migration timeout: abort, then the cold fallback -------------------------------------
# 1 MiB/s: a 128 MiB guest cannot finish within migration_timeout (10 s)
vsh 1 migrate-setspeed vm1 1 >/dev/null
mark2=$(log_lines 2 vm1)
t0=$(now_ms)
migrate_to "$U1" hv1 hv2
expect "migration timeout: the sender aborts the job" 30 grep -qi "vm1.*abort" "$(node_log hv1)"
if wait_for 90 lv_running 2 vm1 && wait_for 30 state_is "$U1" start; then
	pass "migration timeout: cold fallback, running on hv2 ($(($(now_ms) - t0)) ms)"
else
	fail "migration timeout: cold fallback, running on hv2" "state $(state "$U1"), hv2: $(vsh 2 domstate vm1 2>&1)"
fi
check_eq "migration timeout: gone from hv1" "" "$(vsh 1 list --name 2>/dev/null | grep -x vm1 || true)"
expect "migration timeout: the guest booted anew on hv2 (cold)" 60 booted_since 2 vm1 "$mark2"

# ---- live migration refused at once (target port closed): cold fallback --------------------
ip netns exec "$(qemu_ns 1)" nft -f - <<'EOF'
table inet pvcq {
	chain input {
		type filter hook input priority 0;
		tcp dport 16509 reject with tcp reset
	}
}
EOF
on_exit "ip netns exec $(qemu_ns 1) nft delete table inet pvcq 2>/dev/null"
t0=$(now_ms)
migrate_to "$U1" hv2 hv1
if wait_for 90 lv_running 1 vm1 && wait_for 30 state_is "$U1" start; then
	pass "failed live migration: cold fallback, running on hv1 ($(($(now_ms) - t0)) ms)"
else
	fail "failed live migration: cold fallback, running on hv1" "state $(state "$U1"), hv1: $(vsh 1 domstate vm1 2>&1)"
fi
expect "failed live migration: the guest shut down by ACPI on hv2" 5 grep -q "pvcq: ACPI power button" "$(qemu_console_dir 2)/vm1.log"
ip netns exec "$(qemu_ns 1)" nft delete table inet pvcq

# ---- restart ------------------------------------------------------------------------------
expect "vm1 counts on hv1" 60 booted_since 1 vm1 0
qp=$(qpid 1 vm1)
mark1=$(log_lines 1 vm1)
zkcli set "/domains/$U1/state" restart
new_qemu() { local p; p=$(qpid 1 vm1) && [[ -n $p && $p != "$qp" ]]; }
expect "restart: a new QEMU on hv1" 60 new_qemu
expect "restart: state start" 30 state_is "$U1" start

# ---- ACPI shutdown ----------------------------------------------------------------------
expect "vm1 counts again after the restart" 60 booted_since 1 vm1 "$mark1"
mark1=$(log_lines 1 vm1)
t0=$(now_ms)
zkcli set "/domains/$U1/state" shutdown
expect "shutdown: state stop" 30 state_is "$U1" stop
el=$(($(now_ms) - t0))
if lv_absent 1 vm1 && ((el < 5000)) &&
	tail -n +"$((mark1 + 1))" "$(qemu_console_dir 1)/vm1.log" | grep -q "pvcq: ACPI power button"; then
	pass "shutdown: the guest powered off by ACPI (${el} ms, before shutdown_timeout)"
else
	fail "shutdown: the guest powered off by ACPI" "${el} ms, libvirt: $(vsh 1 domstate vm1 2>&1)"
fi

DENIALS='SIGSYS|signal 31|seccomp|[Pp]ermission denied|[Oo]peration not permitted|cannot open it'
for i in 1 2; do
	n=$(qemu_node_name "$i")
	if grep -E "$DENIALS" "$(node_log "$n")" | grep -q .; then
		fail "$n: no sandbox denial in the log" "$(grep -E "$DENIALS" "$(node_log "$n")" | head -3)"
	else
		pass "$n: no sandbox denial in the log"
	fi
done
node_stop hv1 || true
node_stop hv2 || true
finish
