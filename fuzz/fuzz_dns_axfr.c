/*
 * fuzz_dns_axfr.c: libFuzzer target for the dns-aggregator's AXFR parser
 * (workers/dns/axfr.c), which reads what a network's dnsmasq (and through it DHCP
 * clients' host names) sends. The input is parsed as a first message and, when
 * that one did not end the transfer, again as a following one. Accepted records
 * must be inside the zone, NUL-terminated, of a stored type, and their names must
 * hold only host-name characters (the owner of the opening SOA is the zone).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_axfr.h"

static void check(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_zone z = {0};
	char err[256];
	uint16_t id = size >= 2 ? (uint16_t)((data[0] << 8) | data[1]) : 0;
	int rc = dns_axfr_parse_msg(data, size, id, "net.test", &z, err, sizeof err);

	if (rc == 0)
		rc = dns_axfr_parse_msg(data, size, id, "net.test", &z, err, sizeof err);
	for (size_t i = 0; i < z.n; i++) {
		const struct dns_rr *r = &z.rr[i];
		check(memchr(r->name, 0, sizeof r->name) != NULL);
		check(memchr(r->content, 0, sizeof r->content) != NULL);
		check(dns_axfr_in_zone(r->name, "net.test"));
		check(dns_axfr_type_name(r->type) != NULL);
		check(strpbrk(r->name, " \t\n\"\\;") == NULL);
		check(strpbrk(r->content, "\n\t") == NULL);
	}
	check(z.n == 0 || (z.rr[0].type == DNS_T_SOA && strcmp(z.rr[0].name, "net.test") == 0));
	dns_axfr_zone_free(&z);
	return 0;
}
