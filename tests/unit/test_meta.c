/*
 * test_meta.c: the pure parts of the metadata API (workers/meta): the URL router,
 * the MAC addresses of a libvirt XML, the lease -> VM join and the caches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meta.h"

#define ROUTE(s) meta_route_parse(s, strlen(s))

static void test_routes(void **state)
{
	(void)state;
	assert_int_equal(ROUTE("/"), META_R_ROOT);
	assert_int_equal(ROUTE("/latest/meta-data"), META_R_MD_INDEX);
	assert_int_equal(ROUTE("/latest/meta-data/"), META_R_MD_INDEX);
	assert_int_equal(ROUTE("/2009-04-04/meta-data/instance-id"), META_R_INSTANCE_ID);
	assert_int_equal(ROUTE("/1.0/meta-data/name"), META_R_NAME);
	assert_int_equal(ROUTE("/latest/meta-data/profile"), META_R_PROFILE);
	assert_int_equal(ROUTE("/latest/user-data"), META_R_USERDATA);
	/* everything else */
	static const char *const bad[] = {
		"", "latest/user-data", "//latest/user-data", "/latest//user-data",
		"/latest/user-data/", "/latest/meta-data/name/", "/latest/meta-data/hostname",
		"/../meta-data/name", "/./user-data", "/a b/user-data", "/latest",
		"/latest/meta-data/name/x", "/latest/user-data/x/y/z", "/x/y/z/w/v",
		"/latest/meta-dataX", "/%2e%2e/user-data",
		"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/user-data"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ROUTE(bad[i]) != META_R_NOTFOUND)
			fail_msg("%s routed", bad[i]);
	/* an embedded NUL is no path */
	assert_int_equal(meta_route_parse("/latest/user-data\0x", 19), META_R_NOTFOUND);
	assert_int_equal(meta_route_parse("/latest/user-data\0", 17), META_R_USERDATA);
}

static void test_macs(void **state)
{
	static const char xml[] =
		"<domain type='kvm'><name>vm1</name><devices>"
		"<interface type='bridge'><mac address='52:54:00:AA:bb:01'/><source bridge='vmbr100'/></interface>"
		"<interface type=\"bridge\">\n  <mac  address = \"52-54-00-aa-bb-02\" />\n</interface>"
		"<interface type='bridge'><mac address='52:54:00:aa:bb:01'/></interface>"
		"<interface type='bridge'><model type='virtio'/></interface>"
		"<interface type='bridge'><mac address='zz:54:00:aa:bb:03'/></interface>"
		"<mac address='52:54:00:aa:bb:04'/>" /* outside any interface */
		"</devices></domain>";
	char macs[META_VM_MACS][META_MAC_MAX];
	char m[META_MAC_MAX];

	(void)state;
	assert_int_equal(meta_route_xml_macs(xml, strlen(xml), macs, META_VM_MACS), 2);
	assert_string_equal(macs[0], "52:54:00:aa:bb:01");
	assert_string_equal(macs[1], "52:54:00:aa:bb:02");
	assert_int_equal(meta_route_xml_macs(xml, strlen(xml), macs, 1), 1);
	assert_int_equal(meta_route_xml_macs("<interface", 10, macs, 8), 0);
	assert_int_equal(meta_route_xml_macs("<interface><mac address='52:54:00:aa:bb:01", 42,
					     macs, 8), 0);
	assert_int_equal(meta_route_mac("52:54:00:AA:BB:CC", 17, m), 0);
	assert_string_equal(m, "52:54:00:aa:bb:cc");
	assert_int_equal(meta_route_mac("52:54:00:AA:BB:C", 16, m), -1);
	assert_int_equal(meta_route_mac("52:54:00:AA:BB/CC", 17, m), -1);
	assert_true(meta_route_valid_ip("10.100.0.50"));
	assert_false(meta_route_valid_ip("10.100.0.500"));
	assert_false(meta_route_valid_ip("fd00::1"));
	assert_false(meta_route_valid_ip(""));
}

static void test_join(void **state)
{
	struct meta_lease leases[3] = {{"52:54:00:00:00:01", "10.0.0.11"},
				       {"52:54:00:00:00:02", "10.0.0.12"},
				       {"52:54:00:00:00:09", "10.0.0.19"}};
	struct meta_vminfo vms[2];
	struct meta_vm out[3];

	(void)state;
	memset(vms, 0, sizeof(vms));
	strcpy(vms[0].uuid, "0a1b2c3d-0000-4000-8000-000000000001");
	strcpy(vms[0].name, "one");
	strcpy(vms[0].profile, "p1");
	strcpy(vms[0].macs[0], "52:54:00:00:00:07");
	strcpy(vms[0].macs[1], "52:54:00:00:00:01");
	vms[0].nmacs = 2;
	strcpy(vms[1].uuid, "0a1b2c3d-0000-4000-8000-000000000002");
	strcpy(vms[1].name, "two");
	strcpy(vms[1].macs[0], "52:54:00:00:00:02");
	vms[1].nmacs = 1;
	leases[1].ip[0] = '\0'; /* its ipaddr key was missing: skipped */
	assert_int_equal(meta_scan_join(leases, 3, vms, 2, out), 1);
	assert_string_equal(out[0].ip, "10.0.0.11");
	assert_string_equal(out[0].name, "one");
	assert_string_equal(out[0].profile, "p1");
	strcpy(leases[1].ip, "10.0.0.12");
	assert_int_equal(meta_scan_join(leases, 3, vms, 2, out), 2);
	assert_string_equal(out[1].name, "two");
	assert_string_equal(out[1].profile, "");
}

/* An IP that leads to two VMs is refused (ambiguous), never answered with either. */
static void test_join_ambiguous(void **state)
{
	struct meta_lease leases[5] = {{"52:54:00:00:00:01", "10.0.0.11"},
				       {"52:54:00:00:00:02", "10.0.0.11"}, /* stale: two VMs */
				       {"52:54:00:00:00:03", "10.0.0.13"},
				       {"52:54:00:00:00:04", "10.0.0.13"}, /* both of VM three */
				       {"52:54:00:00:00:05", "10.0.0.15"}}; /* MAC on two VMs */
	struct meta_vminfo vms[4];
	struct meta_vm out[5];

	(void)state;
	memset(vms, 0, sizeof(vms));
	for (int i = 0; i < 4; i++) {
		snprintf(vms[i].uuid, sizeof(vms[i].uuid), "0a1b2c3d-0000-4000-8000-00000000000%d", i + 1);
		snprintf(vms[i].name, sizeof(vms[i].name), "vm%d", i + 1);
		strcpy(vms[i].profile, "p");
	}
	strcpy(vms[0].macs[0], "52:54:00:00:00:01");
	vms[0].nmacs = 1;
	strcpy(vms[1].macs[0], "52:54:00:00:00:02");
	vms[1].nmacs = 1;
	strcpy(vms[2].macs[0], "52:54:00:00:00:03");
	strcpy(vms[2].macs[1], "52:54:00:00:00:04");
	strcpy(vms[2].macs[2], "52:54:00:00:00:05");
	vms[2].nmacs = 3;
	strcpy(vms[3].macs[0], "52:54:00:00:00:05");
	vms[3].nmacs = 1;
	assert_int_equal(meta_scan_join(leases, 5, vms, 4, out), 3);
	assert_string_equal(out[0].ip, "10.0.0.11");
	assert_true(out[0].ambiguous);
	assert_string_equal(out[0].uuid, "");
	assert_string_equal(out[0].profile, "");
	assert_string_equal(out[1].ip, "10.0.0.13");
	assert_false(out[1].ambiguous);
	assert_string_equal(out[1].name, "vm3");
	assert_string_equal(out[2].ip, "10.0.0.15");
	assert_true(out[2].ambiguous);
	assert_string_equal(out[2].name, "");
	/* the stale lease gone: the IP is the new VM's again */
	assert_int_equal(meta_scan_join(leases + 1, 1, vms, 4, out), 1);
	assert_false(out[0].ambiguous);
	assert_string_equal(out[0].name, "vm2");
}

static void test_cache(void **state)
{
	static struct meta_cache c;
	struct meta_vm *vms = calloc(3, sizeof(*vms));
	struct meta_prof *p;
	char name[META_NAME_MAX];

	(void)state;
	assert_non_null(vms);
	assert_int_equal(meta_cache_init(&c), 0);
	strcpy(vms[0].ip, "10.0.0.3");
	strcpy(vms[1].ip, "10.0.0.1");
	strcpy(vms[2].ip, "10.0.0.2");
	strcpy(vms[2].name, "two");
	meta_cache_set_vms(&c, vms, 3, 0, 42);
	assert_int_equal(c.scan_done, 1);
	assert_int_equal(c.scan_done_start_ms, 42);
	assert_non_null(meta_cache_find_vm(&c, "10.0.0.2"));
	assert_string_equal(meta_cache_find_vm(&c, "10.0.0.2")->name, "two");
	assert_null(meta_cache_find_vm(&c, "10.0.0.4"));
	/* a failed scan keeps the map */
	meta_cache_set_vms(&c, NULL, 0, 1, 0);
	assert_int_equal(c.scan_failed, 1);
	assert_non_null(meta_cache_find_vm(&c, "10.0.0.1"));
	/* profiles: created, wanted, fetched; at most META_MAX_PROFILES, LRU reuse */
	p = meta_cache_prof(&c, "p1", 1);
	assert_non_null(p);
	p->wanted = 1;
	assert_int_equal(meta_cache_prof_next(&c, name, sizeof(name)), 1);
	assert_string_equal(name, "p1");
	meta_cache_prof_done(&c, "p1", META_UD_OK, "#cloud-config\n", 14, 5);
	p = meta_cache_prof(&c, "p1", 6);
	assert_int_equal(p->state, META_UD_OK);
	assert_int_equal(p->len, 14);
	assert_int_equal(p->done_seq, 1);
	assert_int_equal(meta_cache_prof_next(&c, name, sizeof(name)), 0);
	for (int i = 0; i < META_MAX_PROFILES; i++) {
		char n[32];
		snprintf(n, sizeof(n), "x%d", i);
		p = meta_cache_prof(&c, n, 10 + (uint64_t)i);
		assert_non_null(p);
		p->wanted = 1; /* waited for: never reused */
	}
	assert_null(meta_cache_prof(&c, "another", 1000));
	meta_cache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_macs),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_join_ambiguous),
		cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
