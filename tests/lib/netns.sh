# shellcheck shell=bash disable=SC2034  # NETNS_* are used by the sourcing tests
# tests/lib/netns.sh: network namespaces for multi-node tests (root only).
#
#   . tests/lib/netns.sh              (sources common.sh if needed)
#
#   netns_setup N          creates (after removing leftovers of a crashed run):
#       root namespace:  bridge pvct-br0, 10.200.0.250/24 ($NETNS_HOST_ADDR):
#                        the ZooKeeper side (start ZooKeeper with
#                        ZK_ADDR=$NETNS_HOST_ADDR after netns_setup)
#       pvct-n1..pvct-nN: "ens4" (veth, host end pvct-nIh on the bridge), up,
#                        NO address: the node's cluster device; the daemon's
#                        net-router adds its addresses (on brcluster)
#       pvct-obs:        observer, "eth0" 10.200.0.200/24 ($NETNS_OBS_ADDR)
#       lo is up in every namespace. Registers netns_teardown with on_exit.
#   netns_teardown         kills processes left inside the namespaces, deletes
#                          every pvct-* namespace and link; idempotent. From a
#                          shell that did not run netns_setup it removes
#                          leftovers only if no live test holds the lock.
#   netns_name I           prints pvct-nI
#   netns_give_addr NS ADDR/PFX [DEV]   add an address inside NS (DEV defaults
#                          to ens4, eth0 in pvct-obs), for tests that run
#                          without the daemon's networking
#   netns_exec NS CMD...   run CMD inside NS (ip netns exec)
#
# Only one test at a time can own the pvct-* names: netns_setup takes the lock
# /run/lock/pvct-netns.lock (held by a small helper process until
# netns_teardown or the death of the test shell), so concurrent runs wait for
# each other instead of deleting each other's namespaces.
#
# TRAFFIC RULE: tests may only send packets to loopback, to 10.200.0.0/24
# addresses inside these namespaces/this bridge, or to other addresses that
# they themselves configured inside the pvct-* namespaces. Never to the host's
# real networks.

if [[ -n ${PVCT_NETNS_LOADED:-} ]]; then
	return 0
fi
PVCT_NETNS_LOADED=1
# shellcheck source=tests/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NETNS_BR=pvct-br0
NETNS_HOST_ADDR=10.200.0.250
NETNS_OBS=pvct-obs
NETNS_OBS_ADDR=10.200.0.200
NETNS_PFX=24
NETNS_N=0
PVCT_NETNS_LOCK=/run/lock/pvct-netns.lock
PVCT_NETNS_LOCK_PID=
PVCT_NETNS_REGISTERED=

netns_name() {
	printf 'pvct-n%s\n' "$1"
}

# Start the lock holder and wait until it owns the lock.
netns_lock() {
	local ready=$PVCT_WORK/netns.locked owner=$$ i
	if [[ -n $PVCT_NETNS_LOCK_PID ]] && kill -0 "$PVCT_NETNS_LOCK_PID" 2>/dev/null; then
		return 0
	fi
	mkdir -p "$(dirname "$PVCT_NETNS_LOCK")"
	rm -f "$ready"
	rm -f "$PVCT_WORK/netns.fifo"
	mkfifo "$PVCT_WORK/netns.fifo"
	(
		trap '' HUP INT TERM
		exec 9>>"$PVCT_NETNS_LOCK"
		flock 9
		: >"$ready"
		# Poll with the read builtin on a FIFO nobody writes to: no child
		# process that could keep the lock (or be left over).
		exec 8<>"$PVCT_WORK/netns.fifo"
		while kill -0 "$owner" 2>/dev/null && [[ -e $ready ]]; do
			read -r -t 0.2 -u 8 _ || true
		done
	) </dev/null >/dev/null 2>&1 &
	PVCT_NETNS_LOCK_PID=$!
	disown "$PVCT_NETNS_LOCK_PID"
	for ((i = 0; ; i++)); do
		[[ -e $ready ]] && return 0
		if ((i == 20)); then
			echo "netns: waiting for another test run to release $PVCT_NETNS_LOCK" >&2
		fi
		if ((i > 12000)); then
			echo "netns: could not get $PVCT_NETNS_LOCK in 600 s" >&2
			return 1
		fi
		sleep 0.05
	done
}

netns_unlock() {
	rm -f "$PVCT_WORK/netns.locked"
	if [[ -n $PVCT_NETNS_LOCK_PID ]]; then
		kill -KILL "$PVCT_NETNS_LOCK_PID" 2>/dev/null || true
		PVCT_NETNS_LOCK_PID=
	fi
}

# Remove every pvct-* namespace (killing what still runs inside) and link.
netns_remove_all() {
	netns_remove_prefix pvct-
}

# Remove every namespace and link whose name starts with PREFIX (tests/lib/qemu.sh
# uses pvcq-), killing what still runs inside the namespaces.
netns_remove_prefix() {
	local prefix=${1:?usage: netns_remove_prefix PREFIX} ns link pids
	while read -r ns _; do
		[[ $ns == "$prefix"* ]] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		if [[ -n $pids ]]; then
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null || true
		fi
		ip netns del "$ns" 2>/dev/null || true
	done < <(ip netns list 2>/dev/null)
	while read -r link; do
		ip link del "$link" 2>/dev/null || true
	done < <(ip -o link show 2>/dev/null | sed -n "s/^[0-9]*: \\($prefix[^:@]*\\)[:@].*/\\1/p")
}

netns_setup() {
	local n=${1:?usage: netns_setup N} i ns
	if ((EUID != 0)); then
		echo "netns: needs root" >&2
		return 1
	fi
	netns_lock
	if [[ -z $PVCT_NETNS_REGISTERED ]]; then
		on_exit netns_teardown
		PVCT_NETNS_REGISTERED=1
	fi
	netns_remove_all
	NETNS_N=$n
	ip link add "$NETNS_BR" type bridge
	ip link set "$NETNS_BR" type bridge stp_state 0 forward_delay 0
	ip addr add "$NETNS_HOST_ADDR/$NETNS_PFX" dev "$NETNS_BR"
	ip link set "$NETNS_BR" up
	for ((i = 1; i <= n; i++)); do
		ns=$(netns_name "$i")
		netns_add_ns "$ns" "${ns}h" ens4
	done
	netns_add_ns "$NETNS_OBS" pvct-obsh eth0
	ip -n "$NETNS_OBS" addr add "$NETNS_OBS_ADDR/$NETNS_PFX" dev eth0
}

# netns_add_ns NS HOSTDEV INNERDEV
netns_add_ns() {
	local ns=$1 host=$2 inner=$3
	ip netns add "$ns"
	ip link add "$host" type veth peer name "$inner" netns "$ns"
	ip link set "$host" master "$NETNS_BR" up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "$inner" up
}

netns_teardown() {
	if [[ -n $PVCT_NETNS_LOCK_PID ]]; then
		netns_remove_all
		netns_unlock
	elif ((EUID == 0)); then
		# Not ours (e.g. called from a fresh shell to clean up after a killed
		# run): remove leftovers only if no live test holds the lock.
		(
			exec 9>>"$PVCT_NETNS_LOCK"
			if flock -n 9; then
				netns_remove_all
			fi
		)
	fi
	NETNS_N=0
}

netns_give_addr() {
	local ns=$1 addr=$2 dev=${3:-}
	if [[ -z $dev ]]; then
		if [[ $ns == "$NETNS_OBS" ]]; then dev=eth0; else dev=ens4; fi
	fi
	ip -n "$ns" addr add "$addr" dev "$dev"
}

netns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}
