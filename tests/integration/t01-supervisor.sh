#!/bin/bash
# Supervisor: per-worker restart, hang detection, garbage senders, crash-loop
# escalation, orderly stop, SIGHUP log reopen, --check-config, control socket access.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/zk.sh"
. "$PVCT_ROOT/tests/lib/node.sh"
require_root

zk_start_standalone
on_exit zk_stop_all
NODE_ZK=$(zk_connect_string)
zkcli -s "$NODE_ZK" init-cluster >/dev/null

ROLES=(zk-election vm-manager net-router flush fence)

# --- names and start-up ---------------------------------------------------------
NODE_COORDINATORS="hv1" node_config hv1 >/dev/null
node_start hv1
if node_wait_ready hv1 20; then pass "five workers and the supervisor start"; else
	fail "five workers and the supervisor start" "see $(node_log hv1)"; finish; fi
sup=$(node_pid hv1)
check_eq "supervisor comm is pvcnoded" pvcnoded "$(cat /proc/"$sup"/comm)"

# log_gap_ms FILE PATTERN1 PATTERN2: ms between the log lines (dates of the reference
# format: "YYYY/MM/DD HH:MM:SS.ffffff - ")
log_gap_ms() {
	local a b
	a=$(grep -F "$2" "$1" | tail -n1 | grep -o '[0-9:]\{8\}\.[0-9]\{6\}')
	b=$(grep -F "$3" "$1" | tail -n1 | grep -o '[0-9:]\{8\}\.[0-9]\{6\}')
	[[ -n $a && -n $b ]] || return 0
	"$PVCT_PY" -c 'import sys
def ms(t):
    h, m, s = t.split(":"); return (int(h) * 3600 + int(m) * 60 + float(s)) * 1000
print(int(round(ms(sys.argv[2]) - ms(sys.argv[1]))))' "$a" "$b"
}

worker_pids() {
	local r
	for r in "${ROLES[@]}"; do printf '%s=%s ' "$r" "$(node_worker hv1 "$r")"; done
}

# --- kill -9 of each worker: back within 200 ms, the others keep their PIDs --------
for r in "${ROLES[@]}"; do
	before=$(worker_pids)
	old=$(node_worker hv1 "$r")
	kill -KILL "$old"
	back() { local p; p=$(node_worker hv1 "$1"); [[ -n $p && $p != "$2" ]]; }
	if wait_for 2 back "$r" "$old"; then
		new=$(node_worker hv1 "$r")
		wait_for 2 grep -q "$r ready (pid $new," "$(node_log hv1)" || true
		# measured by the supervisor's own log timestamps (death seen -> READY), not by
		# this script's polling of /proc
		dt=$(log_gap_ms "$(node_log hv1)" "worker $r (pid $old) died" "$r ready (pid $new,")
		if [[ -n $dt ]] && ((dt <= 200)); then pass "kill -9 $r: back in ${dt} ms"; else
			fail "kill -9 $r: back within 200 ms" "took ${dt:-?} ms"; fi
	else
		fail "kill -9 $r: restarted" "no new $r"
	fi
	after=$(worker_pids)
	same=1
	for o in "${ROLES[@]}"; do
		[[ $o == "$r" ]] && continue
		b=$(grep -o "$o=[0-9]*" <<<"$before"); a=$(grep -o "$o=[0-9]*" <<<"$after")
		[[ $a == "$b" ]] || same=0
	done
	if ((same)); then pass "kill -9 $r: other workers keep their PIDs"; else
		fail "kill -9 $r: other workers keep their PIDs" "before: $before after: $after"; fi
	if grep -q "worker $r (pid $old) died: signal 9" "$(node_log hv1)"; then
		pass "kill -9 $r is logged"; else fail "kill -9 $r is logged" "no log line"; fi
	sleep 0.3
done

# --- a frozen worker is detected and replaced --------------------------------------
old=$(node_worker hv1 flush)
kill -STOP "$old"
replaced() { local p; p=$(node_worker hv1 flush); [[ -n $p && $p != "$old" ]]; }
if wait_for 6 replaced; then pass "SIGSTOPped flush is replaced"; else
	fail "SIGSTOPped flush is replaced" "still $old"; kill -CONT "$old" 2>/dev/null || true; fi
if grep -q "killing flush (pid $old): no heartbeat answer" "$(node_log hv1)"; then
	pass "hang is logged as such"; else fail "hang is logged as such" "no log line"; fi

# --- pvcctl status ---------------------------------------------------------------------
if [[ -x $PVCT_BUILD/pvcctl ]]; then
	out=$(node_ctl hv1 status 2>&1 || true)
	ok=1
	for r in "${ROLES[@]}"; do grep -q "$r" <<<"$out" || ok=0; done
	if ((ok)); then pass "pvcctl status lists the five workers"; else
		fail "pvcctl status lists the five workers" "$out"; fi
fi

# --- only root may use the control socket ----------------------------------------------
sock=$(node_dir hv1)/run/pvcnoded.sock
perm=$(stat -c %a "$sock")
check_eq "control socket mode 600" 600 "$perm"
if setpriv --reuid=nobody --regid=nogroup --clear-groups "$PVCT_PY" -c \
	"import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])" "$sock" 2>/dev/null; then
	fail "control socket refuses non-root" "nobody could connect"
else
	pass "control socket refuses non-root"
fi

# --- orderly stop ----------------------------------------------------------------------
node_stop hv1 25 && rc=0 || rc=$?
wait "$(node_pid hv1)" 2>/dev/null || true
if grep -q "pvcnoded stopped (exit status 0)" "$(node_log hv1)"; then
	pass "SIGTERM stops everything with status 0"; else
	fail "SIGTERM stops everything with status 0" "rc=$rc"; fi
order=$(grep -o "stopping: [a-z-]* phase [12]" "$(node_log hv1)" | tr '\n' ',')
check_eq "shutdown order" "stopping: zk-election phase 1,stopping: fence phase 1,stopping: flush phase 1,stopping: vm-manager phase 1,stopping: zk-election phase 2,stopping: net-router phase 1," "$order"
left=0
for r in "${ROLES[@]}"; do [[ -n $(pids_by_comm "$r" "$sup") ]] && left=1; done
check_eq "no worker left after stop" 0 "$left"

# --- crash loop escalates with status 3 ---------------------------------------------------
NODE_COORDINATORS="hv1" node_config hv2 >/dev/null
sed -i 's/^    supervisor:$/    supervisor:\n      crashloop_max: 3\n      crashloop_window_s: 60/' "$(node_dir hv2)/pvcnoded.yaml"
"$PVCT_BUILD/pvcnoded" -c "$(node_dir hv2)/pvcnoded.yaml" >"$(node_dir hv2)/log/stdout.log" 2>&1 &
pid2=$!
on_exit "kill -KILL $pid2 2>/dev/null"
echo "$pid2" >"$(node_dir hv2)/pid"
wait_for 20 node_has_worker hv2 net-router || true
for i in 1 2 3 4 5 6; do
	p=$(node_worker hv2 net-router || true)
	[[ -n $p ]] && kill -KILL "$p" 2>/dev/null
	sleep 0.5
	kill -0 "$pid2" 2>/dev/null || break
done
st=0
wait "$pid2" || st=$?
check_eq "crash loop escalates: exit status 3" 3 "$st"
if grep -q "escalating: net-router crashed more than 3 times" "$(node_log hv2)"; then
	pass "escalation is logged"; else fail "escalation is logged" "no log line"; fi

# --- a worker that sends garbage is cut off (test build only) ------------------------------
if [[ ! -x $PVCT_ROOT/build-test/pvcnoded ]]; then
	make -C "$PVCT_ROOT" --no-print-directory test-build >/dev/null 2>&1 || true
fi
if [[ -x $PVCT_ROOT/build-test/pvcnoded ]]; then
	NODE_COORDINATORS="hv1" node_config hv3 >/dev/null
	PVC_TEST_GARBAGE=flush PVCT_DAEMON=$PVCT_ROOT/build-test/pvcnoded node_start hv3
	if wait_for 10 grep -q "killing flush (pid [0-9]*): malformed frame" "$(node_log hv3)"; then
		pass "garbage sender is killed"; else fail "garbage sender is killed" "no log line"; fi
	if wait_for 5 grep -q "started flush" "$(node_log hv3)" && kill -0 "$(node_pid hv3)"; then
		pass "supervisor survives garbage and restarts the worker"; else
		fail "supervisor survives garbage and restarts the worker" "supervisor gone"; fi
	node_stop hv3 25 || true
else
	fail "garbage sender is killed" "test build (make test-build) unavailable"
fi

# --- SIGHUP reopens the log file ------------------------------------------------------------
NODE_COORDINATORS="hv1" node_config hv4 >/dev/null
sed -i 's/file_logging: false/file_logging: true/' "$(node_dir hv4)/pvcnoded.yaml"
node_start hv4
node_wait_ready hv4 20 || true
logf=$(node_dir hv4)/log/pvc.log
wait_for 5 test -s "$logf" || true
mv "$logf" "$logf.1"
kill -HUP "$(node_pid hv4)"
if wait_for 5 grep -q "reopened" "$logf"; then pass "SIGHUP reopens pvc.log"; else
	fail "SIGHUP reopens pvc.log" "no new file"; fi
node_stop hv4 25 || true

# --- configuration errors stop the daemon before it touches anything ------------------------
bad=$PVCT_WORK/bad.yaml
printf 'pvc:\n  functions:\n    enable_hypervisor: maybe\n' >"$bad"
chmod 0600 "$bad" # a root-only file: the parse error, not the ownership check
st=0
out=$("$PVCT_BUILD/pvcnoded" -c "$bad" 2>&1) || st=$?
check_eq "invalid config: exit status 78" 78 "$st"
if grep -q "$bad:3:" <<<"$out"; then pass "invalid config: error names file and line"; else
	fail "invalid config: error names file and line" "$out"; fi
st=0
"$PVCT_BUILD/pvcnoded" -c "$(node_dir hv1)/pvcnoded.yaml" --check-config >/dev/null || st=$?
check_eq "--check-config on a valid file" 0 "$st"

finish
