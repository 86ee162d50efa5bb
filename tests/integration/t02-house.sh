#!/bin/bash
# t02-house: the shape of the source tree (README "Layout"): file and function
# sizes, no worker including another role's headers, no call circle between the
# files of a folder, and each program linking only its role's libraries.
# Needs nothing running; tools/house-check.py prints the PASS:/FAIL: lines.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

while IFS= read -r line; do
	case $line in
	"PASS: "*) pass "${line#PASS: }" ;;
	"FAIL: "*)
		rest=${line#FAIL: }
		fail "${rest%%: *}" "${rest#*: }"
		;;
	*) echo "$line" ;;
	esac
done < <(/usr/bin/python3 "$PVCT_ROOT/tools/house-check.py" "$PVCT_BUILD" 2>&1 || true)
# The sandboxed workers start from their own programs: nothing but the supervisor
# may run them, and an argument or a missing channel is refused.
for prog in pvc-zk-election pvc-vm-manager pvc-net-router pvc-flush pvc-fence pvc-api-units pvc-ceph pvc-metadata pvc-dns-aggregator; do
	if out=$("$PVCT_BUILD/$prog" 3<&- 2>&1); then
		fail "$prog refuses to run outside pvcnoded" "exit 0: $out"
	elif [[ $out == *"started by its supervisor only"* ]]; then
		pass "$prog refuses to run outside pvcnoded"
	else
		fail "$prog refuses to run outside pvcnoded" "$out"
	fi
done
finish
