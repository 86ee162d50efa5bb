#!/bin/bash
# Benchmark of net-router's takeover and relinquish (issue #4): inside a private
# network namespace, 200 runs with 3 floating IPs, the metadata address and 10
# gateway addresses (7 IPv4, 3 IPv6); prints p50/p99/max of
#   takeover:   instruction received -> every address present + first announcement sent
#   relinquish: instruction received -> every address removed
# The reference spends over 1 s in sleeps for this step alone. Needs root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${PVCT_BUILD:-$root/build}/bench/net_router
runs=${1:-200}
ns=pvcbench-net$$

if ((EUID != 0)); then
	echo "net_router bench: needs root (network namespace)"
	exit 0
fi
[[ -x $bin ]] || make -s -C "$root" build/bench/net_router
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
# a veth pair stands in for the NIC (the dummy driver may be missing)
ip -n "$ns" link add ens4 type veth peer name ens4p
ip -n "$ns" link set ens4p up
echo "normal scheduling (includes preemption by whatever else runs on the host):"
ip netns exec "$ns" "$bin" bench "$runs"
# The same under SCHED_FIFO: the cost of the work itself, without preemption.
if command -v chrt >/dev/null && chrt -f 50 true 2>/dev/null; then
	echo "SCHED_FIFO 50:"
	ip netns exec "$ns" chrt -f 50 "$bin" bench "$runs"
fi
