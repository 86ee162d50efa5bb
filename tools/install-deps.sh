#!/bin/bash
# Install the Debian packages pvcnoded needs to build and test, but only those
# that are missing. Idempotent; takes well under a second when nothing is
# missing (one dpkg-query for the whole list).
#
#   tools/install-deps.sh            install what is missing (root only)
#   tools/install-deps.sh --check    only report; exit 1 if something is missing
#   tools/install-deps.sh --qemu     also the real hypervisor of `make check-qemu`
#                                    (libvirt's QEMU driver, qemu-system-x86); may be
#                                    combined with --check
#   tools/install-deps.sh --services  also the servers of `make check-services`
#                                    (PostgreSQL 15, PowerDNS + its PostgreSQL backend,
#                                    dig, curl)
#   tools/install-deps.sh --ceph     also the single-host Ceph of `make check-ceph`
#
# Service starts during installation (dnsmasq, libvirt-daemon) are suppressed
# with a temporary /usr/sbin/policy-rc.d when the machine has none: nothing
# this script installs is left running.
set -euo pipefail

PACKAGES=(
	build-essential pkg-config
	libzookeeper-st-dev zookeeper netcat-openbsd default-jre-headless
	libvirt-dev libvirt-clients libvirt-daemon
	libyaml-dev libcap-dev libseccomp-dev libcmocka-dev
	iproute2 bridge-utils
	python3-kazoo python3-yaml
	clang libclang-rt-14-dev universal-ctags
	systemd
	dnsmasq nftables libnftables-dev iputils-ping tcpdump busybox
	libpq-dev libmicrohttpd-dev librados-dev librbd-dev
)

# Only `make check-qemu` and `make bench-migrate` need a real hypervisor (~60 MB more),
# so the other stages do not install it.
QEMU_PACKAGES=(libvirt-daemon-driver-qemu qemu-system-x86)
SERVICES_PACKAGES=(postgresql-15 pdns-server pdns-backend-pgsql bind9-dnsutils curl)
CEPH_PACKAGES=(ceph-mon ceph-mgr ceph-osd ceph-common uuid-runtime)

check_only=0
for arg in "$@"; do
	case $arg in
	--check) check_only=1 ;;
	--qemu) PACKAGES+=("${QEMU_PACKAGES[@]}") ;;
	--services) PACKAGES+=("${SERVICES_PACKAGES[@]}") ;;
	--ceph) PACKAGES+=("${CEPH_PACKAGES[@]}") ;;
	*)
		echo "install-deps: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

# One dpkg-query call for all packages; unknown packages print nothing.
declare -A installed=()
while IFS=' ' read -r name status; do
	if [[ $status == "install ok installed" ]]; then
		installed[${name%%:*}]=1
	fi
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)

missing=()
for pkg in "${PACKAGES[@]}"; do
	if [[ -z ${installed[$pkg]:-} ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

if ((check_only)); then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	exit 1
fi

if ((EUID != 0)); then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root, or: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
made_policy=0
cleanup() {
	if ((made_policy)); then
		rm -f "$policy"
	fi
}
trap cleanup EXIT
if [[ ! -e $policy ]]; then
	# Keep package maintainer scripts from starting services (no systemd
	# here; an init script would start a dnsmasq or libvirtd that survives).
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	made_policy=1
fi

echo "install-deps: installing ${missing[*]}"
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get update -q
apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}"

# Verify: a package apt could not configure must not pass silently.
still=()
for pkg in "${missing[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		still+=("$pkg")
	fi
done
if ((${#still[@]})); then
	echo "install-deps: still missing after install: ${still[*]}" >&2
	exit 1
fi
echo "install-deps: done"
