#!/bin/bash
# Build the Debian package (debian/) in a copy of the tree, so that the working
# tree's build directories are untouched (debian/rules clean runs `make clean`).
#
#   tests/package/build-deb.sh OUTDIR [VERSION...]
#
# Copies the tree into a temporary directory, runs `dpkg-buildpackage -us -uc -b`
# there and copies the .deb, -dbgsym .deb, .changes and .buildinfo to OUTDIR.
# Each further VERSION adds a changelog entry with that version to the copy and
# builds again without cleaning (only the packaging is redone): upgrade tests.
#
# What is copied: with PVC_PKG_SOURCE=head, `git archive HEAD` (what CI sees);
# otherwise the working tree's files as git knows them (tracked, and untracked
# but not ignored, so uncommitted changes are included); outside a git checkout,
# the tree without build*/.
set -euo pipefail

out=${1:?usage: build-deb.sh OUTDIR [VERSION...]}
shift
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pvcnoded-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/pvcnoded
mkdir -p "$src"

if [[ ${PVC_PKG_SOURCE:-tree} == head ]]; then
	git -C "$top" archive HEAD | tar -x -C "$src"
elif git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
		tar --null -T - -c) | tar -x -C "$src"
else
	tar -C "$top" --exclude='./build*' -c . | tar -x -C "$src"
fi

jobs=$(nproc 2>/dev/null || echo 1)
build() {
	(cd "$src" && nice -n 10 env DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
		dpkg-buildpackage -us -uc -b "$@")
}

build
for v in "$@"; do
	{
		printf 'pvcnoded (%s) bookworm; urgency=medium\n\n' "$v"
		printf '  * Package test build %s.\n\n' "$v"
		printf ' -- pvcnoded developers <dev@pvcnoded.invalid>  %s\n\n' "$(date -R)"
		cat "$src/debian/changelog"
	} >"$work/changelog.new"
	mv "$work/changelog.new" "$src/debian/changelog"
	build -nc
done
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
ls "$out"
