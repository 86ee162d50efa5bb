/*
 * test_flush_select.c: the flush target selector against a table of cases whose
 * expected choices follow the reference's loop (ref §6.3) by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "flush_select.h"

#define N(name, ds, dom, used, freem, alloc, load, vcpus, vms) \
	{name, ds, dom, used, freem, alloc, load, vcpus, vms}
#define OK(name, used, freem, alloc, load, vcpus, vms) \
	N(name, "run", "ready", used, freem, alloc, load, vcpus, vms)

struct sel_case {
	const char *what;
	struct fsel_vm vm;
	const char *dflt;
	struct fsel_node nodes[6];
	size_t n;
	const char *expect;   /* expected target name, NULL = none */
	const char *selector; /* expected effective selector */
	int write_limit, write_selector, malformed;
};

static const struct sel_case cases[] = {
	{"mem picks the largest used+free-alloc",
	 {"hv1", "", "mem"}, "vcpus",
	 {OK("hv1", "9000", "9000", "0", "0.1", "1", "1"), OK("hv2", "1000", "7000", "2000", "0.1", "1", "1"),
	  OK("hv3", "2000", "7000", "2000", "0.1", "1", "1")},
	 3, "hv3", "mem", 0, 0, 0},
	{"mem tie goes to the first in child order",
	 {"hv1", "", "mem"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "0", "0"), OK("hv2", "100", "100", "50", "0", "0", "0"),
	  OK("hv3", "100", "50", "0", "0", "0", "0")},
	 3, "hv2", "mem", 0, 0, 0},
	{"mem: nothing strictly above zero means no target",
	 {"hv1", "", "mem"}, "mem",
	 {OK("hv1", "9", "9", "0", "0", "0", "0"), OK("hv2", "100", "100", "200", "0", "0", "0"),
	  OK("hv3", "0", "0", "0", "0", "0", "0")},
	 3, NULL, "mem", 0, 0, 0},
	{"load picks the smallest load",
	 {"hv1", "", "load"}, "mem",
	 {OK("hv1", "1", "1", "0", "0.0", "0", "0"), OK("hv2", "1", "1", "0", "1.5", "0", "0"),
	  OK("hv3", "1", "1", "0", "0.52", "0", "0")},
	 3, "hv3", "load", 0, 0, 0},
	{"load tie goes to the first",
	 {"hv3", "", "load"}, "mem",
	 {OK("hv1", "1", "1", "0", "0.5", "0", "0"), OK("hv2", "1", "1", "0", "0.50", "0", "0"),
	  OK("hv3", "1", "1", "0", "0.0", "0", "0")},
	 3, "hv1", "load", 0, 0, 0},
	{"load at or above 9999 is never chosen",
	 {"hv1", "", "load"}, "mem",
	 {OK("hv2", "1", "1", "0", "9999.0", "0", "0"), OK("hv3", "1", "1", "0", "12000", "0", "0")},
	 2, NULL, "load", 0, 0, 0},
	{"vcpus picks the fewest allocated vCPUs",
	 {"hv2", "", "vcpus"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "8", "0"), OK("hv2", "1", "1", "0", "0", "0", "0"),
	  OK("hv3", "1", "1", "0", "0", "4", "0")},
	 3, "hv3", "vcpus", 0, 0, 0},
	{"vcpus tie goes to the first",
	 {"hv3", "", "vcpus"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "4", "0"), OK("hv2", "1", "1", "0", "0", "4", "0")},
	 2, "hv1", "vcpus", 0, 0, 0},
	{"vcpus at 9999 is never chosen",
	 {"hv3", "", "vcpus"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "9999", "0")},
	 1, NULL, "vcpus", 0, 0, 0},
	{"vms picks the fewest domains",
	 {"hv1", "", "vms"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "0", "0"), OK("hv2", "1", "1", "0", "0", "0", "7"),
	  OK("hv3", "1", "1", "0", "0", "0", "3")},
	 3, "hv3", "vms", 0, 0, 0},
	{"node_limit restricts the candidates",
	 {"hv1", "hv2,hv4", "vms"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "0", "0"), OK("hv2", "1", "1", "0", "0", "0", "7"),
	  OK("hv3", "1", "1", "0", "0", "0", "3")},
	 3, "hv2", "vms", 0, 0, 0},
	{"node_limit with only the current node gives no target",
	 {"hv1", "hv1", "vms"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "0", "0"), OK("hv2", "1", "1", "0", "0", "0", "7")},
	 2, NULL, "vms", 0, 0, 0},
	{"node_limit of empty entries is no limit",
	 {"hv1", ",,", "vms"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "0", "0"), OK("hv2", "1", "1", "0", "0", "0", "7")},
	 2, "hv2", "vms", 0, 0, 0},
	{"node_limit entries match whole names only",
	 {"hv1", "hv,hv22", "vms"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "0", "0"), OK("hv2", "1", "1", "0", "0", "0", "7")},
	 2, NULL, "vms", 0, 0, 0},
	{"missing node_limit is written back empty",
	 {"hv1", NULL, "vms"}, "mem",
	 {OK("hv2", "1", "1", "0", "0", "0", "7")},
	 1, "hv2", "vms", 1, 0, 0},
	{"node_selector None uses the default and writes it back",
	 {"hv1", "", "None"}, "vcpus",
	 {OK("hv2", "1", "1", "0", "0", "5", "0"), OK("hv3", "1", "1", "0", "0", "2", "9")},
	 2, "hv3", "vcpus", 0, 1, 0},
	{"missing node_selector uses the default and writes it back",
	 {"hv1", "", NULL}, "vms",
	 {OK("hv2", "1", "1", "0", "0", "5", "0"), OK("hv3", "1", "1", "0", "0", "2", "9")},
	 2, "hv2", "vms", 0, 1, 0},
	{"garbage node_selector falls back to the default without writing",
	 {"hv1", "", "fastest"}, "load",
	 {OK("hv2", "1", "1", "0", "3.0", "5", "0"), OK("hv3", "1", "1", "0", "2.0", "2", "9")},
	 2, "hv3", "load", 0, 0, 0},
	{"current node is excluded even if best",
	 {"hv2", "", "vms"}, "mem",
	 {OK("hv1", "1", "1", "0", "0", "0", "5"), OK("hv2", "1", "1", "0", "0", "0", "0")},
	 2, "hv1", "vms", 0, 0, 0},
	{"daemonstate other than run is excluded",
	 {"hv1", "", "vms"}, "mem",
	 {N("hv2", "dead", "ready", "1", "1", "0", "0", "0", "0"), N("hv3", "init", "ready", "1", "1", "0", "0", "0", "0"),
	  N("hv4", NULL, "ready", "1", "1", "0", "0", "0", "0"), OK("hv5", "1", "1", "0", "0", "0", "8")},
	 4, "hv5", "vms", 0, 0, 0},
	{"domainstate other than ready is excluded",
	 {"hv1", "", "vms"}, "mem",
	 {N("hv2", "run", "flushed", "1", "1", "0", "0", "0", "0"), N("hv3", "run", "flush", "1", "1", "0", "0", "0", "0"),
	  N("hv4", "run", "unflush", "1", "1", "0", "0", "0", "0"), OK("hv5", "1", "1", "0", "0", "0", "8")},
	 4, "hv5", "vms", 0, 0, 0},
	{"malformed memory figures skip the node",
	 {"hv1", "", "mem"}, "mem",
	 {OK("hv2", "lots", "99999", "0", "0", "0", "0"), OK("hv3", "1000", "1000", "-5", "0", "0", "0"),
	  OK("hv4", "100", NULL, "0", "0", "0", "0"), OK("hv5", "10", "10", "0", "0", "0", "0")},
	 4, "hv5", "mem", 0, 0, 3},
	{"malformed load skips the node",
	 {"hv1", "", "load"}, "mem",
	 {OK("hv2", "1", "1", "0", "nan", "0", "0"), OK("hv3", "1", "1", "0", "", "0", "0"),
	  OK("hv4", "1", "1", "0", "0.3x", "0", "0"), OK("hv5", "1", "1", "0", "4.0", "0", "0")},
	 4, "hv5", "load", 0, 0, 3},
	{"malformed vcpus/vms figures skip the node",
	 {"hv1", "", "vcpus"}, "mem",
	 {OK("hv2", "1", "1", "0", "0", "1.5", "0"), OK("hv3", "1", "1", "0", "0", " 1", "0"),
	  OK("hv4", "1", "1", "0", "0", "3", "0")},
	 3, "hv4", "vcpus", 0, 0, 2},
	{"a figure irrelevant to the selector may be garbage",
	 {"hv1", "", "vms"}, "mem",
	 {OK("hv2", "x", "y", "z", "w", "v", "2")},
	 1, "hv2", "vms", 0, 0, 0},
	{"invalid node names are never chosen",
	 {"hv1", "", "vms"}, "mem",
	 {OK("../x", "1", "1", "0", "0", "0", "0"), OK("", "1", "1", "0", "0", "0", "0"),
	  OK("hv3", "1", "1", "0", "0", "0", "4")},
	 3, "hv3", "vms", 0, 0, 0},
	{"no candidates at all",
	 {"hv1", "", "mem"}, "mem", {{0}}, 0, NULL, "mem", 0, 0, 0},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sel_case *c = &cases[i];
		struct fsel_result r;
		const char *got;

		assert_int_equal(flush_select_choose(&c->vm, c->nodes, c->n, c->dflt, &r), 0);
		got = r.target >= 0 ? c->nodes[r.target].name : NULL;
		if ((got == NULL) != (c->expect == NULL) ||
		    (got && strcmp(got, c->expect) != 0) || strcmp(r.selector, c->selector) != 0 ||
		    r.write_node_limit != c->write_limit ||
		    r.write_node_selector != c->write_selector || r.malformed != c->malformed)
			fail_msg("case \"%s\": got target %s selector %s wl %d ws %d malformed %d (%s)",
				 c->what, got ? got : "none", r.selector, r.write_node_limit,
				 r.write_node_selector, r.malformed, r.note);
	}
}

static void test_bad_arguments(void **state)
{
	struct fsel_vm vm = {"hv1", "", "mem"};
	struct fsel_result r;

	(void)state;
	assert_int_equal(flush_select_choose(&vm, NULL, 0, "bogus", &r), -1);
	assert_int_equal(flush_select_choose(NULL, NULL, 0, "mem", &r), -1);
	assert_int_equal(flush_select_choose(&vm, NULL, 3, "mem", &r), -1);
	assert_int_equal(flush_select_valid_selector("vms"), 1);
	assert_int_equal(flush_select_valid_selector("VMS"), 0);
	assert_int_equal(flush_select_valid_selector(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
