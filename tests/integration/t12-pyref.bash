# shellcheck shell=bash
# tests/integration/t12-pyref.bash (not *.sh: run-all.sh runs every t*.sh): run the reference pvcnoded (Python) as node hv2
# inside network namespace $NS for t12. Sourced after common.sh/netns.sh; needs
# SRC (the reference's node-daemon dir), NETNS_HOST_ADDR (ZooKeeper at :2181 and
# the fake PostgreSQL at :5432), NS.
#
#   py_prepare      stubs, /etc/hosts, config under $PVCT_WORK/py
#   py_start        start it (own UTS + mount namespace: host name hv2, stubs
#                   overlaid on /usr/bin and /usr/sbin, stub dir first in PATH)
#   py_stop_term    SIGTERM as systemd would (killed after 40 s if still running)
#   py_gone / py_running (daemonstate `run`)

PY=$PVCT_WORK/py

py_stub() {
	# a stub logs its call and succeeds (arping: the reference dies on a missing one)
	printf '#!/bin/sh\necho "$(date +%%s.%%N) %s $*" >> %s/stubs.log\nexit 0\n' "$2" "$PY" >"$1/$2"
	chmod 0755 "$1/$2"
}

py_prepare() {
	local b
	# the log layout the reference creates itself only on a first start
	mkdir -p "$PY/path" "$PY/usr-bin" "$PY/usr-sbin" "$PY/run" "$PY/lib" "$PY/log/dnsmasq" \
		"$PY/log/pdns" "$PY/log/nft" "$PY/log/console"
	ln -sfn "$(realpath "$SRC/../daemon-common")" "$PY/lib/daemon_lib"
	for b in systemctl patronictl killall arping; do py_stub "$PY/path" "$b"; done
	py_stub "$PY/usr-bin" ipmitool
	py_stub "$PY/usr-sbin" pdns_server
	printf '127.0.0.1 localhost\n%s hv1 hv2\n' "$NETNS_HOST_ADDR" >"$PY/hosts"
	cat >"$PY/pvcnoded.yaml" <<YAML
---
pvc:
  node: hv2
  debug: False
  functions:
    enable_hypervisor: False
    enable_networking: True
    enable_storage: False
    enable_api: False
  cluster:
    coordinators: [hv1, hv2]
    networks:
      upstream: {domain: upstream.test, network: 10.201.0.0/24, floating_ip: 10.201.0.254/24, gateway: ""}
      cluster: {domain: cluster.test, network: 10.200.0.0/24, floating_ip: 10.200.0.254/24}
      storage: {domain: storage.test, network: 10.202.0.0/24, floating_ip: 10.202.0.254/24}
  coordinator:
    dns:
      database: {host: $NETNS_HOST_ADDR, port: 5432, name: pvcdns, user: pvcdns, pass: pvcdns}
    metadata:
      database: {host: $NETNS_HOST_ADDR, port: 5432, name: pvcprov, user: pvcprov, pass: pvcprov}
  system:
    intervals: {keepalive_interval: 2, fence_intervals: 60, suicide_intervals: 0}
    fencing:
      actions: {successful_fence: migrate, failed_fence: None}
      ipmi: {host: hv2-lom.test, user: admin, pass: TopSecretIpmiPassw0rd}
    migration: {target_selector: mem}
    configuration:
      directories:
        dynamic_directory: "$PY/run"
        log_directory: "$PY/log"
        console_log_directory: "$PY/log/console"
      logging:
        file_logging: False
        stdout_logging: True
        log_colours: True
        log_dates: True
        log_keepalives: True
        log_keepalive_cluster_details: False
        log_keepalive_storage_details: False
        console_log_lines: 100
      networking:
        bridge_device: ens4
        upstream: {device: ens5, mtu: 1500, address: by-id}
        cluster: {device: ens4, mtu: 1500, address: by-id}
        storage: {device: ens4, mtu: 1500, address: by-id}
YAML
}

py_start() {
	# ip netns exec, unshare (no --fork), sh and env all exec: $! is python's PID
	setsid ip netns exec "$NS" unshare --uts --mount sh -c "
		mount --bind '$PY/hosts' /etc/hosts &&
		mount -t overlay t12-bin -o lowerdir='$PY/usr-bin':/usr/bin /usr/bin &&
		mount -t overlay t12-sbin -o lowerdir='$PY/usr-sbin':/usr/sbin /usr/sbin &&
		hostname hv2 && cd '$PY' &&
		exec env -i PATH='$PY/path':/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
			PYTHONUNBUFFERED=true PYTHONDONTWRITEBYTECODE=1 PVCD_CONFIG_FILE='$PY/pvcnoded.yaml' \
			/usr/bin/python3 '$PVCT_ROOT/tests/integration/t12-pyref-launch.py' '$SRC' '$PY/lib'" \
		>>"$PY/stdout.log" 2>&1 &
	PY_PID=$!
	on_exit "kill -9 $PY_PID 2>/dev/null"
}

py_gone() { ! kill -0 "$PY_PID" 2>/dev/null; }
py_running() { [[ $(zkcli get /nodes/hv2/daemonstate 2>/dev/null) == run ]]; }

py_stop_term() {
	kill -TERM "$PY_PID" 2>/dev/null || true
	(
		for _ in $(seq 400); do kill -0 "$PY_PID" 2>/dev/null || exit 0; sleep 0.1; done
		kill -9 "$PY_PID" 2>/dev/null
	) &
}
