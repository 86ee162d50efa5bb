# shellcheck shell=bash
# tests/faults/lib.sh: the cluster every fault script (tests/faults/f*.sh) runs on.
#
#   fl_setup          3-server ZooKeeper ensemble on the test bridge (10.200.0.250),
#                     three coordinators hv1..hv3 with hypervisor and networking on,
#                     each in its namespace pvct-n1..3 and each with its OWN private,
#                     unprivileged libvirtd serving the test driver; $FL_NVM VMs
#                     (default 6) defined with state start, two per node; every node
#                     made ready (new nodes register as flushed). Ends healthy.
#   fl_healthy CASE [TIMEOUT_S]   wait until every invariant holds at once
#                     (tests/faults/fcheck.py healthy) and report one PASS/FAIL per
#                     category: daemons, routers, vms, addr (see fcheck.py)
#   fl_case_begin CASE / fl_case_end CASE   observer (election.sh, routerstates
#                     every 20 ms) and the VM/address sampler (fcheck.py watch)
#                     around a case; fl_case_end reports "never two primaries",
#                     "no VM active on two nodes", "floating IP never on two nodes"
#                     and then calls fl_healthy
#   fl_ns NODE        its namespace;  fl_uri NODE  its libvirt URI
#   fl_ctl NODE ARGS  pvcctl against NODE;  fl_primary  the primary's name (routerstate)
#   fl_worker_pids NODE   "role=pid ..." of every worker of NODE
#
# Why private libvirtds and not the in-process test driver: the test driver's VMs
# live in the vm-manager process, so every kill -9 of vm-manager would "lose" and
# restart that node's VMs; with a libvirtd per node the VMs outlive the worker and
# "no VM lost or running twice" can be checked against libvirt itself (virsh).
# One libvirtd per node (not a shared one): a shared test driver would show every
# node the others' VMs as running locally.
#
# Settings the cases need (written into every node's config):
#   supervisor: crashloop_max 1000 in 60 s, healthy_reset_s 1, restart_backoff_max_ms
#     100 (50 kill -9 per worker must not escalate; restarts stay fast),
#     heartbeat_interval_ms 500 and hang_timeout_ms 3000 (SIGSTOP case: killed and
#     restarted after 3 s; the default heartbeat of 1500 ms would refuse 3000)
#   fencing harmless: fence_intervals 60 (no fault here lasts that long),
#     successful_fence and failed_fence None, suicide_intervals 0
#   session timeout 4000 ms, keepalive 1 s, flush vm_timeout 30 s

: "${PVCT_WORK:?source tests/lib/common.sh first}"
# shellcheck source=tests/lib/netns.sh
. "$PVCT_ROOT/tests/lib/netns.sh"
# shellcheck source=tests/lib/zk.sh
. "$PVCT_ROOT/tests/lib/zk.sh"
# shellcheck source=tests/lib/node.sh
. "$PVCT_ROOT/tests/lib/node.sh"

FL_NODES="hv1 hv2 hv3"
FL_NVM=${FL_NVM:-6}
FL_FLOAT=10.200.0.254
FL_WORKERS="zk-election vm-manager net-router flush fence"
FL_CHECK=$PVCT_ROOT/tests/faults/fcheck.py
FL_WATCH_PID=
T_MS=4000

fl_ns() { netns_name "${1#hv}"; }
fl_uri() { printf 'test+unix:///default?socket=%s/lv-%s/sock/libvirt-sock\n' "$PVCT_WORK" "$1"; }
fl_vs() { local n=$1; shift; virsh -c "$(fl_uri "$n")" "$@" 2>/dev/null; }
fl_ctl() { local n=$1; shift; "$PVCT_BUILD/pvcctl" -s "$(node_dir "$n")/run/pvcnoded.sock" "$@"; }
fl_uuid() { printf '%08d-0000-4000-8000-%012d\n' "$1" "$1"; }
fl_primary() { local n; for n in $FL_NODES; do if [[ $(rs "$n") == primary ]]; then echo "$n"; fi; done; }

fl_check_args() {
	local n a=(--zk "$ZK_HOSTS" --work "$PVCT_WORK" --pvcctl "$PVCT_BUILD/pvcctl" --float "$FL_FLOAT"
		--workers "${FL_WORKERS// /,}")
	for n in $FL_NODES; do a+=(--node "$n|$(fl_uri "$n")|$(fl_ns "$n")"); done
	printf '%s\n' "${a[@]}"
}

# A private libvirtd for NODE, unprivileged (as root it would want the system setup).
fl_libvirtd() {
	local n=$1 L=$PVCT_WORK/lv-$1 pid
	mkdir -p "$L/home" "$L/run" "$L/sock"
	cat >"$L/libvirtd.conf" <<EOF
unix_sock_dir = "$L/sock"
unix_sock_rw_perms = "0777"
unix_sock_ro_perms = "0777"
auth_unix_rw = "none"
auth_unix_ro = "none"
EOF
	chown -R nobody:nogroup "$L"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -i PVCT_WORK="$PVCT_WORK" HOME="$L/home" XDG_RUNTIME_DIR="$L/run" \
		XDG_CONFIG_HOME="$L/home" PATH=/usr/sbin:/usr/bin \
		libvirtd --config "$L/libvirtd.conf" >>"$L/log" 2>&1 &
	pid=$!
	on_exit "kill $pid"
	if ! wait_for 15 test -S "$L/sock/libvirt-sock"; then
		echo "libvirtd for $n did not start: $(tail -3 "$L/log")" >&2
		return 1
	fi
	# The test driver's state lives only while a client is connected: keep one
	# (stdin opened read-write on a FIFO never reaches EOF).
	mkfifo "$L/keeper"
	virsh -c "$(fl_uri "$n")" <>"$L/keeper" >/dev/null 2>&1 &
	on_exit "kill $!"
	wait_for 10 fl_vs "$n" list >/dev/null
}

fl_setup() {
	local n i u pids=()
	require_root
	[[ -x ${PVCT_DAEMON:-$PVCT_BUILD/pvcnoded} ]] || skip_all "pvcnoded not built (make)"
	command -v libvirtd >/dev/null || skip_all "libvirtd not installed (libvirt-daemon)"
	command -v virsh >/dev/null || skip_all "virsh not installed (libvirt-clients)"
	getent passwd nobody >/dev/null || skip_all "no user nobody"
	chmod 0755 "$PVCT_WORK"
	netns_setup 3
	ZK_ADDR=$NETNS_HOST_ADDR
	zk_start_ensemble
	ZK_HOSTS=$ZK_ENS_HOSTS
	export ZK_HOSTS
	zkcli init-cluster >/dev/null
	for n in $FL_NODES; do fl_libvirtd "$n"; done
	for n in $FL_NODES; do
		NODE_ZK=$ZK_HOSTS NODE_SESSION_MS=$T_MS NODE_HYPERVISOR=true NODE_NETWORKING=true \
			NODE_COORDINATORS=$FL_NODES NODE_KEEPALIVE=1 NODE_FENCE=${FL_FENCE:-60} NODE_FENCE_OK=None \
			NODE_LIBVIRT_URI=$(fl_uri "$n") \
			NODE_SUPERVISOR_EXTRA=$'      crashloop_max: 1000\n      crashloop_window_s: 60\n      healthy_reset_s: 1\n      restart_backoff_max_ms: 100\n      heartbeat_interval_ms: 500\n      hang_timeout_ms: 3000' \
			NODE_EXTRA_SYSTEM=$'    flush:\n      vm_timeout: 30' \
			node_config "$n" >/dev/null
	done
	. "$PVCT_ROOT/tests/lib/election.sh"
	NODES=$FL_NODES
	OBS_NODES=$FL_NODES
	for n in $FL_NODES; do node_start "$n" "$(fl_ns "$n")"; done
	for n in $FL_NODES; do
		# A shared development tree: the binary may be relinked by another `make`
		# while it is exec'ed. Only that is retried (once), nothing else.
		if ! node_wait_ready "$n" 30 && grep -q '^exec of .* failed' "$(node_log "$n")"; then
			sleep 3
			node_start "$n" "$(fl_ns "$n")"
		fi
		if ! node_wait_ready "$n" 30; then
			fail "setup: $n starts" "see $(node_log "$n")"
			finish
		fi
	done
	for n in $FL_NODES; do
		fl_ctl "$n" node ready --wait --timeout 30 "$n" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}" || { fail "setup: nodes ready" "pvcctl node ready failed"; finish; }
	for ((i = 1; i <= FL_NVM; i++)); do
		u=$(fl_uuid "$i")
		printf "<domain type='test'><name>vm%s</name><uuid>%s</uuid><memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n" \
			"$i" "$u" >"$PVCT_WORK/vm$i.xml"
		zkcli define-vm "$u" "vm$i" "hv$(((i - 1) % 3 + 1))" "$PVCT_WORK/vm$i.xml" --state start
	done
	if ! fl_healthy setup 60 quiet; then
		fail "setup: cluster healthy with $FL_NVM VMs" "see above"
		finish
	fi
	pass "setup: 3 nodes, ZooKeeper ensemble, $FL_NVM VMs running, healthy"
}

# fl_healthy CASE [TIMEOUT_S] [quiet]: quiet = only the status (no PASS lines).
fl_healthy() {
	local c=$1 tmo=${2:-60} out rc=0 cat st rest args
	mapfile -t args < <(fl_check_args)
	out=$("$PVCT_PY" "$FL_CHECK" healthy --timeout "$tmo" "${args[@]}") || rc=$?
	if [[ ${3:-} == quiet ]]; then
		((rc == 0)) || printf '%s\n' "$out" >&2
		return $rc
	fi
	while read -r cat st rest; do
		case $cat in
		daemons) cat="every daemon healthy (all workers running, status OK, daemonstate run)" ;;
		routers) cat="exactly one primary, routerstates consistent" ;;
		vms) cat="no VM lost or running twice" ;;
		addr) cat="floating IP on the primary only" ;;
		*) cat="health check: $cat" ;;
		esac
		if [[ $st == ok ]]; then pass "$c: $cat"; else fail "$c: $cat" "$rest"; fi
	done <<<"$out"
	return $rc
}

fl_case_begin() {
	local args
	obs_start "$1"
	mapfile -t args < <(fl_check_args)
	"$PVCT_PY" "$FL_CHECK" watch --out "$PVCT_WORK/watch-$1.log" "${args[@]}" &
	FL_WATCH_PID=$!
	wait_for 10 grep -qs start "$PVCT_WORK/watch-$1.log"
}

fl_case_end() {
	local c=$1 tot
	kill -TERM "$FL_WATCH_PID" 2>/dev/null || true
	wait "$FL_WATCH_PID" 2>/dev/null || true
	FL_WATCH_PID=
	tot=$(grep '^TOTAL' "$PVCT_WORK/watch-$c.log" || true)
	if [[ $tot == *"twice=0 "* ]]; then pass "$c: no VM ever active on two nodes"; else
		fail "$c: no VM ever active on two nodes" "$tot $(grep -m3 TWICE "$PVCT_WORK/watch-$c.log" | tr '\n' ' ')"; fi
	if [[ $tot == *" addr2=0" ]]; then pass "$c: floating IP never on two nodes"; else
		fail "$c: floating IP never on two nodes" "$tot $(grep -m3 ADDR2 "$PVCT_WORK/watch-$c.log" | tr '\n' ' ')"; fi
	fl_healthy "$c" "${2:-60}" || true
	obs_stop "$c"
}
on_exit '[[ -n $FL_WATCH_PID ]] && kill -TERM $FL_WATCH_PID'

fl_worker_pids() {
	local n=$1 r out=""
	for r in $FL_WORKERS; do out+="$r=$(node_worker "$n" "$r") "; done
	printf '%s\n' "${out% }"
}

fl_teardown() {
	local n pids=()
	for n in $FL_NODES; do node_stop "$n" 20 & pids+=($!); done
	wait "${pids[@]}" || true
}
