/*
 * garp.c: gratuitous ARP and unsolicited neighbour advertisements from C,
 * replacing the reference's arping calls (ref §7.8). Link-layer headers are left to
 * the kernel (SOCK_DGRAM): we only choose the destination hardware address.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <sys/socket.h>

#include "net_garp.h"

static const uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

size_t net_garp_build_arp(uint8_t *buf, size_t cap, const uint8_t mac[6], const uint8_t ip[4])
{
	if (cap < GARP_ARP_LEN)
		return 0;
	buf[0] = 0; /* hardware type: Ethernet */
	buf[1] = ARPHRD_ETHER;
	buf[2] = ETH_P_IP >> 8;
	buf[3] = ETH_P_IP & 0xff;
	buf[4] = 6; /* hardware length */
	buf[5] = 4; /* protocol length */
	buf[6] = 0;
	buf[7] = ARPOP_REQUEST;
	memcpy(buf + 8, mac, 6);
	memcpy(buf + 14, ip, 4);
	memset(buf + 18, 0, 6); /* target hardware address: unknown in a request */
	memcpy(buf + 24, ip, 4);
	return GARP_ARP_LEN;
}

uint16_t net_garp_icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *icmp,
			     size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i < 16; i += 2) {
		sum += (uint32_t)(src[i] << 8 | src[i + 1]);
		sum += (uint32_t)(dst[i] << 8 | dst[i + 1]);
	}
	sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	sum += 58; /* next header: ICMPv6 */
	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(icmp[i] << 8 | icmp[i + 1]);
	if (len & 1)
		sum += (uint32_t)(icmp[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t net_garp_build_na(uint8_t *buf, size_t cap, const uint8_t mac[6], const uint8_t ip6[16])
{
	uint8_t *icmp = buf + 40;
	const size_t icmp_len = GARP_NA_LEN - 40;
	uint16_t csum;

	if (cap < GARP_NA_LEN)
		return 0;
	memset(buf, 0, GARP_NA_LEN);
	buf[0] = 0x60; /* version 6 */
	buf[4] = (uint8_t)(icmp_len >> 8);
	buf[5] = (uint8_t)(icmp_len & 0xff);
	buf[6] = 58;  /* ICMPv6 */
	buf[7] = 255; /* receivers drop neighbour discovery with any other hop limit */
	memcpy(buf + 8, ip6, 16);
	memcpy(buf + 24, all_nodes, 16);
	icmp[0] = 136; /* neighbour advertisement */
	icmp[1] = 0;
	icmp[4] = 0x80 | 0x20; /* Router | Override; Solicited must stay clear */
	memcpy(icmp + 8, ip6, 16);
	icmp[24] = 2; /* option: target link-layer address */
	icmp[25] = 1; /* length in units of 8 bytes */
	memcpy(icmp + 26, mac, 6);
	csum = net_garp_icmp6_csum(ip6, all_nodes, icmp, icmp_len);
	icmp[2] = (uint8_t)(csum >> 8);
	icmp[3] = (uint8_t)(csum & 0xff);
	return GARP_NA_LEN;
}

int net_garp_open(void)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

int net_garp_send(int fd, int ifindex, const uint8_t mac[6], int family, const uint8_t *addr)
{
	uint8_t frame[GARP_NA_LEN];
	struct sockaddr_ll sll;
	size_t len;
	ssize_t r;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifindex;
	sll.sll_halen = 6;
	if (family == AF_INET) {
		len = net_garp_build_arp(frame, sizeof(frame), mac, addr);
		sll.sll_protocol = htons(ETH_P_ARP);
		memset(sll.sll_addr, 0xff, 6);
	} else if (family == AF_INET6) {
		static const uint8_t mc[6] = {0x33, 0x33, 0, 0, 0, 1};
		len = net_garp_build_na(frame, sizeof(frame), mac, addr);
		sll.sll_protocol = htons(ETH_P_IPV6);
		memcpy(sll.sll_addr, mc, 6);
	} else {
		return -EAFNOSUPPORT;
	}
	if (len == 0)
		return -EINVAL;
	do {
		r = sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EMSGSIZE;
}
