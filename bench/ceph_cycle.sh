#!/bin/bash
# bench/ceph_cycle.sh (make bench-ceph): one statistics cycle of the ceph worker
# (librados, JSON commands; bench/ceph_cycle.c) against the reference's way, the
# CLI calls of its keepalive run one after the other (ceph health, ceph status,
# rados df, ceph df -f json, rados df -f json, ceph osd dump -f json, ceph osd df -f json,
# ceph osd status), on a single-host Ceph 16 started here (tests/lib/ceph.sh).
# Prints figures, not a test. Needs root and the Ceph packages.
set -euo pipefail
. "$(dirname "$0")/../tests/lib/ceph.sh"
RUNS=${CEPH_BENCH_RUNS:-50}
CLI_RUNS=${CEPH_BENCH_CLI_RUNS:-5}
if ((EUID != 0)) || ! command -v ceph-mon >/dev/null; then
	echo "skipped: needs root and ceph-mon (tools/install-deps.sh --ceph)"
	exit 0
fi
[[ -x $PVCT_BUILD/bench/ceph_cycle ]] || { echo "build/bench/ceph_cycle missing (make bench-ceph)"; exit 1; }
ceph_start >/dev/null 2>&1 || { echo "the single-host Ceph did not start"; exit 1; }
ceph_pool_image vms disk0
"$PVCT_BUILD/bench/ceph_cycle" "$CEPH_CONF" "$CEPH_KEYRING" "$RUNS" vms 0 1
ts=()
for ((i = 0; i < CLI_RUNS; i++)); do
	t0=$(now_ms)
	ceph_cli health >/dev/null
	ceph_cli status >/dev/null
	rados --conf "$CEPH_CONF" df >/dev/null
	ceph_cli df --format json >/dev/null
	rados --conf "$CEPH_CONF" df --format json >/dev/null
	ceph_cli osd dump --format json >/dev/null
	ceph_cli osd df --format json >/dev/null
	ceph_cli osd status >/dev/null
	ts+=($(($(now_ms) - t0)))
done
sorted=$(printf '%s\n' "${ts[@]}" | sort -n | tr '\n' ' ')
echo "reference's CLI calls per keepalive ($CLI_RUNS runs): ms $sorted"
