/*
 * test_lease_proto.c: the lease socket protocol (workers/lease_proto.c):
 * request lines both ways, field validation, status lines and lease lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lease_proto.h"

static char err[256];

static int parse(const char *line, struct lease_req *r)
{
	return lease_req_parse(line, strlen(line), r, err, sizeof(err));
}

static void test_validators(void **state)
{
	uint64_t e;
	uint32_t v;

	(void)state;
	assert_true(lease_valid_mac("52:54:00:ab:cd:ef"));
	assert_false(lease_valid_mac("52:54:00:AB:CD:EF"));
	assert_false(lease_valid_mac("52-54-00-ab-cd-ef"));
	assert_false(lease_valid_mac("52:54:00:ab:cd:e"));
	assert_false(lease_valid_mac(NULL));
	assert_true(lease_valid_ip4("10.0.0.1"));
	assert_false(lease_valid_ip4("10.0.0"));
	assert_false(lease_valid_ip4("10.0.0.256"));
	assert_false(lease_valid_ip4("::1"));
	assert_true(lease_valid_hostname(""));
	assert_true(lease_valid_hostname("vm-1.example"));
	assert_true(lease_valid_hostname("vm_1")); /* dnsmasq hands out such names */
	assert_false(lease_valid_hostname("vm/1"));
	assert_false(lease_valid_hostname("a b"));
	assert_true(lease_valid_hostname("123456789012345678901234567890123456789012345678901234567890123"));
	assert_false(lease_valid_hostname("1234567890123456789012345678901234567890123456789012345678901234"));
	assert_true(lease_valid_clientid("*"));
	assert_true(lease_valid_clientid("01:52:54:00:ab:cd:ef"));
	assert_false(lease_valid_clientid(""));
	assert_false(lease_valid_clientid("**"));
	assert_false(lease_valid_clientid("01:zz"));
	assert_int_equal(lease_parse_expiry("18446744073709551615", &e), 0);
	assert_true(e == UINT64_MAX);
	assert_int_equal(lease_parse_expiry("18446744073709551616", &e), -1);
	assert_int_equal(lease_parse_expiry("-1", &e), -1);
	assert_int_equal(lease_parse_expiry("", &e), -1);
	assert_int_equal(lease_parse_vni("16777215", &v), 0);
	assert_int_equal(lease_parse_vni("16777216", &v), -1);
	assert_int_equal(lease_parse_vni("0", &v), -1);
	assert_int_equal(lease_parse_vni("1e3", &v), -1);
	assert_int_equal(lease_parse_action("old"), LEASE_OLD);
	assert_int_equal(lease_parse_action("tftp"), -1);
}

static void test_requests(void **state)
{
	struct lease_req r, r2;
	char buf[LEASE_LINE_MAX + 8];
	int n;

	(void)state;
	assert_int_equal(parse("add\t100\t52:54:00:ab:cd:ef\t10.1.1.50\tvm1\t1700000000\t*\n", &r), 0);
	assert_int_equal(r.action, LEASE_ADD);
	assert_int_equal(r.vni, 100);
	assert_string_equal(r.mac, "52:54:00:ab:cd:ef");
	assert_string_equal(r.ip, "10.1.1.50");
	assert_string_equal(r.hostname, "vm1");
	assert_true(r.expiry == 1700000000u);
	assert_string_equal(r.clientid, "*");
	n = lease_req_format(&r, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen("add\t100\t52:54:00:ab:cd:ef\t10.1.1.50\tvm1\t1700000000\t*\n"));
	assert_string_equal(buf, "add\t100\t52:54:00:ab:cd:ef\t10.1.1.50\tvm1\t1700000000\t*\n");
	assert_int_equal(parse(buf, &r2), 0);
	assert_memory_equal(&r, &r2, sizeof(r));

	/* no trailing newline is fine, empty hostname is fine */
	assert_int_equal(parse("old\t100\t52:54:00:ab:cd:ef\t10.1.1.50\t\t0\t01:aa", &r), 0);
	assert_string_equal(r.hostname, "");
	assert_int_equal(parse("del\t100\t52:54:00:ab:cd:ef\t10.1.1.50\t\t\t", &r), 0);
	assert_false(r.has_expiry);
	n = lease_req_format(&r, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "del\t100\t52:54:00:ab:cd:ef\t10.1.1.50\t\t\t\n");
	assert_int_equal(parse("init\t100\t\t\t\t\t\n", &r), 0);
	assert_int_equal(r.action, LEASE_INIT);
	n = lease_req_format(&r, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "init\t100\t\t\t\t\t\n");

	/* each field refused, and named */
	assert_int_equal(parse("grab\t100\t52:54:00:ab:cd:ef\t10.1.1.50\t\t0\t*", &r), -1);
	assert_non_null(strstr(err, "action"));
	assert_int_equal(parse("add\t0\t52:54:00:ab:cd:ef\t10.1.1.50\t\t0\t*", &r), -1);
	assert_non_null(strstr(err, "vni"));
	assert_int_equal(parse("add\t100\t52:54:00:AB:cd:ef\t10.1.1.50\t\t0\t*", &r), -1);
	assert_non_null(strstr(err, "mac"));
	assert_int_equal(parse("add\t100\t52:54:00:ab:cd:ef\t10.1.1.500\t\t0\t*", &r), -1);
	assert_non_null(strstr(err, "ip"));
	assert_int_equal(parse("add\t100\t52:54:00:ab:cd:ef\t10.1.1.5\t$(reboot)\t0\t*", &r), -1);
	assert_non_null(strstr(err, "hostname"));
	assert_int_equal(parse("add\t100\t52:54:00:ab:cd:ef\t10.1.1.5\th\t\t*", &r), -1);
	assert_non_null(strstr(err, "expiry"));
	assert_int_equal(parse("add\t100\t52:54:00:ab:cd:ef\t10.1.1.5\th\t1\t", &r), -1);
	assert_non_null(strstr(err, "clientid"));
	assert_int_equal(parse("add\t100\t52:54:00:ab:cd:ef\t10.1.1.5\th\t1\t*\textra", &r), -1);
	assert_int_equal(parse("add\t100\t52:54:00:ab:cd:ef\t10.1.1.5\th\t1", &r), -1);
	assert_int_equal(parse("init\t100\t52:54:00:ab:cd:ef\t\t\t\t", &r), -1);
	assert_int_equal(parse("add\t100\t52:54:00:ab:cd:ef\t10.1.1.5\th\n\t1\t*", &r), -1);
	assert_int_equal(lease_req_parse("add\t1\0\t", 8, &r, err, sizeof(err)), -1);

	/* too long */
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(parse(buf, &r), -1);

	/* format refuses what the parser would refuse */
	memset(&r, 0, sizeof(r));
	r.action = LEASE_ADD;
	r.vni = 5;
	strcpy(r.mac, "52:54:00:ab:cd:ef");
	strcpy(r.ip, "10.0.0.1");
	strcpy(r.hostname, "bad\tname");
	r.has_expiry = 1;
	strcpy(r.clientid, "*");
	assert_int_equal(lease_req_format(&r, buf, sizeof(buf)), -1);
	strcpy(r.hostname, "good");
	assert_int_equal(lease_req_format(&r, buf, 10), -1);
	assert_true(lease_req_format(&r, buf, sizeof(buf)) > 0);
}

static void test_replies(void **state)
{
	char buf[256], msg[64];
	const char *reply = "0\tok\n1700 52:54:00:ab:cd:ef 10.1.1.5 * *\n";
	size_t used;
	int rc = 99;

	(void)state;
	assert_int_equal(lease_reply_parse_status(reply, strlen(reply), &rc, msg, sizeof(msg), &used), 0);
	assert_int_equal(rc, 0);
	assert_string_equal(msg, "ok");
	assert_int_equal(used, 5);
	assert_true(lease_line_valid(reply + used, strlen(reply + used) - 1));
	assert_int_equal(lease_reply_parse_status("-101\tno node\n", 13, &rc, msg, sizeof(msg), &used), 0);
	assert_int_equal(rc, -101);
	assert_string_equal(msg, "no node");
	assert_int_equal(lease_reply_parse_status("-101\tno node", 12, &rc, msg, sizeof(msg), &used), -1);
	assert_int_equal(lease_reply_parse_status("5\tpositive\n", 11, &rc, msg, sizeof(msg), &used), -1);
	assert_int_equal(lease_reply_parse_status("-0\tneg zero\n", 12, &rc, msg, sizeof(msg), &used), -1);
	assert_int_equal(lease_reply_parse_status("-\tx\n", 4, &rc, msg, sizeof(msg), &used), -1);
	assert_int_equal(lease_reply_parse_status("-99999999999\tx\n", 15, &rc, msg, sizeof(msg), &used), -1);
	assert_int_equal(lease_reply_parse_status("ok\n", 3, &rc, msg, sizeof(msg), &used), -1);

	assert_int_equal(lease_reply_format_status(-1000, "refused:\tnot\nprimary", buf, sizeof(buf)),
			 (int)strlen("-1000\trefused: not primary\n"));
	assert_string_equal(buf, "-1000\trefused: not primary\n");
	assert_int_equal(lease_reply_parse_status(buf, strlen(buf), &rc, msg, sizeof(msg), &used), 0);
	assert_int_equal(rc, -1000);
	assert_int_equal(lease_reply_format_status(0, "x", buf, 3), -1);

	assert_int_equal(lease_line_format(0, "52:54:00:ab:cd:ef", "10.1.1.5", "", "*", buf, sizeof(buf)),
			 (int)strlen("0 52:54:00:ab:cd:ef 10.1.1.5 * *"));
	assert_string_equal(buf, "0 52:54:00:ab:cd:ef 10.1.1.5 * *");
	assert_int_equal(lease_line_format(0, "52:54:00:ab:cd:ef", "10.1.1.5", "a b", "*", buf,
					   sizeof(buf)), -1);
	assert_false(lease_line_valid("0 52:54:00:ab:cd:ef 10.1.1.5 *", 30));
	assert_false(lease_line_valid("0 52:54:00:ab:cd:ef 10.1.1.5  *", 31));
	assert_false(lease_line_valid("x 52:54:00:ab:cd:ef 10.1.1.5 * *", 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
