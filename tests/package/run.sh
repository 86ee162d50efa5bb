#!/bin/bash
# The Debian package, end to end (make check-package):
#
#   1. installs the tools it needs when missing (dpkg-dev, debhelper, lintian,
#      mmdebstrap, the build dependencies), with apt-get, without recommends;
#   2. builds pvcnoded_*.deb (and -dbgsym) twice in a copy of the tree
#      (tests/package/build-deb.sh: the working tree's build/ stays untouched),
#      the second time with a higher version for the upgrade test;
#   3. checks the package's contents and runs lintian (no error, no warning that
#      is not overridden);
#   4. installs it with apt-get into a clean Debian 12 minbase chroot (no systemd
#      running), fills the node and coordinator names into the shipped
#      /etc/pvc/pvcnoded.yaml, runs `pvcnoded --check-config`, checks the users,
#      the group and the modes;
#   5. upgrades it to the second build;
#   6. removes and purges it and checks that nothing of it is left;
#   7. installs it over a hand-written /etc/pvc/pvcnoded.yaml (a node migrating
#      from PVC's Python daemon) and purges it again.
#
# One "PASS: name" / "FAIL: name reason" line per check, then "N passed, M failed".
# Exit 0 all passed, 1 a check failed, 77 skipped (not root, or the Debian archive
# is unreachable when something has to be fetched from it).
#
# The chroot is built with mmdebstrap from the mirror of the host's APT sources
# (else deb.debian.org; PVC_DEBIAN_MIRROR overrides), with the package's run-time
# dependencies already in it, and cached as a tarball under /var/cache/pvcnoded-ci/
# (PVC_PKG_CACHE), keyed by those dependencies: a second run needs no network.
# PVC_PKG_SOURCE=head builds `git archive HEAD` instead of the working tree's files.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=bookworm
CACHE=${PVC_PKG_CACHE:-/var/cache/pvcnoded-ci}
T0=$(date +%s)
pass=0
fail=0

ok() {
	echo "PASS: $1"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL: $1 $2"
	fail=$((fail + 1))
}
# check NAME REASON CMD...: PASS when CMD succeeds
check() {
	local name=$1 why=$2
	shift 2
	if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name" "$why"; fi
}
finish() {
	echo "package tests took $(($(date +%s) - T0)) s"
	echo "$pass passed, $fail failed"
	((fail == 0)) || exit 1
	exit 0
}
skip() {
	echo "SKIP: $*"
	exit 77
}

# ---- the archive --------------------------------------------------------------------

# The first Debian mirror of the host's APT sources that is not a security one.
detect_mirror() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v '^[[:space:]]*#' | grep -oE 'https?://[^[:space:]]+/debian/?' |
		grep -v security | head -n 1)
	echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=${PVC_DEBIAN_MIRROR:-$(detect_mirror)}
MIRROR=${MIRROR%/}

archive_reachable() {
	local url="$MIRROR/dists/$SUITE/Release"
	if command -v curl >/dev/null; then
		curl -fsS --max-time 20 -o /dev/null "$url" 2>/dev/null
	elif command -v wget >/dev/null; then
		wget -q -T 20 -O /dev/null "$url"
	else
		python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=20)' \
			"$url" 2>/dev/null
	fi
}
need_archive() {
	archive_reachable || skip "the Debian archive ($MIRROR) is unreachable and $1 needs it"
}

# ---- 1. tools -----------------------------------------------------------------------

install_tools() {
	local missing=() pair
	for pair in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian mmdebstrap:mmdebstrap; do
		command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
	done
	if ((${#missing[@]})); then
		need_archive "installing ${missing[*]}"
		apt-get update -qq >/dev/null 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >"$work/tools.log" 2>&1 ||
			{ cat "$work/tools.log"; bad tools "apt-get install ${missing[*]} failed"; finish; }
	fi
	if ! (cd "$top" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
		need_archive "installing the build dependencies"
		DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq --no-install-recommends \
			"$top" >"$work/tools.log" 2>&1 ||
			{ cat "$work/tools.log"; bad tools "apt-get build-dep failed"; finish; }
	fi
	ok tools
}

# ---- 2, 3. build, contents, lintian ---------------------------------------------------

build_packages() {
	local v1
	v1=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
	V1=$v1
	V2=$v1+pkgtest2
	ARCH=$(dpkg --print-architecture)
	if bash "$top/tests/package/build-deb.sh" "$work/out" "$V2" >"$work/build.log" 2>&1; then
		ok build
	else
		tail -n 40 "$work/build.log"
		bad build "dpkg-buildpackage failed (log above)"
		finish
	fi
	DEB1=$work/out/pvcnoded_${V1}_$ARCH.deb
	DEB2=$work/out/pvcnoded_${V2}_$ARCH.deb
	CHANGES=$work/out/pvcnoded_${V1}_$ARCH.changes
	check debs "pvcnoded and pvcnoded-dbgsym of $V1 and $V2 not all built" \
		test -f "$DEB1" -a -f "$DEB2" -a -f "$work/out/pvcnoded-dbgsym_${V1}_$ARCH.deb"
}

check_contents() {
	local list="$work/contents" p missing=""
	dpkg-deb -c "$DEB1" | awk '{print $1, $2, $6}' | sed 's| \./| /|' >"$list"
	for p in /usr/sbin/pvcnoded /usr/bin/pvcctl /usr/lib/pvc/pvc-zk-election \
		/usr/lib/pvc/pvc-vm-manager /usr/lib/pvc/pvc-net-router /usr/lib/pvc/pvc-flush \
		/usr/lib/pvc/pvc-fence /usr/lib/pvc/pvc-api-units /usr/lib/pvc/pvc-ceph /usr/lib/pvc/pvc-metadata /usr/lib/pvc/pvc-dns-aggregator /usr/lib/pvc/pvc-dhcp-lease /lib/systemd/system/pvc.target \
		/lib/systemd/system/pvcnoded.service /lib/systemd/system/pvc-flush.service \
		/usr/lib/sysusers.d/pvcnoded.conf /usr/share/polkit-1/rules.d/50-pvcnoded-api.rules \
		/usr/share/man/man8/pvcnoded.8.gz \
		/usr/share/man/man8/pvcctl.8.gz /etc/pvc/pvcnoded.yaml; do
		grep -q " $p\$" "$list" || missing+=" $p"
	done
	if [[ -z $missing ]]; then ok contents; else bad contents "missing:$missing"; fi
	check config-mode "etc/pvc/pvcnoded.yaml is not -rw------- root/root in the .deb" \
		grep -qx -- '-rw------- root/root /etc/pvc/pvcnoded.yaml' "$list"
	check conffile "/etc/pvc/pvcnoded.yaml is not a conffile" \
		sh -c "dpkg-deb -I '$DEB1' conffiles | grep -qx /etc/pvc/pvcnoded.yaml"
	local f rel=ok
	for f in Conflicts Replaces Provides; do
		dpkg-deb -f "$DEB1" "$f" | grep -qw pvc-daemon-node || rel="$f lacks pvc-daemon-node"
	done
	if [[ $rel == ok ]]; then ok relations; else bad relations "$rel"; fi
	mkdir -p "$work/x" && dpkg-deb -x "$DEB1" "$work/x"
	check libexecdir "pvcnoded does not look for its workers in /usr/lib/pvc" \
		sh -c "grep -qa /usr/lib/pvc '$work/x/usr/sbin/pvcnoded' &&
			! grep -qa /usr/local/lib/pvc '$work/x/usr/sbin/pvcnoded'"
	check no-test-hooks "a shipped program contains test hooks" \
		sh -c "! grep -qa PVC_TEST_FORBIDDEN '$work'/x/usr/sbin/* '$work'/x/usr/lib/pvc/*"
}

run_lintian() {
	local out="$work/lintian.log"
	lintian --fail-on error,warning --display-info "$CHANGES" >"$out" 2>&1
	local rc=$?
	grep -v '^running with root privileges' "$out" | sed 's/^/  lintian: /'
	if ((rc == 0)) && ! grep -q '^[EW]: ' "$out"; then
		ok lintian
	else
		bad lintian "errors or warnings not overridden (rc $rc)"
	fi
}

# ---- 4. the chroot --------------------------------------------------------------------

# The package's run-time dependencies (first alternatives, without versions).
run_deps() {
	dpkg-deb -f "$DEB1" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' |
		grep -v '^$' | sort -u | tr '\n' ',' | sed 's/,$//'
}

make_chroot() {
	local deps key tar tmp
	deps=$(run_deps)
	key=$(printf '%s %s %s\n' "$SUITE" "$MIRROR" "$deps" | sha256sum | cut -c1-16)
	tar=$CACHE/$SUITE-minbase-$key.tar
	if [[ ! -s $tar ]]; then
		need_archive "building the $SUITE chroot"
		mkdir -p "$CACHE"
		tmp=$(mktemp "$CACHE/.build.XXXXXX")
		if ! nice -n 10 mmdebstrap --quiet --variant=minbase --include="$deps" \
			--skip=cleanup/apt/lists "$SUITE" "$tmp.tar" "$MIRROR" >"$work/mmdebstrap.log" 2>&1; then
			tail -n 20 "$work/mmdebstrap.log"
			rm -f "$tmp" "$tmp.tar"
			bad chroot "mmdebstrap failed (log above)"
			finish
		fi
		find "$CACHE" -maxdepth 1 -name "$SUITE-minbase-*.tar" -delete
		mv "$tmp.tar" "$tar" && rm -f "$tmp"
	fi
	R=$work/root
	mkdir -p "$R"
	tar -C "$R" --numeric-owner -xf "$tar" || { bad chroot "cannot unpack $tar"; finish; }
	local n
	for n in null:1:3 zero:1:5 random:1:8 urandom:1:9; do
		IFS=: read -r name ma mi <<<"$n"
		[[ -c $R/dev/$name ]] || mknod -m 666 "$R/dev/$name" c "$ma" "$mi"
	done
	cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
	printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d" && chmod 755 "$R/usr/sbin/policy-rc.d"
	mkdir -p "$R/tmp/debs" && cp "$DEB1" "$DEB2" "$R/tmp/debs/"
	ok chroot
}

# inch CMD...: run CMD in the chroot, with /proc, in a private mount namespace (the
# mount goes away with it), without the host's environment.
inch() {
	unshare --mount --propagation private -- chroot "$R" /usr/bin/env -i \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive /bin/sh -c 'mount -t proc proc /proc; exec "$@"' sh "$@"
}
apt_in() {
	inch apt-get -y -q --no-install-recommends "$@" </dev/null >>"$work/apt.log" 2>&1
}

# mode_is PATH "OWNER:GROUP MODE"
mode_is() {
	[[ $(inch stat -c '%U:%G %a' "$1" 2>/dev/null) == "$2" ]]
}

in_grp() {
	inch id -nG "$1" | tr ' ' '\n' | grep -qx "$2"
}
libs_resolved() {
	! inch sh -c 'ldd /usr/sbin/pvcnoded /usr/bin/pvcctl /usr/lib/pvc/*' | grep -q 'not found'
}
version_runs() {
	inch pvcnoded --version | grep -q '^pvcnoded '
}
status_is() {
	[[ $(inch dpkg-query -W -f '${Status} ${Version}' pvcnoded 2>/dev/null) == "$1" ]]
}
config_kept() {
	inch grep -qx '  node: pkgtest1' /etc/pvc/pvcnoded.yaml &&
		mode_is /etc/pvc/pvcnoded.yaml "root:root 600"
}
# After a purge dpkg knows neither the package (or only as not installed) nor its paths.
dpkg_forgot() {
	local st
	st=$(inch dpkg-query -W -f '${db:Status-Abbrev}' pvcnoded 2>/dev/null)
	[[ -z $st || $st == un* || $st == pn* ]] &&
		! inch dpkg -S /etc/pvc /usr/lib/pvc /usr/sbin/pvcnoded /usr/bin/pvcctl \
			/usr/lib/sysusers.d/pvcnoded.conf
}

# The users: system uids, distinct, own primary group, members of pvc, no shell.
check_users() {
	local u line uid gid shell why="" uids=""
	inch getent group pvc >/dev/null || why+=" no group pvc;"
	for u in pvc-zk pvc-vm pvc-net pvc-flush pvc-fence pvc-api pvc-ceph pvc-meta pvc-dns; do
		line=$(inch getent passwd "$u") || { why+=" no user $u;"; continue; }
		IFS=: read -r _ _ uid gid _ _ shell <<<"$line"
		((uid >= 100 && uid < 1000)) || why+=" $u uid $uid not a system uid;"
		[[ $(inch id -gn "$u") == "$u" ]] || why+=" $u primary group not $u;"
		[[ $shell == /usr/sbin/nologin ]] || why+=" $u shell $shell;"
		inch id -nG "$u" | tr ' ' '\n' | grep -qx pvc || why+=" $u not in pvc;"
		[[ " $uids " == *" $uid "* ]] && why+=" $u shares uid $uid;"
		uids+=" $uid"
	done
	if [[ -z $why ]]; then ok users; else bad users "$why"; fi
	check libvirt-group "pvc-vm is not in the existing group libvirt" in_grp pvc-vm libvirt
	inch getent passwd pvc-zk pvc-vm pvc-net pvc-flush pvc-fence pvc-api pvc-ceph pvc-meta pvc-dns >"$work/users.before"
}

check_files() {
	local why="" p
	mode_is /etc/pvc "root:root 755" || why+=" /etc/pvc;"
	mode_is /etc/pvc/pvcnoded.yaml "root:root 600" || why+=" /etc/pvc/pvcnoded.yaml;"
	mode_is /var/log/pvc "root:pvc 750" || why+=" /var/log/pvc;"
	mode_is /var/log/pvc/dnsmasq "pvc-net:pvc-net 750" || why+=" /var/log/pvc/dnsmasq;"
	for p in /usr/sbin/pvcnoded /usr/bin/pvcctl /usr/lib/pvc/pvc-zk-election \
		/usr/lib/pvc/pvc-vm-manager /usr/lib/pvc/pvc-net-router /usr/lib/pvc/pvc-flush \
		/usr/lib/pvc/pvc-fence /usr/lib/pvc/pvc-api-units /usr/lib/pvc/pvc-ceph /usr/lib/pvc/pvc-metadata /usr/lib/pvc/pvc-dns-aggregator /usr/lib/pvc/pvc-dhcp-lease; do
		mode_is "$p" "root:root 755" || why+=" $p;"
	done
	if [[ -z $why ]]; then ok modes; else bad modes "wrong owner or mode:$why"; fi
	why=""
	for p in multi-user.target.wants/pvc.target pvc.target.wants/pvcnoded.service \
		pvc.target.wants/pvc-flush.service; do
		[[ -L $R/etc/systemd/system/$p ]] || why+=" $p"
	done
	if [[ -z $why ]]; then ok units-enabled; else bad units-enabled "not enabled:$why"; fi
	check libs "a program has an unresolved library (ldd)" libs_resolved
	check version "pvcnoded --version does not run" version_runs
}

# Fill in the node and the coordinators, then --check-config; a config readable by
# others must be refused (78).
check_config() {
	local cfg=/etc/pvc/pvcnoded.yaml out
	inch sed -i -e 's/^  #node: pvchv1$/  node: pkgtest1/' -e 's/pvchv\([123]\)/pkgtest\1/g' "$cfg"
	out=$(inch pvcnoded --check-config 2>&1)
	if [[ $out == *"is valid (node pkgtest1, coordinator)"* ]]; then
		ok check-config
	else
		bad check-config "pvcnoded --check-config: $out"
	fi
	check config-mode-kept "editing the config changed its owner or mode" \
		mode_is "$cfg" "root:root 600"
	inch chmod 0644 "$cfg"
	inch pvcnoded --check-config >/dev/null 2>&1
	local rc=$?
	inch chmod 0600 "$cfg"
	if ((rc == 78)); then ok config-mode-enforced; else bad config-mode-enforced "a 0644 config gave $rc, not 78"; fi
}

install_first() {
	inch groupadd --system libvirt
	if apt_in install "/tmp/debs/$(basename "$DEB1")"; then
		ok install
	else
		tail -n 30 "$work/apt.log"
		bad install "apt-get install of $(basename "$DEB1") failed (log above)"
		finish
	fi
	check installed-version "dpkg does not show $V1 installed" \
		status_is "install ok installed $V1"
}

# ---- 5. upgrade -------------------------------------------------------------------

check_upgrade() {
	if apt_in install "/tmp/debs/$(basename "$DEB2")"; then
		ok upgrade
	else
		tail -n 30 "$work/apt.log"
		bad upgrade "apt-get install of $(basename "$DEB2") over $V1 failed (log above)"
		return
	fi
	check upgrade-version "dpkg does not show $V2 installed" \
		status_is "install ok installed $V2"
	check upgrade-config-kept "the edited configuration was replaced or its mode changed" \
		config_kept
	inch getent passwd pvc-zk pvc-vm pvc-net pvc-flush pvc-fence pvc-api pvc-ceph pvc-meta pvc-dns >"$work/users.after"
	check upgrade-users-kept "the users changed across the upgrade" \
		cmp -s "$work/users.before" "$work/users.after"
	local out
	out=$(inch pvcnoded --check-config 2>&1)
	if [[ $out == *"is valid (node pkgtest1"* ]]; then ok upgrade-check-config; else bad upgrade-check-config "$out"; fi
}

# ---- 6. remove, purge ---------------------------------------------------------------

check_purge() {
	apt_in remove pvcnoded || bad remove "apt-get remove failed"
	check remove "remove left the programs or dropped the configuration" \
		sh -c "test ! -e '$R/usr/sbin/pvcnoded' -a ! -e '$R/usr/lib/pvc/pvc-zk-election' -a -f '$R/etc/pvc/pvcnoded.yaml'"
	if ! apt_in purge pvcnoded; then
		tail -n 30 "$work/apt.log"
		bad purge "apt-get purge failed (log above)"
		return
	fi
	ok purge
	check purge-dpkg "dpkg still knows pvcnoded or one of its paths" dpkg_forgot
	local left p
	left=""
	for p in /etc/pvc /usr/lib/pvc /usr/sbin/pvcnoded /usr/bin/pvcctl /var/log/pvc /run/pvc \
		/lib/systemd/system/pvc.target /lib/systemd/system/pvcnoded.service \
		/lib/systemd/system/pvc-flush.service /usr/lib/sysusers.d/pvcnoded.conf \
		/usr/share/man/man8/pvcnoded.8.gz /usr/share/man/man8/pvcctl.8.gz /usr/share/doc/pvcnoded; do
		[[ -e $R$p || -L $R$p ]] && left+=" $p"
	done
	left+=$(find "$R/etc/systemd" "$R/var/lib/systemd" -name '*pvc*' -printf ' /%P' 2>/dev/null)
	if [[ -z $left ]]; then ok purge-clean; else bad purge-clean "left behind:$left"; fi
	# Debian policy: system users are not removed on purge (files may still be theirs).
	check purge-keeps-users "purge removed the role users (policy says keep them)" \
		inch getent passwd pvc-zk pvc-vm pvc-net pvc-flush pvc-fence pvc-api pvc-ceph pvc-meta pvc-dns
}

# ---- migration from pvc-daemon-node ------------------------------------------------

# A node of PVC's Python daemon has a hand-written /etc/pvc/pvcnoded.yaml that no
# package owns (often 0644). Installing with --force-confold keeps it
# (docs/install.md); pvcnoded refuses it until it is 0600, then accepts it.
check_migration() {
	local cfg=/etc/pvc/pvcnoded.yaml out
	install -d -m 0755 "$R/etc/pvc"
	sed -e 's/^  #node: pvchv1$/  node: pkgmig1/' -e 's/pvchv1$/pkgmig1/' \
		"$work/x/etc/pvc/pvcnoded.yaml" >"$R$cfg"
	chmod 0644 "$R$cfg"
	if apt_in -o Dpkg::Options::=--force-confold install "/tmp/debs/$(basename "$DEB2")"; then
		ok migrate-install
	else
		tail -n 30 "$work/apt.log"
		bad migrate-install "install over an existing $cfg failed (log above)"
		return
	fi
	check migrate-config-kept "the existing configuration was replaced" \
		inch grep -qx '  node: pkgmig1' "$cfg"
	inch pvcnoded --check-config >/dev/null 2>&1
	local rc=$?
	inch chmod 0600 "$cfg"
	out=$(inch pvcnoded --check-config 2>&1)
	if ((rc == 78)) && [[ $out == *"is valid (node pkgmig1, coordinator)"* ]]; then
		ok migrate-check-config
	else
		bad migrate-check-config "0644: $rc (want 78); 0600: $out"
	fi
	apt_in purge pvcnoded
	check migrate-purge "purge left /etc/pvc or /usr/lib/pvc" \
		test ! -e "$R/etc/pvc" -a ! -e "$R/usr/lib/pvc"
}

# ---- main ---------------------------------------------------------------------------

((EUID == 0)) || skip "must run as root (apt-get, mmdebstrap, chroot)"
work=$(mktemp -d "${TMPDIR:-/tmp}/pvcnoded-pkgtest.XXXXXX")
# PVC_PKG_KEEP=1 keeps the work directory (packages, logs, chroot) for a look.
if [[ ${PVC_PKG_KEEP:-0} == 1 ]]; then
	trap 'echo "work directory kept: $work"' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi
install_tools
build_packages
check_contents
run_lintian
make_chroot
install_first
check_users
check_files
check_config
check_upgrade
check_purge
check_migration
finish
