#!/bin/bash
# tests/qemu/guest.sh: build (once) the tiny guest of `make check-qemu` and
# `make bench-migrate`, and print the directory holding it.
#
#   tests/qemu/guest.sh [CACHE_DIR]     default /var/cache/pvcnoded-ci/guest
#
# The guest is Debian's own kernel (linux-image-amd64's current ABI) and a
# busybox-static initramfs, both fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` (nothing is installed: busybox-static would replace the host's
# busybox). No disk image: the whole system is the initramfs.
#
# Its /init:
#   * prints "pvcq-count N" on ttyS0 (the kernel console) about every 100 ms, N
#     from 0 at boot: a live migration keeps the sequence going, a restart begins
#     again at 0;
#   * loads button.ko and evdev.ko and powers off when the ACPI power button
#     device reports an event (virsh shutdown / virDomainShutdown), unless the
#     kernel command line holds `pvcq.noacpi` (a guest that ignores ACPI);
#   * never exits (PID 1 must not).
#
# Rebuilt when the cache lacks a file or the recipe (this script) changed: the
# stamp holds this script's hash. Takes ~20 s with a warm apt cache, 0.01 s cached.
set -euo pipefail

CACHE=${1:-/var/cache/pvcnoded-ci/guest}
SELF_HASH=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)

if [[ -f $CACHE/stamp && $(cat "$CACHE/stamp") == "$SELF_HASH" &&
	-f $CACHE/vmlinuz && -f $CACHE/initrd.img ]]; then
	printf '%s\n' "$CACHE"
	exit 0
fi

work=$(mktemp -d /tmp/pvcq-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

# linux-image-amd64 is a metapackage: its dependency names the current ABI.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
if [[ -z $kpkg ]]; then
	echo "guest.sh: no linux-image-amd64 in the apt lists (apt-get update?)" >&2
	exit 1
fi
# `apt-get download` runs as _apt when it can: let it write here
chmod 0777 "$work"
apt-get download -q "$kpkg" busybox-static >&2 || {
	apt-get update -q >&2
	apt-get download -q "$kpkg" busybox-static >&2
}
mkdir k b root
dpkg-deb -x linux-image-*.deb k
dpkg-deb -x busybox-static_*.deb b

kver=${kpkg#linux-image-}
mods=k/lib/modules/$kver/kernel
mkdir -p root/bin root/lib root/proc root/sys root/dev
cp b/bin/busybox root/bin/busybox
# Debian ships modules xz-compressed (6.1: .ko.xz); busybox insmod wants plain ELF.
for m in drivers/acpi/button drivers/input/evdev; do
	if [[ -f $mods/$m.ko.xz ]]; then
		xz -dc "$mods/$m.ko.xz" >"root/lib/${m##*/}.ko"
	elif [[ -f $mods/$m.ko ]]; then
		cp "$mods/$m.ko" "root/lib/${m##*/}.ko"
	fi
	# a module missing here is built into the kernel
done

cat >root/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# the initramfs has no /dev/console node: talk to the serial port directly
exec </dev/ttyS0 >/dev/ttyS0 2>&1
if ! grep -q pvcq.noacpi /proc/cmdline; then
	for m in /lib/*.ko; do insmod "$m" 2>/dev/null; done
	(
		# wait for the power button's event device, then for one event on it
		while :; do
			for e in /sys/class/input/event*; do
				if grep -q "Power Button" "$e/device/name" 2>/dev/null; then
					dev=/dev/input/${e##*/}
					[ -c "$dev" ] || continue
					# one input_event (24 bytes on x86_64) = a press
					n=$(dd if="$dev" bs=24 count=1 2>/dev/null | wc -c)
					if [ "$n" = 24 ]; then
						echo "pvcq: ACPI power button, powering off"
						poweroff -f
					fi
				fi
			done
			sleep 0.2
		done
	) &
fi
i=0
while :; do
	echo "pvcq-count $i"
	i=$((i + 1))
	sleep 0.1
done
INIT
chmod 0755 root/init

(cd root && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >initrd.img
mkdir -p "$CACHE"
cp "k/boot/vmlinuz-$kver" "$CACHE/vmlinuz.new"
cp initrd.img "$CACHE/initrd.img.new"
mv "$CACHE/vmlinuz.new" "$CACHE/vmlinuz"
mv "$CACHE/initrd.img.new" "$CACHE/initrd.img"
printf '%s\n' "$kver" >"$CACHE/kernel-version"
printf '%s\n' "$SELF_HASH" >"$CACHE/stamp"
printf '%s\n' "$CACHE"
