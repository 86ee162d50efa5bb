/*
 * pvc-dhcp-lease: the DHCP lease helper dnsmasq runs as --dhcp-script (issue #9,
 * ref §7.6). It keeps the reference helper's CLI and environment contract but never
 * opens ZooKeeper: it hands each event to net-router's lease socket, which passes
 * it to zk-election (the one ZooKeeper session of the node). Protocol:
 * workers/lease_proto.h.
 *
 *   pvc-dhcp-lease <add|old|del> <mac> <ip> [<hostname>]
 *   pvc-dhcp-lease init
 *
 * Environment: DNSMASQ_BRIDGE_INTERFACE (vmbr<vni>), DNSMASQ_LEASE_EXPIRES
 * (default 0), DNSMASQ_CLIENT_ID (default *), PVC_LEASE_SOCKET (socket path).
 * Exit 0 when the daemon answered rc 0; 1 otherwise, with a diagnostic on stderr.
 * For init the reply's lease lines go to stdout (dnsmasq's lease-file format).
 *
 * It runs inside net-router's sandbox (inherited through dnsmasq), so it sticks to
 * socket(AF_UNIX)/connect/poll/send/recv/write and a 10 s overall deadline.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sanitizer.h"
#include "lease_proto.h"

#define TIMEOUT_MS 10000
#define REPLY_MAX (8u * 1024u * 1024u) /* 4096 networks' worth of leases is far less */

static const char *prog = "pvc-dhcp-lease";

/* Sanitizer builds only: we run under net-router's seccomp filter (inherited
 * through dnsmasq), where LeakSanitizer's exit-time check (clone + ptrace) and
 * the symbolizer (fork + exec of llvm-symbolizer) are forbidden. Errors stay
 * fatal; leaks of the shared lease code are covered by the unit tests and
 * fuzz_lease, which run unconfined. */
#ifdef PVC_ASAN
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "halt_on_error=1:abort_on_error=1:detect_leaks=0:symbolize=0";
}
#endif

static int64_t now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on fd until the deadline: 0 ready, -1 timeout or error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: %s <add|old|del> <mac> <ip> [<hostname>] | init\n", prog);
	return 1;
}

/* Build the request from argv and the dnsmasq environment. */
static int build_request(int argc, char **argv, struct lease_req *r)
{
	const char *br = getenv("DNSMASQ_BRIDGE_INTERFACE");
	const char *exp = getenv("DNSMASQ_LEASE_EXPIRES");
	const char *cid = getenv("DNSMASQ_CLIENT_ID");
	const char *host = argc > 4 ? argv[4] : "";
	char mac[18], vni[16];
	char expbuf[24];
	const char *f[7];
	char err[256];
	int action = lease_parse_action(argv[1]);

	if (action < 0) {
		fprintf(stderr, "%s: unknown action '%.32s'\n", prog, argv[1]);
		return -1;
	}
	if ((action == LEASE_INIT && argc != 2) || (action != LEASE_INIT && (argc < 4 || argc > 5)))
		return usage();
	if (br == NULL || strncmp(br, "vmbr", 4) != 0 || br[4] == '\0' ||
	    strspn(br + 4, "0123456789") != strlen(br + 4) || strlen(br + 4) >= sizeof(vni)) {
		fprintf(stderr, "%s: DNSMASQ_BRIDGE_INTERFACE '%.32s' is not vmbr<vni>\n", prog,
			br != NULL ? br : "(unset)");
		return -1;
	}
	(void)snprintf(vni, sizeof(vni), "%s", br + 4);
	if (action == LEASE_INIT) {
		const char *ff[7] = {"init", vni, "", "", "", "", ""};
		if (lease_req_from_fields(ff, r, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return -1;
		}
		return 0;
	}
	/* dnsmasq prints MACs in lower case; fold anyway, the key must be canonical */
	if (strlen(argv[2]) != 17) {
		fprintf(stderr, "%s: invalid mac '%.32s'\n", prog, argv[2]);
		return -1;
	}
	for (int i = 0; i < 17; i++)
		mac[i] = (argv[2][i] >= 'A' && argv[2][i] <= 'F') ? (char)(argv[2][i] + 32) : argv[2][i];
	mac[17] = '\0';
	/* A name dnsmasq accepted but we cannot store must not cost the lease itself. */
	if (!lease_valid_hostname(host)) {
		fprintf(stderr, "%s: ignoring invalid hostname '%.64s' for %s\n", prog, host, mac);
		host = "";
	}
	(void)snprintf(expbuf, sizeof(expbuf), "%s", exp != NULL && exp[0] != '\0' ? exp : "0");
	f[0] = argv[1];
	f[1] = vni;
	f[2] = mac;
	f[3] = argv[3];
	f[4] = host;
	f[5] = expbuf;
	f[6] = cid != NULL && cid[0] != '\0' ? cid : "*";
	if (exp != NULL && strlen(exp) >= sizeof(expbuf)) {
		fprintf(stderr, "%s: invalid DNSMASQ_LEASE_EXPIRES '%.32s'\n", prog, exp);
		return -1;
	}
	if (lease_req_from_fields(f, r, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	return 0;
}

static int connect_socket(const char *path, int64_t deadline)
{
	struct sockaddr_un sa;
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: PVC_LEASE_SOCKET '%.64s' is not an absolute socket path\n", prog,
			path != NULL ? path : "(unset)");
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* a full backlog makes a non-blocking AF_UNIX connect return EAGAIN:
		 * retry until the deadline instead of failing the lease */
		while (errno == EAGAIN || errno == EINTR) {
			struct timespec ts = {0, 50 * 1000000L};
			if (now_ms() >= deadline) {
				errno = ETIMEDOUT;
				break;
			}
			(void)nanosleep(&ts, NULL);
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				return fd;
		}
		if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			return fd;
		fprintf(stderr, "%s: connect %s: %s\n", prog, path, strerror(soerr ? soerr : errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (wait_fd(fd, POLLOUT, deadline) < 0)
			return -1;
	}
	return 0;
}

/* Read until the server closes; returns the length or -1. */
static ssize_t recv_all(int fd, char **out, int64_t deadline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (buf == NULL)
		return -1;
	for (;;) {
		ssize_t n;
		if (len == cap) {
			char *nb;
			if (cap >= REPLY_MAX || (nb = realloc(buf, cap * 2)) == NULL) {
				free(buf);
				errno = EMSGSIZE;
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if ((errno != EAGAIN && errno != EINTR) || wait_fd(fd, POLLIN, deadline) < 0) {
			free(buf);
			return -1;
		}
	}
	*out = buf;
	return (ssize_t)len;
}

/* Print the valid lease lines of an init reply; a bad line is reported, not
 * passed to dnsmasq (it would reject the whole lease database). */
static int print_leases(const char *p, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(p, '\n', len);
		size_t l = nl != NULL ? (size_t)(nl - p) : len;

		if (l > 0 && lease_line_valid(p, l)) {
			if (fwrite(p, 1, l, stdout) != l || fputc('\n', stdout) == EOF)
				return -1;
		} else if (l > 0) {
			fprintf(stderr, "%s: skipping malformed lease line '%.*s'\n", prog,
				(int)(l > 80 ? 80 : l), p);
		}
		if (nl == NULL)
			break;
		len -= l + 1;
		p = nl + 1;
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct lease_req r;
	char line[LEASE_LINE_MAX + 1], msg[512], *reply = NULL;
	int64_t deadline = now_ms() + TIMEOUT_MS;
	ssize_t rlen;
	size_t used;
	int fd, n, rc;

	if (argc < 2)
		return usage();
	if (build_request(argc, argv, &r) < 0)
		return 1;
	n = lease_req_format(&r, line, sizeof(line));
	if (n < 0) {
		fprintf(stderr, "%s: cannot format the request\n", prog);
		return 1;
	}
	fd = connect_socket(getenv("PVC_LEASE_SOCKET"), deadline);
	if (fd < 0)
		return 1;
	if (send_all(fd, line, (size_t)n, deadline) < 0 ||
	    (rlen = recv_all(fd, &reply, deadline)) < 0) {
		fprintf(stderr, "%s: %s %s: %s\n", prog, argv[1], r.mac[0] ? r.mac : "", strerror(errno));
		(void)close(fd);
		return 1;
	}
	(void)close(fd);
	if (lease_reply_parse_status(reply, (size_t)rlen, &rc, msg, sizeof(msg), &used) < 0) {
		fprintf(stderr, "%s: malformed reply from %s\n", prog, getenv("PVC_LEASE_SOCKET"));
		free(reply);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "%s: %s %s %s refused: rc %d: %s\n", prog, argv[1], r.mac, r.ip, rc, msg);
		free(reply);
		return 1;
	}
	if (r.action == LEASE_INIT && print_leases(reply + used, (size_t)rlen - used) < 0) {
		fprintf(stderr, "%s: writing leases: %s\n", prog, strerror(errno));
		free(reply);
		return 1;
	}
	free(reply);
	return 0;
}
