#!/bin/bash
# tools/model/check.sh: check the SPIN model of the election (model/election.pml).
#
# 1. regenerates model/constants.pml from the C sources (tools/model/constants.py;
#    fails if a constant cannot be found, so model and code cannot drift);
# 2. exhaustive searches (no bitstate; -DCOLLAPSE only compresses the stored states):
#    safety (never two floating addresses at once) and liveness (<>[] exactly one
#    primary) for 2 and 3 nodes, with a crash, partition or delay anywhere;
# 3. seeded bugs, each expected to produce a counter-example, whose trail is printed.
#
# Prints for each run the states stored, the depth and the errors, and ends with
# "N passed, M failed". Exit status 0 only if every run gave the expected result.
#
# Environment: MODEL_WORK (scratch dir, default build/model), MODEL_FULL=1 adds the
# two-fault safety search (about 41 M states, 4-5 minutes on one core).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${MODEL_WORK:-$ROOT/build/model}
NICE="nice -n 10"
pass=0
fail=0

mkdir -p "$WORK" || exit 1

if ! command -v spin >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q spin >/dev/null || true
	fi
fi
for tool in spin gcc python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "check-model: $tool is missing (Debian: apt-get install spin gcc python3)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

if python3 "$ROOT/tools/model/constants.py" --root "$ROOT"; then
	echo "PASS constants: model/constants.pml generated from the C sources"
	pass=$((pass + 1))
else
	echo "FAIL constants: cannot extract the timing constants (see above)"
	echo "0 passed, 1 failed"
	exit 1
fi

# run NAME EXPECT(ok|error) KIND(safety|live) "spin -D flags" [pan compile flags]
run() {
	local name=$1 expect=$2 kind=$3 defs=$4 ccflags=${5:-} dir="$WORK/$1" out t0 t1
	local states depth errors result note=""
	rm -rf "$dir" && mkdir -p "$dir" && cp "$ROOT/model/election.pml" "$ROOT/model/constants.pml" "$dir/"
	t0=$(date +%s)
	# shellcheck disable=SC2086
	if ! (cd "$dir" && $NICE spin $defs -a election.pml >spin.out 2>&1); then
		echo "FAIL $name: spin -a failed"; sed 's/^/    /' "$dir/spin.out" | head -20
		fail=$((fail + 1)); return
	fi
	if [ "$kind" = safety ]; then
		ccflags="-DSAFETY -DNOCLAIM $ccflags"
	fi
	# shellcheck disable=SC2086
	if ! (cd "$dir" && $NICE gcc -w -O2 -DCOLLAPSE -DVECTORSZ=2048 $ccflags -o pan pan.c >cc.out 2>&1); then
		echo "FAIL $name: cannot compile pan"; sed 's/^/    /' "$dir/cc.out" | head -20
		fail=$((fail + 1)); return
	fi
	if [ "$kind" = safety ]; then
		(cd "$dir" && $NICE timeout 600 ./pan -m2000000 -w24 >pan.out 2>&1)
	else
		(cd "$dir" && $NICE timeout 600 ./pan -a -N live -m2000000 -w24 >pan.out 2>&1)
	fi
	t1=$(date +%s)
	out="$dir/pan.out"
	states=$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' "$out" | head -1)
	depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$out" | head -1)
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | head -1)
	: "${states:=?}" "${depth:=?}" "${errors:=?}"
	if grep -q "max search depth too small" "$out"; then
		note=" (search depth too small: incomplete)"
		errors="?"
	fi
	if [ "$expect" = ok ] && [ "$errors" = 0 ]; then
		result=PASS
	elif [ "$expect" = error ] && [ "$errors" != "?" ] && [ "$errors" -gt 0 ]; then
		result=PASS
		note=" (counter-example expected: $(grep -m1 -oE 'assertion violated|acceptance cycle' "$out"))"
	else
		result=FAIL
	fi
	printf '%s %-34s states %10s  depth %6s  errors %s  %ss%s\n' "$result" "$name" "$states" \
		"$depth" "$errors" "$((t1 - t0))" "$note"
	if [ "$result" = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	if [ "$errors" != "?" ] && [ "$errors" != 0 ] && [ -f "$dir/election.pml.trail" ]; then
		# shellcheck disable=SC2086
		(cd "$dir" && $NICE spin $defs -t election.pml 2>&1 |
			grep -E '^ *t=|violated|text of failed|START OF CYCLE' |
			sed 's/^ *//' >trail.txt)
		(cd "$dir" && $NICE spin $defs -t -p election.pml >trail-full.txt 2>&1)
		echo "    trail ($dir/trail.txt; every step in trail-full.txt):"
		if [ "$kind" = live ]; then
			# the lasso: the last lines before and after the start of the cycle
			grep -n 'START OF CYCLE' "$dir/trail-full.txt" | head -1 | sed 's/^/    cycle starts at trail line /'
			tail -14 "$dir/trail.txt" | sed 's/^/      /'
		else
			tail -14 "$dir/trail.txt" | sed 's/^/      /'
		fi
	fi
}

echo "model: T = $(sed -n 's/#define T_MS //p' "$ROOT/model/constants.pml") ms, tick $(sed -n 's/#define TICK_MS //p' "$ROOT/model/constants.pml") ms"
run safety-n2-1fault          ok    safety "-DN=2 -DMAXF=1"
run liveness-n2-1fault        ok    live   "-DN=2 -DMAXF=1"
run safety-n3-1fault          ok    safety "-DN=3 -DMAXF=1"
run liveness-n3-1fault        ok    live   "-DN=3 -DMAXF=1"
run safety-n2-no-fault        ok    safety "-DN=2 -DMAXF=0"
run liveness-n2-no-fault      ok    live   "-DN=2 -DMAXF=0"
# D is a 250 ms margin on top of the lease at T = 3000 (0 from 3.4 s): without it the
# lease alone still keeps the addresses apart, so no counter-example is expected.
run seeded-d0-safety          ok    safety "-DN=2 -DMAXF=1 -DSEEDED_D0"
# seeded bugs: a counter-example is expected
run seeded-no-lease-safety    error safety "-DN=2 -DMAXF=1 -DSEEDED_NO_LEASE"
run seeded-no-lease-d0-safety error safety "-DN=2 -DMAXF=1 -DSEEDED_NO_LEASE -DSEEDED_D0"
run seeded-ping-t6-liveness   error live   "-DN=2 -DMAXF=0 -DPING_T6"
if [ "${MODEL_FULL:-0}" = 1 ]; then
	run safety-n2-2faults-at-tick ok safety "-DN=2 -DMAXF=2 -DFAULT_AT_TICK"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
