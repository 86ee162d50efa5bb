#!/bin/bash
# tools/fuzz.sh [SECONDS]: build and run every fuzz/fuzz_*.c libFuzzer target.
#
# Each target is built with clang -fsanitize=fuzzer,address,undefined (UBSan
# findings are fatal) and linked against the daemon's library sources
# (every source but the programs' main.c: make print-FUZZ_SRCS), compiled once into
# build-fuzz/ with -fsanitize=fuzzer-no-link,address,undefined. Each target
# then runs SECONDS (default 60) on a scratch copy of fuzz/corpus/<name>/
# (<name> = file name without "fuzz_"), so the committed corpus does not grow;
# fuzz/<name>.dict is used as dictionary if present. Crash inputs are saved as
# build-fuzz/artifacts/<name>-crash-*; logs in build-fuzz/logs/<name>.log.
#
# Prints per target the number of executed inputs (libFuzzer's
# stat::number_of_executed_units); exits 1 if a target fails to build or
# crashes.
#
# Environment: FUZZ_DIR (default fuzz), FUZZ_TARGETS ("config ipc": only
# these), CC (default clang).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

secs=${1:-60}
if [[ ! $secs =~ ^[0-9]+$ ]] || ((secs < 1)); then
	echo "usage: $0 [SECONDS]" >&2
	exit 2
fi
FUZZ_DIR=${FUZZ_DIR:-fuzz}
CC=${CC:-clang}
if [[ $CC != *clang* ]]; then
	CC=clang
fi
OUT=build-fuzz
SCRATCH=$(mktemp -d /tmp/pvcfuzz.XXXXXX)
# shellcheck disable=SC2317  # trap handler
cleanup() {
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

SAN=(-fsanitize=address -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
# shellcheck disable=SC2207  # pkg-config output is a flag list
LIBVIRT_CFLAGS=($(pkg-config --cflags libvirt 2>/dev/null || true))
# shellcheck disable=SC2207
LIBVIRT_LIBS=($(pkg-config --libs libvirt 2>/dev/null || echo -lvirt))
CFLAGS=(-g -O1 -std=c11 -D_GNU_SOURCE $(make -s --no-print-directory print-TEST_INCLUDES) -I/usr/include/zookeeper -I/usr/include/postgresql "${LIBVIRT_CFLAGS[@]}" "${SAN[@]}")
LIBS=(-lzookeeper_st "${LIBVIRT_LIBS[@]}" -lyaml -lcap -lseccomp -lnftables -lrados -lrbd -lpthread -lmicrohttpd -lpq -lm)

shopt -s nullglob
targets=()
for f in "$FUZZ_DIR"/fuzz_*.c; do
	name=${f##*/fuzz_}
	name=${name%.c}
	if [[ -n ${FUZZ_TARGETS:-} && " $FUZZ_TARGETS " != *" $name "* ]]; then
		continue
	fi
	targets+=("$name")
done
mapfile -t srcs < <(make -s --no-print-directory print-FUZZ_SRCS | tr " " "\n")
headers=(include/*.h lib/*.h ipc/*.h supervisor/*.h workers/*/*.h)
shopt -u nullglob
if ((${#targets[@]} == 0)); then
	echo "fuzz: no targets in $FUZZ_DIR/fuzz_*.c"
	exit 0
fi

mkdir -p "$OUT/obj" "$OUT/logs" "$OUT/artifacts"

# --- library objects (incremental: rebuilt when the source or any header is newer)
newest_header=
for h in "${headers[@]}"; do
	if [[ -z $newest_header || $h -nt $newest_header ]]; then
		newest_header=$h
	fi
done
objs=()
pids=()
for src in "${srcs[@]}"; do
	[[ $src == supervisor/main.c ]] && continue
	obj=$OUT/obj/${src%.c}.o
	objs+=("$obj")
	if [[ -f $obj && ! $src -nt $obj && (-z $newest_header || ! $newest_header -nt $obj) ]]; then
		continue
	fi
	mkdir -p "$(dirname "$obj")"
	echo "fuzz: CC $src"
	"$CC" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c -o "$obj" "$src" &
	pids+=($!)
	if ((${#pids[@]} >= $(nproc))); then
		wait "${pids[0]}" || { echo "fuzz: compiling failed" >&2; exit 1; }
		pids=("${pids[@]:1}")
	fi
done
for pid in "${pids[@]}"; do
	wait "$pid" || { echo "fuzz: compiling failed" >&2; exit 1; }
done
rm -f "$OUT/libpvc-fuzz.a"
ar rcs "$OUT/libpvc-fuzz.a" "${objs[@]}"

# --- link and run each target
status=0
results=()
for name in "${targets[@]}"; do
	bin=$OUT/fuzz_$name
	echo "fuzz: LINK $bin"
	if ! "$CC" "${CFLAGS[@]}" -fsanitize=fuzzer -o "$bin" "$FUZZ_DIR/fuzz_$name.c" \
		"$OUT/libpvc-fuzz.a" "${LIBS[@]}"; then
		results+=("fuzz_$name: BUILD FAILED")
		status=1
		continue
	fi
	corpus=$SCRATCH/$name
	mkdir -p "$corpus"
	if [[ -d $FUZZ_DIR/corpus/$name ]]; then
		cp -r "$FUZZ_DIR/corpus/$name/." "$corpus/"
	fi
	opts=(-max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
		-artifact_prefix="$OUT/artifacts/$name-")
	if [[ -f $FUZZ_DIR/$name.dict ]]; then
		opts+=(-dict="$FUZZ_DIR/$name.dict")
	fi
	log=$OUT/logs/$name.log
	echo "fuzz: RUN fuzz_$name for ${secs}s (corpus: $(find "$corpus" -type f | wc -l) inputs)"
	rc=0
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		timeout -k 10 $((secs + 120)) "$bin" "${opts[@]}" "$corpus" </dev/null >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if ((rc == 0)); then
		results+=("fuzz_$name: ${execs:-?} executions in ${secs}s, no crash")
	else
		artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		results+=("fuzz_$name: FAILED (exit $rc) after ${execs:-?} executions; ${artifact:-see $log}")
		grep -m 5 -E 'ERROR: |runtime error:|SUMMARY:' "$log" | sed 's/^/    /' >&2 || true
		status=1
	fi
done

for r in "${results[@]}"; do
	echo "$r"
done
exit "$status"
