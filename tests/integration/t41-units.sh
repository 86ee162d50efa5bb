#!/bin/bash
# t41-units: the systemd units load cleanly (systemd-analyze verify, no warnings),
# carry the settings the daemon relies on, order pvc-flush so that it stops before
# pvcnoded, and the sysusers entry creates the worker user. systemd need not run.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

command -v systemd-analyze >/dev/null || skip_all "systemd-analyze not installed (package systemd)"
U=$PVCT_ROOT/units
T=$PVCT_WORK/units
mkdir -p "$T"
cp "$U"/pvc.target "$U"/pvcnoded.service "$U"/pvc-flush.service "$T"/

# verify insists that ExecStart= binaries exist: point them at the build (or true).
sbin=$PVCT_BUILD/pvcnoded
ctl=$PVCT_BUILD/pvcctl
[[ -x $sbin ]] || sbin=/bin/true
[[ -x $ctl ]] || ctl=/bin/true
sed -i "s|/usr/sbin/pvcnoded|$sbin|; s|/usr/bin/pvcctl|$ctl|g" "$T"/*.service

# verify exits 0 even on unknown or unparsable settings: any line naming one of our
# unit files is a finding.
verify() {
	local out
	out=$(cd "$1" && systemd-analyze verify --man=no ./pvc.target ./pvcnoded.service ./pvc-flush.service 2>&1) || {
		printf '%s\n' "$out"
		return 1
	}
	if grep -E '(pvc\.target|pvcnoded\.service|pvc-flush\.service)' <<<"$out"; then
		return 1
	fi
	return 0
}
check units-verify verify "$T"

# The check itself must be able to fail: a typo is caught.
B=$PVCT_WORK/broken
mkdir -p "$B"
cp "$T"/* "$B"/
sed -i 's/^Type=notify/Type=notfy/' "$B"/pvcnoded.service
if verify "$B" >/dev/null 2>&1; then
	fail units-verify-catches-typo "a broken Type= was not reported"
else
	pass units-verify-catches-typo
fi

has() { grep -qxF -- "$2" "$U/$1"; }
for kv in Type=notify NotifyAccess=main WatchdogSec=30s Restart=on-failure RestartPreventExitStatus=78 \
	Environment=PVCD_CONFIG_FILE=/etc/pvc/pvcnoded.yaml ExecStart=/usr/sbin/pvcnoded \
	"After=network-online.target zookeeper.service libvirtd.service" Wants=network-online.target \
	PartOf=pvc.target WantedBy=pvc.target KillMode=mixed TimeoutStopSec=60 ProtectHome=yes \
	ProtectSystem=strict "ReadWritePaths=-/run/pvc -/var/log/pvc" PrivateTmp=yes ProtectKernelModules=yes \
	ProtectClock=yes LockPersonality=yes RestrictRealtime=yes RuntimeDirectory=pvc LogsDirectory=pvc \
	NoNewPrivileges=yes SystemCallArchitectures=native RestrictNamespaces=yes ProtectKernelLogs=yes \
	ProtectControlGroups=yes UMask=0077 PrivateDevices=yes ProtectHostname=yes RestrictSUIDSGID=yes \
	"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET"; do
	check "pvcnoded.service: $kv" has pvcnoded.service "$kv"
done
# no hard dependency on ZooKeeper/libvirtd (upstream a44f1342)
if grep -E '^(Wants|Requires)=.*(zookeeper|libvirtd)' "$U/pvcnoded.service"; then
	fail pvcnoded-no-hard-deps "pvcnoded pulls in zookeeper/libvirtd"
else
	pass pvcnoded-no-hard-deps
fi
filter=$(sed -n 's/^SystemCallFilter=~//p' "$U/pvcnoded.service")
for g in @mount @module @debug @raw-io @reboot @swap @obsolete; do
	check "system call filter denies $g" grep -qw -- "$g" <<<"$filter"
done
# The exposure score systemd computes from the unit (README quotes it).
if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
	score=$(cd "$T" && systemd-analyze security --offline=yes --no-pager ./pvcnoded.service 2>/dev/null |
		sed -n 's/.*Overall exposure level for pvcnoded.service: \([0-9.]*\).*/\1/p')
	echo "systemd-analyze security pvcnoded.service: ${score:-?}"
	check "exposure level at most 3.5 (was 7.1)" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 3.5) }'
fi
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$U/pvcnoded.service")
for c in CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_SETPCAP CAP_KILL; do
	check "bounding set has $c" grep -qw "$c" <<<"$caps"
done
if grep -qw CAP_SYS_ADMIN <<<"$caps"; then fail bounding-no-sys-admin "CAP_SYS_ADMIN present"; else pass bounding-no-sys-admin; fi

for kv in Type=oneshot RemainAfterExit=yes Requires=pvcnoded.service PartOf=pvc.target \
	TimeoutStartSec=30min TimeoutStopSec=30min; do
	check "pvc-flush.service: $kv" has pvc-flush.service "$kv"
done
check "pvc-flush ordered after pvcnoded and libvirtd (stops before them)" \
	grep -qE '^After=.*pvcnoded\.service.*libvirtd\.service|^After=.*libvirtd\.service.*pvcnoded\.service' "$U/pvc-flush.service"
check "pvc-flush ExecStart unflush --wait" grep -qE '^ExecStart=/usr/bin/pvcctl node unflush --wait' "$U/pvc-flush.service"
check "pvc-flush ExecStop flush --wait" grep -qE '^ExecStop=/usr/bin/pvcctl node flush --wait' "$U/pvc-flush.service"

# sysusers: creates one user per worker role and their group in a scratch root
if command -v systemd-sysusers >/dev/null; then
	R=$PVCT_WORK/root
	mkdir -p "$R/etc"
	if systemd-sysusers --root="$R" "$U/pvcnoded.sysusers" >/dev/null 2>&1 &&
		grep -q '^pvc-zk:x:' "$R/etc/passwd" && grep -q '^pvc-fence:x:' "$R/etc/passwd" &&
		grep -q '^pvc:x:[0-9]*:.*pvc-zk' "$R/etc/group"; then
		pass sysusers-creates-role-users
	else
		fail sysusers-creates-role-users "$(cat "$R/etc/passwd" 2>/dev/null)"
	fi
fi
finish
