/*
 * bench/gap_ping.c: a 1 ms ICMP echo pinger for bench/gap.sh (not a test).
 *
 *   gap_ping ADDR OUTFILE [INTERVAL_US]
 *
 * Sends an echo request to ADDR every INTERVAL_US (default 1000) microseconds on
 * an absolute CLOCK_MONOTONIC schedule (a late wakeup does not shift the rest)
 * and writes one line per matching echo reply to OUTFILE:
 *
 *   <receive time, epoch s with µs> <sequence number> <round trip µs>
 *
 * The receive time is the kernel's (SO_TIMESTAMPNS, CLOCK_REALTIME), so it can
 * be compared with the wall-clock marks gap.sh writes and with the daemons' log
 * timestamps. Runs until SIGTERM/SIGINT; prints "sent N received M" on stderr.
 * Needs CAP_NET_RAW (a raw ICMP socket).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint16_t csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst;
	struct itimerspec its;
	struct sigaction sa;
	unsigned long interval_us = 1000;
	uint64_t *sent_at;
	const size_t ring = 65536;
	unsigned long nsent = 0, nrecv = 0;
	uint16_t id, seq = 0;
	FILE *out;
	int fd, tfd, one = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: gap_ping ADDR OUTFILE [INTERVAL_US]\n");
		return 2;
	}
	if (argc > 3)
		interval_us = strtoul(argv[3], NULL, 10);
	if (interval_us < 100)
		interval_us = 100;
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "gap_ping: bad address %s\n", argv[1]);
		return 2;
	}
	out = fopen(argv[2], "w");
	if (!out) {
		perror("gap_ping: open output");
		return 1;
	}
	sent_at = calloc(ring, sizeof(*sent_at));
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0 || !sent_at) {
		perror("gap_ping: raw socket");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0) {
		perror("gap_ping: SO_TIMESTAMPNS");
		return 1;
	}
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (tfd < 0) {
		perror("gap_ping: timerfd");
		return 1;
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = (long)interval_us * 1000;
	its.it_interval.tv_sec = (time_t)(interval_us / 1000000u);
	its.it_interval.tv_nsec = (long)(interval_us % 1000000u) * 1000;
	if (timerfd_settime(tfd, 0, &its, NULL) != 0) {
		perror("gap_ping: timerfd_settime");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	id = (uint16_t)(getpid() & 0xffff);

	while (!stop) {
		struct pollfd pf[2] = {{.fd = tfd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};

		if (poll(pf, 2, 100) < 0) {
			if (errno == EINTR)
				continue;
			perror("gap_ping: poll");
			break;
		}
		if (pf[0].revents & POLLIN) {
			uint64_t ticks;
			struct icmphdr h;

			if (read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
				ticks = 1;
			/* one request per expiry; missed expiries are skipped, not bunched */
			memset(&h, 0, sizeof(h));
			h.type = ICMP_ECHO;
			h.un.echo.id = htons(id);
			h.un.echo.sequence = htons(++seq);
			h.checksum = csum(&h, sizeof(h));
			sent_at[seq % ring] = mono_us();
			if (sendto(fd, &h, sizeof(h), 0, (struct sockaddr *)&dst, sizeof(dst)) ==
			    (ssize_t)sizeof(h))
				nsent++;
		}
		if (pf[1].revents & POLLIN) {
			for (;;) {
				uint8_t buf[1500];
				char cbuf[256];
				struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
				struct msghdr mh = {.msg_iov = &iov,
						    .msg_iovlen = 1,
						    .msg_control = cbuf,
						    .msg_controllen = sizeof(cbuf)};
				struct timespec ts = {0, 0};
				const struct iphdr *ip;
				const struct icmphdr *ic;
				ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
				size_t hl;
				uint16_t rseq;

				if (n < 0)
					break;
				ip = (const struct iphdr *)buf;
				hl = (size_t)ip->ihl * 4;
				if ((size_t)n < hl + sizeof(*ic) || ip->saddr != dst.sin_addr.s_addr)
					continue;
				ic = (const struct icmphdr *)(buf + hl);
				if (ic->type != ICMP_ECHOREPLY || ntohs(ic->un.echo.id) != id)
					continue;
				for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
					if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
						memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				if (ts.tv_sec == 0)
					clock_gettime(CLOCK_REALTIME, &ts);
				rseq = ntohs(ic->un.echo.sequence);
				nrecv++;
				fprintf(out, "%lld.%06ld %u %llu\n", (long long)ts.tv_sec,
					ts.tv_nsec / 1000, rseq,
					(unsigned long long)(mono_us() - sent_at[rseq % ring]));
			}
		}
	}
	fclose(out);
	fprintf(stderr, "gap_ping: sent %lu received %lu\n", nsent, nrecv);
	return 0;
}
