#!/bin/bash
# Run every benchmark: bench/*.sh scripts and the compiled bench/*.c programs
# (build/bench/*). Each prints its own figures; nothing here is a pass/fail test.
# BENCH_ONLY=name runs just that one.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
status=0
for b in bench/*.sh; do
	[[ -e $b ]] || continue
	name=$(basename "$b" .sh)
	[[ -n ${BENCH_ONLY:-} && $name != "$BENCH_ONLY" ]] && continue
	echo "=== $name"
	bash "$b" || { echo "=== $name failed (status $?)"; status=1; }
done
for b in build/bench/*; do
	[[ -x $b ]] || continue
	name=$(basename "$b")
	[[ -n ${BENCH_ONLY:-} && $name != "$BENCH_ONLY" ]] && continue
	# compiled benches with a .sh driver of the same name are run by that driver
	[[ -e bench/$name.sh ]] && continue
	# the client pinger of bench/gap.sh, not a benchmark of its own
	[[ $name == gap_ping ]] && continue
	echo "=== $name"
	"$b" || { echo "=== $name failed (status $?)"; status=1; }
done
exit $status
