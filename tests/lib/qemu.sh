# shellcheck shell=bash disable=SC2034  # QEMU_* are used by the sourcing scripts
# tests/lib/qemu.sh: two real hypervisor nodes (libvirtd + QEMU driver, TCG) on this
# one host, for tests/qemu/ and bench/migrate.sh (root only).
#
#   . tests/lib/qemu.sh               (sources common.sh if needed)
#
#   qemu_setup             creates (after removing leftovers of a crashed run, under
#                          the lock /run/lock/pvcq.lock):
#       root namespace: bridge pvcq-br0 with $QEMU_HOST_ADDR (10.210.0.250/24), the
#                       ZooKeeper side;
#       pvcq-1, pvcq-2: network namespaces, eth0 (veth, host end pvcq-1h/pvcq-2h on
#                       the bridge) with 10.210.0.1 / 10.210.0.2;
#       in each, a root libvirtd (QEMU driver) with private /etc/libvirt, /run/libvirt,
#       /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt, /etc/hosts, /etc/passwd
#       and /etc/group (bind mounts in the mount namespace `ip netns exec` gives it),
#       its own host_uuid, TCP listener on its address (no auth: test only) and its own
#       migration port range. Registers qemu_teardown with on_exit.
#   qemu_teardown          destroys every domain, stops the libvirtds (and so their
#                          QEMUs), deletes the pvcq-* namespaces and links we made
#   qemu_node_name I       hv1 / hv2 (the pvcnoded node names; resolved by the
#                          libvirtds through their private /etc/hosts)
#   qemu_ns I              pvcq-1 / pvcq-2
#   qemu_addr I            10.210.0.I
#   qemu_uri I             qemu+unix:///system?socket=... (node I's libvirtd, local)
#   qemu_console_dir I     directory (root namespace) where node I's libvirtd writes
#                          the serial logs; inside that libvirtd it is
#                          $QEMU_CONSOLE_PATH (the same path on both nodes, so one
#                          domain XML serves both ends of a migration)
#   vsh I ARGS...          virsh against node I
#   qemu_domain_xml NAME UUID MEM_MIB [CMDLINE_EXTRA]   a guest's XML (kernel +
#                          initramfs of tests/qemu/guest.sh, serial pty with a log)
#   qemu_counter I NAME    last "pvcq-count N" of NAME's serial log on node I (N)
#
# Names: everything is pvcq-* (never pvct-*: tests/run-all.sh and netns.sh own those
# and remove them). The guest comes from tests/qemu/guest.sh ($QEMU_GUEST).

if [[ -n ${PVCT_QEMU_LOADED:-} ]]; then
	return 0
fi
PVCT_QEMU_LOADED=1
# shellcheck source=tests/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=tests/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

QEMU_BR=pvcq-br0
QEMU_NET=10.210.0
QEMU_HOST_ADDR=$QEMU_NET.250
QEMU_LOCK=/run/lock/pvcq.lock
QEMU_LOCK_FD=
QEMU_CONSOLE_PATH=/var/log/libvirt/pvcq-console
QEMU_GUEST=${QEMU_GUEST:-/var/cache/pvcnoded-ci/guest}
QEMU_N=0
# libvirtd's QEMU capabilities cache, kept across runs: probing the emulator takes
# ~4 s per libvirtd (TCG) and its result depends only on the binaries (libvirt
# checks their timestamps itself)
QEMU_CAPS_CACHE=${QEMU_CAPS_CACHE:-/var/cache/pvcnoded-ci/libvirt-cache}

qemu_node_name() { printf 'hv%s\n' "$1"; }
qemu_ns() { printf 'pvcq-%s\n' "$1"; }
qemu_addr() { printf '%s.%s\n' "$QEMU_NET" "$1"; }
qemu_dir() { printf '%s/lv%s\n' "$PVCT_WORK" "$1"; }
qemu_uri() { printf 'qemu+unix:///system?socket=%s/run/libvirt-sock\n' "$(qemu_dir "$1")"; }
qemu_console_dir() { printf '%s/log/pvcq-console\n' "$(qemu_dir "$1")"; }

vsh() {
	local i=$1
	shift
	virsh -q -c "$(qemu_uri "$i")" "$@"
}

# Remove pvcq-* namespaces (killing what runs inside: libvirtd, QEMU) and links.
qemu_remove_all() {
	netns_remove_prefix pvcq-
}

qemu_setup() {
	local i
	if ((EUID != 0)); then
		echo "qemu: needs root" >&2
		return 1
	fi
	# One run at a time owns the pvcq-* names; the lock dies with this shell.
	mkdir -p "$(dirname "$QEMU_LOCK")"
	exec {QEMU_LOCK_FD}>>"$QEMU_LOCK"
	if ! flock -w 600 "$QEMU_LOCK_FD"; then
		echo "qemu: could not get $QEMU_LOCK in 600 s" >&2
		return 1
	fi
	on_exit qemu_teardown
	qemu_remove_all
	# The workers (test users) reach the libvirt sockets below the work dir.
	chmod 0755 "$PVCT_WORK"
	ip link add "$QEMU_BR" type bridge
	ip link set "$QEMU_BR" type bridge stp_state 0 forward_delay 0
	ip addr add "$QEMU_HOST_ADDR/24" dev "$QEMU_BR"
	ip link set "$QEMU_BR" up
	for i in 1 2; do
		ip netns add "$(qemu_ns "$i")"
		ip link add "$(qemu_ns "$i")h" type veth peer name eth0 netns "$(qemu_ns "$i")"
		ip link set "$(qemu_ns "$i")h" master "$QEMU_BR" up
		ip -n "$(qemu_ns "$i")" link set lo up
		ip -n "$(qemu_ns "$i")" addr add "$(qemu_addr "$i")/24" dev eth0
		ip -n "$(qemu_ns "$i")" link set eth0 up
	done
	QEMU_N=2
	# the host side of the mounts libvirtd's private directories go on
	mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
	for i in 1 2; do
		qemu_libvirtd_start "$i" || return 1
	done
	for i in 1 2; do
		wait_for 20 vsh "$i" version >/dev/null 2>&1 || {
			echo "qemu: libvirtd $i does not answer:" >&2
			tail -n 5 "$(qemu_dir "$i")/log/libvirtd.log" >&2 || true
			return 1
		}
	done
}

qemu_libvirtd_start() {
	local i=$1 d addr other
	d=$(qemu_dir "$i")
	addr=$(qemu_addr "$i")
	mkdir -p "$d/etc" "$d/run" "$d/lib" "$d/log/pvcq-console" "$QEMU_CAPS_CACHE/$i"
	ln -sfn "$QEMU_CAPS_CACHE/$i" "$d/cache"
	# root libvirtd resolves its built-in default user libvirt-qemu even when
	# qemu.conf says root: give it one in the private passwd/group only
	cp /etc/passwd "$d/passwd"
	cp /etc/group "$d/group"
	getent passwd libvirt-qemu >/dev/null ||
		echo "libvirt-qemu:x:64055:64055::/nonexistent:/usr/sbin/nologin" >>"$d/passwd"
	getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>"$d/group"
	{
		echo "127.0.0.1 localhost"
		for other in 1 2; do
			echo "$(qemu_addr "$other") $(qemu_node_name "$other")"
		done
	} >"$d/hosts"
	cat >"$d/etc/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "$addr"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
# the vm-manager worker (a test user in group $PVCT_GROUP) connects
unix_sock_group = "$PVCT_GROUP"
unix_sock_rw_perms = "0770"
unix_sock_ro_perms = "0770"
host_uuid = "00000000-0000-4000-8000-00000000000$i"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
	cat >"$d/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
# no virtlogd here
stdio_handler = "file"
cgroup_controllers = [ ]
migration_address = "$addr"
migration_port_min = $((49152 + i * 100))
migration_port_max = $((49152 + i * 100 + 50))
EOF
	# `ip netns exec` gives the shell its own mount namespace (mounts stay there)
	setsid ip netns exec "$(qemu_ns "$i")" /bin/sh -c '
		set -e
		d=$1
		mount --bind "$d/etc" /etc/libvirt
		mount --bind "$d/run" /run/libvirt
		mount --bind "$d/lib" /var/lib/libvirt
		mount --bind "$d/log" /var/log/libvirt
		mount --bind "$(readlink "$d/cache")" /var/cache/libvirt
		mount --bind "$d/hosts" /etc/hosts
		mount --bind "$d/passwd" /etc/passwd
		mount --bind "$d/group" /etc/group
		exec libvirtd --listen --pid-file /run/libvirt/libvirtd.pid
	' sh "$d" </dev/null >>"$d/stdout.log" 2>&1 &
	echo $! >"$d/pid"
}

qemu_teardown() {
	local i d pid dom
	for ((i = 1; i <= QEMU_N; i++)); do
		d=$(qemu_dir "$i")
		for dom in $(vsh "$i" list --uuid 2>/dev/null); do
			vsh "$i" destroy "$dom" >/dev/null 2>&1 || true
		done
		pid=$(cat "$d/pid" 2>/dev/null) || continue
		kill -TERM "$pid" 2>/dev/null || true
	done
	for ((i = 1; i <= QEMU_N; i++)); do
		pid=$(cat "$(qemu_dir "$i")/pid" 2>/dev/null) || continue
		wait_for 5 node_gone_pid "$pid" || kill -KILL "$pid" 2>/dev/null || true
	done
	qemu_remove_all
	QEMU_N=0
	if [[ -n $QEMU_LOCK_FD ]]; then
		exec {QEMU_LOCK_FD}>&-
		QEMU_LOCK_FD=
	fi
}

node_gone_pid() {
	! kill -0 "$1" 2>/dev/null
}

qemu_domain_xml() {
	local name=$1 uuid=$2 mem=$3 extra=${4:-}
	cat <<EOF
<domain type='qemu'>
  <name>$name</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>$mem</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$QEMU_GUEST/vmlinuz</kernel>
    <initrd>$QEMU_GUEST/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 $extra</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'>
      <log file='$QEMU_CONSOLE_PATH/$name.log' append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

qemu_counter() {
	local f
	f=$(qemu_console_dir "$1")/$2.log
	[[ -f $f ]] || return 1
	tail -c 4096 "$f" | tr -d '\r' | sed -n 's/^pvcq-count \([0-9][0-9]*\)$/\1/p' | tail -n1
}

# qemu_node_config NAME CONSOLE_DIR: adapt the file node_config (tests/lib/node.sh)
# wrote for NAME to a real hypervisor: migration URIs through the libvirtds' private
# /etc/hosts (peer-to-peer: the source libvirtd connects, not vm-manager), the shortest
# migration_timeout (10 s), and the serial logs of this node's libvirtd.
qemu_node_config() {
	local name=$1 console=$2 f
	f=$(node_dir "$name")/pvcnoded.yaml
	sed -i -e "s|^\(      shutdown_timeout: .*\)$|\1\n      migration_uri: \"qemu+tcp://{node}/system\"\n      migration_dest_uri: \"tcp://{node}\"\n      migration_timeout: ${QEMU_MIGRATION_TIMEOUT:-10}|" \
		-e "s|^\(        console_log_directory: \).*$|\1$console|" "$f"
	grep -q "migration_uri" "$f" && grep -q "console_log_directory: $console" "$f"
}
