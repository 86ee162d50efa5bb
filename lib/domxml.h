/*
 * domxml.h: the `strict` domain XML policy (pvc.system.libvirt.xml_policy).
 *
 * The XML of a VM comes from ZooKeeper: anyone who can write there can, through
 * libvirt, run commands or open files on the host as the hypervisor (qemu:commandline,
 * a custom emulator, host devices, host paths). domxml_check() scans the XML with a
 * small tag/attribute scanner (no libxml2 here: pure, bounded, fuzzable) and refuses
 * those constructs. It fails closed: whatever it cannot parse with certainty (a DTD,
 * an unknown entity, a tag it cannot close, names or values beyond its bounds) is
 * refused as "cannot parse". The rule set is documented in docs/vm-manager.md.
 */
#ifndef DOMXML_H
#define DOMXML_H

#include <stddef.h>

#define DOMXML_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

struct domxml_rules {
	/* console_log_directory: the one place a <log file=...> of a serial console may
	 * point to (where vm-manager reads console logs). NULL or "": no <log> allowed. */
	const char *console_dir;
};

/* 0: the XML passes; -1: refused, with a reason naming the element in why
 * (always NUL-terminated when whylen > 0). xml need not be NUL-terminated. */
int domxml_check(const char *xml, size_t len, const struct domxml_rules *rules, char *why,
		 size_t whylen);

#endif
