#!/bin/bash
# vm-manager with VM state that outlives the worker (a private unprivileged libvirtd
# serving the test driver): kill -9 of vm-manager with 20 VMs running -> all adopted,
# none restarted or duplicated; a VM destroyed behind the daemon's back is restarted;
# domains unknown to PVC are reported and not counted.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root
command -v libvirtd >/dev/null || skip_all "libvirtd not installed (libvirt-daemon)"
command -v virsh >/dev/null || skip_all "virsh not installed (libvirt-clients)"

# ---- private libvirtd, unprivileged (as root it refuses to start) -----------------
chmod 0755 "$PVCT_WORK"
L=$PVCT_WORK/libvirtd
mkdir -p "$L/home" "$L/run" "$L/sock"
cat >"$L/libvirtd.conf" <<EOF
unix_sock_dir = "$L/sock"
unix_sock_rw_perms = "0777"
unix_sock_ro_perms = "0777"
auth_unix_rw = "none"
auth_unix_ro = "none"
EOF
chown -R nobody:nogroup "$L"
URI="test+unix:///default?socket=$L/sock/libvirt-sock"
vs() { virsh -c "$URI" "$@" 2>/dev/null; }
running_on_libvirt() { local d; d=$(vs domid "$1") && [[ -n $d && $d != - ]]; }
NKEEP=0
start_libvirtd() {
	rm -f "$L/sock/libvirt-sock"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -i PVCT_WORK="$PVCT_WORK" HOME="$L/home" XDG_RUNTIME_DIR="$L/run" \
		XDG_CONFIG_HOME="$L/home" PATH=/usr/sbin:/usr/bin \
		libvirtd --config "$L/libvirtd.conf" >>"$L/log" 2>&1 &
	lvpid=$!
	on_exit "kill $lvpid"
	wait_for 10 test -S "$L/sock/libvirt-sock" || { fail "libvirtd starts" "$(tail -3 "$L/log")"; finish; }
	# The daemon's test-driver state lives only while a client is connected: keep one.
	NKEEP=$((NKEEP + 1))
	mkfifo "$L/keeper$NKEEP"
	virsh -c "$URI" <"$L/keeper$NKEEP" >/dev/null 2>&1 &
	on_exit "kill $!"
	if ((NKEEP == 1)); then exec 7>"$L/keeper$NKEEP"; echo list >&7; else
		exec 8>"$L/keeper$NKEEP"; echo list >&8; fi
	wait_for 10 vs list >/dev/null || { fail "libvirtd answers" "$(tail -3 "$L/log")"; finish; }
}
start_libvirtd

zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
export ZK_HOSTS=$NODE_ZK
zkcli init-cluster >/dev/null

uuid_of() { printf '%08d-0000-4000-8000-%012d\n' "$1" "$1"; }
running_on() { zkcli get "/nodes/$2/runningdomains" 2>/dev/null | grep -q "$(uuid_of "$1")"; }
count_running() { zkcli get "/nodes/hv1/runningdomains" 2>/dev/null | wc -w; }
all_running() { [[ $(count_running) -eq $1 ]]; }

NODE_COORDINATORS="hv1" NODE_HYPERVISOR=true NODE_KEEPALIVE=1 NODE_LIBVIRT_URI="$URI" \
	node_config hv1 >/dev/null
node_start hv1
if ! node_wait_ready hv1 20; then fail "hv1 starts" "see $(node_log hv1)"; finish; fi

for i in $(seq 1 20); do
	printf "<domain type='test'><name>vm%s</name><uuid>%s</uuid><memory>1048576</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>\n" \
		"$i" "$(uuid_of "$i")" >"$PVCT_WORK/vm$i.xml"
	zkcli define-vm "$(uuid_of "$i")" "vm$i" hv1 "$PVCT_WORK/vm$i.xml" --state start
done
if wait_for 20 all_running 20; then pass "20 VMs running"; else
	fail "20 VMs running" "$(count_running) in runningdomains"; fi

# the driver's own "test" domain is not a PVC VM: reported, not counted
check_eq "unknown domain not counted in domainscount" 20 "$(zkcli get /nodes/hv1/domainscount)"
if node_ctl hv1 status 2>/dev/null | grep -Eq "unknown_domains[= ]+6695eb01-f6a4-8304-79aa-97f2502e193f"; then
	pass "unknown domain reported in status"; else
	fail "unknown domain reported in status" "$(node_ctl hv1 status 2>&1 | grep -o 'unknown_domains=[^ ]*')"; fi

ids_before=$(vs list --name | sort | tr '\n' ' ')
idnums_before=$(for i in $(seq 1 20); do vs domid "vm$i"; done | tr '\n' ' ')
starts_before=$(grep -c "vm vm[0-9]*: started" "$(node_log hv1)" || true)
old=$(node_worker hv1 vm-manager)
kill -KILL "$old"
newvm() { local p; p=$(node_worker hv1 vm-manager); [[ -n $p && $p != "$old" ]]; }
if wait_for 5 newvm; then pass "vm-manager restarted after kill -9"; else
	fail "vm-manager restarted after kill -9" "no new worker"; fi
wait_for 10 grep -q "libvirt: 21 active domain(s) found" "$(node_log hv1)" || true
sleep 3
starts_after=$(grep -c "vm vm[0-9]*: started" "$(node_log hv1)" || true)
check_eq "after restart: no VM started again" "$starts_before" "$starts_after"
check_eq "after restart: same domains, none duplicated" "$ids_before" \
	"$(vs list --name | sort | tr '\n' ' ')"
check_eq "after restart: same domain IDs (none restarted)" "$idnums_before" \
	"$(for i in $(seq 1 20); do vs domid "vm$i"; done | tr '\n' ' ')"
if wait_for 5 all_running 20; then pass "after restart: all 20 adopted (runningdomains)"; else
	fail "after restart: all 20 adopted (runningdomains)" "$(count_running)"; fi
check_eq "after restart: states untouched" "20" \
	"$(for i in $(seq 1 20); do zkcli get "/domains/$(uuid_of "$i")/state"; done | grep -c '^start$')"

# ---- destroyed behind the daemon's back ----------------------------------------------
id5=$(vs domid vm5)
vs destroy vm5 >/dev/null
restarted() { local d; d=$(vs domid vm5) && [[ -n $d && $d != "$id5" ]]; }
if wait_for 10 restarted; then pass "VM destroyed outside PVC is restarted"; else
	fail "VM destroyed outside PVC is restarted" "vm5 not running again"; fi
if grep -q "vm vm5 stopped outside PVC: starting it again" "$(node_log hv1)"; then
	pass "restart after outside destroy is logged"; else
	fail "restart after outside destroy is logged" "no log line"; fi
check_eq "outside destroy: state still start" start "$(zkcli get "/domains/$(uuid_of 5)/state")"

# ---- a PVC VM that belongs to another node, running here, is destroyed ----------------
zkcli multi-set "/domains/$(uuid_of 6)/node=hv7" "/domains/$(uuid_of 6)/state=start"
gone6() { ! vs domid vm6 >/dev/null; }
if wait_for 10 gone6; then pass "conflicting domain (owner hv7, state start) destroyed"; else
	fail "conflicting domain (owner hv7, state start) destroyed" "vm6 still running"; fi

# ---- libvirtd restarts: reconnect with backoff, re-register events, reconcile ---------
# (the test driver's state dies with the daemon, so every VM that should run is started)
kill "$lvpid"
exec 7>&-
# its pid file lock must be released before a new one can start
lv_gone() { ! kill -0 "$lvpid" 2>/dev/null; }
wait_for 10 lv_gone || true
wait_for 10 grep -q "libvirt connection lost" "$(node_log hv1)" &&
	pass "libvirt connection loss noticed" || fail "libvirt connection loss noticed" "no log line"
start_libvirtd
# counted in the NEW libvirtd (runningdomains in ZooKeeper still shows the old list)
libvirt_vms() { vs list --name | grep -c '^vm'; }
libvirt_all() { [[ $(libvirt_vms) -eq $1 ]]; }
if wait_for 40 libvirt_all 19; then pass "after libvirtd restart: reconnected, all VMs running again"; else
	fail "after libvirtd restart: reconnected, all VMs running again" "$(libvirt_vms) running in libvirt"; fi
ev_ok() { local d; d=$(vs domid vm7) && [[ -n $d ]] && vs destroy vm7 >/dev/null; }
if ev_ok && wait_for 10 running_on_libvirt vm7; then pass "after reconnect: lifecycle events work again"; else
	fail "after reconnect: lifecycle events work again" "vm7 not restarted"; fi
check "no crash of vm-manager through all this" test -n "$(node_worker hv1 vm-manager)"

node_stop hv1 || true
exec 8>&-
finish
