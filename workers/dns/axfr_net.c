/*
 * axfr_net.c: the AXFR transfer over TCP (dns_axfr_fetch, dns_axfr.h): connect with
 * a deadline, send the query, read length-prefixed messages into the parser until
 * the closing SOA. Everything is bounded by one deadline, so a silent dnsmasq
 * costs the aggregator at most timeout_ms.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns_axfr.h"

#define AXFR_MAX_MESSAGES 4096

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `ev` until the deadline: 0, or -1 with errno (ETIMEDOUT). */
static int wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = ev};
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		int rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static int io_all(int fd, uint8_t *buf, size_t n, int wr, long long deadline)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = wr ? send(fd, buf + done, n - done, MSG_NOSIGNAL)
			       : recv(fd, buf + done, n - done, 0);
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		if (k == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (wait_fd(fd, wr ? POLLOUT : POLLIN, deadline) != 0)
			return -1;
	}
	return 0;
}

static int tcp_connect(const char *server, long long deadline)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, server, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		sl = sizeof *s4;
	} else if (inet_pton(AF_INET6, server, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		sl = sizeof *s6;
	} else {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		int e = 0;
		socklen_t el = sizeof e;
		if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) != 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0) {
			int keep = e ? e : errno;
			close(fd);
			errno = keep;
			return -1;
		}
	}
	return fd;
}

/* Messages until the closing SOA: 0, or -1 with err. */
static int read_messages(int fd, const char *zone, uint16_t id, long long deadline,
			 struct dns_zone *z, char *err, size_t errlen)
{
	uint8_t *msg = malloc(65535);

	if (msg == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < AXFR_MAX_MESSAGES; i++) {
		uint8_t lp[2];
		if (io_all(fd, lp, 2, 0, deadline) != 0) {
			snprintf(err, errlen, "reading the transfer: %s", strerror(errno));
			free(msg);
			return -1;
		}
		size_t len = ((size_t)lp[0] << 8) | lp[1];
		if (io_all(fd, msg, len, 0, deadline) != 0) {
			snprintf(err, errlen, "reading a %zu-byte message: %s", len, strerror(errno));
			free(msg);
			return -1;
		}
		int rc = dns_axfr_parse_msg(msg, len, id, zone, z, err, errlen);
		if (rc != 0) {
			free(msg);
			return rc > 0 ? 0 : -1;
		}
	}
	free(msg);
	snprintf(err, errlen, "no closing SOA after %d messages", AXFR_MAX_MESSAGES);
	return -1;
}

int dns_axfr_fetch(const char *server, const char *zone, int timeout_ms, struct dns_zone *z,
		   char *err, size_t errlen)
{
	long long deadline = now_ms() + timeout_ms;
	uint8_t q[300];
	uint16_t id = 0;

	memset(z, 0, sizeof *z);
	if (getrandom(&id, sizeof id, GRND_NONBLOCK) != (ssize_t)sizeof id)
		id = (uint16_t)now_ms();
	int ql = dns_axfr_query(zone, id, q, sizeof q);
	if (ql < 0) {
		snprintf(err, errlen, "zone name %s is not usable in a query", zone);
		return -1;
	}
	int fd = tcp_connect(server, deadline);
	if (fd < 0) {
		snprintf(err, errlen, "connecting to %s port 53: %s", server, strerror(errno));
		return -1;
	}
	int rc = io_all(fd, q, (size_t)ql, 1, deadline);
	if (rc != 0)
		snprintf(err, errlen, "sending the query to %s: %s", server, strerror(errno));
	else
		rc = read_messages(fd, zone, id, deadline, z, err, errlen);
	close(fd);
	if (rc != 0)
		dns_axfr_zone_free(z);
	return rc;
}
