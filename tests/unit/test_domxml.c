/*
 * test_domxml.c: the strict domain XML policy scanner (lib/domxml.c): PVC's own VM
 * XML passes; each forbidden construct is refused with a reason naming it, including
 * through prefix tricks; comments and CDATA hide nothing; whatever the scanner cannot
 * be sure of fails closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domxml.h"

static char why[512];
static const struct domxml_rules rules = {.console_dir = "/var/log/libvirt"};

#define HEAD "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>" \
	"<name>vm1</name><memory unit='MiB'>1024</memory>"
#define DEV(x) HEAD "<devices>" x "</devices></domain>"

/* a VM as PVC's provisioner writes it: RBD disk, bridge NIC, pty console logged to
 * console_log_directory, UEFI loader */
static const char pvc_vm[] =
	"<?xml version='1.0' encoding='UTF-8'?>\n"
	"<!-- provisioned by PVC -->\n"
	"<domain type=\"kvm\" xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\">\n"
	"  <name>web1</name><uuid>2d6f8a3c-0e43-4d3a-9d5e-8a55f0b4a8c1</uuid>\n"
	"  <metadata><pvc:data xmlns:pvc='urn:pvc'><pvc:profile>x</pvc:profile></pvc:data>"
	"</metadata>\n"
	"  <os><type arch='x86_64' machine='pc'>hvm</type>"
	"<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>"
	"<nvram>/var/lib/libvirt/qemu/nvram/web1_VARS.fd</nvram></os>\n"
	"  <sysinfo type='smbios'><system><entry name='serial'>1</entry></system></sysinfo>\n"
	"  <seclabel type='dynamic' model='apparmor'/>\n"
	"  <devices>\n"
	"    <emulator>/usr/bin/kvm</emulator>\n"
	"    <disk type='network' device='disk'><driver name='qemu' type='raw'/>"
	"<source protocol='rbd' name='vms/web1_disk0'><host name='10.0.0.1' port='6789'/>"
	"</source><target dev='sda' bus='scsi'/></disk>\n"
	"    <disk type='file' device='cdrom'><target dev='sdb' bus='scsi'/></disk>\n"
	"    <interface type='bridge'><mac address='52:54:00:aa:bb:cc'/>"
	"<source bridge='vmbr100'/><model type='virtio'/></interface>\n"
	"    <serial type='pty'><log file='/var/log/libvirt/web1.log' append='on'/></serial>\n"
	"    <console type='pty'><source path='/dev/pts/3'/></console>\n"
	"    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n"
	"    <![CDATA[ ignored text ]]>\n"
	"  </devices>\n"
	"</domain>\n";

static int check(const char *xml)
{
	int rc = domxml_check(xml, strlen(xml), &rules, why, sizeof(why));
	if (rc != 0)
		printf("  refused: %s\n", why);
	return rc;
}

static void refused(const char *xml, const char *needle)
{
	assert_int_equal(check(xml), -1);
	assert_non_null(strstr(why, "xml_policy strict: "));
	if (strstr(why, needle) == NULL)
		fail_msg("reason '%s' lacks '%s'", why, needle);
}

static void test_pvc_vm_passes(void **s)
{
	(void)s;
	assert_int_equal(check(pvc_vm), 0);
	assert_int_equal(check(HEAD "</domain>"), 0);
	assert_int_equal(check(DEV("<emulator>/usr/bin/qemu-system-x86_64</emulator>")), 0);
	assert_int_equal(check(DEV("<emulator>/usr/bin/qemu-system-aarch64</emulator>")), 0);
	assert_int_equal(check(HEAD "<launchSecurity type='sev'/></domain>"), 0);
	assert_int_equal(check(DEV("<interface type = \"network\" ><source network='default'/>"
				   "</interface>")), 0);
	assert_int_equal(check("\xef\xbb\xbf<domain>\n</domain>"), 0);
}

static void test_qemu_namespace(void **s)
{
	(void)s;
	refused(HEAD "<qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>",
		"<qemu:commandline>");
	/* any prefix bound to the QEMU namespace, on the element itself or above */
	refused("<domain xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'><q:commandline/>"
		"</domain>", "<q:commandline>");
	refused("<domain><devices><x:arg xmlns:x=\"http://libvirt.org/schemas/domain/qemu/1.0\""
		"/></devices></domain>", "QEMU namespace");
	/* default namespace: an unprefixed element in the QEMU namespace */
	refused("<domain><commandline xmlns='http://libvirt.org/schemas/domain/qemu/1.0'>"
		"<arg value='-x'/></commandline></domain>", "<commandline>");
	/* even inside <metadata> */
	refused(HEAD "<metadata><qemu:commandline/></metadata></domain>", "QEMU namespace");
	/* another driver namespace outside metadata */
	refused("<domain xmlns:lxc='http://libvirt.org/schemas/domain/lxc/1.0'><lxc:namespace/>"
		"</domain>", "<lxc:namespace>");
	/* a prefix rebound away from the QEMU namespace is harmless... */
	assert_int_equal(check("<domain xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'>"
			       "<metadata><p xmlns:q='urn:x'><q:commandline/></p></metadata>"
			       "</domain>"), 0);
	/* ...but the binding ends with its element */
	refused("<domain xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'>"
		"<metadata><p xmlns:q='urn:x'/></metadata><q:commandline/></domain>",
		"QEMU namespace");
}

static void test_comments_hide_nothing(void **s)
{
	(void)s;
	/* a commented-out forbidden element is inert; a real one after the comment is not */
	assert_int_equal(check(DEV("<!-- <hostdev mode='subsystem'/> -->")), 0);
	refused(DEV("<!-- x --><hostdev mode='subsystem' type='pci'/>"), "<hostdev>");
	refused(DEV("<!-- --><!-- <a> --><hostdev/>"), "<hostdev>");
	/* a tag-like text in CDATA is text, not an element */
	assert_int_equal(check(DEV("<![CDATA[<hostdev/>]]>")), 0);
	refused(DEV("<![CDATA[ ]]><hostdev/>"), "<hostdev>");
}

static void test_devices(void **s)
{
	(void)s;
	refused(DEV("<hostdev mode='subsystem' type='pci'/>"), "<hostdev>");
	refused(DEV("<disk type='block' device='disk'><source dev='/dev/sda'/></disk>"),
		"<disk type='block'>");
	refused(DEV("<disk type=\"dir\"/>"), "<disk type='dir'>");
	refused(DEV("<disk type='file'><source file='/etc/shadow'/></disk>"),
		"<source file='/etc/shadow'>");
	refused(DEV("<disk type='network'><source dev='/dev/sdb'/></disk>"), "<source dev=");
	refused(DEV("<filesystem type='mount'><source dir='/'/><target dir='r'/></filesystem>"),
		"<filesystem>");
	refused(DEV("<interface type='direct'><source dev='eth0' mode='bridge'/></interface>"),
		"<interface type='direct'>");
	refused(DEV("<interface type='hostdev'/>"), "<interface type='hostdev'>");
	refused(DEV("<interface type='ethernet'><script path='/tmp/x'/></interface>"),
		"<interface type='ethernet'>");
	refused(DEV("<interface type='bridge'><backend tap='/dev/net/tun'/></interface>"),
		"<backend>");
	refused(DEV("<tpm><backend type='passthrough'/></tpm>"), "<backend>");
	refused(DEV("<input type='passthrough'><source evdev='/dev/input/event0'/></input>"),
		"evdev");
	refused(DEV("<emulator>/tmp/evil</emulator>"), "<emulator>/tmp/evil</emulator>");
	refused(DEV("<emulator>/usr/bin/qemu-system-../../tmp/x</emulator>"), "<emulator>");
	refused(DEV("<emulator> /usr/bin/kvm</emulator>"), "<emulator>");
	/* text is judged as libvirt reads it: CDATA and references decoded */
	assert_int_equal(check(DEV("<emulator>/usr/bin/<![CDATA[kvm]]></emulator>")), 0);
	refused(DEV("<emulator>/usr/bin/<![CDATA[kvm2]]></emulator>"), "<emulator>");
	assert_int_equal(check(DEV("<emulator>/usr/bin/k&#118;m</emulator>")), 0);
	refused(DEV("<emulator>/usr/bin/kvm<x/></emulator>"), "cannot parse");
	refused(DEV("<shmem name='x'/>"), "<shmem>");
}

static void test_chardevs(void **s)
{
	(void)s;
	refused(DEV("<serial type='file'><source path='/etc/cron.d/x'/></serial>"),
		"<serial type='file'>");
	refused(DEV("<serial type='pipe'/>"), "<serial type='pipe'>");
	refused(DEV("<parallel type='dev'/>"), "<parallel type='dev'>");
	refused(DEV("<console type='tcp'/>"), "<console type='tcp'>");
	refused(DEV("<channel type='unix'><source mode='bind' path='/run/x.sock'/></channel>"),
		"<source path='/run/x.sock'>");
	refused(DEV("<serial type='pty'><log file='/etc/cron.d/evil'/></serial>"),
		"outside console_log_directory");
	refused(DEV("<serial type='pty'><log file='/var/log/libvirt/../../etc/x'/></serial>"),
		"outside console_log_directory");
	refused(DEV("<serial type='pty'><log file='/var/log/libvirt/sub/x.log'/></serial>"),
		"outside console_log_directory");
	refused(DEV("<serial type='pty'><log file='/var/log/libvirtx/a.log'/></serial>"),
		"outside console_log_directory");
	/* no console directory configured: no <log> at all */
	{
		const struct domxml_rules none = {.console_dir = ""};
		const char *x = DEV("<serial type='pty'><log file='/var/log/libvirt/a.log'/></serial>");
		assert_int_equal(domxml_check(x, strlen(x), &none, why, sizeof(why)), -1);
		assert_int_equal(domxml_check(x, strlen(x), NULL, why, sizeof(why)), -1);
	}
}

static void test_seclabel_and_os(void **s)
{
	(void)s;
	refused(HEAD "<seclabel type='none'/></domain>", "<seclabel type='none'>");
	refused(HEAD "<seclabel type='static' model='apparmor'><label>unconfined</label>"
		"</seclabel></domain>", "<seclabel type='static'>");
	refused(DEV("<disk type='network'><source protocol='rbd' name='a'>"
		    "<seclabel relabel='no'/></source></disk>"), "relabel='no'");
	refused(HEAD "<seclabel type='dynamic'><baselabel>x</baselabel></seclabel></domain>",
		"<baselabel>");
	refused(HEAD "<os><kernel>/etc/shadow</kernel></os></domain>", "<kernel>/etc/shadow");
	refused(HEAD "<os><loader>/etc/shadow</loader></os></domain>", "<loader>");
	refused(HEAD "<os><nvram>/root/x</nvram></os></domain>", "<nvram>");
	refused(HEAD "<os><nvram template='/etc/shadow'/></os></domain>", "template");
}

static void test_quoting_and_whitespace(void **s)
{
	(void)s;
	refused(DEV("<disk\n\ttype\n=\n\"block\"\n/>"), "<disk type='block'>");
	refused(DEV("<disk type='bl&#111;ck'/>"), "<disk type='block'>");
	refused(DEV("<disk type='bl&#x6f;ck'/>"), "<disk type='block'>");
	refused(DEV("<interface type=\"dir&apos;ect\"/>"), "interface type=");
	refused(DEV("<hostdev\n/>"), "<hostdev>");
	/* libvirt's property lookup ignores prefixes: two 'type' attributes are ambiguous */
	refused("<domain xmlns:a='urn:a'><devices><disk type='network' a:type='block'/>"
		"</devices></domain>", "ambiguous");
}

static void test_fails_closed(void **s)
{
	(void)s;
	static const char *const bad[] = {
		"<!DOCTYPE domain [<!ENTITY e 'hostdev'>]><domain><devices><&e;/></devices></domain>",
		"<domain><name>&e;</name></domain>",
		"<?xml version='1.0' encoding='UTF-7'?><domain/>",
		"<?xml version='1.0' encoding=\"ISO-8859-1\"?><domain/>",
		"<domain><devices></domain>",
		"<domain><devices>",
		"<domain/><domain/>",
		"x<domain/>",
		"<domain><!-- unterminated </domain>",
		"<domain><x:y/></domain>",
		"<domain attr=noquote/>",
		"<domain a='1'b='2'/>",
		"<domain a='<'/>",
		"<domain><é/></domain>",
		"",
		"<domain><![CDATA[ x </domain>",
		"<domain><name>&#0;</name></domain>",
		"<domain><name>&#xD800;</name></domain>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (check(bad[i]) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(why, "cannot parse"));
	}
	/* a NUL byte: libvirt would see only what precedes it */
	assert_int_equal(domxml_check("<domain/>\0<x", 12, &rules, why, sizeof(why)), -1);
	/* far too deep */
	{
		char deep[2000];
		size_t o = 0;
		o += (size_t)sprintf(deep, "<domain>");
		for (int i = 0; i < 100; i++)
			o += (size_t)sprintf(deep + o, "<a>");
		assert_int_equal(check(deep), -1);
	}
	refused("<hostdev/>", "not <domain>");
	assert_int_equal(domxml_check("<domain/>", 9, &rules, why, 0), 0);
	assert_int_equal(domxml_check("<hostdev/>", 10, &rules, NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pvc_vm_passes),
		cmocka_unit_test(test_qemu_namespace),
		cmocka_unit_test(test_comments_hide_nothing),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_chardevs),
		cmocka_unit_test(test_seclabel_and_os),
		cmocka_unit_test(test_quoting_and_whitespace),
		cmocka_unit_test(test_fails_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
