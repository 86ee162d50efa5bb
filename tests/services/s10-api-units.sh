#!/bin/bash
# s10-api-units: the api-units worker (issue 17 item 1) on two coordinators with
# enable_api and a real ZooKeeper. systemctl and patronictl are stub scripts
# (pvc.system.api.systemctl / .patronictl): each prints one record line
#   STUB <name> uid=<uid> t=<ns since the epoch> write=<ok|denied> argv=<args>
# which the worker logs with the command's result. The node's log is the record:
# the worker and its commands can write no file (Landlock), which write=denied
# shows. A control file next to each node's stubs (mode.<name>) makes a stub
# fail ("fail") or hang ("hang", a grandchild sleeping) instead.
#
# Checks: the primary switches Patroni (the reference's arguments) then starts
# pvcapid.service then pvcapid-worker.service, as the api-units user (not root);
# a secondary runs nothing; a switchover stops both units on the old primary
# while the new one switches Patroni and starts them; a failing command is
# logged with its message; a hanging one is killed (whole process group) at
# command_timeout_ms; a relinquish during a takeover cancels it; the worker has
# no capability; without systemd and without an explicit systemctl, one clear
# error per takeover.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/zk.sh"
. "$(dirname "$0")/../lib/node.sh"

require_root
[[ -x $PVCT_BUILD/pvcnoded && -x $PVCT_BUILD/pvc-api-units ]] || skip_all "build first (make)"

# ---- the polkit rule (evaluated with node.js and a stand-in of polkit's objects) ----
if command -v node >/dev/null; then
	verdicts=$(node - "$PVCT_ROOT/units/pvcnoded-api.polkit.rules" <<'JS'
const fs = require("fs");
let rule = null;
const polkit = { Result: { YES: "yes" }, addRule: (f) => { rule = f; } };
new Function("polkit", fs.readFileSync(process.argv[2], "utf8"))(polkit);
const ask = (id, user, unit, verb) => String(rule(
	{ id, lookup: (k) => ({ unit, verb })[k] }, { user }) || "no");
const m = "org.freedesktop.systemd1.manage-units";
console.log([
	ask(m, "pvc-api", "pvcapid.service", "start"),
	ask(m, "pvc-api", "pvcapid-worker.service", "stop"),
	ask(m, "pvc-api", "pvcapid.service", "restart"),
	ask(m, "pvc-api", "ssh.service", "stop"),
	ask(m, "pvc-api", "pvcapid.service", "reload"),
	ask(m, "pvc-dns", "pvcapid.service", "start"),
	ask("org.freedesktop.systemd1.manage-unit-files", "pvc-api", "pvcapid.service", "start"),
].join(" "));
JS
	)
	check_eq "polkit rule: pvc-api may start/stop/restart exactly the two API units" \
		"yes yes yes no no no no" "$verdicts"
else
	echo "SKIP: polkit rule not evaluated (no node.js on this machine)"
fi

zk_start_standalone
export ZK_HOSTS
NODE_ZK=$ZK_HOSTS
NODES="hv1 hv2"
NODE_COORDINATORS=$NODES
NODE_API=true
. "$PVCT_ROOT/tests/lib/election.sh"
API_UID=$(id -u pvct-api)
HANG_MARK=60.4242 # the hanging stub's sleep, to find a survivor of the kill

# the worker (user pvct-api) must reach the stubs: traversal only
chmod 0711 "$PVCT_WORK"

make_stubs() { # NODE
	local d=$PVCT_WORK/stubs/$1 s
	mkdir -p "$d"
	chmod 0755 "$PVCT_WORK/stubs" "$d"
	for s in systemctl patronictl; do
		cat >"$d/$s" <<EOF
#!/bin/sh
if echo x 2>/dev/null >"$d/written"; then w=ok; else w=denied; fi
echo "STUB $s uid=\$(id -u) t=\$(date +%s%N) write=\$w argv=\$* ;"
mode=\$(cat "$d/mode.$s" 2>/dev/null || true)
case "\$mode" in
fail) echo "Failed to \$1 \$2: Unit \$2 not found (stub)" >&2; exit 1 ;;
hang) sleep $HANG_MARK & wait ;;
esac
exit 0
EOF
		chmod 0755 "$d/$s"
		: >"$d/mode.$s"
		chmod 0644 "$d/mode.$s"
	done
}
set_mode() { echo "$3" >"$PVCT_WORK/stubs/$1/mode.$2"; }

for n in $NODES; do
	make_stubs "$n"
	NODE_EXTRA_SYSTEM="    api:
      systemctl: $PVCT_WORK/stubs/$n/systemctl
      patronictl: $PVCT_WORK/stubs/$n/patronictl
      command_timeout_ms: 2500" node_config "$n" >/dev/null
done

# The STUB records of NODE's log, in order, as "name argv" (uid/t dropped).
records() { grep -o 'STUB [a-z]* uid=[0-9]* t=[0-9]* write=[a-z]* argv=[^;]*;' "$(node_log "$1")" | sed -E 's/^STUB //; s/ uid=[0-9]+ t=[0-9]+ write=[a-z]+ argv=/ /; s/ *;$//'; }
nrec() { records "$1" | wc -l; }
# the t= of the Nth record (1-based) of NODE
rec_t() { grep -o 'STUB [a-z]* uid=[0-9]* t=[0-9]*' "$(node_log "$1")" | sed -n "$2p" | sed 's/.*t=//'; }
has_rec() { records "$1" | tail -n +"$(($2 + 1))" | grep -qxF "$3"; }
patroni_argv() { echo "patronictl -c /etc/patroni/config.yml -d zookeeper://localhost:2181 switchover --candidate $1 --force pvc"; }
TAKEOVER() { printf '%s\n' "$(patroni_argv "$1")" "systemctl start pvcapid.service" "systemctl start pvcapid-worker.service"; }
RELINQUISH() { printf '%s\n' "systemctl stop pvcapid.service" "systemctl stop pvcapid-worker.service"; }
switch_to() { zkcli set /primary_node "$1" >/dev/null; wait_for 10 is_rs "$1" primary; }

# ---- hv1 alone: takeover ------------------------------------------------------------
zkcli delete -r /primary_node >/dev/null 2>&1 || true
node_start hv1
check "hv1 becomes primary" wait_for 15 is_rs hv1 primary
check "hv1: the takeover sequence ran" wait_for 10 has_rec hv1 0 "systemctl start pvcapid-worker.service"
check_eq "hv1: patronictl switchover (reference arguments), then pvcapid, then pvcapid-worker" \
	"$(TAKEOVER hv1)" "$(records hv1)"
uids=$(grep -o 'STUB [a-z]* uid=[0-9]*' "$(node_log hv1)" | sed 's/.*uid=//' | sort -u)
check_eq "commands run as the api-units user (uid $API_UID, not root)" "$API_UID" "$uids"
check "the commands could write no file (Landlock)" \
	bash -c "! grep -q 'write=ok' '$(node_log hv1)' && [[ ! -e $PVCT_WORK/stubs/hv1/written ]]"
check "success logged with the command's output" \
	grep -q "api-units: systemctl start pvcapid.service: exit 0 after [0-9]* ms: STUB systemctl uid=" "$(node_log hv1)"

wpid=$(node_worker hv1 api-units)
if [[ -n $wpid ]]; then
	check_eq "api-units worker: CapEff 0" "0000000000000000" \
		"$(awk '/^CapEff:/ {print $2}' "/proc/$wpid/status")"
	check_eq "api-units worker: CapBnd 0" "0000000000000000" \
		"$(awk '/^CapBnd:/ {print $2}' "/proc/$wpid/status")"
	check_eq "api-units worker: CapPrm 0" "0000000000000000" \
		"$(awk '/^CapPrm:/ {print $2}' "/proc/$wpid/status")"
	check_eq "api-units worker: uid pvct-api" "$API_UID $API_UID $API_UID $API_UID" \
		"$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$wpid/status")"
	check_eq "api-units worker: seccomp filter" "2" "$(awk '/^Seccomp:/ {print $2}' "/proc/$wpid/status")"
else
	fail "api-units worker of hv1 running" "no process named api-units"
fi

# ---- the worker killed on the primary: restarted, it learns the state and re-runs ----
# the (idempotent) takeover: the units stay started, Patroni stays here
h1=$(nrec hv1)
if [[ -n $wpid ]]; then
	kill -KILL "$wpid"
	check "api-units restarted after kill -9" wait_for 10 bash -c "p=\$(pgrep -x api-units -P $(node_pid hv1)); [[ -n \$p && \$p != $wpid ]]"
	check "the restarted worker re-ran the takeover" wait_for 10 has_rec hv1 "$h1" "systemctl start pvcapid-worker.service"
	check_eq "re-run in the same order" "$(TAKEOVER hv1)" "$(records hv1 | tail -n +$((h1 + 1)))"
fi

# ---- hv2 joins as secondary: runs nothing -------------------------------------------
node_start hv2
check "hv2: api-units worker running" wait_for 15 node_has_worker hv2 api-units
check "hv2 is secondary" wait_for 10 is_rs hv2 secondary
sleep 1
check_eq "secondary hv2 ran no command" 0 "$(nrec hv2)"

# ---- switchover to hv2 ----------------------------------------------------------------
h1=$(nrec hv1)
check "switchover to hv2" switch_to hv2
check "hv2: the takeover sequence ran" wait_for 10 has_rec hv2 0 "systemctl start pvcapid-worker.service"
check "hv1: both units stopped" wait_for 10 has_rec hv1 "$h1" "systemctl stop pvcapid-worker.service"
check_eq "hv1 (old primary): stop pvcapid, then pvcapid-worker" "$(RELINQUISH)" \
	"$(records hv1 | tail -n +$((h1 + 1)))"
check_eq "hv2 (new primary): switchover to hv2, pvcapid, pvcapid-worker" "$(TAKEOVER hv2)" \
	"$(records hv2)"
t_stop=$(rec_t hv1 $((h1 + 1)))
t_patroni=$(rec_t hv2 1)
# zk-election does not wait for the services of the old primary before handing
# over (no acknowledgement of MSG_SVC_PRIMARY 0), so the two nodes' commands start
# within a few ms of each other in either order: check that the stop is prompt.
gap=$(((${t_patroni:-0} - ${t_stop:-0}) / 1000000))
echo "old primary's stop began $gap ms before the new primary's switchover"
check "the old primary's stop began within 1 s of the new primary's switchover ($gap ms)" \
	test "${t_stop:-0}" -gt 0 -a "${gap#-}" -lt 1000

# ---- back to hv1: patronictl hangs, systemctl fails -----------------------------------
set_mode hv1 patronictl hang
set_mode hv1 systemctl fail
h1=$(nrec hv1)
h2=$(nrec hv2)
t0=$(now_ms)
check "switchover to hv1" switch_to hv1
check "hv1: the hanging patronictl killed at command_timeout_ms, logged" \
	wait_for 10 grep -q "patronictl switchover: timeout after 2[5-9][0-9][0-9] ms (process group killed); giving up" "$(node_log hv1)"
check "hv1: its grandchild (sleep) killed with the group" wait_for 2 bash -c "! pgrep -f 'slee[p] $HANG_MARK' >/dev/null"
check "hv1: the failing systemctl logged with its message" \
	wait_for 10 grep -q "systemctl start pvcapid-worker.service FAILED: exit 1 after [0-9]* ms: STUB .*Failed to start pvcapid-worker.service: Unit pvcapid-worker.service not found (stub)" "$(node_log hv1)"
check "hv1: the units were still started after the Patroni timeout" \
	grep -q "systemctl start pvcapid.service FAILED: exit 1" "$(node_log hv1)"
took=$(($(now_ms) - t0))
check "hv1: the sequence took about the timeout, not the hang ($took ms)" test "$took" -lt 9000
check_eq "hv1: switchover, pvcapid, pvcapid-worker (all tried)" "$(TAKEOVER hv1)" \
	"$(records hv1 | tail -n +$((h1 + 1)))"
check "hv2: both units stopped" wait_for 10 has_rec hv2 "$h2" "systemctl stop pvcapid-worker.service"

# ---- a relinquish during a takeover cancels it ----------------------------------------
set_mode hv1 systemctl ""
check "switchover to hv2 (hang still set on hv1)" switch_to hv2
check "hv1: stopped" wait_for 10 grep -q "systemctl stop pvcapid-worker.service: exit 0" "$(node_log hv1)"
h1=$(nrec hv1)
tries() { grep -c "setting the Patroni leader to this node" "$(node_log hv1)"; }
n1=$(tries)
check "switchover to hv1" switch_to hv1
check "hv1: patronictl started (hangs)" wait_for 5 test "$(tries)" -gt "$n1"
check "switchover to hv2 during hv1's takeover" switch_to hv2
check "hv1: the takeover abandoned (killed)" \
	wait_for 5 grep -q "patroni-switchover abandoned (killed)" "$(node_log hv1)"
check "hv1: then both units stopped" wait_for 10 has_rec hv1 "$h1" "systemctl stop pvcapid-worker.service"
check_eq "hv1: no unit started by the cancelled takeover" \
	"$(patroni_argv hv1)
$(RELINQUISH)" "$(records hv1 | tail -n +$((h1 + 1)))"
check "hv1: no survivor of the cancelled patronictl" wait_for 2 bash -c "! pgrep -f 'slee[p] $HANG_MARK' >/dev/null"

# ---- shutdown of the primary stops the units ------------------------------------------
h2=$(nrec hv2)
node_stop hv2 20 || true
check_eq "hv2 shutdown (primary): both units stopped before exit" "$(RELINQUISH)" \
	"$(records hv2 | tail -n +$((h2 + 1)))"
node_stop hv1 20 || true

# ---- the real systemctl and a Python ZooKeeper client under the confinement -----------
# patronictl is Python with kazoo (threads, TCP to ZooKeeper): this stand-in does
# what it does before the switchover itself (connect, read the cluster's keys).
# The real systemctl, without systemd here, must fail with its own message, not
# be killed by the seccomp filter.
cat >"$PVCT_WORK/stubs/hv1/patronictl-py" <<EOF
#!/usr/bin/python3
import subprocess, sys, threading
from kazoo.client import KazooClient
zk = KazooClient(hosts="$ZK_HOSTS")
zk.start(timeout=10)
t = threading.active_count()
n = len(zk.get_children("/"))
zk.stop()
out = subprocess.run(["/bin/true"], stdout=subprocess.DEVNULL).returncode
print("STUBPY threads=%d children=%d subprocess=%d argv=%s" % (t, n, out, " ".join(sys.argv[1:])))
EOF
chmod 0755 "$PVCT_WORK/stubs/hv1/patronictl-py"
NODE_EXTRA_SYSTEM="    api:
      systemctl: /usr/bin/systemctl
      patronictl: $PVCT_WORK/stubs/hv1/patronictl-py
      command_timeout_ms: 20000" node_config hv1 >/dev/null
if [[ -d /run/systemd/system || ! -x /usr/bin/systemctl ]] || ! "$PVCT_PY" -c 'import kazoo' 2>/dev/null; then
	echo "SKIP: real-command case not testable here (systemd is PID 1, or no systemctl or kazoo)"
else
	zkcli delete -r /primary_node >/dev/null 2>&1 || true
	node_start hv1
	check "hv1 primary (real systemctl, Python patronictl)" wait_for 15 is_rs hv1 primary
	check "Python/kazoo stand-in of patronictl (threads, TCP, subprocess) ran to its end under the filter" \
		wait_for 20 grep -q "switched the Patroni leader to this node (exit 0 after [0-9]* ms): STUBPY threads=[2-9][0-9]* children=[1-9][0-9]* subprocess=0 argv=-c /etc/patroni/config.yml" "$(node_log hv1)"
	check "the real systemctl failed with its own message (no systemd), not SIGSYS" \
		wait_for 10 grep -q "systemctl start pvcapid-worker.service FAILED: exit 1 after [0-9]* ms: .*systemd" "$(node_log hv1)"
	check "nothing killed by the seccomp filter" bash -c "! grep -q 'seccomp filter (SIGSYS)' '$(node_log hv1)'"
	node_stop hv1 20 || true
fi

# ---- no systemd, no explicit systemctl: one clear error per takeover -------------------
set_mode hv1 patronictl ""
NODE_EXTRA_SYSTEM="    api:
      patronictl: $PVCT_WORK/stubs/hv1/patronictl
      command_timeout_ms: 2500" node_config hv1 >/dev/null
if [[ -d /run/systemd/system ]]; then
	echo "SKIP: no-systemd case not testable here (PID 1 is systemd)"
else
	h1=$(nrec hv1)
	zkcli delete -r /primary_node >/dev/null 2>&1 || true
	node_start hv1
	check "hv1 primary again" wait_for 15 is_rs hv1 primary
	check "no systemd: Patroni still switched" wait_for 10 has_rec hv1 "$h1" "$(patroni_argv hv1)"
	check "no systemd: a clear error naming why the units were not started" \
		wait_for 10 grep -q "the API units were not started: PID 1 is not systemd (/run/systemd/system is missing) and pvc.system.api.systemctl is not set" "$(node_log hv1)"
	check_eq "no systemd: one error per takeover" 1 \
		"$(grep -c "the API units were not started: PID 1 is not systemd" "$(node_log hv1)")"
	node_stop hv1 20 || true
fi
finish
