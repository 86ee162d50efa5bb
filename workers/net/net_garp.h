/*
 * net_garp.h: announcing a moved address: gratuitous ARP (IPv4) and unsolicited
 * neighbour advertisements (IPv6), sent over one AF_PACKET socket.
 */
#ifndef NET_GARP_H
#define NET_GARP_H

#include <stddef.h>
#include <stdint.h>

#define GARP_ARP_LEN 28u /* ARP payload for Ethernet/IPv4 */
#define GARP_NA_LEN 72u  /* IPv6 header + NA + target link-layer address option */
#define GARP_BURST 3     /* frames per announcement round */
#define GARP_REPEAT_MS 2000 /* second round, as keepalived repeats its GARPs */

/* Build an ARP request with sender = target = ip (what Linux and switches take as
 * gratuitous: it overrides the neighbour's locktime). Returns GARP_ARP_LEN or 0. */
size_t net_garp_build_arp(uint8_t *buf, size_t cap, const uint8_t mac[6], const uint8_t ip[4]);
/* Build an unsolicited NA for ip6 to ff02::1 (Override and Router flags set, since
 * the addresses we announce are floating router addresses), checksum filled in.
 * Returns GARP_NA_LEN or 0. */
size_t net_garp_build_na(uint8_t *buf, size_t cap, const uint8_t mac[6], const uint8_t ip6[16]);
/* Internet checksum of the ICMPv6 message with its pseudo-header. */
uint16_t net_garp_icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *icmp,
			     size_t len);

/* A send-only AF_PACKET datagram socket (protocol 0: it never queues input). */
int net_garp_open(void); /* fd or -errno */
/* Send one announcement frame for `addr` (family AF_INET/AF_INET6) out of ifindex
 * whose hardware address is mac. 0 or -errno. */
int net_garp_send(int fd, int ifindex, const uint8_t mac[6], int family, const uint8_t *addr);

#endif
