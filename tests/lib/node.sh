# shellcheck shell=bash
# tests/lib/node.sh: write configs for and run pvcnoded test nodes.
#
#   . tests/lib/common.sh; . tests/lib/node.sh
#
#   node_config NAME            write $PVCT_WORK/NAME/pvcnoded.yaml from the variables
#                               below (set them before the call; defaults in brackets):
#     NODE_ZK            ZooKeeper connect string (required)
#     NODE_COORDINATORS  "hv1 hv2 hv3" [hv1 hv2 hv3]
#     NODE_NETWORKING    true|false [false]
#     NODE_HYPERVISOR    true|false [false]
#     NODE_API           enable_api true|false [false] (api-units on coordinators)
#     NODE_STORAGE       enable_storage true|false [false] (starts the ceph worker)
#     NODE_LOG_KEEPALIVES log_keepalives and log_keepalive_storage_details [false]
#     NODE_LIBVIRT_URI   [test:///default]
#     NODE_SESSION_MS    [4000]
#     NODE_KEEPALIVE     keepalive_interval s [1]
#     NODE_FENCE         fence_intervals [6]
#     NODE_EXTRA_SYSTEM  YAML text inserted under pvc.system (indented 4 spaces)
#     NODE_SUPERVISOR_EXTRA YAML text inserted under pvc.system.supervisor (indented 6)
#     NODE_DNS_DB        the dns database's flow map body [host: localhost, port: 5432, ...]
#     NODE_LOG_DIR       log_directory [$PVCT_WORK/NAME/log] (stdout.log stays in
#                        $PVCT_WORK/NAME/log whatever this says)
#     NODE_FENCE_OK      successful_fence action [migrate]
#     NODE_FENCE_FAIL    failed_fence action [None]
#     NODE_SUICIDE       suicide_intervals [0]
#     NODE_META_DB_HOST / NODE_META_DB_PORT  the metadata database [localhost, 5432]
#     NODE_CLUSTER_NET / NODE_CLUSTER_FLOAT / NODE_UPSTREAM_NET / NODE_UPSTREAM_FLOAT /
#     NODE_UPSTREAM_GW / NODE_STORAGE_NET / NODE_STORAGE_FLOAT / NODE_DEV
#                        networking values [10.200.0.0/24, 10.200.0.254/24,
#                        10.201.0.0/24, 10.201.0.254/24, "", 10.202.0.0/24,
#                        10.202.0.254/24, ens4]
#   The workers run as the test users of pvct_users (tests/lib/common.sh), created
#   here when run as root.
#   The file is written mode 0600 (owner root when run as root): pvcnoded refuses a
#   configuration that group or others may read.
#   node_start NAME [NETNS]     start build/pvcnoded -c that config (inside NETNS if
#                               given) in the background; log in $PVCT_WORK/NAME/log
#   node_pid NAME               the supervisor's PID
#   node_worker NAME ROLE       PID of that worker of NAME (comm = role name)
#   node_stop NAME [TIMEOUT_S]  SIGTERM, wait (default 20 s), then SIGKILL the group
#   node_kill NAME              SIGKILL the node's whole process group
#   node_wait_ready NAME [TIMEOUT_S]  until all four workers are running
#   node_ctl NAME ARGS...       build/pvcctl against this node's control socket

: "${PVCT_WORK:?source tests/lib/common.sh first}"

node_dir() {
	printf '%s/%s\n' "$PVCT_WORK" "$1"
}

node_config() {
	local name=$1 d coords="" c users="" pair
	d=$(node_dir "$name")
	# one system user per role, as in production (tests/lib/common.sh)
	if ((EUID == 0)); then pvct_users; fi
	for pair in $PVCT_ROLE_USERS; do
		users+="${users:+, }${pair%%:*}: ${pair#*:}"
	done
	mkdir -p "$d/run" "$d/log" "$d/console"
	chmod 0755 "$d" "$d/run" "$d/log" "$d/console"
	for c in ${NODE_COORDINATORS:-hv1 hv2 hv3}; do
		coords+="${coords:+, }$c"
	done
	# created 0600 (umask) and chmod'ed for a file left by an earlier call
	(umask 077 && cat >"$d/pvcnoded.yaml") <<EOF
pvc:
  node: $name
  functions:
    enable_hypervisor: ${NODE_HYPERVISOR:-false}
    enable_networking: ${NODE_NETWORKING:-false}
    enable_storage: ${NODE_STORAGE:-false}
    enable_api: ${NODE_API:-false}
  cluster:
    coordinators: [$coords]
    zookeeper:
      hosts: "${NODE_ZK:?NODE_ZK must name the ZooKeeper servers}"
      session_timeout_ms: ${NODE_SESSION_MS:-4000}
    networks:
      upstream:
        domain: upstream.test
        network: ${NODE_UPSTREAM_NET:-10.201.0.0/24}
        floating_ip: ${NODE_UPSTREAM_FLOAT:-10.201.0.254/24}
        gateway: "${NODE_UPSTREAM_GW:-}"
      cluster:
        domain: cluster.test
        network: ${NODE_CLUSTER_NET:-10.200.0.0/24}
        floating_ip: ${NODE_CLUSTER_FLOAT:-10.200.0.254/24}
      storage:
        domain: storage.test
        network: ${NODE_STORAGE_NET:-10.202.0.0/24}
        floating_ip: ${NODE_STORAGE_FLOAT:-10.202.0.254/24}
  coordinator:
    dns:
      database: {${NODE_DNS_DB:-host: localhost, port: 5432, name: pvcdns, user: pvcdns, pass: pvcdns}}
    metadata:
      database: {host: ${NODE_META_DB_HOST:-localhost}, port: ${NODE_META_DB_PORT:-5432}, name: pvcprov, user: pvcprov, pass: pvcprov}
  system:
    intervals:
      keepalive_interval: ${NODE_KEEPALIVE:-1}
      fence_intervals: ${NODE_FENCE:-6}
      suicide_intervals: ${NODE_SUICIDE:-0}
    fencing:
      actions:
        successful_fence: ${NODE_FENCE_OK:-migrate}
        failed_fence: ${NODE_FENCE_FAIL:-None}
      ipmi:
        host: $name-lom.test
        user: admin
        pass: TopSecretIpmiPassw0rd
    migration:
      target_selector: mem
    libvirt:
      uri: "${NODE_LIBVIRT_URI:-test:///default}"
      shutdown_timeout: 5
    supervisor:
      users: {$users}
      group: $PVCT_GROUP
${NODE_SUPERVISOR_EXTRA:-}
${NODE_EXTRA_SYSTEM:-}
    configuration:
      directories:
        dynamic_directory: $d/run
        log_directory: ${NODE_LOG_DIR:-$d/log}
        console_log_directory: $d/console
      logging:
        file_logging: false
        stdout_logging: true
        log_colours: false
        log_dates: true
        log_keepalives: ${NODE_LOG_KEEPALIVES:-false}
        log_keepalive_cluster_details: false
        log_keepalive_storage_details: ${NODE_LOG_KEEPALIVES:-false}
        console_log_lines: 100
      networking:
        bridge_device: ${NODE_DEV:-ens4}
        upstream: {device: ${NODE_DEV:-ens4}, mtu: 1500, address: by-id}
        cluster: {device: ${NODE_DEV:-ens4}, mtu: 1500, address: by-id}
        storage: {device: ${NODE_DEV:-ens4}, mtu: 1500, address: by-id}
EOF
	chmod 0600 "$d/pvcnoded.yaml"
	printf '%s\n' "$d/pvcnoded.yaml"
}

node_start() {
	local name=$1 ns=${2:-} d bin=${PVCT_DAEMON:-$PVCT_BUILD/pvcnoded}
	d=$(node_dir "$name")
	if [[ -n $ns ]]; then
		setsid ip netns exec "$ns" "$bin" -c "$d/pvcnoded.yaml" >>"$d/log/stdout.log" 2>&1 &
	else
		setsid "$bin" -c "$d/pvcnoded.yaml" >>"$d/log/stdout.log" 2>&1 &
	fi
	echo $! >"$d/pid"
	on_exit "node_kill $name"
}

node_pid() {
	local d pid
	d=$(node_dir "$1")
	pid=$(cat "$d/pid" 2>/dev/null) || return 1
	# `ip netns exec` execs the daemon, so the PID is the supervisor's
	printf '%s\n' "$pid"
}

node_worker() {
	local root
	root=$(node_pid "$1") || return 1
	pids_by_comm "$2" "$root" | head -n1
}

node_wait_ready() {
	local name=$1 timeout=${2:-15} r
	for r in zk-election vm-manager net-router flush; do
		wait_for "$timeout" node_has_worker "$name" "$r" || return 1
	done
	wait_for "$timeout" grep -q "all workers running" "$(node_dir "$name")/log/stdout.log"
}

node_has_worker() {
	[[ -n $(node_worker "$1" "$2") ]]
}

node_stop() {
	local name=$1 timeout=${2:-20} pid
	pid=$(node_pid "$name") || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	if ! wait_for "$timeout" node_gone "$pid"; then
		kill -KILL -- "-$pid" 2>/dev/null || true
		return 1
	fi
	return 0
}

node_gone() {
	! kill -0 "$1" 2>/dev/null
}

node_kill() {
	local pid
	pid=$(node_pid "$1") || return 0
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

node_ctl() {
	local name=$1
	shift
	"$PVCT_BUILD/pvcctl" -s "$(node_dir "$name")/run/pvcnoded.sock" "$@"
}

node_log() {
	printf '%s\n' "$(node_dir "$1")/log/stdout.log"
}
