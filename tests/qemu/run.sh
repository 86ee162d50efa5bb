#!/bin/bash
# tests/qemu/run.sh: the real-hypervisor stage (`make check-qemu`): builds the guest
# once (tests/qemu/guest.sh, cached under /var/cache/pvcnoded-ci/guest), then runs
# every tests/qemu/q*.sh against two libvirtd + QEMU (TCG) nodes (tests/lib/qemu.sh).
# Output as tests/run-all.sh: each script's PASS:/FAIL: lines with a "[name] " prefix,
# a non-zero exit without a FAIL line (or a timeout) counts as one failure, exit 77 as
# skipped; the last line is "N passed, M failed[, K skipped]", exit 1 if M > 0.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCRIPT_TIMEOUT=${PVCQ_SCRIPT_TIMEOUT:-420}
passed=0 failed=0 skipped=0

if ((EUID != 0)); then
	echo "SKIP: check-qemu needs root"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
if ! guest=$(bash "$ROOT/tests/qemu/guest.sh"); then
	echo "FAIL: building the guest (tests/qemu/guest.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi
export QEMU_GUEST=$guest

for t in "$ROOT"/tests/qemu/q*.sh; do
	name=$(basename "$t" .sh)
	log=$(mktemp /tmp/pvcq-run.XXXXXX)
	start=$(date +%s)
	timeout -k 10 "$SCRIPT_TIMEOUT" bash "$t" >"$log" 2>&1 </dev/null
	rc=$?
	sed "s/^/[$name] /" "$log"
	p=$(grep -c '^PASS: ' "$log")
	f=$(grep -c '^FAIL: ' "$log")
	rm -f "$log"
	if ((rc == 77)); then
		skipped=$((skipped + 1))
		echo "[$name] skipped"
		continue
	fi
	if ((rc != 0 && f == 0)); then
		f=1
		echo "FAIL: $name: exit $rc without a FAIL line (timeout ${SCRIPT_TIMEOUT} s: 124)"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	echo "[$name] $p passed, $f failed, $(($(date +%s) - start)) s"
done

summary="$passed passed, $failed failed"
if ((skipped > 0)); then
	summary+=", $skipped skipped"
fi
echo "$summary"
((failed == 0))
